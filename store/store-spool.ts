/**
 * The store spool: rows that `flowtally run` (or `replay`) could not hand to the store by the time
 * it stopped (the store was down, full, read-only, or its file was deleted), kept in files, and
 * written to the store by the next start before anything else. Like the collector's spool
 * (collector/partials-shipper.ts): JSON, written to a temporary name, synced and renamed, so a
 * file is whole or absent.
 *
 * Places are tried in order (store/create-store.ts says which): a stop writes one new file,
 * `<prefix><time>-<pid>.json`, to the first place that takes it, so a spool that could not be
 * written yet is never overwritten by the next. A file names its store; where several stores may
 * share a place (the directory of the decoder state), a file of another store is left alone.
 *
 * Once, not twice: a file is renamed to `.writing` before its rows go to the store and removed
 * after they went. If the store refuses them, what it did not take goes back under the `.json`
 * name. A `.writing` file found at start means a process stopped in between: its rows may or may
 * not be in the store, so it is reported and left for a person to decide.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FlowtallyError } from "../schema/errors.js";
import {
  type ResponseTimeRowDelta,
  responseTimeCounters,
  type SeriesRowDelta,
} from "../schema/series-store.js";
import { writeFileDurably } from "../wal/durable-file.js";
import { validateResponseRows, validateSeriesRows } from "./row-validation.js";

export const STORE_SPOOL_VERSION = 1;

export interface SpoolPlace {
  dir: string;
  /** File names start with this. */
  prefix: string;
  /** Several stores may share this place: files naming another store are left alone. */
  shared: boolean;
}

export interface SpoolRows {
  series: SeriesRowDelta[];
  responses: ResponseTimeRowDelta[];
}

/** A spool file taken for writing to the store (renamed to `.writing`). */
export interface ClaimedSpool extends SpoolRows {
  /** Its `.json` name. */
  path: string;
}

export function spoolRowCount(rows: SpoolRows): number {
  return rows.series.length + rows.responses.length;
}

/** The text of a spool file. Pure. */
export function encodeSpool(store: string, rows: SpoolRows, nowMs: number): string {
  return JSON.stringify({
    v: STORE_SPOOL_VERSION,
    store,
    spooledAt: new Date(nowMs).toISOString(),
    series: rows.series,
    responses: rows.responses,
  });
}

const isText = (v: unknown): v is string => typeof v === "string";

/** Reads a spool file's text back; throws an Error saying what is wrong. Pure. */
export function decodeSpool(text: string): { store: string; rows: SpoolRows } {
  const data = JSON.parse(text) as Record<string, unknown>;
  if (typeof data !== "object" || data === null) throw new Error("not a JSON object");
  if (data.v !== STORE_SPOOL_VERSION) {
    throw new Error(`version ${String(data.v)}: expected ${STORE_SPOOL_VERSION}`);
  }
  if (!isText(data.store)) throw new Error("no store named");
  if (!Array.isArray(data.series) || !Array.isArray(data.responses)) {
    throw new Error("series and responses must be arrays");
  }
  const keyed = (r: unknown, i: number, what: string): Record<string, unknown> => {
    const row = r as Record<string, unknown>;
    if (
      typeof row !== "object" ||
      row === null ||
      ![row.level, row.customer, row.site, row.link, row.trafficClass].every(isText)
    ) {
      throw new Error(`${what}[${i}]: not a row`);
    }
    return row;
  };
  data.series.forEach((r, i) => {
    keyed(r, i, "series");
  });
  data.responses.forEach((r, i) => {
    const row = keyed(r, i, "responses");
    // A spool written before `estimated` existed: its rows read it as 0.
    if (row.estimated === undefined) row.estimated = 0;
    if (!responseTimeCounters.every((c) => typeof row[c] === "number")) {
      throw new Error(`responses[${i}]: a counter is missing`);
    }
    if (!Array.isArray(row.bins) || !row.bins.every((b) => Array.isArray(b) && b.length === 2)) {
      throw new Error(`responses[${i}].bins: not [key, count] pairs`);
    }
  });
  const rows = {
    series: data.series as SeriesRowDelta[],
    responses: data.responses as ResponseTimeRowDelta[],
  };
  validateSeriesRows("series", rows.series, "add");
  validateResponseRows("responses", rows.responses, "add");
  return { store: data.store, rows };
}

export interface StoreSpool {
  /** The places, in order (for messages). */
  readonly places: readonly SpoolPlace[];
  /**
   * The spool files of this store, oldest first per place, and what was found that cannot be
   * written (unreadable, not a spool, another store's, left `.writing`), as FT_STORE_SPOOL errors.
   */
  find(): { paths: string[]; problems: FlowtallyError[] };
  /** Reads a file and renames it `.writing`; FT_STORE_SPOOL if either fails (the file stays). */
  claim(path: string): ClaimedSpool;
  /** Its rows are in the store: removes the `.writing` file. */
  done(spool: ClaimedSpool): void;
  /** The store did not take `left` of its rows: they go back under the `.json` name. */
  release(spool: ClaimedSpool, left: SpoolRows): void;
  /**
   * Writes rows to a new file at the first place that takes it and returns its path; throws
   * FT_STORE_SPOOL naming each place and why when none does.
   */
  write(rows: SpoolRows, nowMs: number): string;
}

export function createStoreSpool(o: {
  places: readonly SpoolPlace[];
  /** The store's name (describeStore with an absolute path): written in each file, checked back. */
  store: string;
  pid?: number;
}): StoreSpool {
  const pid = o.pid ?? process.pid;
  const writing = (path: string) => `${path}.writing`;
  const spoolError = (message: string, cause?: unknown) =>
    new FlowtallyError("FT_STORE_SPOOL", message, cause === undefined ? undefined : { cause });

  function read(path: string, from = path): SpoolRows & { store: string } {
    let text: string;
    try {
      text = readFileSync(from, "utf8");
    } catch (e) {
      throw spoolError(`${path}: the store spool could not be read: ${(e as Error).message}`, e);
    }
    try {
      const { store, rows } = decodeSpool(text);
      return { store, ...rows };
    } catch (e) {
      throw spoolError(
        `${path}: not a flowtally store spool (${(e as Error).message}): left as it is`,
        e,
      );
    }
  }

  function find(): { paths: string[]; problems: FlowtallyError[] } {
    const paths: string[] = [];
    const problems: FlowtallyError[] = [];
    for (const place of o.places) {
      let names: string[];
      try {
        names = readdirSync(place.dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        problems.push(spoolError(`${place.dir}: the store spool's directory could not be read`, e));
        continue;
      }
      for (const name of names.filter((n) => n.startsWith(place.prefix)).sort()) {
        const path = join(place.dir, name);
        if (name.endsWith(".json.writing")) {
          problems.push(
            spoolError(
              `${path}: flowtally stopped while writing this spool to the store, so its rows may be there already: check, then rename it to ${path.slice(0, -".writing".length)} to write it at the next start, or remove it`,
            ),
          );
          continue;
        }
        if (!name.endsWith(".json")) continue; // a temporary file that was never completed
        if (place.shared) {
          try {
            const { store } = read(path);
            if (store !== o.store) {
              problems.push(
                spoolError(
                  `${path}: a store spool of another store (${store}), not of ${o.store}: left as it is; start flowtally with that store's config to write it, or remove it`,
                ),
              );
              continue;
            }
          } catch (e) {
            problems.push(e as FlowtallyError);
            continue;
          }
        }
        paths.push(path);
      }
    }
    return { paths, problems };
  }

  function claim(path: string): ClaimedSpool {
    const rows = read(path);
    try {
      renameSync(path, writing(path));
    } catch (e) {
      throw spoolError(
        `${path}: the store spool could not be renamed before writing it (${(e as Error).message}), so it is not written: if it were, removing it afterwards could fail too and its rows count twice`,
        e,
      );
    }
    return { path, series: rows.series, responses: rows.responses };
  }

  function done(spool: ClaimedSpool): void {
    try {
      rmSync(writing(spool.path), { force: true });
    } catch (e) {
      throw spoolError(
        `${writing(spool.path)}: its rows are in the store, but the file could not be removed (${(e as Error).message}): remove it by hand`,
        e,
      );
    }
  }

  function release(spool: ClaimedSpool, left: SpoolRows): void {
    try {
      if (
        left.series.length === spool.series.length &&
        left.responses.length === spool.responses.length
      ) {
        renameSync(writing(spool.path), spool.path);
      } else {
        writeFileDurably(spool.path, encodeSpool(o.store, left, Date.now()));
        rmSync(writing(spool.path), { force: true });
      }
    } catch (e) {
      throw spoolError(
        `${writing(spool.path)}: the store did not take all of its rows, and the file could not be put back (${(e as Error).message})`,
        e,
      );
    }
  }

  function write(rows: SpoolRows, nowMs: number): string {
    const stamp = new Date(nowMs).toISOString().replace(/[-:.]/g, "");
    const text = encodeSpool(o.store, rows, nowMs);
    const failures: string[] = [];
    for (const place of o.places) {
      const path = join(place.dir, `${place.prefix}${stamp}-${pid}.json`);
      try {
        mkdirSync(place.dir, { recursive: true });
        writeFileDurably(path, text);
        return path;
      } catch (e) {
        failures.push(`${path}: ${(e as Error).message}`);
      }
    }
    throw spoolError(
      `${spoolRowCount(rows)} rows the store did not take could not be spooled, and are lost: ${
        failures.length === 0 ? "no spool place (the store is in memory)" : failures.join("; ")
      }`,
    );
  }

  return { places: o.places, find, claim, done, release, write };
}
