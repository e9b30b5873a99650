/**
 * The InfluxDB store's billing-profile versions (sla/billing-profile.ts,
 * docs/series-schema.md#billing-profiles): measurement `billing_profile`, tag `customer`, string
 * field `profile` (JSON), time the moment the version came into force. A point written again with
 * the same customer and time replaces the stored one, so processes storing the same version write
 * the same point. Written to and read from the 1d level's retention policy (the one kept longest).
 */
import type {
  BillingProfileQuery,
  BillingProfileRow,
  SeriesLevel,
} from "../schema/series-store.js";
import type { InfluxClient } from "./influx-client.js";
import { seriesRows, tag, tagEquals } from "./influx-ql.js";
import { escapeKey, escapeMeasurement } from "./influx-text.js";
import { timeBound } from "./levels.js";

const NAME = "billing_profile";
/** The measurement by level, for the client's `from` (only 1d's retention policy is used). */
export const BILLING_PROFILE: Readonly<Record<SeriesLevel, string>> = {
  "1m": NAME,
  "5m": NAME,
  "1h": NAME,
  "1d": NAME,
};

/** A line-protocol string field value: quoted, `"` and `\` escaped (JSON has no newline left). */
function stringField(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function profileLine(r: BillingProfileRow): string {
  if (r.customer === "") throw new RangeError("putBillingProfiles: a row without a customer");
  if (/[\r\n]/.test(r.profile)) {
    throw new RangeError(`putBillingProfiles: ${r.customer}: the profile holds a line break`);
  }
  const time = timeBound("putBillingProfiles: fromMs", r.fromMs);
  return `${escapeMeasurement(NAME)},customer=${escapeKey(r.customer)} profile=${stringField(r.profile)} ${time}`;
}

export function createInfluxBillingProfiles(client: InfluxClient) {
  const { ensureStarted, query, write, writes, from } = client;

  async function putBillingProfiles(rows: readonly BillingProfileRow[]): Promise<void> {
    ensureStarted();
    const lines = rows.map((r) => ["1d", profileLine(r)] as const);
    if (lines.length > 0) await writes(() => write(lines));
  }

  async function billingProfiles(q: BillingProfileQuery): Promise<BillingProfileRow[]> {
    ensureStarted();
    const where = q.customer === undefined ? "" : ` WHERE ${tagEquals("customer", q.customer)}`;
    const field = q.latest === true ? `last("profile") AS "profile"` : `"profile"`;
    const [result] = await query([
      `SELECT ${field} FROM ${from(BILLING_PROFILE, "1d")}${where} GROUP BY "customer"`,
    ]);
    const out: BillingProfileRow[] = [];
    for (const s of result?.series ?? []) {
      const customer = tag(s, "customer");
      for (const v of seriesRows(s)) {
        if (typeof v.profile !== "string" || typeof v.time !== "number") continue;
        out.push({ customer, fromMs: v.time, profile: v.profile });
      }
    }
    return out.sort((a, b) =>
      a.customer !== b.customer ? (a.customer < b.customer ? -1 : 1) : a.fromMs - b.fromMs,
    );
  }

  return { putBillingProfiles, billingProfiles };
}
