/**
 * A reload (SIGHUP) between two replays of the same capture: the class's new totalDelayThreshold
 * judges the transactions that follow. ndpi__http.pcapng holds one HTTP transaction whose total
 * delay is tens of milliseconds (tshark: iRTT 7.292 ms, 28.304 ms to the first byte): good under
 * 1 s, not under 1 ms.
 */
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { expect, it } from "vitest";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { parsePacket } from "../collector/packet/packet-parser.js";
import { PacketGroup } from "../collector/packet-collector.js";
import { parseConfigText } from "../config/load-config.js";
import { createCollectors } from "./collectors.js";

const capture = new URL("../test/fixtures/packets/ndpi__http.pcapng", import.meta.url).pathname;

function config(threshold: string) {
  return parseConfigText(
    [
      'decoder: { statePath: "" }',
      `classes: [{ id: web, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: ${threshold} }]`,
      "customers: [{ id: browser, name: B, sites: [{ id: s, links: [{ id: l, prefixes: [192.168.1.128/32] }] }] }]",
    ].join("\n"),
  );
}

it("a reload's class threshold judges the transactions after it", () => {
  const parts = createCollectors(config("1s"), pino({ level: "silent" }));
  const replay = () => {
    const packets = parts.packets();
    const group = new PacketGroup();
    const parser = createCaptureParser((p) => {
      const result = parsePacket(
        p.bytes,
        p.linkType,
        group.next,
        p.offset,
        p.offset + p.capturedLength,
      );
      if (group.push(result, p.tsSec, p.tsNsec)) packets.ingestGroup(group);
    });
    parser.push(readFileSync(capture));
    parser.end();
    if (group.count > 0) packets.ingestGroup(group);
    packets.flushAll();
    const sums = packets.drainAllResponses();
    return {
      transactions: sums.reduce((n, s) => n + s.transactions, 0),
      good: sums.reduce((n, s) => n + s.good, 0),
    };
  };
  expect(replay()).toEqual({ transactions: 1, good: 1 });
  const swap = parts.reload(config("1ms"));
  expect(swap.responses).toEqual([]);
  expect(replay()).toEqual({ transactions: 1, good: 0 });
  parts.reload(config("1s"));
  expect(replay()).toEqual({ transactions: 1, good: 1 });
});
