import { describe, expect, it } from "vitest";
import { type OverviewRow, overviewCsv } from "./overview.js";

const row = (name: string): OverviewRow => ({
  customer: "c1",
  name,
  serviceType: "business",
  bytesIn: 1,
  bytesOut: 2,
  packetsIn: 3,
  packetsOut: 4,
  flows: 5,
});

/** The name cell of a one-row CSV, as written. */
const nameCell = (name: string) =>
  overviewCsv([row(name)])
    .split("\r\n")[1]!
    .slice("c1,".length, -",business,1,2,3,4,5".length);

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
