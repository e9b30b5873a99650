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
  /** The LISTEN connection's first and longest wait before reconnecting (default 250 ms, 10 s). */
  reconnectMs?: { min: number; max: number };
}

/** The channel every committed change set is announced on, with its version as the payload. */
export const REGISTRY_CHANNEL = "flowtally_registry";
/** The LISTEN connection's application_name (pg_stat_activity shows it). */
export const LISTEN_APPLICATION_NAME = "flowtally-registry-listen";

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
      const p = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 4,
        // A server that does not answer fails the call instead of holding it for ever.
        connectionTimeoutMillis: 10_000,
        keepAlive: true,
        // Scripts write values as standard SQL literals (quotes doubled, backslashes plain),
        // whatever the server's or the database's default: set when each connection starts
        // (a SET inside a script would come too late: PostgreSQL reads the whole script first).
        options: "-c standard_conforming_strings=on",
      });
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
    async announce(s, version) {
      // Delivered to every listener when the transaction commits, never if it rolls back.
      await s.run(`SELECT pg_notify('${REGISTRY_CHANNEL}', $1)`, [String(version)]);
    },
    follow: (onVersion) => followVersions(options, onVersion),
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
          // The simple query protocol takes several statements (without parameters) at once;
          // its literals are standard strings on every connection of the pool (see open).
          async script(statements) {
            await client.query(statements.join(";\n"));
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

/**
 * A dedicated connection that LISTENs on the registry channel and passes each version on; after
 * a drop it reconnects, waiting longer each failed try (doubling up to reconnectMs.max), and on
 * every connect reads the current version, so that what was committed meanwhile is not missed.
 */
function followVersions(
  options: PostgresRegistryOptions,
  onVersion: (version: number) => void,
): () => void {
  const min = options.reconnectMs?.min ?? 250;
  const max = options.reconnectMs?.max ?? 10_000;
  let stopped = false;
  let wait = min;
  let timer: NodeJS.Timeout | undefined;
  let client: pg.Client | undefined;

  const again = () => {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, wait);
    timer.unref();
    wait = Math.min(max, wait * 2);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const c = new pg.Client({
      connectionString: options.url,
      application_name: LISTEN_APPLICATION_NAME,
      connectionTimeoutMillis: 10_000,
      // A connection that died without a word (a partition) is noticed and replaced.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client = c;
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      c.removeAllListeners("notification");
      c.end().catch(() => undefined);
      if (client === c) client = undefined;
      again();
    };
    c.on("error", drop);
    c.on("end", drop);
    c.on("notification", (n) => {
      if (n.channel !== REGISTRY_CHANNEL) return;
      const version = Number(n.payload);
      if (Number.isSafeInteger(version)) onVersion(version);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${REGISTRY_CHANNEL}`);
      // Listening from here: what was committed before is read now.
      const r = await c.query("SELECT version FROM registry_meta WHERE id = 1");
      if (stopped) {
        drop();
        return;
      }
      wait = min;
      const version = Number(r.rows[0]?.version ?? 0);
      onVersion(version);
    } catch {
      drop();
    }
  }

  void connect();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const c = client;
    client = undefined;
    c?.removeAllListeners("notification");
    c?.end().catch(() => undefined);
  };
}
