/**
 * Live capture end to end (issue 5, "Live"): a veth pair whose one end sits in a network
 * namespace the test creates; `flowtally run` (in process) captures on the other end with
 * libpcap while tcpreplay sends four ordinary packet captures out of the namespace end at
 * 2000 packets/s. Nothing leaves the pair: the captured end has no address, ARP and IPv6 off.
 *
 * Checked against independent references:
 * - per-customer IP bytes and packets written to the store equal tshark's per-host sums of the
 *   same files (test/fixtures/exporters/compare__*.csv, the "tshark ip.len" columns), exactly;
 * - the frames captured equal the packets tcpreplay says it sent, and libpcap's kernel
 *   statistics report them received with 0 dropped (a number, not null), also through
 *   GET /api/v1/status.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type RunningFlowtally, type RunStats, startRun } from "../../cli/run-command.js";
import { loadConfigFile } from "../../config/load-config.js";
import {
  addPairs,
  prefixOwner,
  storedTotals,
  type Totals,
  tsharkPairs,
} from "../support/customer-totals.js";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const captures = ["tcpreplay__test", "ndpi__netflix", "ndpi__http_ipv6", "ndpi__1kxun"];
/** Frames in those files (capinfos), all Ethernet. */
const framesInFiles = 179 + 1793 + 193 + 1723;
const rate = 2000;
const token = "live-capture-test-token";
const customers: Record<string, string[]> = {
  office: ["172.16.11.0/24"],
  v6home: ["2001:4958:15a0:24::/64"],
  lab: ["192.168.10.0/24", "192.168.40.0/24"],
  pseudowire: ["192.168.1.1/32", "192.168.1.2/32"],
  "netflix-home": ["192.168.1.7/32"],
  cdn: ["23.246.0.0/20"],
  campus: ["192.168.2.0/24", "192.168.115.0/24", "192.168.5.0/24"],
  v6office: ["2a00:d40:1:3::/64"],
};

/** tshark's per-pair IP bytes and packets summed per customer: dst's `in`, src's `out`. */
function tsharkTotals(): Record<string, Totals> {
  const owner = prefixOwner(customers);
  const out: Record<string, Totals> = {};
  for (const c of captures) addPairs(owner, tsharkPairs(c), out);
  return out;
}

/** Runs a command to its end; throws with its output when it fails (no skipping). */
function sh(cmd: string, ...args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${err.stderr || err.message}`);
  }
}

/** Runs a command without blocking the event loop (the capture reads on a timer meanwhile). */
function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => {
      output += d;
    });
    child.stderr!.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(" ")}: exit ${code ?? signal}\n${output}`));
    });
  });
}

async function waitFor(
  what: string,
  ok: () => boolean,
  timeoutMs: number,
  state: () => unknown,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state())}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("live capture", () => {
  it(`per-customer IP bytes and packets = tshark's, tcpreplay at ${rate} packets/s onto a veth`, async () => {
    const id = process.pid % 100_000;
    const ns = `ftcap${id}`;
    const outside = `ftc${id}a`; // captured, in this namespace
    const inside = `ftc${id}b`; // tcpreplay sends here, in `ns`
    const dir = mkdtempSync(join(tmpdir(), "ft-live-capture-"));
    let running: RunningFlowtally | undefined;
    try {
      sh("ip", "netns", "add", ns);
      // MTU 65000: ndpi__1kxun holds frames of up to 37506 bytes (captured before offload split them).
      sh(
        "ip",
        "link",
        "add",
        outside,
        "mtu",
        "65000",
        "type",
        "veth",
        "peer",
        "name",
        inside,
        "mtu",
        "65000",
        "netns",
        ns,
      );
      // The captured end answers nothing and sends nothing of its own.
      sh("sysctl", "-qw", `net.ipv6.conf.${outside}.disable_ipv6=1`);
      sh("ip", "link", "set", outside, "arp", "off", "up");
      sh("ip", "netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${inside}.disable_ipv6=1`);
      sh("ip", "netns", "exec", ns, "ip", "link", "set", inside, "arp", "off", "up");

      const lines = [
        "inputs:",
        // No filter (the default): everything on the captured end is tcpreplay's.
        `  capture: [{ interface: ${outside} }]`,
        `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
        'decoder: { statePath: "" }',
        `api: { listen: "127.0.0.1:0", operatorTokens: [${token}] }`,
        "customers:",
      ];
      for (const [cid, prefixes] of Object.entries(customers)) {
        lines.push(
          `  - { id: ${cid}, name: ${cid}, sites: [{ id: s, links: [{ id: l, prefixes: [${prefixes.map((p) => JSON.stringify(p)).join(", ")}] }] }] }`,
        );
      }
      const config = join(dir, "ft.yaml");
      writeFileSync(config, `${lines.join("\n")}\n`);
      const cfg = loadConfigFile(config);
      expect(cfg.inputs.capture[0]).toEqual({
        interface: outside,
        filter: "",
        snaplen: 128,
        bufferSize: 64 * 1024 * 1024,
        promiscuous: true,
      });

      running = await startRun(cfg, pino({ level: "silent" }), { statsMs: 3_600_000 });
      const flowtally = running;
      expect(flowtally.captures.map((c) => [c.interface, c.linkType, c.snaplen])).toEqual([
        [outside, 1, 128],
      ]);

      const files = captures.map((c) => join(fixtures, `packets/${c}.pcap`));
      const replay = await run(
        "ip",
        ["netns", "exec", ns, "tcpreplay", "-i", inside, "--pps", String(rate), ...files],
        60_000,
      );
      const sent = Number(/Successful packets:\s+(\d+)/.exec(replay)?.[1]);
      expect(sent, replay).toBe(framesInFiles);
      expect(Number(/Failed packets:\s+(\d+)/.exec(replay)?.[1]), replay).toBe(0);

      await waitFor(
        "the capture to see every packet",
        () => (flowtally.stats().capture?.packets ?? 0) >= sent,
        10_000,
        () => flowtally.stats().capture,
      );
      const res = await fetch(`http://127.0.0.1:${flowtally.api.port}/api/v1/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const status = (await res.json()) as RunStats;
      expect(status.capture?.packets).toBe(sent);
      expect(status.capture?.inputs[0]?.interface).toBe(outside);

      const final = await flowtally.stop();
      running = undefined;
      const capture = final.capture!;
      expect(capture.packets).toBe(sent);
      expect(capture.kernelReceived).toBe(sent);
      expect(capture.kernelDrops).toBe(0);
      expect(typeof capture.interfaceDrops).toBe("number");
      expect(capture.results["not-ip"] + capture.results.ok + capture.results.truncated).toBe(sent);
      expect(capture.flows).toBe(0); // all exported at stop
      expect(capture.transactions).toBeGreaterThan(0);

      expect(await storedTotals(join(dir, "ft.duckdb"))).toEqual(tsharkTotals());
    } finally {
      await running?.stop().catch(() => {});
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {}
      try {
        execFileSync("ip", ["link", "del", outside], { stdio: "ignore" });
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
