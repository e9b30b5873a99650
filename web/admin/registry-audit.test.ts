/**
 * The registry tab of the audit page against a real embedded registry: pages newest first that
 * together hold every change exactly once, windows narrowed when a read cannot hold them, a
 * change set larger than a read said so, the filter, and the CSV. The expected entries are the
 * change sets this test applied, not the page's own output.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import type { RegistryStore } from "../../registry/sql-registry.js";
import { readRegistryAudit, readRegistryAuditFilter, registryAuditCsv } from "./registry-audit.js";

const T0 = Date.UTC(2026, 10, 1);
let dir: string;
let store: RegistryStore;
/** What was applied, in order: [version, actor, op, path]. */
const applied: Array<[number, string, string, string]> = [];
let clock = T0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ft-registry-audit-"));
  store = createDuckDbRegistry({ path: join(dir, "r.duckdb") }, { now: () => clock });
  await store.start();
  // 70 versions of one change each (alternating actors, one per hour), then one of 30 sites.
  for (let v = 1; v <= 70; v += 1) {
    const actor = v % 2 === 0 ? "ann" : "bob";
    clock = T0 + v * 3_600_000;
    const op = v > 1 && v % 10 === 0 ? "update" : "add";
    const id = op === "add" ? `c${v}` : `c${v - 1}`;
    await store.apply(
      op === "add"
        ? [{ op: "add", customer: id, record: { name: `C${v}` } }]
        : [{ op: "update", customer: id, set: { name: `C${v} renamed` } }],
      { actor },
    );
    applied.push([v, actor, op, `customers/${id}`]);
  }
  clock = T0 + 71 * 3_600_000;
  await store.apply(
    Array.from({ length: 30 }, (_, k) => ({
      op: "add" as const,
      customer: "c1",
      site: `s${String(k).padStart(2, "0")}`,
      record: {},
    })),
    { actor: "import" },
  );
  for (let k = 0; k < 30; k += 1) {
    applied.push([71, "import", "add", `customers/c1/sites/s${String(k).padStart(2, "0")}`]);
  }
}, 60_000);
afterAll(async () => {
  await store?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const read = (q: { since?: number; limit?: number }) => store.audit(q);
const key = (e: { version: number; actor: string; op: string; path: string }) =>
  [e.version, e.actor, e.op, e.path] as const;

describe("the registry's audit, newest first", () => {
  it("pages through every change exactly once, newest first", async () => {
    const seen: Array<readonly [number, string, string, string]> = [];
    let upto: number | undefined = 71;
    let pages = 0;
    while (upto !== undefined) {
      const page = await readRegistryAudit(read, { upto, match: {}, want: 25 });
      expect(page.truncated).toBe(false);
      seen.push(...page.entries.map(key));
      upto = page.older;
      pages += 1;
    }
    expect(seen).toEqual([...applied].reverse());
    // Windows of 25 versions, whole: 47–71 (the 30 of version 71 and 24 more), 22–46, 1–21.
    expect(pages).toBe(3);
  });

  it("narrows its window when a read holds too little, and says when one change set is larger than a read", async () => {
    const page = await readRegistryAudit(read, {
      upto: 70,
      match: {},
      want: 20,
      readCap: 8,
    });
    expect(page.truncated).toBe(false);
    expect(page.entries.map(key)).toEqual(
      [...applied]
        .filter(([v]) => v <= 70)
        .reverse()
        .slice(0, page.entries.length),
    );
    expect(page.entries.length).toBeGreaterThanOrEqual(20);
    const big = await readRegistryAudit(read, { upto: 71, match: {}, want: 5, readCap: 8 });
    expect(big.truncated).toBe(true);
    expect(big.entries.map((e) => e.path)).toEqual(
      applied
        .filter(([v]) => v === 71)
        .slice(0, 8)
        .map(([, , , p]) => p)
        .reverse(),
    );
  });

  it("filters by who, customer, kind and day", async () => {
    const { match, problems } = readRegistryAuditFilter(
      "log=registry&user=ann&kind=update&from=2026-11-02&to=2026-11-03",
    );
    expect(problems).toEqual({});
    const page = await readRegistryAudit(read, { upto: 71, match, want: 50 });
    // Hours 24..71 after T0 are 2026-11-02 and -03; ann is the even versions; updates every 10th.
    expect(page.entries.map((e) => e.version)).toEqual([70, 60, 50, 40, 30]);
    const c1 = await readRegistryAudit(read, {
      upto: 71,
      match: readRegistryAuditFilter("customer=c1").match,
      want: 100,
    });
    expect(c1.entries.length).toBe(31);
    expect(c1.entries.every((e) => e.path.startsWith("customers/c1"))).toBe(true);
    expect(c1.entries.some((e) => e.path === "customers/c10")).toBe(false);
    const bad = readRegistryAuditFilter("customer=a%20b&kind=drop&from=x&upto=-1");
    expect(Object.keys(bad.problems).sort()).toEqual(["customer", "from", "kind", "upto"]);
  });

  it("gives the entries as CSV with before and after as JSON", async () => {
    const page = await readRegistryAudit(read, {
      upto: 10,
      match: readRegistryAuditFilter("kind=update").match,
      want: 1,
    });
    const csv = registryAuditCsv(page.entries).split("\r\n");
    expect(csv[0]).toBe("version,index,at,actor,op,path,before,after");
    expect(csv[1]).toBe(
      `10,0,2026-11-01T10:00:00.000Z,ann,update,customers/c9,"{""id"":""c9"",""name"":""C9"",""serviceType"":""default""}","{""id"":""c9"",""name"":""C10 renamed"",""serviceType"":""default""}"`,
    );
  });
});
