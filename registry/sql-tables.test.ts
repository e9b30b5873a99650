import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { inlineParameters } from "./sql-literal.js";
import { CUSTOMER_INDEXES_SQL, deleteStatements, REGISTRY_TABLES_SQL } from "./sql-tables.js";

/** A DuckDB with the registry's tables: 50 000 customers with two sites of two links each
 * (on a small table DuckDB rightly prefers a scan). */
async function registryDb() {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  for (const sql of [...REGISTRY_TABLES_SQL, ...CUSTOMER_INDEXES_SQL]) await c.run(sql);
  // Inserted in a shuffled order, as years of edits leave them: no zone map narrows a scan.
  await c.run(`INSERT INTO registry_links SELECT 'c' || (i // 4), 's' || (i // 2 % 2), 'l' || (i % 2),
    1, '{}' FROM range(200000) t(i) ORDER BY hash(i)`);
  await c.run(`INSERT INTO registry_sites SELECT 'c' || (i // 2), 's' || (i % 2), 1, '{}'
    FROM range(100000) t(i) ORDER BY hash(i)`);
  const rows = async (sql: string) => (await c.runAndReadAll(sql)).getRows();
  const run = async (table: string, columns: string[], keys: string[][]) => {
    for (const s of deleteStatements(table, columns, keys)) {
      await c.run(inlineParameters(s.sql, s.params));
    }
  };
  return { c, rows, run, close: () => instance.closeSync() };
}

describe("a group's deletes", () => {
  it("delete exactly the keyed links and sites, by the index on customer (not a scan)", async () => {
    const db = await registryDb();
    try {
      const links = [
        ["c7", "s1", "l0"],
        ["c7", "s0", "l1"],
        ["c49999", "s0", "l0"],
        ["c12", "s1", "l1"],
      ];
      const [first] = deleteStatements("registry_links", ["customer", "site", "id"], links);
      // The scan's kind is chosen as it runs: the plan of a delete run and rolled back.
      await db.c.run("BEGIN");
      const analyzed = await db.rows(
        `EXPLAIN ANALYZE ${inlineParameters(first!.sql, first!.params)}`,
      );
      await db.c.run("ROLLBACK");
      const plan = analyzed.map((r) => String(r[1])).join("\n");
      expect(plan).toMatch(/Index Scan/);
      expect(plan).not.toMatch(/Sequential Scan/);

      await db.run("registry_links", ["customer", "site", "id"], links);
      await db.run("registry_sites", ["customer", "id"], [["c3", "s1"]]);
      await db.run("registry_links", ["customer", "site"], [["c3", "s1"]]);
      // Counted by hand: 200 000 links less the 4 named and c3's two under s1; 100 000 sites
      // less one.
      expect(await db.rows("SELECT count(*) FROM registry_links")).toEqual([[199994n]]);
      expect(await db.rows("SELECT count(*) FROM registry_sites")).toEqual([[99999n]]);
      expect(
        await db.rows(
          "SELECT site, id FROM registry_links WHERE customer IN ('c7', 'c3') ORDER BY customer, site, id",
        ),
      ).toEqual([
        ["s0", "l0"],
        ["s0", "l1"],
        ["s0", "l0"],
        ["s1", "l1"],
      ]);
    } finally {
      db.close();
    }
  });

  it("delete many keys (an import's) joined, with the same result", async () => {
    const db = await registryDb();
    try {
      const keys = Array.from({ length: 300 }, (_, k) => [`c${k}`, "s0", "l1"]);
      const statements = deleteStatements("registry_links", ["customer", "site", "id"], keys);
      expect(statements.map((s) => s.sql.includes("USING (VALUES"))).toEqual([true]);
      await db.run("registry_links", ["customer", "site", "id"], keys);
      expect(await db.rows("SELECT count(*) FROM registry_links")).toEqual([[199700n]]);
      expect(
        await db.rows("SELECT count(*) FROM registry_links WHERE id = 'l1' AND site = 's0'"),
      ).toEqual([[49700n]]);
    } finally {
      db.close();
    }
  });
});
