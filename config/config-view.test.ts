import { describe, expect, it } from "vitest";
import { SECRET_KEYS } from "../schema/config.js";
import { formatKeyPath } from "../schema/secrets.js";
import { EVERY_SECRET_CONFIGS, SECRET_VALUES } from "../test/support/secret-configs.js";
import { configView } from "./config-view.js";
import { parseConfigText } from "./load-config.js";
import { replaceAt } from "./redact-secrets.js";

describe("check-config's view of a config", () => {
  it("the configs here set every secret key of the schema", () => {
    const configs = EVERY_SECRET_CONFIGS.map((text) => parseConfigText(text));
    for (const key of SECRET_KEYS) {
      const set = configs.some((cfg) => {
        let found: unknown;
        replaceAt(cfg, key.path, 0, (v) => {
          found = v;
          return v;
        });
        return found !== undefined && found !== "" && !(Array.isArray(found) && found.length === 0);
      });
      expect(set, formatKeyPath(key.path)).toBe(true);
    }
  });

  it("shows none of their values, and says which are set", () => {
    const views = EVERY_SECRET_CONFIGS.map((text) => configView(parseConfigText(text)));
    for (const view of views) {
      for (const secret of SECRET_VALUES) expect(view).not.toContain(secret);
      expect(JSON.parse(view).api.operatorTokens).toBe("(2 set)");
      expect(JSON.parse(view).queue.redis.url).toBe("redis://ft:***@127.0.0.1:6379/2?password=***");
      expect(JSON.parse(view).registry.postgres.url).toBe(
        "postgres://ft:***@127.0.0.1:5432/flowtally",
      );
    }
    expect(JSON.parse(views[0]!).store.influx).toMatchObject({ username: "ft", password: "(set)" });
    expect(JSON.parse(views[1]!).store.influx).toMatchObject({ token: "(set)" });
  });

  it("shows the rest as it is, a retention of Infinity as forever", () => {
    const cfg = parseConfigText(
      "customers: [{ id: a, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }]",
    );
    const view = JSON.parse(configView(cfg));
    expect(view.customers).toEqual(JSON.parse(JSON.stringify(cfg.customers)));
    expect(view.store.embedded.retention).toMatchObject({ "1m": 14 * 86_400_000, "1h": "forever" });
    expect(view.api.operatorTokens).toBe("(0 set)");
    expect(view.queue).toBeUndefined();
  });
});
