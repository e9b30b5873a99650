/**
 * Test support: per-customer reference totals from the tshark figures of the fixtures, with
 * ownership decided by node's own BlockList (independent of flowtally's prefix table).
 */
import { readFileSync } from "node:fs";
import { BlockList, isIPv6 } from "node:net";
import { join } from "node:path";
import type { GroundTruth } from "../../bench/flow-generator.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";

export interface Totals {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

const fixtures = new URL("../fixtures/", import.meta.url).pathname;

/** address → the id of the customer whose prefixes contain it (prefixes must not overlap). */
export function prefixOwner(
  customers: Record<string, string[]>,
): (a: string) => string | undefined {
  const list = Object.entries(customers).map(([id, prefixes]) => {
    const b = new BlockList();
    for (const p of prefixes) {
      const [a, l] = p.split("/") as [string, string];
      b.addSubnet(a, Number(l), isIPv6(a) ? "ipv6" : "ipv4");
    }
    return { id, b };
  });
  return (a) => list.find((o) => o.b.check(a, isIPv6(a) ? "ipv6" : "ipv4"))?.id;
}

/**
 * Per customer, the sums of (src, dst, packets, bytes) pairs: a pair counts `in` for the owner of
 * dst and `out` for the owner of src. Adds into `out` and returns it.
 */
export function addPairs(
  owner: (a: string) => string | undefined,
  pairs: Iterable<readonly [string, string, number, number]>,
  out: Record<string, Totals> = {},
): Record<string, Totals> {
  const get = (id: string) => {
    out[id] ??= { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
    return out[id];
  };
  for (const [srcAddress, dstAddress, packets, bytes] of pairs) {
    const [src, dst] = [owner(srcAddress), owner(dstAddress)];
    if (dst !== undefined) {
      get(dst).bytesIn += bytes;
      get(dst).packetsIn += packets;
    }
    if (src !== undefined) {
      get(src).bytesOut += bytes;
      get(src).packetsOut += packets;
    }
  }
  return out;
}

/** The "tshark ip.len" (src, dst, packets, bytes) pairs of test/fixtures/exporters/compare__C.csv. */
export function tsharkPairs(capture: string): Array<[string, string, number, number]> {
  const lines = readFileSync(join(fixtures, `exporters/compare__${capture}.csv`), "utf8")
    .trim()
    .split("\n");
  const header = lines[0]!.split(",");
  const pk = header.indexOf("tshark ip.len pkts");
  const by = header.indexOf("tshark ip.len bytes");
  return lines.slice(1).map((line) => {
    const f = line.split(",");
    return [f[0]!, f[1]!, Number(f[pk]), Number(f[by])];
  });
}

/** Every customer's stored totals of all time in the embedded store at `path`, unattributed left out. */
export async function storedTotals(path: string): Promise<Record<string, Totals>> {
  const store = createDuckDbStore({ path });
  await store.start();
  try {
    const rows = await store.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
    const got: Record<string, Totals> = {};
    for (const r of rows) {
      if (r.customer === "unattributed") continue;
      const { bytesIn, bytesOut, packetsIn, packetsOut } = r;
      got[r.customer] = { bytesIn, bytesOut, packetsIn, packetsOut };
    }
    return got;
  } finally {
    await store.stop();
  }
}

/** The generators' per-customer ground truth, summed over several generators. */
export function combineTruths(truths: readonly GroundTruth[]) {
  const out = new Map<string, Totals & { flows: number }>();
  for (const t of truths) {
    for (const [id, c] of t.customers) {
      const o = out.get(id) ?? { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 };
      o.bytesIn += c.bytesIn;
      o.bytesOut += c.bytesOut;
      o.packetsIn += c.packetsIn;
      o.packetsOut += c.packetsOut;
      o.flows += c.flows;
      out.set(id, o);
    }
  }
  return out;
}
