/**
 * A seeded traffic generator for end-to-end benchmarks: N customers, each with an IPv4 /24 (and
 * every `ipv6Every`-th one an IPv6 /48 as well), and a stream of NetFlow v9 or IPFIX export
 * datagrams between them and the internet, as one exporter would send it: a template datagram
 * first and again every `templateEvery` data datagrams, sequence numbers per the RFCs (v9 counts
 * export packets, RFC 3954 §5.1; IPFIX counts data records, RFC 7011 §3.1), times as the version
 * carries them (v9 sysUptime-relative FIRST/LAST_SWITCHED, IPFIX flowStart/EndMilliseconds).
 *
 * It keeps the ground truth of what it put in, attributed the way flowtally attributes flows
 * (`collector/classify/classifier.ts`): the destination in a customer's prefix is `in`, the source
 * `out`; a customer-to-customer flow counts for both; a flow touching no customer is unattributed.
 *
 * Pure: no I/O, no clock (`startMs` is passed in), no Math.random. Same options, same bytes.
 *
 * createFlowGenerator plans the customers and builds the datagrams (header, templates, data
 * sets); each record is drawn, written and booked by flow-records.ts.
 */
import { stringify } from "yaml";
import { createRng } from "../test/fuzz/mutate.js";
import { FlowRecordState, writeRecord } from "./flow-records.js";

export interface FlowGeneratorOptions {
  seed: number;
  /** Number of customers (at most 65536: one 10.x.y.0/24 each). */
  customers: number;
  version: 9 | 10;
  /** Export time of the first datagram, ms since the Unix epoch. */
  startMs: number;
  /**
   * Data records per datagram, for both address families. Default: as many as fit in
   * `maxDatagramBytes` (IPFIX 25 IPv4 / 17 IPv6, v9 29 / 19 at 1400 bytes).
   */
  recordsPerDatagram?: number;
  /** Size the default `recordsPerDatagram` is computed for (default 1400). */
  maxDatagramBytes?: number;
  /** Pace of the export timeline: datagram times advance as if this many records/s were sent. */
  recordsPerSecond?: number;
  /** A template datagram is sent before the first data datagram and then every this many. */
  templateEvery?: number;
  /** v9 source id / IPFIX observation domain id (default 0). */
  domain?: number;
  /** Every this-many-th customer also has an IPv6 /48 (default 10; 0: no IPv6 at all). */
  ipv6Every?: number;
  /** Share of data datagrams that carry IPv6 records (default 0.1; 0 without IPv6 customers). */
  ipv6Share?: number;
  /** Share of records between two remote addresses: no customer (default 0.05). */
  unattributedShare?: number;
  /** Share of records between two customers (default 0.02). */
  customerToCustomerShare?: number;
}

export interface GeneratedCustomer {
  /** `c00042`: also the site id prefix and link id. */
  id: string;
  index: number;
  name: string;
  serviceType: "business" | "retail";
  /** `10.0.42.0/24` */
  ipv4Prefix: string;
  /** `2001:db8:4::/48` for dual-stack customers. */
  ipv6Prefix?: string;
}

export interface TrafficTotals {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  flows: number;
}

export interface GroundTruth {
  records: number;
  /** Data records whose source or destination is in a customer prefix. */
  attributedRecords: number;
  bytes: number;
  packets: number;
  datagrams: number;
  templateDatagrams: number;
  /** Customer id → totals; every customer is listed, with zeros when it had no traffic. */
  customers: Map<string, TrafficTotals>;
  unattributed: { bytes: number; packets: number; flows: number };
}

export interface FlowGenerator {
  readonly version: 9 | 10;
  readonly customers: readonly GeneratedCustomer[];
  readonly recordsPerDatagram: { ipv4: number; ipv6: number };
  /**
   * The next datagram of the stream (a template datagram when one is due). At most
   * `maxRecords` data records. The returned view is of an internal buffer, overwritten by the
   * next call: copy it to keep it.
   */
  nextDatagram(maxRecords?: number): Uint8Array;
  /** Data records in the datagram last returned (0 for a template datagram). */
  readonly lastRecords: number;
  /** The ground truth of everything generated so far. */
  truth(): GroundTruth;
}

// ---------------------------------------------------------------------------------------------
// Templates. Element ids are shared by v9 and IPFIX; v9's FIRST/LAST_SWITCHED are 22/21.

const TEMPLATE_IPV4 = 256;
const TEMPLATE_IPV6 = 257;
const MAX_UDP_PAYLOAD = 65507;

type Field = readonly [id: number, length: number];

function templateFields(version: 9 | 10, family: 4 | 6): Field[] {
  const addresses: Field[] =
    family === 4
      ? [
          [8, 4], // sourceIPv4Address
          [12, 4], // destinationIPv4Address
        ]
      : [
          [27, 16], // sourceIPv6Address
          [28, 16], // destinationIPv6Address
        ];
  const times: Field[] =
    version === 9
      ? [
          [22, 4], // FIRST_SWITCHED, sysUptime ms
          [21, 4], // LAST_SWITCHED
        ]
      : [
          [152, 8], // flowStartMilliseconds
          [153, 8], // flowEndMilliseconds
        ];
  return [
    ...addresses,
    [7, 2], // sourceTransportPort
    [11, 2], // destinationTransportPort
    [4, 1], // protocolIdentifier
    [6, 1], // tcpControlBits
    [5, 1], // ipClassOfService
    [10, 4], // ingressInterface
    [14, 4], // egressInterface
    [1, 8], // octetDeltaCount / IN_BYTES
    [2, 8], // packetDeltaCount / IN_PKTS
    ...times,
  ];
}

function recordLength(fields: readonly Field[]): number {
  return fields.reduce((n, [, length]) => n + length, 0);
}

function headerLength(version: 9 | 10): number {
  return version === 9 ? 20 : 16;
}

// ---------------------------------------------------------------------------------------------
// Address plan.

function ipv4Prefix(index: number): string {
  return `10.${index >>> 8}.${index & 0xff}.0/24`;
}

/** In canonical (RFC 5952) form, as pmacct prints networks: 2001:db8::/48, 2001:db8:1::/48. */
function ipv6Prefix(v6Index: number): string {
  return v6Index === 0 ? "2001:db8::/48" : `2001:db8:${v6Index.toString(16)}::/48`;
}

// ---------------------------------------------------------------------------------------------

export function createFlowGenerator(options: FlowGeneratorOptions): FlowGenerator {
  const version = options.version;
  const n = options.customers;
  if (!Number.isInteger(n) || n < 1 || n > 65536)
    throw new RangeError(`customers: ${n} is not an integer in [1, 65536]`);
  const maxBytes = options.maxDatagramBytes ?? 1400;
  const pace = options.recordsPerSecond ?? 100_000;
  const templateEvery = options.templateEvery ?? 64;
  const domain = options.domain ?? 0;
  const ipv6Every = options.ipv6Every ?? 10;
  const unattributedShare = options.unattributedShare ?? 0.05;
  const c2cShare = n >= 2 ? (options.customerToCustomerShare ?? 0.02) : 0;
  if (!(pace > 0)) throw new RangeError("recordsPerSecond must be > 0");
  if (!(templateEvery >= 1)) throw new RangeError("templateEvery must be >= 1");

  const rng = createRng(options.seed);
  const hl = headerLength(version);

  // Customers: index i owns 10.(i>>8).(i&255).0/24; every ipv6Every-th also 2001:db8:k::/48.
  const customers: GeneratedCustomer[] = [];
  const v6Customers: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `c${String(i).padStart(5, "0")}`;
    const c: GeneratedCustomer = {
      id,
      index: i,
      name: `Customer ${i}`,
      serviceType: i % 3 === 0 ? "business" : "retail",
      ipv4Prefix: ipv4Prefix(i),
    };
    if (ipv6Every > 0 && i % ipv6Every === 0) {
      c.ipv6Prefix = ipv6Prefix(v6Customers.length);
      v6Customers.push(i);
    }
    customers.push(c);
  }
  const ipv6Share = v6Customers.length > 0 ? (options.ipv6Share ?? 0.1) : 0;

  const fields4 = templateFields(version, 4);
  const fields6 = templateFields(version, 6);
  const len4 = recordLength(fields4);
  const len6 = recordLength(fields6);
  const recordsThatFit = (len: number) => Math.floor((maxBytes - hl - 4) / len);
  const perDatagram = {
    ipv4: options.recordsPerDatagram ?? recordsThatFit(len4),
    ipv6: options.recordsPerDatagram ?? recordsThatFit(len6),
  };
  if (perDatagram.ipv4 < 1 || perDatagram.ipv6 < 1)
    throw new RangeError(`maxDatagramBytes ${maxBytes} holds no record`);
  if (hl + 4 + Math.max(perDatagram.ipv4 * len4, perDatagram.ipv6 * len6) + 3 > MAX_UDP_PAYLOAD)
    throw new RangeError(`recordsPerDatagram ${perDatagram.ipv4} does not fit in a UDP datagram`);

  const scratch = new Uint8Array(
    Math.max(
      hl + 4 + 2 * (fields6.length + 2) * 4,
      hl + 8 + perDatagram.ipv4 * len4,
      hl + 8 + perDatagram.ipv6 * len6,
    ),
  );
  const view = new DataView(scratch.buffer);

  let datagrams = 0;
  let templateDatagrams = 0;
  let dataSinceTemplate = -1;
  let lastRecords = 0;

  // v9 times: sysUptime counts from a boot a week before the start.
  const bootMs = options.startMs - 7 * 86_400_000 - 4321;
  const g = new FlowRecordState(
    rng,
    view,
    version,
    n,
    v6Customers,
    ipv6Every,
    unattributedShare,
    c2cShare,
    bootMs,
  );

  function writeHeader(length: number, count: number, exportSeconds: number): void {
    view.setUint16(0, version);
    if (version === 9) {
      view.setUint16(2, count);
      view.setUint32(4, exportSeconds * 1000 - bootMs);
      view.setUint32(8, exportSeconds);
      // RFC 3954 §5.1: incremental sequence counter of all export packets sent.
      view.setUint32(12, datagrams >>> 0);
      view.setUint32(16, domain);
    } else {
      view.setUint16(2, length);
      view.setUint32(4, exportSeconds);
      // RFC 7011 §3.1: data records sent before this message, modulo 2^32.
      view.setUint32(8, g.records >>> 0);
      view.setUint32(12, domain);
    }
  }

  function exportSecondsNow(): number {
    return Math.floor((options.startMs + (g.records / pace) * 1000) / 1000);
  }

  function templateDatagram(): Uint8Array {
    const sets: Field[][] = ipv6Share > 0 ? [fields4, fields6] : [fields4];
    let off = hl + 4;
    sets.forEach((fields, k) => {
      view.setUint16(off, k === 0 ? TEMPLATE_IPV4 : TEMPLATE_IPV6);
      view.setUint16(off + 2, fields.length);
      off += 4;
      for (const [id, length] of fields) {
        view.setUint16(off, id);
        view.setUint16(off + 2, length);
        off += 4;
      }
    });
    view.setUint16(hl, version === 9 ? 0 : 2);
    view.setUint16(hl + 2, off - hl);
    writeHeader(off, sets.length, exportSecondsNow());
    templateDatagrams++;
    datagrams++;
    lastRecords = 0;
    return scratch.subarray(0, off);
  }

  function dataDatagram(maxRecords: number): Uint8Array {
    const family: 4 | 6 = ipv6Share > 0 && rng.float() < ipv6Share ? 6 : 4;
    const count = Math.min(maxRecords, family === 4 ? perDatagram.ipv4 : perDatagram.ipv6);
    const exportSeconds = exportSecondsNow();
    // The header's sequence (IPFIX: records before this message) is written before booking.
    writeHeader(0, count, exportSeconds);
    let off = hl + 4;
    for (let r = 0; r < count; r++) off += writeRecord(g, off, family, exportSeconds);
    // v9 flowsets are padded to 4 bytes (RFC 3954 §5.3); IPFIX exporters rarely pad.
    if (version === 9) while ((off - hl) % 4 !== 0) scratch[off++] = 0;
    view.setUint16(hl, family === 4 ? TEMPLATE_IPV4 : TEMPLATE_IPV6);
    view.setUint16(hl + 2, off - hl);
    if (version === 10) view.setUint16(2, off);
    datagrams++;
    dataSinceTemplate++;
    lastRecords = count;
    return scratch.subarray(0, off);
  }

  return {
    version,
    customers,
    recordsPerDatagram: perDatagram,
    get lastRecords() {
      return lastRecords;
    },
    nextDatagram(maxRecords = Number.POSITIVE_INFINITY): Uint8Array {
      if (dataSinceTemplate < 0 || dataSinceTemplate >= templateEvery) {
        dataSinceTemplate = 0;
        return templateDatagram();
      }
      if (!(maxRecords >= 1)) throw new RangeError("maxRecords must be >= 1");
      return dataDatagram(maxRecords);
    },
    truth(): GroundTruth {
      const map = new Map<string, TrafficTotals>();
      for (let i = 0; i < n; i++) {
        map.set(customers[i]!.id, {
          bytesIn: g.bytesIn[i]!,
          bytesOut: g.bytesOut[i]!,
          packetsIn: g.packetsIn[i]!,
          packetsOut: g.packetsOut[i]!,
          flows: g.flows[i]!,
        });
      }
      return {
        records: g.records,
        attributedRecords: g.attributed,
        bytes: g.totalBytes,
        packets: g.totalPackets,
        datagrams,
        templateDatagrams,
        customers: map,
        unattributed: { bytes: g.unBytes, packets: g.unPackets, flows: g.unFlows },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A pre-generated stream, in shared memory so that a sender worker reads it without a copy.

export interface DatagramPack {
  /** All datagrams back to back (backed by a SharedArrayBuffer). */
  bytes: Uint8Array;
  /** Datagram k is `bytes[offsets[k], offsets[k + 1])`; `datagrams + 1` entries. */
  offsets: Uint32Array;
  /** Data records in datagram k (0 for template datagrams). */
  recordCounts: Uint16Array;
  datagrams: number;
  records: number;
}

/** Generates datagrams until exactly `records` data records have been produced. */
export function generateDatagrams(gen: FlowGenerator, records: number): DatagramPack {
  if (!Number.isInteger(records) || records < 1)
    throw new RangeError(`records: ${records} is not a positive integer`);
  const per = Math.min(gen.recordsPerDatagram.ipv4, gen.recordsPerDatagram.ipv6);
  // An upper bound: every datagram the largest it can be, one template per data datagram.
  const maxDatagrams = 2 * Math.ceil(records / per) + 2;
  const probe = gen.nextDatagram(); // the first datagram is always the template datagram
  const templateBytes = probe.byteLength;
  const maxRecordBytes = recordLength(templateFields(gen.version, 6));
  const capacity = templateBytes * maxDatagrams + records * maxRecordBytes + maxDatagrams * 28;
  if (capacity > 2 ** 32 - 1) throw new RangeError(`${records} records need more than 4 GiB`);
  const bytes = new Uint8Array(new SharedArrayBuffer(capacity));
  const offsets = new Uint32Array(new SharedArrayBuffer((maxDatagrams + 1) * 4));
  const recordCounts = new Uint16Array(new SharedArrayBuffer(maxDatagrams * 2));
  let k = 0;
  let off = 0;
  let left = records;
  let d = probe;
  for (;;) {
    bytes.set(d, off);
    offsets[k] = off;
    recordCounts[k] = gen.lastRecords;
    off += d.byteLength;
    left -= gen.lastRecords;
    k++;
    if (left === 0) break;
    d = gen.nextDatagram(left);
  }
  offsets[k] = off;
  return {
    bytes: bytes.subarray(0, off),
    offsets: offsets.subarray(0, k + 1),
    recordCounts: recordCounts.subarray(0, k),
    datagrams: k,
    records,
  };
}

// ---------------------------------------------------------------------------------------------
// What the collectors need to know about the customers.

/** The `customers:` list of a flowtally config: one site and one access link per customer. */
export function flowtallyCustomers(customers: readonly GeneratedCustomer[]): unknown[] {
  return customers.map((c) => ({
    id: c.id,
    name: c.name,
    serviceType: c.serviceType,
    sites: [
      {
        id: `${c.id}-site`,
        links: [
          {
            id: `${c.id}-link`,
            prefixes: c.ipv6Prefix === undefined ? [c.ipv4Prefix] : [c.ipv4Prefix, c.ipv6Prefix],
          },
        ],
      },
    ],
  }));
}

export interface FlowtallyBenchConfig {
  /** `127.0.0.1:PORT` */
  listen: string;
  storePath: string;
  /** "" disables the decoder state file. */
  statePath: string;
  apiListen?: string;
  /** inputs.netflow[].receiveBuffer, bytes (the kernel grants at most net.core.rmem_max). */
  receiveBuffer?: number;
  /** The write-ahead log (default on, in the config's directory). */
  wal?: boolean;
}

/** A whole flowtally config (YAML) for a benchmark run over these customers. */
export function flowtallyConfigYaml(
  customers: readonly GeneratedCustomer[],
  c: FlowtallyBenchConfig,
): string {
  const doc: Record<string, unknown> = {
    inputs: {
      netflow: [
        c.receiveBuffer === undefined
          ? { listen: c.listen }
          : { listen: c.listen, receiveBuffer: c.receiveBuffer },
      ],
    },
    store: { embedded: { path: c.storePath } },
    decoder: { statePath: c.statePath },
    customers: flowtallyCustomers(customers),
  };
  if (c.apiListen !== undefined) doc.api = { listen: c.apiListen };
  if (c.wal === false) doc.wal = { enabled: false };
  return `# generated by bench/flow-generator.ts\n${stringify(doc)}`;
}

/** Every customer prefix, one a line: an nfacctd `networks_file`. */
export function networksFile(customers: readonly GeneratedCustomer[]): string {
  const lines: string[] = [];
  for (const c of customers) {
    lines.push(c.ipv4Prefix);
    if (c.ipv6Prefix !== undefined) lines.push(c.ipv6Prefix);
  }
  return `${lines.join("\n")}\n`;
}

/** Network address (as pmacct prints it: `10.0.42.0`, `2001:db8:4::`) → customer id. */
export function customersByNetwork(
  customers: readonly GeneratedCustomer[],
): Map<string, GeneratedCustomer> {
  const map = new Map<string, GeneratedCustomer>();
  for (const c of customers) {
    map.set(c.ipv4Prefix.split("/")[0]!, c);
    if (c.ipv6Prefix !== undefined) map.set(c.ipv6Prefix.split("/")[0]!, c);
  }
  return map;
}
