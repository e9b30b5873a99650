/**
 * Hostile and absurd configs against the built command line (dist/, `npm run build` first):
 * what `check-config` says, and that `run` refuses the same file before it starts anything.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url).pathname;
const cli = join(root, "dist/cli/flowtally.js");

function run(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    cwd: root,
    timeout: 20_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Writes `text` (or bytes) to a file of a new temp dir; returns its path. */
function configFile(text: string | Uint8Array, name = "ft.yaml"): string {
  const path = join(mkdtempSync(join(tmpdir(), "flowtally-check-")), name);
  writeFileSync(path, text);
  return path;
}

/** The lines a process would show for an error thrown past the CLI's handler. */
const STACK = /^\s+at /m;

describe("check-config and run refuse absurd configs the same way", () => {
  it("aggregation.interval: 0s is refused before run starts (it died with a RangeError)", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-check-"));
    const file = configFile(
      [
        "aggregation: { interval: 0s }",
        'api: { listen: "127.0.0.1:0" }',
        `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
        'decoder: { statePath: "" }',
        "",
      ].join("\n"),
    );
    const checked = run(["check-config", "-c", file]);
    expect(checked.status).toBe(1);
    expect(checked.stderr).toMatch(
      /aggregation\.interval: must be at least 1s \(got 0s\) \[FT_CONFIG_INVALID\]/,
    );
    const started = run(["run", "-c", file]);
    expect(started.status).toBe(1);
    expect(started.stderr).toMatch(/aggregation\.interval: must be at least 1s \(got 0s\)/);
    expect(started.stderr).not.toMatch(STACK);
    expect(started.stderr).not.toMatch(/RangeError/);
  });

  it("queue.stalledAfter: 0 is refused before aggregate starts (BullMQ threw)", () => {
    const file = configFile(
      'queue: { redis: { url: "redis://127.0.0.1:1" }, stalledAfter: 0 }\napi: { listen: "127.0.0.1:0" }\n',
    );
    const r = run(["aggregate", "-c", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /queue\.stalledAfter: must be at least 1s \(got 0s\) \[FT_CONFIG_INVALID\]/,
    );
    expect(r.stderr).not.toMatch(STACK);
  });

  it("the same listen address twice names both paths", () => {
    const file = configFile(
      'inputs:\n  netflow: [{ listen: "0.0.0.0:2055" }]\n  sflow: [{ listen: "127.0.0.1:2055" }]\n',
    );
    const r = run(["check-config", "-c", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /inputs\.sflow\[0\]\.listen: UDP "127\.0\.0\.1:2055" is also inputs\.netflow\[0\]\.listen \("0\.0\.0\.0:2055"\)/,
    );
  });
});
