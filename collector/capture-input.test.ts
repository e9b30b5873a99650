/**
 * Live capture's shell on this machine's real libpcap (the optional `pcap` package, which
 * scripts/setup.sh builds): a capture on `lo` sees datagrams sent to it with their capture time,
 * reports kernel statistics, and closes without keeping the process alive; a capture that can't
 * open fails with FT_CAPTURE_OPEN naming the input and why. (test/e2e/live-capture.test.ts
 * checks the counts end to end.)
 */
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { configSchema } from "../schema/config.js";
import { isFlowtallyError } from "../schema/errors.js";
import { captureOpenError, openCaptureInput, pcapVersion } from "./capture-input.js";

const base = { filter: "", snaplen: 128, bufferSize: 1 << 20, promiscuous: false };

describe("openCaptureInput", () => {
  it("the pcap package is built (setup.sh installs libpcap-dev before npm ci)", () => {
    expect(pcapVersion()).toMatch(/libpcap version/);
  });

  it("captures frames on lo with their capture time and counts them in the kernel stats", async () => {
    const frames: Array<{ length: number; linkType: number; tsSec: number; tsNsec: number }> = [];
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const port = sock.address().port;
    const capture = await openCaptureInput(
      { ...base, interface: "lo", filter: `udp dst port ${port}`, path: "inputs.capture[0]" },
      (frame, linkType, tsSec, tsNsec) =>
        frames.push({ length: frame.length, linkType, tsSec, tsNsec }),
      { timings: { statsMs: 20 } },
    );
    try {
      expect(capture.linkType).toBe(1); // lo is Ethernet to libpcap
      const before = Date.now();
      for (let k = 0; k < 5; k++) sock.send(Buffer.alloc(300 + k), port, "127.0.0.1");
      const until = Date.now() + 5000;
      while (frames.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(frames).toHaveLength(5);
      for (const f of frames) {
        expect(f.length).toBe(128); // snaplen: headers only
        expect(f.linkType).toBe(1);
        const ms = f.tsSec * 1000 + f.tsNsec / 1e6;
        expect(Math.abs(ms - before)).toBeLessThan(5000);
        expect(f.tsNsec % 1000).toBe(0); // microseconds
      }
    } finally {
      await capture.close();
      sock.close();
    }
    expect(capture.stats.packets).toBe(5);
    expect(capture.stats.callbackErrors).toBe(0);
    // lo: the kernel passes each datagram to the capture as sent and as received; libpcap
    // hands over one copy (it skips the outgoing one) but counts both.
    expect(capture.kernelStats()).toEqual({ received: 10, dropped: 0, interfaceDropped: 0 });
  });

  it("a frame the callback throws on is counted and skipped", async () => {
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const port = sock.address().port;
    const capture = await openCaptureInput(
      { ...base, interface: "lo", filter: `udp dst port ${port}` },
      () => {
        throw new Error("boom");
      },
    );
    try {
      for (let k = 0; k < 3; k++) sock.send(Buffer.alloc(10), port, "127.0.0.1");
      const until = Date.now() + 5000;
      while (capture.stats.callbackErrors < 3 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await capture.close();
      sock.close();
    }
    expect(capture.stats.callbackErrors).toBe(3);
  });

  it("fails with FT_CAPTURE_OPEN naming the input and why", async () => {
    const open = (o: Partial<typeof base> & { interface: string }) =>
      openCaptureInput({ ...base, ...o, path: "inputs.capture[2]" }, () => {}).then(
        () => expect.unreachable(),
        (e: unknown) => {
          expect(isFlowtallyError(e, "FT_CAPTURE_OPEN")).toBe(true);
          return (e as Error).message;
        },
      );
    expect(await open({ interface: "ftnosuch0" })).toMatch(
      /^inputs\.capture\[2\] interface "ftnosuch0": no such device .*ip link/,
    );
    expect(await open({ interface: "lo", filter: "port 99999" })).toMatch(
      /inputs\.capture\[2\]\.filter "port 99999" is not a valid BPF filter/,
    );
    expect(await open({ interface: "lo", filter: "tcp and and" })).toMatch(
      /is not a valid BPF filter \(.*syntax error\)/,
    );
  });

  it("explains permission errors and a missing pcap build", () => {
    const perm = captureOpenError(
      'inputs.capture[0] interface "eth1"',
      { filter: "" },
      new Error("socket: Operation not permitted"),
    );
    expect(perm.message).toMatch(/permission denied .*CAP|cap_net_raw/);
  });
});

describe("inputs.capture config", () => {
  it("defaults every field but the interface", () => {
    const cfg = configSchema.parse({ inputs: { capture: [{ interface: "eth1" }] } });
    expect(cfg.inputs.capture).toEqual([
      {
        interface: "eth1",
        filter: "",
        snaplen: 128,
        bufferSize: 64 * 1024 * 1024,
        promiscuous: true,
      },
    ]);
    expect(configSchema.parse({}).inputs.capture).toEqual([]);
  });

  it("rejects bad values with the path", () => {
    const issues = (capture: unknown) =>
      configSchema
        .safeParse({ inputs: { capture } })
        .error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues([{ interface: "eth1", snaplen: 10 }])?.[0]).toMatch(
      /^inputs\.capture\.0\.snaplen:/,
    );
    expect(issues([{ interface: "eth 1" }])?.[0]).toBe(
      "inputs.capture.0.interface: is not an interface name",
    );
    expect(issues([{ interface: "eth1", iface: "x" }])?.[0]).toMatch(/^inputs\.capture\.0:/);
    expect(issues([{ interface: "eth1" }, { interface: "eth1" }])?.[0]).toBe(
      "inputs.capture: lists an interface twice",
    );
  });
});
