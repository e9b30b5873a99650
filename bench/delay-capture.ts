/**
 * Records test/fixtures/packets/generated/delays.pcap and its manifest (the SLA proof's capture
 * with known server delays, test/support/delay-capture.ts), as root with tcpdump and tshark:
 *
 *   npx tsc -p tsconfig.build.json
 *   node dist/bench/delay-capture.js --out test/fixtures/packets/generated
 *
 * Writes `delays.pcap` (re-timed to 2026-11-01 10:00–10:06 UTC) and `delays.json` (the manifest:
 * connections, ports, delays). A server's timer on a loaded machine fires late (tens of ms with
 * two shared cores), which would move a transaction across a threshold the plan keeps it away
 * from: the recording is kept only when every response's tshark `http.time` is within
 * [delay − 1 ms, delay + 12 ms) (libuv's cached loop clock can fire a timer up to 1 ms early),
 * and made again otherwise (up to 20 times). The proof itself compares with tshark, not with
 * the plan; the plan's counts are a second check the kept recording passes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type DelayManifest,
  FIXTURE_PLAN,
  recordDelayCapture,
} from "../test/support/delay-capture.js";

const { values } = parseArgs({ options: { out: { type: "string" } } });
const out = values.out ?? ".";
const rawPcap = join(out, "delays.raw.pcap");
const pcap = join(out, "delays.pcap");

/** The largest distance of a measured delay outside [delay − 1, delay + 12) ms, 0 when none. */
function worstMiss(manifest: DelayManifest): number {
  const lines = execFileSync(
    "tshark",
    ["-r", pcap, "-Y", "http.response", "-T", "fields", "-e", "tcp.dstport", "-e", "http.time"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  )
    .trim()
    .split("\n");
  const byPort = new Map<number, number[]>();
  for (const l of lines) {
    const [port, time] = l.split("\t");
    const list = byPort.get(Number(port)) ?? [];
    list.push(Number(time) * 1000);
    byPort.set(Number(port), list);
  }
  let worst = 0;
  for (const c of manifest.connections) {
    const got = byPort.get(c.clientPort) ?? [];
    if (got.length !== c.delaysMs.length) return Number.POSITIVE_INFINITY;
    c.delaysMs.forEach((want, i) => {
      const ms = got[i]!;
      worst = Math.max(worst, want - 1 - ms, ms - (want + 12));
    });
  }
  return worst;
}

for (let attempt = 1; ; attempt++) {
  const manifest = await recordDelayCapture(FIXTURE_PLAN, {
    rawPcap,
    outPcap: pcap,
    manifestPath: join(out, "delays.json"),
  });
  rmSync(rawPcap);
  const miss = worstMiss(JSON.parse(readFileSync(join(out, "delays.json"), "utf8")));
  console.log(
    `attempt ${attempt}: ${manifest.connections.length} connections; tcpdump: ${manifest.tcpdump}; ` +
      `worst miss ${miss.toFixed(3)} ms`,
  );
  if (miss <= 0) break;
  if (attempt === 20) throw new Error("no recording within the tolerance: is the machine loaded?");
}
