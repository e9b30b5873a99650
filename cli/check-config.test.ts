/**
 * Hostile and absurd configs against the built command line (dist/, `npm run build` first):
 * what `check-config` says, and that `run` refuses the same file before it starts anything.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { EVERY_SECRET_CONFIGS, SECRET_VALUES } from "../test/support/secret-configs.js";

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

/**
 * Starts `run` on `config`, waits for the API to listen (its last start-up log line), stops it
 * with SIGTERM and returns what it logged until then.
 */
async function startUpLog(config: string): Promise<string> {
  const child = spawn(process.execPath, [cli, "run", "-c", config], { cwd: root });
  onTestFinished(() => {
    child.kill("SIGKILL"); // a no-op once it has exited
  });
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d;
      if (stderr.includes("query API listening")) resolve();
    });
    exited.then(() => reject(new Error(`run exited: ${stderr}`)));
  });
  child.kill("SIGTERM");
  await exited;
  return stderr;
}

/** A config `run` can start on: free ports, files in a temp dir, `extra` lines added. */
function runnable(extra: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-check-"));
  return configFile(
    [
      'api: { listen: "127.0.0.1:0" }',
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      'decoder: { statePath: "" }',
      ...extra,
      "",
    ].join("\n"),
  );
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

  it("a default route as a customer prefix is accepted with a warning, by check-config and run", async () => {
    const config = runnable([
      "customers:",
      "  - { id: acme, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [0.0.0.0/0] }] }] }",
    ]);
    const checked = run(["check-config", "-c", config]);
    expect(checked.status).toBe(0);
    expect(checked.stdout).toMatch(/: ok, 1 warning\(s\) on stderr\n/);
    expect(checked.stderr).toBe(
      'flowtally: warning: customers[0].sites[0].links[0].prefixes[0]: "0.0.0.0/0" is shorter than /8: it holds every IPv4 address, so the traffic of all of them that no longer prefix matches is attributed to customer "acme" (a default route or a typo?)\n',
    );
    const log = await startUpLog(config);
    const warning = log
      .split("\n")
      .filter((l) => l.includes('"level":40') && l.includes("0.0.0.0/0"))
      .map((l) => JSON.parse(l));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatchObject({ key: "customers[0].sites[0].links[0].prefixes[0]" });
    expect(warning[0].msg).toMatch(/is shorter than \/8: it holds every IPv4 address/);
  });

  it("an alias bomb and a binary file are one coded line each, without a stack or raw bytes", () => {
    const laughs = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ..."bcdefghi"
        .split("")
        .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]`),
      "customers: *i",
      "",
    ].join("\n");
    // A binary file whose bytes would recolour the terminal and ring its bell if echoed.
    const binary = Uint8Array.from([
      0x7f, 0x45, 0x4c, 0x46, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x07, 0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a,
    ]);
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [laughs, /refused as an alias bomb/],
      [binary, /line 1, column \d+: /],
      [
        "a: 1\n\x1b[31mb: 2\x07\n",
        /line 2, column \d+: the stream contains non-printable characters/,
      ],
    ];
    for (const [content, reason] of cases) {
      const file = configFile(content);
      const r = run(["check-config", "-c", file]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(new RegExp(`^flowtally: ${file}: .*\\[FT_CONFIG_PARSE\\]\\n$`));
      expect(r.stderr).toMatch(reason);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: none may reach the terminal
      expect(r.stderr.trimEnd()).not.toMatch(/[\x00-\x1f\x7f]/);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it("check-config hides every secret key: operator tokens were printed in clear", () => {
    for (const text of EVERY_SECRET_CONFIGS) {
      const r = run(["check-config", "-c", configFile(text)]);
      expect(r.status, r.stderr).toBe(0);
      for (const secret of SECRET_VALUES) expect(r.stdout + r.stderr).not.toContain(secret);
      expect(r.stdout).toContain('"operatorTokens": "(2 set)"');
      expect(r.stdout).toContain('"url": "redis://ft:***@127.0.0.1:6379/2?password=***"');
      expect(r.stdout).toContain('"secret": "(set)"');
      expect(r.stdout).toContain('"secretEnv": "RADIUS_SECRET"');
    }
  });
});
