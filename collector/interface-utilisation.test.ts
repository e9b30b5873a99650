/**
 * Interface utilisation from real sFlow counter samples
 * (test/fixtures/flows/sflow/tcpdump__sflow_multiple_counter_30_pdus.pcap), checked against the
 * rates computed from tcpdump's own decode of the same capture (expected/*.out: agent uptime and
 * the generic interface counters of each sample).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../schema/flow-record.js";
import { readCaptureFile } from "./capture/capture-reader.js";
import { createUdpDatagram, extractUdp } from "./capture/udp-datagram.js";
import { createSflowDecoder } from "./decoders/sflow.js";
import { InterfaceCounterBatch } from "./decoders/sflow-records.js";
import { createInterfaceTracker } from "./interface-utilisation.js";

const dir = new URL("../test/fixtures/flows/sflow/", import.meta.url).pathname;

/** (agent|ifindex) → [[uptime ms, in octets, out octets, speed], ...] from tcpdump's text. */
function tcpdumpSamples(): Map<string, Array<[number, number, number, number]>> {
  const text = readFileSync(`${dir}expected/sflow_multiple_counter_30_pdus.out`, "utf8");
  const out = new Map<string, Array<[number, number, number, number]>>();
  let agent = "";
  let uptime = 0;
  let key = "";
  let speed = 0;
  let inOctets = 0;
  for (const line of text.split("\n")) {
    let m = /IPv4 agent ([0-9.]+), agent-id \d+, seqnum \d+, uptime (\d+)/.exec(line);
    if (m !== null) {
      agent = m[1]!;
      uptime = Number(m[2]);
      continue;
    }
    m = /ifindex (\d+), iftype \d+, ifspeed (\d+)/.exec(line);
    if (m !== null) {
      key = `${agent}|${m[1]}`;
      speed = Number(m[2]);
      continue;
    }
    m = /In octets (\d+)/.exec(line);
    if (m !== null) inOctets = Number(m[1]);
    m = /Out octets (\d+)/.exec(line);
    if (m !== null) {
      const list = out.get(key) ?? [];
      list.push([uptime, inOctets, Number(m[1]), speed]);
      out.set(key, list);
    }
  }
  return out;
}

describe("interface utilisation from sFlow counters", () => {
  it("gives the rates between the last two samples of every interface, as tcpdump reads them", async () => {
    const decoder = createSflowDecoder();
    const tracker = createInterfaceTracker();
    const counters = new InterfaceCounterBatch();
    const batch = new FlowBatch(16);
    const udp = createUdpDatagram();
    await readCaptureFile(`${dir}tcpdump__sflow_multiple_counter_30_pdus.pcap`, (p) => {
      if (!extractUdp(p.linkType, p.data, udp)) return;
      counters.clear();
      decoder.decode(udp.payload, udp.srcAddress, p.tsSec * 1000, batch, counters);
      tracker.add(counters);
      batch.clear();
    });
    const samples = tcpdumpSamples();
    expect(tracker.size).toBe(samples.size);
    let checked = 0;
    for (const f of tracker.list()) {
      const list = samples.get(`${f.exporter}|${f.ifIndex}`)!;
      expect(list).toBeDefined();
      if (list.length < 2) {
        expect(f.inBps).toBeNull();
        continue;
      }
      const [a, b] = [list[list.length - 2]!, list[list.length - 1]!];
      const seconds = (b[0] - a[0]) / 1000;
      expect(f.seconds).toBe(seconds);
      expect(f.inBps).toBeCloseTo(((b[1] - a[1]) * 8) / seconds, 6);
      expect(f.outBps).toBeCloseTo(((b[2] - a[2]) * 8) / seconds, 6);
      expect(f.inUtilisation).toBeCloseTo(((b[1] - a[1]) * 8) / seconds / b[3], 12);
      checked++;
    }
    expect(checked).toBe(48);
    expect(tracker.list("15.184.1.195").every((f) => f.exporter === "15.184.1.195")).toBe(true);
  });

  it("starts over when a counter goes backwards (an agent restart), never a negative rate", () => {
    const tracker = createInterfaceTracker();
    const counters = new InterfaceCounterBatch();
    counters.exporterNames = ["192.0.2.1"];
    const sample = (uptimeMs: number, inOctets: number) => {
      counters.clear();
      Object.assign(counters.next(), {
        exporterId: 0,
        ifIndex: 7,
        ifSpeed: 1e9,
        ifStatus: 3,
        uptimeMs,
        inOctets,
        outOctets: 0,
      });
      tracker.add(counters);
      return tracker.list()[0]!;
    };
    sample(1000, 1_000_000);
    expect(sample(11_000, 2_250_000).inBps).toBe(1_000_000); // 1.25 MB in 10 s
    expect(sample(500, 10).inBps).toBeNull(); // restarted
    expect(sample(10_500, 1_250_010).inUtilisation).toBe(0.001);
  });
});
