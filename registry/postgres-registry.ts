/**
 * The scaled-out registry: PostgreSQL through `pg` (registry.postgres.url), shared by every
 * process. Writers take a row lock on the version row (SELECT … FOR UPDATE), so change sets from
 * any number of processes go one after the other; reads run in REPEATABLE READ, so a snapshot is
 * one consistent version.
 */
import pg from "pg";
import { createSqlRegistry, type RegistryStore, type SqlDriver } from "./sql-registry.js";

export interface PostgresRegistryOptions {
  /** `postgres://user@host:5432/db`. */
  url: string;
  /** Connections kept open (default 4). */
  poolSize?: number;
}

export function createPostgresRegistry(
  options: PostgresRegistryOptions,
  deps: { now?: () => number } = {},
): RegistryStore {
  return createSqlRegistry(createPostgresDriver(options), deps);
}

/** The connection pool to PostgreSQL (also what the account store uses, accounts/). */
export function createPostgresDriver(options: PostgresRegistryOptions): SqlDriver {
  let pool: pg.Pool | undefined;
  const where = (() => {
    try {
      const u = new URL(options.url);
      return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
    } catch {
      return "(unreadable registry.postgres.url)";
    }
  })();

  return {
    name: `PostgreSQL registry ${where}`,
    async open() {
      const p = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 4 });
      // An idle connection the server drops must not crash the process.
      p.on("error", () => undefined);
      const c = await p.connect().catch(async (e: unknown) => {
        await p.end().catch(() => undefined);
        throw e;
      });
      c.release();
      pool = p;
    },
    async close() {
      const p = pool;
      pool = undefined;
      await p?.end();
    },
    async transaction(kind, fn) {
      if (pool === undefined) throw new Error("the registry is closed");
      const client = await pool.connect();
      try {
        await client.query(
          kind === "read" ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
        );
        if (kind === "write") {
          // The tables may not exist yet (the first start): the lock then comes with creating them.
          const exists = await client.query("SELECT to_regclass('registry_meta') IS NOT NULL AS e");
          if (exists.rows[0]?.e === true) {
            await client.query("SELECT version FROM registry_meta WHERE id = 1 FOR UPDATE");
          } else {
            await client.query("SELECT pg_advisory_xact_lock(7283001)");
          }
        }
        const result = await fn({
          async run(sql, params = []) {
            await client.query(sql, params.slice());
          },
          async rows(sql, params = []) {
            return (await client.query({ text: sql, values: params.slice(), rowMode: "array" }))
              .rows as unknown[][];
          },
        });
        await client.query("COMMIT");
        return result;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
  };
}
