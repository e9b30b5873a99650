/**
 * `flowtally send --retime` into a real `flowtally run` with the default aggregation.maxPast (2 h):
 * a capture recorded in 2010 is counted as today's traffic, and `flowtally query` finds it with
 * relative times, on the store path and through the API of a `flowtally serve` on the same store.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import {
  flows,
  freeUdpPort,
  runCli,
  startFlowtally,
  startRun,
  tsharkOfficeBytes,
} from "../test/support/cli-process.js";

const TOKEN = "send-retime-test-token-0123456789";
const capture = flows("exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap");
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

it("send --retime moves an old capture to now: run counts it, query finds it from now-1h", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-retime-"));
  const port = await freeUdpPort();
  const config = join(dir, "ft.yaml");
  writeFileSync(
    config,
    [
      `inputs: { netflow: [{ listen: "127.0.0.1:${port}" }] }`,
      // aggregation.maxPast left at its default, 2 h: the capture's own times are too old.
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      `decoder: { statePath: ${JSON.stringify(join(dir, "state.json"))} }`,
      `api: { listen: "127.0.0.1:0", operatorTokens: ["${TOKEN}"] }`,
      "customers:",
      "  - { id: office, name: Office, sites: [{ id: a, links: [{ id: l, prefixes: [172.16.11.0/24] }] }] }",
      "",
    ].join("\n"),
  );
  const run = await startRun(config);
  // As recorded: every record is from 2010, dropped.
  expect(runCli(["send", "--to", `127.0.0.1:${port}`, capture]).status).toBe(0);
  const before = Date.now();
  const sent = runCli(["send", "--retime", "--to", `127.0.0.1:${port}`, capture]);
  const after = Date.now();
  expect(sent.status, sent.stderr).toBe(0);
  const line =
    /^retimed 7 exports: every time moved by \+(\d+) s \([\d.]+ days\); the latest record ends at (\S+)\n$/m.exec(
      sent.stdout,
    );
  expect(line, sent.stdout).not.toBeNull();
  // The latest record of the capture ends at 2010-07-07T03:16:22.xxx (tshark): now, to the second.
  const latest = Date.parse(line![2]!);
  expect(latest).toBeGreaterThan(before - 1000);
  expect(latest).toBeLessThanOrEqual(after);
  expect(Number(line![1])).toBeGreaterThan(16 * 365 * 86_400);

  const stopped = await run.stop();
  expect(stopped.status, stopped.stderr).toBe(0);
  expect(stopped.stdout).toMatch(/^received 14 export datagrams, 90 records/);
  // The first send's 45 records only: none of the retimed ones is too old.
  expect(stopped.stdout).toMatch(/records dropped: too-old 45 /);

  // [now-1h, the minute after the latest record): the retimed records, as tshark counts them.
  const to = iso(Math.ceil((latest + 1) / 60_000) * 60_000);
  const overview = (where: string[], env?: Record<string, string>) => {
    const r = runCli(
      ["query", "overview", ...where, "--from", "now-1h", "--to", to, "--format", "json"],
      env,
    );
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as {
      from: string;
      ratesUntil: string;
      rows: Array<Record<string, number | string>>;
    };
  };
  const stored = overview(["--config", config]);
  const office = stored.rows.find((r) => r.customer === "office")!;
  expect([office.bytesIn, office.bytesOut]).toEqual(tsharkOfficeBytes());
  expect(Date.parse(stored.from)).toBeGreaterThan(before - 3_660_000);
  // The capture spans 4 s: unless that crossed midnight, yesterday had none of it.
  if (latest - 10_000 > Math.floor(latest / 86_400_000) * 86_400_000) {
    const yesterday = runCli(
      ["query", "overview", "--config", config, "--from", "yesterday", "--to", "today"],
      {},
    );
    expect(yesterday.stdout).toMatch(/\noffice +Office +default +0 B +0 B /);
  }

  // The same store behind flowtally serve's API: the same answer to the same relative question.
  const serve = await startFlowtally("serve", config);
  // (now-1h is rounded down to the minute when each query runs: a minute may begin between them.)
  const viaApi = overview(["--api", serve.apiUrl], { FLOWTALLY_TOKEN: TOKEN });
  // The period still runs (`to` is the minute after the latest record), so each answer's average
  // rates are over the time up to its own `now` (its `ratesUntil`): the same bytes, other rates.
  const withoutRates = (rows: Array<Record<string, number | string>>) =>
    rows.map(({ bpsIn: _in, bpsOut: _out, ...r }) => r);
  expect(withoutRates(viaApi.rows)).toEqual(withoutRates(stored.rows));
  for (const answer of [stored, viaApi]) {
    const seconds = (Date.parse(answer.ratesUntil) - Date.parse(answer.from)) / 1000;
    expect(seconds).toBeGreaterThan(3_540);
    for (const r of answer.rows) {
      expect(r.bpsIn).toBeCloseTo((Number(r.bytesIn) * 8) / seconds, 9);
      expect(r.bpsOut).toBeCloseTo((Number(r.bytesOut) * 8) / seconds, 9);
    }
  }
  expect(Date.parse(viaApi.from) - Date.parse(stored.from)).toBeGreaterThanOrEqual(0);
  expect(Date.parse(viaApi.from) - Date.parse(stored.from)).toBeLessThanOrEqual(60_000);
  const traffic = runCli(
    ["query", "traffic", "office", "--api", serve.apiUrl, "--from", "now-15m", "--to", to].concat([
      "--step",
      "1m",
      "--format",
      "json",
    ]),
    { FLOWTALLY_TOKEN: TOKEN },
  );
  expect(traffic.status, traffic.stderr).toBe(0);
  const answer = JSON.parse(traffic.stdout) as {
    from: string;
    points: Array<{ time: string; bytesIn: number }>;
  };
  const points = answer.points;
  // now-15m, rounded down to the minute when the query ran: 16 minutes up to `to`, fewer when a
  // minute began between the latest record and the query.
  expect(Date.parse(answer.from)).toBeGreaterThanOrEqual(Date.parse(to) - 16 * 60_000);
  expect(points.length).toBe((Date.parse(to) - Date.parse(answer.from)) / 60_000);
  expect(points.reduce((a, p) => a + p.bytesIn, 0)).toBe(office.bytesIn);
  // The traffic sits in the minute of the latest record (or the one before, across a minute).
  expect(points.filter((p) => p.bytesIn > 0).at(-1)!.time).toBe(
    iso(Math.floor(latest / 60_000) * 60_000),
  );
  await serve.stop();
});

it("send --retime-to now-2m ends the latest record two minutes ago; a time it cannot read is refused", async () => {
  const port = await freeUdpPort();
  const before = Date.now();
  const sent = runCli(["send", "--retime-to", "now-2m", "--to", `127.0.0.1:${port}`, capture]);
  const after = Date.now();
  expect(sent.status, sent.stderr).toBe(0);
  const latest = Date.parse(/the latest record ends at (\S+)\n/.exec(sent.stdout)![1]!);
  // Whole seconds are moved: within a second of the time asked.
  expect(latest).toBeGreaterThan(before - 120_000 - 1000);
  expect(latest).toBeLessThanOrEqual(after - 120_000 + 1000);

  const bad = runCli([
    "send",
    "--retime-to",
    "yesterday-ish",
    "--to",
    `127.0.0.1:${port}`,
    capture,
  ]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/^flowtally send: --retime-to "yesterday-ish" is not ISO 8601/);
});
