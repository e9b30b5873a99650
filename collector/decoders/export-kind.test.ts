/**
 * exportKind over every capture of the fixtures: each export datagram is told apart with the
 * version tshark found in it (test/fixtures/flows/expected-flows.json, its `cflow.versions` and
 * `sflow.datagrams`), and no UDP datagram of the packet captures (DNS, QUIC, NTP, mDNS...) is
 * taken for one.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createCaptureParser } from "../capture/capture-file.js";
import { createUdpDatagram, extractUdp } from "../capture/udp-datagram.js";
import { type ExportKind, exportKind, mayBeExport } from "./export-kind.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

interface ExpectedFlowFile {
  file: string;
  udp_ports: Record<string, string>;
  cflow?: { pdus: number; versions: Record<string, number> };
  sflow?: { datagrams: number };
}

const expectedFlows = JSON.parse(
  readFileSync(`${fixtures}flows/expected-flows.json`, "utf8"),
) as ExpectedFlowFile[];

/** The kind of every UDP datagram of a capture, counted (null: not an export). */
function kindsIn(file: string): Record<string, number> {
  const udp = createUdpDatagram();
  const out: Record<string, number> = {};
  const parser = createCaptureParser((p) => {
    if (!extractUdp(p.linkType, p.data, udp)) return;
    const kind = exportKind(udp.payload);
    // The cheap test never turns away what the full one takes.
    if (kind !== null) expect(mayBeExport(udp.payload, 0, udp.payload.byteLength)).toBe(true);
    const key = String(kind);
    out[key] = (out[key] ?? 0) + 1;
  });
  parser.push(readFileSync(`${fixtures}${file}`));
  parser.end();
  return out;
}

const versionKinds: Record<string, ExportKind> = {
  "5": "netflow-v5",
  "9": "netflow-v9",
  "10": "ipfix",
};

describe("exportKind", () => {
  // tcpdump's crash case is 8 bytes of an sFlow header (version, address type) and no more: tshark
  // names the dissector, but it is no datagram an exporter sends.
  const truncated = ["flows/sflow/tcpdump__sflow_print-segv.pcap"];
  const valid = expectedFlows.filter(
    (f) => !f.file.startsWith("flows/invalid/") && !truncated.includes(f.file),
  );
  it.each(valid.map((f) => [f.file, f] as const))("%s: every datagram as tshark saw it", (_, f) => {
    const want: Record<string, number> = {};
    for (const [v, n] of Object.entries(f.cflow?.versions ?? {})) {
      const kind = versionKinds[v]!;
      want[kind] = (want[kind] ?? 0) + n;
    }
    if ((f.sflow?.datagrams ?? 0) > 0) want["sflow-v5"] = f.sflow!.datagrams;
    // EXPECTED.md: 5 NetFlow v5 datagrams sent to the same port 6343 among the 25 sFlow ones.
    if (f.file.endsWith("tcpdump__sflow_multiple_counter_30_pdus.pcap")) want["netflow-v5"] = 5;
    expect(kindsIn(f.file)).toEqual(want);
  });

  const packetCaptures = readdirSync(`${fixtures}packets`).filter((n) => /\.pcap(ng)?$/.test(n));
  it.each(packetCaptures)("packets/%s: no datagram taken for an export", (name) => {
    const kinds = kindsIn(`packets/${name}`);
    expect(Object.keys(kinds).filter((k) => k !== "null")).toEqual([]);
  });

  it("refuses headers that do not hold together", () => {
    const v5 = new Uint8Array(24 + 48 * 2);
    v5.set([0, 5, 0, 2]);
    expect(exportKind(v5)).toBe("netflow-v5");
    expect(exportKind(v5.subarray(0, v5.length - 1))).toBeNull(); // length off by one
    const ipfix = new Uint8Array(24);
    ipfix.set([0, 10, 0, 24]);
    ipfix.set([0, 2, 0, 8], 16);
    expect(exportKind(ipfix)).toBe("ipfix");
    ipfix[3] = 25; // a message longer than the datagram
    expect(exportKind(ipfix)).toBeNull();
    const v9 = new Uint8Array(28);
    v9.set([0, 9, 0, 1]);
    v9.set([0, 0, 0, 8], 20);
    expect(exportKind(v9)).toBe("netflow-v9");
    v9.set([0, 200, 0, 8], 20); // flowset id 200 is reserved
    expect(exportKind(v9)).toBeNull();
    const sflow = new Uint8Array(28);
    sflow.set([0, 0, 0, 5, 0, 0, 0, 1]);
    expect(exportKind(sflow)).toBe("sflow-v5"); // no samples
    sflow[7] = 3; // address type 3
    expect(exportKind(sflow)).toBeNull();
    expect(exportKind(new Uint8Array([0, 9]))).toBeNull();
    expect(exportKind(new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1]))).toBeNull(); // tcpdump's crash case
  });
});
