import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "../schema/config.js";
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import { reservedIds } from "../schema/reserved-ids.js";
import { resolveDataPaths } from "./data-paths.js";
import { loadConfigFile, parseConfigText, validateConfig } from "./load-config.js";

const here = new URL("./", import.meta.url);

describe("config", () => {
  it("every example config in config/ validates", () => {
    const examples = readdirSync(here).filter((f) => f.endsWith(".yaml"));
    expect(examples.length).toBeGreaterThan(0);
    for (const f of examples)
      expect(() => loadConfigFile(new URL(f, here).pathname), f).not.toThrow();
  });

  it("the defaults validate and fill every field", () => {
    const cfg = configSchema.parse({});
    expect(cfg.decoder).toMatchObject({
      unknownSampling: "assume-one",
      defaultSamplingRate: 1,
      samplingOverrides: [],
      held: { maxSets: 4096, maxAgeSeconds: 60 },
    });
    // The file's data paths resolve against dataDir (data-paths.test.ts); the rest is as parsed.
    expect(parseConfigText("", "x", "/etc/ft")).toEqual(resolveDataPaths(cfg, "/etc/ft"));
  });

  it("the result is frozen", () => {
    const cfg = parseConfigText(
      "decoder:\n  samplingOverrides: [{exporter: 192.0.2.1, rate: 10}]\n",
    );
    expect(Object.isFrozen(cfg.decoder.samplingOverrides[0])).toBe(true);
  });

  const bad: Array<[string, RegExp]> = [
    ["decoder:\n  unknownSampling: maybe\n", /decoder\.unknownSampling: .*"assume-one"/],
    [
      "decoder:\n  samplingOverrides:\n    - {exporter: 192.0.2.1, rate: 0}\n",
      /decoder\.samplingOverrides\[0\]\.rate: .*>=\s?1/,
    ],
    [
      "decoder:\n  samplingOverrides:\n    - {exporter: router-1, rate: 10}\n",
      /decoder\.samplingOverrides\[0\]\.exporter: is not an IP address/,
    ],
    ["decoder:\n  held: {maxSetz: 3}\n", /decoder\.held: unknown key "maxSetz"/],
    ["decodr: {}\n", /\(top level\): unknown key "decodr"/],
    ["decoder: [1, 2]\n", /decoder: .*object/],
    ["store: { influx: { api: v3, url: http://h } }\n", /store\.influx\.api: must be "v1" or "v2"/],
    [
      "store: { influx: { api: v1, url: 'http://u:pw@h:8086', database: d } }\n",
      /store\.influx\.url: is not an http\(s\) URL without credentials/,
    ],
    [
      "store: { influx: { api: v1, url: http://h, database: d, password: pw } }\n",
      /store\.influx\.username: is required with password/,
    ],
    [
      "store: { influx: { api: v1, url: http://h, database: d, username: u, password: p, token: t } }\n",
      /store\.influx\.token: give either username\/password or token, not both/,
    ],
    ["store: { influx: { api: v1, url: http://h } }\n", /store\.influx\.database: /],
    [
      "store: { influx: { api: v2, url: http://h, org: o, bucket: b } }\n",
      /store\.influx\.token: /,
    ],
    [
      "store: { influx: { api: v1, url: http://h, database: d, retentionPolicy: { 2m: x } } }\n",
      /store\.influx\.retentionPolicy/,
    ],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)} naming the path and the reason`, () => {
      try {
        parseConfigText(text, "test.yaml");
        expect.unreachable();
      } catch (e) {
        expect(isFlowtallyError(e, "FT_CONFIG_INVALID")).toBe(true);
        expect((e as Error).message).toMatch(/^test\.yaml: invalid config/);
        expect((e as Error).message).toMatch(message);
      }
    });
  }

  const link = (extra: string) => `customers:
  - id: a
    name: A
    sites:
      - id: s
        links:
          - id: l1
            prefixes: [10.0.0.0/24]
          - ${extra}
`;
  const modelErrors: Array<[string, string, RegExp]> = [
    [
      "a prefix with host bits",
      link("{ id: l2, prefixes: [10.1.0.1/16] }"),
      /customers\[0\]\.sites\[0\]\.links\[1\]\.prefixes\[0\]: "10\.1\.0\.1\/16" is not a prefix: .*host bits.*10\.1\.0\.0\/16/,
    ],
    [
      "a /33",
      link("{ id: l2, prefixes: [10.0.0.0/33] }"),
      /links\[1\]\.prefixes\[0\]: "10\.0\.0\.0\/33" is not a prefix/,
    ],
    [
      "the same prefix on two links",
      link("{ id: l2, prefixes: [10.0.0.0/24] }"),
      /links\[1\]\.prefixes\[0\]: "10\.0\.0\.0\/24" is also given to customers\[0\]\.sites\[0\]\.links\[0\]\.prefixes\[0\]/,
    ],
    [
      "a repeated link id",
      link("{ id: l1, prefixes: [10.9.0.0/24] }"),
      /links\[1\]\.id: "l1" is also the id of links\[0\]/,
    ],
    [
      "a router without ifIndex",
      link("{ id: l2, router: 192.0.2.1 }"),
      /links\[1\]: router and ifIndex go together/,
    ],
    [
      "a link nothing can match",
      link("{ id: l2 }"),
      /links\[1\]: has no prefixes and no router\/ifIndex/,
    ],
    [
      "a bad commit rate",
      link("{ id: l2, prefixes: [10.9.0.0/24], commitRate: fast }"),
      /links\[1\]\.commitRate: is not a bit rate/,
    ],
    [
      "a bad listen address",
      "inputs:\n  netflow:\n    - listen: 2055\n",
      /inputs\.netflow\[0\]\.listen: /,
    ],
    [
      "a short operator token",
      "api:\n  operatorTokens: [abc]\n",
      /api\.operatorTokens\[0\]: must be at least 16 characters/,
    ],
    [
      "a class named like the default class",
      "classes:\n  - id: other\n    match: { dscp: [46] }\ndefaultClass: other\n",
      /classes\[0\]\.id: "other" is the defaultClass/,
    ],
    [
      "a bad remote prefix",
      "classes:\n  - id: cdn\n    match: { remotePrefixes: [nonsense] }\n",
      /classes\[0\]\.match\.remotePrefixes\[0\]: "nonsense" is not a prefix/,
    ],
  ];
  for (const [what, text, message] of modelErrors) {
    it(`names the path and reason of ${what}`, () => {
      expect(() => parseConfigText(text, "m.yaml")).toThrow(message);
    });
  }

  it("accepts durations, rates and listen addresses in their usual forms", () => {
    const cfg = parseConfigText(`
inputs: { netflow: [{ listen: "0.0.0.0:2055" }, { listen: "[::1]:9995" }] }
aggregation: { interval: 10s, lateness: 2m, maxFuture: 1h }
${link("{ id: l2, prefixes: [2001:db8::/32], commitRate: 1.5G }").trim()}
`);
    expect(cfg.aggregation).toEqual({
      interval: 10_000,
      lateness: 120_000,
      maxFuture: 3_600_000,
      maxPast: 7_200_000,
    });
    expect(parseConfigText("aggregation: { maxPast: forever }").aggregation.maxPast).toBe(Infinity);
    expect(() => parseConfigText("aggregation: { maxPast: 30s }")).toThrow(
      /aggregation\.maxPast: is not "forever" or a duration of at least a minute/,
    );
    expect(() =>
      parseConfigText('inputs: { netflow: [{ listen: "0.0.0.0:2055", allowedExporters: [] }] }'),
    ).toThrow(/inputs\.netflow\[0\]\.allowedExporters: is empty: leave it out/);
    expect(() =>
      parseConfigText(
        'inputs: { sflow: [{ listen: "0.0.0.0:6343", allowedExporters: [192.0.2.0/24, 192.0.2.1/24, edge1] }] }',
      ),
    ).toThrow(
      /inputs\.sflow\[0\]\.allowedExporters\[1\]: "192\.0\.2\.1\/24" has host bits set[\s\S]*allowedExporters\[2\]: "edge1" is not a prefix/,
    );
    expect(cfg.inputs.netflow.map((i) => i.receiveBuffer)).toEqual([33_554_432, 33_554_432]);
    expect(cfg.store.embedded.retention).toEqual({
      "1m": 14 * 86_400_000,
      "5m": 400 * 86_400_000,
      "1h": Infinity,
      "1d": Infinity,
    });
    const custom = parseConfigText("store: { embedded: { retention: { 1m: 2d, 1h: forever } } }");
    expect(custom.store.embedded.retention["1m"]).toBe(2 * 86_400_000);
    expect(() => parseConfigText("store: { embedded: { retention: { 5m: 2h } } }")).toThrow(
      /store\.embedded\.retention\.5m: is not "forever" or a duration of at least a day/,
    );
    expect(cfg.customers[0]!.sites[0]!.links[1]!.commitRate).toBe(1.5e9);
  });

  it("api limits: defaults on every field, positive values, headers within the request time", () => {
    expect(configSchema.parse({}).api).toEqual({
      listen: "127.0.0.1:8080",
      operatorTokens: [],
      maxConnections: 256,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16_384,
      maxChangeSetBytes: 16 * 1024 * 1024,
      authFailures: { limit: 10, window: 60_000, maxAddresses: 10_000 },
      tls: {},
      trustedProxies: [],
      sessions: { idleTimeout: 30 * 60_000, absoluteTimeout: 12 * 3_600_000 },
      login: {
        window: 15 * 60_000,
        perAddress: 50,
        perUserAddress: 5,
        perUser: 100,
        trustedFor: 30 * 86_400_000,
        maxEntries: 100_000,
      },
    });
    const set = parseConfigText(
      "api: { maxConnections: 8, headersTimeout: 2s, keepAliveTimeout: 500ms, authFailures: { limit: 3, window: 5m } }",
    ).api;
    expect([set.maxConnections, set.headersTimeout, set.keepAliveTimeout]).toEqual([8, 2000, 500]);
    expect(set.authFailures).toEqual({ limit: 3, window: 300_000, maxAddresses: 10_000 });
    const refused: Array<[string, RegExp]> = [
      ["api: { maxConnections: 0 }", /api\.maxConnections: .*>=\s?1/],
      ["api: { maxConnections: -5 }", /api\.maxConnections: .*>=\s?1/],
      ["api: { maxConnections: 2.5 }", /api\.maxConnections: .*expected int/],
      ["api: { headersTimeout: 0s }", /api\.headersTimeout: must be at least 1ms \(got 0s\)/],
      ["api: { requestTimeout: 2h }", /api\.requestTimeout: must be at most 1h \(got 2h\)/],
      ["api: { keepAliveTimeout: soon }", /api\.keepAliveTimeout: is not a duration/],
      ["api: { maxHeaderSize: 100 }", /api\.maxHeaderSize: .*>=\s?1024/],
      ["api: { authFailures: { limit: 0 } }", /api\.authFailures\.limit: .*>=\s?1/],
      ["api: { authFailures: { window: 0 } }", /api\.authFailures\.window: must be at least 1ms/],
      ["api: { authFailures: { maxAddresses: 0 } }", /api\.authFailures\.maxAddresses: /],
      ["api: { authFailures: { limt: 3 } }", /api\.authFailures: unknown key "limt"/],
      ["api: { sessions: { idleTimeout: 0 } }", /api\.sessions\.idleTimeout: must be at least 1ms/],
      [
        "api: { sessions: { idleTimeout: 13h } }",
        /api\.sessions\.idleTimeout: must not be longer than api\.sessions\.absoluteTimeout/,
      ],
      [
        "api: { sessions: { absoluteTimeout: 31d } }",
        /api\.sessions\.absoluteTimeout: must be at most/,
      ],
      ["api: { login: { perUser: 0 } }", /api\.login\.perUser: .*>=\s?1/],
      ["api: { login: { perUsr: 3 } }", /api\.login: unknown key "perUsr"/],
      [
        "api: { trustedProxies: [proxy.example] }",
        /api\.trustedProxies\[0\]: is not an IP address/,
      ],
      ["api: { tls: { key: k.pem } }", /api\.tls\.cert: is required with api\.tls\.key/],
      ["api: { tls: { cert: c.pem, ca: x } }", /api\.tls: unknown key "ca"/],
      ["motd: 5", /motd: /],
      [
        "registry: { postgres: { url: http://x } }",
        /registry\.postgres\.url: is not a "postgres:\/\/host:port\/database" URL/,
      ],
      ["registry: { embedded: { file: x } }", /registry\.embedded: unknown key "file"/],
      [
        "api: { headersTimeout: 1m, requestTimeout: 30s }",
        /api\.headersTimeout: must not be longer than api\.requestTimeout/,
      ],
    ];
    for (const [text, message] of refused)
      expect(() => parseConfigText(text), text).toThrow(message);
  });

  it("registry: config by default; database needs the customers out of the file, and PostgreSQL when scaled out", () => {
    expect(configSchema.parse({}).registry).toEqual({
      source: "config",
      embedded: { path: "registry.duckdb" },
    });
    const one = parseConfigText("registry: { source: database }", "r.yaml", "/etc/ft");
    expect(one.registry.embedded.path).toBe("/etc/ft/registry.duckdb");
    const pgUrl = "postgres://ft@127.0.0.1:5432/flowtally";
    const scaled = parseConfigText(
      `registry: { source: database, postgres: { url: "${pgUrl}" } }\nqueue: { redis: { url: "redis://127.0.0.1:6379" } }`,
    );
    expect(scaled.registry.postgres?.url).toBe(pgUrl);
    const refused: Array<[string, RegExp]> = [
      ["registry: { source: yaml }", /registry\.source: .*"config".*"database"/],
      [
        'registry: { postgres: { url: "mysql://h/db" } }',
        /registry\.postgres\.url: is not a "postgres:\/\/host:port\/database" URL/,
      ],
      ["registry: { embeded: { path: x } }", /registry: unknown key "embeded"/],
      [
        "registry: { source: database }\ncustomers: [{ id: a, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }]",
        /customers: 1 customers are given while registry\.source is "database".*flowtally customers import/,
      ],
      [
        'registry: { source: database }\nqueue: { redis: { url: "redis://127.0.0.1:6379" } }',
        /registry\.postgres\.url: is needed when registry\.source is "database" and a queue is configured/,
      ],
      [
        "registry: { embedded: { path: same.db } }\nstore: { embedded: { path: same.db } }",
        /registry\.embedded\.path: "\/etc\/ft\/same\.db" is also store\.embedded\.path/,
      ],
    ];
    for (const [text, message] of refused) {
      expect(() => parseConfigText(text, "r.yaml", "/etc/ft"), text).toThrow(message);
    }
  });

  describe("durations: every one has the limits the code that uses it needs", () => {
    const influx = (extra: string) =>
      `store: { influx: { api: v1, url: "http://127.0.0.1:8086", database: d, ${extra} } }`;
    const queue = (extra: string) =>
      `queue: { redis: { url: "redis://127.0.0.1:6379" }, ${extra} }`;
    const refused: Array<[string, RegExp]> = [
      // 0 stopped `run` with a RangeError; 7s and 2m were cut into the wrong minutes.
      ["aggregation: { interval: 0s }", /aggregation\.interval: must be at least 1s \(got 0s\)/],
      ["aggregation: { interval: 0 }", /aggregation\.interval: must be at least 1s \(got 0s\)/],
      ["aggregation: { interval: -5s }", /aggregation\.interval: must be at least 1s \(got -5s\)/],
      ["aggregation: { interval: 7s }", /aggregation\.interval: must divide 1m evenly.*\(got 7s\)/],
      ["aggregation: { interval: 2m }", /aggregation\.interval: must be at most 1m \(got 2m\)/],
      [
        "aggregation: { interval: 0.5ms }",
        /aggregation\.interval: is not a whole number of milliseconds \(got 0\.5ms\)/,
      ],
      ["aggregation: { lateness: -1s }", /aggregation\.lateness: must not be negative \(got -1s\)/],
      [
        "aggregation: { maxFuture: -1 }",
        /aggregation\.maxFuture: must not be negative \(got -1s\)/,
      ],
      [
        "aggregation: { lateness: 99999999999d }",
        /aggregation\.lateness: must be at most 3650d \(got 99999999999d\)/,
      ],
      // AbortSignal.timeout(0) aborts every request; 1.5 ms threw ERR_OUT_OF_RANGE at start.
      [influx("timeout: 0"), /store\.influx\.timeout: must be at least 1ms \(got 0s\)/],
      [influx("timeout: 1.5ms"), /store\.influx\.timeout: is not a whole number of milliseconds/],
      // Node's timers fire after 1 ms past 2^31 - 1 ms.
      [influx("timeout: 30d"), /store\.influx\.timeout: must be at most 24d \(got 30d\)/],
      [
        "store: { influx: { api: v2, url: 'http://h:1', org: o, bucket: b, token: t, maxRetryTime: 0s } }",
        /store\.influx\.maxRetryTime: must be at least 1s \(got 0s\)/,
      ],
      // BullMQ's Worker throws "stalledInterval must be greater than 0": `aggregate` died.
      [queue("stalledAfter: 0"), /queue\.stalledAfter: must be at least 1s \(got 0s\)/],
      // Redis refuses SET ... EX 0: every message would fail.
      [queue("dedupFor: 0s"), /queue\.dedupFor: must be at least 1s \(got 0s\)/],
      [queue("writeInterval: 0s"), /queue\.writeInterval: must be at least 100ms \(got 0s\)/],
      [queue("writeInterval: 25d"), /queue\.writeInterval: must be at most 24d \(got 25d\)/],
      // The flow table throws on 0 or more than a day: `run` with a capture died.
      ["flowTable: { idleTimeout: 0s }", /flowTable\.idleTimeout: must be at least 1s \(got 0s\)/],
      [
        "flowTable: { activeTimeout: 2d }",
        /flowTable\.activeTimeout: must be at most 1d \(got 2d\)/,
      ],
      ["defaultTotalDelayThreshold: 0", /defaultTotalDelayThreshold: must be at least 1ms/],
      [
        "classes: [{ id: web, totalDelayThreshold: 0s, match: { protocol: [tcp] } }]",
        /classes\[0\]\.totalDelayThreshold: must be at least 1ms \(got 0s\)/,
      ],
      ["store: { embedded: { retention: { 1m: 100000d } } }", /store\.embedded\.retention\.1m: /],
      [
        "decoder: { artHistogramBounds: [5ms, 10ms, 50ms] }",
        /decoder\.artHistogramBounds: must list six durations/,
      ],
      [
        "decoder: { artHistogramBounds: [5ms, 10ms, 50ms, 40ms, 200ms, 500ms] }",
        /decoder\.artHistogramBounds: must be in ascending order/,
      ],
      [
        "decoder: { artHistogramBounds: [0s, 10ms, 50ms, 100ms, 200ms, 500ms] }",
        /decoder\.artHistogramBounds\[0\]: must be at least 1ms \(got 0s\)/,
      ],
    ];
    for (const [text, message] of refused) {
      it(`refuses ${text}`, () => {
        expect(() => parseConfigText(text, "d.yaml")).toThrow(message);
      });
    }

    it("accepts 0 where it means none, and the limits themselves", () => {
      const cfg = parseConfigText(
        [
          "aggregation: { interval: 1s, lateness: 0s, maxFuture: 0 }",
          queue("keepTotals: 0s, rollupWriteInterval: 0, writeInterval: 100ms, stalledAfter: 24d"),
          "collector: { shipAfter: 0s }",
          "flowTable: { idleTimeout: 1s, activeTimeout: 1d }",
        ].join("\n"),
      );
      expect(cfg.aggregation).toMatchObject({ interval: 1000, lateness: 0, maxFuture: 0 });
      expect(cfg.queue).toMatchObject({
        keepTotals: 0,
        rollupWriteInterval: 0,
        writeInterval: 100,
      });
      expect(parseConfigText("aggregation: { interval: 1.5s }").aggregation.interval).toBe(1500);
      const v2 = parseConfigText(
        "store: { influx: { api: v2, url: 'http://h:1', org: o, bucket: b, token: t, minRetryDelay: 0s, timeout: 1ms } }",
      );
      expect(v2.store.influx).toMatchObject({ minRetryDelay: 0, timeout: 1 });
    });
  });

  describe("one address, one listener; one file, one writer", () => {
    const inputs = (netflow: string[], sflow: string[] = [], api = "127.0.0.1:0") =>
      [
        `inputs: { netflow: [${netflow.map((l) => `{ listen: "${l}" }`).join(", ")}],`,
        `  sflow: [${sflow.map((l) => `{ listen: "${l}" }`).join(", ")}] }`,
        `api: { listen: "${api}" }`,
      ].join("\n");
    const clashes: Array<[string, string, RegExp]> = [
      [
        "two NetFlow inputs on one port",
        inputs(["0.0.0.0:2055", "0.0.0.0:2055"]),
        /inputs\.netflow\[1\]\.listen: UDP "0\.0\.0\.0:2055" is also inputs\.netflow\[0\]\.listen \("0\.0\.0\.0:2055"\)/,
      ],
      [
        "NetFlow and sFlow on one UDP port",
        inputs(["127.0.0.1:6343"], ["127.0.0.1:6343"]),
        /inputs\.sflow\[0\]\.listen: UDP "127\.0\.0\.1:6343" is also inputs\.netflow\[0\]\.listen/,
      ],
      [
        "0.0.0.0 and 127.0.0.1 on one port",
        inputs(["127.0.0.1:2055"], ["0.0.0.0:2055"]),
        /inputs\.sflow\[0\]\.listen: .* is also inputs\.netflow\[0\]\.listen \("127\.0\.0\.1:2055"\)/,
      ],
      [
        "[::] (dual-stack) and an IPv4 address",
        inputs(["[::]:2055", "192.0.2.1:2055"]),
        /inputs\.netflow\[1\]\.listen: .* is also inputs\.netflow\[0\]\.listen \("\[::\]:2055"\)/,
      ],
      [
        "one IPv6 address written two ways",
        inputs(["[2001:db8::1]:2055", "[2001:DB8:0::0:1]:2055"]),
        /inputs\.netflow\[1\]\.listen: /,
      ],
      [
        "a name and 0.0.0.0 (UDP binds names as IPv4)",
        inputs(["localhost:2055", "0.0.0.0:2055"]),
        /inputs\.netflow\[1\]\.listen: /,
      ],
      [
        "the decoder state and the spool in one file",
        "decoder: { statePath: a/state.json }\ncollector: { spoolPath: ./a/../a/state.json }",
        /collector\.spoolPath: "\/[^"]*\/a\/state\.json" is also decoder\.statePath/,
      ],
      [
        "the embedded store and the decoder state in one file",
        "decoder: { statePath: ft.duckdb }\nstore: { embedded: { path: ft.duckdb } }",
        /decoder\.statePath: "\/[^"]*\/ft\.duckdb" is also store\.embedded\.path/,
      ],
    ];
    for (const [what, text, message] of clashes) {
      it(`refuses ${what}, naming both paths`, () => {
        expect(() => parseConfigText(text, "l.yaml")).toThrow(message);
      });
    }

    it("accepts port 0 twice, UDP and TCP on one port, and different addresses", () => {
      expect(() =>
        parseConfigText(
          inputs(
            ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:2055", "127.0.0.2:2055"],
            [],
            "127.0.0.1:2055",
          ),
        ),
      ).not.toThrow();
      expect(() => parseConfigText(inputs(["[::1]:2055"], ["127.0.0.1:2055"]))).not.toThrow();
      // With InfluxDB the embedded file is not opened; "" turns the state file and spool off.
      expect(() =>
        parseConfigText(
          'decoder: { statePath: "" }\ncollector: { spoolPath: "" }\nstore: { embedded: { path: x }, influx: { api: v1, url: "http://h:1", database: d } }\n',
        ),
      ).not.toThrow();
    });
  });

  it("customers, validated one by one, get the same paths and messages as the whole schema gives", () => {
    const text = [
      "customers:",
      "  - { id: a, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }",
      "  - { id: b, name: B, sites: [{ id: s, links: [{ id: l, commitRate: fast, router: 192.0.2.1, ifIndex: 1 }] }], extra: 1 }",
      "decodr: {}",
    ].join("\n");
    const raw = { customers: [{ id: "a", name: "A", sites: [] }, 7] };
    for (const run of [
      () => parseConfigText(text, "c.yaml"),
      () => validateConfig(raw, "c.yaml"),
    ]) {
      expect(run).toThrow(FlowtallyError);
    }
    expect(() => parseConfigText(text, "c.yaml")).toThrow(
      /\(top level\): unknown key "decodr"\n {2}customers\[1\]\.sites\[0\]\.links\[0\]\.commitRate: is not a bit rate.*\n {2}customers\[1\]: unknown key "extra"/,
    );
    expect(() => validateConfig(raw, "c.yaml")).toThrow(
      /customers\[0\]\.sites: Too small.*\n {2}customers\[1\]: Invalid input: expected object, received number/,
    );
    // What the caller passed is left as it was.
    expect(raw.customers).toHaveLength(2);
    expect(raw.customers[0]).toEqual({ id: "a", name: "A", sites: [] });
    expect(() => parseConfigText("customers: 5")).toThrow(
      /customers: Invalid input: expected array/,
    );
  });

  it("refuses the ids flowtally uses itself (schema/reserved-ids.ts), in any case", () => {
    const customer = (id: string) =>
      `customers:\n  - { id: ${id}, name: X, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }\n`;
    expect(reservedIds.customer.length).toBeGreaterThan(0);
    for (const id of reservedIds.customer) {
      // Two "unattributed" rows in the overview, one of them this customer's.
      expect(() => parseConfigText(customer(id), "r.yaml")).toThrow(
        new RegExp(`customers\\[0\\]\\.id: "${id}" is reserved: the pseudo-customer`),
      );
      expect(() => parseConfigText(customer(id.toUpperCase()), "r.yaml")).toThrow(/is reserved/);
    }
    expect(() => parseConfigText(customer("unattributed-2"))).not.toThrow();
  });

  describe("every parse failure is one coded line that quotes no raw bytes", () => {
    const laughs = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ..."bcdefghi".split("").map((k, i) => {
        const prev = "abcdefgh"[i]!;
        return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(",")}]`;
      }),
    ].join("\n");
    const failures: Array<[string, string, RegExp]> = [
      // It was refused as a raw ReferenceError stack ("Excessive alias count").
      [
        "an alias bomb",
        laughs,
        /^b\.yaml: aliases expand the file to more than \d+ values: refused as an alias bomb/,
      ],
      ["an alias bomb inside a key the schema walks", `${laughs}\ncustomers: *i\n`, /alias bomb/],
      [
        "an alias loop",
        "classes: &c [*c]\n",
        /^b\.yaml: an alias refers to a list or map that holds it/,
      ],
      [
        "aliases nesting past 100 levels",
        [
          "a0: &a0 [0]",
          ...Array.from({ length: 120 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}]`),
        ].join("\n"),
        /^b\.yaml: aliases nest lists and maps deeper than 100 levels$/,
      ],
      [
        "nesting past 100 levels",
        `a: ${"[".repeat(5000)}${"]".repeat(5000)}`,
        /^b\.yaml: line 1, column \d+: nesting/,
      ],
      [
        "a binary file",
        "\x7fELF\x02\x01\x01\x00\x00\x1b[31m\x07",
        /^b\.yaml: line 1, column \d+: null byte is not allowed in input$/,
      ],
      [
        "control characters",
        "a: 1\n\x1b[31mred: 2\n",
        /^b\.yaml: line 2, column \d+: the stream contains non-printable characters$/,
      ],
      ["a repeated key", "a: 1\na: 2\n", /^b\.yaml: line 2, column 1: duplicated mapping key$/],
      ["two documents", "a: 1\n---\nb: 2\n", /^b\.yaml: .*single document/],
      ["an unknown tag", "a: !!binary aGVsbG8=\n", /^b\.yaml: line 1, column \d+: unknown tag/],
    ];
    for (const [what, text, message] of failures) {
      it(`${what}: FT_CONFIG_PARSE`, () => {
        try {
          parseConfigText(text, "b.yaml");
          expect.unreachable();
        } catch (e) {
          expect(isFlowtallyError(e, "FT_CONFIG_PARSE"), String(e)).toBe(true);
          const m = (e as Error).message;
          expect(m).toMatch(message);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: none may get through
          expect(m).not.toMatch(/[\x00-\x1f\x7f]/);
        }
      });
    }

    it("quoted control characters come back escaped in schema errors", () => {
      const text =
        'decoder: { "held\\x07\\x1b[2J": 1 }\ncustomers: [{ id: "a\\u202eb", name: x, sites: [] }]\n';
      try {
        parseConfigText(text, "file\x1b[31m.yaml");
        expect.unreachable();
      } catch (e) {
        expect(isFlowtallyError(e, "FT_CONFIG_INVALID")).toBe(true);
        const m = (e as Error).message;
        expect(m).toContain("file\\x1b[31m.yaml: invalid config");
        expect(m).toContain('decoder: unknown key "held\\x07\\x1b[2J"');
        expect(m).toContain("customers[0].id: ");
        // biome-ignore lint/suspicious/noControlCharactersInRegex: none may get through
        expect(m.replaceAll("\n", "")).not.toMatch(/[\x00-\x1f\x7f\u202e]/);
      }
    });

    it("aliases used as meant are fine", () => {
      const cfg = parseConfigText(
        "classes:\n  - { id: a, match: &web { protocol: [tcp], ports: [80, 443] } }\n  - { id: b, match: *web }\n",
      );
      expect(cfg.classes[1]!.match).toEqual(cfg.classes[0]!.match);
    });
  });

  it("reports YAML syntax errors and unreadable files with their own codes", () => {
    expect(() => parseConfigText("decoder: [1,\n", "x.yaml")).toThrow(/x\.yaml/);
    expect(() => parseConfigText("a: 1\na: 2\n")).toThrow(
      expect.objectContaining({ code: "FT_CONFIG_PARSE" }),
    );
    try {
      loadConfigFile("/nonexistent/flowtally.yaml");
      expect.unreachable();
    } catch (e) {
      expect(isFlowtallyError(e, "FT_CONFIG_READ")).toBe(true);
      expect((e as Error).message).toMatch(/nonexistent.*ENOENT/);
    }
  });
});
