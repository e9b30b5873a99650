/**
 * The flowtally side shared by the side-by-side benches (end-to-end.ts, packets-end-to-end.ts):
 * where the built CLI is, and the per-customer totals it stored, read back with
 * `flowtally query overview --format json`, in the same shape as the peer's totals.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { GeneratedCustomer, GroundTruth, TrafficTotals } from "./flow-generator.js";
import type { CollectorTotals } from "./nfacctd.js";

const execFileAsync = promisify(execFile);

/** dist/cli/flowtally.js next to this bench's own build. */
export function flowtallyCli(): string {
  return fileURLToPath(new URL("../cli/flowtally.js", import.meta.url));
}

interface OverviewJson {
  rows: Array<{
    customer: string;
    bytesIn: number;
    bytesOut: number;
    packetsIn: number;
    packetsOut: number;
    flows: number;
  }>;
}

/** The overview over [fromIso, toIso) as per-customer totals (unattributed summed apart). */
export async function flowtallyTotals(
  configPath: string,
  customers: readonly GeneratedCustomer[],
  fromIso: string,
  toIso: string,
): Promise<CollectorTotals> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      flowtallyCli(),
      "query",
      "overview",
      "--config",
      configPath,
      "--from",
      fromIso,
      "--to",
      toIso,
      "--format",
      "json",
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  let parsed: OverviewJson;
  try {
    parsed = JSON.parse(stdout) as OverviewJson;
  } catch {
    throw new Error(`flowtally query overview did not print JSON: ${stdout.slice(0, 300)}`);
  }
  const known = new Set(customers.map((c) => c.id));
  const totals = new Map<string, TrafficTotals>();
  const unattributed = { bytes: 0, packets: 0, flows: 0 };
  const unknown: string[] = [];
  for (const r of parsed.rows) {
    if (known.has(r.customer)) {
      const { bytesIn, bytesOut, packetsIn, packetsOut, flows } = r;
      totals.set(r.customer, { bytesIn, bytesOut, packetsIn, packetsOut, flows });
    } else if (r.customer === "unattributed") {
      unattributed.bytes += r.bytesIn + r.bytesOut;
      unattributed.packets += r.packetsIn + r.packetsOut;
      unattributed.flows += r.flows;
    } else unknown.push(r.customer);
  }
  return { customers: totals, unattributed, unknownNetworks: unknown };
}

export interface Comparison {
  /** Customers whose stored in/out bytes and packets equal the ground truth exactly. */
  exactCustomers: number;
  customers: number;
  /** Share of the true customer bytes / packets / flows that is missing (negative: extra). */
  bytesLoss: number;
  packetsLoss: number;
  flowsLoss: number;
  unattributedBytesLoss: number;
}

/** Stored per-customer totals against the generator's ground truth. */
export function compare(truth: GroundTruth, stored: CollectorTotals): Comparison {
  let exact = 0;
  const t = { bytes: 0, packets: 0, flows: 0 };
  const s = { bytes: 0, packets: 0, flows: 0 };
  const zero: TrafficTotals = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 };
  for (const [id, want] of truth.customers) {
    const got = stored.customers.get(id) ?? zero;
    t.bytes += want.bytesIn + want.bytesOut;
    t.packets += want.packetsIn + want.packetsOut;
    t.flows += want.flows;
    s.bytes += got.bytesIn + got.bytesOut;
    s.packets += got.packetsIn + got.packetsOut;
    s.flows += got.flows;
    if (
      got.bytesIn === want.bytesIn &&
      got.bytesOut === want.bytesOut &&
      got.packetsIn === want.packetsIn &&
      got.packetsOut === want.packetsOut
    )
      exact++;
  }
  const loss = (want: number, got: number) => (want === 0 ? 0 : (want - got) / want);
  return {
    exactCustomers: exact,
    customers: truth.customers.size,
    bytesLoss: loss(t.bytes, s.bytes),
    packetsLoss: loss(t.packets, s.packets),
    flowsLoss: loss(t.flows, s.flows),
    unattributedBytesLoss: loss(truth.unattributed.bytes, stored.unattributed.bytes),
  };
}
