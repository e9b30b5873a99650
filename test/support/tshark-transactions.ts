/**
 * The SLA proof's reference from packets: tshark's HTTP transactions of a capture, each with the
 * total delay a user waited, counted per minute at a threshold. Independent of flowtally's code:
 * tshark pairs requests and responses (`http.request_in`, `http.time`) and reassembles them; this
 * file only reads its fields and does arithmetic on them, with times as integer nanoseconds
 * parsed from tshark's text (no float subtraction).
 *
 * Total delay, as docs/response-times.md defines it: the response's last packet − the request's
 * first packet + the client network delay (CND: the first SYN-ACK → the client's first ACK after
 * it). With tshark: `http.time` (request frame → response frame, both the frames a message is
 * reassembled in: the last segment of each), plus the request's own duration (its first segment,
 * `tcp.segment`, → its last), plus CND from the stream's handshake. Only streams whose handshake
 * tshark saw in order are counted (flowtally times nothing else). A transaction belongs to the
 * minute its response ended in.
 */
import { execFileSync } from "node:child_process";

export interface TsharkTransaction {
  stream: number;
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  /** The response's last packet, ns since the epoch. */
  endNs: bigint;
  totalDelayNs: bigint;
  /** tshark's http.time, ns. */
  httpTimeNs: bigint;
}

const FIELDS = [
  "frame.number",
  "frame.time_epoch",
  "tcp.stream",
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.flags.syn",
  "tcp.flags.ack",
  "tcp.flags.reset",
  "http.request",
  "http.response",
  "http.response.code",
  "http.time",
  "http.request_in",
  "tcp.segment",
] as const;

/** "1793527205.013717000" → 1793527205013717000n (tshark prints 9 decimals). */
export function parseNs(text: string): bigint {
  const [s, f = ""] = text.split(".");
  return BigInt(s!) * 1_000_000_000n + BigInt(`${f}000000000`.slice(0, 9));
}

/** What tshark saw of HTTP on one TCP stream. */
export interface TsharkStream {
  client: string;
  clientPort: number;
  serverPort: number;
  /** The handshake was seen (SYN, SYN-ACK, the client's ACK). */
  timed: boolean;
  requests: number;
  /** Final responses (not 1xx) tshark timed (`http.time`). */
  responses: number;
  /** Interim 1xx responses (100 Continue). */
  interim: number;
}

/** tshark's HTTP transactions of `capture` on handshake-timed TCP streams. */
export function tsharkTransactions(capture: string): TsharkTransaction[] {
  return tsharkHttp(capture).transactions;
}

/** tshark's HTTP transactions of `capture`, and per stream what it saw of HTTP. */
export function tsharkHttp(capture: string): {
  transactions: TsharkTransaction[];
  streams: Map<number, TsharkStream>;
} {
  const text = execFileSync(
    "tshark",
    [
      "-r",
      capture,
      "-Y",
      "tcp",
      "-T",
      "fields",
      "-E",
      "separator=\t",
      "-E",
      "occurrence=a",
      "-E",
      "aggregator=,",
      ...FIELDS.flatMap((f) => ["-e", f]),
    ],
    { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] },
  );
  const timeOf = new Map<number, bigint>();
  const byFrame = new Map<number, Record<(typeof FIELDS)[number], string>>();
  const rows = text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const v = l.split("\t");
      // Several occurrences (a tunnel's two IP headers): the first, except tcp.segment's list.
      const first = (f: string, x: string) => (f === "tcp.segment" ? x : (x.split(",")[0] ?? ""));
      const r = Object.fromEntries(FIELDS.map((f, i) => [f, first(f, v[i] ?? "")])) as Record<
        (typeof FIELDS)[number],
        string
      >;
      timeOf.set(Number(r["frame.number"]), parseNs(r["frame.time_epoch"]));
      byFrame.set(Number(r["frame.number"]), r);
      return r;
    });
  interface Hs {
    client?: string;
    synAck?: bigint;
    cndNs?: bigint;
    http: TsharkStream;
  }
  const streams = new Map<number, Hs>();
  const out: TsharkTransaction[] = [];
  for (const r of rows) {
    const stream = Number(r["tcp.stream"]);
    const src = `${r["ip.src"] || r["ipv6.src"]}|${r["tcp.srcport"]}`;
    const t = parseNs(r["frame.time_epoch"]);
    const syn = r["tcp.flags.syn"] === "1" || r["tcp.flags.syn"] === "True";
    const ack = r["tcp.flags.ack"] === "1" || r["tcp.flags.ack"] === "True";
    const rst = r["tcp.flags.reset"] === "1" || r["tcp.flags.reset"] === "True";
    let s = streams.get(stream);
    if (s === undefined) {
      s = {
        http: {
          client: "",
          clientPort: 0,
          serverPort: 0,
          timed: false,
          requests: 0,
          responses: 0,
          interim: 0,
        },
      };
      streams.set(stream, s);
    }
    if (syn && !ack) {
      if (s.client === undefined) s.client = src;
    } else if (syn && ack) {
      if (s.client !== undefined && s.synAck === undefined && src !== s.client) s.synAck = t;
    } else if (s.synAck !== undefined && s.cndNs === undefined && src === s.client && !rst) {
      s.cndNs = t - s.synAck;
      s.http.timed = true;
    }
    if (r["http.request"] !== "") {
      s.http.requests++;
      s.http.client = r["ip.src"] || r["ipv6.src"];
      s.http.clientPort = Number(r["tcp.srcport"]);
      s.http.serverPort = Number(r["tcp.dstport"]);
    }
    if (r["http.response"] !== "" && r["http.response.code"].startsWith("1")) s.http.interim++;
    else if (r["http.response"] !== "" && r["http.time"] !== "") s.http.responses++;
    if (r["http.response"] === "" || r["http.time"] === "") continue;
    if (r["http.response.code"].startsWith("1")) continue;
    if (s.cndNs === undefined) continue;
    // The request's frame is where it was reassembled; its first segment is the first frame
    // of `tcp.segment` (tshark lists them on the reassembled frame), else the frame itself.
    const requestFrame = Number(r["http.request_in"]);
    const requestRow = byFrame.get(requestFrame);
    const segments = (requestRow?.["tcp.segment"] ?? "")
      .split(",")
      .filter((x) => x !== "")
      .map(Number);
    const requestEnd = timeOf.get(requestFrame)!;
    const requestStart =
      segments.length > 0
        ? segments.map((f) => timeOf.get(f)!).reduce((a, b) => (b < a ? b : a))
        : requestEnd;
    const httpTimeNs = parseNs(r["http.time"]);
    out.push({
      stream,
      client: r["ip.dst"] || r["ipv6.dst"],
      clientPort: Number(r["tcp.dstport"]),
      server: r["ip.src"] || r["ipv6.src"],
      serverPort: Number(r["tcp.srcport"]),
      endNs: t,
      httpTimeNs,
      totalDelayNs: httpTimeNs + (requestEnd - requestStart) + s.cndNs,
    });
  }
  return {
    transactions: out,
    streams: new Map([...streams.entries()].map(([k, v]) => [k, v.http])),
  };
}

export interface MinuteCount {
  transactions: number;
  good: number;
}

/** Transactions and good ones (total delay under `thresholdMs`) per minute start (ms). */
export function countPerMinute(
  transactions: readonly TsharkTransaction[],
  thresholdMs: number,
): Map<number, MinuteCount> {
  const out = new Map<number, MinuteCount>();
  const threshold = BigInt(thresholdMs) * 1_000_000n;
  for (const t of transactions) {
    const minute = Number((t.endNs / 60_000_000_000n) * 60_000n);
    const c = out.get(minute) ?? { transactions: 0, good: 0 };
    c.transactions++;
    if (t.totalDelayNs < threshold) c.good++;
    out.set(minute, c);
  }
  return out;
}

/**
 * The service-level rule of docs/sla.md, written again here from the page (not imported): a minute
 * with transactions is compliant when good × 100 000 ≥ round(target × 1000) × transactions.
 */
export function referenceVerdict(
  c: MinuteCount | undefined,
  targetPercent: number,
): "compliant" | "breach" | "no-data" {
  if (c === undefined || c.transactions === 0) return "no-data";
  return BigInt(c.good) * 100_000n >=
    BigInt(Math.round(targetPercent * 1000)) * BigInt(c.transactions)
    ? "compliant"
    : "breach";
}
