import { describe, expect, it } from "vitest";
import { configSchema, SECRET_KEYS } from "./config.js";
import { formatKeyPath, redactUrl, walkSchema } from "./secrets.js";

/** Key names that smell of a secret. */
const SECRET_LIKE = /pass|secret|token|credential|auth|apikey|api_key|cookie|url|dsn|private/i;

/** Keys named like a secret that are not one, and why. */
const NOT_SECRET: Record<string, string> = {
  "store.influx.url": "refuses credentials and a query (schema/config.ts influxUrl)",
  "api.authFailures": "how many failed authentications are tolerated, no credential",
  "radius.servers[].secretEnv":
    "the name of the environment variable holding the secret, not its value",
};

describe("secret keys", () => {
  it("are found by walking the schema", () => {
    expect(SECRET_KEYS.map((k) => `${formatKeyPath(k.path)} ${k.shown}`)).toEqual([
      "store.influx.password set",
      "store.influx.token set",
      "queue.redis.url url",
      "api.operatorTokens count",
      "registry.postgres.url url",
      "radius.servers[].secret set",
      "sla.webhooks[].url url",
      "sla.webhooks[].secret set",
    ]);
  });

  it("every key named like a secret is marked as one, or listed here as not one", () => {
    const keys = new Set<string>();
    walkSchema(configSchema, (path) => {
      if (path.length > 0) keys.add(formatKeyPath(path));
    });
    // The walk reaches deep keys (so a new secret anywhere would be seen).
    expect(keys).toContain("customers[].sites[].links[].prefixes[]");
    expect(keys).toContain("store.influx.retentionPolicy.1m");
    const secret = new Set(SECRET_KEYS.map((k) => formatKeyPath(k.path)));
    const named = [...keys].filter((k) =>
      SECRET_LIKE.test(
        k
          .split(/[.[\]]+/)
          .filter(Boolean)
          .pop()!,
      ),
    );
    expect(named.length).toBeGreaterThan(0);
    // A key under a secret one (the tokens of api.operatorTokens) is hidden with it.
    const hidden = (k: string) =>
      [...secret].some((s) => k === s || k.startsWith(`${s}[`) || k.startsWith(`${s}.`));
    for (const k of named) {
      expect(
        hidden(k) || k in NOT_SECRET,
        `${k}: mark it with .register(secrets, ...) or list it in NOT_SECRET`,
      ).toBe(true);
    }
    for (const k of Object.keys(NOT_SECRET)) expect(keys, k).toContain(k);
  });

  it("redactUrl hides the password of the URL and of its query", () => {
    expect(redactUrl("redis://ft:s3cret@h:6379/2?password=q-s3cret&db=1")).toBe(
      "redis://ft:***@h:6379/2?password=***&db=1",
    );
    expect(redactUrl("rediss://h:6380")).toBe("rediss://h:6380");
    expect(redactUrl("not a url")).toBe("(unparseable URL)");
  });
});
