/**
 * What storing billing profile versions costs `run` and `serve` (sla/profile-recorder.ts) with
 * 100 000 customers (bench/customers-config.ts's config) on the embedded store: the first start
 * (every customer's version written), a restart (the latest versions read, nothing written), a
 * registry version that changes one customer's commit rate (the others' profile text reused by
 * object), and one SLA report's read of a customer's versions.
 *
 *   node dist/bench/billing-profiles.js [--customers 100000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseConfigText } from "../config/load-config.js";
import { profileHistory } from "../sla/billing-profile.js";
import { createProfileRecorder } from "../sla/profile-recorder.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { customersConfig } from "./customers-config.js";

const at = process.argv.indexOf("--customers");
const customers = at > 0 ? Number(process.argv[at + 1]) : 100_000;
const log = pino({ level: "silent" });

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  console.log(`${what}: ${(performance.now() - t0).toFixed(0)} ms`);
  return out;
}

const dir = await mkdtemp(join(tmpdir(), "ft-bench-profiles-"));
try {
  const cfg = parseConfigText(customersConfig(dir, customers), join(dir, "ft.yaml"), dir);
  const store = createDuckDbStore({ path: join(dir, "ft.duckdb") });
  await store.start();
  let clock = Date.UTC(2030, 0, 1);
  const recorder = () => createProfileRecorder({ store, log, now: () => clock++ });
  const first = recorder();
  console.log(`customers: ${customers}`);
  const written = await timed("first start (every version written)", () =>
    first.record({ config: cfg }, true),
  );
  const again = await timed("restart (latest read, nothing written)", () =>
    recorder().record({ config: cfg }, true),
  );
  // A registry version: one customer's link replaced, the others the same objects.
  const changed = cfg.customers.slice();
  const c0 = changed[0]!;
  changed[0] = {
    ...c0,
    sites: [{ ...c0.sites[0]!, links: [{ ...c0.sites[0]!.links[0]!, commitRate: 200_000_000 }] }],
  };
  const next = { ...cfg, customers: changed };
  const one = await timed("registry version, one commit rate changed (all compared)", () =>
    first.record({ config: next }),
  );
  const same = await timed("registry version, nothing changed (all compared)", () =>
    first.record({ config: next }),
  );
  // As `run` and `serve` record a registry version: it tells which customers it changed.
  const back = { ...cfg, customers: changed.slice() };
  back.customers[0] = c0;
  const told = await timed("registry version, one commit rate changed (it tells which)", () =>
    first.record({ config: back, changedSince: () => [{ id: c0.id, after: c0 }] }),
  );
  const history = await timed("one customer's versions read (a report)", async () =>
    profileHistory(await store.billingProfiles({ customer: "c0" })),
  );
  console.log(
    `versions written: ${written}, ${again}, ${one}, ${same}, ${told}; c0 has ${history.history.length}`,
  );
  await store.stop();
} finally {
  await rm(dir, { recursive: true, force: true });
}
