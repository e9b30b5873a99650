/** Shared by config/config-view.test.ts and cli/check-config.test.ts. */

/**
 * Configs that between them set every secret key, each value a marker that must never be shown.
 * (InfluxDB's v1 credentials and a token exclude each other: two configs.)
 */
export const SECRET_VALUES = [
  "pw-A1b2C3d4-influx",
  "tok-E5f6G7h8-influx",
  "pw-I9j0K1l2-redis",
  "pw-M3n4O5p6-redisquery",
  "op-Q7r8S9t0-operator-one",
  "op-U1v2W3x4-operator-two",
  "pw-Y5z6A7b8-postgres",
  "rad-C9d0E1f2-radius-secret",
  "wh-G3h4I5j6-webhook-url",
  "wh-K7l8M9n0-webhook-secret",
] as const;
const [
  influxPassword,
  influxToken,
  redisPassword,
  redisQueryPassword,
  op1,
  op2,
  pgPassword,
  radiusSecret,
  webhookPassword,
  webhookSecret,
] = SECRET_VALUES;
const common = [
  `queue: { redis: { url: "redis://ft:${redisPassword}@127.0.0.1:6379/2?password=${redisQueryPassword}" } }`,
  `api: { listen: "127.0.0.1:0", operatorTokens: ["${op1}", "${op2}"] }`,
  `registry: { source: database, postgres: { url: "postgres://ft:${pgPassword}@127.0.0.1:5432/flowtally" } }`,
  `radius: { servers: [{ host: 127.0.0.1, secret: "${radiusSecret}" }, { host: "::1", secretEnv: RADIUS_SECRET }] }`,
  `sla: { webhooks: [{ name: ops, url: "https://alerts:${webhookPassword}@127.0.0.1:8443/hook", secret: "${webhookSecret}" }] }`,
];
export const EVERY_SECRET_CONFIGS = [
  [
    `store: { influx: { api: v1, url: "http://127.0.0.1:8086", database: ft, username: ft, password: "${influxPassword}" } }`,
    ...common,
  ].join("\n"),
  [
    `store: { influx: { api: v2, url: "http://127.0.0.1:8086", org: o, bucket: b, token: "${influxToken}" } }`,
    ...common,
  ].join("\n"),
];
