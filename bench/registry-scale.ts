/**
 * The customer registry at scale: N customers (default 100 000), each with one site and two
 * access links (200 000 links): one link with an IPv4 /28 (and an IPv6 /56 for every other
 * customer), one on a router interface. On the embedded registry (DuckDB, a temp file) and on
 * PostgreSQL started by the harness (bench/servers.ts startPostgres, a temp dir, a free
 * loopback port):
 *
 * - import: the whole tree as one change set into an empty registry (diffTree + apply);
 * - start: a second store opened on the same database, `start()` then the first `snapshot()`
 *   (what a process pays at start; the validation index is built in start);
 * - single changes: `--changes` (default 400) change sets of one or two operations each (a
 *   link's prefixes moved to a fresh /28, an interface's ifIndex changed, a customer's name,
 *   a site added with a link, then deleted), each `apply` timed (validated + written), p50/p99;
 * - RSS after each phase.
 *
 *   npm run build && node dist/bench/registry-scale.js                        # both backends
 *   node dist/bench/registry-scale.js --backend duckdb --customers 20000
 *   node dist/bench/registry-scale.js --json
 *   node dist/bench/registry-scale.js --no-csv             # without the CLI's CSV import
 *
 * Then (unless --no-csv) `flowtally customers import FILE.csv` of the same tree (200 000 rows)
 * into an empty embedded registry, as a child process, and a dry run of the same file again.
 */
import { spawnSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import {
  type ChangeInput,
  type CustomerTreeEntry,
  createDuckDbRegistry,
  createPostgresRegistry,
  diffTree,
  EMPTY_SNAPSHOT,
  type RegistrySnapshot,
  type RegistryStore,
  registryCustomerSchema,
} from "../registry/index.js";
import { exportCsv } from "../registry/tree-csv.js";
import { startPostgres } from "./servers.js";

const MIB = 1024 * 1024;

interface Options {
  customers: number;
  changes: number;
  backends: Array<"duckdb" | "postgres">;
  json: boolean;
  /** Also time `flowtally customers import` of the tree as CSV (the built CLI). */
  csv: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "100000" },
      changes: { type: "string", default: "400" },
      backend: { type: "string", default: "both" },
      json: { type: "boolean", default: false },
      csv: { type: "boolean", default: true },
      "no-csv": { type: "boolean", default: false },
    },
  });
  const customers = Number(values.customers);
  if (!Number.isInteger(customers) || customers < 1 || customers > 1_000_000) {
    throw new Error(`--customers ${values.customers}: expected an integer from 1 to 1000000`);
  }
  const changes = Number(values.changes);
  if (!Number.isInteger(changes) || changes < 1) {
    throw new Error(`--changes ${values.changes}: expected >= 1`);
  }
  const b = values.backend;
  if (b !== "both" && b !== "duckdb" && b !== "postgres") {
    throw new Error(`--backend ${b}: expected duckdb, postgres or both`);
  }
  return {
    customers,
    changes,
    backends: b === "both" ? ["duckdb", "postgres"] : [b],
    json: values.json,
    csv: values.csv && !values["no-csv"],
  };
}

/** An IPv4 /28 per number: 10.0.0.0/8 holds 2^20 of them. */
export function ipv4Prefix(i: number, base = 10 << 24): string {
  const a = (base + i * 16) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/28`;
}

/** The bench's tree: customer i has site `s` with link `a` (prefixes) and link `b` (interface). */
export function benchTree(customers: number): CustomerTreeEntry[] {
  const out: CustomerTreeEntry[] = [];
  for (let i = 0; i < customers; i++) {
    const prefixes = [ipv4Prefix(i)];
    if (i % 2 === 0)
      prefixes.push(`2001:db8:${(i >>> 8).toString(16)}:${((i & 255) << 8).toString(16)}::/56`);
    out.push(
      registryCustomerSchema.parse({
        id: `c${String(i).padStart(6, "0")}`,
        name: `Customer ${i}`,
        serviceType: ["business", "residential", "wholesale"][i % 3],
        contact: "NOC",
        email: `noc${i}@example.net`,
        sites: [
          {
            id: "s",
            name: "Main site",
            address: `Street ${i}`,
            links: [
              { id: "a", prefixes, commitRate: "100M" },
              {
                id: "b",
                router: `10.255.${(i >>> 16) & 255}.${(i >>> 8) & 255}`,
                ifIndex: i & 255,
                description: "uplink",
              },
            ],
          },
        ],
      }),
    );
  }
  return out;
}

/** The k-th single change: a mix of link, interface, customer and site edits. */
function change(k: number, customers: number): ChangeInput[] {
  const i = (k * 7919) % customers;
  const customer = `c${String(i).padStart(6, "0")}`;
  switch (k % 5) {
    case 0:
    case 1:
      // A fresh /28 from 100.64.0.0/10, never used by the tree.
      return [
        {
          op: "update",
          customer,
          site: "s",
          link: "a",
          set: { prefixes: [ipv4Prefix(k, ((100 << 24) | (64 << 16)) >>> 0)] },
        },
      ];
    case 2:
      return [
        {
          op: "update",
          customer,
          site: "s",
          link: "b",
          set: { ifIndex: 1000 + k },
        },
      ];
    case 3:
      return [{ op: "update", customer, set: { name: `Customer ${i} (${k})` } }];
    default:
      return [
        { op: "add", customer, site: `extra${k}`, record: { name: "Extra" } },
        {
          op: "add",
          customer,
          site: `extra${k}`,
          link: "x",
          record: { prefixes: [ipv4Prefix(k, ((172 << 24) | (16 << 16)) >>> 0)] },
        },
      ];
  }
}

const rssMiB = () => Math.round(process.memoryUsage().rss / MIB);
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(
  backend: string,
  open: () => RegistryStore,
  tree: CustomerTreeEntry[],
  changes: number,
) {
  const customers = tree.length;
  const store = open();
  await store.start();
  const t0 = performance.now();
  const diff = diffTree(EMPTY_SNAPSHOT, tree);
  const imported = await store.apply(diff.changes, { actor: "bench-import" });
  const importSeconds = (performance.now() - t0) / 1000;
  const rssAfterImport = rssMiB();
  await store.stop();

  const again = open();
  const t1 = performance.now();
  await again.start();
  const snap = await again.snapshot();
  const startSeconds = (performance.now() - t1) / 1000;
  if (snap.version !== imported.version || snap.customers.length !== customers) {
    throw new Error(`${backend}: the snapshot read back is not the import`);
  }
  const rssAfterStart = rssMiB();

  const times: number[] = [];
  for (let k = 0; k < changes; k++) {
    const t = performance.now();
    await again.apply(change(k, customers), { actor: "bench" });
    times.push(performance.now() - t);
  }
  const first = times[0]!;
  const sorted = times.slice().sort((a, b) => a - b);
  const result = {
    backend,
    customers,
    links: customers * 2,
    importSeconds: round(importSeconds, 2),
    startSeconds: round(startSeconds, 3),
    firstChangeMs: round(first, 1),
    changeP50Ms: round(quantile(sorted, 0.5), 1),
    changeP99Ms: round(quantile(sorted, 0.99), 1),
    changeMaxMs: round(sorted[sorted.length - 1]!, 1),
    changes,
    rssAfterImportMiB: rssAfterImport,
    rssAfterStartMiB: rssAfterStart,
    rssEndMiB: rssMiB(),
  };
  await again.stop();
  return result;
}

/**
 * `flowtally customers import FILE.csv` of the whole tree (one row per link) into an empty
 * embedded registry, as a child process of the built CLI: wall seconds and the file's size.
 */
async function measureCliCsv(tree: CustomerTreeEntry[]) {
  const dir = await mkdtemp(join(tmpdir(), "flowtally-registry-csv-"));
  try {
    const file = join(dir, "customers.csv");
    writeFileSync(file, exportCsv({ customers: tree as unknown as RegistrySnapshot["customers"] }));
    const config = join(dir, "ft.yaml");
    writeFileSync(config, `dataDir: ${JSON.stringify(dir)}\nregistry: { source: database }\n`);
    const cli = new URL("../cli/flowtally.js", import.meta.url).pathname;
    const t = performance.now();
    const r = spawnSync(process.execPath, [cli, "customers", "import", file, "-c", config], {
      encoding: "utf8",
    });
    const seconds = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`customers import failed: ${r.stderr}`);
    const t2 = performance.now();
    const again = spawnSync(
      process.execPath,
      [cli, "customers", "import", file, "-c", config, "--dry-run"],
      {
        encoding: "utf8",
      },
    );
    const dryRunSeconds = (performance.now() - t2) / 1000;
    if (again.status !== 0 || !again.stdout.startsWith("0 to add, 0 to change, 0 to delete")) {
      throw new Error(
        `customers import --dry-run of the same file: ${again.stdout}${again.stderr}`,
      );
    }
    return {
      backend: "duckdb",
      case: "flowtally customers import FILE.csv",
      rows: tree.length * 2,
      fileMiB: round(statSync(file).size / MIB, 1),
      importSeconds: round(seconds, 2),
      sameFileDryRunSeconds: round(dryRunSeconds, 2),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

async function main() {
  const options = parseOptions();
  const tree = benchTree(options.customers);
  const results = [];
  for (const backend of options.backends) {
    if (backend === "duckdb") {
      const dir = await mkdtemp(join(tmpdir(), "flowtally-registry-bench-"));
      try {
        const path = join(dir, "registry.duckdb");
        results.push(
          await measure("duckdb", () => createDuckDbRegistry({ path }), tree, options.changes),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      const server = await startPostgres();
      try {
        const admin = new pg.Client({ connectionString: server.url });
        await admin.connect();
        await admin.query("CREATE DATABASE registry_bench");
        await admin.end();
        const url = new URL(server.url);
        url.pathname = "/registry_bench";
        results.push(
          await measure(
            "postgres",
            () => createPostgresRegistry({ url: url.toString() }),
            tree,
            options.changes,
          ),
        );
      } finally {
        await server.close();
      }
    }
    if (!options.json) console.log(results[results.length - 1]);
  }
  if (options.csv) {
    const csv = await measureCliCsv(tree);
    if (!options.json) console.log(csv);
    results.push(csv as never);
  }
  if (options.json) console.log(JSON.stringify(results, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
