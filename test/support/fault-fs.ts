/**
 * Real file-system faults for store tests, made with the kernel's own means (the tests run as
 * root in a VM): a small tmpfs that fills up, and the immutable attribute (`chattr +i`), which
 * refuses writes even to root (a mode of 0444 does not). A test that needs one and cannot get it
 * fails saying why; it does not skip.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function needed(what: string, e: unknown): Error {
  const said = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
  return new Error(
    `this test needs ${what} (run as root on a Linux machine that allows it): ${said}`,
  );
}

export interface Tmpfs {
  readonly dir: string;
  /** Changes the size (bytes): a full disk gets room again. */
  resize(bytes: number): void;
  /** Unmounts (lazily if a file is still open); safe to call twice. */
  close(): void;
}

/** Mounts a tmpfs of `bytes` on `dir` (made if missing). */
export function mountTmpfs(dir: string, bytes: number): Tmpfs {
  mkdirSync(dir, { recursive: true });
  try {
    sh("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  } catch (e) {
    throw needed(`to mount a ${bytes}-byte tmpfs on ${dir}`, e);
  }
  let mounted = true;
  return {
    dir,
    resize(size) {
      sh("mount", ["-o", `remount,size=${size}`, dir]);
    },
    close() {
      if (!mounted) return;
      mounted = false;
      try {
        sh("umount", [dir]);
      } catch {
        sh("umount", ["-l", dir]);
      }
    },
  };
}

/**
 * Sets (true) or clears the immutable attribute of each path: no write, create or delete.
 * Clearing passes over paths that no longer exist.
 */
export function setImmutable(paths: readonly string[], on: boolean): void {
  paths = on ? paths : paths.filter((p) => existsSync(p));
  if (paths.length === 0) return;
  try {
    sh("chattr", [on ? "+i" : "-i", ...paths]);
  } catch (e) {
    throw needed(`chattr ${on ? "+i" : "-i"} (e2fsprogs, root, a file system with attributes)`, e);
  }
}
