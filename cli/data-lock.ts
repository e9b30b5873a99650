/**
 * A lock file beside a data file (`<file>.lock`), so that two processes never share a decoder
 * state or a collector spool: each would overwrite what the other saved. The lock holds the
 * owner's pid and command; a lock whose process is gone (a crash, SIGKILL) is stale and taken
 * over, with a log line. Made atomic by writing a private file and hard-linking it into place
 * (link fails if the lock exists), so a reader never sees a half-written lock.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { FlowtallyError } from "../schema/errors.js";

export interface DataLock {
  readonly path: string;
  /** Removes the lock if it is still this process's. Idempotent. */
  release(): void;
}

interface LockOwner {
  pid: number;
  command: string;
  since: string;
}

/**
 * Locks `file` (its config key in `key`, for messages) for this process, or throws
 * FT_DATA_LOCKED naming the file and the pid that holds it.
 */
export function lockDataFile(key: string, file: string, log: Logger): DataLock {
  const path = `${file}.lock`;
  // The command line says which process it is (`.../flowtally.js collect --config ...`).
  const command = process.argv.slice(1).join(" ").slice(0, 300);
  const me: LockOwner = { pid: process.pid, command, since: new Date().toISOString() };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(me)}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e;
      }
      const owner = readOwner(path);
      if (owner !== undefined && isAlive(owner.pid)) {
        throw new FlowtallyError(
          "FT_DATA_LOCKED",
          `${key} ${file}: in use by process ${owner.pid} (${owner.command}, since ${owner.since}); stop it, or give this process its own file (lock ${path})`,
        );
      }
      log.warn(
        { key, path: file, lock: path, stalePid: owner?.pid ?? null },
        `${key}: taking over the lock of process ${owner?.pid ?? "(unreadable lock)"}, which is no longer running`,
      );
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}

/**
 * Locks each non-empty file in order; on a refusal releases those already taken. `files` maps
 * a config key to its absolute path ("" for off).
 */
export function lockDataFiles(
  files: ReadonlyArray<readonly [key: string, file: string]>,
  log: Logger,
): { release(): void } {
  const held: DataLock[] = [];
  const release = () => {
    for (const l of held.reverse()) l.release();
    held.length = 0;
  };
  try {
    for (const [key, file] of files) {
      if (file !== "") held.push(lockDataFile(key, file, log));
    }
  } catch (e) {
    release();
    throw e;
  }
  return { release };
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as Partial<LockOwner>;
    return typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0
      ? { pid: o.pid, command: String(o.command ?? "?"), since: String(o.since ?? "?") }
      : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists, under another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
