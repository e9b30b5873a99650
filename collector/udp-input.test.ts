/** The UDP shell: a real socket on loopback, and the /proc parsers on captured /proc text. */
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { openUdpInput, parseSocketDrops, readRcvbufErrors } from "./udp-input.js";

describe("UDP input", () => {
  it("hands every datagram to the callback with the exporter address", async () => {
    const got: Array<[string, string]> = [];
    const input = await openUdpInput({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 1 << 20,
      onDatagram: (payload, exporter) => got.push([payload.toString(), exporter]),
    });
    try {
      expect(input.address.port).toBeGreaterThan(0);
      expect(input.receiveBufferBytes).toBeGreaterThan(0);
      const sender = createSocket("udp4");
      for (let i = 0; i < 100; i++) sender.send(`d${i}`, input.address.port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 20));
      for (let t = 0; t < 100 && got.length < 100; t++) await new Promise((r) => setTimeout(r, 10));
      sender.close();
      expect(got).toHaveLength(100);
      expect(got[0]).toEqual(["d0", "127.0.0.1"]);
      expect(got[99]).toEqual(["d99", "127.0.0.1"]);
      expect(input.stats.datagrams).toBe(100);
      expect(input.kernelDrops()).toBe(0);
    } finally {
      await input.close();
    }
  });

  it("keys IPv4 exporters on a dual-stack socket by their IPv4 address", async () => {
    const got: string[] = [];
    const input = await openUdpInput({
      listen: "[::]:0",
      receiveBufferBytes: 1 << 20,
      onDatagram: (_p, exporter) => got.push(exporter),
    });
    try {
      const sender = createSocket("udp4");
      sender.send("x", input.address.port, "127.0.0.1");
      for (let t = 0; t < 100 && got.length < 1; t++) await new Promise((r) => setTimeout(r, 10));
      sender.close();
      expect(got).toEqual(["127.0.0.1"]);
    } finally {
      await input.close();
    }
  });

  it("fails with the address when the port is taken", async () => {
    const first = await openUdpInput({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 65536,
      onDatagram: () => {},
    });
    try {
      await expect(
        openUdpInput({
          listen: `127.0.0.1:${first.address.port}`,
          receiveBufferBytes: 65536,
          onDatagram: () => {},
        }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });

  it("reads the drops column of /proc/net/udp for a port", () => {
    const text = [
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
      " 1234: 0100007F:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 52011 2 0000000000000000 17",
      " 1235: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 52012 2 0000000000000000 3",
    ].join("\n");
    expect(parseSocketDrops(text, 2055)).toBe(17);
    expect(parseSocketDrops(text, 53)).toBe(3);
    expect(parseSocketDrops(text, 9995)).toBeNull();
  });

  it("reads RcvbufErrors from /proc/net/snmp", () => {
    const snmp = [
      "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
      "Udp: 471930 20 27186 499229 27185 0 0 0 0",
      "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
      "UdpLite: 0 0 0 0 0 0 0 0 0",
    ].join("\n");
    expect(readRcvbufErrors(snmp)).toBe(27185);
    expect(readRcvbufErrors("Tcp: a\nTcp: 1")).toBeNull();
  });
});
