/**
 * Real exporters to `flowtally run` over UDP on loopback. softflowd and pmacctd's nfprobe
 * plugin read the ordinary packet captures in test/fixtures/packets/ and export them as NetFlow
 * v5, v9 and IPFIX to a running flowtally (collector, aggregator, store and HTTP API in one
 * process); tcpdump records the export datagrams on `lo` at the same time.
 *
 * Checked against independent references (test/fixtures/exporters/compare__*.csv, per host pair):
 * - per-customer bytes and packets read from the HTTP overview equal tshark's per-host sums
 *   (IP-layer bytes) for pmacctd v9 and IPFIX, which export every IP pair of these captures
 *   (MPLS-labelled pairs aside, which no customer owns);
 * - for NetFlow v5 (no IPv6) and softflowd (which counts Ethernet padding of short frames as
 *   IP bytes, e.g. 46 bytes for a 40-byte ACK), they equal what nfcapd + nfdump read from the same
 *   exporter's export of the same capture, the exporter's column in those files;
 * - the datagrams flowtally received equal the datagrams tcpdump saw (nothing lost);
 * - `flowtally replay` of tcpdump's recording writes the same series, point by point, as the
 *   live run did.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { BlockList, isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { startRun } from "../../cli/run-command.js";
import { loadConfigFile } from "../../config/load-config.js";
import type { TrafficPoint } from "../../schema/series-store.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const captures = ["tcpreplay__test", "ndpi__netflix", "ndpi__http_ipv6", "ndpi__1kxun"];
const token = "live-exporters-test-token";

/** customer → site → prefixes; no two prefixes overlap, so ownership is plain containment. */
const customers: Record<string, Record<string, string[]>> = {
  office: { main: ["172.16.11.0/24"] },
  v6home: { main: ["2001:4958:15a0:24::/64"] },
  lab: { lab10: ["192.168.10.0/24"], lab40: ["192.168.40.0/24"] },
  "netflix-home": { main: ["192.168.1.7/32"] },
  cdn: { pop: ["23.246.0.0/20"] },
  campus: { a: ["192.168.2.0/24"], b: ["192.168.115.0/24"], c: ["192.168.5.0/24"] },
  v6office: { main: ["2a00:d40:1:3::/64"] },
  multicast: { all: ["224.0.0.0/4", "ff00::/8"] },
};

interface Totals {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/** Ownership by node's own BlockList, independent of flowtally's prefix table. */
const owners = Object.entries(customers).map(([id, sites]) => {
  const list = new BlockList();
  for (const p of Object.values(sites).flat()) {
    const [addr, len] = p.split("/") as [string, string];
    list.addSubnet(addr, Number(len), isIPv6(addr) ? "ipv6" : "ipv4");
  }
  return { id, list };
});
const owner = (addr: string) =>
  owners.find((o) => o.list.check(addr, isIPv6(addr) ? "ipv6" : "ipv4"))?.id;

/**
 * Per-customer sums over the four captures of one column pair of the compare files ("tshark
 * ip.len" or an exporter's): a pair counts `in` for the owner of dst, `out` for the owner of src.
 */
function expectedTotals(column: string): Record<string, Totals> {
  const out: Record<string, Totals> = {};
  for (const id of Object.keys(customers)) {
    out[id] = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  }
  for (const capture of captures) {
    const lines = readFileSync(join(fixtures, `exporters/compare__${capture}.csv`), "utf8")
      .trim()
      .split("\n");
    const header = lines[0]!.split(",");
    const pk = header.indexOf(`${column} pkts`);
    const by = header.indexOf(`${column} bytes`);
    if (pk < 2 || by < 2) throw new Error(`no column "${column}" in compare__${capture}.csv`);
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      if (f[by] === "") continue; // the exporter did not export this pair
      const packets = Number(f[pk]);
      const bytes = Number(f[by]);
      const dst = owner(f[1]!);
      const src = owner(f[0]!);
      if (dst !== undefined) {
        out[dst]!.bytesIn += bytes;
        out[dst]!.packetsIn += packets;
      }
      if (src !== undefined) {
        out[src]!.bytesOut += bytes;
        out[src]!.packetsOut += packets;
      }
    }
  }
  return out;
}

function writeConfig(dir: string, name: string, opts: { port: number; lateness: string }): string {
  const lines = [
    "inputs:",
    `  netflow: [{ listen: "127.0.0.1:${opts.port}" }]`,
    "aggregation:",
    `  lateness: ${opts.lateness}`,
    // pmacctd reads the captures and stamps flows with their (years old) packet times.
    "  maxPast: forever",
    "store:",
    "  embedded:",
    `    path: ${JSON.stringify(join(dir, name.replace(".yaml", ".duckdb")))}`,
    // The captures are years old: keep their 1-minute rows to compare live and replay with.
    "    retention: { 1m: forever, 5m: forever }",
    "decoder:",
    '  statePath: ""',
    "api:",
    '  listen: "127.0.0.1:0"',
    `  operatorTokens: [${token}]`,
    "customers:",
  ];
  for (const [id, sites] of Object.entries(customers)) {
    lines.push(`  - id: ${id}`, `    name: ${id}`, "    sites:");
    for (const [site, prefixes] of Object.entries(sites)) {
      lines.push(`      - id: ${site}`, "        links:", "          - id: access");
      lines.push(`            prefixes: [${prefixes.map((p) => JSON.stringify(p)).join(", ")}]`);
    }
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/**
 * Runs a command to its end; rejects with its output when it fails or hangs. `done` tells a
 * finished run from a failed one by its output when the exit code can't (pmacctd's core exits 1
 * when its nfprobe plugin finishes first: "connection lost to 'np-nfprobe'" after the plugin
 * logged "Shutting down on user request", i.e. after it exported every flow).
 */
function run(
  cmd: string,
  args: string[],
  done: (output: string) => boolean = () => false,
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || done(output)) resolve(output);
      else reject(new Error(`${cmd} ${args.join(" ")}: exit ${code ?? signal}\n${output}`));
    });
  });
}

/** tcpdump recording the UDP datagrams to `port` on lo; resolves once it is listening. */
async function record(
  path: string,
  port: number,
): Promise<{ stop(): Promise<{ captured: number; stderr: string }>; kill(): void }> {
  const child: ChildProcess = spawn(
    "tcpdump",
    [
      "-i",
      "lo",
      "-Q",
      "in",
      "-B",
      "65536",
      "--immediate-mode",
      "-U",
      "-w",
      path,
      "udp",
      "and",
      "dst",
      "port",
      String(port),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
    child.stderr!.on("data", (d) => {
      stderr += d;
      if (stderr.includes("listening on")) resolve();
    });
  });
  return {
    kill: () => child.kill("SIGKILL"),
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners("close");
        child.on("close", () => {
          const m = /(\d+) packets? captured/.exec(stderr);
          resolve({ captured: m === null ? Number.NaN : Number(m[1]), stderr });
        });
        child.kill("SIGINT");
      }),
  };
}

function exporterCommands(
  exporter: "softflowd" | "pmacctd nfprobe",
  version: number,
  capture: string,
  port: number,
  dir: string,
): [string, string[]] {
  const file = join(fixtures, `packets/${capture}.pcap`);
  if (exporter === "softflowd") {
    const pid = join(dir, "softflowd.pid");
    return [
      "softflowd",
      ["-d", "-a", "-r", file, "-v", String(version), "-n", `127.0.0.1:${port}`, "-p", pid],
    ];
  }
  const conf = join(dir, `pmacctd-${capture}.conf`);
  writeFileSync(
    conf,
    [
      "daemonize: false",
      `pcap_savefile: ${file}`,
      "plugins: nfprobe[np]",
      `nfprobe_receiver[np]: 127.0.0.1:${port}`,
      `nfprobe_version[np]: ${version}`,
      "aggregate[np]: src_host, dst_host, src_port, dst_port, proto, tos",
      "",
    ].join("\n"),
  );
  return ["pmacctd", ["-f", conf]];
}

const silent = pino({ level: "silent" });
const cases = [
  { exporter: "pmacctd nfprobe", version: 9, reference: "tshark ip.len" },
  { exporter: "pmacctd nfprobe", version: 10, reference: "tshark ip.len" },
  // NetFlow v5 carries no IPv6: the reference is what nfdump read from the same export.
  { exporter: "pmacctd nfprobe", version: 5, reference: "pmacctd nfprobe v5" },
  { exporter: "softflowd", version: 5, reference: "softflowd v5" },
  { exporter: "softflowd", version: 9, reference: "softflowd v9" },
  { exporter: "softflowd", version: 10, reference: "softflowd v10" },
] as const;

describe.concurrent("real exporters → flowtally run over UDP", () => {
  for (const c of cases) {
    it(`${c.exporter} v${c.version}: per-customer totals equal ${c.reference}; replay gives the live series`, async ({
      expect,
    }) => {
      const dir = mkdtempSync(join(tmpdir(), "ft-live-"));
      const cfg = loadConfigFile(writeConfig(dir, "live.yaml", { port: 0, lateness: "2m" }));
      const running = await startRun(cfg, silent);
      let stopped = false;
      let recording: Awaited<ReturnType<typeof record>> | undefined;
      try {
        const port = running.inputs[0]!.address.port;
        recording = await record(join(dir, "exports.pcap"), port);
        for (const capture of captures) {
          const [cmd, args] = exporterCommands(c.exporter, c.version, capture, port, dir);
          await run(cmd, args, (out) =>
            /Shutting down on user request\.[\s\S]*no more plugins active/.test(out),
          );
        }
        // The exporters have exited: wait until the last datagram has been read.
        let seen = -1;
        while (seen !== running.stats().datagrams) {
          seen = running.stats().datagrams;
          await new Promise((r) => setTimeout(r, 300));
        }
        const { captured, stderr } = await recording.stop();

        const live = await running.stop();
        stopped = true;
        expect(live.datagrams, stderr).toBe(captured);
        expect(live.kernelDrops ?? 0).toBe(0);
        // Neither exporter sends a sampling rate (they see every packet): counted at 1:1.
        const { "sampling-unknown": _unsampled, ...problems } = live.problems;
        expect(problems).toEqual({});

        // Start again on the same store: what was written before the restart is served by the API.
        const again = await startRun(cfg, silent);
        let body: { rows: Array<Totals & { customer: string }> };
        try {
          const res = await fetch(
            `http://127.0.0.1:${again.api.port}/api/v1/overview?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`,
            { headers: { authorization: `Bearer ${token}` } },
          );
          expect(res.status).toBe(200);
          body = (await res.json()) as typeof body;
        } finally {
          await again.stop();
        }
        const got: Record<string, Totals> = {};
        for (const r of body.rows) {
          if (r.customer === "unattributed") continue;
          const { bytesIn, bytesOut, packetsIn, packetsOut } = r;
          got[r.customer] = { bytesIn, bytesOut, packetsIn, packetsOut };
        }
        expect(got).toEqual(expectedTotals(c.reference));

        // Replay tcpdump's recording into a second store: the same series, point by point.
        const replayCfg = writeConfig(dir, "replay.yaml", { port, lateness: "2m" });
        const replayed = await runReplay([join(dir, "exports.pcap")], {
          config: replayCfg,
          logLevel: "silent",
          progress: false,
        });
        expect(replayed.datagrams).toBe(captured);
        expect(replayed.records).toBe(live.records);
        const series = async (file: string) => {
          const store = createDuckDbStore({ path: join(dir, file) });
          await store.start();
          const out: Record<string, TrafficPoint[]> = {};
          try {
            for (const id of [...Object.keys(customers), "unattributed"]) {
              for (const level of ["1m", "1h", "1d"] as const) {
                out[`${id} ${level}`] = await store.traffic({
                  customer: id,
                  fromMs: 0,
                  toMs: Date.UTC(2100, 0, 1),
                  level,
                });
              }
            }
          } finally {
            await store.stop();
          }
          return out;
        };
        const liveSeries = await series("live.duckdb");
        const replaySeries = await series("replay.duckdb");
        expect(Object.values(liveSeries).some((points) => points.length > 0)).toBe(true);
        expect(replayed.futureRecords).toBe(live.futureRecords);
        if (live.futureRecords === 0) {
          expect(replaySeries).toEqual(liveSeries);
        } else {
          // pmacctd's NetFlow v5 stamps flows days ahead of the export (its uptime and header
          // clock disagree): flowtally counts them at their arrival, which the live run reads
          // from the wall clock and the replay from tcpdump's kernel timestamps, a few ms apart.
          // Where a flow then straddles a minute, its bytes split a little differently; the
          // totals per customer are the same.
          const total = (all: Record<string, TrafficPoint[]>) =>
            Object.fromEntries(
              Object.entries(all)
                .filter(([key]) => key.endsWith(" 1d"))
                .map(([key, points]) => [
                  key,
                  points.reduce(
                    (t, p) => [
                      t[0]! + p.bytesIn,
                      t[1]! + p.bytesOut,
                      t[2]! + p.packetsIn,
                      t[3]! + p.packetsOut,
                    ],
                    [0, 0, 0, 0],
                  ),
                ]),
            );
          expect(total(replaySeries)).toEqual(total(liveSeries));
        }
      } finally {
        recording?.kill(); // a no-op once it has stopped
        if (!stopped) await running.stop();
      }
    }, 120_000);
  }
});
