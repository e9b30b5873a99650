/**
 * The normalised flow record: one shape for NetFlow v5, v9, IPFIX (and later sFlow and the
 * packet path).
 *
 * On the hot path records live in a {@link FlowBatch}: one typed array per field, so that
 * decoding allocates nothing per record. {@link readFlowRecord} materialises one row as a plain
 * object for tests, logs and the `decode` command.
 */

/** Where the sampling rate applied to a record came from. */
export const SamplingSource = {
  /** No rate was known and the `unknownSampling: assume-one` policy applied. */
  Unknown: 0,
  /** The NetFlow v5 header's sampling interval. */
  V5Header: 1,
  /** A sampling field inside the data record itself (e.g. IE 34 samplingInterval). */
  Record: 2,
  /** v9/IPFIX options data for the sampler id the record names (IE 48 / 302). */
  OptionsSampler: 3,
  /** v9/IPFIX options data without a sampler id: the exporter + domain default. */
  OptionsExporter: 4,
  /** `sampling.overrides[]` in the config for this exporter. */
  ConfigOverride: 5,
  /** No rate was known and the `unknownSampling: default` policy applied `sampling.defaultRate`. */
  ConfigDefault: 6,
  /** The exporter said it does not sample (rate 1 from the header, options or record). */
  Unsampled: 7,
} as const;
export type SamplingSource = (typeof SamplingSource)[keyof typeof SamplingSource];

export const samplingSourceNames: Record<SamplingSource, string> = {
  0: "unknown-assumed-1",
  1: "v5-header",
  2: "record",
  3: "options-sampler",
  4: "options-exporter",
  5: "config-override",
  6: "config-default",
  7: "unsampled",
};

/** IPFIX flowDirection (IE 61): 0 ingress, 1 egress; 255 when the exporter does not say. */
export const FlowDirection = { Ingress: 0, Egress: 1, Unknown: 255 } as const;

/** A decoded flow record as a plain object (off the hot path only). */
export interface FlowRecord {
  exporter: string;
  /** NetFlow version the record came in: 5, 9 or 10 (IPFIX). */
  version: number;
  /** v9 source id / IPFIX observation domain id (0 for v5: engine type << 8 | engine id). */
  domain: number;
  inIf: number;
  outIf: number;
  ipVersion: 0 | 4 | 6;
  srcAddress: string;
  dstAddress: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  tcpFlags: number;
  dscp: number;
  /** Bytes and packets after scaling by `samplingRate`. */
  bytes: number;
  packets: number;
  /** Absolute times, milliseconds since the Unix epoch (fraction allowed). */
  startMs: number;
  endMs: number;
  samplingRate: number;
  samplingSource: string;
  /** "ingress" | "egress" | undefined when not exported. */
  direction?: "ingress" | "egress";
  /** Application id (IE 95, NBAR/nDPI style: classification engine << 24 | selector) if exported. */
  applicationId?: number;
  /** Latency, microseconds, when the exporter sends it (Cisco AVC ART, nProbe). */
  clientNetworkDelayUs?: number;
  serverNetworkDelayUs?: number;
  applicationDelayUs?: number;
  /**
   * The record's response-time contribution (Cisco AVC ART sums and histogram, or one nProbe
   * transaction), when it has one: see {@link ResponseSlot}.
   */
  responseTimes?: Record<keyof typeof ResponseSlot, number>;
}

/**
 * Slots of the `responseTimes` column (RESPONSE_WIDTH numbers per row, 0 when absent): what one
 * flow record adds to the response-time series of its class (docs/response-times.md, "From flow
 * exports"). Sums are microseconds; counts are whole. The decoder fills them from Cisco AVC ART
 * elements (sums over the export interval) or from nProbe's per-flow latencies (one
 * transaction); the collector judges good / estimated against the class's threshold.
 */
export const ResponseSlot = {
  /** Transactions (ART responses; 1 for an nProbe flow with application latency). */
  transactions: 0,
  networkDelaySumUs: 1,
  networkDelayCount: 2,
  serverDelaySumUs: 3,
  serverDelayCount: 4,
  /** Sum of total delays over `transactions`. */
  totalDelaySumUs: 5,
  /** ART late responses (art count late responses). */
  lateResponses: 6,
  retransmissions: 7,
  /** ART response-time histogram buckets 1 to 7 (counts of responses). */
  bucket1: 8,
  bucket2: 9,
  bucket3: 10,
  bucket4: 11,
  bucket5: 12,
  bucket6: 13,
  bucket7: 14,
} as const;
/** Numbers per row of the `responseTimes` column. */
export const RESPONSE_WIDTH = 15;
/** Slot of the first histogram bucket; the 7 buckets follow it. */
export const RESPONSE_BUCKETS = ResponseSlot.bucket1;
export const RESPONSE_BUCKET_COUNT = 7;

const MIN_CAPACITY = 64;

/**
 * The batch's columns, with their row width and the value a row starts with. The order gives
 * each column its bit in {@link FlowBatch.dirty}.
 */
const columnSpecs = [
  ["exporterId", Uint32Array, 1, 0],
  ["version", Uint8Array, 1, 0],
  ["domain", Uint32Array, 1, 0],
  ["inIf", Uint32Array, 1, 0],
  ["outIf", Uint32Array, 1, 0],
  ["ipVersion", Uint8Array, 1, 0],
  ["src4", Uint32Array, 1, 0],
  ["dst4", Uint32Array, 1, 0],
  ["src6", Uint8Array, 16, 0],
  ["dst6", Uint8Array, 16, 0],
  ["srcPort", Uint16Array, 1, 0],
  ["dstPort", Uint16Array, 1, 0],
  ["protocol", Uint8Array, 1, 0],
  ["tcpFlags", Uint16Array, 1, 0],
  ["dscp", Uint8Array, 1, 0],
  ["bytes", Float64Array, 1, 0],
  ["packets", Float64Array, 1, 0],
  ["startMs", Float64Array, 1, 0],
  ["endMs", Float64Array, 1, 0],
  ["samplingRate", Float64Array, 1, 1],
  ["samplingSource", Uint8Array, 1, SamplingSource.Unknown],
  ["direction", Uint8Array, 1, FlowDirection.Unknown],
  ["applicationId", Float64Array, 1, Number.NaN],
  ["clientNetworkDelayUs", Float64Array, 1, Number.NaN],
  ["serverNetworkDelayUs", Float64Array, 1, Number.NaN],
  ["applicationDelayUs", Float64Array, 1, Number.NaN],
  ["responseTimes", Float64Array, 15, 0],
] as const;

export type FlowColumn = (typeof columnSpecs)[number][0];

/** Bit of each column in {@link FlowBatch.dirty}. */
export const columnBit = Object.fromEntries(
  columnSpecs.map(([name], k) => [name, 1 << k]),
) as Record<FlowColumn, number>;
export const ALL_COLUMNS = (1 << columnSpecs.length) - 1;

type Column =
  | Uint8Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>;

/**
 * Columnar storage for decoded records. `length` rows are valid; decoders call {@link FlowBatch.next}
 * to claim the next row (growing the arrays geometrically if needed, which is rare and amortised).
 * A claimed row is at its defaults in every column, except those the writer has promised to
 * assign in every row it claims ({@link FlowBatch.overwrites}).
 *
 * A decoder marks the columns it writes in `dirty` (once per data set, not per record).
 * `clear()` resets nothing: it only notes those columns as stale up to the rows used. The reset
 * is left to `next()`, and done only for the stale columns the writer does not overwrite, once
 * per such writer. A v9/IPFIX template assigns most of its columns in every record, so a stream
 * of them never resets those (they were a handful of bulk fills per datagram, ~8 % of the
 * collector's instructions).
 */
export class FlowBatch {
  length = 0;
  capacity = 0;
  /** Exporter names, indexed by `exporterId`; shared with the decoder that fills the batch. */
  exporterNames: string[] = [];
  /** Columns written since the last `clear()` (bits from {@link columnBit}). */
  dirty = 0;
  /**
   * Columns the writer now claiming rows assigns in every row it claims, whatever the input
   * (bits from {@link columnBit}); `next()` leaves them stale. A writer sets it before claiming
   * rows and puts it back to 0 when done; `clear()` also zeroes it.
   */
  overwrites = 0;
  /** Columns that may hold values of rows cleared away, in rows [length, staleRows). */
  private stale = 0;
  private staleRows = 0;

  exporterId = new Uint32Array(0);
  version = new Uint8Array(0);
  domain = new Uint32Array(0);
  inIf = new Uint32Array(0);
  outIf = new Uint32Array(0);
  /** 0 = no address, 4 = IPv4 (in src4/dst4), 6 = IPv6 (in src6/dst6, 16 bytes per row). */
  ipVersion = new Uint8Array(0);
  src4 = new Uint32Array(0);
  dst4 = new Uint32Array(0);
  src6 = new Uint8Array(0);
  dst6 = new Uint8Array(0);
  srcPort = new Uint16Array(0);
  dstPort = new Uint16Array(0);
  protocol = new Uint8Array(0);
  tcpFlags = new Uint16Array(0);
  dscp = new Uint8Array(0);
  bytes = new Float64Array(0);
  packets = new Float64Array(0);
  startMs = new Float64Array(0);
  endMs = new Float64Array(0);
  samplingRate = new Float64Array(0);
  samplingSource = new Uint8Array(0);
  direction = new Uint8Array(0);
  /** NaN when absent. */
  applicationId = new Float64Array(0);
  clientNetworkDelayUs = new Float64Array(0);
  serverNetworkDelayUs = new Float64Array(0);
  applicationDelayUs = new Float64Array(0);
  /** RESPONSE_WIDTH numbers per row, slots {@link ResponseSlot}; all 0 without response times. */
  responseTimes = new Float64Array(0);

  /** The arrays above, in `columnSpecs` order (rebuilt when they grow). */
  private columns: Column[] = [];

  constructor(capacity = 1024) {
    this.grow(Math.max(MIN_CAPACITY, capacity));
  }

  /** Empties the batch: its columns written become stale (see the class comment). */
  clear(): void {
    this.stale |= this.dirty;
    if (this.length > this.staleRows) this.staleRows = this.length;
    this.dirty = 0;
    this.overwrites = 0;
    this.length = 0;
  }

  /**
   * Claims the next row and returns its index: at its defaults except in the columns of
   * `overwrites`, which the caller assigns.
   */
  next(): number {
    if (this.length === this.capacity) this.grow(this.capacity * 2);
    if ((this.stale & ~this.overwrites) !== 0) this.resetStale();
    return this.length++;
  }

  /**
   * Resets the stale columns that the writer does not overwrite, in the rows not in use: rows
   * below `length` hold this batch's records (written by the writer that claimed them).
   */
  private resetStale(): void {
    const from = this.length;
    let mask = this.stale & ~this.overwrites;
    this.stale &= this.overwrites;
    for (let c = 0; mask !== 0; c++, mask >>>= 1) {
      if ((mask & 1) === 0) continue;
      const [, , width, value] = columnSpecs[c]!;
      this.columns[c]!.fill(value, from * width, this.staleRows * width);
    }
    if (this.stale === 0) this.staleRows = 0;
  }

  /** Drops the last claimed row (a record that turned out to be unusable). */
  dropLast(): void {
    if (this.length === 0) return;
    this.length--;
    for (let c = 0; c < columnSpecs.length; c++) {
      const [, , width, value] = columnSpecs[c]!;
      this.columns[c]!.fill(value, this.length * width, (this.length + 1) * width);
    }
  }

  /** Copies row `from` of `src` into a newly claimed row of this batch. */
  copyRow(src: FlowBatch, from: number): number {
    const i = this.next();
    for (let c = 0; c < columnSpecs.length; c++) {
      const width = columnSpecs[c]![2];
      const a = src.columns[c]!;
      const b = this.columns[c]!;
      for (let k = 0; k < width; k++) b[i * width + k] = a[from * width + k]!;
    }
    this.dirty = ALL_COLUMNS;
    return i;
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    const columns: Column[] = [];
    for (let c = 0; c < columnSpecs.length; c++) {
      const [name, Type, width, value] = columnSpecs[c]!;
      const a = new Type(capacity * width) as Column;
      a.set(this[name] as never);
      if (value !== 0) a.fill(value, old * width);
      (this as Record<FlowColumn, Column>)[name] = a;
      columns.push(a);
    }
    this.columns = columns;
    this.capacity = capacity;
  }
}
