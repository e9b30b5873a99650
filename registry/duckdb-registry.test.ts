import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { registryConformance } from "../test/support/registry-conformance.js";
import { hasIndex } from "./change-set.js";
import { createDuckDbDriver, createDuckDbRegistry } from "./duckdb-registry.js";
import { createSqlRegistry, type SqlDriver } from "./sql-registry.js";

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "flowtally-registry-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "data", "registry.duckdb");
}

describe("embedded registry (DuckDB)", () => {
  registryConformance({
    async open(now) {
      const path = await tempFile();
      const store = createDuckDbRegistry({ path }, { now });
      await store.start();
      return {
        store,
        again: async () => {
          const s = createDuckDbRegistry({ path }, { now });
          await s.start();
          return s;
        },
      };
    },
  });

  it("applies again, on the database's tree, change sets checked ahead on a group the database then refuses", async () => {
    const path = await tempFile();
    const driver = createDuckDbDriver({ path });
    let failNext = false;
    // The real file; one write made to fail as a full disk would.
    const failing: SqlDriver = {
      ...driver,
      writeScript(statements) {
        if (!failNext) return driver.writeScript!(statements);
        failNext = false;
        return Promise.reject(new Error("No space left on device"));
      },
    };
    const store = createSqlRegistry(failing);
    await store.start();
    onTestFinished(() => store.stop());
    await store.apply([{ op: "add", customer: "a", record: { name: "A" } }], { actor: "t" });
    failNext = true;
    const outcome = (p: Promise<{ version: number }>) =>
      p.then(
        (r) => `v${r.version}`,
        (e: unknown) => (e as { code?: string }).code ?? "?",
      );
    // The first is being written when the next two arrive: they are checked on the tree it makes
    // (b exists there), then again on the database's once its write fails (b does not).
    const results = await Promise.all([
      outcome(store.apply([{ op: "add", customer: "b", record: { name: "B" } }], { actor: "t" })),
      outcome(
        store.apply([{ op: "update", customer: "b", set: { description: "x" } }], { actor: "t" }),
      ),
      outcome(store.apply([{ op: "add", customer: "c", record: { name: "C" } }], { actor: "t" })),
    ]);
    expect(results).toEqual(["FT_REGISTRY_OPEN", "FT_REGISTRY_NOT_FOUND", "v2"]);
    expect((await store.snapshot()).customers.toArray().map((c) => c.id)).toEqual(["a", "c"]);
    await store.stop();
    const reopened = createDuckDbRegistry({ path });
    await reopened.start();
    onTestFinished(() => reopened.stop());
    const tree = await reopened.snapshot();
    expect([tree.version, tree.customers.toArray().map((c) => c.id)]).toEqual([2, ["a", "c"]]);
  });

  it("hands the next group to the database before the committed group's callers go on, and writes each group as one script", async () => {
    const path = await tempFile();
    const driver = createDuckDbDriver({ path });
    const events: string[] = [];
    let scripts = 0;
    // The real file; each call to the database noted when it is made and when it ends.
    const noting: SqlDriver = {
      ...driver,
      async writeScript(statements) {
        const n = ++scripts;
        events.push(`script ${n} (${statements.length} statements)`);
        await driver.writeScript!(statements);
        events.push(`committed ${n}`);
      },
    };
    const store = createSqlRegistry(noting);
    await store.start();
    onTestFinished(() => store.stop());
    const add = (id: string) =>
      store
        .apply([{ op: "add", customer: id, record: { name: id.toUpperCase() } }], { actor: "t" })
        .then((r) => {
          events.push(`${id} answered v${r.version}`);
          return r.version;
        });
    // a is written alone; b and c arrive while it is, and go together in the next group.
    const versions = await Promise.all([add("a"), add("b"), add("c")]);
    expect(versions).toEqual([1, 2, 3]);
    // Each script: one delete-free insert of customers, one of audit entries, the version.
    expect(events).toEqual([
      "script 1 (3 statements)",
      "committed 1",
      "script 2 (3 statements)",
      "a answered v1",
      "committed 2",
      "b answered v2",
      "c answered v3",
    ]);
    await store.stop();
    const reopened = createDuckDbRegistry({ path });
    await reopened.start();
    onTestFinished(() => reopened.stop());
    const tree = await reopened.snapshot();
    expect([tree.version, tree.customers.toArray().map((c) => c.id)]).toEqual([3, ["a", "b", "c"]]);
    expect((await reopened.audit()).map((e) => `${e.version} ${e.path}`)).toEqual([
      "1 customers/a",
      "2 customers/b",
      "3 customers/c",
    ]);
  });

  it("makes the validation index of the tree it opened ahead of the first write where asked (prepareWrites), not when only read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-registry-prepare-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "registry.duckdb");
    const first = createDuckDbRegistry({ path });
    await first.start();
    await first.apply([{ op: "add", customer: "a", record: { name: "A" } }], { actor: "t" });
    await first.stop();
    // Reopened: the tree read from the file has no index until asked for one.
    const reader = createDuckDbRegistry({ path });
    await reader.start();
    expect(hasIndex(await reader.snapshot())).toBe(false);
    await reader.stop();
    const writer = createDuckDbRegistry({ path });
    await writer.start();
    onTestFinished(() => writer.stop());
    await writer.prepareWrites!();
    const tree = await writer.snapshot();
    expect(hasIndex(tree)).toBe(true);
    // The first write checks incrementally and moves the index on to its tree.
    await writer.apply([{ op: "add", customer: "b", record: { name: "B" } }], { actor: "t" });
    const after = await writer.snapshot();
    expect([hasIndex(tree), hasIndex(after)]).toEqual([false, true]);
  });

  it("answers FT_REGISTRY_OPEN when the file cannot be created", async () => {
    const path = await tempFile();
    await mkdir(join(path, ".."), { recursive: true });
    // A file where the registry's directory should be.
    const notADir = join(path, "..", "not-a-dir");
    await writeFile(notADir, "");
    const store = createDuckDbRegistry({ path: join(notADir, "registry.duckdb") });
    await expect(store.start()).rejects.toMatchObject({ code: "FT_REGISTRY_OPEN" });
  });
});
