/**
 * The embedded registry's tree saved beside its database file (`<registry.embedded.path>.tree`)
 * when the store stops, so that the next start reads one JSON text instead of asking DuckDB for
 * 300 000 rows and building the tree from them (docs/registry.md, "Start-up"). The file is only a
 * cache: the store checks it against the database (its version, and the version's first audit
 * entry as the history's mark) and reads the database instead whenever they differ; a file of an
 * older version is brought up to date from the audit log, as another process's changes are.
 *
 * Format: one line of JSON naming the format, the version and the mark, then the customers as
 * one JSON array (each sorted by id, with their sites and links, as a snapshot holds them).
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import type { RegistryCustomer } from "./model.js";

const FORMAT = "flowtally-registry-tree/1";

export interface SavedTree {
  readonly version: number;
  /** What the database says of `version` (sql-registry.ts `markOf`): the history it belongs to. */
  readonly mark: string;
  readonly customers: readonly RegistryCustomer[];
}

export interface TreeFile {
  /** The saved tree, or undefined when there is none or it cannot be read as one. */
  read(): Promise<SavedTree | undefined>;
  /** Replaces the saved tree (a whole new file, renamed into place). */
  write(tree: SavedTree): Promise<void>;
  /** Removes the saved tree, if any. */
  remove(): Promise<void>;
}

/** The saved tree of the registry file `databasePath`. */
export function treeFileBeside(databasePath: string): TreeFile {
  const path = `${databasePath}.tree`;
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch {
        return undefined;
      }
      try {
        const end = text.indexOf("\n");
        const head = JSON.parse(text.slice(0, end)) as Record<string, unknown>;
        if (
          head.format !== FORMAT ||
          !Number.isSafeInteger(head.version) ||
          typeof head.mark !== "string"
        ) {
          return undefined;
        }
        const customers = JSON.parse(text.slice(end + 1)) as unknown;
        if (!Array.isArray(customers)) return undefined;
        return {
          version: head.version as number,
          mark: head.mark,
          customers: customers as RegistryCustomer[],
        };
      } catch {
        // Cut short (a crash while writing is ruled out by the rename, a full disk is not).
        return undefined;
      }
    },
    async write(tree) {
      const head = JSON.stringify({ format: FORMAT, version: tree.version, mark: tree.mark });
      const part = `${path}.part`;
      await writeFile(part, `${head}\n${JSON.stringify(tree.customers)}`);
      await rename(part, path);
    },
    async remove() {
      await rm(path, { force: true });
    },
  };
}
