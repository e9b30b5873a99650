/**
 * Fixed seeds of extreme values for the pipeline fuzz (`bench/fuzz-pipeline.ts` and
 * `test/fuzz/pipeline.fuzz.test.ts`): datagrams and frames that decode cleanly but carry the
 * largest counters, rates and times their fields can hold, and times that make no sense (1900,
 * 1970, 2106, end before start, years long, zero long). Mutation rarely lands on such values; a
 * real exporter with a bug sends them every minute. Each seed is self-contained (templates and
 * options data travel in the same datagram as the data that needs them), so that it means the
 * same whatever ran before it.
 *
 * The first IPFIX seed is the datagram of the issue "One 100-byte datagram hangs the collector":
 * octetDeltaCount 2^64 - 1, samplingInterval 2^32 - 1, a 45 s flow that PartialSums spreads
 * over 5 intervals.
 */
import {
  type Bytes,
  ethernetTcpFrame,
  type FieldSpec,
  ipfixMessage,
  record,
  type SetSpec,
  type SflowFlowRecord,
  sflowDatagram,
  v5Packet,
  v9Packet,
} from "../support/export-builder.js";

export type PipelineProtocol = "v5" | "v9" | "ipfix" | "sflow" | "packets";

/** One input of the pipeline: a datagram from an exporter, or a captured Ethernet frame. */
export interface PipelineInput {
  /** The exporter's address (flows); "" for frames. */
  source: string;
  payload: Uint8Array;
  /** Arrival time (flows) or capture time (frames), ms since the epoch. */
  timeMs: number;
  /** Frames: nanoseconds within the second, when not derived from `timeMs`. */
  tsNsec?: number;
}

export interface ExtremeSeed {
  name: string;
  protocol: PipelineProtocol;
  /** What is extreme about it. */
  why: string;
  inputs: PipelineInput[];
}

/** The seeds' arrival time: a fixed "now". */
export const SEED_NOW_MS = Date.UTC(2026, 10, 22, 10, 1, 0);
const NOW_S = SEED_NOW_MS / 1000;
const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;
/** 2^32 - 1 seconds after the epoch: 2106-02-07T06:28:15Z, the last time a u32 holds. */
const Y2106_MS = U32_MAX * 1000;
const YEAR_MS = 365.25 * 86_400_000;

/** A customer address (lan) and a remote one (video class, catch-all customer). */
const LAN = "192.168.10.20";
const REMOTE = "23.246.1.1";

const IPFIX_EXPORTER = "192.0.2.10";
const V9_EXPORTER = "192.0.2.9";
const V5_EXPORTER = "192.0.2.5";
const SFLOW_AGENT = "192.0.2.6";

function flowInput(source: string, payload: Uint8Array, timeMs = SEED_NOW_MS): PipelineInput {
  return { source, payload, timeMs };
}

// ---------------------------------------------------------------------------------------------
// IPFIX

const addressFields: FieldSpec[] = [
  { id: 8, length: 4 },
  { id: 12, length: 4 },
];
const counterFields: FieldSpec[] = [
  { id: 1, length: 8 },
  { id: 2, length: 8 },
];

/**
 * One IPFIX message: a template of addresses, 64-bit octet and packet counts and `fields`, and
 * `records` data records whose extra fields `values` writes.
 */
function ipfixFlows(
  fields: FieldSpec[],
  values: (b: Bytes) => void,
  counters: { bytes: bigint; packets: bigint },
  options: { records?: number; exportSeconds?: number; before?: SetSpec[] },
): Uint8Array {
  const data = record((b) => {
    b.ipv4(LAN).ipv4(REMOTE).u64n(counters.bytes).u64n(counters.packets);
    values(b);
  });
  return ipfixMessage({ exportSeconds: options.exportSeconds ?? NOW_S, sequence: 0, domain: 1 }, [
    ...(options.before ?? []),
    { kind: "template", id: 256, fields: [...addressFields, ...counterFields, ...fields] },
    { kind: "data", id: 256, records: new Array<Uint8Array>(options.records ?? 1).fill(data) },
  ]);
}

const msTimes: FieldSpec[] = [
  { id: 152, length: 8 },
  { id: 153, length: 8 },
];
/** flowStartMilliseconds, flowEndMilliseconds. */
const ms = (start: number | bigint, end: number | bigint) => (b: Bytes) =>
  b.u64n(BigInt(start)).u64n(BigInt(end));

/** 10:00:12.5 → 10:00:57.5: 45 s over five 10 s intervals, as in the issue. */
const ISSUE_START_MS = SEED_NOW_MS - 47_500;
const ISSUE_END_MS = SEED_NOW_MS - 2_500;
const MAX = { bytes: U64_MAX, packets: U64_MAX };

function ipfixSeeds(): ExtremeSeed[] {
  const seed = (name: string, why: string, payload: Uint8Array): ExtremeSeed => ({
    name,
    protocol: "ipfix",
    why,
    inputs: [flowInput(IPFIX_EXPORTER, payload)],
  });
  // The issue's datagram, byte for byte the layout it describes: 100 bytes.
  const issue = ipfixMessage({ exportSeconds: NOW_S, sequence: 0, domain: 1 }, [
    {
      kind: "template",
      id: 256,
      fields: [
        ...addressFields,
        { id: 1, length: 8 },
        { id: 2, length: 8 },
        ...msTimes,
        { id: 34, length: 4 },
      ],
    },
    {
      kind: "data",
      id: 256,
      records: [
        record((b) =>
          b
            .ipv4(LAN)
            .ipv4(REMOTE)
            .u64n(U64_MAX)
            .u64(1)
            .u64(ISSUE_START_MS)
            .u64(ISSUE_END_MS)
            .u32(U32_MAX),
        ),
      ],
    },
  ]);
  const sampling = (fields: FieldSpec[], values: (b: Bytes) => void) =>
    ipfixFlows(
      [...msTimes, ...fields],
      (b) => {
        ms(ISSUE_START_MS, ISSUE_END_MS)(b);
        values(b);
      },
      MAX,
      {},
    );
  const f64 = (v: number) => (b: Bytes) => b.f64(v);
  const ntp = (seconds: number, fraction: number) => (b: Bytes) => b.u32(seconds).u32(fraction);
  return [
    seed(
      "ipfix-issue-100-bytes",
      "octetDeltaCount 2^64-1 x samplingInterval 2^32-1 over a 45 s flow (the issue's datagram)",
      issue,
    ),
    seed(
      "ipfix-counters-max",
      "octets and packets 2^64-1, unsampled, 45 s",
      ipfixFlows(msTimes, ms(ISSUE_START_MS, ISSUE_END_MS), MAX, {}),
    ),
    seed(
      "ipfix-sampling-interval-u64-max",
      "samplingInterval as an 8-byte field: 2^64-1, with counters 2^64-1 (3.4e38 bytes)",
      sampling([{ id: 34, length: 8 }], (b) => b.u64n(U64_MAX)),
    ),
    seed(
      "ipfix-probability-2^-60",
      "samplingProbability 2^-60: a finite rate of 2^60",
      sampling([{ id: 311, length: 8 }], f64(2 ** -60)),
    ),
    seed(
      "ipfix-probability-denormal",
      "samplingProbability 5e-324 (1/p is Infinity)",
      sampling([{ id: 311, length: 8 }], f64(5e-324)),
    ),
    seed(
      "ipfix-probability-nan",
      "samplingProbability NaN",
      sampling([{ id: 311, length: 8 }], f64(Number.NaN)),
    ),
    seed(
      "ipfix-packet-space-max",
      "samplingPacketInterval 1, samplingPacketSpace 2^32-1: a rate of 2^32",
      sampling(
        [
          { id: 305, length: 4 },
          { id: 306, length: 4 },
        ],
        (b) => b.u32(1).u32(U32_MAX),
      ),
    ),
    seed(
      "ipfix-fractional-rate",
      "samplingSize 7 of samplingPopulation 2^32-1: a fractional rate on counters 2^64-1",
      sampling(
        [
          { id: 309, length: 4 },
          { id: 310, length: 4 },
        ],
        (b) => b.u32(7).u32(U32_MAX),
      ),
    ),
    seed(
      "ipfix-options-sampler-u64-max",
      "options data: sampler 1 samples 1 in 2^64-1; a record naming sampler 1 with counters 2^64-1",
      ipfixFlows(
        [...msTimes, { id: 48, length: 1 }],
        (b) => {
          ms(ISSUE_START_MS, ISSUE_END_MS)(b);
          b.u8(1);
        },
        MAX,
        {
          before: [
            {
              kind: "options-template",
              id: 300,
              scopeCount: 1,
              fields: [
                { id: 48, length: 1 },
                { id: 34, length: 8 },
              ],
            },
            { kind: "data", id: 300, records: [record((b) => b.u8(1).u64n(U64_MAX))] },
          ],
        },
      ),
    ),
    seed(
      "ipfix-1970-to-2106",
      "flowStartSeconds 1 (0 means absent), flowEndSeconds 2^32-1 (2106), counters 2^64-1",
      ipfixFlows(
        [
          { id: 150, length: 4 },
          { id: 151, length: 4 },
        ],
        (b) => b.u32(1).u32(U32_MAX),
        MAX,
        {},
      ),
    ),
    seed(
      "ipfix-start-ms-u64-max",
      "flowStartMilliseconds 2^64-1 (after its end), counters 2^64-1",
      ipfixFlows(msTimes, ms(U64_MAX, ISSUE_END_MS), MAX, {}),
    ),
    seed(
      "ipfix-end-ms-u64-max",
      "flowEndMilliseconds 2^64-1 (5.8e8 years ahead), counters 2^64-1",
      ipfixFlows(msTimes, ms(ISSUE_START_MS, U64_MAX), MAX, {}),
    ),
    seed(
      "ipfix-start-1-end-u64-max",
      "flowStartMilliseconds 1, flowEndMilliseconds 2^64-1",
      ipfixFlows(msTimes, ms(1, U64_MAX), MAX, {}),
    ),
    seed(
      "ipfix-end-before-start",
      "ends a day before it starts",
      ipfixFlows(msTimes, ms(SEED_NOW_MS - 1000, SEED_NOW_MS - 86_401_000), MAX, {}),
    ),
    seed(
      "ipfix-three-years-long",
      "lasts 3 years, ending now, counters 2^64-1",
      ipfixFlows(msTimes, ms(SEED_NOW_MS - 3 * YEAR_MS, SEED_NOW_MS), MAX, {}),
    ),
    seed(
      "ipfix-59-minutes-long",
      "lasts just under maxSpread (1 h): spread over 354 intervals, counters 2^64-1",
      ipfixFlows(msTimes, ms(SEED_NOW_MS - 3_540_000 - 1, SEED_NOW_MS - 1), MAX, {}),
    ),
    seed(
      "ipfix-zero-length",
      "starts and ends at the same millisecond, counters 2^64-1",
      ipfixFlows(msTimes, ms(SEED_NOW_MS - 5000, SEED_NOW_MS - 5000), MAX, {}),
    ),
    seed(
      "ipfix-zero-counters",
      "0 octets and 0 packets over 45 s",
      ipfixFlows(msTimes, ms(ISSUE_START_MS, ISSUE_END_MS), { bytes: 0n, packets: 0n }, {}),
    ),
    seed(
      "ipfix-january-1970",
      "flowStartMilliseconds 1 and flowEndMilliseconds 2 (0 means absent): January 1970",
      ipfixFlows(msTimes, ms(1, 2), MAX, {}),
    ),
    seed(
      "ipfix-ntp-1900-to-2036",
      "flowStartMicroseconds NTP 0 (1900), flowEndMicroseconds NTP 2^32-1.999 (2036)",
      ipfixFlows(
        [
          { id: 154, length: 8 },
          { id: 155, length: 8 },
        ],
        (b) => {
          ntp(0, 0)(b);
          ntp(U32_MAX, U32_MAX)(b);
        },
        MAX,
        {},
      ),
    ),
    seed(
      "ipfix-delta-us-max",
      "flowStartDeltaMicroseconds 2^32-1 (71 min before export), end delta 0, export time 0",
      ipfixFlows(
        [
          { id: 158, length: 4 },
          { id: 159, length: 4 },
        ],
        (b) => b.u32(U32_MAX).u32(0),
        MAX,
        { exportSeconds: 0 },
      ),
    ),
    seed(
      "ipfix-sysuptime-max",
      "systemInitTimeMilliseconds 2^64-1 with sysUpTime stamps 0 and 2^32-1",
      ipfixFlows(
        [
          { id: 160, length: 8 },
          { id: 22, length: 4 },
          { id: 21, length: 4 },
        ],
        (b) => b.u64n(U64_MAX).u32(0).u32(U32_MAX),
        MAX,
        {},
      ),
    ),
    seed(
      "ipfix-1400-records-max",
      "1400 records (a full data set) of counters 2^64-1 x samplingInterval 2^32-1, each spread over 5 intervals",
      ipfixFlows(
        [...msTimes, { id: 34, length: 4 }],
        (b) => {
          ms(ISSUE_START_MS, ISSUE_END_MS)(b);
          b.u32(U32_MAX);
        },
        MAX,
        { records: 1400 },
      ),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// NetFlow v9

const V9_UPTIME_MS = 3_600_000;

function v9Seeds(): ExtremeSeed[] {
  const seed = (name: string, why: string, payload: Uint8Array): ExtremeSeed => ({
    name,
    protocol: "v9",
    why,
    inputs: [flowInput(V9_EXPORTER, payload)],
  });
  // IN_BYTES and IN_PKTS as 8-byte fields, FIRST_SWITCHED / LAST_SWITCHED, and `extra`.
  const template = (extra: FieldSpec[]) => ({
    kind: "template" as const,
    id: 260,
    fields: [
      ...addressFields,
      ...counterFields,
      { id: 22, length: 4 },
      { id: 21, length: 4 },
      ...extra,
    ],
  });
  const flow = (first: number, last: number, extra: (b: Bytes) => void = () => {}) =>
    record((b) => {
      b.ipv4(LAN).ipv4(REMOTE).u64n(U64_MAX).u64n(U64_MAX).u32(first).u32(last);
      extra(b);
    });
  const header = (unixSecs = NOW_S, sysUptimeMs = V9_UPTIME_MS) => ({
    exportSeconds: unixSecs,
    sequence: 0,
    domain: 7,
    sysUptimeMs,
  });
  // 45 s ending 2.5 s before export, in uptime milliseconds.
  const first = V9_UPTIME_MS - 47_500;
  const last = V9_UPTIME_MS - 2_500;
  return [
    seed(
      "v9-options-sampler-u64-max",
      "options data: sampler 1 samples 1 in 2^64-1 (FLOW_SAMPLER_RANDOM_INTERVAL, 8 bytes); 64-bit counters 2^64-1 naming it",
      v9Packet(header(), [
        {
          kind: "options-template",
          id: 300,
          scopeCount: 1,
          fields: [
            { id: 1, length: 4 },
            { id: 48, length: 1 },
            { id: 50, length: 8 },
          ],
        },
        { kind: "data", id: 300, records: [record((b) => b.u32(0).u8(1).u64n(U64_MAX))] },
        template([{ id: 48, length: 1 }]),
        { kind: "data", id: 260, records: [flow(first, last, (b) => b.u8(1))] },
      ]),
    ),
    seed(
      "v9-options-exporter-rate-max",
      "options data without a sampler: SAMPLING_INTERVAL 2^32-1 for the whole exporter; counters 2^64-1",
      v9Packet(header(), [
        {
          kind: "options-template",
          id: 301,
          scopeCount: 1,
          fields: [
            { id: 1, length: 4 },
            { id: 34, length: 4 },
          ],
        },
        { kind: "data", id: 301, records: [record((b) => b.u32(0).u32(U32_MAX))] },
        template([]),
        { kind: "data", id: 260, records: [flow(first, last)] },
      ]),
    ),
    seed(
      "v9-record-interval-u64-max",
      "SAMPLING_INTERVAL in the record itself, 8 bytes: 2^64-1",
      v9Packet(header(), [
        template([{ id: 34, length: 8 }]),
        { kind: "data", id: 260, records: [flow(first, last, (b) => b.u64n(U64_MAX))] },
      ]),
    ),
    seed(
      "v9-uptime-wrap",
      "FIRST_SWITCHED and LAST_SWITCHED after the header's sysUptime (wrap: 49.7 days back)",
      v9Packet(header(NOW_S, 1000), [
        template([]),
        { kind: "data", id: 260, records: [flow(U32_MAX - 5000, U32_MAX)] },
      ]),
    ),
    seed(
      "v9-first-0-last-max",
      "FIRST_SWITCHED 0 and LAST_SWITCHED 2^32-1 with sysUptime 2^32-1: 49.7 days long",
      v9Packet(header(NOW_S, U32_MAX), [
        template([]),
        { kind: "data", id: 260, records: [flow(0, U32_MAX)] },
      ]),
    ),
    seed(
      "v9-last-before-first",
      "LAST_SWITCHED an hour before FIRST_SWITCHED",
      v9Packet(header(), [
        template([]),
        { kind: "data", id: 260, records: [flow(V9_UPTIME_MS - 1000, 0)] },
      ]),
    ),
    seed(
      "v9-unix-secs-0",
      "header unix time 0: flows end in 1969",
      v9Packet(header(0), [template([]), { kind: "data", id: 260, records: [flow(first, last)] }]),
    ),
    seed(
      "v9-unix-secs-max",
      "header unix time 2^32-1: flows in 2106",
      v9Packet(header(U32_MAX), [
        template([]),
        { kind: "data", id: 260, records: [flow(first, last)] },
      ]),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// NetFlow v5

function v5Seeds(): ExtremeSeed[] {
  const seed = (name: string, why: string, payload: Uint8Array): ExtremeSeed => ({
    name,
    protocol: "v5",
    why,
    inputs: [flowInput(V5_EXPORTER, payload)],
  });
  const max = (first: number, last: number) => ({
    src: LAN,
    dst: REMOTE,
    packets: U32_MAX,
    bytes: U32_MAX,
    firstUptimeMs: first,
    lastUptimeMs: last,
    srcPort: 443,
    dstPort: 50_000,
  });
  // The header's sampling field: mode 3, interval 2^14 - 1.
  const sampling = 0xffff;
  const uptime = U32_MAX;
  const first = uptime - 47_500;
  const last = uptime - 2_500;
  return [
    seed(
      "v5-counters-and-interval-max",
      "dPkts and dOctets 2^32-1, header sampling interval 16383 (mode bits set), 45 s",
      v5Packet({ sysUptimeMs: uptime, unixSecs: NOW_S, sampling }, [max(first, last)]),
    ),
    seed(
      "v5-30-records-max",
      "30 records (the most a v5 packet holds) of dOctets 2^32-1 x 16383",
      v5Packet(
        { sysUptimeMs: uptime, unixSecs: NOW_S, sampling },
        new Array(30).fill(max(first, last)),
      ),
    ),
    seed(
      "v5-49-days-long",
      "First 0, Last 2^32-1, sysUptime 2^32-1: 49.7 days long",
      v5Packet({ sysUptimeMs: uptime, unixSecs: NOW_S, sampling }, [max(0, U32_MAX)]),
    ),
    seed(
      "v5-last-before-first",
      "Last 45 s before First",
      v5Packet({ sysUptimeMs: uptime, unixSecs: NOW_S, sampling }, [max(last, first)]),
    ),
    seed(
      "v5-unix-secs-0",
      "header unix time 0: flows end in 1969",
      v5Packet({ sysUptimeMs: uptime, unixSecs: 0, sampling }, [max(first, last)]),
    ),
    seed(
      "v5-unix-secs-max",
      "header unix time 2^32-1 and nanoseconds 2^32-1: flows in 2106",
      v5Packet({ sysUptimeMs: uptime, unixSecs: U32_MAX, unixNsecs: U32_MAX, sampling }, [
        max(first, last),
      ]),
    ),
    seed(
      "v5-zero",
      "0 octets, 0 packets, sysUptime 0",
      v5Packet({ sysUptimeMs: 0, unixSecs: NOW_S }, [{ ...max(0, 0), packets: 0, bytes: 0 }]),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// sFlow v5

/** The 54-byte frame of a TCP segment whose IPv4 header claims 65535 bytes. */
function jumboClaimFrame(): Uint8Array {
  return ethernetTcpFrame({
    src: LAN,
    dst: REMOTE,
    srcPort: 443,
    dstPort: 50_000,
    flags: 0x18,
    ipLength: 65_535,
  });
}

function sflowSeeds(): ExtremeSeed[] {
  const seed = (name: string, why: string, payload: Uint8Array): ExtremeSeed => ({
    name,
    protocol: "sflow",
    why,
    inputs: [flowInput(SFLOW_AGENT, payload)],
  });
  const header: SflowFlowRecord = {
    kind: "header",
    frameLength: U32_MAX,
    header: jumboClaimFrame(),
  };
  const ipv4: SflowFlowRecord = {
    kind: "ipv4",
    length: U32_MAX,
    protocol: 6,
    src: LAN,
    dst: REMOTE,
    srcPort: 443,
    dstPort: 50_000,
  };
  const v6 = (last: number) =>
    Uint8Array.from([0x20, 0x01, 0x49, 0x58, 0x15, 0xa0, 0, 0x24, 0, 0, 0, 0, 0, 0, 0, last]);
  const ipv6: SflowFlowRecord = {
    kind: "ipv6",
    length: U32_MAX,
    protocol: 17,
    src: v6(1),
    dst: v6(2),
    srcPort: 53,
    dstPort: 53,
  };
  // As many flow samples of the sampled-IPv4 record as fit in the largest UDP payload.
  const many = new Array(800).fill({ kind: "flow", rate: U32_MAX, records: [ipv4] });
  return [
    seed(
      "sflow-rate-and-frame-length-max",
      "sampling rate 2^32-1, frame length 2^32-1, a sampled header whose IPv4 length says 65535",
      sflowDatagram({ agent: SFLOW_AGENT }, [{ kind: "flow", rate: U32_MAX, records: [header] }]),
    ),
    seed(
      "sflow-sampled-ipv4-length-max",
      "sampling rate 2^32-1 x a sampled-IPv4 record of length 2^32-1 (1.8e19 bytes)",
      sflowDatagram({ agent: SFLOW_AGENT }, [{ kind: "flow", rate: U32_MAX, records: [ipv4] }]),
    ),
    seed(
      "sflow-expanded-ipv6-max",
      "expanded flow sample: rate 2^32-1, interfaces 2^32-1, sampled-IPv6 length 2^32-1",
      sflowDatagram({ agent: SFLOW_AGENT }, [
        {
          kind: "flow",
          expanded: true,
          rate: U32_MAX,
          sourceId: U32_MAX,
          input: U32_MAX,
          output: U32_MAX,
          drops: U32_MAX,
          pool: U32_MAX,
          sequence: U32_MAX,
          records: [ipv6],
        },
      ]),
    ),
    seed(
      "sflow-rate-zero",
      "sampling rate 0",
      sflowDatagram({ agent: SFLOW_AGENT }, [{ kind: "flow", rate: 0, records: [header] }]),
    ),
    seed(
      "sflow-800-samples-max",
      "800 flow samples at rate 2^32-1 with sampled-IPv4 length 2^32-1 in one datagram",
      sflowDatagram({ agent: SFLOW_AGENT, uptimeMs: U32_MAX, sequence: U32_MAX }, many),
    ),
    seed(
      "sflow-agent-unknown",
      "agent address type 0, sample count 2^32-1 with one sample",
      sflowDatagram({ agent: "", sampleCount: U32_MAX }, [
        { kind: "flow", rate: U32_MAX, records: [header] },
      ]),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// The packet path: captured frames with their capture times

/** A TCP connection's first five packets (handshake, request, response) at the given times. */
function tcpExchange(times: readonly number[], ipLength?: number): PipelineInput[] {
  const c = { src: LAN, dst: REMOTE, srcPort: 50_000, dstPort: 443 };
  const s = { src: REMOTE, dst: LAN, srcPort: 443, dstPort: 50_000 };
  const len = ipLength === undefined ? {} : { ipLength };
  const frames = [
    ethernetTcpFrame({ ...c, flags: 0x02, seq: 1000, ...len }),
    ethernetTcpFrame({ ...s, flags: 0x12, seq: 5000, ack: 1001, ...len }),
    ethernetTcpFrame({ ...c, flags: 0x10, seq: 1001, ack: 5001, ...len }),
    ethernetTcpFrame({ ...c, flags: 0x18, seq: 1001, ack: 5001, payload: 100, ...len }),
    ethernetTcpFrame({ ...s, flags: 0x18, seq: 5001, ack: 1101, payload: 1000, ...len }),
  ];
  return frames.map((payload, k) => ({ source: "", payload, timeMs: times[k]! }));
}

function packetSeeds(): ExtremeSeed[] {
  const t = SEED_NOW_MS;
  return [
    {
      name: "packets-1970-to-2106",
      protocol: "packets",
      why: "a TCP exchange whose handshake is at the epoch and whose response is at 2^32-1 s",
      inputs: tcpExchange([0, 0.1, 0.2, 1, Y2106_MS]),
    },
    {
      name: "packets-time-backwards",
      protocol: "packets",
      why: "each packet of a TCP exchange 10 s before the one it answers",
      inputs: tcpExchange([t, t - 10_000, t - 20_000, t - 30_000, t - 40_000]),
    },
    {
      name: "packets-ip-length-65535",
      protocol: "packets",
      why: "54-byte frames whose IPv4 header claims 65535 bytes",
      inputs: tcpExchange([t, t + 1, t + 2, t + 3, t + 4], 65_535),
    },
    {
      name: "packets-nanoseconds-max",
      protocol: "packets",
      why: "capture time with 2^32-1 nanoseconds (4.29 s) within the second, at 2^32-1 s",
      inputs: tcpExchange([t, t, t, t, t]).map((f, k) => ({
        ...f,
        timeMs: k < 3 ? t : Y2106_MS,
        tsNsec: U32_MAX,
      })),
    },
    {
      name: "packets-zero-duration",
      protocol: "packets",
      why: "a whole TCP exchange within one nanosecond",
      inputs: tcpExchange([t, t, t, t, t]),
    },
  ];
}

/** Every seed, in a fixed order: the order they run in. */
export function extremeSeeds(): ExtremeSeed[] {
  return [...ipfixSeeds(), ...v9Seeds(), ...v5Seeds(), ...sflowSeeds(), ...packetSeeds()];
}

/** The seeds of one protocol, in order. */
export function extremeSeedsFor(protocol: PipelineProtocol): ExtremeSeed[] {
  return extremeSeeds().filter((s) => s.protocol === protocol);
}
