/**
 * `flowtally customers import FILE` and `flowtally customers export FILE`: the whole customer
 * registry in and out as YAML (the config's `customers:` format, registry/tree-file.ts) or CSV
 * (a provisioning system's dump, registry/tree-csv.ts), chosen by the file's extension or
 * `--format`. An import replaces the registry's tree with the file's as one atomic change set
 * (the diff: adds, updates, deletes), or with `--dry-run` prints that diff and writes nothing.
 *
 * Both open the configured registry directly: PostgreSQL at any time, the embedded DuckDB file
 * only while no running flowtally holds it (DuckDB locks the file).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { loadConfigFile } from "../config/load-config.js";
import { printable } from "../config/printable.js";
import {
  type CustomerTreeEntry,
  describeDiff,
  diffTree,
  exportTree,
  openRegistry,
  parseTree,
  type RegistrySnapshot,
  type RegistryStore,
} from "../registry/index.js";
import { exportCsv, parseCsvTree } from "../registry/tree-csv.js";
import type { Config } from "../schema/config.js";
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";

export type CustomersFormat = "yaml" | "csv";

export interface CustomersImportOptions {
  config: string;
  format?: CustomersFormat;
  dryRun?: boolean;
}

export interface CustomersExportOptions {
  config: string;
  format?: CustomersFormat;
}

/** The format `--format` gives, else the file's extension (.yaml, .yml, .csv). */
export function fileFormat(file: string, format: CustomersFormat | undefined): CustomersFormat {
  if (format !== undefined) return format;
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  throw new FlowtallyError(
    "FT_CUSTOMERS_FILE",
    `${printable(file)}: cannot tell the format from the extension "${ext}": name the file .yaml, .yml or .csv, or give --format yaml|csv`,
  );
}

/** Reads and checks an import file: the tree it holds. */
export async function readTreeFile(
  file: string,
  format: CustomersFormat,
): Promise<CustomerTreeEntry[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new FlowtallyError(
      "FT_CUSTOMERS_FILE",
      `${printable(file)}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  const source = printable(file);
  return format === "csv" ? parseCsvTree(text, source) : parseTree(text, source);
}

/** Imports FILE into the configured registry: the output lines (the diff, or a summary). */
export async function runCustomersImport(
  file: string,
  options: CustomersImportOptions,
): Promise<string> {
  const cfg = loadConfigFile(options.config);
  if (cfg.registry.source !== "database") {
    throw new FlowtallyError(
      "FT_REGISTRY_SOURCE",
      `${printable(options.config)}: registry.source is "${cfg.registry.source}": customers come from the config file's customers: and are changed by editing it; set registry.source: database to import into the registry`,
    );
  }
  const wanted = await readTreeFile(file, fileFormat(file, options.format));
  return withRegistry(cfg, async (store) => {
    const snapshot = await store.snapshot();
    const diff = diffTree(snapshot, wanted);
    const lines = describeDiff(diff);
    if (options.dryRun === true) {
      return `${lines.join("\n")}\ndry run: nothing written (registry version ${snapshot.version})\n`;
    }
    if (diff.changes.length === 0) {
      return `${lines.at(-1)}: the registry already holds this tree (version ${snapshot.version})\n`;
    }
    const { version } = await store.apply(diff.changes, { actor: importActor() });
    return `${lines.at(-1)}\nimported ${printable(file)}: registry version ${version}\n`;
  });
}

/** Exports the registry (or, with registry.source: config, the config's customers) to FILE. */
export async function runCustomersExport(
  file: string,
  options: CustomersExportOptions,
): Promise<string> {
  const format = fileFormat(file, options.format);
  const cfg = loadConfigFile(options.config);
  const snapshot: Pick<RegistrySnapshot, "customers"> & { version?: number } =
    cfg.registry.source === "database"
      ? await withRegistry(cfg, (store) => store.snapshot())
      : { customers: configTree(cfg) };
  const text =
    format === "csv"
      ? exportCsv(snapshot)
      : exportTree({ version: snapshot.version ?? 0, customers: snapshot.customers });
  // Written whole or not at all: a temp file renamed into place.
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, file);
  } catch (e) {
    throw new FlowtallyError(
      "FT_CUSTOMERS_FILE",
      `${printable(file)}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  const from =
    snapshot.version === undefined
      ? `the config's customers (registry.source: config)`
      : `registry version ${snapshot.version}`;
  return `exported ${snapshot.customers.length} customers (${from}) to ${printable(file)}\n`;
}

/** The config's customers as a registry tree (sorted by id, as the registry keeps them). */
function configTree(cfg: Config): RegistrySnapshot["customers"] {
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return cfg.customers
    .map((c) => ({
      ...c,
      revision: 0,
      sites: c.sites
        .map((s) => ({
          ...s,
          revision: 0,
          links: s.links.map((l) => ({ ...l, revision: 0 })).sort(byId),
        }))
        .sort(byId),
    }))
    .sort(byId);
}

/** Who an import is in the audit log: the operating system user. */
function importActor(): string {
  const user = process.env.USER ?? process.env.LOGNAME ?? "unknown";
  return `cli:${user}`;
}

/** Opens the configured registry for `fn`, with DuckDB's lock error said plainly. */
async function withRegistry<T>(cfg: Config, fn: (store: RegistryStore) => Promise<T>): Promise<T> {
  const store = openRegistry(cfg);
  try {
    await store.start();
  } catch (e) {
    if (isFlowtallyError(e, "FT_REGISTRY_OPEN") && /Could not set lock on file/i.test(e.message)) {
      const holder = /Conflicting lock is held in (.*?) \(PID (\d+)\)/.exec(e.message);
      throw new FlowtallyError(
        "FT_DATA_LOCKED",
        `registry.embedded.path ${printable(cfg.registry.embedded.path)} is in use by another process${holder === null ? "" : ` (PID ${holder[2]}, ${printable(holder[1]!)})`}: stop flowtally run (or the process holding it) and try again, or change customers through its API`,
        { cause: e },
      );
    }
    throw e;
  }
  try {
    return await fn(store);
  } finally {
    await store.stop();
  }
}
