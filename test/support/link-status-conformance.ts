/**
 * The link-status series' conformance suite (sla/link-status.ts,
 * docs/series-schema.md#link-status-series): additive rows at every level, read back by customer,
 * site and link, purged with the customer. Run by store/duckdb-store.test.ts and
 * store/influx-store.test.ts against real stores.
 */
import { describe, expect, it } from "vitest";
import type { LinkStatusRow, SeriesStore } from "../../schema/series-store.js";
import { linkStatusRows } from "../../sla/link-status.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

export function describeLinkStatusConformance(
  name: string,
  options: { open(): Promise<SeriesStore>; t0: number },
): void {
  const { t0 } = options;
  const l1 = { customer: "acme", site: "s1", link: "l1" };
  const l2 = { customer: "acme", site: "s1", link: "l2" };
  const other = { customer: "beta", site: "s1", link: "l1" };
  const short = (rows: readonly LinkStatusRow[]) =>
    rows.map((r) => [r.link, (r.startMs - t0) / MINUTE, r.upMinutes, r.downMinutes]);

  describe(`${name}: link-status series`, () => {
    it("adds minutes at every level, reads them by customer, link and time", async () => {
      const store = await options.open();
      await store.addLinkStatus([
        ...linkStatusRows(l1, t0, false),
        ...linkStatusRows(l1, t0 + MINUTE, true),
        ...linkStatusRows(l1, t0 + 2 * MINUTE, false),
        ...linkStatusRows(l2, t0, false),
        ...linkStatusRows(other, t0, true),
      ]);
      // A second write adds to the rows (a late minute's down, to the same 5-minute row).
      await store.addLinkStatus(linkStatusRows(l1, t0 + 2 * MINUTE, true));
      const range = { customer: "acme", fromMs: t0, toMs: t0 + 10 * MINUTE };
      expect(short(await store.linkStatus({ ...range, level: "1m" }))).toEqual([
        ["l1", 0, 1, 0],
        ["l2", 0, 1, 0],
        ["l1", 1, 0, 1],
        ["l1", 2, 1, 1],
      ]);
      expect(short(await store.linkStatus({ ...range, level: "5m", link: "l1" }))).toEqual([
        ["l1", 0, 2, 2],
      ]);
      expect(
        short(await store.linkStatus({ ...range, level: "1d", site: "s1", link: "l2" })),
      ).toEqual([["l2", 0, 1, 0]]);
      expect(
        await store.linkStatus({
          ...range,
          fromMs: t0 + MINUTE,
          toMs: t0 + 2 * MINUTE,
          level: "1m",
        }),
      ).toEqual([{ level: "1m", startMs: t0 + MINUTE, ...l1, upMinutes: 0, downMinutes: 1 }]);
      // Every customer's down minutes at once (the breach list): l1's minutes 1 and 2, beta's 0.
      const down = await store.downMinutes({ fromMs: t0, toMs: t0 + 10 * MINUTE });
      expect(
        down.map((r) => [r.customer, ...short([r])[0]!]).sort((a, b) => (a < b ? -1 : 1)),
      ).toEqual([
        ["acme", "l1", 1, 0, 1],
        ["acme", "l1", 2, 1, 1],
        ["beta", "l1", 0, 0, 1],
      ]);
      expect(await store.downMinutes({ fromMs: t0 + 3 * MINUTE, toMs: t0 + DAY })).toEqual([]);
      await store.purgeCustomer("acme");
      expect(await store.linkStatus({ ...range, level: "1m" })).toEqual([]);
      expect(short(await store.linkStatus({ ...range, customer: "beta", level: "1h" }))).toEqual([
        ["l1", 0, 0, 1],
      ]);
    });

    it("puts absolute totals: the stored values replaced, the same put twice the same state", async () => {
      const store = await options.open();
      const at = (startMs: number, up: number, down: number, level: LinkStatusRow["level"]) => ({
        ...other,
        level,
        startMs,
        upMinutes: up,
        downMinutes: down,
      });
      await store.addLinkStatus(linkStatusRows(other, t0 + 20 * MINUTE, false));
      for (let k = 0; k < 2; k++) {
        await store.putLinkStatus([
          at(t0 + 20 * MINUTE, 0, 1, "1m"),
          at(t0 + 21 * MINUTE, 1, 0, "1m"),
          at(t0 + 20 * MINUTE, 3, 2, "5m"),
        ]);
      }
      // One call holding a key twice: a put keeps the last row, an add sums them.
      await store.putLinkStatus([
        at(t0 + 40 * MINUTE, 1, 0, "1m"),
        at(t0 + 40 * MINUTE, 0, 1, "1m"),
      ]);
      await store.addLinkStatus([
        at(t0 + 41 * MINUTE, 1, 0, "1m"),
        at(t0 + 41 * MINUTE, 0, 1, "1m"),
      ]);
      await store.addLinkStatus([at(t0 + 41 * MINUTE, 1, 0, "1m")]);
      expect(
        short(
          await store.linkStatus({
            customer: "beta",
            fromMs: t0 + 40 * MINUTE,
            toMs: t0 + 42 * MINUTE,
            level: "1m",
          }),
        ),
      ).toEqual([
        ["l1", 40, 0, 1],
        ["l1", 41, 2, 1],
      ]);
      const range = { customer: "beta", fromMs: t0 + 20 * MINUTE, toMs: t0 + 25 * MINUTE };
      expect(short(await store.linkStatus({ ...range, level: "1m" }))).toEqual([
        ["l1", 20, 0, 1],
        ["l1", 21, 1, 0],
      ]);
      expect(short(await store.linkStatus({ ...range, level: "5m" }))).toEqual([["l1", 20, 3, 2]]);
      // Read back by key: only the keys stored, whatever counts the keys carry.
      const read = await store.readLinkStatus([
        at(t0 + 21 * MINUTE, 0, 0, "1m"),
        at(t0 + 22 * MINUTE, 0, 0, "1m"),
        at(t0 + 20 * MINUTE, 0, 0, "5m"),
        { ...at(t0 + 20 * MINUTE, 0, 0, "1m"), link: "l9" },
      ]);
      expect(short(read).sort()).toEqual([
        ["l1", 20, 3, 2],
        ["l1", 21, 1, 0],
      ]);
    });

    it("refuses a level it does not have, naming it", async () => {
      const store = await options.open();
      const bad = [{ ...l1, level: "2m" as "1m", startMs: t0, upMinutes: 1, downMinutes: 0 }];
      await expect(store.addLinkStatus(bad)).rejects.toThrow(/level 2m/);
      await expect(store.putLinkStatus(bad)).rejects.toThrow(/level 2m/);
    });
  });
}
