/**
 * `flowtally customers import FILE` and `flowtally customers export FILE`: the whole customer
 * registry in and out as YAML (the config's `customers:` format, registry/tree-file.ts) or CSV
 * (a provisioning system's dump, registry/tree-csv.ts), chosen by the file's extension or
 * `--format`. An import replaces the registry's tree with the file's as one atomic change set
 * (the diff: adds, updates, deletes), or with `--dry-run` prints that diff and writes nothing.
 *
 * Both open the configured registry directly: PostgreSQL at any time, the embedded DuckDB file
 * only while no running flowtally holds it (DuckDB locks the file); or, with `--api URL`, go
 * through a running flowtally's API (`GET /api/v1/registry/tree`, `POST /api/v1/changes`), with
 * the operator token from FLOWTALLY_TOKEN or `--token-file`.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { loadConfigFile } from "../config/load-config.js";
import { printable } from "../config/printable.js";
import {
  CustomerList,
  type CustomerTreeEntry,
  describeDiff,
  diffTree,
  exportTree,
  openRegistry,
  parseTree,
  type RegistryCustomer,
  type RegistrySnapshot,
  type RegistryStore,
} from "../registry/index.js";
import { checkTemplateNames } from "../registry/portal-template-names.js";
import { exportCsv, parseCsvTree } from "../registry/tree-csv.js";
import type { Config } from "../schema/config.js";
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import {
  API_TIMEOUT_MS,
  apiBaseUrl,
  type FetchedAnswer,
  fetchAnswer,
  type TokenSources,
  tokenFrom,
} from "./api-client.js";

export type CustomersFormat = "yaml" | "csv";

/** Where the registry is: the config's (`config`), or a running flowtally's API (`api`). */
export interface RegistrySourceOptions extends TokenSources {
  config?: string;
  api?: string;
}

export interface CustomersImportOptions extends RegistrySourceOptions {
  format?: CustomersFormat;
  dryRun?: boolean;
}

export interface CustomersExportOptions extends RegistrySourceOptions {
  format?: CustomersFormat;
}

/** The registry behind `--config` or `--api`: its tree, and a change set applied to it. */
interface TreeSource {
  /** For messages. */
  readonly name: string;
  tree(): Promise<Pick<RegistrySnapshot, "customers"> & { version?: number }>;
  apply(changes: readonly unknown[]): Promise<number>;
}

function sourceOf(options: RegistrySourceOptions, forImport: boolean): TreeSource {
  if ((options.api === undefined) === (options.config === undefined)) {
    throw new FlowtallyError(
      "FT_CUSTOMERS_FILE",
      "give the registry with -c/--config FILE (opened directly) or --api URL (a running flowtally), one of the two",
    );
  }
  if (options.api !== undefined) return apiSource(options.api, options);
  const config = options.config!;
  const cfg = loadConfigFile(config);
  if (cfg.registry.source !== "database") {
    if (forImport) {
      throw new FlowtallyError(
        "FT_REGISTRY_SOURCE",
        `${printable(config)}: registry.source is "${cfg.registry.source}": customers come from the config file's customers: and are changed by editing it; set registry.source: database to import into the registry`,
      );
    }
    return {
      name: `the config's customers (registry.source: config)`,
      tree: async () => ({ customers: configTree(cfg) }),
      apply: () => Promise.reject(new Error("unreachable")),
    };
  }
  return {
    name: "registry",
    tree: () => withRegistry(cfg, (store) => store.snapshot()),
    apply: (changes) => {
      // A customer's portalTemplate names one of this config's portal.templates.
      checkTemplateNames(changes, Object.keys(cfg.portal.templates).sort());
      return withRegistry(
        cfg,
        async (store) => (await store.apply(changes, { actor: importActor() })).version,
      );
    },
  };
}

/** A running flowtally's registry, through its API. */
function apiSource(api: string, tokens: TokenSources): TreeSource {
  const base = apiBaseUrl(api);
  const token = tokenFrom(tokens, process.env);
  const where = `--api ${base.origin}${base.pathname.replace(/\/$/, "")}`;
  const answered = (a: FetchedAnswer, ok: number): unknown => {
    let body: unknown;
    try {
      body = JSON.parse(a.body);
    } catch {
      body = undefined;
    }
    if (a.status === ok && body !== undefined) return body;
    const error = (
      body as {
        error?: {
          code?: string;
          message?: string;
          problems?: Array<{ path: string; reason: string }>;
        };
      }
    )?.error;
    if (error?.message === undefined) {
      throw new FlowtallyError(
        "FT_API_ERROR",
        `${where}: not an answer of the flowtally API (HTTP ${a.status}, ${a.contentType || "no content type"})`,
      );
    }
    const problems = (error.problems ?? []).map((p) => `\n  ${p.path}: ${p.reason}`).join("");
    throw new FlowtallyError(
      a.status === 401 || a.status === 429 ? "FT_API_UNAUTHORIZED" : "FT_API_ERROR",
      `${where}: ${error.message} (HTTP ${a.status} ${error.code ?? ""})${problems}`,
    );
  };
  return {
    name: where,
    async tree() {
      // The answer's customers are the tree as JSON: an array, sorted by id.
      const answer = answered(await fetchAnswer(base, "api/v1/registry/tree", token), 200) as {
        version: number;
        customers: RegistryCustomer[];
      };
      return { version: answer.version, customers: CustomerList.from(answer.customers) };
    },
    async apply(changes) {
      const a = await fetchAnswer(base, "api/v1/changes", token, API_TIMEOUT_MS * 4, {
        method: "POST",
        json: { changes },
      });
      return (answered(a, 200) as { registryVersion: number }).registryVersion;
    },
  };
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

/** Imports FILE into the registry: the output lines (the diff, or a summary). */
export async function runCustomersImport(
  file: string,
  options: CustomersImportOptions,
): Promise<string> {
  const source = sourceOf(options, true);
  const wanted = await readTreeFile(file, fileFormat(file, options.format));
  const current = await source.tree();
  const snapshot: RegistrySnapshot = {
    version: current.version ?? 0,
    customers: current.customers,
  };
  const diff = diffTree(snapshot, wanted);
  const lines = describeDiff(diff);
  if (options.dryRun === true) {
    return `${lines.join("\n")}\ndry run: nothing written (registry version ${snapshot.version})\n`;
  }
  if (diff.changes.length === 0) {
    return `${lines.at(-1)}: the registry already holds this tree (version ${snapshot.version})\n`;
  }
  // The changes carry the revisions read: a record edited meanwhile refuses the whole import.
  const version = await source.apply(diff.changes);
  return `${lines.at(-1)}\nimported ${printable(file)}: registry version ${version}\n`;
}

/** Exports the registry (or, with registry.source: config, the config's customers) to FILE. */
export async function runCustomersExport(
  file: string,
  options: CustomersExportOptions,
): Promise<string> {
  const format = fileFormat(file, options.format);
  const snapshot = await sourceOf(options, false).tree();
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
  return CustomerList.from(
    cfg.customers
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
      .sort(byId),
  );
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
