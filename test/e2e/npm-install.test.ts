/**
 * Installed as an operator installs it (docs/install.md): `npm pack` of the repository, then
 * `npm install -g` of the tarball into a temporary prefix (never the machine's own), then the
 * installed `flowtally` command: help, version, check-config on the shipped examples, and `run`
 * fed a real NetFlow v9 export by the installed `send`, read back with `query overview` and
 * compared with tshark's figures. The systemd units pass `systemd-analyze verify` with ExecStart
 * pointed at the installed command.
 *
 * npm takes the dependencies' tarballs from its cache (filled by `npm ci` in scripts/setup.sh):
 * `--prefer-offline`. It still asks the registry for the packages' metadata, which the cache does
 * not hold for a lockfile install (`--offline` fails with ENOTCACHED); about 15 s here.
 */

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { freeUdpPort, tsharkOfficeBytes } from "../support/cli-process.js";

const root = new URL("../../", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};
const dir = mkdtempSync(join(tmpdir(), "flowtally-install-"));
const prefix = join(dir, "prefix");
const bin = join(prefix, "bin/flowtally");
const installed = join(prefix, "lib/node_modules/flowtally");

/** Our environment without npm's variables (vitest runs under npx, which sets a few). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
  );
}

function sh(command: string, args: string[], timeout = 60_000) {
  const r = spawnSync(command, args, { encoding: "utf8", env: npmEnv(), timeout, cwd: dir });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

let packed: string[] = [];
let globalRootBefore: string[] = [];
const globalRoot = sh("npm", ["root", "-g"]).stdout.trim();

beforeAll(() => {
  expect(existsSync(join(root, "dist/cli/flowtally.js")), "built (npm run build)").toBe(true);
  globalRootBefore = existsSync(globalRoot) ? readdirSync(globalRoot).sort() : [];
  // The build is the one the other tests use (npm test builds first): no `prepare` here, which
  // would rewrite dist/ under tests running beside this one.
  const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: root,
    encoding: "utf8",
    env: npmEnv(),
    timeout: 60_000,
  });
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  packed = info!.files.map((f) => f.path);
  const install = sh(
    "npm",
    [
      "install",
      "--global",
      "--prefix",
      prefix,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--no-update-notifier",
      join(dir, info!.filename),
    ],
    240_000,
  );
  expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
}, 300_000);

describe("npm pack, npm install -g", () => {
  it("the tarball holds what the command needs at run time, the examples, units and dashboards, and no tests", () => {
    expect(packed).toContain(pkg.bin.flowtally);
    for (const f of [
      "dist/cli/flowtally.js",
      "dist/collector/flow-collector.js",
      "dist/store/duckdb-store.js",
      "dist/store/influx-store.js",
      "config/flowtally.example.yaml",
      "config/influx.example.yaml",
      "docs/install.md",
      "docs/systemd/flowtally.service",
      "docs/systemd/flowtally-collect.service",
      "docs/systemd/flowtally-aggregate.service",
      "docs/systemd/flowtally-serve.service",
      "docs/grafana/flowtally-traffic.json",
      "docs/grafana/provisioning/datasources/flowtally.yaml",
      "native/binding.gyp",
      "native/udp_batch.c",
    ]) {
      expect(packed, f).toContain(f);
    }
    expect(packed.filter((f) => /\.test\.(ts|js)$/.test(f))).toEqual([]);
    expect(
      packed.filter((f) => f.endsWith(".ts")),
      "sources stay out",
    ).toEqual([]);
    // Every module the command imports is in the tarball: each folder of the built tree but the
    // benchmarks and tests is in package.json's "files", and packed.
    const files = (
      JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { files: string[] }
    ).files;
    for (const folder of readdirSync(join(root, "dist"))) {
      if (folder === "bench" || folder === "test") continue;
      expect(files, `dist/${folder} is in package.json's files`).toContain(`dist/${folder}`);
      expect(
        packed.some((f) => f.startsWith(`dist/${folder}/`)),
        `dist/${folder} is packed`,
      ).toBe(true);
    }
  });

  it("installs into its prefix only, and the command runs: --help, --version, check-config", () => {
    expect(existsSync(bin)).toBe(true);
    expect(existsSync(globalRoot) ? readdirSync(globalRoot).sort() : []).toEqual(globalRootBefore);
    const help = sh(bin, ["--help"]);
    expect(help.status, help.stderr).toBe(0);
    for (const c of ["run", "collect", "aggregate", "serve", "check-config", "query"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    }
    expect(sh(bin, ["--version"]).stdout.trim()).toBe(pkg.version);
    expect(sh(bin, ["collect", "--help"]).stdout).toMatch(/--listen <host:port>/);
    for (const example of ["flowtally.example.yaml", "influx.example.yaml"]) {
      const r = sh(bin, ["check-config", "--config", join(installed, "config", example)]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`${example}: ok\\n`));
    }
  });

  it("the installed run counts a real NetFlow v9 export (sent by the installed send) as tshark does", async () => {
    const port = await freeUdpPort();
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        `inputs: { netflow: [{ listen: "127.0.0.1:${port}" }] }`,
        "aggregation: { maxPast: forever }",
        `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
        `decoder: { statePath: ${JSON.stringify(join(dir, "state.json"))} }`,
        'api: { listen: "127.0.0.1:0" }',
        "customers:",
        "  - { id: office, name: Office, sites: [{ id: a, links: [{ id: l, prefixes: [172.16.11.0/24] }] }] }",
        "",
      ].join("\n"),
    );
    const child = spawn(bin, ["run", "--config", config], { cwd: dir, env: npmEnv() });
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        if (stderr.includes("query API listening")) resolve();
      });
      exited.then(() => reject(new Error(`run exited: ${stderr}`)));
    });
    const capture = join(
      root,
      "test/fixtures/flows/exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap",
    );
    const sent = sh(bin, ["send", "--to", `127.0.0.1:${port}`, capture]);
    expect(sent.stdout, sent.stderr).toMatch(/^sent 7 datagrams/);
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(0);
    expect(stdout).toMatch(/^received 7 export datagrams, 45 records/);
    const q = sh(bin, [
      "query",
      "overview",
      "--config",
      config,
      "--from",
      "2000-01-01T00:00:00Z",
      "--to",
      "2100-01-01T00:00:00Z",
      "--format",
      "json",
    ]);
    expect(q.status, q.stderr).toBe(0);
    const office = (
      JSON.parse(q.stdout) as {
        rows: Array<{ customer: string; bytesIn: number; bytesOut: number }>;
      }
    ).rows.find((r) => r.customer === "office")!;
    expect([office.bytesIn, office.bytesOut]).toEqual(tsharkOfficeBytes());
  }, 60_000);

  it("the systemd units pass systemd-analyze verify, run from the installed command", () => {
    const units = join(dir, "units");
    spawnSync("mkdir", ["-p", units]);
    const names = readdirSync(join(installed, "docs/systemd"));
    expect(names.sort()).toEqual([
      "flowtally-aggregate.service",
      "flowtally-collect.service",
      "flowtally-serve.service",
      "flowtally.service",
    ]);
    for (const name of names) {
      const text = readFileSync(join(installed, "docs/systemd", name), "utf8");
      const command = /^ExecStart=(\S+) (run|collect|aggregate|serve) --config (\S+)$/m.exec(text);
      expect(command, name).not.toBeNull();
      expect(text).toMatch(/^User=flowtally$/m);
      expect(text).toMatch(/^ProtectSystem=strict$/m);
      expect(text).toMatch(/^ReadWritePaths=\/var\/lib\/flowtally$/m);
      expect(text).toMatch(/^StateDirectory=flowtally$/m);
      expect(text).toMatch(/^NoNewPrivileges=yes$/m);
      writeFileSync(join(units, name), text.replace(command![1]!, bin));
    }
    const verify = spawnSync("systemd-analyze", ["verify", ...names.map((n) => join(units, n))], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(verify.error, "systemd-analyze (Debian's systemd) runs here").toBeUndefined();
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr.trim()).toBe("");
  });
});
