/**
 * The config file's schema: one section per component, a default on every field, unknown keys
 * rejected. Parsed once at start, frozen, and passed down.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { logLevels } from "./log-levels.js";
import { type IdKind, reservedIdProblem, reservedIds } from "./reserved-ids.js";
import { type SecretKey, secretKeys, secrets } from "./secrets.js";
import { formatDuration, parseBitRate, parseDuration, parseHostPort } from "./units.js";

const positiveInt = z.number().int().min(1);

export const decoderConfigSchema = z.strictObject({
  /** What to do with records whose sampling rate nobody has told us. */
  unknownSampling: z.enum(["assume-one", "default", "hold"]).default("assume-one"),
  /** The rate the `default` policy applies. */
  defaultSamplingRate: positiveInt.default(1),
  /** Rates that override whatever an exporter says (for exporters that sample but don't say). */
  samplingOverrides: z
    .array(
      z.strictObject({
        exporter: z.string().refine((s) => isIP(s) !== 0, "is not an IP address"),
        rate: positiveInt,
      }),
    )
    .default([]),
  /** Exporter addresses the decoder keeps state for; datagrams from more are dropped, counted. */
  maxExporters: positiveInt.max(1_000_000).default(10_000),
  /** Observation domains (source ids) per exporter; datagrams for more are dropped, counted. */
  maxDomainsPerExporter: positiveInt.max(65536).default(1024),
  /** Templates across all exporters: the memory bound (a template takes about 3 KiB). */
  maxTemplates: positiveInt.max(10_000_000).default(65_536),
  /** Templates one exporter may define (all domains together); more are refused and counted. */
  maxTemplatesPerExporter: positiveInt.max(65536).default(4096),
  maxFieldsPerTemplate: positiveInt.max(4096).default(512),
  /** Data held while its template (or, with `hold`, its sampling rate) has not arrived. */
  held: z
    .strictObject({
      maxSets: z.number().int().min(0).default(4096),
      maxBytes: z
        .number()
        .int()
        .min(0)
        .default(16 * 1024 * 1024),
      maxAgeSeconds: z.number().min(0).default(60),
    })
    .prefault({}),
  /**
   * Where templates and sampling rates are kept across restarts (relative: in `dataDir`); ""
   * disables it.
   */
  statePath: z.string().default("decoder-state.json"),
  /**
   * Upper edges of the Cisco AVC ART response-time histogram's buckets 1 to 6 (bucket 7 is
   * everything above the last), as the exporting device is configured: six ascending durations.
   */
  artHistogramBounds: z
    .array(duration({ min: 1, max: 3_600_000 }))
    .length(6, "must list six durations: the upper edges of buckets 1 to 6")
    .refine((a) => a.every((v, k) => k === 0 || v > a[k - 1]!), "must be in ascending order")
    .default([5, 10, 50, 100, 200, 500]),
});

/** What an id may be: exported for schema/customer-fast-path.ts. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** An id (customer, site, link, class, …); exported for the customer registry's change sets. */
export const idSchema = z
  .string()
  .regex(
    ID_PATTERN,
    "must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
  );
const id = idSchema;

/**
 * The name of a provider's portal template (`portal.templates`' keys, a registry customer's
 * `portalTemplate`): an id's characters, so never a path.
 */
export const portalTemplateName = z
  .string()
  .regex(
    ID_PATTERN,
    "must be a template name of portal.templates: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
  );

/**
 * An id that is not reserved for a `kind` (schema/reserved-ids.ts). Kinds without reserved ids
 * skip the check: a config has hundreds of thousands of site and link ids, and a refinement
 * costs zod about half a microsecond each.
 */
function unreservedId(kind: IdKind) {
  if (reservedIds[kind].length === 0) return id;
  return id.superRefine((s, ctx) => {
    const problem = reservedIdProblem(kind, s);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, input: s });
  });
}

/** A CSS colour as #rgb or #rrggbb (put into the portal's stylesheet as is). */
export const hexColor = z
  .string()
  .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'is not a colour "#rgb" or "#rrggbb"');
const ipAddress = z.string().refine((s) => isIP(s) !== 0, "is not an IP address");

const hostPort = z
  .string()
  .refine((s) => parseHostPort(s) !== null, 'is not "host:port" (IPv6: "[::1]:2055")');

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/**
 * Node's timers (setTimeout, setInterval, AbortSignal.timeout) take at most 2^31 - 1 ms (24.8
 * days); past it Node warns and fires after 1 ms. Durations that end up in a timer stay below.
 */
const TIMER_MAX_MS = 24 * DAY_MS;
/** Past this a duration is a typo (and sums with it would leave the range of dates). */
const LONGEST_MS = 3650 * DAY_MS;

/**
 * A duration ("10s", "2m", "500ms", a bare number of seconds) in whole milliseconds from `min`
 * to `max`; `check` adds a rule of the key's own. The reason names the limit and what was given:
 * `must be at least 1s (got 0s)`.
 */
function duration(limits: {
  min: number;
  max: number;
  check?: (ms: number) => string | undefined;
}) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = signedDuration(v);
    const problem = Number.isNaN(ms)
      ? 'is not a duration such as "10s", "2m" or "1h"'
      : !Number.isInteger(ms)
        ? `is not a whole number of milliseconds (got ${ms}ms)`
        : ms < limits.min
          ? limits.min === 0
            ? `must not be negative (got ${formatDuration(ms)})`
            : `must be at least ${formatDuration(limits.min)} (got ${formatDuration(ms)})`
          : ms > limits.max
            ? `must be at most ${formatDuration(limits.max)} (got ${formatDuration(ms)})`
            : limits.check?.(ms);
    if (problem === undefined) return ms;
    ctx.addIssue({ code: "custom", message: problem, input: v });
    return z.NEVER;
  });
}

/** parseDuration, and a negative duration ("-5s", -5) as negative, so the message can say so. */
function signedDuration(v: string | number): number {
  if (typeof v === "number") return v < 0 ? -parseDuration(-v) : parseDuration(v);
  const negative = /^\s*-/.exec(v);
  return negative === null ? parseDuration(v) : -parseDuration(v.slice(negative[0].length));
}

/** Zero allowed: a timeout or a wait that may be "none". */
const anyDuration = duration({ min: 0, max: LONGEST_MS });

/** A transaction under it is good: 0 would make none good. */
const totalDelayThreshold = duration({ min: 1, max: LONGEST_MS });

/**
 * A service-level target: the percentage of good transactions a minute must reach, 0 to 100 with
 * at most three decimals (99.995), so that sla/compliance.ts judges it in integers.
 */
const serviceLevelTarget = z.number().superRefine((v, ctx) => {
  const problem = !Number.isFinite(v)
    ? "is not a number"
    : v < 0 || v > 100
      ? `must be a percentage from 0 to 100 (got ${v})`
      : Math.abs(v * 1000 - Math.round(v * 1000)) > 1e-6
        ? `must have at most three decimals, such as 99.995 (got ${v})`
        : undefined;
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, input: v });
});

/** collector/packet/flow-table.ts sweeps once a second and takes (0, 1d]. */
const flowTimeout = duration({ min: SECOND_MS, max: DAY_MS });

/** A duration above 0 and at most `maxMs` (the API's timeouts and windows). */
const positiveDuration = (maxMs: number) => duration({ min: 1, max: maxMs });

/** The API's timeouts: above 0, at most an hour. */
const apiTimeout = positiveDuration(3_600_000);

/** A duration of at least a day (and at most a century: longer is "forever"), or "forever". */
const retention = z
  .union([z.string(), z.number()])
  .refine(
    (v) => v === "forever" || (parseDuration(v) >= DAY_MS && parseDuration(v) <= 36_500 * DAY_MS),
    'is not "forever" or a duration of at least a day such as "14d" (at most 36500d)',
  )
  .transform((v) => (v === "forever" ? Number.POSITIVE_INFINITY : parseDuration(v)));

/** A duration of at least a minute, or "forever" (aggregation.maxPast). */
const pastWindow = z
  .union([z.string(), z.number()])
  .refine(
    (v) => v === "forever" || parseDuration(v) >= 60_000,
    'is not "forever" or a duration of at least a minute such as "2h"',
  )
  .transform((v) => (v === "forever" ? Number.POSITIVE_INFINITY : parseDuration(v)));

/** Parsed once (a refine and a transform would parse every link's rate twice). */
const bitRate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bits = parseBitRate(v);
  if (!Number.isNaN(bits)) return bits;
  ctx.addIssue({
    code: "custom",
    message: 'is not a bit rate such as "100M" or 1000000',
    input: v,
  });
  return z.NEVER;
});

/** How long rows of each level are kept, by either store. */
const levelRetention = z
  .strictObject({
    "1m": retention.default(14 * DAY_MS),
    "5m": retention.default(400 * DAY_MS),
    "1h": retention.default(Number.POSITIVE_INFINITY),
    "1d": retention.default(Number.POSITIVE_INFINITY),
  })
  .prefault({});

/**
 * The InfluxDB server's base URL. Credentials belong in username/password or token, never in the
 * URL: it is named in error messages and logs.
 */
const influxUrl = z.string().refine((s) => {
  if (!URL.canParse(s)) return false;
  const u = new URL(s);
  return (
    (u.protocol === "http:" || u.protocol === "https:") &&
    u.username === "" &&
    u.password === "" &&
    u.search === "" &&
    u.hash === ""
  );
}, 'is not an http(s) URL without credentials or query such as "http://127.0.0.1:8086"');

const influxCommon = {
  url: influxUrl,
  /** How long one HTTP request (a write or a query) may take (a timer: 0 would abort every one). */
  timeout: duration({ min: 1, max: TIMER_MAX_MS }).default(10_000),
  /** Per level, how old rows `flowtally run` deletes (v1; v2 leaves it to the bucket). */
  retention: levelRetention,
};

/** A password or token: write-only, `check-config` shows "(set)". */
const secret = z.string().min(1).register(secrets, { shown: "set" });

const influxV1 = z
  .strictObject({
    api: z.literal("v1"),
    ...influxCommon,
    database: z.string().min(1),
    /**
     * Where points go: one retention policy for all levels, or one per level (a level not named
     * goes to the database's default policy); the database's default policy when not set.
     */
    retentionPolicy: z
      .union([
        z.string().min(1),
        z.strictObject({
          "1m": z.string().min(1).optional(),
          "5m": z.string().min(1).optional(),
          "1h": z.string().min(1).optional(),
          "1d": z.string().min(1).optional(),
        }),
      ])
      .optional(),
    username: z.string().min(1).optional(),
    password: secret.optional(),
    /** For InfluxDB 2.x/3.x through their v1 API (`Authorization: Token`). */
    token: secret.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.username !== undefined && v.password === undefined) {
      ctx.addIssue({ code: "custom", path: ["password"], message: "is required with username" });
    }
    if (v.password !== undefined && v.username === undefined) {
      ctx.addIssue({ code: "custom", path: ["username"], message: "is required with password" });
    }
    if (v.token !== undefined && (v.username !== undefined || v.password !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["token"],
        message: "give either username/password or token, not both",
      });
    }
  });

const influxV2 = z.strictObject({
  api: z.literal("v2"),
  ...influxCommon,
  org: z.string().min(1),
  bucket: z.string().min(1),
  token: secret,
  /**
   * Reads go through the v1-compatibility /query endpoint, which finds the bucket through a DBRP
   * mapping: the mapping's database name (default: the bucket's name) and retention policy.
   */
  database: z.string().min(1).optional(),
  retentionPolicy: z.string().min(1).optional(),
  /** The client's retries of a failed write (with its exponential backoff), within maxRetryTime. */
  maxRetries: z.number().int().min(0).max(20).default(3),
  minRetryDelay: duration({ min: 0, max: TIMER_MAX_MS }).default(1000),
  /** At 0 the client gives a write up before sending it ("Max retry time exceeded"). */
  maxRetryTime: duration({ min: SECOND_MS, max: TIMER_MAX_MS }).default(60_000),
});

/** One access link; exported for the customer registry (registry/model.ts), which extends it. */
export const linkSchema = z.strictObject({
  id: unreservedId("link"),
  name: z.string().optional(),
  /** IPv4 and IPv6 prefixes of the access link ("203.0.113.0/28", "2001:db8:10::/48"). */
  prefixes: z.array(z.string()).default([]),
  /** Exporter address and interface index of the access interface, for links without prefixes. */
  router: ipAddress.optional(),
  ifIndex: z.number().int().min(0).max(0xffffffff).optional(),
  /** Committed rate in bits/s ("100M"). */
  commitRate: bitRate.optional(),
});

/** A credit tier: when the figure is below `below` percent, `percent` of the monthly fee. */
const creditTier = z.strictObject({
  below: serviceLevelTarget,
  percent: serviceLevelTarget,
});
/** One tier or a list of them; read as a list. */
const creditTiers = z
  .union([creditTier, z.array(creditTier).min(1, "must give at least one tier")], {
    error: "must be a tier { below, percent } or a list of them",
  })
  .transform((v) => (Array.isArray(v) ? v : [v]));

/**
 * Credits owed for missed targets (sla/credits.ts, docs/sla.md): per link whose availability is
 * below a tier's `below` (the lowest tier reached applies), per class whose share of compliant
 * minutes is; at most `maxPercent` of the monthly fee in all.
 */
const creditsSchema = z.strictObject(
  {
    availability: creditTiers.optional(),
    serviceLevel: creditTiers.optional(),
    maxPercent: serviceLevelTarget.default(100),
  },
  {
    error: (issue) =>
      issue.code === "invalid_type"
        ? "credits must be { availability: [{ below, percent }], serviceLevel: { below, percent }, maxPercent }"
        : undefined,
  },
);

/**
 * The billing keys a service type gives its customers and a customer may override key by key
 * (sla/billing.ts, docs/sla.md); none has a default here, so that an override can be told from
 * a default: sla/billing.ts fills those in (max(in, out) from day 1).
 */
const billingShared = {
  /** The 5-minute sample the 95th percentile is taken of: max(in, out), in, out or in + out. */
  percentileOf: z
    .enum(["max", "in", "out", "sum"], { error: 'must be "max", "in", "out" or "sum"' })
    .optional(),
  /** The billing period starts on this day of each month (00:00 UTC); 1 to 28. */
  day: z
    .number()
    .int("must be a whole day of the month from 1 to 28")
    .min(1, "must be a day of the month from 1 to 28")
    .max(28, "must be a day of the month from 1 to 28 (every month has one)")
    .optional(),
  /** Each access link's availability target, percent (0–100, three decimals). */
  availabilityTarget: serviceLevelTarget.optional(),
  /** Credits owed for missed targets. */
  credits: creditsSchema.optional(),
  /** The monthly fee credits are a percentage of (then the report gives an amount). */
  monthlyFee: z.number().min(0, "must be 0 or more").optional(),
  /** ISO 4217 code of the fee ("EUR"). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code such as "EUR"')
    .optional(),
};

/** A service type's billing: the defaults of its customers'. */
const serviceTypeBillingSchema = z.strictObject(billingShared);

/** How a customer's commit rate is judged (sla/commit-rate.ts, docs/sla.md). */
const billingSchema = z.strictObject({
  ...billingShared,
  /**
   * Links billed together: their 5-minute samples are summed per window before the percentile,
   * against the bill's own commit rate (links not in a bill are billed alone, at their own).
   */
  bills: z
    .array(
      z.strictObject({
        id: idSchema,
        links: z
          .array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must name a link as "site/link"'))
          .min(1, "must name at least one link"),
        commitRate: bitRate,
      }),
    )
    .default([]),
});

/** A service type (customers[].serviceType) and the billing its customers get by default. */
const serviceTypeSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  billing: serviceTypeBillingSchema.prefault({}),
});

/** One site; exported for the customer registry (registry/model.ts), which extends it. */
export const siteSchema = z.strictObject({
  id: unreservedId("site"),
  name: z.string().optional(),
  links: z.array(linkSchema).min(1),
});

/** One customer; exported so that a config's customers can be validated one at a time. */
export const customerSchema = z.strictObject({
  id: unreservedId("customer"),
  name: z.string().min(1),
  serviceType: z.string().min(1).default("default"),
  /** The customer's message of the day, shown to its users (`GET /api/v1/me`). */
  motd: z.string().max(4096).optional(),
  sites: z.array(siteSchema).min(1),
  /**
   * How the commit rate is billed and availability judged (docs/sla.md): key by key over the
   * service type's `serviceTypes[].billing`; left out there too: max(in, out) from day 1.
   */
  billing: billingSchema.optional(),
  /**
   * This customer's own portal template (docs/portal.md#provider-templates; relative: to the
   * config file's directory), instead of the service type's or `portal.template`.
   */
  portalTemplate: z.string().min(1).optional(),
});

const portRange = z
  .union([
    z.number().int().min(0).max(65535),
    z.string().regex(/^\d{1,5}-\d{1,5}$/, 'is not a port or a range "low-high"'),
  ])
  .refine((v) => {
    if (typeof v === "number") return true;
    const [lo, hi] = v.split("-").map(Number) as [number, number];
    return lo <= hi && hi <= 65535;
  }, "is not a port range within 0-65535 with low <= high");

const protocolNames = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  icmpv6: 58,
  sctp: 132,
} as const;
const protocol = z
  .union([
    z.number().int().min(0).max(255),
    z.enum(Object.keys(protocolNames) as [keyof typeof protocolNames]),
  ])
  .transform((v) => (typeof v === "number" ? v : protocolNames[v]));

/** An http(s) URL (a webhook's). */
const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "is not an http:// or https:// URL");

/**
 * One SLA alert webhook (sla/alerts/, docs/sla.md "Alerts"): POSTed when an incident starts and
 * ends. `classes`, `customers` and `serviceTypes` scope it (each given must match; none: every
 * incident).
 */
const slaWebhook = z.strictObject({
  name: id,
  /** Its user:password, if any, is a secret (shown "***"). */
  url: httpUrl.register(secrets, { shown: "url" }),
  /** The HMAC-SHA256 key of the X-Flowtally-Signature header (write-only: shown "(set)"). */
  secret,
  classes: z.array(id).min(1).optional(),
  customers: z.array(id).min(1).optional(),
  serviceTypes: z.array(z.string().min(1)).min(1).optional(),
  /** One attempt's time limit (ms). */
  timeoutMs: positiveInt.max(600_000).default(10_000),
  /** Attempts of one delivery, the first included; then it is failed. */
  maxAttempts: positiveInt.max(100).default(8),
  /** The wait before the first retry (ms); doubled at each retry (at most 10 min), with jitter. */
  retryDelayMs: positiveInt.max(600_000).default(1000),
  /** Deliveries waiting at most; beyond, new ones are dropped (counted and logged). */
  maxPending: positiveInt.max(1_000_000).default(10_000),
});

const classSchema = z.strictObject({
  id: unreservedId("class"),
  name: z.string().optional(),
  /** Response times: a transaction whose total delay is under this is good (default: defaultTotalDelayThreshold). */
  totalDelayThreshold: totalDelayThreshold.optional(),
  /**
   * The percentage of good transactions a minute must reach (docs/sla.md); default:
   * defaultServiceLevelTarget, and without either the class has no SLA.
   */
  serviceLevelTarget: serviceLevelTarget.optional(),
  /** Every condition given must hold; a list matches when any of its entries does. */
  match: z
    .strictObject({
      protocol: z.array(protocol).optional(),
      /** Either port of the flow. */
      ports: z.array(portRange).optional(),
      /** The address on the other side from the customer. */
      remotePrefixes: z.array(z.string()).optional(),
      dscp: z.array(z.number().int().min(0).max(63)).optional(),
      applicationId: z.array(z.number().int().min(0)).optional(),
      /** The flow entered or left the router on this interface. */
      interface: z
        .array(z.strictObject({ router: ipAddress, ifIndex: z.number().int().min(0) }))
        .optional(),
    })
    .prefault({}),
});

const udpInput = z.strictObject({
  listen: hostPort,
  /**
   * Exporter addresses (prefixes) whose datagrams are taken; others are dropped and counted per
   * source. Left out: every source, with a warning at start. (Parsed in config/validate-model.ts.)
   */
  allowedExporters: z
    .array(z.string())
    .min(1, "is empty: leave it out to accept every exporter")
    .optional(),
  /**
   * Socket receive buffer (SO_RCVBUF) asked for, in bytes: what absorbs bursts while the
   * collector is busy. The kernel grants at most net.core.rmem_max unless flowtally may force it.
   */
  receiveBuffer: z
    .number()
    .int()
    .min(65_536)
    .max(2 ** 31 - 1)
    .default(32 * 1024 * 1024),
});

const captureInput = z.strictObject({
  /** Network interface to capture on: a mirror (SPAN) port or a tap ("eth1"; "any" for all). */
  interface: z
    .string()
    .min(1)
    .max(255)
    .refine((s) => !/[\s/]/.test(s), "is not an interface name"),
  /** BPF filter in tcpdump's syntax ("not port 2055"); "" captures everything. */
  filter: z.string().default(""),
  /**
   * Bytes kept of each frame. Headers are enough: bytes are counted from the IP total length.
   * 128 holds Ethernet + two VLAN tags + IPv6 + TCP with options; raise it for tunnels.
   */
  snaplen: z.number().int().min(64).max(262_144).default(128),
  /** Kernel capture buffer in bytes: absorbs bursts while the collector is busy. */
  bufferSize: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(2 ** 31 - 1)
    .default(64 * 1024 * 1024),
  /** Receive frames addressed to other hosts too (what a mirror port carries). */
  promiscuous: z.boolean().default(true),
});

/** An environment variable's name, as a shell writes it. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not an environment variable name such as RADIUS_SECRET");

/** One RADIUS server (accounts/radius-client.ts); exactly one of `secret` and `secretEnv`. */
const radiusServer = z
  .strictObject({
    /** An IP address: RADIUS servers know their clients by address, and a name would add DNS to every login. */
    host: ipAddress,
    port: z.number().int().min(1).max(65535).default(1812),
    /** The shared secret (write-only: `check-config` shows "(set)"). */
    secret: secret.optional(),
    /** The environment variable holding the shared secret instead (read when flowtally starts). */
    secretEnv: envName.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.secret === undefined) === (v.secretEnv === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [v.secret === undefined ? "secret" : "secretEnv"],
        message: "give either secret or secretEnv (exactly one)",
      });
    }
  });

/** RADIUS password checks for users with `auth: radius` (docs/accounts-radius.md). */
export const radiusConfigSchema = z.strictObject({
  /** Asked in order; one that does not answer is held down and the next one asked. */
  servers: z.array(radiusServer).min(1, "is empty: leave radius out, or name a server"),
  /** How long to wait for a reply before sending the request again (a timer: above 0). */
  timeout: duration({ min: 100, max: 60 * SECOND_MS }).default(3000),
  /** Times a request is sent again to one server before the next server is asked. */
  retries: z.number().int().min(0).max(10).default(2),
});

/**
 * The portal's branding (config `portal.branding`; the admin pages save overrides of it, key by
 * key: web/admin/portal-settings.ts). Every text is shown as text (escaped), never as markup.
 */
export const brandingSchema = z.strictObject({
  /** The title in the header and the browser tab. */
  title: z.string().min(1).max(200).default("flowtally"),
  /**
   * A PNG, JPEG, SVG or WebP file shown in the header (relative: to the config file's
   * directory), served by flowtally itself; left out: no logo.
   */
  logo: z
    .string()
    .min(1)
    .refine((s) => /\.(png|jpe?g|svg|webp)$/i.test(s), "is not a .png, .jpg, .svg or .webp file")
    .optional(),
  colors: z
    .strictObject({
      /** The header and buttons. */
      primary: hexColor.default("#1f5f99"),
      background: hexColor.default("#f6f7f9"),
      text: hexColor.default("#1b1f24"),
    })
    .prefault({}),
  /** A line at the foot of every portal page. */
  footer: z.string().max(1000).default(""),
  /** Words above the portal's login form. */
  loginText: z.string().max(2000).default(""),
});

export const configSchema = z.strictObject({
  /**
   * The directory of every file flowtally writes whose path in the config is relative (store,
   * decoder state, spools). Relative itself: to the config file's directory (config/data-paths.ts).
   */
  dataDir: z.string().min(1).default("."),
  decoder: decoderConfigSchema.prefault({}),
  inputs: z
    .strictObject({
      /** NetFlow v5, v9 and IPFIX on one port each ("0.0.0.0:2055"). */
      netflow: z.array(udpInput).default([]),
      /** sFlow v5 on one port each ("0.0.0.0:6343"). */
      sflow: z.array(udpInput).default([]),
      /** Live packet capture (libpcap), one entry per interface; see docs/configuration.md. */
      capture: z
        .array(captureInput)
        .default([])
        .refine(
          (list) => new Set(list.map((c) => c.interface)).size === list.length,
          "lists an interface twice",
        ),
    })
    .prefault({}),
  aggregation: z
    .strictObject({
      /**
       * Length of the collector's partial sums. The rollup adds each into the 1-minute row of
       * its start, so it divides a minute; 0 stops `run` (the sums need a length).
       */
      interval: duration({
        min: SECOND_MS,
        max: MINUTE_MS,
        check: (ms) =>
          MINUTE_MS % ms === 0
            ? undefined
            : `must divide 1m evenly, such as 5s, 10s, 15s, 30s or 1m (got ${formatDuration(ms)})`,
      }).default(10_000),
      /** How long an interval stays open for late records before it is written. */
      lateness: anyDuration.default(120_000),
      /**
       * Records ending later than this after they arrived come from an exporter with a wrong
       * clock: they are counted at their arrival time instead (and counted as such).
       */
      maxFuture: anyDuration.default(300_000),
      /**
       * Records that ended longer than this before they arrived are dropped and counted
       * (`too-old`): a replayed or spoofed export, or an exporter clock far behind. "forever"
       * keeps records of any age (replaying old captures over UDP). Default 2h: see
       * docs/configuration.md.
       */
      maxPast: pastWindow.default(2 * 3_600_000),
    })
    .prefault({}),
  store: z
    .strictObject({
      embedded: z
        .strictObject({
          /** Relative: in `dataDir`; ":memory:" keeps it in memory (tests). */
          path: z.string().min(1).default("flowtally.duckdb"),
          /**
           * How long rows of each level are kept ("forever" keeps them). 1-minute rows give the
           * peaks and the 1m step; 5-minute rows the 95th percentile; 1h and 1d rows the rest.
           */
          retention: levelRetention,
        })
        .prefault({}),
      /** InfluxDB instead of the embedded store (docs/configuration.md, docs/series-schema.md). */
      influx: z
        .discriminatedUnion("api", [influxV1, influxV2], { error: 'must be "v1" or "v2"' })
        .optional(),
    })
    .prefault({}),
  /** `flowtally collect` (scaled out): this collector's identity and its buffers. */
  collector: z
    .strictObject({
      /** Unique per collector: names its messages and metrics. Default: the host name. */
      id: id.optional(),
      /**
       * The longest a received record waits before it is shipped: what came in is shipped (the
       * open interval's sums too) at the first one-second tick this long after the last shipment.
       */
      shipAfter: anyDuration.default(1000),
      /** Partial rows kept in memory while Redis is unreachable; beyond it the oldest are dropped, counted. */
      maxBufferedRows: positiveInt.default(2_000_000),
      /**
       * Where partials not yet delivered are kept across a stop while Redis is unreachable
       * (relative: in `dataDir`); "" disables it.
       */
      spoolPath: z.string().default("collector-spool.json"),
    })
    .prefault({}),
  /** The queue between collectors and aggregators (scaled out); see docs/scale-out.md. */
  queue: z
    .strictObject({
      redis: z.strictObject({
        /** redis://[user:password@]host:port[/db] or rediss:// (TLS); its password is a secret. */
        url: z
          .string()
          .refine((s) => /^rediss?:\/\/[^/\s]+/.test(s), 'is not a "redis://host:port" URL')
          .register(secrets, { shown: "url" }),
        /** The URL is one node of a Redis Cluster (the others are discovered). */
        cluster: z.boolean().default(false),
      }),
      /** Key and queue name prefix, to run several flowtally setups on one Redis. */
      prefix: id.default("flowtally"),
      /** Customers are spread over this many shards (the unit of parallel writes); the same on every process. */
      shards: positiveInt.max(1024).default(16),
      /**
       * A job whose worker stopped answering is given to another worker after this (BullMQ's
       * lock and stalled-check timers: it refuses 0).
       */
      stalledAfter: duration({ min: SECOND_MS, max: TIMER_MAX_MS }).default(30_000),
      /** Message ids are remembered this long, so a message re-sent within it counts once. */
      dedupFor: duration({ min: SECOND_MS, max: LONGEST_MS }).default(7 * DAY_MS),
      /** Totals stay in Redis this long after their last write (cheap corrections for late data). */
      keepTotals: anyDuration.default(3_600_000),
      /** How often aggregators write dirty totals to the store (a timer; below 100ms it spins). */
      writeInterval: duration({ min: 100, max: TIMER_MAX_MS }).default(1000),
      /**
       * How often the 5m, 1h and 1d totals of a series are rewritten while they grow (the 1m ones
       * every writeInterval): bounds the points written per series.
       */
      rollupWriteInterval: anyDuration.default(30_000),
      /** Jobs one aggregator works on at once. */
      concurrency: positiveInt.max(256).default(8),
    })
    .optional(),
  api: z
    .strictObject({
      listen: hostPort.default("127.0.0.1:8080"),
      /** Bearer tokens of operators (full access); `check-config` shows how many. */
      operatorTokens: z
        .array(z.string().min(16, "must be at least 16 characters"))
        .register(secrets, { shown: "count" })
        .default([]),
      /** Connections open at once; more are closed as they arrive, counted. */
      maxConnections: positiveInt.max(1_000_000).default(256),
      /** How long a client has to send a request's headers (slow or idle clients are cut off). */
      headersTimeout: apiTimeout.default(10_000),
      /** How long a client has to send a whole request. */
      requestTimeout: apiTimeout.default(30_000),
      /** How long an idle keep-alive connection stays open between requests. */
      keepAliveTimeout: apiTimeout.default(5_000),
      /**
       * Largest body of `POST /api/v1/changes` (an atomic change set, e.g. an import); item
       * writes take at most 1 MiB.
       */
      maxChangeSetBytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .max(1024 * 1024 * 1024)
        .default(16 * 1024 * 1024),
      /** Bytes of request line and headers accepted; more is answered 431. */
      maxHeaderSize: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .default(16 * 1024),
      /**
       * Failed authentications per client address (IPv6: per /64): after `limit` within `window`,
       * every authenticated request from that address is answered 429 until the window ends.
       */
      authFailures: z
        .strictObject({
          limit: positiveInt.max(1_000_000).default(10),
          window: positiveDuration(DAY_MS).default(60_000),
          /** Addresses tracked at once (the memory bound); when full, the oldest is dropped. */
          maxAddresses: positiveInt.max(10_000_000).default(10_000),
        })
        .prefault({}),
      /**
       * Addresses of reverse proxies in front of the API: a request from one of them is counted
       * (login limits, failed tokens, audit) as the address it puts in X-Forwarded-For.
       */
      trustedProxies: z.array(ipAddress).max(64).default([]),
      /**
       * The API serves HTTPS itself with this certificate and key (PEM files; relative: to the
       * config file's directory). Both or neither; without, plain HTTP (behind a TLS proxy).
       */
      tls: z
        .strictObject({
          cert: z.string().min(1).optional(),
          key: z.string().min(1).optional(),
        })
        .superRefine((v, ctx) => {
          if ((v.cert === undefined) !== (v.key === undefined)) {
            ctx.addIssue({
              code: "custom",
              path: [v.cert === undefined ? "cert" : "key"],
              message: `is required with api.tls.${v.cert === undefined ? "key" : "cert"}`,
            });
          }
        })
        .prefault({}),
      /** Login sessions (docs/accounts.md): idle and absolute timeouts. */
      sessions: z
        .strictObject({
          /** A session unused this long ends. */
          idleTimeout: positiveDuration(DAY_MS).default(30 * MINUTE_MS),
          /** A session ends this long after its login, used or not. */
          absoluteTimeout: positiveDuration(30 * DAY_MS).default(12 * 3_600_000),
        })
        .superRefine((v, ctx) => {
          if (v.idleTimeout > v.absoluteTimeout) {
            ctx.addIssue({
              code: "custom",
              path: ["idleTimeout"],
              message: "must not be longer than api.sessions.absoluteTimeout",
            });
          }
        })
        .prefault({}),
      /**
       * Failed-login limits (docs/accounts.md#rate-limits): per address, per (user, address), and
       * per user name at addresses that have not logged that user in within `trustedFor`.
       */
      login: z
        .strictObject({
          window: positiveDuration(DAY_MS).default(15 * MINUTE_MS),
          perAddress: positiveInt.max(1_000_000).default(50),
          perUserAddress: positiveInt.max(1_000_000).default(5),
          perUser: positiveInt.max(1_000_000).default(100),
          trustedFor: positiveDuration(365 * DAY_MS).default(30 * DAY_MS),
          /** Keys tracked per budget at once (the memory bound); when full, the oldest is dropped. */
          maxEntries: positiveInt.max(10_000_000).default(100_000),
        })
        .prefault({}),
    })
    .superRefine((v, ctx) => {
      // Node refuses a server whose headers may take longer than the whole request.
      if (v.headersTimeout > v.requestTimeout) {
        ctx.addIssue({
          code: "custom",
          path: ["headersTimeout"],
          message: "must not be longer than api.requestTimeout",
        });
      }
    })
    .prefault({}),
  log: z
    .strictObject({
      /**
       * The log level of run, collect, aggregate, serve and replay, unless `--log-level` is on the
       * command line; applied again at SIGHUP. Unset: the command's own default.
       */
      level: z.enum(logLevels).optional(),
    })
    .prefault({}),
  /** The message of the day every user sees (`GET /api/v1/me`); a customer's own is the registry's. */
  motd: z.string().max(4096).optional(),
  /**
   * The customer portal (docs/portal.md): the provider's branding of its login page and pages.
   * Every text is shown as text (escaped), never as markup.
   */
  portal: z
    .strictObject({
      branding: brandingSchema.prefault({}),
      /**
       * The provider's HTML template of every customer's portal page (docs/portal.md#provider-templates;
       * relative: to the config file's directory), read at start and at SIGHUP; left out: the
       * built-in page.
       */
      template: z.string().min(1).optional(),
      /** Templates by service type, before `template` (and after `customers[].portalTemplate`). */
      serviceTypeTemplates: z.record(z.string().min(1), z.string().min(1)).default({}),
      /**
       * Named templates, name → file (relative: to the config file's directory): a registry
       * customer's `portalTemplate` names one of them (never a file), before its service type's.
       */
      templates: z.record(portalTemplateName, z.string().min(1)).default({}),
    })
    .prefault({}),
  /**
   * Where customers → sites → access links come from (docs/registry.md): `config` reads
   * `customers:` from this file (changed by editing it and SIGHUP); `database` keeps them in the
   * registry database, changed through the API and `flowtally customers import`.
   */
  registry: z
    .strictObject({
      source: z.enum(["config", "database"]).default("config"),
      /**
       * The embedded registry (one box): a DuckDB file; relative: in `dataDir`. It also holds the
       * accounts (users, sessions, tokens) of `run` and `serve`, whatever the source.
       */
      embedded: z.strictObject({ path: z.string().min(1).default("registry.duckdb") }).prefault({}),
      /**
       * PostgreSQL, shared by every process (scaled out; on one box instead of the file when
       * given): postgres://user[:password]@host:port/database; its password is a secret.
       */
      postgres: z
        .strictObject({
          url: z
            .string()
            .refine(
              (s) => /^postgres(ql)?:\/\/[^/\s]+\/[^/\s?]+/.test(s),
              'is not a "postgres://host:port/database" URL',
            )
            .register(secrets, { shown: "url" }),
        })
        .optional(),
    })
    .prefault({}),
  /** RADIUS servers for users with `auth: radius`; left out: no RADIUS. */
  radius: radiusConfigSchema.optional(),
  customers: z.array(customerSchema).default([]),
  /**
   * Service types (customers[].serviceType): the billing their customers get unless they give
   * their own, key by key (docs/sla.md), those of the database registry too.
   */
  serviceTypes: z
    .array(serviceTypeSchema)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Map<string, number>();
      list.forEach((t, k) => {
        const first = seen.get(t.id);
        if (first === undefined) seen.set(t.id, k);
        else
          ctx.addIssue({
            code: "custom",
            path: [k, "id"],
            message: `"${t.id}" is also the id of serviceTypes[${first}]`,
          });
      });
    }),
  /** Traffic classes, first match wins; traffic matching none is in `defaultClass`. */
  classes: z.array(classSchema).default([]),
  defaultClass: id.default("default"),
  /** The packet path's flow table (capture files and live capture). */
  flowTable: z
    .strictObject({
      /** Flows held at once; when full, the least recently active one is exported early. */
      maxFlows: positiveInt.max(50_000_000).default(262_144),
      /**
       * A flow without packets for this long is exported and removed. The table sweeps once a
       * second of packet time and refuses 0 or more than a day.
       */
      idleTimeout: flowTimeout.default(15_000),
      /** A long flow is exported this often (its counts since the last export). */
      activeTimeout: flowTimeout.default(60_000),
    })
    .prefault({}),
  /** The total-delay threshold of classes that set none, and of the default class. */
  defaultTotalDelayThreshold: totalDelayThreshold.default(1000),
  /** Service levels: the alerts of incidents (docs/sla.md "Alerts"). */
  sla: z
    .strictObject({
      webhooks: z
        .array(slaWebhook)
        .default([])
        .refine(
          (list) => new Set(list.map((w) => w.name)).size === list.length,
          "names a webhook twice",
        ),
      /**
       * Open incidents and deliveries not done, kept across a restart (written at stop, read at
       * start); relative: in `dataDir`; "" keeps nothing.
       */
      statePath: z.string().default("sla-alerts.json"),
      /** Availability measured from sFlow interface status (docs/sla.md "Availability"). */
      availability: z
        .strictObject({
          /**
           * A link's last interface status holds until its next sample, for at most this long;
           * then its minutes are unknown (set it to 3 or more of the exporters' counter interval).
           */
          staleAfter: duration({ min: SECOND_MS, max: DAY_MS }).default(120_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * The service-level target of classes that set none, and of the default class (docs/sla.md);
   * left out: those classes have no SLA (their minutes are no data).
   */
  defaultServiceLevelTarget: serviceLevelTarget.optional(),
  /**
   * The write-ahead log of `flowtally run` (docs/durability.md): what was received is on disk
   * within `syncInterval`, so a crash (SIGKILL, OOM, power loss) loses at most that much.
   */
  wal: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** A directory; relative: in `dataDir`. */
      path: z.string().min(1).default("wal"),
      /** How often what was received is written and fsync'd (and new templates saved). */
      syncInterval: duration({ min: 10, max: SECOND_MS }).default(500),
      /** The most the log may hold (MiB), while the store does not take writes; then memory only. */
      maxSizeMiB: positiveInt.max(1_048_576).default(1024),
    })
    .prefault({}),
});

/**
 * Every secret key of the config, found by walking the schema: what `check-config` hides.
 * schema/secrets.test.ts checks that no key named like a secret is left out.
 */
export const SECRET_KEYS: readonly SecretKey[] = secretKeys(configSchema);

export type DecoderConfig = z.infer<typeof decoderConfigSchema>;
export type CustomerConfig = z.infer<typeof customerSchema>;
export type ClassConfig = z.infer<typeof classSchema>;
export type BillingConfig = z.output<typeof billingSchema>;
export type ServiceTypeBillingConfig = z.output<typeof serviceTypeBillingSchema>;
export type CreditsConfig = z.output<typeof creditsSchema>;
export type CaptureInputConfig = z.infer<typeof captureInput>;
export type Config = z.infer<typeof configSchema>;
export type SlaWebhookConfig = z.infer<typeof slaWebhook>;
export type RadiusConfig = z.infer<typeof radiusConfigSchema>;
export type InfluxConfig = NonNullable<Config["store"]["influx"]>;
