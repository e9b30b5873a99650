/** The InfluxDB store's link-status minutes: read, added to and written back; read per level. */
import type { LinkStatusQuery, LinkStatusRow, SeriesLevel } from "../schema/series-store.js";
import type { InfluxClient } from "./influx-client.js";
import { anyOf, msLiteral, num, type Series, seriesRows, tag, tagEquals } from "./influx-ql.js";
import type { InfluxReadBack } from "./influx-read-back.js";
import { checkLines, LINK_STATUS } from "./influx-schema.js";
import { pointLine } from "./influx-text.js";
import { timeBound } from "./levels.js";

const DAY_MS = 86_400_000;
/** Customers per statement of `downMinutes`' minute read, and statements per request. */
const DOWN_CUSTOMERS = 200;
const STATEMENTS_PER_REQUEST = 5;

export function createInfluxLinkStatusRows(client: InfluxClient, readBack: InfluxReadBack) {
  const { ensureStarted, query, write, writes, fromSla, slaPolicy } = client;

  const { readKeys } = readBack;

  const linkStatusKey = (r: Omit<LinkStatusRow, "upMinutes" | "downMinutes">) =>
    `${r.level}\0${r.customer}\0${r.site}\0${r.link}\0${r.startMs}`;

  const linkStatusOf = (level: SeriesLevel, s: Series, v: Record<string, unknown>) => ({
    level,
    startMs: num(v.time),
    customer: tag(s, "customer"),
    site: tag(s, "site"),
    link: tag(s, "link"),
    upMinutes: num(v.upMinutes),
    downMinutes: num(v.downMinutes),
  });

  const linkStatusLine = (r: LinkStatusRow): [SeriesLevel, string] => [
    slaPolicy(r.level),
    pointLine({
      measurement: LINK_STATUS[r.level],
      tags: [
        ["customer", r.customer],
        ["site", r.site],
        ["link", r.link],
      ],
      fields: [
        ["upMinutes", r.upMinutes],
        ["downMinutes", r.downMinutes],
      ],
      timeMs: r.startMs,
    }),
  ];

  /** Adds link-status minutes: the stored rows of their keys read, added to, written back. */
  async function addLinkStatus(rows: readonly LinkStatusRow[]): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    const sums = new Map<string, LinkStatusRow>();
    for (const r of rows) {
      if (!(r.level in LINK_STATUS)) {
        throw new RangeError(`addLinkStatus: level ${String(r.level)}: expected 1m, 5m, 1h, 1d`);
      }
      const k = linkStatusKey(r);
      const was = sums.get(k);
      if (was === undefined) sums.set(k, { ...r });
      else {
        was.upMinutes += r.upMinutes;
        was.downMinutes += r.downMinutes;
      }
    }
    checkLines("addLinkStatus", [...sums.values()], (r) => linkStatusLine(r)[1]);
    await writes(async () => {
      const stored = await readKeys(
        [...sums.values()],
        (level) => `SELECT upMinutes, downMinutes FROM ${fromSla(level, LINK_STATUS)}`,
        linkStatusOf,
        linkStatusKey,
      );
      for (const have of stored) {
        const row = sums.get(linkStatusKey(have))!;
        row.upMinutes += have.upMinutes;
        row.downMinutes += have.downMinutes;
      }
      await write([...sums.values()].map(linkStatusLine));
    });
  }

  const readLinkStatus = (keys: readonly LinkStatusRow[]) =>
    readKeys(
      keys,
      (level) => `SELECT upMinutes, downMinutes FROM ${fromSla(level, LINK_STATUS)}`,
      linkStatusOf,
      linkStatusKey,
    );

  /** Puts link-status totals: a point per key, replacing the stored one (idempotent). */
  async function putLinkStatus(rows: readonly LinkStatusRow[]): Promise<void> {
    ensureStarted();
    for (const r of rows) {
      if (!(r.level in LINK_STATUS)) {
        throw new RangeError(`putLinkStatus: level ${String(r.level)}: expected 1m, 5m, 1h, 1d`);
      }
    }
    checkLines("putLinkStatus", rows, (r) => linkStatusLine(r)[1]);
    if (rows.length > 0) await writes(() => write(rows.map(linkStatusLine)));
  }

  async function linkStatus(q: LinkStatusQuery): Promise<LinkStatusRow[]> {
    ensureStarted();
    if (!(q.level in LINK_STATUS)) {
      throw new RangeError(`linkStatus: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const where = [
      tagEquals("customer", q.customer),
      `time >= ${msLiteral(timeBound("linkStatus: fromMs", q.fromMs))}`,
      `time < ${msLiteral(timeBound("linkStatus: toMs", q.toMs))}`,
    ];
    if (q.site !== undefined) where.push(tagEquals("site", q.site));
    if (q.link !== undefined) where.push(tagEquals("link", q.link));
    const [result] = await query([
      `SELECT upMinutes, downMinutes FROM ${fromSla(q.level, LINK_STATUS)} WHERE ${where.join(" AND ")} GROUP BY "customer", "site", "link"`,
    ]);
    const out: LinkStatusRow[] = [];
    for (const s of result?.series ?? []) {
      for (const v of seriesRows(s)) out.push(linkStatusOf(q.level, s, v));
    }
    return out.sort((a, b) =>
      a.startMs !== b.startMs
        ? a.startMs - b.startMs
        : a.site !== b.site
          ? a.site < b.site
            ? -1
            : 1
          : a.link < b.link
            ? -1
            : a.link > b.link
              ? 1
              : 0,
    );
  }

  /**
   * Every customer's 1-minute rows with a down minute: the days with one found first (1d rows:
   * one point per link and day, where a field condition over every 1-minute point of 100 000
   * links outlasts the client's timeout), then the minutes of those customers only, in
   * statements of DOWN_CUSTOMERS customers, a few a request.
   */
  async function downMinutes(q: { fromMs: number; toMs: number }): Promise<LinkStatusRow[]> {
    ensureStarted();
    const from = timeBound("downMinutes: fromMs", q.fromMs);
    const to = timeBound("downMinutes: toMs", q.toMs);
    const [days] = await query([
      `SELECT downMinutes FROM ${fromSla("1d", LINK_STATUS)} WHERE time >= ${msLiteral(Math.floor(from / DAY_MS) * DAY_MS)} AND time < ${msLiteral(to)} AND "downMinutes" > 0 GROUP BY "customer"`,
    ]);
    const customers = [...new Set((days?.series ?? []).map((s) => tag(s, "customer")))].sort();
    const statements: string[] = [];
    for (let at = 0; at < customers.length; at += DOWN_CUSTOMERS) {
      const where = [
        `time >= ${msLiteral(from)}`,
        `time < ${msLiteral(to)}`,
        anyOf("customer", customers.slice(at, at + DOWN_CUSTOMERS)),
        `"downMinutes" > 0`,
      ];
      statements.push(
        `SELECT upMinutes, downMinutes FROM ${fromSla("1m", LINK_STATUS)} WHERE ${where.join(" AND ")} GROUP BY "customer", "site", "link"`,
      );
    }
    const out: LinkStatusRow[] = [];
    for (let at = 0; at < statements.length; at += STATEMENTS_PER_REQUEST) {
      for (const result of await query(statements.slice(at, at + STATEMENTS_PER_REQUEST))) {
        for (const s of result.series ?? []) {
          for (const v of seriesRows(s)) out.push(linkStatusOf("1m", s, v));
        }
      }
    }
    return out;
  }

  return { addLinkStatus, putLinkStatus, readLinkStatus, linkStatus, downMinutes };
}
