/**
 * TCP response times on hand-built packet sequences. Times are given in microseconds from an
 * arbitrary origin; each test states the expected figures from the definitions:
 *   SND = SYN-ACK − SYN, CND = ACK − SYN-ACK,
 *   server delay = first response data − last request data − SND,
 *   total delay = last response data − first request data + CND.
 */
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../../schema/flow-record.js";
import { readFlowRecord } from "../decoders/flow-record-view.js";
import { createFlowTable } from "./flow-table.js";
import { PacketInfo } from "./packet-info.js";
import type { TcpTransaction } from "./tcp-timing.js";

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

const T0 = 1_700_000_000_000_000; // µs
const T0_SEC = 1_700_000_000;

/** Adds a packet at T0 + us (us may carry a nanosecond fraction). */
function addAt(
  table: ReturnType<typeof createFlowTable>,
  info: PacketInfo,
  us: number,
  out: FlowBatch,
) {
  const ns = Math.round(us * 1000);
  table.add(info, T0_SEC + Math.floor(ns / 1e9), ns % 1e9, out);
}

type Copy = Omit<TcpTransaction, "flow"> & { client: string; server: string; cport: number };

function harness(isn = { c: 1000, s: 5000 }) {
  const got: Copy[] = [];
  const table = createFlowTable(
    { maxFlows: 64 },
    {
      onTransaction: (t) => {
        const r = readFlowRecord(t.flow, 0);
        const { flow: _flow, ...rest } = t;
        got.push({ ...rest, client: r.srcAddress, server: r.dstAddress, cport: r.srcPort });
      },
    },
  );
  const out = new FlowBatch(64);
  const info = new PacketInfo();
  const seq = { c: isn.c >>> 0, s: isn.s >>> 0 };
  /** A packet from the client ("c") or the server ("s") at T0 + us. */
  function send(
    from: "c" | "s",
    us: number,
    flags: number,
    payload = 0,
    opts: { seq?: number; cport?: number; ack?: number } = {},
  ): void {
    info.reset();
    info.ipVersion = 4;
    info.protocol = 6;
    info.hasTransport = true;
    const c = 0x0a000001;
    const s = 0xc0000207;
    const cport = opts.cport ?? 40000;
    info.src4 = from === "c" ? c : s;
    info.dst4 = from === "c" ? s : c;
    info.srcPort = from === "c" ? cport : 80;
    info.dstPort = from === "c" ? 80 : cport;
    info.tcpFlags = flags;
    info.tcpPayloadLength = payload;
    info.ipLength = 40 + payload;
    const own = opts.seq ?? seq[from];
    info.tcpSeq = own >>> 0;
    info.tcpAck = (opts.ack ?? 0) >>> 0;
    if (opts.seq === undefined) {
      seq[from] = (own + payload + ((flags & (SYN | FIN)) !== 0 ? 1 : 0)) >>> 0;
    }
    addAt(table, info, us, out);
  }
  function handshake(syn = 0, synAck = 30_000, ack = 30_500): void {
    send("c", syn, SYN);
    send("s", synAck, SYN | ACK);
    send("c", ack, ACK);
  }
  return { table, out, got, send, handshake, seq };
}

describe("TCP timing", () => {
  it("times keep-alive HTTP transactions", () => {
    const h = harness();
    h.handshake(0, 30_000, 30_500); // SND 30 ms, CND 0.5 ms
    // Transaction 1: a 2-packet request, a 3-packet response.
    h.send("c", 31_000, PSH | ACK, 600);
    h.send("c", 31_100, PSH | ACK, 200);
    h.send("s", 61_100, ACK);
    h.send("s", 111_100, ACK, 1400); // server delay = 111.1 − 31.1 − 30 = 50 ms
    h.send("s", 111_200, ACK, 1400);
    h.send("s", 111_300, PSH | ACK, 100);
    h.send("c", 111_400, ACK);
    expect(h.got).toHaveLength(0);
    // Transaction 2 starts with new client data and ends the first.
    h.send("c", 2_000_000, PSH | ACK, 300);
    expect(h.got).toHaveLength(1);
    h.send("s", 2_040_000, PSH | ACK, 500); // server delay = 40 − 30 = 10 ms
    h.send("c", 2_060_000, FIN | ACK);
    h.send("s", 2_090_000, FIN | ACK); // the server's FIN ends transaction 2
    expect(h.got).toHaveLength(2);
    const [t1, t2] = h.got;
    expect(t1).toMatchObject({
      client: "10.0.0.1",
      server: "192.0.2.7",
      cport: 40000,
      index: 1,
      serverNetworkDelayUs: 30_000,
      clientNetworkDelayUs: 500,
      networkDelayUs: 30_500,
      requestStartUs: T0 + 31_000,
      requestEndUs: T0 + 31_100,
      responseStartUs: T0 + 111_100,
      responseEndUs: T0 + 111_300,
      serverDelayUs: 50_000,
      totalDelayUs: 111_300 - 31_000 + 500,
      requestBytes: 800,
      responseBytes: 2900,
      requestPackets: 2,
      responsePackets: 3,
      requestRetransmissions: 0,
      responseRetransmissions: 0,
    });
    expect(t2).toMatchObject({
      index: 2,
      serverDelayUs: 10_000,
      totalDelayUs: 40_000 + 500,
      requestBytes: 300,
      responseBytes: 500,
    });
    expect(h.table.tcpStats).toMatchObject({ timedConnections: 1, transactions: 2 });
  });

  it("rounds delays from the exact nanosecond times (ndpi__sites.pcapng stream 11)", () => {
    const h = harness();
    // SYN .915877500, SYN-ACK .944153787, ACK .945895238: CND is 1741.451 µs, which
    // whole-µs timestamps would make 1742.
    h.handshake(915_877.5, 944_153.787, 945_895.238);
    h.send("c", 945_900, PSH | ACK, 10);
    h.send("s", 970_000.9, PSH | ACK, 10);
    h.send("s", 970_001, FIN | ACK);
    expect(h.got[0]).toMatchObject({
      serverNetworkDelayUs: 28_276,
      clientNetworkDelayUs: 1741,
      networkDelayUs: 30_018,
      // 970 000.9 - 945 900 - SND (28 276.287) = -4175.387: the response came sooner after the
      // request than the SYN-ACK after the SYN, so the server's own delay is 0.
      serverDelayUs: 0,
      firstResponseUs: 24_101,
    });
  });

  it("fills the ART columns of the transaction's flow row", () => {
    const h = harness();
    let art: number[] = [];
    const table = createFlowTable(
      {},
      {
        onTransaction: (t) => {
          art = [
            t.flow.clientNetworkDelayUs[0]!,
            t.flow.serverNetworkDelayUs[0]!,
            t.flow.applicationDelayUs[0]!,
          ];
        },
      },
    );
    const info = new PacketInfo();
    const out = new FlowBatch();
    const pkt = (fromClient: boolean, us: number, flags: number, seq: number, payload = 0) => {
      info.reset();
      info.ipVersion = 4;
      info.protocol = 6;
      info.hasTransport = true;
      info.src4 = fromClient ? 1 : 2;
      info.dst4 = fromClient ? 2 : 1;
      info.srcPort = fromClient ? 1234 : 80;
      info.dstPort = fromClient ? 80 : 1234;
      info.tcpFlags = flags;
      info.tcpSeq = seq;
      info.tcpPayloadLength = payload;
      info.ipLength = 40 + payload;
      addAt(table, info, us, out);
    };
    pkt(true, 0, SYN, 0);
    pkt(false, 10, SYN | ACK, 0);
    pkt(true, 13, ACK, 1);
    pkt(true, 20, PSH | ACK, 1, 10);
    pkt(false, 100, PSH | ACK, 1, 10);
    pkt(false, 200, RST, 11);
    expect(art).toEqual([3, 10, 70]);
    expect(h.got).toEqual([]);
  });

  it("merges pipelined requests sent before any response into one transaction", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    h.send("c", 11_000, PSH | ACK, 100); // request 1
    h.send("c", 11_050, PSH | ACK, 100); // request 2, pipelined
    h.send("s", 40_000, PSH | ACK, 1000); // response 1
    h.send("s", 45_000, PSH | ACK, 1000); // response 2
    h.send("c", 46_000, RST | ACK);
    expect(h.got).toHaveLength(1);
    expect(h.got[0]).toMatchObject({
      requestPackets: 2,
      responsePackets: 2,
      serverDelayUs: 40_000 - 11_050 - 10_000,
      totalDelayUs: 45_000 - 11_000 + 100,
    });
  });

  it("counts a server delay under the handshake's round trip as 0, never negative", () => {
    const h = harness();
    // SYN-ACK 50 ms after the SYN (a slow handshake), then the response 10 ms after the request.
    h.handshake(0, 50_000, 50_100);
    h.send("c", 60_000, PSH | ACK, 100);
    h.send("s", 70_000, PSH | ACK, 1000);
    h.send("c", 71_000, RST | ACK);
    expect(h.got).toHaveLength(1);
    expect(h.got[0]).toMatchObject({
      serverDelayUs: 0,
      serverNetworkDelayUs: 50_000,
      totalDelayUs: 70_000 - 60_000 + 100,
    });
  });

  it("counts retransmissions per side without starting a new transaction", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    const reqSeq = h.seq.c;
    h.send("c", 11_000, PSH | ACK, 500);
    h.send("c", 211_000, PSH | ACK, 500, { seq: reqSeq }); // request retransmitted
    const respSeq = h.seq.s;
    h.send("s", 230_000, ACK, 1400);
    h.send("s", 231_000, ACK, 1400);
    h.send("s", 450_000, ACK, 1400, { seq: respSeq }); // response retransmitted
    h.send("c", 451_000, PSH | ACK, 500, { seq: reqSeq }); // late duplicate of the request
    h.send("s", 452_000, FIN | ACK);
    expect(h.got).toHaveLength(1);
    expect(h.got[0]).toMatchObject({
      requestPackets: 2,
      requestEndUs: T0 + 211_000,
      responseEndUs: T0 + 450_000,
      requestRetransmissions: 2,
      responseRetransmissions: 1,
      serverDelayUs: 230_000 - 211_000 - 10_000,
    });
    expect(h.table.tcpStats?.retransmissions).toBe(3);
  });

  it("does not extend a response by a spurious retransmission (data the client had ACKed)", () => {
    // ndpi__1kxun.pcap stream 7: the server sent the response's last segment again 253 ms after
    // the client had acknowledged it (tshark: "TCP Spurious Retransmission"); the user was not
    // waiting for it, and tshark's http.time ends at the first copy.
    const h = harness({ c: 1000, s: 0xffff_ff00 }); // the server's sequence numbers wrap
    h.handshake(0, 10_000, 10_100);
    h.send("c", 11_000, PSH | ACK, 500);
    const respSeq = h.seq.s;
    h.send("s", 60_000, ACK, 1400);
    h.send("s", 61_000, PSH | ACK, 400);
    const acked = (respSeq + 1800) >>> 0;
    h.send("c", 61_500, ACK, 0, { ack: acked });
    h.send("s", 314_000, PSH | ACK, 400, { seq: (respSeq + 1400) >>> 0 }); // spurious
    // A retransmission the client had not acknowledged still extends the response.
    h.send("c", 400_000, PSH | ACK, 500);
    const resp2 = h.seq.s;
    h.send("s", 420_000, PSH | ACK, 300);
    h.send("c", 420_500, ACK, 0, { ack: acked }); // a stale ACK: nothing of response 2
    h.send("s", 650_000, PSH | ACK, 300, { seq: resp2 }); // lost after the monitor, sent again
    h.send("s", 651_000, FIN | ACK);
    expect(h.got).toHaveLength(2);
    expect(h.got[0]).toMatchObject({
      responseEndUs: T0 + 61_000,
      totalDelayUs: 61_000 - 11_000 + 100,
      responsePackets: 3,
      responseBytes: 2200,
      responseRetransmissions: 1,
    });
    expect(h.got[1]).toMatchObject({
      responseEndUs: T0 + 650_000,
      totalDelayUs: 650_000 - 400_000 + 100,
      responseRetransmissions: 1,
    });
  });

  it("tells out-of-order segments from retransmissions", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    h.send("c", 11_000, PSH | ACK, 100);
    const base = h.seq.s;
    h.send("s", 40_000, ACK, 1000, { seq: base });
    h.send("s", 40_100, ACK, 1000, { seq: base + 2000 }); // jumps ahead: gap [1000, 2000)
    h.send("s", 40_200, ACK, 1000, { seq: base + 1000 }); // fills the gap
    h.send("s", 40_300, ACK, 1000, { seq: base + 1000 }); // now that range was seen
    expect(h.table.tcpStats).toMatchObject({ outOfOrder: 1, retransmissions: 1 });
  });

  it("does not time connections seen without their handshake", () => {
    const h = harness();
    h.send("c", 0, PSH | ACK, 100);
    h.send("s", 20_000, PSH | ACK, 1000);
    h.send("c", 30_000, PSH | ACK, 100);
    h.send("c", 30_100, PSH | ACK, 100, { seq: h.seq.c - 100 }); // retransmission still counted
    h.send("s", 60_000, FIN | ACK);
    expect(h.got).toEqual([]);
    expect(h.table.tcpStats).toMatchObject({
      untimedConnections: 1,
      timedConnections: 0,
      retransmissions: 1,
    });
  });

  it("emits the open transaction on RST and counts unanswered requests", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    h.send("c", 11_000, PSH | ACK, 100);
    h.send("s", 31_000, PSH | ACK, 100);
    h.send("s", 31_500, RST);
    expect(h.got).toHaveLength(1);
    const h2 = harness();
    h2.handshake(0, 10_000, 10_100);
    h2.send("c", 11_000, PSH | ACK, 100);
    h2.send("s", 31_000, RST | ACK);
    expect(h2.got).toHaveLength(0);
    expect(h2.table.tcpStats?.unansweredRequests).toBe(1);
  });

  it("emits what is pending when the flow leaves the table", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    h.send("c", 11_000, PSH | ACK, 100);
    h.send("s", 31_000, PSH | ACK, 100);
    h.table.flushAll(h.out);
    expect(h.got).toHaveLength(1);
  });

  it("does not time a simultaneous open", () => {
    const h = harness();
    h.send("c", 0, SYN);
    h.send("s", 100, SYN);
    h.send("s", 200, SYN | ACK, 0, { seq: h.seq.s - 1 });
    h.send("c", 300, SYN | ACK, 0, { seq: h.seq.c - 1 });
    h.send("c", 400, PSH | ACK, 100);
    h.send("s", 500, PSH | ACK, 100);
    h.table.flushAll(h.out);
    expect(h.got).toEqual([]);
    expect(h.table.tcpStats).toMatchObject({ simultaneousOpens: 1, untimedConnections: 1 });
  });

  it("times SND from the last SYN when the SYN was retransmitted (as tshark's iRTT)", () => {
    const h = harness();
    h.send("c", 0, SYN);
    h.send("c", 1_000_000, SYN, 0, { seq: h.seq.c - 1 });
    h.send("s", 1_020_000, SYN | ACK);
    h.send("c", 1_020_300, ACK);
    h.send("c", 1_021_000, PSH | ACK, 10);
    h.send("s", 1_050_000, PSH | ACK, 10);
    h.send("s", 1_060_000, FIN | ACK);
    expect(h.got[0]).toMatchObject({
      serverNetworkDelayUs: 20_000,
      clientNetworkDelayUs: 300,
      networkDelayUs: 20_300,
    });
    expect(h.table.tcpStats?.synRetransmissions).toBe(1);
  });

  it("ignores server banners and keep-alive probes", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    h.send("s", 10_200, PSH | ACK, 50); // "220 smtp ready"
    h.send("c", 20_000, PSH | ACK, 10); // EHLO
    h.send("s", 40_000, PSH | ACK, 100);
    h.send("c", 100_000, ACK, 1, { seq: h.seq.c - 1 }); // keep-alive probe
    h.send("c", 200_000, PSH | ACK, 10); // QUIT
    h.send("s", 215_000, PSH | ACK, 10);
    h.send("s", 215_100, FIN | ACK);
    expect(h.got.map((t) => t.serverDelayUs)).toEqual([20_000 - 10_000, 5_000]);
    expect(h.table.tcpStats).toMatchObject({
      unsolicitedServerSegments: 1,
      keepAlives: 1,
      retransmissions: 0,
    });
  });

  it("lets the server finish a response after the client's FIN (half-close)", () => {
    const h = harness();
    h.handshake(0, 10_000, 10_100);
    h.send("c", 11_000, PSH | ACK, 100);
    h.send("c", 11_100, FIN | ACK);
    h.send("s", 50_000, PSH | ACK, 1000);
    h.send("s", 50_100, FIN | PSH | ACK, 1000);
    expect(h.got).toHaveLength(1);
    expect(h.got[0]).toMatchObject({ responseBytes: 2000, responseEndUs: T0 + 50_100 });
  });

  it("handles sequence numbers wrapping at 2^32", () => {
    const h = harness({ c: 0xffffff00, s: 0xfffffff0 });
    h.handshake(0, 10_000, 10_100);
    for (let k = 0; k < 4; k++) {
      h.send("c", 11_000 + 1000 * k, PSH | ACK, 100); // crosses 2^32 on the 3rd request
      h.send("s", 31_000 + 1000 * k, PSH | ACK, 100); // crosses 2^32 on the 1st response
    }
    expect(h.seq.c).toBeLessThan(0x1000);
    h.send("s", 40_000, PSH | ACK, 100, { seq: h.seq.s - 100 }); // a real retransmission
    h.send("s", 41_000, FIN | ACK);
    expect(h.got).toHaveLength(4);
    expect(h.table.tcpStats).toMatchObject({ retransmissions: 1, outOfOrder: 0 });
    expect(h.got.map((t) => t.serverDelayUs)).toEqual([10_000, 10_000, 10_000, 10_000]);
    expect(h.got[3]?.responseRetransmissions).toBe(1);
  });

  it("keeps response-time state bounded with the table (eviction emits)", () => {
    const got: number[] = [];
    const table = createFlowTable({ maxFlows: 2 }, { onTransaction: (t) => got.push(t.index) });
    const info = new PacketInfo();
    const out = new FlowBatch();
    const pkt = (
      cport: number,
      fromClient: boolean,
      us: number,
      flags: number,
      seq: number,
      payload = 0,
    ) => {
      info.reset();
      info.ipVersion = 4;
      info.protocol = 6;
      info.hasTransport = true;
      info.src4 = fromClient ? 1 : 2;
      info.dst4 = fromClient ? 2 : 1;
      info.srcPort = fromClient ? cport : 80;
      info.dstPort = fromClient ? 80 : cport;
      info.tcpFlags = flags;
      info.tcpSeq = seq;
      info.tcpPayloadLength = payload;
      info.ipLength = 40 + payload;
      addAt(table, info, us, out);
    };
    for (let c = 0; c < 5; c++) {
      const t = c * 1000;
      pkt(c, true, t, SYN, 0);
      pkt(c, false, t + 1, SYN | ACK, 0);
      pkt(c, true, t + 2, ACK, 1);
      pkt(c, true, t + 3, PSH | ACK, 1, 10);
      pkt(c, false, t + 4, PSH | ACK, 1, 10);
    }
    expect(table.stats.evictions).toBe(3);
    expect(got).toEqual([1, 1, 1]);
  });
});
