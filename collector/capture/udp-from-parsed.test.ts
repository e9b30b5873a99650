/**
 * Replay parses each frame once (parsePacket) and reads the export datagram from the result
 * (udpFromParsed), falling back to extractUdp where the result can't tell. This checks that the
 * decision and the datagram (addresses, ports, payload bytes) are extractUdp's for every frame
 * of every capture fixture, with three sets of export ports.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PacketInfo } from "../packet/packet-info.js";
import { parsePacket } from "../packet/packet-parser.js";
import { createCaptureParser } from "./capture-file.js";
import { createUdpDatagram, extractUdp, udpFromParsed } from "./udp-datagram.js";

const root = new URL("../../test/fixtures/", import.meta.url).pathname;

function captures(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return captures(path);
    return /\.(pcap|pcapng|cap)$/.test(name) ? [path] : [];
  });
}

describe("udpFromParsed", () => {
  it("decides and reads export datagrams exactly as extractUdp, on every fixture frame", () => {
    const info = new PacketInfo();
    const a = createUdpDatagram();
    const b = createUdpDatagram();
    let frames = 0;
    let exports = 0;
    const differences: string[] = [];
    for (const file of captures(root)) {
      const bytes = readFileSync(file);
      const seen = new Set([4789, 2055, 6343, 9995, 4739]);
      const first = createCaptureParser((p) => {
        if (extractUdp(p.linkType, p.data, a)) seen.add(a.dstPort);
      });
      first.push(bytes);
      first.end();
      for (const ports of [seen, new Set([2055]), new Set<number>()]) {
        const parser = createCaptureParser((p) => {
          frames++;
          const old = extractUdp(p.linkType, p.data, a) && ports.has(a.dstPort);
          parsePacket(p.data, p.linkType, info);
          const r = udpFromParsed(p.linkType, p.data, info, ports, b);
          const now =
            r === "udp" ||
            (r === "unknown" && extractUdp(p.linkType, p.data, b) && ports.has(b.dstPort));
          let same = old === now;
          if (same && old) {
            exports++;
            same =
              a.srcAddress === b.srcAddress &&
              a.dstAddress === b.dstAddress &&
              a.srcPort === b.srcPort &&
              a.dstPort === b.dstPort &&
              a.ipVersion === b.ipVersion &&
              a.payload.byteOffset === b.payload.byteOffset &&
              Buffer.compare(Buffer.from(a.payload), Buffer.from(b.payload)) === 0;
          }
          if (!same && differences.length < 10) differences.push(`${file} frame ${frames}`);
        });
        parser.push(bytes);
        parser.end();
      }
    }
    expect(differences).toEqual([]);
    expect(frames).toBeGreaterThan(10_000);
    expect(exports).toBeGreaterThan(1000);
  });
});
