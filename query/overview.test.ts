import { describe, expect, it } from "vitest";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { validateConfig } from "../config/load-config.js";
import {
  averageBps,
  buildOverview,
  type OverviewRow,
  overviewCsv,
  overviewTable,
  rateSpanMs,
} from "./overview.js";

const row = (name: string): OverviewRow => ({
  customer: "c1",
  name,
  serviceType: "business",
  bytesIn: 1,
  bytesOut: 2,
  packetsIn: 3,
  packetsOut: 4,
  flows: 5,
  bpsIn: 6,
  bpsOut: 7,
});

/** The name cell of a one-row CSV, as written. */
const nameCell = (name: string) =>
  overviewCsv([row(name)])
    .split("\r\n")[1]!
    .slice("c1,".length, -",business,1,2,3,4,5,6,7".length);

describe("overviewCsv", () => {
  it("defuses cells that start with = + - @ (CSV injection)", () => {
    expect(nameCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(nameCell("+1")).toBe("'+1");
    expect(nameCell("-1+2")).toBe("'-1+2");
    expect(nameCell("@SUM(A1)")).toBe("'@SUM(A1)");
  });

  it("defuses cells that start with TAB, CR, LF or NUL", () => {
    expect(nameCell("\t=1+1")).toBe("'\t=1+1");
    expect(nameCell("\tplain")).toBe("'\tplain");
    // CR and LF need quoting as well: the ' goes inside the quotes.
    expect(nameCell("\r=1+1")).toBe('"\'\r=1+1"');
    expect(nameCell("\n=1+1")).toBe('"\'\n=1+1"');
    expect(nameCell("\0x")).toBe("'\0x");
  });

  it("defuses a formula behind leading whitespace or quotes", () => {
    expect(nameCell(" =1+1")).toBe("' =1+1");
    expect(nameCell("\u00a0\u3000+1")).toBe("'\u00a0\u3000+1");
    expect(nameCell('"=1+1"')).toBe(`"'""=1+1"""`);
    expect(nameCell("'=1+1")).toBe("''=1+1");
    expect(nameCell(` "' @x`)).toBe(`"' ""' @x"`);
  });

  it("leaves other text and the numbers alone", () => {
    expect(nameCell("Acme")).toBe("Acme");
    expect(nameCell(" Acme")).toBe(" Acme");
    expect(nameCell("'quoted'")).toBe("'quoted'");
    expect(nameCell("a=b")).toBe("a=b");
    expect(nameCell("Acme, Inc.")).toBe('"Acme, Inc."');
    expect(overviewCsv([{ ...row("x"), bytesIn: -1 }])).toContain(",business,-1,2,");
  });
});

describe("the overview's rates", () => {
  const MIN = 60_000;
  /** 2026-11-22T00:00:00Z */
  const T0 = Date.UTC(2026, 10, 22);
  const model = buildCustomerModel(
    validateConfig({
      customers: [
        {
          id: "a",
          name: "A",
          serviceType: "business",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["198.51.100.0/28"] }] }],
        },
        {
          id: "b",
          name: "B",
          serviceType: "retail",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["198.51.100.16/28"] }] }],
        },
      ],
    }),
  );
  const totals = [
    { customer: "a", bytesIn: 3_600_000, bytesOut: 45_000, packetsIn: 1, packetsOut: 1, flows: 1 },
    { customer: "b", bytesIn: 900_000, bytesOut: 90_000, packetsIn: 1, packetsOut: 1, flows: 1 },
  ];

  it("averages over the whole period once it has ended", () => {
    // [00:00, 01:00) asked at 05:00: 3 600 s.
    const span = rateSpanMs(T0, T0 + 60 * MIN, T0 + 300 * MIN);
    expect(span).toBe(3_600_000);
    const rows = buildOverview(model, totals, { sort: "bytesIn", order: "desc", rateSpanMs: span });
    // a: 3 600 000 B × 8 / 3 600 s = 8 000 bit/s; 45 000 × 8 / 3 600 = 100.
    expect(rows.map((r) => [r.customer, r.bpsIn, r.bpsOut])).toEqual([
      ["a", 8_000, 100],
      ["b", 2_000, 200],
    ]);
  });

  it("averages a running period over the time elapsed, not over its future part", () => {
    // Today [00:00, 24:00) asked at 00:15:00: 900 s have passed.
    const span = rateSpanMs(T0, T0 + 1440 * MIN, T0 + 15 * MIN);
    expect(span).toBe(900_000);
    const rows = buildOverview(model, totals, { sort: "customer", order: "asc", rateSpanMs: span });
    // a: 3 600 000 × 8 / 900 = 32 000 bit/s; b: 900 000 × 8 / 900 = 8 000, 90 000 × 8 / 900 = 800.
    expect(rows.map((r) => [r.customer, r.bpsIn, r.bpsOut])).toEqual([
      ["a", 32_000, 400],
      ["b", 8_000, 800],
    ]);
    // Not begun yet: no time covered, rates 0 (not a division by zero).
    expect(rateSpanMs(T0 + 60 * MIN, T0 + 120 * MIN, T0)).toBe(0);
    expect(averageBps(1000, 0)).toBe(0);
    // A span that is not whole seconds: 1 000 B over 1.5 s is 5 333.33… bit/s.
    expect(averageBps(1000, 1500)).toBeCloseTo(16_000 / 3, 9);
  });

  it("sorts by a rate, either way", () => {
    const span = 3_600_000;
    const ids = (sort: "bpsIn" | "bpsOut", order: "asc" | "desc") =>
      buildOverview(model, totals, { sort, order, rateSpanMs: span }).map((r) => r.customer);
    expect(ids("bpsOut", "desc")).toEqual(["b", "a"]);
    expect(ids("bpsOut", "asc")).toEqual(["a", "b"]);
    expect(ids("bpsIn", "desc")).toEqual(["a", "b"]);
  });

  it("writes the CSV's chosen columns in the order given, and the rates in the table", () => {
    const rows = buildOverview(model, totals, {
      sort: "bpsIn",
      order: "desc",
      rateSpanMs: 3_600_000,
    });
    expect(overviewCsv(rows, ["bpsOut", "customer", "bytesIn"])).toBe(
      "bpsOut,customer,bytesIn\r\n100,a,3600000\r\n200,b,900000\r\n",
    );
    const table = overviewTable(rows).split("\n");
    expect(table[0]).toMatch(/flows +bpsIn +bpsOut$/);
    expect(table[1]).toMatch(/8\.00 kbit\/s +100 bit\/s$/);
  });
});
