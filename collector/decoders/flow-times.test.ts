/**
 * Flow start/end times against Wireshark's decode (test/fixtures/flows/tshark/*.times.csv):
 * v5 and v9 sysUptime-relative times, absolute milliseconds (v9 and IPFIX), IPFIX uptime times
 * with the system init time from options data, NTP and delta-microsecond times.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../../schema/flow-record.js";
import { decodeCapture } from "../../test/support/decode-capture.js";
import { Bytes, ipfixMessage, record } from "../../test/support/export-builder.js";
import { createFlowDecoder } from "./flow-decoder.js";
import { readFlowRecord } from "./flow-record-view.js";

const fixture = (p: string) => new URL(`../../test/fixtures/flows/${p}`, import.meta.url).pathname;

interface TsharkRow {
  sysUptimeMs: number;
  unixSecs: number;
  unixNsecs: number;
  uptimeStart: number[];
  uptimeEnd: number[];
  absStart: number[];
  absEnd: number[];
}

function tsharkTimes(name: string): TsharkRow[] {
  const lines = readFileSync(fixture(`tshark/${name}.times.csv`), "utf8")
    .trim()
    .split("\n");
  const seconds = (s: string) =>
    s === "" ? [] : s.split(",").map((v) => Math.round(Number(v) * 1000));
  const absolute = (s: string) => (s === "" ? [] : s.split(/(?<=UTC),/).map(parseTsharkDate));
  return lines.slice(1).map((line) => {
    const [, up, secs, nsecs, ts, te, as, ae] = line.split(";");
    return {
      sysUptimeMs: Math.round(Number(up ?? "") * 1000),
      unixSecs: Number(secs),
      unixNsecs: Number(nsecs || 0),
      uptimeStart: seconds(ts ?? ""),
      uptimeEnd: seconds(te ?? ""),
      absStart: absolute(as ?? ""),
      absEnd: absolute(ae ?? ""),
    };
  });
}

/** "Jul  7, 2010 03:16:19.466000000 UTC" → ms since the epoch. */
function parseTsharkDate(s: string): number {
  const m = /^(\w{3})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d+) UTC$/.exec(s.trim());
  if (m === null) throw new Error(`unexpected tshark date ${s}`);
  const month = "JanFebMarAprMayJunJulAugSepOctNovDec".indexOf(m[1]!) / 3;
  const frac = Number(`0.${m[7]}`) * 1000;
  return (
    Date.UTC(Number(m[3]), month, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6])) + frac
  );
}

/** The protocol's rule: export time minus (sysUptime - stamp) modulo 2^32. */
function uptimeToUnix(row: TsharkRow, stampMs: number): number {
  const exportMs = row.unixSecs * 1000 + Math.floor(row.unixNsecs / 1e6);
  let d = (row.sysUptimeMs - stampMs) % 4294967296;
  if (d < 0) d += 4294967296;
  if (d >= 2147483648) d -= 4294967296;
  return exportMs - d;
}

function expectedFromTshark(name: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const row of tsharkTimes(name)) {
    row.uptimeStart.forEach((s, k) => {
      out.push([uptimeToUnix(row, s), uptimeToUnix(row, row.uptimeEnd[k]!)]);
    });
    row.absStart.forEach((s, k) => {
      out.push([s, row.absEnd[k]!]);
    });
  }
  return out;
}

function decodedTimes(file: string): Array<[number, number]> {
  const { batch } = decodeCapture(fixture(file));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < batch.length; i++) out.push([batch.startMs[i]!, batch.endMs[i]!]);
  return out;
}

describe("flow times equal Wireshark's", () => {
  const cases: Array<[string, string]> = [
    ["netflow-v5/akvorado__nfv5.pcap", "akvorado__nfv5"],
    ["netflow-v5/logstash__nf5-valid-01.pcap", "logstash__nf5-valid-01"],
    [
      "netflow-v9/pmacct__101-NFv9-CISCO-cust_primitives__traffic-00.pcap",
      "pmacct__101-NFv9-CISCO-cust_primitives__traffic-00",
    ],
    ["netflow-v9/telegraf__netflow_v9_example.pcap", "telegraf__netflow_v9_example"],
    [
      "exported-from-packets/pmacctd-nfprobe-v10__tcpreplay__test.pcap",
      "pmacctd-nfprobe-v10__tcpreplay__test",
    ],
  ];
  for (const [file, csv] of cases) {
    it(file, () => {
      const expected = expectedFromTshark(csv);
      expect(expected.length).toBeGreaterThan(0);
      expect(decodedTimes(file)).toEqual(expected);
    });
  }

  it("v5 stamps taken just before an uptime wrap (0xffffffff) land 1 ms before the boot", () => {
    // logstash's nf5-valid-01 has First = 4294967.295 s with sysUptime 3.381 s.
    const rows = tsharkTimes("logstash__nf5-valid-01");
    expect(rows[0]!.uptimeStart[0]).toBe(4294967295);
    const [first] = decodedTimes("netflow-v5/logstash__nf5-valid-01.pcap");
    expect(first![0]).toBe(1430591888 * 1000 + 280 - 3382);
  });

  it("IPFIX uptime times with systemInitTimeMilliseconds (softflowd) equal absolute times (pmacctd) for the same flows", () => {
    // softflowd and pmacctd exported the same packet capture: softflowd as flowStartSysUpTime +
    // an options record with systemInitTimeMilliseconds, pmacctd as flowStartMilliseconds.
    const key = (file: string) => {
      const { batch } = decodeCapture(fixture(file));
      const m = new Map<string, [number, number]>();
      for (let i = 0; i < batch.length; i++) {
        const r = readFlowRecord(batch, i);
        m.set(`${r.srcAddress}|${r.dstAddress}|${r.srcPort}|${r.dstPort}|${r.protocol}`, [
          r.startMs,
          r.endMs,
        ]);
      }
      return m;
    };
    const soft = key("exported-from-packets/softflowd-v10__tcpreplay__test.pcap");
    const pm = key("exported-from-packets/pmacctd-nfprobe-v10__tcpreplay__test.pcap");
    let compared = 0;
    for (const [k, [s, e]] of soft) {
      const other = pm.get(k);
      if (other === undefined) continue;
      compared++;
      expect(Math.abs(s - other[0]), k).toBeLessThanOrEqual(1);
      expect(Math.abs(e - other[1]), k).toBeLessThanOrEqual(1);
    }
    expect(compared).toBeGreaterThanOrEqual(30);
  });
});

describe("IPFIX time encodings (RFC 7011 / RFC 7012)", () => {
  it("seconds, NTP micro/nanoseconds and delta microseconds", () => {
    const exportSeconds = 1_700_000_100;
    const ntp = (unixMs: number) => {
      const secs = Math.floor(unixMs / 1000) + 2208988800;
      const frac = Math.round(((unixMs % 1000) / 1000) * 4294967296);
      return new Bytes().u32(secs).u32(frac).done();
    };
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      ipfixMessage({ exportSeconds, sequence: 0, domain: 0 }, [
        {
          kind: "template",
          id: 256,
          fields: [
            { id: 150, length: 4 },
            { id: 151, length: 4 },
          ],
        },
        {
          kind: "template",
          id: 257,
          fields: [
            { id: 154, length: 8 },
            { id: 155, length: 8 },
          ],
        },
        {
          kind: "template",
          id: 258,
          fields: [
            { id: 156, length: 8 },
            { id: 157, length: 8 },
          ],
        },
        {
          kind: "template",
          id: 259,
          fields: [
            { id: 158, length: 4 },
            { id: 159, length: 4 },
          ],
        },
        {
          kind: "data",
          id: 256,
          records: [record((x) => x.u32(1_700_000_000).u32(1_700_000_030))],
        },
        {
          kind: "data",
          id: 257,
          records: [new Bytes().bytes(ntp(1_700_000_000_250)).bytes(ntp(1_700_000_001_500)).done()],
        },
        {
          kind: "data",
          id: 258,
          records: [new Bytes().bytes(ntp(1_700_000_000_125)).bytes(ntp(1_700_000_000_875)).done()],
        },
        { kind: "data", id: 259, records: [record((x) => x.u32(2_500_000).u32(500_000))] },
      ]),
      "192.0.2.1",
      0,
      b,
    );
    const times = Array.from({ length: b.length }, (_, i) => [b.startMs[i]!, b.endMs[i]!]);
    const close = times.map(([s, e]) => [
      Math.round(s! * 1000) / 1000,
      Math.round(e! * 1000) / 1000,
    ]);
    expect(close).toEqual([
      [1_700_000_000_000, 1_700_000_030_000],
      [1_700_000_000_250, 1_700_000_001_500],
      [1_700_000_000_125, 1_700_000_000_875],
      [exportSeconds * 1000 - 2500, exportSeconds * 1000 - 500],
    ]);
  });

  it("a record without any time field gets the export time", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      ipfixMessage({ exportSeconds: 1_700_000_000, sequence: 0, domain: 0 }, [
        { kind: "template", id: 256, fields: [{ id: 1, length: 4 }] },
        { kind: "data", id: 256, records: [record((x) => x.u32(5))] },
      ]),
      "192.0.2.1",
      0,
      b,
    );
    expect([b.startMs[0], b.endMs[0]]).toEqual([1_700_000_000_000, 1_700_000_000_000]);
  });
});
