/**
 * Test support: a generator of flow exports with known latencies. It draws individual TCP
 * transactions (client and server network half-trips, server response time, total delay, all
 * whole milliseconds) and exports them the way two kinds of exporters do:
 * - Cisco AVC ART (PEN 9 in IPFIX; the same ids without an enterprise number in NetFlow v9): one
 *   record per group of connections, with the sums over its transactions, late responses,
 *   retransmissions and (optionally) the 7-bucket response-time histogram of total delays;
 * - nProbe (IPFIX PEN 35632: 123-125; NetFlow v9: 57595-57597): one record per transaction, with
 *   CLIENT_NW_LATENCY_MS and SERVER_NW_LATENCY_MS (half round trips) and APPL_LATENCY_MS.
 * Over IPFIX (`latencyExports`) the records carry 8-byte counters and absolute millisecond times;
 * over NetFlow v9 (`latencyExportsV9`) 4-byte counters and sysUptime first/last switched, as a
 * Flexible NetFlow monitor exports them. The transactions are the ground truth a test compares
 * the stored series with.
 */
import { Bytes, type FieldSpec, ipfixMessage, record, v9Packet } from "./export-builder.js";

export interface Transaction {
  /** Half round trip client ↔ monitor, and monitor ↔ server (ms). */
  cndMs: number;
  sndMs: number;
  /** Server response (application) time, ms. */
  serverMs: number;
  /** Total delay the client waited, ms. */
  totalMs: number;
}

/** One exported record's worth of transactions. */
export interface ExportGroup {
  kind: "art" | "art-sums-only" | "nprobe";
  client: string;
  server: string;
  serverPort: number;
  /** Record end, ms since the epoch. */
  endMs: number;
  transactions: Transaction[];
  /** ART: connections the transactions were on (the first `connections` carry the handshakes). */
  connections: number;
  lateResponses: number;
  retransmissions: number;
}

const CISCO = 9;
const NTOP = 35632;

const flowKey: FieldSpec[] = [
  { id: 8, length: 4 },
  { id: 12, length: 4 },
  { id: 7, length: 2 },
  { id: 11, length: 2 },
  { id: 4, length: 1 },
  { id: 1, length: 8 },
  { id: 2, length: 8 },
  { id: 152, length: 8 },
  { id: 153, length: 8 },
];
/** NetFlow v9: 4-byte IN_BYTES / IN_PKTS, FIRST_SWITCHED (22) and LAST_SWITCHED (21) in sysUptime ms. */
const flowKeyV9: FieldSpec[] = [
  ...flowKey.slice(0, 5),
  { id: 1, length: 4 },
  { id: 2, length: 4 },
  { id: 22, length: 4 },
  { id: 21, length: 4 },
];

const artSums: FieldSpec[] = [
  { id: 9282, length: 4, pen: CISCO }, // art count new connections
  { id: 9292, length: 4, pen: CISCO }, // art count responses
  { id: 9316, length: 4, pen: CISCO }, // art client network time sum
  { id: 9319, length: 4, pen: CISCO }, // art server network time sum
  { id: 9306, length: 4, pen: CISCO }, // art server response time sum
  { id: 9309, length: 4, pen: CISCO }, // art total response time sum
  { id: 9268, length: 4, pen: CISCO }, // art count retransmissions
  { id: 9300, length: 4, pen: CISCO }, // art count late responses
];
const artBuckets: FieldSpec[] = [9293, 9294, 9295, 9296, 9297, 9298, 9299].map((id) => ({
  id,
  length: 4,
  pen: CISCO,
}));

const nprobeLatency: FieldSpec[] = [
  { id: 123, length: 4, pen: NTOP }, // CLIENT_NW_LATENCY_MS
  { id: 124, length: 4, pen: NTOP }, // SERVER_NW_LATENCY_MS
  { id: 125, length: 4, pen: NTOP }, // APPL_LATENCY_MS
];
/** NetFlow v9 has no enterprise numbers: Cisco's ids as they are, nProbe's 57472 + n. */
const v9Fields = (fields: FieldSpec[]): FieldSpec[] =>
  fields.map((f) => ({ id: f.pen === NTOP ? 57472 + f.id : f.id, length: f.length }));

export const TEMPLATES = {
  art: { id: 300, fields: [...flowKey, ...artSums, ...artBuckets] },
  "art-sums-only": { id: 301, fields: [...flowKey, ...artSums] },
  nprobe: { id: 302, fields: [...flowKey, ...nprobeLatency] },
} as const;

export const TEMPLATES_V9 = {
  art: { id: 300, fields: [...flowKeyV9, ...v9Fields([...artSums, ...artBuckets])] },
  "art-sums-only": { id: 301, fields: [...flowKeyV9, ...v9Fields(artSums)] },
  nprobe: { id: 302, fields: [...flowKeyV9, ...v9Fields(nprobeLatency)] },
} as const;

/** The bucket (0 to 6) of a total delay with these upper edges of buckets 1 to 6, [lower, upper). */
export function bucketOf(totalMs: number, upperEdgesMs: readonly number[]): number {
  const k = upperEdgesMs.findIndex((edge) => totalMs < edge);
  return k < 0 ? 6 : k;
}

/**
 * The data records of one group (one ART record, or one nProbe record per transaction). `bootMs`
 * given: NetFlow v9 records (4-byte counters, times in ms since the exporter's boot at `bootMs`);
 * otherwise IPFIX ones.
 */
export function recordsOf(
  g: ExportGroup,
  upperEdgesMs: readonly number[],
  bootMs?: number,
): Uint8Array[] {
  const key = (b: Bytes) => {
    b.ipv4(g.client).ipv4(g.server).u16(40000).u16(g.serverPort).u8(6);
    if (bootMs === undefined) {
      b.u64(1500 * g.transactions.length)
        .u64(4 * g.transactions.length)
        .u64(g.endMs - 1000)
        .u64(g.endMs);
    } else {
      b.u32(1500 * g.transactions.length)
        .u32(4 * g.transactions.length)
        .u32(g.endMs - 1000 - bootMs)
        .u32(g.endMs - bootMs);
    }
  };
  const sum = (f: (t: Transaction) => number, list = g.transactions) =>
    list.reduce((a, t) => a + f(t), 0);
  if (g.kind === "nprobe") {
    return g.transactions.map((t) =>
      record((b) => {
        key(b);
        b.u32(t.cndMs).u32(t.sndMs).u32(t.serverMs);
      }),
    );
  }
  const handshakes = g.transactions.slice(0, g.connections);
  return [
    record((b) => {
      key(b);
      b.u32(g.connections)
        .u32(g.transactions.length)
        .u32(sum((t) => t.cndMs, handshakes))
        .u32(sum((t) => t.sndMs, handshakes))
        .u32(sum((t) => t.serverMs))
        .u32(sum((t) => t.totalMs))
        .u32(g.retransmissions)
        .u32(g.lateResponses);
      if (g.kind === "art") {
        const buckets = [0, 0, 0, 0, 0, 0, 0];
        for (const t of g.transactions) buckets[bucketOf(t.totalMs, upperEdgesMs)]!++;
        for (const n of buckets) b.u32(n);
      }
    }),
  ];
}

/** IPFIX messages (templates first, then one data set per group) for `groups`. */
export function latencyExports(
  groups: readonly ExportGroup[],
  upperEdgesMs: readonly number[],
  exportSeconds: number,
): Uint8Array[] {
  const out = [
    ipfixMessage({ exportSeconds, sequence: 0, domain: 7 }, [
      { kind: "template", ...TEMPLATES.art, fields: [...TEMPLATES.art.fields] },
      {
        kind: "template",
        ...TEMPLATES["art-sums-only"],
        fields: [...TEMPLATES["art-sums-only"].fields],
      },
      { kind: "template", ...TEMPLATES.nprobe, fields: [...TEMPLATES.nprobe.fields] },
    ]),
  ];
  let sequence = 0;
  for (const g of groups) {
    const records = recordsOf(g, upperEdgesMs);
    out.push(
      ipfixMessage({ exportSeconds, sequence, domain: 7 }, [
        { kind: "data", id: TEMPLATES[g.kind].id, records },
      ]),
    );
    sequence += records.length;
  }
  return out;
}

/**
 * The same records as NetFlow v9 export packets (templates first, then one flowset per group),
 * from an exporter up `sysUptimeMs` at `exportSeconds`.
 */
export function latencyExportsV9(
  groups: readonly ExportGroup[],
  upperEdgesMs: readonly number[],
  exportSeconds: number,
  sysUptimeMs = 86_400_000,
): Uint8Array[] {
  const header = (sequence: number) => ({ exportSeconds, sequence, domain: 7, sysUptimeMs });
  const bootMs = exportSeconds * 1000 - sysUptimeMs;
  const kinds = ["art", "art-sums-only", "nprobe"] as const;
  const out = [
    v9Packet(
      header(0),
      kinds.map((k) => ({
        kind: "template",
        ...TEMPLATES_V9[k],
        fields: [...TEMPLATES_V9[k].fields],
      })),
    ),
  ];
  // v9 sequence numbers count export packets.
  groups.forEach((g, k) => {
    const records = recordsOf(g, upperEdgesMs, bootMs);
    out.push(v9Packet(header(k + 1), [{ kind: "data", id: TEMPLATES_V9[g.kind].id, records }]));
  });
  return out;
}

/** A small deterministic PRNG (mulberry32), so that a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A transaction with whole-millisecond delays: total = 2 (cnd + snd) + server + transfer. */
export function drawTransaction(rand: () => number, maxTotalMs: number): Transaction {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cndMs = int(0, 8);
  const sndMs = int(1, 20);
  const network = 2 * (cndMs + sndMs);
  const serverMs = int(1, Math.max(1, maxTotalMs - network - 1));
  const totalMs = network + serverMs + int(0, 40);
  return { cndMs, sndMs, serverMs, totalMs };
}

export { Bytes };
