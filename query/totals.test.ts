import { describe, expect, it } from "vitest";
import { csvTable, exactParts, totalsCsv, totalsRows } from "./totals.js";

const t = (iso: string) => Date.parse(iso);
const shown = (parts: ReturnType<typeof exactParts>) =>
  parts.map((p) => [new Date(p.fromMs).toISOString().slice(11, 16), p.step]);

describe("exact totals", () => {
  it("reads whole hours from the hourly rows only where they ended by coarseUntil", () => {
    const r = { fromMs: t("2026-11-22T09:30:00Z"), toMs: t("2026-11-22T13:20:00Z") };
    expect(shown(exactParts(r))).toEqual([
      ["09:30", "1m"],
      ["10:00", "1h"],
      ["13:00", "1m"],
    ]);
    // Coarse rows complete until 12:10: the hour 12-13 comes from the minutes.
    expect(shown(exactParts(r, t("2026-11-22T12:10:00Z")))).toEqual([
      ["09:30", "1m"],
      ["10:00", "1h"],
      ["12:00", "1m"],
    ]);
    expect(exactParts(r, t("2026-11-22T10:10:00Z"))).toEqual([{ ...r, step: "1m" }]);
  });

  it("gives each class its share of the bytes, largest first, and null without bytes", () => {
    const sums = (bytesIn: number, bytesOut: number) => ({
      bytesIn,
      bytesOut,
      packetsIn: 1,
      packetsOut: 1,
    });
    const rows = totalsRows(
      "class",
      [
        { key: { class: "mail" }, sums: sums(100, 100) },
        { key: { class: "web" }, sums: sums(500, 100) },
        { key: { class: "dns" }, sums: sums(100, 100) },
      ],
      60_000,
    );
    // By hand: 1000 bytes in all; web 600 = 0.6, the ties of 200 (0.2) by id.
    expect(rows.map((r) => [r.class, r.share])).toEqual([
      ["web", 0.6],
      ["dns", 0.2],
      ["mail", 0.2],
    ]);
    expect(rows[0]!.bpsIn).toBe((500 * 8) / 60);
    expect(
      totalsRows("class", [{ key: { class: "web" }, sums: sums(0, 0) }], 60_000)[0]!.share,
    ).toBe(null);
    expect(totalsCsv("class", "a", "b", rows.slice(0, 1))).toBe(
      "from,to,class,bytesIn,bytesOut,packetsIn,packetsOut,share,bpsIn,bpsOut\r\na,b,web,500,100,1,1,0.6,66.66666666666667,13.333333333333334\r\n",
    );
  });

  it("writes CSV cells a spreadsheet cannot run", () => {
    expect(csvTable(["a", "b"], [{ a: "=1+1", b: 'x,"y"' }])).toBe('a,b\r\n\'=1+1,"x,""y"""\r\n');
  });
});
