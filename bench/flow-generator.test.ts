/**
 * The end-to-end benchmark's traffic generator: every datagram decodes with the project's decoder
 * without a problem or a sequence gap, each record's fields are what the bytes say, and the
 * ground truth equals the decoded records summed by prefix membership computed here, and the
 * attribution of flowtally's own classifier over the generated config.
 */
import { describe, expect, it } from "vitest";
import { Direction, UNATTRIBUTED } from "../collector/aggregate/partial-sums.js";
import { createAttribution, createClassifier } from "../collector/classify/classifier.js";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { createFlowDecoder } from "../collector/decoders/flow-decoder.js";
import { parseConfigText } from "../config/load-config.js";
import { FlowBatch } from "../schema/flow-record.js";
import {
  createFlowGenerator,
  customersByNetwork,
  type FlowGeneratorOptions,
  flowtallyConfigYaml,
  generateDatagrams,
  networksFile,
  type TrafficTotals,
} from "./flow-generator.js";

const START_MS = 1_790_000_000_123;
const EXPORTER = "127.0.0.1";
const RECORDS = 20_000;
const CUSTOMERS = 50;

function options(version: 9 | 10, extra: Partial<FlowGeneratorOptions> = {}): FlowGeneratorOptions {
  return {
    seed: 7,
    customers: CUSTOMERS,
    version,
    startMs: START_MS,
    recordsPerSecond: 50_000,
    templateEvery: 16,
    domain: 3,
    ...extra,
  };
}

function zero(): TrafficTotals {
  return { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 };
}

/** The customer a decoded address belongs to, from the address plan alone; -1 for none. */
function ownerV4(a: number): number {
  return a >>> 24 === 10 ? (a >>> 8) & 0xffff : -1;
}

function ownerV6(b: Uint8Array, off: number, ipv6Every: number): number {
  const isDoc =
    b[off] === 0x20 && b[off + 1] === 0x01 && b[off + 2] === 0x0d && b[off + 3] === 0xb8;
  return isDoc ? ((b[off + 4]! << 8) | b[off + 5]!) * ipv6Every : -1;
}

const u64 = (v: DataView, off: number) => v.getUint32(off) * 4294967296 + v.getUint32(off + 4);

describe.each([9, 10] as const)("flow generator, NetFlow version %i", (version) => {
  it("decodes without problems or sequence gaps, record by record as written", () => {
    const gen = createFlowGenerator(options(version));
    const pack = generateDatagrams(gen, RECORDS);
    const truth = gen.truth();
    expect(truth.records).toBe(RECORDS);
    expect(truth.datagrams).toBe(pack.datagrams);
    expect(pack.recordCounts.reduce((n, c) => n + c, 0)).toBe(RECORDS);

    const decoder = createFlowDecoder();
    const batch = new FlowBatch(64);
    const hl = version === 9 ? 20 : 16;
    const sums = new Map<number, TrafficTotals>();
    const unattributed = { bytes: 0, packets: 0, flows: 0 };
    let records = 0;
    let v6Records = 0;
    let templates = 0;
    let lastSequence = -1;
    let dataSinceTemplate = 0;
    // Per-field checks collect mismatches (one expect per field would take seconds).
    const failures: string[] = [];
    const eq = (k: number, i: number, what: string, got: unknown, want: unknown) => {
      if (got !== want && failures.length < 20)
        failures.push(`datagram ${k} record ${i} ${what}: ${got} !== ${want}`);
    };
    const ok = (k: number, i: number, what: string, cond: boolean) => {
      if (!cond && failures.length < 20) failures.push(`datagram ${k} record ${i}: ${what}`);
    };

    for (let k = 0; k < pack.datagrams; k++) {
      const d = pack.bytes.subarray(pack.offsets[k]!, pack.offsets[k + 1]!);
      const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
      expect(view.getUint16(0)).toBe(version);
      const setId = view.getUint16(hl);
      const isTemplate = setId === (version === 9 ? 0 : 2);
      // The stream starts with a template datagram and repeats it every `templateEvery`.
      if (k === 0) expect(isTemplate).toBe(true);
      if (isTemplate) {
        expect(k === 0 || dataSinceTemplate === 16).toBe(true);
        templates++;
        dataSinceTemplate = 0;
      } else dataSinceTemplate++;
      // Sequence numbers: v9 counts export packets, IPFIX data records before the message.
      const sequence = view.getUint32(version === 9 ? 12 : 8);
      expect(sequence).toBe(version === 9 ? k : records);
      expect(sequence >= lastSequence).toBe(true);
      lastSequence = sequence;
      if (version === 10) expect(view.getUint16(2)).toBe(d.byteLength);
      else if (!isTemplate) expect(view.getUint16(2)).toBe(pack.recordCounts[k]);
      const exportSeconds = view.getUint32(version === 9 ? 8 : 4);

      batch.clear();
      const n = decoder.decode(d, EXPORTER, exportSeconds * 1000 + 5, batch);
      expect(n).toBe(pack.recordCounts[k]);
      if (isTemplate) continue;

      // Read the raw record back by the template layout and compare with the decoded row.
      const family = setId === 256 ? 4 : 6;
      const addrLen = family === 4 ? 4 : 16;
      const recLen = 2 * addrLen + 15 + 16 + (version === 9 ? 8 : 16);
      for (let i = 0; i < n; i++) {
        const at = hl + 4 + i * recLen;
        const ports = at + 2 * addrLen;
        eq(k, i, "batch.version[i]", batch.version[i], version);
        eq(k, i, "batch.domain[i]", batch.domain[i], 3);
        eq(k, i, "batch.ipVersion[i]", batch.ipVersion[i], family);
        eq(k, i, "batch.srcPort[i]", batch.srcPort[i], view.getUint16(ports));
        eq(k, i, "batch.dstPort[i]", batch.dstPort[i], view.getUint16(ports + 2));
        eq(k, i, "batch.protocol[i]", batch.protocol[i], view.getUint8(ports + 4));
        ok(k, i, "protocol 1/6/17", [1, 6, 17].includes(batch.protocol[i]!));
        eq(k, i, "batch.tcpFlags[i]", batch.tcpFlags[i], view.getUint8(ports + 5));
        eq(k, i, "batch.dscp[i]", batch.dscp[i], view.getUint8(ports + 6) >>> 2);
        eq(k, i, "batch.inIf[i]", batch.inIf[i], view.getUint32(ports + 7));
        eq(k, i, "batch.outIf[i]", batch.outIf[i], view.getUint32(ports + 11));
        const bytes = u64(view, ports + 15);
        const packets = u64(view, ports + 23);
        eq(k, i, "batch.bytes[i]", batch.bytes[i], bytes);
        eq(k, i, "batch.packets[i]", batch.packets[i], packets);
        ok(k, i, "bytes / packets >= 40", bytes / packets >= 40);
        ok(k, i, "bytes / packets <= 1500", bytes / packets <= 1500);
        const start = batch.startMs[i]!;
        const end = batch.endMs[i]!;
        if (version === 10) {
          eq(k, i, "start", start, u64(view, ports + 31));
          eq(k, i, "end", end, u64(view, ports + 39));
        } else {
          // FIRST/LAST_SWITCHED are sysUptime ms; the header pairs sysUptime with unix seconds.
          const uptime = view.getUint32(4);
          eq(k, i, "start", start, exportSeconds * 1000 - (uptime - view.getUint32(ports + 31)));
          eq(k, i, "end", end, exportSeconds * 1000 - (uptime - view.getUint32(ports + 35)));
        }
        ok(k, i, "end <= exportSeconds * 1000", end <= exportSeconds * 1000);
        ok(k, i, "end > exportSeconds * 1000 - 2000", end > exportSeconds * 1000 - 2000);
        ok(k, i, "end - start >= 0", end - start >= 0);
        ok(k, i, "end - start < 30_000", end - start < 30_000);
        ok(k, i, "start > START_MS - 40_000", start > START_MS - 40_000);

        let src: number;
        let dst: number;
        if (family === 4) {
          eq(k, i, "src4", batch.src4[i], view.getUint32(at));
          eq(k, i, "dst4", batch.dst4[i], view.getUint32(at + 4));
          src = ownerV4(batch.src4[i]!);
          dst = ownerV4(batch.dst4[i]!);
        } else {
          v6Records++;
          const raw = Buffer.from(d.subarray(at, at + 32));
          const decoded = Buffer.concat([
            batch.src6.subarray(i * 16, i * 16 + 16),
            batch.dst6.subarray(i * 16, i * 16 + 16),
          ]);
          ok(k, i, "src6/dst6", raw.equals(decoded));
          src = ownerV6(batch.src6, i * 16, 10);
          dst = ownerV6(batch.dst6, i * 16, 10);
        }
        ok(k, i, "src customer exists", src === -1 || src < CUSTOMERS);
        ok(k, i, "dst customer exists", dst === -1 || dst < CUSTOMERS);
        ok(k, i, "not within one customer", src === -1 || src !== dst);
        if (src < 0 && dst < 0) {
          unattributed.bytes += bytes;
          unattributed.packets += packets;
          unattributed.flows++;
        }
        if (dst >= 0) {
          const t = sums.get(dst) ?? zero();
          t.bytesIn += bytes;
          t.packetsIn += packets;
          t.flows++;
          sums.set(dst, t);
        }
        if (src >= 0) {
          const t = sums.get(src) ?? zero();
          t.bytesOut += bytes;
          t.packetsOut += packets;
          t.flows++;
          sums.set(src, t);
        }
      }
      records += n;
    }

    expect(failures).toEqual([]);
    expect(records).toBe(RECORDS);
    expect(templates).toBe(truth.templateDatagrams);
    expect(v6Records).toBeGreaterThan(RECORDS * 0.04);
    const problems = Object.entries(decoder.problems).filter(([, c]) => c > 0);
    // No sampling options are sent: every record takes the assume-one policy, nothing else.
    expect(problems).toEqual([["sampling-unknown", RECORDS]]);
    const [stats] = decoder.exporterStats();
    expect(stats).toMatchObject({ lostRecords: 0, lostPackets: 0, sequenceResets: 0 });

    for (const c of gen.customers) {
      expect([c.id, truth.customers.get(c.id)]).toEqual([c.id, sums.get(c.index) ?? zero()]);
    }
    expect(truth.unattributed).toEqual(unattributed);
    expect(unattributed.flows).toBeGreaterThan(RECORDS * 0.03);
    // Customer-to-customer flows count for both: more customer flows than attributed records.
    const flows = [...truth.customers.values()].reduce((n, t) => n + t.flows, 0);
    expect(flows).toBeGreaterThan(truth.attributedRecords);
    expect(truth.attributedRecords + unattributed.flows).toBe(RECORDS);
  });

  it("agrees with flowtally's classifier over the generated config", () => {
    const gen = createFlowGenerator(options(version, { seed: 11, customerToCustomerShare: 0.1 }));
    const pack = generateDatagrams(gen, 5000);
    const yaml = flowtallyConfigYaml(gen.customers, {
      listen: "127.0.0.1:9995",
      storePath: "/tmp/x.duckdb",
      statePath: "",
    });
    const model = buildCustomerModel(parseConfigText(yaml));
    const classifier = createClassifier(model);
    const attribution = createAttribution();
    const decoder = createFlowDecoder();
    const batch = new FlowBatch(64);
    const sums = new Map<string, TrafficTotals>();
    let unattributedBytes = 0;
    for (let k = 0; k < pack.datagrams; k++) {
      batch.clear();
      decoder.decode(
        pack.bytes.subarray(pack.offsets[k]!, pack.offsets[k + 1]!),
        EXPORTER,
        0,
        batch,
      );
      for (let i = 0; i < batch.length; i++) {
        classifier.classify(batch, i, attribution);
        for (let a = 0; a < attribution.count; a++) {
          const link = attribution.link[a]!;
          if (link === UNATTRIBUTED) {
            unattributedBytes += batch.bytes[i]!;
            continue;
          }
          const customer = model.links.get(link)!.customer;
          const t = sums.get(customer) ?? zero();
          if (attribution.direction[a] === Direction.In) {
            t.bytesIn += batch.bytes[i]!;
            t.packetsIn += batch.packets[i]!;
          } else {
            t.bytesOut += batch.bytes[i]!;
            t.packetsOut += batch.packets[i]!;
          }
          t.flows++;
          sums.set(customer, t);
        }
      }
    }
    const truth = gen.truth();
    for (const [id, t] of truth.customers) expect([id, t]).toEqual([id, sums.get(id) ?? zero()]);
    expect(unattributedBytes).toBe(truth.unattributed.bytes);
  });
});

describe("flow generator", () => {
  it("is deterministic: same options, same bytes; another seed, other bytes", () => {
    const a = generateDatagrams(createFlowGenerator(options(10)), 3000);
    const b = generateDatagrams(createFlowGenerator(options(10)), 3000);
    const c = generateDatagrams(createFlowGenerator(options(10, { seed: 8 })), 3000);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
  });

  it("fills 1400-byte datagrams by default and honours recordsPerDatagram", () => {
    for (const version of [9, 10] as const) {
      const gen = createFlowGenerator(options(version));
      const pack = generateDatagrams(gen, 2000);
      let largest = 0;
      for (let k = 0; k < pack.datagrams; k++)
        largest = Math.max(largest, pack.offsets[k + 1]! - pack.offsets[k]!);
      expect(largest).toBeLessThanOrEqual(1400);
      expect(largest).toBeGreaterThan(1300);
    }
    const gen = createFlowGenerator(options(10, { recordsPerDatagram: 10 }));
    expect(gen.recordsPerDatagram).toEqual({ ipv4: 10, ipv6: 10 });
    const pack = generateDatagrams(gen, 95);
    expect(Array.from(pack.recordCounts).filter((n) => n > 0)).toEqual([
      10, 10, 10, 10, 10, 10, 10, 10, 10, 5,
    ]);
  });

  it("describes the customers for flowtally and for nfacctd", () => {
    const gen = createFlowGenerator(options(10, { customers: 300 }));
    const cfg = parseConfigText(
      flowtallyConfigYaml(gen.customers, {
        listen: "127.0.0.1:9995",
        storePath: "/tmp/x.duckdb",
        statePath: "",
        apiListen: "127.0.0.1:8081",
        receiveBuffer: 4194304,
      }),
    );
    expect(cfg.customers).toHaveLength(300);
    expect(cfg.inputs.netflow[0]).toMatchObject({
      listen: "127.0.0.1:9995",
      receiveBuffer: 4194304,
    });
    expect(cfg.customers[10]!.sites[0]!.links[0]!.prefixes).toEqual([
      "10.0.10.0/24",
      "2001:db8:1::/48",
    ]);
    expect(cfg.customers[299]!.sites[0]!.links[0]!.prefixes).toEqual(["10.1.43.0/24"]);
    const lines = networksFile(gen.customers).trim().split("\n");
    expect(lines).toHaveLength(330);
    const byNet = customersByNetwork(gen.customers);
    expect(byNet.get("10.1.43.0")?.id).toBe("c00299");
    expect(byNet.get("2001:db8:1d::")?.id).toBe("c00290");
    // Canonical IPv6 form, as pmacct prints networks.
    expect(gen.customers[0]!.ipv6Prefix).toBe("2001:db8::/48");
    expect(byNet.get("2001:db8::")?.id).toBe("c00000");
  });

  // How fast it pre-generates is measured by the benches that use it (bench/README.md), not here.
  it("pre-generates a million records in one pack", () => {
    const gen = createFlowGenerator(options(10, { customers: 1000 }));
    const pack = generateDatagrams(gen, 1_000_000);
    expect(pack.records).toBe(1_000_000);
  });
});
