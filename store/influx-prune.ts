/** The InfluxDB store's deletions: points past retention, and every point of one customer. */
import type { SeriesLevel } from "../schema/series-store.js";
import { BILLING_PROFILE } from "./influx-billing-profiles.js";
import type { InfluxClient } from "./influx-client.js";
import { msLiteral, num, tagEquals } from "./influx-ql.js";
import { LINK_STATUS, RESPONSE, SLA, TRAFFIC } from "./influx-schema.js";
import { quoteIdentifier } from "./influx-text.js";
import { LEVEL_NAMES } from "./levels.js";

export function createInfluxPrune(client: InfluxClient) {
  const { config, log, ensureStarted, request, query, writes, from, fromSla } = client;

  async function prune(
    before: Partial<Readonly<Record<SeriesLevel, number>>>,
  ): Promise<Record<SeriesLevel, number>> {
    ensureStarted();
    const deleted: Record<SeriesLevel, number> = { "1m": 0, "5m": 0, "1h": 0, "1d": 0 };
    const cutoffs: Array<[SeriesLevel, number]> = [];
    for (const level of LEVEL_NAMES) {
      const ms = before[level];
      if (ms === undefined || ms === Number.NEGATIVE_INFINITY) continue;
      if (!Number.isFinite(ms)) throw new RangeError(`prune ${level}: ${ms} is not a time`);
      cutoffs.push([level, Math.floor(ms)]);
    }
    if (cutoffs.length === 0) return deleted;
    if (config.api === "v2") {
      log.info(
        { levels: cutoffs.map(([l]) => l) },
        "store.influx (v2): rows are not deleted by flowtally; the bucket's retention period applies",
      );
      return deleted;
    }
    await writes(async () => {
      for (const [level, ms] of cutoffs) {
        const time = `time < ${msLiteral(ms)}`;
        // DELETE says nothing of what it removed: the rows are counted first. DELETE takes no
        // retention policy: it deletes from every policy of the database.
        const [counted] = await query([
          `SELECT count(bytes) FROM ${from(TRAFFIC, level)} WHERE ${time}`,
        ]);
        deleted[level] = num(counted?.series?.[0]?.values[0]?.[1]);
        // SLA minutes are kept as long as the 5-minute rows (a month's report needs them).
        const sla = level === "5m" ? ["1m", "5m"] : level === "1m" ? [] : [level];
        await query([
          `DELETE FROM ${quoteIdentifier(TRAFFIC[level])} WHERE ${time}`,
          `DELETE FROM ${quoteIdentifier(RESPONSE[level])} WHERE ${time}`,
          ...(sla as SeriesLevel[]).flatMap((l) => [
            `DELETE FROM ${quoteIdentifier(SLA[l])} WHERE ${time}`,
            `DELETE FROM ${quoteIdentifier(LINK_STATUS[l])} WHERE ${time}`,
          ]),
        ]);
      }
    });
    return deleted;
  }

  /**
   * One customer's series, every level, traffic and response times: counted first (DROP SERIES
   * and the v2 delete say nothing of what they removed), then v1 `DROP SERIES … WHERE customer`,
   * v2 the delete API with a `customer="…"` predicate over all time. Answers the points counted
   * per measurement.
   */
  async function purgeCustomer(customer: string): Promise<Record<string, number>> {
    ensureStarted();
    const removed: Record<string, number> = {};
    await writes(async () => {
      const who = tagEquals("customer", customer);
      const counted = await query(
        LEVEL_NAMES.flatMap((level) => [
          `SELECT count(bytes) FROM ${from(TRAFFIC, level)} WHERE ${who}`,
          `SELECT count(transactions) FROM ${from(RESPONSE, level)} WHERE ${who}`,
        ]),
      );
      LEVEL_NAMES.forEach((level, k) => {
        removed[TRAFFIC[level]] = num(counted[2 * k]?.series?.[0]?.values[0]?.[1]);
        removed[RESPONSE[level]] = num(counted[2 * k + 1]?.series?.[0]?.values[0]?.[1]);
      });
      const sla = await query(
        LEVEL_NAMES.map(
          (level) => `SELECT count(transactions) FROM ${fromSla(level)} WHERE ${who}`,
        ),
      );
      LEVEL_NAMES.forEach((level, k) => {
        removed[SLA[level]] = num(sla[k]?.series?.[0]?.values[0]?.[1]);
      });
      const status = await query(
        LEVEL_NAMES.map(
          (level) => `SELECT count(upMinutes) FROM ${fromSla(level, LINK_STATUS)} WHERE ${who}`,
        ),
      );
      LEVEL_NAMES.forEach((level, k) => {
        removed[LINK_STATUS[level]] = num(status[k]?.series?.[0]?.values[0]?.[1]);
      });
      const profiles = await query([
        `SELECT count(profile) FROM ${from(BILLING_PROFILE, "1d")} WHERE ${who}`,
      ]);
      removed.billing_profiles = num(profiles[0]?.series?.[0]?.values[0]?.[1]);
      if (config.api === "v1") {
        const names = LEVEL_NAMES.flatMap((l) => [TRAFFIC[l], RESPONSE[l], SLA[l], LINK_STATUS[l]])
          .concat(BILLING_PROFILE["1d"])
          .map(quoteIdentifier);
        await query([`DROP SERIES FROM ${names.join(", ")} WHERE ${who}`]);
        return;
      }
      // The delete predicate's string literal: double quotes, with " and \ escaped.
      const literal = `"${customer.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
      for (const level of LEVEL_NAMES) {
        for (const measurement of [
          TRAFFIC[level],
          RESPONSE[level],
          SLA[level],
          LINK_STATUS[level],
          ...(level === "1d" ? [BILLING_PROFILE["1d"]] : []),
        ]) {
          await request(
            "write",
            "/api/v2/delete",
            { org: config.org, bucket: config.bucket },
            JSON.stringify({
              start: "1677-09-21T00:12:44Z",
              stop: "2262-04-11T23:47:16Z",
              predicate: `_measurement="${measurement}" AND customer=${literal}`,
            }),
            "application/json",
          );
        }
      }
    });
    return removed;
  }

  return { prune, purgeCustomer };
}
