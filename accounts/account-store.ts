/**
 * The account store: users, sessions, personal tokens and the accounts audit log in the registry's
 * database (the embedded DuckDB file or PostgreSQL), over the registry's SqlDriver, with the same
 * tables' DDL on both. Sessions and tokens are stored as SHA-256 digests only (sessions.ts); a
 * user's sessions and tokens are deleted in the same transaction that disables or deletes it or
 * changes its password. The portal's settings saved on the admin pages (branding, the global message
 * of the day: web/admin/) are rows of accounts_settings, each written with its audit entry.
 */
import type { SqlDriver, SqlSession } from "../registry/sql-registry.js";
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import type { AccountAuditEntry, AuthMethod, Role, StoredUser, TokenInfo } from "./model.js";
import { OUTAGE_TABLES_SQL } from "./outage-sql.js";

export const ACCOUNT_TABLES_SQL = [
  `CREATE TABLE IF NOT EXISTS accounts_users (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    customer TEXT,
    auth TEXT NOT NULL,
    password_hash TEXT,
    disabled INTEGER NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS accounts_sessions (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS accounts_tokens (
    digest TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT,
    last_used_ms BIGINT
  )`,
  `CREATE TABLE IF NOT EXISTS accounts_audit (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    client TEXT NOT NULL,
    detail TEXT NOT NULL
  )`,
  ...OUTAGE_TABLES_SQL,

  `CREATE TABLE IF NOT EXISTS accounts_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
  )`,
];

export interface SessionRow {
  user: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface TokenRow extends TokenInfo {}

export type AuditInput = Omit<AccountAuditEntry, "seq">;

/** What changes a user: every field but the id; `endCredentials` deletes its sessions and tokens. */
export interface UserUpdate {
  role: Role;
  customer: string | null;
  auth: AuthMethod;
  passwordHash: string | null;
  disabled: boolean;
  updatedAt: number;
}

/** Which audit entries to read, newest first (the admin pages' audit log). */
export interface AuditSearch {
  /** The actor or the target is this user. */
  user?: string;
  /** The entry names this customer (`customer` in its detail). */
  customer?: string;
  action?: string;
  /** [fromMs, toMs) of `at`. */
  fromMs?: number;
  toMs?: number;
  /** Entries before this sequence number (the next page). */
  beforeSeq?: number;
  limit: number;
}

export interface AccountStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  getUser(id: string): Promise<StoredUser | undefined>;
  listUsers(): Promise<StoredUser[]>;
  /** Adds a user; false when the id is taken. */
  addUser(user: StoredUser, audit: AuditInput): Promise<boolean>;
  /** Changes a user; false when it does not exist. Ends its sessions and tokens when asked. */
  updateUser(
    id: string,
    update: UserUpdate,
    options: { endCredentials: boolean; audit: AuditInput },
  ): Promise<boolean>;
  /** Deletes a user with its sessions and tokens; false when it did not exist. */
  deleteUser(id: string, audit: AuditInput): Promise<boolean>;
  addSession(digest: string, row: SessionRow): Promise<void>;
  getSession(digest: string): Promise<SessionRow | undefined>;
  touchSession(digest: string, at: number): Promise<void>;
  deleteSession(digest: string): Promise<void>;
  /** Deletes sessions past their ends (housekeeping); returns how many. */
  deleteSessionsBefore(idleBefore: number, createdBefore: number): Promise<number>;
  addToken(digest: string, token: TokenRow, audit: AuditInput): Promise<void>;
  getToken(digest: string): Promise<TokenRow | undefined>;
  touchToken(digest: string, at: number): Promise<void>;
  listTokens(user?: string): Promise<TokenRow[]>;
  /** Deletes a token by id (of `user` when given); false when there was none. */
  deleteToken(id: string, user: string | undefined, audit: AuditInput): Promise<boolean>;
  audit(entry: AuditInput): Promise<void>;
  /** Audit entries after `since` (seq), oldest first, at most `limit`. */
  readAudit(query: { since?: number; limit?: number }): Promise<AccountAuditEntry[]>;
  /**
   * One transaction of the account database, for the records kept beside the accounts (declared
   * outages: outage-sql.ts); `writeAudit` adds an audit entry in it.
   */
  transaction<T>(kind: "read" | "write", fn: (s: SqlSession) => Promise<T>): Promise<T>;

  /** Audit entries matching `query`, newest first. */
  searchAudit(query: AuditSearch): Promise<AccountAuditEntry[]>;
  /** Each user's last successful login (ms), from the audit log. */
  lastLogins(): Promise<Map<string, number>>;
  /** The saved settings whose key is not in `except` (key → value). */
  readSettings(except?: readonly string[]): Promise<Map<string, string>>;
  readSetting(key: string): Promise<string | undefined>;
  /** Sets (a string) or removes (null) settings, with their audit entry, in one transaction. */
  writeSettings(
    changes: ReadonlyMap<string, string | null>,
    at: number,
    audit: AuditInput,
  ): Promise<void>;
}

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function userFrom(r: unknown[]): StoredUser {
  const [id, role, customer, auth, hash, disabled, created, updated] = r;
  return {
    id: String(id),
    role: String(role) as Role,
    ...(customer === null || customer === undefined ? {} : { customer: String(customer) }),
    auth: String(auth) as AuthMethod,
    ...(hash === null || hash === undefined ? {} : { passwordHash: String(hash) }),
    disabled: num(disabled) !== 0,
    createdAt: num(created),
    updatedAt: num(updated),
  };
}

function tokenFrom(r: unknown[]): TokenRow {
  const [id, user, name, created, expires, used] = r;
  return {
    id: String(id),
    user: String(user),
    name: String(name),
    createdAt: num(created),
    expiresAt: numOrNull(expires),
    lastUsedAt: numOrNull(used),
  };
}

function auditFrom(r: unknown[]): AccountAuditEntry {
  return {
    seq: num(r[0]),
    at: num(r[1]),
    actor: String(r[2]),
    action: String(r[3]),
    target: String(r[4]),
    client: String(r[5]),
    detail: JSON.parse(String(r[6])) as Record<string, unknown>,
  };
}

const AUDIT_COLUMNS = "seq, at_ms, actor, action, target, client, detail";

/** The WHERE clause and parameters of an audit search (ids have no quotes: a JSON text match). */
function auditWhere(q: AuditSearch): { where: string; params: Array<string | number> } {
  const params: Array<string | number> = [];
  const p = (v: string | number) => {
    params.push(v);
    return `$${params.length}`;
  };
  const terms: string[] = [];
  if (q.user !== undefined) {
    const u = p(q.user);
    terms.push(`(actor = ${u} OR target = ${u})`);
  }
  if (q.customer !== undefined) {
    // `_` is a wildcard of LIKE (and may be in an id): escaped.
    const like = `%"customer":"${q.customer.replace(/[\\%_]/g, (c) => `\\${c}`)}"%`;
    terms.push(`detail LIKE ${p(like)} ESCAPE '\\'`);
  }
  if (q.action !== undefined) terms.push(`action = ${p(q.action)}`);
  if (q.fromMs !== undefined) terms.push(`at_ms >= ${p(q.fromMs)}`);
  if (q.toMs !== undefined) terms.push(`at_ms < ${p(q.toMs)}`);
  if (q.beforeSeq !== undefined) terms.push(`seq < ${p(q.beforeSeq)}`);
  return { where: terms.length === 0 ? "" : `WHERE ${terms.join(" AND ")}`, params };
}

const USER_COLUMNS = "id, role, customer, auth, password_hash, disabled, created_ms, updated_ms";
const TOKEN_COLUMNS = "id, user_id, name, created_ms, expires_ms, last_used_ms";

export async function writeAudit(s: SqlSession, e: AuditInput): Promise<void> {
  const [[max]] = (await s.rows("SELECT COALESCE(MAX(seq), 0) FROM accounts_audit")) as [[unknown]];
  await s.run(
    "INSERT INTO accounts_audit (seq, at_ms, actor, action, target, client, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [num(max) + 1, e.at, e.actor, e.action, e.target, e.client, JSON.stringify(e.detail)],
  );
}

async function endCredentials(s: SqlSession, user: string): Promise<void> {
  await s.run("DELETE FROM accounts_sessions WHERE user_id = $1", [user]);
  await s.run("DELETE FROM accounts_tokens WHERE user_id = $1", [user]);
}

export function createAccountStore(driver: SqlDriver): AccountStore {
  let started = false;

  async function tx<T>(kind: "read" | "write", fn: (s: SqlSession) => Promise<T>): Promise<T> {
    if (!started) {
      throw new FlowtallyError(
        "FT_REGISTRY_OPEN",
        `${driver.name}: an account store call came while it is not started`,
      );
    }
    try {
      return await driver.transaction(kind, fn);
    } catch (e) {
      if (isFlowtallyError(e)) throw e;
      throw new FlowtallyError(
        "FT_REGISTRY_OPEN",
        `${driver.name} (accounts): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  return {
    async start() {
      try {
        await driver.open();
      } catch (e) {
        throw new FlowtallyError(
          "FT_REGISTRY_OPEN",
          `${driver.name}: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      }
      started = true;
      try {
        await tx("write", async (s) => {
          for (const sql of ACCOUNT_TABLES_SQL) await s.run(sql);
        });
      } catch (e) {
        started = false;
        await driver.close().catch(() => undefined);
        throw e;
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      await driver.close();
    },
    getUser: (id) =>
      tx("read", async (s) => {
        const rows = await s.rows(`SELECT ${USER_COLUMNS} FROM accounts_users WHERE id = $1`, [id]);
        return rows[0] === undefined ? undefined : userFrom(rows[0]);
      }),
    listUsers: () =>
      tx("read", async (s) =>
        (await s.rows(`SELECT ${USER_COLUMNS} FROM accounts_users ORDER BY id`)).map(userFrom),
      ),
    addUser: (u, audit) =>
      tx("write", async (s) => {
        const have = await s.rows("SELECT 1 FROM accounts_users WHERE id = $1", [u.id]);
        if (have.length > 0) return false;
        await s.run(
          `INSERT INTO accounts_users (${USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            u.id,
            u.role,
            u.customer ?? null,
            u.auth,
            u.passwordHash ?? null,
            u.disabled ? 1 : 0,
            u.createdAt,
            u.updatedAt,
          ],
        );
        await writeAudit(s, audit);
        return true;
      }),
    updateUser: (id, u, options) =>
      tx("write", async (s) => {
        const have = await s.rows("SELECT 1 FROM accounts_users WHERE id = $1", [id]);
        if (have.length === 0) return false;
        await s.run(
          "UPDATE accounts_users SET role = $2, customer = $3, auth = $4, password_hash = $5, disabled = $6, updated_ms = $7 WHERE id = $1",
          [id, u.role, u.customer, u.auth, u.passwordHash, u.disabled ? 1 : 0, u.updatedAt],
        );
        if (options.endCredentials) await endCredentials(s, id);
        await writeAudit(s, options.audit);
        return true;
      }),
    deleteUser: (id, audit) =>
      tx("write", async (s) => {
        const have = await s.rows("SELECT 1 FROM accounts_users WHERE id = $1", [id]);
        if (have.length === 0) return false;
        await endCredentials(s, id);
        await s.run("DELETE FROM accounts_users WHERE id = $1", [id]);
        await writeAudit(s, audit);
        return true;
      }),
    addSession: (digest, row) =>
      tx("write", async (s) => {
        await s.run(
          "INSERT INTO accounts_sessions (digest, user_id, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4)",
          [digest, row.user, row.createdAt, row.lastSeenAt],
        );
      }),
    getSession: (digest) =>
      tx("read", async (s) => {
        const rows = await s.rows(
          "SELECT user_id, created_ms, last_seen_ms FROM accounts_sessions WHERE digest = $1",
          [digest],
        );
        const r = rows[0];
        return r === undefined
          ? undefined
          : { user: String(r[0]), createdAt: num(r[1]), lastSeenAt: num(r[2]) };
      }),
    touchSession: (digest, at) =>
      tx("write", async (s) => {
        await s.run("UPDATE accounts_sessions SET last_seen_ms = $2 WHERE digest = $1", [
          digest,
          at,
        ]);
      }),
    deleteSession: (digest) =>
      tx("write", async (s) => {
        await s.run("DELETE FROM accounts_sessions WHERE digest = $1", [digest]);
      }),
    deleteSessionsBefore: (idleBefore, createdBefore) =>
      tx("write", async (s) => {
        const where = "WHERE last_seen_ms <= $1 OR created_ms <= $2";
        const [[n]] = (await s.rows(`SELECT COUNT(*) FROM accounts_sessions ${where}`, [
          idleBefore,
          createdBefore,
        ])) as [[unknown]];
        await s.run(`DELETE FROM accounts_sessions ${where}`, [idleBefore, createdBefore]);
        return num(n);
      }),
    addToken: (digest, t, audit) =>
      tx("write", async (s) => {
        await s.run(
          `INSERT INTO accounts_tokens (digest, ${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [digest, t.id, t.user, t.name, t.createdAt, t.expiresAt, t.lastUsedAt],
        );
        await writeAudit(s, audit);
      }),
    getToken: (digest) =>
      tx("read", async (s) => {
        const rows = await s.rows(
          `SELECT ${TOKEN_COLUMNS} FROM accounts_tokens WHERE digest = $1`,
          [digest],
        );
        return rows[0] === undefined ? undefined : tokenFrom(rows[0]);
      }),
    touchToken: (digest, at) =>
      tx("write", async (s) => {
        await s.run("UPDATE accounts_tokens SET last_used_ms = $2 WHERE digest = $1", [digest, at]);
      }),
    listTokens: (user) =>
      tx("read", async (s) =>
        (user === undefined
          ? await s.rows(`SELECT ${TOKEN_COLUMNS} FROM accounts_tokens ORDER BY user_id, id`)
          : await s.rows(
              `SELECT ${TOKEN_COLUMNS} FROM accounts_tokens WHERE user_id = $1 ORDER BY id`,
              [user],
            )
        ).map(tokenFrom),
      ),
    deleteToken: (id, user, audit) =>
      tx("write", async (s) => {
        const params = user === undefined ? [id] : [id, user];
        const where = user === undefined ? "WHERE id = $1" : "WHERE id = $1 AND user_id = $2";
        const have = await s.rows(`SELECT 1 FROM accounts_tokens ${where}`, params);
        if (have.length === 0) return false;
        await s.run(`DELETE FROM accounts_tokens ${where}`, params);
        await writeAudit(s, audit);
        return true;
      }),
    audit: (entry) => tx("write", (s) => writeAudit(s, entry)),
    transaction: tx,
    readAudit: ({ since = 0, limit = 1000 }) =>
      tx("read", async (s) =>
        (
          await s.rows(
            `SELECT ${AUDIT_COLUMNS} FROM accounts_audit WHERE seq > $1 ORDER BY seq LIMIT $2`,
            [since, limit],
          )
        ).map(auditFrom),
      ),
    searchAudit: (q) =>
      tx("read", async (s) => {
        const { where, params } = auditWhere(q);
        const sql = `SELECT ${AUDIT_COLUMNS} FROM accounts_audit ${where} ORDER BY seq DESC LIMIT $${params.length + 1}`;
        return (await s.rows(sql, [...params, q.limit])).map(auditFrom);
      }),
    lastLogins: () =>
      tx("read", async (s) => {
        const rows = await s.rows(
          "SELECT target, MAX(at_ms) FROM accounts_audit WHERE action = 'login' GROUP BY target",
        );
        return new Map(rows.map((r) => [String(r[0]), num(r[1])]));
      }),
    readSettings: (except = []) =>
      tx("read", async (s) => {
        const rows = await s.rows("SELECT key, value FROM accounts_settings ORDER BY key");
        return new Map(
          rows
            .map((r): [string, string] => [String(r[0]), String(r[1])])
            .filter(([k]) => !except.includes(k)),
        );
      }),
    readSetting: (key) =>
      tx("read", async (s) => {
        const rows = await s.rows("SELECT value FROM accounts_settings WHERE key = $1", [key]);
        return rows[0] === undefined ? undefined : String(rows[0][0]);
      }),
    writeSettings: (changes, at, audit) =>
      tx("write", async (s) => {
        for (const [key, value] of changes) {
          await s.run("DELETE FROM accounts_settings WHERE key = $1", [key]);
          if (value !== null) {
            await s.run(
              "INSERT INTO accounts_settings (key, value, updated_ms) VALUES ($1, $2, $3)",
              [key, value, at],
            );
          }
        }
        await writeAudit(s, audit);
      }),
  };
}
