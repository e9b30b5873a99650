/**
 * CPU of a bare UDP receiver per backend: each receiver runs in its own process, counts the
 * datagrams it is handed and does nothing else; a worker thread sends a generated IPFIX stream
 * (~25 records per datagram) to it at a target rate; the receiver's CPU is utime + stime from
 * /proc/<pid>/stat over the run.
 *
 *   node dist/bench/udp-receive.js [--rate 500000] [--records 3000000] [--repeat 1] [case...]
 *
 * Cases: dgram (openUdpInput), recvmmsg (openBatchedUdpInput, reads on a 1 ms timer while
 * traffic flows), recvmmsg-nocoalesce (reads at each readable event).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createFlowGenerator, generateDatagrams } from "./flow-generator.js";
import { sendInWorker } from "./udp-sender.js";

const RECEIVE_BUFFER = 32 << 20;
const udpInput = new URL("../collector/udp-input.js", import.meta.url).href;
const batchInput = new URL("../collector/udp-batch-input.js", import.meta.url).href;

/** Receiver programs: PORT is replaced; each prints "ready" on stderr, its count at SIGTERM. */
const cases: Record<string, string> = {
  dgram: `import(${JSON.stringify(udpInput)}).then(async (m) => {
    let n = 0;
    const i = await m.openUdpInput({ listen: "127.0.0.1:PORT", receiveBufferBytes: ${RECEIVE_BUFFER}, onDatagram: () => { n++; } });
    console.error("ready");
    process.on("SIGTERM", () => { console.log(JSON.stringify({ datagrams: n, drops: i.kernelDrops() })); process.exit(0); });
  });`,
  recvmmsg: `import(${JSON.stringify(batchInput)}).then(async (m) => {
    let n = 0;
    const i = await m.openBatchedUdpInput({ listen: "127.0.0.1:PORT", receiveBufferBytes: ${RECEIVE_BUFFER}, onDatagram: () => { n++; } }, COALESCE);
    console.error("ready");
    process.on("SIGTERM", () => { console.log(JSON.stringify({ datagrams: n, drops: i.kernelDrops() })); process.exit(0); });
  });`,
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: "string", default: "500000" },
    records: { type: "string", default: "3000000" },
    repeat: { type: "string", default: "1" },
  },
});
const rate = Number(values.rate);
const names = positionals.length > 0 ? positionals : ["dgram", "recvmmsg", "recvmmsg-nocoalesce"];
const gen = createFlowGenerator({ seed: 1, customers: 1000, version: 10, startMs: Date.now() });
const pack = generateDatagrams(gen, Number(values.records));

function cpuTicks(pid: number): { user: number; system: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { user: Number(f[11]), system: Number(f[12]) };
}

let port = 47_900;
for (let r = 0; r < Number(values.repeat); r++) {
  for (const name of names) {
    const base = name.startsWith("recvmmsg") ? "recvmmsg" : name;
    const src = cases[base];
    if (src === undefined) throw new Error(`${name}: no such case`);
    port++;
    const program = src
      .replaceAll("PORT", String(port))
      .replace("COALESCE", name === "recvmmsg-nocoalesce" ? "0" : "1");
    const child = spawn(process.execPath, ["-e", program], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    await new Promise((res) => child.stderr.once("data", res));
    const t0 = cpuTicks(child.pid!);
    const sent = await sendInWorker({ pack, ports: [port], recordsPerSecond: rate });
    await new Promise((res) => setTimeout(res, 500));
    const t1 = cpuTicks(child.pid!);
    child.kill("SIGTERM");
    await new Promise((res) => child.on("close", res));
    const got = JSON.parse(out) as { datagrams: number; drops: number | null };
    const user = (t1.user - t0.user) / 100;
    const system = (t1.system - t0.system) / 100;
    console.log(
      `${name.padEnd(20)} ${Math.round(sent.recordsPerSecond)} rec/s, ${sent.datagrams} datagrams sent, ` +
        `${got.datagrams} received, ${got.drops} dropped | CPU-s user ${user.toFixed(2)} ` +
        `system ${system.toFixed(2)} total ${(user + system).toFixed(2)} | ` +
        `${(((user + system) / sent.datagrams) * 1e6).toFixed(2)} µs/datagram`,
    );
  }
}
