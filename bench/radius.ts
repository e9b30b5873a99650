/**
 * The RADIUS client's latency and throughput against a local FreeRADIUS (bench/freeradius.ts:
 * Debian's freeradius on a free loopback UDP port, reject_delay 0): `--sequential` logins one
 * after the other (p50, p99, max of each), then `--concurrent` at once over the client's one
 * socket (the wall time and logins per second), half right and half wrong passwords. What it
 * measures is the round trip through the client, the kernel and FreeRADIUS's `files` and `pap`
 * modules, not a production server's backend (LDAP, SQL).
 *
 *   npm run build && node dist/bench/radius.js
 *   node dist/bench/radius.js --sequential 5000 --concurrent 2000
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createRadiusClient } from "../accounts/radius-client.js";
import { startFreeradius } from "./freeradius.js";

const { values } = parseArgs({
  options: {
    sequential: { type: "string", default: "2000" },
    concurrent: { type: "string", default: "1000" },
  },
});
const sequential = Number(values.sequential);
const concurrent = Number(values.concurrent);

const secret = "bench-shared-secret-0123456789ab";
const users = [{ name: "bench", password: "a-password-of-24-bytes.." }];
const server = await startFreeradius({ users, secret });
const client = createRadiusClient(
  { servers: [{ host: "127.0.0.1", port: server.port, secret }], timeout: 3000, retries: 2 },
  { log: pino({ level: "silent" }) },
);
const ask = (k: number) =>
  client.authenticate("bench", k % 2 === 0 ? users[0]!.password : `wrong-${k}`);
const expected = (k: number) => (k % 2 === 0 ? "accept" : "reject");

try {
  for (let k = 0; k < 100; k++) await ask(k); // warm up
  const ms: number[] = [];
  let wrong = 0;
  for (let k = 0; k < sequential; k++) {
    const t0 = performance.now();
    if ((await ask(k)) !== expected(k)) wrong++;
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
  console.log(
    `sequential: ${sequential} logins, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms, wrong answers ${wrong}`,
  );
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: concurrent }, (_, k) => ask(k)));
  const wall = performance.now() - t0;
  const bad = answers.filter((a, k) => a !== expected(k)).length;
  console.log(
    `concurrent: ${concurrent} logins at once in ${wall.toFixed(0)} ms (${Math.round((concurrent / wall) * 1000)} logins/s), wrong answers ${bad}`,
  );
  console.log(`FreeRADIUS ${server.version}`);
} finally {
  await client.stop();
  await server.close();
}
