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
}

const MIN_CAPACITY = 64;

/**
 * Columnar storage for decoded records. `length` rows are valid; decoders call {@link FlowBatch.next}
 * to claim the next row (growing the arrays geometrically if needed, which is rare and amortised).
 * Rows past `length` are always at their defaults, so claiming one writes nothing.
 */
export class FlowBatch {
  length = 0;
  capacity = 0;
  /** Exporter names, indexed by `exporterId`; shared with the decoder that fills the batch. */
  exporterNames: string[] = [];

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
  /** The columns whose default is 0 (rebuilt when the arrays grow). */
  private zeroColumns: Array<Uint8Array | Uint16Array | Uint32Array | Float64Array> = [];

  constructor(capacity = 1024) {
    this.grow(Math.max(MIN_CAPACITY, capacity));
  }

  /** Empties the batch; the used rows are reset to defaults in bulk (cheaper than per row). */
  clear(): void {
    this.resetRows(0, this.length);
    this.length = 0;
  }

  /** Claims the next row (already at defaults) and returns its index. */
  next(): number {
    if (this.length === this.capacity) this.grow(this.capacity * 2);
    return this.length++;
  }

  /** Drops the last claimed row (a record that turned out to be unusable). */
  dropLast(): void {
    if (this.length === 0) return;
    this.length--;
    this.resetRows(this.length, this.length + 1);
  }

  /** Sets rows [from, to) to the defaults: zero, except the fields below. */
  private resetRows(from: number, to: number): void {
    if (to <= from) return;
    const zero = this.zeroColumns;
    for (let c = 0; c < zero.length; c++) zero[c]!.fill(0, from, to);
    this.src6.fill(0, from * 16, to * 16);
    this.dst6.fill(0, from * 16, to * 16);
    this.samplingRate.fill(1, from, to);
    this.direction.fill(FlowDirection.Unknown, from, to);
    this.applicationId.fill(Number.NaN, from, to);
    this.clientNetworkDelayUs.fill(Number.NaN, from, to);
    this.serverNetworkDelayUs.fill(Number.NaN, from, to);
    this.applicationDelayUs.fill(Number.NaN, from, to);
  }

  /** Copies row `from` of `src` into a newly claimed row of this batch. */
  copyRow(src: FlowBatch, from: number): number {
    const i = this.next();
    this.exporterId[i] = src.exporterId[from]!;
    this.version[i] = src.version[from]!;
    this.domain[i] = src.domain[from]!;
    this.inIf[i] = src.inIf[from]!;
    this.outIf[i] = src.outIf[from]!;
    this.ipVersion[i] = src.ipVersion[from]!;
    this.src4[i] = src.src4[from]!;
    this.dst4[i] = src.dst4[from]!;
    this.src6.set(src.src6.subarray(from * 16, from * 16 + 16), i * 16);
    this.dst6.set(src.dst6.subarray(from * 16, from * 16 + 16), i * 16);
    this.srcPort[i] = src.srcPort[from]!;
    this.dstPort[i] = src.dstPort[from]!;
    this.protocol[i] = src.protocol[from]!;
    this.tcpFlags[i] = src.tcpFlags[from]!;
    this.dscp[i] = src.dscp[from]!;
    this.bytes[i] = src.bytes[from]!;
    this.packets[i] = src.packets[from]!;
    this.startMs[i] = src.startMs[from]!;
    this.endMs[i] = src.endMs[from]!;
    this.samplingRate[i] = src.samplingRate[from]!;
    this.samplingSource[i] = src.samplingSource[from]!;
    this.direction[i] = src.direction[from]!;
    this.applicationId[i] = src.applicationId[from]!;
    this.clientNetworkDelayUs[i] = src.clientNetworkDelayUs[from]!;
    this.serverNetworkDelayUs[i] = src.serverNetworkDelayUs[from]!;
    this.applicationDelayUs[i] = src.applicationDelayUs[from]!;
    return i;
  }

  private grow(capacity: number): void {
    const n = capacity;
    this.exporterId = growU32(this.exporterId, n);
    this.version = growU8(this.version, n);
    this.domain = growU32(this.domain, n);
    this.inIf = growU32(this.inIf, n);
    this.outIf = growU32(this.outIf, n);
    this.ipVersion = growU8(this.ipVersion, n);
    this.src4 = growU32(this.src4, n);
    this.dst4 = growU32(this.dst4, n);
    this.src6 = growU8(this.src6, n * 16);
    this.dst6 = growU8(this.dst6, n * 16);
    this.srcPort = growU16(this.srcPort, n);
    this.dstPort = growU16(this.dstPort, n);
    this.protocol = growU8(this.protocol, n);
    this.tcpFlags = growU16(this.tcpFlags, n);
    this.dscp = growU8(this.dscp, n);
    this.bytes = growF64(this.bytes, n);
    this.packets = growF64(this.packets, n);
    this.startMs = growF64(this.startMs, n);
    this.endMs = growF64(this.endMs, n);
    this.samplingRate = growF64(this.samplingRate, n);
    this.samplingSource = growU8(this.samplingSource, n);
    this.direction = growU8(this.direction, n);
    this.applicationId = growF64(this.applicationId, n);
    this.clientNetworkDelayUs = growF64(this.clientNetworkDelayUs, n);
    this.serverNetworkDelayUs = growF64(this.serverNetworkDelayUs, n);
    this.applicationDelayUs = growF64(this.applicationDelayUs, n);
    this.zeroColumns = [
      this.exporterId,
      this.version,
      this.domain,
      this.inIf,
      this.outIf,
      this.ipVersion,
      this.src4,
      this.dst4,
      this.srcPort,
      this.dstPort,
      this.protocol,
      this.tcpFlags,
      this.dscp,
      this.bytes,
      this.packets,
      this.startMs,
      this.endMs,
      this.samplingSource,
    ];
    const old = this.capacity;
    this.capacity = n;
    this.resetRows(old, n);
  }
}

function growU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
function growU16(a: Uint16Array, n: number): Uint16Array<ArrayBuffer> {
  const b = new Uint16Array(n);
  b.set(a);
  return b;
}
function growU32(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
function growF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
