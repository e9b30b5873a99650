/**
 * One way to replace a small file durably (decoder state, store spool, collector spool): the text
 * goes to a temp file beside it, which is synced to disk and renamed over the path, then the
 * directory is synced, so that after a crash or a power loss the path holds the old content or
 * the new one, whole. The temp file is removed when a step fails; the error is passed on. Once
 * the rename is done the file is in place: a directory that cannot be synced (some file systems
 * refuse it) is not an error, so a caller never writes the same content a second time elsewhere.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export function writeFileDurably(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  mkdirSync(dirname(path), { recursive: true });
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // In place already; see above.
  }
}
