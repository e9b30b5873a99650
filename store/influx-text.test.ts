import { describe, expect, it } from "vitest";
import {
  escapeKey,
  escapeMeasurement,
  LineProtocolError,
  pointLine,
  quoteIdentifier,
  quoteString,
} from "./influx-text.js";

describe("InfluxDB line protocol", () => {
  it("writes a point with tags, float fields and ms time", () => {
    expect(
      pointLine({
        measurement: "traffic_1m",
        tags: [
          ["customer", "acme"],
          ["site", "hq"],
          ["direction", "in"],
        ],
        fields: [
          ["bytes", 1500],
          ["packets", 3],
          ["flows", 0.5],
        ],
        timeMs: Date.UTC(2026, 10, 22, 10),
      }),
    ).toBe(
      "traffic_1m,customer=acme,site=hq,direction=in bytes=1500,packets=3,flows=0.5 1795341600000",
    );
  });

  it("escapes commas, spaces and equals signs where the reference says, and leaves out empty tags", () => {
    expect(escapeMeasurement("a b,c=d")).toBe("a\\ b\\,c=d");
    expect(escapeKey("a b,c=d")).toBe("a\\ b\\,c\\=d");
    expect(
      pointLine({
        measurement: "m",
        tags: [
          ["customer", "unattributed"],
          ["site", ""],
          ["name", "Bob's shop, 2nd=floor"],
        ],
        fields: [["bytes", 1]],
        timeMs: 0,
      }),
    ).toBe("m,customer=unattributed,name=Bob's\\ shop\\,\\ 2nd\\=floor bytes=1 0");
  });

  it("refuses what line protocol cannot carry instead of writing a broken or injected line", () => {
    const p = {
      measurement: "m",
      tags: [] as Array<[string, string]>,
      fields: [["b", 1]] as Array<[string, number]>,
      timeMs: 0,
    };
    expect(() => pointLine({ ...p, tags: [["customer", "x\nm2 b=1 0"]] })).toThrow(
      LineProtocolError,
    );
    expect(() => pointLine({ ...p, tags: [["customer", "x\\"]] })).toThrow(/backslash/);
    expect(() => pointLine({ ...p, measurement: "" })).toThrow(/empty/);
    expect(() => pointLine({ ...p, fields: [] })).toThrow(/at least one field/);
    expect(() => pointLine({ ...p, fields: [["b", Number.NaN]] })).toThrow(/finite/);
    expect(() => pointLine({ ...p, timeMs: 1.5 })).toThrow(/whole milliseconds/);
  });
});

describe("InfluxQL quoting", () => {
  it("keeps hostile strings inside their quotes", () => {
    expect(quoteString("acme")).toBe("'acme'");
    expect(quoteString("x' OR 1=1; DROP DATABASE flowtally; --")).toBe(
      "'x\\' OR 1=1; DROP DATABASE flowtally; --'",
    );
    expect(quoteString("a\\'b")).toBe("'a\\\\\\'b'");
    expect(quoteIdentifier('tr"affic')).toBe('"tr\\"affic"');
    expect(quoteIdentifier("a\\")).toBe('"a\\\\"');
  });
});
