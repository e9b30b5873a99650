import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { inlineParameters, sqlLiteral } from "./sql-literal.js";

describe("sql literals", () => {
  it("quotes strings, doubles their quotes, writes numbers and NULL", () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral("")).toBe("''");
    expect(sqlLiteral(42)).toBe("42");
    expect(sqlLiteral(-1.5)).toBe("-1.5");
    expect(sqlLiteral(null)).toBe("NULL");
    expect(() => sqlLiteral(Number.NaN)).toThrow(/finite/);
    expect(() => sqlLiteral("a\u0000b")).toThrow(/NUL/);
  });

  it("replaces $10 as the tenth parameter, not $1 followed by 0, and never re-reads a literal", () => {
    const params = Array.from({ length: 10 }, (_, k) => `v${k + 1}`);
    params[0] = "$2";
    expect(inlineParameters("($1, $2, $10)", params)).toBe("('$2', 'v2', 'v10')");
    expect(() => inlineParameters("($1, $3)", ["a", "b"])).toThrow(/\$3/);
  });

  it("round-trips hostile text through a real DuckDB exactly", async () => {
    const hostile = [
      "it's",
      "''; DROP TABLE t; --",
      "back\\slash \\' and \\n",
      '{"name":"O\'Brien \\"q\\"","x":"\\u0000"}',
      "ünïcødé 🚀 \u2028",
      "$1 $2",
      "E'x'",
      "\t\r\n",
    ];
    const instance = await DuckDBInstance.create(":memory:");
    const c = await instance.connect();
    try {
      await c.run("CREATE TABLE t (k INTEGER, v TEXT)");
      const script = hostile
        .map((v, k) => inlineParameters("INSERT INTO t VALUES ($1, $2)", [k, v]))
        .join(";\n");
      await c.run(script);
      const rows = (await c.runAndReadAll("SELECT k, v FROM t ORDER BY k")).getRowsJS();
      expect(rows.map((r) => r[1])).toEqual(hostile);
      // The drop in a value stayed a value.
      expect((await c.runAndReadAll("SELECT count(*) FROM t")).getRowsJS()[0]![0]).toBe(
        BigInt(hostile.length),
      );
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });
});
