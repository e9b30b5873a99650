/**
 * The built command line (dist/, made by `npm run build`; `npm test` builds first), run as a
 * user runs it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

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
});
