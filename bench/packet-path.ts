/**
 * The replay's packet path in-process, without the store: a capture file through the capture
 * parser, the packet parser and export check, the flow table with TCP timing, classification
 * and partial sums (drained every 2^18 packets, as replay hands over). Meant to be run under
 * `valgrind --tool=callgrind` for instruction counts that do not move with the machine's load
 * (wall and CPU time on a shared VM vary by ±40 %); it also prints packets/s for a rough look.
 *
 *   npx tsc -p tsconfig.build.json
 *   valgrind --tool=callgrind node dist/bench/packet-path.js --config CFG.yaml CAPTURE.pcap
 *
 * CFG.yaml is a flowtally config (the customers; packets-end-to-end.ts writes one with --keep).
 * Prints the flow records, transactions and a checksum of the partial sums, so that two builds
 * can be compared for identical results as well as for cost. `--totals FILE` also writes each
 * customer's in/out bytes and packets (summed from the partial sums) as JSON: packets-end-to-end
 * runs it as the collector "flowtally-path" and checks them against the ground truth.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createCollectors } from "../cli/collectors.js";
import { createLogger } from "../cli/logger.js";
import { Direction, type PartialSum, UNATTRIBUTED } from "../collector/aggregate/partial-sums.js";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { createUdpDatagram, udpFromParsed } from "../collector/capture/udp-datagram.js";
import { parsePacket } from "../collector/packet/packet-parser.js";
import { PacketGroup } from "../collector/packet-collector.js";
import { loadConfigFile } from "../config/load-config.js";

const { values, positionals } = parseArgs({
  options: { config: { type: "string" }, totals: { type: "string" } },
  allowPositionals: true,
});
const capturePath = positionals[0];
if (values.config === undefined || capturePath === undefined) {
  throw new Error("usage: packet-path.js --config CFG.yaml [--totals OUT.json] CAPTURE.pcap");
}
const cfg = loadConfigFile(values.config);
const collectors = createCollectors(cfg, createLogger("error"));
const packets = collectors.packets();
const group = new PacketGroup();
const udp = createUdpDatagram();
const noPorts: ReadonlySet<number> = new Set();
const HAND_OVER_EVERY = 1 << 18;
let frames = 0;
// A field, as in replay: a float stored in a closure variable is a new heap number per packet.
const clock = { watermark: Number.NEGATIVE_INFINITY };
// Every partial sum and response-time partial, each drain's sorted (the order within a drain
// is the maps' insertion order, not a result): equal digests, equal results.
const digest = createHash("sha256");
const drain = (partials: readonly unknown[]): void => {
  for (const text of partials.map((p) => JSON.stringify(p)).sort()) digest.update(text);
};
// Per customer id: [bytes in, bytes out, packets in, packets out]; and what no customer owns.
const totals = new Map<string, number[]>();
const unattributed = { bytes: 0, packets: 0 };
const drainSums = (sums: readonly PartialSum[]): void => {
  drain(sums);
  for (const p of sums) {
    if (p.link === UNATTRIBUTED) {
      unattributed.bytes += p.bytes;
      unattributed.packets += p.packets;
      continue;
    }
    const id = collectors.model.links.get(p.link)!.customer;
    const t = totals.get(id) ?? [0, 0, 0, 0];
    const out = p.direction === Direction.Out ? 1 : 0;
    t[out] = t[out]! + p.bytes;
    t[2 + out] = t[2 + out]! + p.packets;
    totals.set(id, t);
  }
};

const parser = createCaptureParser((p) => {
  const info = group.next;
  const result = parsePacket(p.bytes, p.linkType, info, p.offset, p.offset + p.capturedLength);
  // No export ports here (every frame is traffic), but the check runs as in replay.
  udpFromParsed(p.linkType, p.bytes, info, noPorts, udp);
  const t = p.tsSec * 1000 + p.tsNsec / 1e6;
  if (t > clock.watermark) clock.watermark = t;
  frames++;
  if (group.push(result, p.tsSec, p.tsNsec)) packets.ingestGroup(group);
});

const t0 = performance.now();
const chunk = Buffer.allocUnsafe(1 << 20);
const fd = openSync(capturePath, "r");
try {
  let since = 0;
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.byteLength, null);
    if (n === 0) break;
    parser.push(chunk.subarray(0, n));
    if (frames - since >= HAND_OVER_EVERY) {
      since = frames;
      if (group.count > 0) packets.ingestGroup(group);
      packets.expire(clock.watermark);
      drainSums(packets.drain(clock.watermark - 60_000));
      drain(packets.drainResponses(clock.watermark - 60_000));
    }
  }
} finally {
  closeSync(fd);
}
parser.end();
if (group.count > 0) packets.ingestGroup(group);
packets.flushAll();
drainSums(packets.drainAll());
drain(packets.drainAllResponses());
const seconds = (performance.now() - t0) / 1000;
const s = packets.stats;
process.stdout.write(
  `${frames} frames in ${seconds.toFixed(2)} s (${Math.round(frames / seconds / 1000)} k/s); ` +
    `${s.records} flow records, ${s.transactions} transactions, results ${digest.digest("hex").slice(0, 16)}\n`,
);
if (values.totals !== undefined) {
  const customers = Object.fromEntries(
    [...totals].map(([id, t]) => [
      id,
      { bytesIn: t[0], bytesOut: t[1], packetsIn: t[2], packetsOut: t[3] },
    ]),
  );
  writeFileSync(values.totals, JSON.stringify({ customers, unattributed, frames }));
}
