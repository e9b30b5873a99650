/**
 * The embedded store's DuckDB file: opening it (tables made, or checked when read-only), its
 * writer and reader connections with their queues, the errors of each, the check that the path
 * still names the file opened, and the checkpoint at stop. The store's other files
 * (store/duckdb-*.ts) read and write through it.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type * as DuckDB from "@duckdb/node-api";
import type { DuckDBConnection, DuckDBType, DuckDBValue } from "@duckdb/node-api";
import { FlowtallyError } from "../schema/errors.js";
import { BIGINT, DOUBLE, DuckDBInstance, VARCHAR } from "./duckdb-api.js";
import type { ParamKind } from "./duckdb-link-status.js";
import { RESPONSE_TABLES, SCHEMA_SQL, TABLES } from "./duckdb-schema.js";
import { createSerialQueue } from "./serial-queue.js";

/** Files opened by a store of this process: DuckDB lets one process open a file twice. */
const openPaths = new Set<string>();

/** The error's message, and the DuckDB message made readable for people where it is cryptic. */
function duckDbReason(e: unknown): { message: string; fatal: boolean } {
  const message = e instanceof Error ? e.message : String(e);
  const fatal = /^FATAL Error|database has been invalidated/.test(message);
  const hint = /No space left on device/.test(message)
    ? " (the disk is full)"
    : /Read-only file system|Operation not permitted|Permission denied/.test(message)
      ? " (the file or its directory cannot be written: read-only or not permitted)"
      : "";
  return { message: `${message}${hint}`, fatal };
}

export interface Open {
  instance: DuckDB.DuckDBInstance;
  /** Runs `addDeltas` transactions; owns the temporary staging table. */
  writer: DuckDBConnection;
  reader: DuckDBConnection;
}

/** What the store's other files use of the open database. */
export interface DuckDbConnection {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Why the store is down for good (file gone or replaced, DuckDB's FATAL error), if it is. */
  problem(): FlowtallyError | undefined;
  /** The open handles; FT_STORE_CLOSED when not started. */
  opened(): Open;
  /** The writer's queue: each task runs alone, in call order. */
  write: <T>(task: () => Promise<T>) => Promise<T>;
  query(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<unknown[][]>;
  queryColumns(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<Float64Array[]>;
  writeError(what: string, e: unknown, after?: string): FlowtallyError;
  writeRefusal(): FlowtallyError | undefined;
  inTransaction(what: string, fn: (w: DuckDBConnection) => Promise<void>): Promise<void>;
  typeOf(kinds: readonly ParamKind[]): DuckDBType[];
}

export function createDuckDbConnection(options: {
  path: string;
  readOnly?: boolean;
}): DuckDbConnection {
  const inMemory = options.path === ":memory:";
  const path = inMemory ? options.path : resolve(options.path);
  const readOnly = options.readOnly === true;
  let open: Open | undefined;
  let starting: Promise<void> | undefined;
  /** The file opened: a path that names another file (or none) means it was replaced (deleted). */
  let identity: { dev: number; ino: number } | undefined;
  /** Why writes are refused for good: the file is gone or replaced, or DuckDB's FATAL error. */
  let down: FlowtallyError | undefined;
  const write = createSerialQueue();
  const read = createSerialQueue();

  function openError(reason: string, cause?: unknown): FlowtallyError {
    return new FlowtallyError(
      "FT_STORE_OPEN",
      `${path}: the embedded store could not be opened: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }

  function opened(): Open {
    if (open === undefined) {
      throw new FlowtallyError("FT_STORE_CLOSED", `${path}: the embedded store is not started`);
    }
    return open;
  }

  /** A failed write (or checkpoint) as FT_STORE_WRITE; after a FATAL error the store is down. */
  function writeError(what: string, e: unknown, after = ""): FlowtallyError {
    if (e instanceof FlowtallyError) return e;
    const { message, fatal } = duckDbReason(e);
    const error = new FlowtallyError(
      "FT_STORE_WRITE",
      `${path}: the embedded store could not ${what}: ${message}${after}${
        fatal
          ? "; DuckDB refuses every later write on this database: restart flowtally once the cause is fixed"
          : ""
      }`,
      { cause: e },
    );
    if (fatal) down ??= error;
    return error;
  }

  function readError(e: unknown): unknown {
    if (e instanceof FlowtallyError || e instanceof RangeError) return e;
    return new FlowtallyError(
      "FT_STORE_QUERY",
      `${path}: the embedded store could not be read: ${duckDbReason(e).message}`,
      { cause: e },
    );
  }

  /** Runs one read on the reader connection, in turn with the other reads. */
  function query(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<unknown[][]> {
    const r = opened().reader;
    return read(async () => {
      try {
        return (await r.runAndReadAll(sql, values, types)).getRowsJS();
      } catch (e) {
        throw readError(e);
      }
    });
  }

  /**
   * Runs a read whose columns are all DOUBLE and answers them as typed arrays, read from DuckDB's
   * vectors without a JS value per row and column (`query`'s rows cost ~1 µs per row and column).
   */
  function queryColumns(
    sql: string,
    values: DuckDBValue[],
    types: DuckDBType[],
  ): Promise<Float64Array[]> {
    const r = opened().reader;
    return read(async () => {
      try {
        const result = await r.run(sql, values, types);
        let rows = 0;
        for (let c = 0; c < result.chunkCount; c++) rows += result.getChunk(c).rowCount;
        const columns = Array.from({ length: result.columnCount }, () => new Float64Array(rows));
        let at = 0;
        for (let c = 0; c < result.chunkCount; c++) {
          const chunk = result.getChunk(c);
          const n = chunk.rowCount;
          columns.forEach((column, i) => {
            const vector = chunk.getColumnVector(i);
            for (let k = 0; k < n; k++) column[at + k] = vector.getItem(k) as number;
          });
          at += n;
        }
        return columns;
      } catch (e) {
        throw readError(e);
      }
    });
  }

  /**
   * Whether the path still names the file opened; the first time it does not, the store goes
   * down for good (the instance writes into the old file, which no later open can find).
   */
  function checkFile(): FlowtallyError | undefined {
    if (down !== undefined || identity === undefined) return down;
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") return undefined; // can't tell
    }
    if (now !== undefined && now.dev === identity.dev && now.ino === identity.ino) return undefined;
    down = new FlowtallyError(
      "FT_STORE_FILE",
      `${path}: the embedded store's file was ${
        now === undefined ? "deleted" : "replaced by another file"
      } while flowtally had it open: nothing more is written to it (what was written before went with the old file); restart flowtally to open ${path} again`,
    );
    return down;
  }

  /** What refuses a write now, if anything. */
  function writeRefusal(): FlowtallyError | undefined {
    if (readOnly) {
      return new FlowtallyError(
        "FT_STORE_WRITE",
        `${path}: the embedded store was opened read-only`,
      );
    }
    return checkFile();
  }

  function close(handles: Partial<Open>): void {
    handles.writer?.closeSync();
    handles.reader?.closeSync();
    handles.instance?.closeSync();
    if (!inMemory) openPaths.delete(path);
  }

  async function doStart(): Promise<void> {
    if (!inMemory && openPaths.has(path)) {
      throw openError("another store of this process has it open");
    }
    if (readOnly && (inMemory || !existsSync(path))) {
      throw openError(
        "there is no store at this path, and reading never creates one: check store.embedded.path (flowtally run creates the file)",
      );
    }
    const handles: Partial<Open> = {};
    try {
      if (!inMemory) {
        openPaths.add(path);
        // Synchronously (a few µs): DuckDB then starts opening the file on its threads at once,
        // while `run` builds the customer model (an await here waited for that to end).
        if (!readOnly) mkdirSync(dirname(path), { recursive: true });
      }
      const instance = await DuckDBInstance.create(
        path,
        readOnly ? { access_mode: "READ_ONLY" } : {},
      );
      handles.instance = instance;
      const writer = await instance.connect();
      handles.writer = writer;
      const reader = await instance.connect();
      handles.reader = reader;
      if (readOnly) {
        await checkTables(reader);
      } else {
        await writer.run(SCHEMA_SQL);
      }
      if (!inMemory) {
        const st = statSync(path);
        identity = { dev: st.dev, ino: st.ino };
      }
      down = undefined;
      open = { instance, writer, reader };
    } catch (e) {
      close(handles);
      if (e instanceof FlowtallyError) throw e;
      throw openError(e instanceof Error ? e.message : String(e), e);
    }
  }

  /** A file opened read-only must already hold flowtally's tables. */
  async function checkTables(reader: DuckDBConnection): Promise<void> {
    const wanted = [...Object.values(TABLES), ...Object.values(RESPONSE_TABLES)];
    const rows = (
      await reader.runAndReadAll(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
      )
    ).getRowsJS();
    const have = new Set(rows.map((r) => String(r[0])));
    const missing = wanted.filter((t) => !have.has(t));
    if (missing.length > 0) {
      throw openError(
        `not a flowtally store: table${missing.length > 1 ? "s" : ""} ${missing.join(", ")} missing`,
      );
    }
  }

  async function start(): Promise<void> {
    if (open !== undefined) return;
    starting ??= doStart().finally(() => {
      starting = undefined;
    });
    return starting;
  }

  async function stop(): Promise<void> {
    if (open === undefined) return;
    const handles = open;
    open = undefined; // calls from now on are refused; queued ones still run
    try {
      await read(async () => {});
      // Writes the WAL into the database file, so that the file alone holds the data. Also
      // when the file was deleted or replaced: the checkpoint goes to the old file and removes
      // its WAL, which must not be applied to whatever file is at the path next. Not after a
      // FATAL error (DuckDB refuses it) nor read-only.
      if (readOnly || (down !== undefined && down.code !== "FT_STORE_FILE")) {
        await write(async () => {});
        return;
      }
      await write(async () => {
        try {
          await handles.writer.run("CHECKPOINT");
        } catch (e) {
          throw writeError(
            "write its file at stop (checkpoint)",
            e,
            `. Every row written is in ${path}.wal, which the next start applies: keep it beside ${path}`,
          );
        }
      });
    } finally {
      close(handles);
    }
  }

  const typeOf = (kinds: readonly ParamKind[]): DuckDBType[] =>
    kinds.map((k) => (k === "bigint" ? BIGINT : k === "varchar" ? VARCHAR : DOUBLE));

  /** Runs `fn` on the writer in one transaction, in turn with the other writes. */
  async function inTransaction(
    what: string,
    fn: (w: DuckDBConnection) => Promise<void>,
  ): Promise<void> {
    const w = opened().writer;
    await write(async () => {
      const refused = writeRefusal();
      if (refused !== undefined) throw refused;
      await w.run("BEGIN TRANSACTION").catch((e: unknown) => {
        throw writeError(what, e);
      });
      try {
        await fn(w);
        await w.run("COMMIT");
      } catch (e) {
        await w.run("ROLLBACK").catch(() => undefined);
        throw writeError(what, e);
      }
    });
  }

  return {
    start,
    stop,
    problem: () => (open === undefined ? undefined : checkFile()),
    opened,
    write,
    query,
    queryColumns,
    writeError,
    writeRefusal,
    inTransaction,
    typeOf,
  };
}
