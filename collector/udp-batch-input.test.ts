/**
 * The native batched UDP shell on real loopback sockets: the same behaviours as the dgram shell
 * (udp-input.test.ts), plus datagram sizes, a burst of 100k datagrams, and close. The addon is
 * built by scripts/setup.sh (which scripts/test.sh runs first): these tests fail, not skip, when
 * it is missing.
 */
import { spawnSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../schema/flow-record.js";
import { captureDatagrams, totals } from "../test/support/decode-capture.js";
import { createFlowDecoder } from "./decoders/flow-decoder.js";
import {
  ExporterNames,
  loadNativeUdp,
  loadNativeUdpFrom,
  nativeUdpUnavailableReason,
  openBatchedUdpInput,
  openUdpInputBest,
} from "./udp-batch-input.js";
import { openUdpInput, type UdpInput, type UdpInputOptions } from "./udp-input.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(done: () => boolean, ms = 2000): Promise<void> {
  for (let t = 0; t < ms / 5 && !done(); t++) await sleep(5);
}

function send(sock: Socket, data: Uint8Array | string, port: number, host: string) {
  return new Promise<void>((resolve, reject) =>
    sock.send(data, port, host, (e) => (e ? reject(e) : resolve())),
  );
}

describe("native batched UDP input", () => {
  it("is built (scripts/setup.sh builds it)", () => {
    expect(nativeUdpUnavailableReason()).toBeNull();
    expect(loadNativeUdp()).not.toBeNull();
  });

  it.each([
    ["read on a timer while traffic flows", 1],
    ["read on readability only", 0],
  ])(
    "hands every datagram to the callback with the exporter address (%s)",
    async (_, coalesceMs) => {
      const got: Array<[string, string]> = [];
      const input = await openBatchedUdpInput(
        {
          listen: "127.0.0.1:0",
          receiveBufferBytes: 1 << 20,
          onDatagram: (payload, exporter) => got.push([Buffer.from(payload).toString(), exporter]),
        },
        coalesceMs,
      );
      try {
        expect(input.backend).toBe("recvmmsg");
        expect(input.address).toEqual({
          address: "127.0.0.1",
          port: input.address.port,
          family: "udp4",
        });
        expect(input.address.port).toBeGreaterThan(0);
        expect(input.receiveBufferBytes).toBeGreaterThanOrEqual(1 << 20);
        const sender = createSocket("udp4");
        for (let i = 0; i < 100; i++) sender.send(`d${i}`, input.address.port, "127.0.0.1");
        await until(() => got.length >= 100);
        sender.close();
        expect(got).toHaveLength(100);
        expect(got[0]).toEqual(["d0", "127.0.0.1"]);
        expect(got[99]).toEqual(["d99", "127.0.0.1"]);
        expect(input.stats).toEqual({ datagrams: 100, bytes: 290 });
        expect(input.kernelDrops()).toBe(0);
      } finally {
        await input.close();
      }
    },
  );

  it("keys IPv4 exporters on a dual-stack socket by their IPv4 address", async () => {
    const got: string[] = [];
    const input = await openBatchedUdpInput({
      listen: "[::]:0",
      receiveBufferBytes: 1 << 20,
      onDatagram: (_p, exporter) => got.push(exporter),
    });
    try {
      expect(input.address.family).toBe("udp6");
      expect(input.address.address).toBe("::");
      const v4 = createSocket("udp4");
      const v6 = createSocket("udp6");
      await send(v4, "x", input.address.port, "127.0.0.1");
      await until(() => got.length >= 1);
      await send(v6, "y", input.address.port, "::1");
      await until(() => got.length >= 2);
      v4.close();
      v6.close();
      expect(got).toEqual(["127.0.0.1", "::1"]);
      expect(input.kernelDrops()).toBe(0);
    } finally {
      await input.close();
    }
  });

  it("fails with the errno code when the port is taken", async () => {
    const first = await openBatchedUdpInput({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 65536,
      onDatagram: () => {},
    });
    try {
      const second = openBatchedUdpInput({
        listen: `127.0.0.1:${first.address.port}`,
        receiveBufferBytes: 65536,
        onDatagram: () => {},
      });
      await expect(second).rejects.toThrow(/EADDRINUSE/);
      await expect(second).rejects.toMatchObject({
        code: "EADDRINUSE",
        syscall: "bind",
        port: first.address.port,
      });
    } finally {
      await first.close();
    }
  });

  it("delivers datagrams of any size up to 65507 bytes intact", async () => {
    const sizes = [0, 1, 2, 3, 100, 1399, 1400, 1500, 8972, 9000, 32768, 65000, 65506, 65507];
    const sent = sizes.map((n, k) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (i * 31 + k * 7 + (i >> 8)) & 255;
      return b;
    });
    const got: Buffer[] = [];
    const input = await openBatchedUdpInput({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 4 << 20,
      // The payload is a view of a reused buffer: keep a copy.
      onDatagram: (payload) => got.push(Buffer.from(payload)),
    });
    const sender = createSocket({ type: "udp4", sendBufferSize: 1 << 20 });
    try {
      for (const b of sent) await send(sender, b, input.address.port, "127.0.0.1");
      await until(() => got.length >= sent.length);
      expect(got.map((b) => b.length)).toEqual(sizes);
      for (let k = 0; k < sent.length; k++) expect(got[k]!.equals(sent[k]!)).toBe(true);
      expect(input.stats.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    } finally {
      sender.close();
      await input.close();
    }
  });

  it("receives a burst of 100k datagrams complete and intact", async () => {
    const total = 100_000;
    const seen = new Uint8Array(total);
    let bad = 0;
    let count = 0;
    const input = await openBatchedUdpInput({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 32 << 20,
      onDatagram: (p, exporter) => {
        count++;
        const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const seq = dv.getUint32(0);
        // Length and contents follow from the sequence number.
        if (seq >= total || p.length !== 8 + (seq % 300) || exporter !== "127.0.0.1") bad++;
        else {
          for (let i = 8; i < p.length; i++) if (p[i] !== ((seq + i) & 255)) bad++;
          if (dv.getUint32(4) !== (seq ^ 0x5a5a5a5a) >>> 0) bad++;
          seen[seq]!++;
        }
      },
    });
    // Sent from this process's loop in bursts of 2000 (about 2 MiB of socket buffer on loopback
    // each), yielding between bursts so that the receiver's poll runs.
    const sender = createSocket({ type: "udp4", sendBufferSize: 4 << 20 });
    try {
      for (let base = 0; base < total; base += 2000) {
        const pending: Array<Promise<void>> = [];
        for (let seq = base; seq < Math.min(total, base + 2000); seq++) {
          const b = Buffer.alloc(8 + (seq % 300));
          b.writeUInt32BE(seq, 0);
          b.writeUInt32BE((seq ^ 0x5a5a5a5a) >>> 0, 4);
          for (let i = 8; i < b.length; i++) b[i] = (seq + i) & 255;
          pending.push(send(sender, b, input.address.port, "127.0.0.1"));
        }
        await Promise.all(pending);
        // Sends complete synchronously: let the loop turn so the receiver polls.
        await new Promise((r) => setImmediate(r));
      }
      await until(() => count >= total, 10_000);
      expect(input.kernelDrops()).toBe(0);
      expect(count).toBe(total);
      expect(bad).toBe(0);
      expect(seen.every((n) => n === 1)).toBe(true);
      expect(input.stats.datagrams).toBe(total);
    } finally {
      sender.close();
      await input.close();
    }
  });

  it("stops delivering at close, also when closed from the callback mid-batch", async () => {
    let count = 0;
    const input = await openBatchedUdpInput({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 1 << 20,
      onDatagram: () => {
        count++;
        void input.close();
      },
    });
    const port = input.address.port;
    const sender = createSocket("udp4");
    try {
      // Sent before the loop turns: they are read in one batch.
      for (let i = 0; i < 50; i++) sender.send("z", port, "127.0.0.1");
      await until(() => count >= 1);
      await input.close();
      await sleep(50);
      expect(count).toBe(1);
      expect(input.stats.datagrams).toBe(1);
      // The rest of the batch and what followed: read by close, counted, not delivered.
      expect(input.undrained().datagrams + (input.kernelDrops() ?? 0)).toBe(49);
      expect(input.undrained().bytes).toBe(0);
      // The port is free again once close resolves.
      const again = await openBatchedUdpInput({
        listen: `127.0.0.1:${port}`,
        receiveBufferBytes: 65536,
        onDatagram: () => {},
      });
      await again.close();
      await again.close();
    } finally {
      sender.close();
      await input.close();
    }
  });

  it.each([
    ["recvmmsg", (o: UdpInputOptions) => openBatchedUdpInput(o)],
    ["dgram", openUdpInput],
  ] as Array<[string, (o: UdpInputOptions) => Promise<UdpInput>]>)(
    "%s: what the kernel still holds at close is counted as undrained, not lost",
    async (_, open) => {
      let delivered = 0;
      const input = await open({
        listen: "127.0.0.1:0",
        receiveBufferBytes: 1 << 20,
        onDatagram: () => {
          delivered++;
        },
      });
      // Another process sends while this one's event loop is blocked (spawnSync): the datagrams
      // wait in the kernel, and close comes before the loop reads any.
      const sent = spawnSync(
        process.execPath,
        [
          "-e",
          `const s = require("node:dgram").createSocket("udp4"); let n = 0;
           const next = () => n === 300 ? s.close() : s.send("q".repeat(200), ${input.address.port}, "127.0.0.1", () => { n++; next(); });
           next();`,
        ],
        { encoding: "utf8" },
      );
      expect(sent.status, sent.stderr).toBe(0);
      await input.close();
      expect(delivered).toBe(0);
      expect(input.stats.datagrams).toBe(0);
      expect(input.kernelDrops()).toBe(0);
      expect(input.undrained()).toEqual({ datagrams: 300, bytes: 0 });
    },
  );

  it("opens on the best backend, and on dgram when asked", async () => {
    const best = await openUdpInputBest({
      listen: "127.0.0.1:0",
      receiveBufferBytes: 65536,
      onDatagram: () => {},
    });
    await best.close();
    expect(best.backend).toBe("recvmmsg");
    const got: string[] = [];
    const dgram = await openUdpInputBest(
      {
        listen: "127.0.0.1:0",
        receiveBufferBytes: 65536,
        onDatagram: (p, exporter) => got.push(`${Buffer.from(p).toString()} ${exporter}`),
      },
      "dgram",
    );
    try {
      expect(dgram.backend).toBe("dgram");
      const sender = createSocket("udp4");
      await send(sender, "hi", dgram.address.port, "127.0.0.1");
      await until(() => got.length >= 1);
      sender.close();
      expect(got).toEqual(["hi 127.0.0.1"]);
    } finally {
      await dgram.close();
    }
  });

  it("says why when the addon is missing or is not one", () => {
    const missing = loadNativeUdpFrom([join(tmpdir(), "flowtally-no-such-addon.node")]);
    expect(missing.native).toBeNull();
    expect(missing.reason).toMatch(/not built/);
    const junk = join(tmpdir(), `flowtally-junk-${process.pid}.node`);
    writeFileSync(junk, "not an ELF file");
    const broken = loadNativeUdpFrom([junk]);
    expect(broken.native).toBeNull();
    expect(broken.reason).toMatch(/failed to load/);
  });

  it("is safe for the decoder: held data outlives the reused receive buffer", () => {
    // The input hands out views of one buffer; data held for its template must be a copy.
    const capture = (name: string) =>
      captureDatagrams(new URL(`../test/fixtures/flows/${name}`, import.meta.url).pathname);
    const receiveBuffer = Buffer.alloc(65536);
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const deliver = (payload: Uint8Array, timeMs: number) => {
      payload.forEach((v, i) => {
        receiveBuffer[i] = v;
      });
      decoder.decode(receiveBuffer.subarray(0, payload.length), "192.0.2.1", timeMs, b);
      receiveBuffer.fill(0xa5); // the next batch overwrites it
    };
    for (const d of capture("netflow-v9/akvorado__data.pcap")) deliver(d.payload, 1_000_000);
    expect(decoder.heldSets().count).toBe(1);
    for (const d of capture("netflow-v9/akvorado__template.pcap")) deliver(d.payload, 1_001_000);
    expect([b.length, totals(b).bytes]).toEqual([4, 5848]);
  });

  it("names exporters as dgram does", () => {
    const names = new ExporterNames();
    expect(names.ipv4(0x7f000001)).toBe("127.0.0.1");
    expect(names.ipv4(0xc0a80a01 | 0)).toBe("192.168.10.1");
    expect(names.ipv4(0xc0a80a01 | 0)).toBe("192.168.10.1");
    expect(names.ipv6(0x20010db8, 0, 0, 1)).toBe("2001:db8::1");
    expect(names.ipv6(0xfe800000 | 0, 0, 0x00010000, 1)).toBe("fe80::1:0:0:1");
    expect(names.ipv6(0, 0, 0, 1)).toBe("::1");
    expect(names.ipv6(0x20010db8, 0, 0, 2)).toBe("2001:db8::2");
  });
});
