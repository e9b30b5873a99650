/**
 * The built command line (dist/, made by `npm run build`; `npm test` builds first), run as a
 * user runs it.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freeUdpPort, startRun, tsharkOfficeBytes } from "../test/support/cli-process.js";
import { influxql, startInfluxd } from "../test/support/servers.js";

const root = new URL("../", import.meta.url).pathname;
const cli = join(root, "dist/cli/flowtally.js");
const flows = (p: string) => join(root, "test/fixtures/flows", p);

function run(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("flowtally CLI", () => {
  it("is built (run `npm run build` first)", () => {
    expect(existsSync(cli)).toBe(true);
  });

  it("--help lists the commands", () => {
    const out = execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(out).toMatch(/decode \[options\] <capture\.\.\.>/);
    expect(out).toMatch(/check-config/);
  });

  it("decode --format json gives tshark's totals for softflowd's v5 export of netflix.pcap", () => {
    const r = run([
      "decode",
      "--format",
      "json",
      flows("exported-from-packets/softflowd-v5__ndpi__netflix.pcap"),
    ]);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect([s.records, s.bytes, s.packets]).toEqual([119, 981314, 1793]);
    expect(s.exporters[0]).toMatchObject({ exporter: "127.0.0.1", records: 119, lostRecords: 0 });
  });

  it("decode --records prints one JSON record per line", () => {
    const r = run(["decode", "--records", flows("netflow-v5/telegraf__netflow_v5_example.pcap")]);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(8);
    expect(lines.reduce((a, x) => a + x.bytes, 0)).toBe(103623);
  });

  it("exits quietly, status 0, when the reader of its output goes away (| head -1)", () => {
    // 40 × 104 kB of records: far more than a pipe holds, so decode writes after head left.
    const capture = flows("exported-from-packets/pmacctd-nfprobe-v9__ndpi__1kxun.pcap");
    const args = ["decode", "--records", "--log-level", "error", ...Array(40).fill(capture)];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's, not a template
    const script = 'set -o pipefail; "$@" | head -1; echo "status ${PIPESTATUS[0]}" >&2';
    const r = spawnSync("bash", ["-c", script, "bash", process.execPath, cli, ...args], {
      encoding: "utf8",
      cwd: root,
    });
    expect(JSON.parse(r.stdout).bytes).toBeGreaterThan(0);
    expect(r.stderr).toBe("status 0\n");
  });

  it("decode --state keeps templates between runs", () => {
    const state = join(mkdtempSync(join(tmpdir(), "flowtally-cli-")), "state.json");
    run(["decode", "--state", state, flows("netflow-v9/akvorado__template.pcap")]);
    const r = run([
      "decode",
      "--format",
      "json",
      "--state",
      state,
      flows("netflow-v9/akvorado__data.pcap"),
    ]);
    const s = JSON.parse(r.stdout);
    expect([s.records, s.bytes, s.stateRestored.templates]).toEqual([4, 5848, 1]);
    const cold = JSON.parse(
      run(["decode", "--format", "json", flows("netflow-v9/akvorado__data.pcap")]).stdout,
    );
    expect([cold.records, cold.heldAtEnd.count]).toEqual([0, 1]);
  });

  it("decode --port keeps only datagrams to that port", () => {
    const r = run([
      "decode",
      "--format",
      "json",
      "--port",
      "9",
      flows("netflow-v5/akvorado__nfv5.pcap"),
    ]);
    expect(JSON.parse(r.stdout).datagrams).toBe(0);
  });

  it("errors are one clear line with a code and exit status 1", () => {
    const missing = run(["decode", "/nonexistent.pcap"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      /^flowtally: \/nonexistent\.pcap: ENOENT.*\[FT_CAPTURE_READ\]\n$/,
    );
    const badPort = run(["decode", "--port", "70000", "x.pcap"]);
    expect(badPort.status).toBe(1);
    expect(badPort.stderr).toMatch(/"70000" is not a UDP port/);
  });

  it("check-config accepts the example and names the path of a mistake", () => {
    expect(
      run(["check-config", "--config", join(root, "config/flowtally.example.yaml")]).status,
    ).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "flowtally-cli-"));
    const bad = join(dir, "bad.yaml");
    execFileSync("sh", ["-c", `printf 'decoder:\\n  defaultSamplingRate: 0\\n' > ${bad}`]);
    const r = run(["check-config", "--config", bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/decoder\.defaultSamplingRate: .*\[FT_CONFIG_INVALID\]/s);
  });

  it("scaled-out commands: collect and aggregate need queue.redis.url; check-config hides its password", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-cli-"));
    const none = join(dir, "none.yaml");
    writeFileSync(none, "api: { listen: '127.0.0.1:0' }\n");
    for (const command of ["collect", "aggregate"]) {
      const r = run([command, "--config", none]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `queue\\.redis\\.url: required by flowtally ${command}.*\\[FT_CONFIG_INVALID\\]`,
        ),
      );
    }
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "queue: { redis: { url: 'http://x:1' } }\n");
    expect(run(["check-config", "--config", bad]).stderr).toMatch(
      /queue\.redis\.url: .*is not a "redis:\/\/host:port" URL/,
    );
    const secret = join(dir, "secret.yaml");
    writeFileSync(secret, "queue: { redis: { url: 'redis://ft:s3cr3t-pw@127.0.0.1:6380/2' } }\n");
    const shown = run(["check-config", "--config", secret]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/redis:\/\/ft:\*\*\*@127\.0\.0\.1:6380\/2/);
    expect(shown.stdout).not.toMatch(/s3cr3t/);
  });

  it("query overview never creates a store: a missing path is FT_STORE_OPEN naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-cli-"));
    const path = join(dir, "not-yet", "ft.duckdb");
    const config = join(dir, "ft.yaml");
    writeFileSync(config, `store: { embedded: { path: ${JSON.stringify(path)} } }\n`);
    const r = run([
      "query",
      "overview",
      "--config",
      config,
      "--from",
      "2026-11-01T00:00:00Z",
      "--to",
      "2026-11-02T00:00:00Z",
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `flowtally: ${path}: the embedded store could not be opened: there is no store at this path, and reading never creates one: check store.embedded.path (flowtally run creates the file) [FT_STORE_OPEN]\n`,
    );
    expect(existsSync(join(dir, "not-yet"))).toBe(false);
  });

  it("run listens, send feeds it, SIGTERM writes everything, query overview reads it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-cli-"));
    const office = await runSendQuery(
      dir,
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      async (config, port, stderr) => {
        // Both: the listener's own log line, and the warning that no tokens are configured.
        expect(stderr).toMatch(/"listening for NetFlow v5\/v9 and IPFIX"/);
        expect(stderr).toMatch(/operatorTokens is empty/);

        // A second run on the same config is refused by the decoder state's lock (naming the
        // pid); with its own state, by the write-ahead log's; on the same store with its own
        // state and log, by the store's lock; on the same UDP port with another store, by the port.
        const sameStore = run(["run", "--config", config]);
        expect(sameStore.status).toBe(1);
        expect(sameStore.stderr).toMatch(
          /decoder\.statePath \S+state\.json: in use by process \d+ .*\[FT_DATA_LOCKED\]/,
        );
        const ownState = join(dir, "own-state.yaml");
        writeFileSync(ownState, readFileSync(config, "utf8").replace("state.json", "state2.json"));
        const sameLog = run(["run", "--config", ownState]);
        expect(sameLog.status).toBe(1);
        expect(sameLog.stderr).toMatch(
          /wal\.path \S+wal: in use by process \d+ .*\[FT_DATA_LOCKED\]/,
        );
        const ownLog = join(dir, "own-log.yaml");
        writeFileSync(ownLog, `${readFileSync(ownState, "utf8")}\nwal: { path: wal2 }\n`);
        const sameFile = run(["run", "--config", ownLog]);
        expect(sameFile.status).toBe(1);
        expect(sameFile.stderr).toMatch(
          /ft\.duckdb: the embedded store could not be opened.*lock.*\[FT_STORE_OPEN\]/,
        );
        const other = join(dir, "other.yaml");
        writeFileSync(
          other,
          `${readFileSync(config, "utf8")
            .replace("ft.duckdb", "other.duckdb")
            .replace("state.json", "state3.json")}\nwal: { path: wal3 }\n`,
        );
        const twice = run(["run", "--config", other]);
        expect(twice.status).toBe(1);
        expect(twice.stderr).toMatch(
          new RegExp(
            `inputs\\.netflow\\[0\\]\\.listen 127\\.0\\.0\\.1:${port}: the address is in use.*\\[FT_LISTEN\\]`,
          ),
        );
      },
    );
    expect(existsSync(join(dir, "state.json"))).toBe(true);
    expect([office.bytesIn, office.bytesOut]).toEqual(tsharkOfficeBytes());
  });

  it("run and query overview work the same on InfluxDB (store.influx, influxd 1.6.7)", async () => {
    const influxd = await startInfluxd();
    onTestFinished(() => influxd.close());
    await influxql(influxd, "CREATE DATABASE flowtally");
    const dir = mkdtempSync(join(tmpdir(), "flowtally-cli-"));
    const store = `store: { influx: { api: v1, url: "http://127.0.0.1:${influxd.port}", database: flowtally, username: ft, password: not-printed-secret } }`;
    const office = await runSendQuery(dir, store, async (config, _port, stderr) => {
      expect(stderr).toContain(
        `"store":"InfluxDB (v1 API) http://127.0.0.1:${influxd.port} database flowtally"`,
      );
      const checked = run(["check-config", "--config", config]);
      expect(checked.status).toBe(0);
      expect(checked.stdout).toContain(
        `store: InfluxDB (v1 API) http://127.0.0.1:${influxd.port} database flowtally\n`,
      );
      expect(checked.stdout).toContain('"password": "(set)"');
      expect(checked.stdout + stderr).not.toContain("not-printed-secret");
    });
    expect([office.bytesIn, office.bytesOut]).toEqual(tsharkOfficeBytes());
  });
});

/**
 * Writes a config (one NetFlow input, customer `office`, the `store` line given), starts `run`,
 * calls `whileRunning`, sends tcpreplay's test.pcap as pmacct's NetFlow v9 export, stops `run`
 * with SIGTERM and returns office's row of `query overview` over all time.
 */
async function runSendQuery(
  dir: string,
  storeLine: string,
  whileRunning: (config: string, port: number, stderr: string) => Promise<void>,
): Promise<{ bytesIn: number; bytesOut: number }> {
  const port = await freeUdpPort();
  const config = join(dir, "ft.yaml");
  writeFileSync(
    config,
    [
      `inputs: { netflow: [{ listen: "127.0.0.1:${port}" }] }`,
      // The captures were recorded years ago: keep records of any age.
      "aggregation: { maxPast: forever }",
      storeLine,
      `decoder: { statePath: ${JSON.stringify(join(dir, "state.json"))} }`,
      'api: { listen: "127.0.0.1:0" }',
      "customers:",
      "  - { id: office, name: Office, sites: [{ id: a, links: [{ id: l, prefixes: [172.16.11.0/24] }] }] }",
      "",
    ].join("\n"),
  );
  const running = await startRun(config);
  await whileRunning(config, port, running.stderr());

  const sent = run([
    "send",
    "--to",
    `127.0.0.1:${port}`,
    flows("exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap"),
  ]);
  expect(sent.stdout).toMatch(/^sent 7 datagrams/);
  await new Promise((r) => setTimeout(r, 200));
  const { status, stdout, stderr } = await running.stop();
  expect(status, stderr).toBe(0);
  expect(stdout).toMatch(/^received 7 export datagrams, 45 records/);
  expect(stdout).toMatch(/dropped by the kernel: 0/);

  const q = run([
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
  return JSON.parse(q.stdout).rows.find((r: { customer: string }) => r.customer === "office");
}
