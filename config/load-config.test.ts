import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "../schema/config.js";
import { isFlowtallyError } from "../schema/errors.js";
import { loadConfigFile, parseConfigText } from "./load-config.js";

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
    expect(parseConfigText("")).toEqual(cfg);
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
