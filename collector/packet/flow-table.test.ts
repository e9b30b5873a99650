import { describe, expect, it } from "vitest";
import { FlowBatch, type FlowRecord } from "../../schema/flow-record.js";
import { readFlowRecord } from "../decoders/flow-record-view.js";
import { createFlowTable, type FlowTableConfig } from "./flow-table.js";
import { PacketInfo } from "./packet-info.js";

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

function ip4(text: string): number {
  return text.split(".").reduce((a, b) => a * 256 + Number(b), 0);
}

interface PacketSpec {
  src: string;
  dst: string;
  sp?: number;
  dp?: number;
  protocol?: number;
  flags?: number;
  payload?: number;
  ipLength?: number;
  dscp?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** Fills `info` by hand as parsePacket would. IPv6 addresses as "6:<n>" (last byte = n). */
function fill(info: PacketInfo, p: PacketSpec): PacketInfo {
  info.reset();
  const protocol = p.protocol ?? 6;
  if (p.src.startsWith("6:")) {
    info.ipVersion = 6;
    info.src6[0] = 0x20;
    info.src6[1] = 0x01;
    info.src6[15] = Number(p.src.slice(2));
    info.dst6[0] = 0x20;
    info.dst6[1] = 0x01;
    info.dst6[15] = Number(p.dst.slice(2));
  } else {
    info.ipVersion = 4;
    info.src4 = ip4(p.src);
    info.dst4 = ip4(p.dst);
  }
  info.protocol = protocol;
  info.dscp = p.dscp ?? 0;
  const header = (info.ipVersion === 4 ? 20 : 40) + (protocol === 6 ? 20 : 8);
  info.ipLength = p.ipLength ?? header + (p.payload ?? 0);
  info.hasTransport = true;
  if (protocol === 6 || protocol === 17) {
    info.srcPort = p.sp ?? 0;
    info.dstPort = p.dp ?? 0;
  }
  if (protocol === 6) {
    info.tcpFlags = p.flags ?? ACK;
    info.tcpPayloadLength = p.payload ?? 0;
  }
  if (protocol === 1 || protocol === 58) {
    info.icmpType = p.icmpType ?? 0;
    info.icmpCode = p.icmpCode ?? 0;
  }
  return info;
}

function records(batch: FlowBatch): FlowRecord[] {
  const list: FlowRecord[] = [];
  for (let i = 0; i < batch.length; i++) list.push(readFlowRecord(batch, i));
  return list;
}

function setup(config: Partial<FlowTableConfig> = {}) {
  const table = createFlowTable({ maxFlows: 1024, ...config });
  const out = new FlowBatch(64);
  const info = new PacketInfo();
  const add = (tsMs: number, p: PacketSpec) =>
    table.add(fill(info, p), Math.floor(tsMs / 1000), (tsMs % 1000) * 1e6, out);
  return { table, out, add };
}

const T0 = 1_700_000_000_000;

describe("flow table", () => {
  it("keys both directions to one entry and exports one record per direction", () => {
    const { table, out, add } = setup();
    const a = { src: "10.0.0.1", dst: "192.0.2.7", sp: 40000, dp: 443 };
    const b = { src: "192.0.2.7", dst: "10.0.0.1", sp: 443, dp: 40000 };
    add(T0, { ...a, flags: SYN, dscp: 10 });
    add(T0 + 5, { ...b, flags: SYN | ACK });
    add(T0 + 6, { ...a, flags: ACK });
    add(T0 + 7, { ...a, flags: PSH | ACK, payload: 100 });
    add(T0 + 20, { ...b, flags: PSH | ACK, payload: 1000 });
    expect(table.size).toBe(1);
    expect(out.length).toBe(0);
    table.flushAll(out);
    expect(table.size).toBe(0);
    const [r1, r2] = records(out);
    expect(r1).toMatchObject({
      srcAddress: "10.0.0.1",
      dstAddress: "192.0.2.7",
      srcPort: 40000,
      dstPort: 443,
      protocol: 6,
      packets: 3,
      bytes: 40 + 40 + 140,
      tcpFlags: SYN | ACK | PSH,
      dscp: 10,
      startMs: T0,
      endMs: T0 + 7,
      samplingRate: 1,
      samplingSource: "unsampled",
    });
    expect(r2).toMatchObject({
      srcAddress: "192.0.2.7",
      dstAddress: "10.0.0.1",
      srcPort: 443,
      dstPort: 40000,
      packets: 2,
      bytes: 40 + 1040,
      tcpFlags: SYN | ACK | PSH,
      startMs: T0 + 5,
      endMs: T0 + 20,
    });
    expect(table.stats).toMatchObject({ packets: 5, flowsCreated: 1, flushed: 1, records: 2 });
  });

  it("keys IPv6 by the 16 address bytes", () => {
    const { table, out, add } = setup();
    add(T0, { src: "6:1", dst: "6:2", protocol: 17, sp: 53000, dp: 53, ipLength: 80 });
    add(T0 + 1, { src: "6:2", dst: "6:1", protocol: 17, sp: 53, dp: 53000, ipLength: 120 });
    add(T0 + 2, { src: "6:3", dst: "6:2", protocol: 17, sp: 53000, dp: 53, ipLength: 80 });
    expect(table.size).toBe(2);
    table.flushAll(out);
    expect(records(out).map((r) => [r.ipVersion, r.srcAddress, r.dstAddress, r.bytes])).toEqual([
      [6, "2001::1", "2001::2", 80],
      [6, "2001::2", "2001::1", 120],
      [6, "2001::3", "2001::2", 80],
    ]);
  });

  it("keys ICMP like NetFlow: destination port = type × 256 + code", () => {
    const { table, out, add } = setup();
    add(T0, { src: "10.0.0.1", dst: "10.0.0.2", protocol: 1, icmpType: 8, ipLength: 84 });
    add(T0 + 1, { src: "10.0.0.2", dst: "10.0.0.1", protocol: 1, icmpType: 0, ipLength: 84 });
    add(T0 + 2, { src: "10.0.0.1", dst: "10.0.0.2", protocol: 1, icmpType: 8, ipLength: 84 });
    add(T0 + 3, {
      src: "10.0.0.9",
      dst: "10.0.0.1",
      protocol: 1,
      icmpType: 3,
      icmpCode: 3,
      ipLength: 56,
    });
    table.flushAll(out);
    const list = records(out).sort((x, y) => x.startMs - y.startMs);
    expect(list.map((r) => [r.srcAddress, r.srcPort, r.dstPort, r.packets])).toEqual([
      ["10.0.0.1", 0, 0x0800, 2],
      ["10.0.0.2", 0, 0x0000, 1],
      ["10.0.0.9", 0, 0x0303, 1],
    ]);
  });

  it("ignores packets without an IP header", () => {
    const { table, out } = setup();
    const info = new PacketInfo();
    expect(table.add(info, T0 / 1000, 0, out)).toBe(false);
    expect(table.stats.ignoredPackets).toBe(1);
    expect(table.size).toBe(0);
  });

  it("expires idle entries, and add() runs the timeouts on packet time", () => {
    const { table, out, add } = setup({ idleTimeoutMs: 10_000 });
    const u = { src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, sp: 1, dp: 2 };
    add(T0, u);
    add(T0 + 1000, { ...u, sp: 3 });
    table.expire(T0 + 9_999, out);
    expect(out.length).toBe(0);
    table.expire(T0 + 10_000, out);
    expect(out.length).toBe(1);
    expect(table.stats.idleExpired).toBe(1);
    // A later packet sweeps the second entry out before it is counted.
    add(T0 + 20_000, { ...u, sp: 4 });
    expect(out.length).toBe(2);
    expect(records(out).map((r) => r.srcPort)).toEqual([1, 3]);
    expect(table.size).toBe(1);
  });

  it("exports long flows at the active timeout with the counts since the last export", () => {
    const { table, out, add } = setup({ activeTimeoutMs: 60_000, idleTimeoutMs: 15_000 });
    const up = { src: "10.0.0.1", dst: "10.0.0.2", sp: 5000, dp: 80, ipLength: 1000 };
    const down = { src: "10.0.0.2", dst: "10.0.0.1", sp: 80, dp: 5000, ipLength: 1500 };
    let sent = 0;
    for (let t = 0; t < 150_000; t += 500) {
      add(T0 + t, up);
      if (t % 1000 === 0) add(T0 + t, down);
      sent++;
    }
    table.flushAll(out);
    const list = records(out);
    expect(table.stats.activeExports).toBe(2);
    const upRecords = list.filter((r) => r.srcAddress === "10.0.0.1");
    expect(upRecords.length).toBe(3);
    expect(upRecords.reduce((a, r) => a + r.packets, 0)).toBe(sent);
    expect(upRecords.reduce((a, r) => a + r.bytes, 0)).toBe(sent * 1000);
    expect(list.filter((r) => r.srcAddress === "10.0.0.2").reduce((a, r) => a + r.bytes, 0)).toBe(
      150 * 1500,
    );
    // The first export covers [T0, T0 + 60 s): the sweep that found it due ran at T0 + 60 s.
    expect(upRecords[0]).toMatchObject({ startMs: T0, endMs: T0 + 59_500 });
    expect(upRecords[1]!.startMs).toBe(T0 + 60_000);
  });

  it("removes TCP entries a linger after FIN both ways or RST, counting the last ACK", () => {
    const { table, out, add } = setup({ tcpCloseLingerMs: 2000 });
    const a = { src: "10.0.0.1", dst: "10.0.0.2", sp: 5000, dp: 80 };
    const b = { src: "10.0.0.2", dst: "10.0.0.1", sp: 80, dp: 5000 };
    add(T0, { ...a, flags: FIN | ACK });
    add(T0 + 1, { ...b, flags: FIN | ACK });
    add(T0 + 2, { ...a, flags: ACK });
    table.expire(T0 + 2000, out);
    expect(out.length).toBe(0);
    table.expire(T0 + 2001, out);
    expect(records(out).map((r) => r.packets)).toEqual([2, 1]);
    expect(table.stats.tcpClosed).toBe(1);
    out.clear();
    add(T0 + 10_000, { ...a, sp: 5001, flags: RST });
    table.expire(T0 + 12_000, out);
    expect(out.length).toBe(1);
    expect(table.stats.tcpClosed).toBe(2);
  });

  it("starts a new entry when a SYN reuses the 5-tuple of a closed connection", () => {
    const { table, out, add } = setup();
    const a = { src: "10.0.0.1", dst: "10.0.0.2", sp: 5000, dp: 80 };
    add(T0, { ...a, flags: SYN });
    add(T0 + 1, { ...a, flags: RST });
    add(T0 + 100, { ...a, flags: SYN });
    expect(table.stats.tcpReused).toBe(1);
    expect(out.length).toBe(1);
    table.flushAll(out);
    expect(records(out).map((r) => [r.packets, r.startMs])).toEqual([
      [2, T0],
      [1, T0 + 100],
    ]);
  });

  it("evicts the least recently active entry when full and never loses its counts", () => {
    const { table, out, add } = setup({ maxFlows: 4 });
    const u = (sp: number) => ({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, sp, dp: 9 });
    for (let sp = 1; sp <= 4; sp++) add(T0 + sp, u(sp));
    add(T0 + 5, u(1)); // 1 is now the most recent; 2 is the least
    add(T0 + 6, u(5));
    expect(table.stats.evictions).toBe(1);
    expect(records(out).map((r) => r.srcPort)).toEqual([2]);
    for (let sp = 6; sp <= 20; sp++) add(T0 + sp, u(sp));
    table.flushAll(out);
    const list = records(out);
    expect(table.stats.evictions).toBe(16);
    expect(list.reduce((a, r) => a + r.packets, 0)).toBe(21);
    expect(list.filter((r) => r.srcPort === 1).reduce((a, r) => a + r.packets, 0)).toBe(2);
  });

  it("agrees with a Map model under random traffic, removals and eviction", () => {
    // A small table with a busy index: exercises probing and backward-shift deletion.
    const table = createFlowTable({
      maxFlows: 64,
      idleTimeoutMs: 200,
      activeTimeoutMs: 400,
      sweepIntervalMs: 10,
    });
    const out = new FlowBatch(64);
    const info = new PacketInfo();
    const sent = new Map<string, { packets: number; bytes: number }>();
    let seed = 12345;
    const rand = (k: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const got = new Map<string, { packets: number; bytes: number }>();
    const drain = () => {
      for (const r of records(out)) {
        const key = `${r.srcAddress}|${r.dstAddress}|${r.srcPort}|${r.dstPort}|${r.protocol}`;
        const g = got.get(key) ?? { packets: 0, bytes: 0 };
        g.packets += r.packets;
        g.bytes += r.bytes;
        got.set(key, g);
      }
      out.clear();
    };
    for (let k = 0; k < 30_000; k++) {
      const h1 = 1 + rand(40);
      const h2 = rand(40);
      const v6 = rand(4) === 0;
      const forward = rand(2) === 0;
      const src = v6 ? `6:${h1}` : `10.0.0.${h1}`;
      const dst = v6 ? `6:${100 + h2}` : `10.0.1.${h2}`;
      const sp = 1000 + rand(3);
      const protocol = rand(2) === 0 ? 6 : 17;
      const p = forward
        ? { src, dst, sp, dp: 80, protocol, ipLength: 40 + rand(1400) }
        : { src: dst, dst: src, sp: 80, dp: sp, protocol, ipLength: 40 + rand(1400) };
      const ms = T0 + k + 1000 * Math.floor(k / 5000);
      table.add(fill(info, p), Math.floor(ms / 1000), (ms % 1000) * 1e6, out);
      const text = (a: string) =>
        a.startsWith("6:") ? `2001::${Number(a.slice(2)).toString(16)}` : a;
      const key = `${text(p.src)}|${text(p.dst)}|${p.sp}|${p.dp}|${protocol}`;
      const s = sent.get(key) ?? { packets: 0, bytes: 0 };
      s.packets++;
      s.bytes += p.ipLength;
      sent.set(key, s);
      if (out.length > 32) drain();
    }
    table.flushAll(out);
    drain();
    expect(table.stats.evictions).toBeGreaterThan(0);
    expect(table.stats.idleExpired).toBeGreaterThan(0);
    expect(got).toEqual(sent);
  });

  it("rejects a bad configuration with the field's name", () => {
    expect(() => createFlowTable({ maxFlows: 0 })).toThrow(/maxFlows/);
    expect(() => createFlowTable({ idleTimeoutMs: -1 })).toThrow(/idleTimeoutMs/);
  });
});
