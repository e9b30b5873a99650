/**
 * `sla.webhooks` and the service-level targets in the config: defaults, and refusals that name
 * the path and the reason.
 */
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../config/load-config.js";

const hook = { name: "ops", url: "https://alerts.example.net/hook", secret: "k" };

describe("sla config", () => {
  it("fills in the defaults", () => {
    const cfg = validateConfig({ sla: { webhooks: [hook] } });
    expect(cfg.sla.webhooks[0]).toEqual({
      ...hook,
      timeoutMs: 10_000,
      maxAttempts: 8,
      retryDelayMs: 1000,
      maxPending: 10_000,
    });
    // In the data directory (here: the working directory, validateConfig's default).
    expect(validateConfig({}).sla).toEqual({
      webhooks: [],
      statePath: `${process.cwd()}/sla-alerts.json`,
      availability: { staleAfter: 120_000 },
    });
    expect(validateConfig({}).defaultServiceLevelTarget).toBeUndefined();
  });

  it.each([
    [
      { sla: { webhooks: [{ ...hook, url: "ftp://x/" }] } },
      /sla\.webhooks\[0\]\.url: is not an http:\/\/ or https:\/\/ URL/,
    ],
    [{ sla: { webhooks: [{ ...hook, url: "not a url" }] } }, /sla\.webhooks\[0\]\.url/],
    [{ sla: { webhooks: [{ ...hook, secret: "" }] } }, /sla\.webhooks\[0\]\.secret/],
    [{ sla: { webhooks: [{ url: hook.url, secret: "k" }] } }, /sla\.webhooks\[0\]\.name/],
    [{ sla: { webhooks: [hook, hook] } }, /sla\.webhooks: names a webhook twice/],
    [{ sla: { webhooks: [{ ...hook, maxAttempts: 0 }] } }, /sla\.webhooks\[0\]\.maxAttempts/],
    [{ sla: { webhooks: [{ ...hook, classes: [] }] } }, /sla\.webhooks\[0\]\.classes/],
    [{ sla: { webhooks: [{ ...hook, colour: "red" }] } }, /sla\.webhooks\[0\].*colour/],
    [{ defaultServiceLevelTarget: 100.5 }, /defaultServiceLevelTarget/],
    [
      { defaultServiceLevelTarget: 99.9995 },
      /defaultServiceLevelTarget: must have at most three decimals/,
    ],
    [{ classes: [{ id: "web", serviceLevelTarget: -1 }] }, /classes\[0\]\.serviceLevelTarget/],
  ])("refuses %j", (input, message) => {
    expect(() => validateConfig(input)).toThrow(message);
  });

  it("takes targets with three decimals", () => {
    const cfg = validateConfig({
      defaultServiceLevelTarget: 99.995,
      classes: [{ id: "web", serviceLevelTarget: 7 }],
    });
    expect(cfg.defaultServiceLevelTarget).toBe(99.995);
    expect(cfg.classes[0]!.serviceLevelTarget).toBe(7);
  });
});
