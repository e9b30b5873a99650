/**
 * What accounts cost a request: one login (scrypt at OWASP's N = 2^17, r = 8, p = 1) and the
 * latency of `GET /api/v1/me` with each credential (an operator token, compared in memory; a
 * session cookie and a personal token, each two lookups in the embedded registry file), over
 * loopback HTTP one request after the other.
 *
 *   npm run build && node dist/bench/accounts.js
 *   node dist/bench/accounts.js --requests 2000 --logins 5
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createAccountStore } from "../accounts/account-store.js";
import { accountsConfigOf, createAccounts } from "../accounts/accounts.js";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { validateConfig } from "../config/load-config.js";
import { createApiServer } from "../query/api/index.js";
import { createDuckDbDriver } from "../registry/duckdb-registry.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "500" },
    logins: { type: "string", default: "5" },
  },
});
const requests = Number(values.requests);
const logins = Number(values.logins);

const dir = mkdtempSync(join(tmpdir(), "flowtally-bench-accounts-"));
const TOKEN = "bench-operator-token-0123456789";
const PASSWORD = "a long enough password";
const cfg = validateConfig({ api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] } });
const accounts = createAccounts(accountsConfigOf(cfg.api), {
  store: createAccountStore(createDuckDbDriver({ path: join(dir, "registry.duckdb") })),
  now: Date.now,
});
await accounts.start();
const api = createApiServer({
  config: cfg,
  model: buildCustomerModel(cfg),
  log: pino({ level: "silent" }),
  accounts,
});
const { port } = await api.listen();
const base = `http://127.0.0.1:${port}`;

const admin = { user: "bench", role: "admin", via: "operator-token" } as const;
await accounts.addUser(
  { id: "u", role: "operator", auth: "local", password: PASSWORD, disabled: false },
  admin,
  "bench",
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

const loginMs: number[] = [];
let cookie = "";
for (let k = 0; k < logins; k++) {
  const t = performance.now();
  const r = await fetch(`${base}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: "u", password: PASSWORD }),
  });
  await r.text();
  loginMs.push(performance.now() - t);
  cookie = (r.headers.get("set-cookie") ?? "").split(";", 1)[0]!;
}
const personal = await accounts.createToken(
  { user: "u", role: "operator", via: "session" },
  { name: "bench" },
  "bench",
);

async function latency(headers: Record<string, string>) {
  const xs: number[] = [];
  for (let k = 0; k < requests; k++) {
    const t = performance.now();
    const r = await fetch(`${base}/api/v1/me`, { headers });
    if (r.status !== 200) throw new Error(`GET /api/v1/me: ${r.status}`);
    await r.text();
    xs.push(performance.now() - t);
  }
  return `p50 ${median(xs).toFixed(2)} ms, p99 ${pct(xs, 0.99).toFixed(2)} ms`;
}

console.log(
  `login: median ${median(loginMs).toFixed(0)} ms of ${logins} (scrypt N=2^17, r=8, p=1)`,
);
console.log(`GET /api/v1/me, ${requests} each, one at a time:`);
console.log(`  operator token  ${await latency({ authorization: `Bearer ${TOKEN}` })}`);
console.log(`  session cookie  ${await latency({ cookie })}`);
console.log(`  personal token  ${await latency({ authorization: `Bearer ${personal.token}` })}`);
await api.close();
await accounts.stop();
rmSync(dir, { recursive: true, force: true });
