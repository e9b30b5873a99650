/**
 * The zod schemas of the API's parameters and answers: the OpenAPI document is generated from
 * them (openapi.ts), the handlers take the names of their query parameters from them (so that a
 * parameter cannot be accepted without being documented, nor documented without being
 * accepted), and the tests check real answers against them. Values are checked by the handlers'
 * own strict readers (parameters.ts), whose order and messages are the API's contract.
 */
import { z } from "zod";
import { overviewColumns } from "../overview.js";
import { totalsDimensions } from "../totals.js";
import { trafficSteps } from "../traffic.js";
import { apiErrorCodes } from "./errors.js";
import { MAX_VALUE_LENGTH } from "./parameters.js";

/** Largest `limit` of the overview (more rows than any configuration has customers). */
export const MAX_OVERVIEW_LIMIT = 1_000_000;
/** Default step of the traffic endpoint. */
export const DEFAULT_STEP = "1h" satisfies (typeof trafficSteps)[number];

/** The names of an object schema's fields: the query parameters a route accepts. */
export function parameterNames(schema: z.ZodObject): string[] {
  return Object.keys(schema.shape);
}

const text = (description: string) => z.string().max(MAX_VALUE_LENGTH).meta({ description });
const time = (description: string) =>
  z
    .string()
    .max(MAX_VALUE_LENGTH)
    .meta({
      description: `${description}. ISO 8601 with a zone (2026-11-22T10:00:00Z, or 2026-11-22T11:00:00+01:00 with the + written %2B) or a date alone (midnight UTC).`,
      examples: ["2026-11-22T10:00:00Z"],
    });
const isoOut = (description: string) =>
  z
    .string()
    .meta({ description: `${description} (UTC, ISO 8601)`, examples: ["2026-11-22T10:00:00Z"] });

export const OverviewQuery = z.strictObject({
  from: time("Start, on a whole minute"),
  to: time("End (excluded), on a whole minute; default: now, rounded up to the minute").optional(),
  router: text(
    "Only customers with a link on this exporter's interfaces (an IP address that some configured link names)",
  ).optional(),
  serviceType: text("Only customers of this service type").optional(),
  search: text(
    "Only customers whose id or name contains this text (case-insensitive; the console's search box)",
  ).optional(),
  sort: z.enum(overviewColumns).default("bytesIn").meta({ description: "Column to sort by" }),
  order: z.enum(["asc", "desc"]).default("desc"),
  limit: z
    .int()
    .min(1)
    .max(MAX_OVERVIEW_LIMIT)
    .optional()
    .meta({ description: "Only the first N rows after sorting" }),
  format: z.enum(["json", "csv"]).default("json"),
  fields: text(
    "With `format=csv`: the columns, in this order, separated by commas (`customer,name,bytesIn,bpsIn`); default: every column",
  ).optional(),
});

export const CustomerPath = z.strictObject({
  id: text("A customer id of the configuration, or `unattributed` for traffic of no customer"),
});

export const SeriesQuery = z.strictObject({
  from: time("Start, on a boundary of the step (UTC)"),
  to: time(
    "End (excluded), on a boundary of the step; default: now, rounded up to the step",
  ).optional(),
  step: z.enum(trafficSteps).default(DEFAULT_STEP).meta({
    description: "Period of a point (`1d`: UTC days)",
  }),
  site: text("Only this site of the customer").optional(),
  link: text("Only links with this id (of `site` when given)").optional(),
  class: text("Only this traffic class").optional(),
  format: z.enum(["json", "csv"]).default("json").meta({
    description:
      "`csv`: the points as an RFC 4180 table (a header line, CRLF), one row per point, the fields of a point as columns",
  }),
});

export const TotalsQuery = z.strictObject({
  from: time("Start, on a whole minute"),
  to: time("End (excluded), on a whole minute; default: now, rounded up to the minute").optional(),
  by: z.enum(totalsDimensions).default("class").meta({
    description: "`class`: a row per traffic class, largest first; `link`: a row per access link",
  }),
  format: z.enum(["json", "csv"]).default("json"),
});

export const TotalsRow = z
  .strictObject({
    class: z.string().optional().meta({ description: "by=class: the class" }),
    site: z.string().optional().meta({ description: "by=link: the site" }),
    link: z.string().optional().meta({ description: "by=link: the link" }),
    bytesIn: z.number().meta({ description: "Bytes to the customer (down)" }),
    bytesOut: z.number().meta({ description: "Bytes from the customer (up)" }),
    packetsIn: z.number(),
    packetsOut: z.number(),
    share: z.number().min(0).max(1).nullable().meta({
      description: "(bytesIn + bytesOut) / the customer's bytes over the range; null: none at all",
    }),
    bpsIn: z.number().meta({ description: "Average rate down over the range, bits/s" }),
    bpsOut: z.number(),
  })
  .meta({ id: "TotalsRow" });

export const Totals = z
  .strictObject({
    customer: z.string(),
    from: isoOut("Start"),
    to: isoOut("End (excluded)"),
    by: z.enum(totalsDimensions),
    rows: z.array(TotalsRow),
  })
  .meta({ id: "Totals" });

export const TotalsCsv = z.string().meta({
  description:
    "from,to,class (by=link: site,link),bytesIn,bytesOut,packetsIn,packetsOut,share,bpsIn,bpsOut: RFC 4180, CRLF line ends, a header line",
});

export const SeriesCsv = z.string().meta({
  description:
    "time,complete and the point's fields as columns, a row per point: RFC 4180, CRLF line ends, a header line",
});

export const InterfacesQuery = z.strictObject({
  router: text("Only this sFlow agent (an IP address)").optional(),
});

/** For the endpoints that take no parameters. */
export const NoQuery = z.strictObject({});

export const ErrorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(apiErrorCodes) as [keyof typeof apiErrorCodes]),
      parameter: z.string().optional().meta({ description: "The query parameter at fault" }),
      message: z.string(),
      problems: z
        .array(z.strictObject({ path: z.string(), reason: z.string() }))
        .optional()
        .meta({
          description:
            "The request body's fields at fault (`name`, `prefixes[0]`, `changes[2].set.name`) and why",
        }),
      revision: z
        .number()
        .optional()
        .meta({ description: "412: the record's current revision (its ETag)" }),
    }),
  })
  .meta({ id: "Error" });

const complete = z.boolean().meta({ description: "Whether the period ends by completeUntil" });
const completeUntil = isoOut("Every period that ends by this time is complete");

export const OverviewRow = z
  .strictObject({
    customer: z.string(),
    name: z.string(),
    serviceType: z.string(),
    bytesIn: z.number(),
    bytesOut: z.number(),
    packetsIn: z.number(),
    packetsOut: z.number(),
    flows: z.number(),
    bpsIn: z.number().meta({
      description: "Average rate in, bit/s: bytesIn × 8 / the seconds of [from, ratesUntil)",
    }),
    bpsOut: z.number().meta({ description: "Average rate out, bit/s (as bpsIn)" }),
  })
  .meta({ id: "OverviewRow" });

export const Overview = z
  .strictObject({
    from: isoOut("Start"),
    to: isoOut("End (excluded)"),
    complete,
    completeUntil,
    ratesUntil: isoOut(
      "The rates are averages over [from, ratesUntil): `to`, or the time of the answer while the period is still running",
    ),
    rows: z.array(OverviewRow),
  })
  .meta({ id: "Overview" });

export const OverviewCsv = z.string().meta({
  description:
    "customer,name,serviceType,bytesIn,bytesOut,packetsIn,packetsOut,flows,bpsIn,bpsOut (or the columns of `fields`, in its order): RFC 4180, CRLF line ends, a header line",
});

export const TrafficPoint = z
  .strictObject({
    time: isoOut("Start of the period"),
    complete,
    bytesIn: z.number(),
    bytesOut: z.number(),
    packetsIn: z.number(),
    packetsOut: z.number(),
    bpsIn: z.number().meta({ description: "Average rate in, bit/s" }),
    bpsOut: z.number(),
    peakBpsIn: z.number().meta({ description: "Highest rate in of the samples `peakOver`" }),
    peakBpsOut: z.number(),
    peakOver: z.enum(["1m", ...trafficSteps]),
  })
  .meta({ id: "TrafficPoint" });

/** The head of every per-customer series answer (data-endpoints.ts, seriesFrame). */
const seriesHead = {
  customer: z.string(),
  step: z.enum(trafficSteps),
  from: isoOut("Start"),
  to: isoOut("End (excluded)"),
  completeUntil,
};

export const Traffic = z
  .strictObject({
    ...seriesHead,
    points: z.array(TrafficPoint),
    p95BpsIn: z.number().nullable().meta({ description: "95th percentile of 5-minute rates in" }),
    p95BpsOut: z.number().nullable(),
  })
  .meta({ id: "Traffic" });

const responseTimeFigures = {
  transactions: z.number(),
  goodTransactions: z.number(),
  goodRatio: z.number().nullable(),
  estimated: z.number().meta({
    description:
      "Of transactions, those whose good/bad verdict was estimated (flow exports with only sums or histogram buckets); 0 when all were exact",
  }),
  retransmissions: z.number(),
  meanNetworkDelayMs: z.number().nullable(),
  meanServerDelayMs: z.number().nullable(),
  meanTotalDelayMs: z.number().nullable(),
  totalDelayP50Ms: z.number().nullable(),
  totalDelayP95Ms: z.number().nullable(),
  totalDelayP99Ms: z.number().nullable(),
};

export const ResponseTimePoint = z
  .strictObject({ time: isoOut("Start of the period"), complete, ...responseTimeFigures })
  .meta({ id: "ResponseTimePoint" });

export const ResponseTimes = z
  .strictObject({
    ...seriesHead,
    points: z.array(ResponseTimePoint),
    ...responseTimeFigures,
  })
  .meta({ id: "ResponseTimes" });

export const Health = z
  .strictObject({
    status: z.enum(["ok", "degraded"]),
    down: z.array(z.string()).optional().meta({ description: "Dependencies that are down" }),
    codes: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "The error code of each dependency down, when known" }),
  })
  .meta({ id: "Health" });

export const Status = z
  .record(z.string(), z.unknown())
  .meta({ id: "Status", description: "The running process's counters (docs/api.md)" });

export const Interface = z
  .object({
    exporter: z.string(),
    ifIndex: z.number(),
    ifSpeed: z.number(),
    adminUp: z.boolean(),
    operUp: z.boolean(),
    updatedMs: z.number(),
    seconds: z.number().nullable(),
    inBps: z.number().nullable(),
    outBps: z.number().nullable(),
    inUtilisation: z.number().nullable(),
    outUtilisation: z.number().nullable(),
    inErrors: z.number().nullable(),
    outErrors: z.number().nullable(),
    inDiscards: z.number().nullable(),
    outDiscards: z.number().nullable(),
  })
  .meta({ id: "Interface" });

export const Interfaces = z.strictObject({ interfaces: z.array(Interface) }).meta({
  id: "Interfaces",
});

export const ExportersQuery = z.strictObject({
  exporter: text("Only this exporter or sFlow agent (an IP address)").optional(),
});

const ExporterDomain = z.object({
  version: z.number().describe("5, 9 or 10 (IPFIX)"),
  domain: z.number().describe("Observation domain (v9: source id; v5: engine)"),
  templates: z.array(z.object({ id: z.number(), options: z.boolean(), fields: z.number() })),
  samplingRates: z
    .array(z.object({ sampler: z.number(), rate: z.number() }))
    .describe("Learnt from options data; sampler 0: the domain's own rate"),
});

export const Exporter = z
  .object({
    exporter: z.string(),
    protocol: z.enum(["netflow", "sflow"]).describe("netflow: NetFlow v5/v9 and IPFIX"),
    firstSeen: z.string().nullable(),
    lastSeen: z.string().nullable(),
    silentSeconds: z.number().nullable().describe("Seconds since the latest datagram"),
    datagrams: z.number(),
    records: z.number(),
    lostRecords: z.number().describe("Missing by sequence numbers (sFlow: flow samples)"),
    lostPackets: z.number().describe("v9 export packets / sFlow datagrams missing"),
    lossShare: z.number().nullable().describe("lostRecords / (records + lostRecords)"),
    sequenceResets: z.number(),
    templates: z
      .object({
        known: z.number(),
        learnt: z.number(),
        redefined: z.number(),
        withdrawn: z.number(),
      })
      .optional(),
    domains: z.array(ExporterDomain).optional(),
    samples: z
      .object({
        flow: z.number(),
        counter: z.number(),
        discard: z.number(),
        other: z.number(),
        agentDrops: z.number(),
      })
      .optional(),
  })
  .meta({ id: "Exporter" });

export const Exporters = z.strictObject({ exporters: z.array(Exporter) }).meta({
  id: "Exporters",
});

const SlaDelivery = z
  .strictObject({
    id: z
      .string()
      .meta({ description: "The delivery id (X-Flowtally-Delivery), the same on every attempt" }),
    event: z.enum(["incident.started", "incident.ended"]),
    customer: z.string(),
    class: z.string(),
    incident: z.string().meta({ description: "The incident's id: customer/class/start" }),
    state: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    createdAt: z.string(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable().meta({ description: "The last attempt's HTTP status" }),
    lastError: z
      .string()
      .nullable()
      .meta({ description: "The last attempt's error (timeout, refused)" }),
  })
  .meta({ id: "SlaDelivery" });

export const SlaWebhooks = z
  .strictObject({
    webhooks: z.array(
      z.strictObject({
        name: z.string(),
        url: z.string().meta({ description: "Its password, if any, as ***" }),
        pending: z.number().int(),
        delivered: z.number().int(),
        failed: z.number().int().meta({ description: "Deliveries given up after maxAttempts" }),
        dropped: z
          .number()
          .int()
          .meta({ description: "Deliveries dropped: maxPending were waiting" }),
        attempts: z.number().int(),
        failedAttempts: z.number().int(),
        pendingDeliveries: z.array(SlaDelivery).meta({ description: "Oldest first, at most 20" }),
        lastDeliveries: z
          .array(SlaDelivery)
          .meta({ description: "Finished ones, newest first, at most 20" }),
      }),
    ),
    openIncidents: z.array(
      z.strictObject({
        id: z.string(),
        customer: z.string(),
        class: z.string(),
        start: z.string(),
        end: z.string(),
        minutes: z.number().int(),
      }),
    ),
    judgedUntil: z.string().nullable().meta({ description: "The first minute not judged yet" }),
    minutes: z
      .record(z.string(), z.number())
      .meta({ description: "Minutes judged, late, early, duplicate; incidents started, ended" }),
  })
  .meta({
    id: "SlaWebhooks",
    description: "SLA alert webhooks and their deliveries (docs/sla.md)",
  });

export const PrometheusText = z.string().meta({ description: "Prometheus text format 0.0.4" });

export const OpenApiDocument = z
  .record(z.string(), z.unknown())
  .meta({ description: "This document (OpenAPI 3.1)" });

const slaRange = {
  from: time("Start, on a whole minute (or give `period`)").optional(),
  to: time("End (excluded), on a whole minute; default: now, rounded up to the minute").optional(),
  period: z
    .string()
    .max(MAX_VALUE_LENGTH)
    .optional()
    .meta({
      description:
        "Instead of from/to: `this-month`, `last-month` or a month `YYYY-MM`, each from the customer's billing day (`customers[].billing.day`, default 1) at 00:00 UTC to the same day of the next month",
      examples: ["this-month", "2026-11"],
    }),
};

export const SlaQuery = z.strictObject({
  ...slaRange,
  class: text("Only this traffic class").optional(),
  format: z.enum(["json", "csv"]).default("json"),
});

export const SlaBreachesQuery = z.strictObject({
  ...slaRange,
  format: z.enum(["json", "csv"]).default("json"),
});

const share = (description: string) =>
  z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .meta({ description: `${description} (0 to 1; null: none)` });

const SlaIncident = z.strictObject({
  start: isoOut("Start of the first breach minute"),
  end: isoOut("End of the last breach minute (excluded)"),
  minutes: z.number().int(),
  worstMinute: isoOut(
    "The minute with the lowest share of good transactions (the first of equals)",
  ),
  worstShare: z.number().min(0).max(1),
});

export const SlaClass = z
  .strictObject({
    class: z.string(),
    threshold: z
      .number()
      .nullable()
      .meta({ description: "Total-delay threshold in force at the end of the range (ms)" }),
    target: z
      .number()
      .nullable()
      .meta({ description: "Service-level target in force at the end of the range (percent)" }),
    transactions: z.number(),
    good: z.number(),
    goodShare: share("good / transactions over the range, weighted by transactions"),
    minutes: z.number().int().meta({ description: "Whole minutes in the range" }),
    compliantMinutes: z.number().int(),
    breachMinutes: z.number().int(),
    noDataMinutes: z
      .number()
      .int()
      .meta({ description: "Minutes without transactions or without a target in force" }),
    compliantShare: share("compliant minutes / minutes with data"),
    estimated: z
      .boolean()
      .meta({ description: "Some good counts were estimated (an exporter's histogram)" }),
    levels: z
      .array(
        z.strictObject({
          from: isoOut("Start"),
          to: isoOut("End (excluded)"),
          threshold: z.number().nullable(),
          target: z.number().nullable(),
        }),
      )
      .meta({ description: "The parts of the range with the level in force in each" }),
    incidents: z.array(SlaIncident),
  })
  .meta({ id: "SlaClass" });

export const SlaLink = z
  .strictObject({
    site: z.string(),
    link: z.string(),
    commitRate: z.number().nullable().meta({
      description:
        "bits/s; null: the link has none. Changed inside the range: the rates in force averaged over the time each was (prorated), to whole bits/s",
    }),
    commitRates: z
      .array(
        z.strictObject({
          from: isoOut("Start"),
          to: isoOut("End (excluded)"),
          commitRate: z.number().nullable(),
        }),
      )
      .meta({
        description:
          "The parts of the range with the commit rate in force in each (billing profile versions, docs/sla.md); a 5-minute window is judged against the one in force at its start",
      }),
    percentileOf: z.enum(["max", "in", "out", "sum"]),
    p95Bps: z.number().meta({
      description: "95th percentile (nearest rank) of the range's 5-minute samples, bits/s",
    }),
    excessBps: z.number().nullable(),
    compliant: z.boolean().nullable(),
    windows: z.number().int(),
    windowsAbove: z.number().int().nullable(),
    projection: z
      .strictObject({
        projectedP95Bps: z.number(),
        floorP95Bps: z.number(),
        burstWindowsLeft: z.number().int().nullable(),
      })
      .optional()
      .meta({ description: "Only while the range is in progress: where the period is heading" }),
  })
  .meta({ id: "SlaLink" });

const creditTier = z.strictObject({ below: z.number(), percent: z.number() });

export const SlaAvailability = z
  .strictObject({
    target: z.number().nullable().meta({ description: "billing.availabilityTarget (percent)" }),
    minutes: z.number().int().meta({ description: "Whole minutes in the range" }),
    upMinutes: z.number().int(),
    downMinutes: z
      .number()
      .int()
      .meta({ description: "Measured down, and declared outages (outside maintenance)" }),
    unknownMinutes: z.number().int().meta({ description: "No valid status, no declaration" }),
    maintenanceMinutes: z.number().int().meta({ description: "Left out of the share" }),
    share: share("up / (up + down); null when no minute has evidence"),
    met: z.boolean().nullable().meta({ description: "share ≥ target; null without either" }),
    sources: z.strictObject({
      measuredMinutes: z.number().int(),
      declaredOutageMinutes: z.number().int(),
    }),
  })
  .meta({ id: "SlaAvailability" });

export const SlaCredits = z
  .strictObject({
    from: isoOut("The billing period's start"),
    to: isoOut("Its end (excluded)"),
    final: z.boolean().meta({ description: "The period is over" }),
    percent: z.number().meta({ description: "Of the monthly fee, capped at maxPercent" }),
    amount: z.number().optional().meta({ description: "With billing.monthlyFee" }),
    currency: z.string().optional(),
    items: z.array(
      z.strictObject({
        reason: z.enum(["availability", "serviceLevel"]),
        site: z.string().optional(),
        link: z.string().optional(),
        class: z.string().optional(),
        share: z.number(),
        below: z.number(),
        percent: z.number(),
      }),
    ),
  })
  .meta({ id: "SlaCredits" });

export const SlaBill = SlaLink.omit({ site: true, link: true })
  .extend({
    bill: z.string(),
    links: z.array(z.string()).meta({ description: '"site/link" of each link of the bill' }),
  })
  .meta({
    id: "SlaBill",
    description:
      "Links billed together (customers[].billing.bills): their 5-minute samples summed per window before the percentile",
  });

const SlaBilling = z
  .strictObject({
    percentileOf: z.enum(["max", "in", "out", "sum"]),
    day: z.number().int(),
    bills: z.array(
      z.strictObject({ id: z.string(), links: z.array(z.string()), commitRate: z.number() }),
    ),
    availabilityTarget: z.number().optional(),
    credits: z
      .strictObject({
        availability: z.array(creditTier).optional(),
        serviceLevel: z.array(creditTier).optional(),
        maxPercent: z.number(),
      })
      .optional(),
    monthlyFee: z.number().optional(),
    currency: z.string().optional(),
  })
  .meta({ id: "SlaBilling" });

export const Sla = z
  .strictObject({
    customer: z.string(),
    from: isoOut("Start"),
    to: isoOut("End (excluded)"),
    inProgress: z.boolean().meta({ description: "Now is inside the range" }),
    billing: SlaBilling.meta({
      description:
        "In force at the end of the range (the customer's own over its service type's, docs/sla.md): its percentileOf, availabilityTarget and credits judge the whole range",
    }),
    profiles: z
      .array(
        z.strictObject({
          from: isoOut("Start"),
          to: isoOut("End (excluded)"),
          billing: SlaBilling,
          commitRates: z
            .record(z.string(), z.number())
            .meta({ description: '"site/link" → commit rate (bits/s) of each link with one' }),
        }),
      )
      .meta({
        description:
          'The parts of the range with the billing profile version in force in each (docs/sla.md "Profile versions")',
      }),
    classes: z.array(SlaClass),
    links: z.array(SlaLink.extend({ availability: SlaAvailability })),
    bills: z.array(SlaBill),
    credits: SlaCredits.nullable().meta({
      description: "With billing.credits and a range of one billing period; else null",
    }),
    creditsNote: z
      .string()
      .optional()
      .meta({ description: "Why there are no credits though billing.credits is set" }),
  })
  .meta({ id: "Sla" });

export const SlaCsv = z.string().meta({
  description:
    "kind,class,site,link,threshold,target,transactions,good,goodShare,minutes,compliantMinutes,breachMinutes,noDataMinutes,compliantShare,estimated,start,end,worstMinute,worstShare,commitRate,p95Bps,excessBps,compliant,bill,availabilityTarget,availability,availabilityMet,upMinutes,downMinutes,unknownMinutes,maintenanceMinutes,creditBelow,creditPercent,creditAmount,currency: a `class` row per class, an `incident` row per incident, a `link` row per link (with its availability), a `bill` row per bill (its links space-separated in `link`), under a link or bill whose commit rate changed inside the range a `commitRate` row per rate in force (start, end, commitRate), with credits a `credits` row (the period in start and end) and a `credit` row per item; RFC 4180, CRLF line ends, a header line",
});

export const SlaBreaches = z
  .strictObject({
    from: isoOut("Start"),
    to: isoOut("End (excluded)"),
    incidents: z.array(
      SlaIncident.extend({
        customer: z.string(),
        class: z.string(),
        threshold: z.number().nullable(),
        target: z.number().nullable(),
      }),
    ),
    outages: z
      .array(
        z.strictObject({
          customer: z.string(),
          site: z.string(),
          link: z.string(),
          source: z.enum(["declared", "measured"]).meta({
            description:
              "`declared` by an operator (POST /api/v1/customers/{id}/outages), `measured`: consecutive down minutes of the interface status",
          }),
          start: isoOut("Start (a measured period: of its first down minute)"),
          end: isoOut("End (excluded); null: a declared outage still going on").nullable(),
        }),
      )
      .meta({
        description: "Every access link's outages in the range, by start (not maintenance)",
      }),
  })
  .meta({ id: "SlaBreaches" });

export const SlaBreachesCsv = z.string().meta({
  description:
    "kind,customer,class,site,link,source,threshold,target,start,end,minutes,worstMinute,worstShare: an `incident` row per incident, then an `outage` row per outage; RFC 4180, CRLF line ends, a header line",
});
