/**
 * The embedded registry's saved tree (tree-snapshot.ts, docs/registry.md "Start-up: the saved
 * tree") on real DuckDB files: a start reads the file when the database is at its version, and
 * the database's own tree in every other case (moved on, restored, another history, a broken
 * file). The expected trees are what a start without the file reads from the tables.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { createDuckDbRegistry } from "./duckdb-registry.js";
import type { ChangeInput, RegistrySnapshot } from "./model.js";

const NOW = Date.UTC(2020, 0, 2, 3, 4, 5);

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "flowtally-tree-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens the registry file, applies the change sets (one version each), stops it. */
async function session(
  path: string,
  changeSets: ChangeInput[][] = [],
  actor = "t",
): Promise<RegistrySnapshot> {
  const store = createDuckDbRegistry({ path }, { now: () => NOW });
  await store.start();
  try {
    for (const changes of changeSets) await store.apply(changes, { actor });
    return await store.snapshot();
  } finally {
    await store.stop();
  }
}

/** The tree a start reads from the tables (the saved file moved away and back). */
async function fromTables(path: string): Promise<RegistrySnapshot> {
  const aside = `${path}.aside`;
  await copyFile(`${path}.tree`, aside).catch(() => undefined);
  await rm(`${path}.tree`, { force: true });
  const store = createDuckDbRegistry({ path }, { now: () => NOW });
  await store.start();
  const tree = await store.snapshot();
  await store.stop();
  await copyFile(aside, `${path}.tree`).catch(() => undefined);
  return tree;
}

const addCustomer = (id: string, name: string): ChangeInput[] => [
  { op: "add", customer: id, record: { name } },
  { op: "add", customer: id, site: "hq", record: {} },
  {
    op: "add",
    customer: id,
    site: "hq",
    link: "l1",
    record: { prefixes: [`10.0.${id.length}.0/28`] },
  },
];

describe("the embedded registry's saved tree", () => {
  it("is written at stop and read at the next start while the database is at its version", async () => {
    const path = join(await tempDir(), "registry.duckdb");
    const written = await session(path, [addCustomer("a", "A"), addCustomer("bb", "B")]);
    const text = await readFile(`${path}.tree`, "utf8");
    expect(JSON.parse(text.slice(0, text.indexOf("\n")))).toMatchObject({ version: 2 });
    // The file, not the tables, is what the start reads: a name changed in it shows.
    await writeFile(`${path}.tree`, text.replace('"name":"A"', '"name":"from the file"'));
    const started = await session(path);
    expect(started.version).toBe(2);
    expect(started.customers.toArray().map((c) => c.name)).toEqual(["from the file", "B"]);
    expect(written.customers.toArray().map((c) => c.name)).toEqual(["A", "B"]);
  });

  it("brings a file of an older version up to the database's, from the audit log", async () => {
    const path = join(await tempDir(), "registry.duckdb");
    await session(path, [addCustomer("a", "A"), addCustomer("bb", "B")]);
    await copyFile(`${path}.tree`, `${path}.v2`);
    await session(path, [
      [{ op: "update", customer: "a", set: { description: "changed" } }],
      [{ op: "delete", customer: "bb" }],
      addCustomer("ccc", "C"),
    ]);
    // A crash after those writes would have left the version 2 file.
    await copyFile(`${path}.v2`, `${path}.tree`);
    const started = await session(path);
    expect(started.version).toBe(5);
    expect(started).toEqual(await fromTables(path));
    expect(started.customers.toArray().map((c) => [c.id, c.description ?? null])).toEqual([
      ["a", "changed"],
      ["ccc", null],
    ]);
  });

  it("is not read for a database with another history, behind it, or when it is broken", async () => {
    const dir = await tempDir();
    const path = join(dir, "registry.duckdb");
    await session(path, [addCustomer("a", "A")]);
    // Another database at the same version, its version 1 made by someone else.
    const other = join(dir, "other.duckdb");
    await session(other, [addCustomer("a", "Other")], "someone else");
    await copyFile(`${path}.tree`, `${other}.tree`);
    expect((await session(other)).customers.toArray().map((c) => c.name)).toEqual(["Other"]);
    // A database behind the file (restored from an older copy): a version 0 one here.
    const empty = join(dir, "empty.duckdb");
    await session(empty);
    await copyFile(`${path}.tree`, `${empty}.tree`);
    const reread = await session(empty);
    expect({ version: reread.version, customers: reread.customers.toArray() }).toEqual({
      version: 0,
      customers: [],
    });
    // A file cut short, and one that is not a saved tree.
    const text = await readFile(`${path}.tree`, "utf8");
    await writeFile(`${path}.tree`, text.slice(0, text.length - 10));
    expect((await session(path)).customers.toArray().map((c) => c.name)).toEqual(["A"]);
    await writeFile(`${path}.tree`, '{"format":"something else","version":1,"mark":""}\n[]');
    expect((await session(path)).customers.toArray().map((c) => c.name)).toEqual(["A"]);
  });
});
