/**
 * `flowtally query overview|traffic|response-times --api URL` against a real `flowtally run`
 * (the built CLI, as a user runs it), and the same questions on the store path once run stopped:
 * the answers must agree, and agree with the API's own JSON.
 */

import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, get as httpGet } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { flows, freeUdpPort, runCli, runCliAsync, startRun } from "../test/support/cli-process.js";

const TOKEN = "query-api-test-token-0123456789";

/** run's config: one NetFlow input, customer office, an embedded store, an API with TOKEN. */
async function writeConfig(dir: string): Promise<{ config: string; port: number }> {
  const port = await freeUdpPort();
  const config = join(dir, "ft.yaml");
  writeFileSync(
    config,
    [
      `inputs: { netflow: [{ listen: "127.0.0.1:${port}" }] }`,
      // The capture was recorded in 2010: keep records of any age.
      "aggregation: { maxPast: forever }",
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      `decoder: { statePath: ${JSON.stringify(join(dir, "state.json"))} }`,
      `api: { listen: "127.0.0.1:0", operatorTokens: ["${TOKEN}"] }`,
      "customers:",
      "  - { id: office, name: Office, sites: [{ id: a, links: [{ id: l, prefixes: [172.16.11.0/24] }] }] }",
      "",
    ].join("\n"),
  );
  return { config, port };
}

const env = { FLOWTALLY_TOKEN: TOKEN };
const RANGE = ["--from", "2010-07-07T00:00:00Z", "--to", "2010-07-08T00:00:00Z"];
/** Where tcpreplay's test.pcap lies: its records are from 03:16:19 to 03:16:22. */
const HOUR = ["--from", "2010-07-07T03:00:00Z", "--to", "2010-07-07T04:00:00Z"];

function json(args: string[], e: Record<string, string> = env) {
  const r = runCli([...args, "--format", "json"], e);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/**
 * GET on a connection of its own: the runCli calls between two requests block this process's
 * event loop (spawnSync), so a pooled keep-alive connection could outlive the server's
 * keepAliveTimeout unnoticed and fail with "other side closed".
 */
function apiJson(apiUrl: string, target: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpGet(
      `${apiUrl}${target}`,
      { agent: false, headers: { authorization: `Bearer ${TOKEN}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => {
          try {
            expect(res.statusCode).toBe(200);
            resolve(JSON.parse(body));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on("error", reject);
  });
}

/**
 * An answer without `completeUntil`, which moves with the clock (a minute may begin between two
 * questions); the 2010 periods asked are complete either way, and their `complete` flags stay.
 */
function withoutClock(answer: unknown): unknown {
  const { completeUntil: _clock, ...rest } = answer as { completeUntil?: unknown };
  return rest;
}

describe("flowtally query --api, against a running flowtally run", () => {
  it("answers while run holds the store, as the store path does after it stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-query-api-"));
    const { config, port } = await writeConfig(dir);
    const run = await startRun(config);
    const api = ["--api", run.apiUrl];

    const sent = runCli([
      "send",
      "--to",
      `127.0.0.1:${port}`,
      flows("exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap"),
    ]);
    expect(sent.stdout).toMatch(/^sent 7 datagrams/);
    // Written at run's next ticks, within a second or two: asked until two answers a second
    // apart agree (the datagrams may reach the store over two ticks).
    let live: { rows: Array<Record<string, number | string>> } = { rows: [] };
    let previous = "";
    for (let i = 0; i < 30; i++) {
      live = json(["query", "overview", ...api, ...RANGE]);
      const seen = JSON.stringify(live.rows);
      if (
        seen === previous &&
        live.rows.some((r) => r.customer === "office" && Number(r.bytesIn) > 0)
      ) {
        break;
      }
      previous = seen;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const office = live.rows.find((r) => r.customer === "office")!;
    expect(office.bytesIn).toBeGreaterThan(50_000);

    // The store path is refused while run holds the file, and says what to do instead.
    const locked = runCli(["query", "overview", "--config", config, ...RANGE]);
    expect(locked.status).toBe(1);
    expect(locked.stderr).toMatch(
      /Conflicting lock.*; while flowtally run holds the store, ask its API: --api \(the address run logged as "query API listening"\), the token in FLOWTALLY_TOKEN \[FT_STORE_OPEN\]\n$/,
    );

    // --api answers as the API does, in every format.
    expect(withoutClock(live)).toEqual(
      withoutClock(
        await apiJson(
          run.apiUrl,
          "/api/v1/overview?from=2010-07-07T00:00:00Z&to=2010-07-08T00:00:00Z",
        ),
      ),
    );
    const csv = runCli(["query", "overview", ...api, ...RANGE, "--format", "csv"], env);
    expect(csv.stdout.split("\r\n")[1]).toBe(
      `office,Office,default,${office.bytesIn},${office.bytesOut},${office.packetsIn},${office.packetsOut},${office.flows},${office.bpsIn},${office.bpsOut}`,
    );
    // --fields: the columns given, in their order (as the API's fields= and the console's CSV).
    const chosen = runCli(
      ["query", "overview", ...api, ...RANGE, "--format", "csv", "--fields", "bpsOut,customer"],
      env,
    );
    expect(chosen.stdout.split("\r\n").slice(0, 2)).toEqual([
      "bpsOut,customer",
      `${office.bpsOut},office`,
    ]);
    // The day of RANGE ended long ago: its rates are over all of its 86 400 s.
    expect(office.bpsIn).toBe((Number(office.bytesIn) * 8) / 86_400);
    const table = runCli(["query", "overview", ...api, ...RANGE], env);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^from 2010-07-07T00:00:00Z to 2010-07-08T00:00:00Z\n/);
    expect(table.stdout).toMatch(
      new RegExp(`\\noffice +Office +default +${(Number(office.bytesIn) / 1000).toFixed(1)} kB `),
    );
    expect(json(["query", "overview", ...api, ...RANGE, "--top", "1"]).rows).toEqual([office]);

    const traffic = json(["query", "traffic", "office", ...api, ...HOUR, "--step", "5m"]);
    expect(withoutClock(traffic)).toEqual(
      withoutClock(
        await apiJson(
          run.apiUrl,
          "/api/v1/customers/office/traffic?from=2010-07-07T03:00:00Z&to=2010-07-07T04:00:00Z&step=5m",
        ),
      ),
    );
    expect(traffic.points).toHaveLength(12);
    expect(traffic.points[3]).toMatchObject({
      time: "2010-07-07T03:15:00Z",
      bytesIn: office.bytesIn,
      bpsIn: (Number(office.bytesIn) * 8) / 300,
    });
    const trafficCsv = runCli(
      ["query", "traffic", "office", ...api, ...HOUR, "--step", "5m", "--format", "csv"],
      env,
    ).stdout.split("\r\n");
    expect(trafficCsv[0]).toBe(
      "time,bytesIn,bytesOut,packetsIn,packetsOut,bpsIn,bpsOut,peakBpsIn,peakBpsOut,peakOver,complete",
    );
    const p = traffic.points[3];
    expect(trafficCsv[4]).toBe(
      [p.time, p.bytesIn, p.bytesOut, p.packetsIn, p.packetsOut, p.bpsIn, p.bpsOut]
        .concat([p.peakBpsIn, p.peakBpsOut, p.peakOver, p.complete])
        .join(","),
    );
    const trafficTable = runCli(["query", "traffic", "office", ...api, ...HOUR], env).stdout;
    expect(trafficTable).toMatch(
      /^office: from 2010-07-07T03:00:00Z to 2010-07-07T04:00:00Z, step 1h\n/,
    );
    expect(trafficTable).toMatch(
      /\n2010-07-07T03:00:00Z +\d+(\.\d+)? kB +\d+(\.\d+)? kB .* bit\/s/,
    );

    const times = json(["query", "response-times", "office", ...api, ...HOUR, "--step", "1h"]);
    expect(withoutClock(times)).toEqual(
      withoutClock(
        await apiJson(
          run.apiUrl,
          "/api/v1/customers/office/response-times?from=2010-07-07T03:00:00Z&to=2010-07-07T04:00:00Z&step=1h",
        ),
      ),
    );
    expect(times.transactions).toBe(0);

    // A parameter the API refuses is named by its option.
    const offStep = runCli(
      ["query", "traffic", "office", ...api, "--from", "2010-07-07T03:30:00Z", "--step", "1h"],
      env,
    );
    expect(offStep.status).toBe(1);
    expect(offStep.stderr).toBe(
      "flowtally: --from: from 2010-07-07T03:30:00Z is not on a 1h boundary (UTC) as step=1h needs; use 2010-07-07T03:00:00Z or 2010-07-07T04:00:00Z [FT_QUERY]\n",
    );
    const unknown = runCli(["query", "traffic", "offce", ...api, ...HOUR], env);
    expect(unknown.stderr).toBe('flowtally: no customer "offce" [FT_QUERY]\n');

    const stopped = await run.stop();
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^received 7 export datagrams, 45 records/);

    // The same questions on the store path, now that run let go of the file.
    const store = ["--config", config];
    expect(withoutClock(json(["query", "overview", ...store, ...RANGE], {}))).toEqual(
      withoutClock(live),
    );
    expect(
      withoutClock(json(["query", "traffic", "office", ...store, ...HOUR, "--step", "5m"], {})),
    ).toEqual(withoutClock(traffic));
    expect(
      withoutClock(json(["query", "response-times", "office", ...store, ...HOUR], {})),
    ).toEqual(withoutClock(times));
    // Some twenty commands, each a process of its own: 12 s alone, 32 s once in a loaded run.
  }, 90_000);

  it("takes the token from FLOWTALLY_TOKEN or --token-file, never from the command line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-query-api-"));
    const { config } = await writeConfig(dir);
    const run = await startRun(config);
    const overview = ["query", "overview", "--api", run.apiUrl, ...RANGE, "--format", "json"];

    expect(runCli(overview, env).status).toBe(0);
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    chmodSync(file, 0o600);
    const fromFile = runCli([...overview, "--token-file", file], {});
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toBe("");
    expect(JSON.parse(fromFile.stdout).rows[0].customer).toBe("office");
    // The file is taken over the environment.
    expect(runCli([...overview, "--token-file", file], { FLOWTALLY_TOKEN: "wrong" }).status).toBe(
      0,
    );
    chmodSync(file, 0o644);
    expect(runCli([...overview, "--token-file", file], {}).stderr).toMatch(
      /warning: --token-file .* can be read by other users \(chmod 600/,
    );

    const onCommandLine =
      "flowtally: --token is refused: every user of this host sees the command line (ps) and the shell keeps it in its history; put the token in the FLOWTALLY_TOKEN environment variable or in a file given with --token-file [FT_API_TOKEN]\n";
    for (const e of [{}, env]) {
      const r = runCli([...overview, "--token", TOKEN], e);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(onCommandLine);
      expect(r.stdout).toBe("");
    }
    const inUrl = runCli(
      ["query", "overview", "--api", run.apiUrl.replace("//", `//ft:${TOKEN}@`), ...RANGE],
      {},
    );
    expect(inUrl.status).toBe(1);
    expect(inUrl.stderr).toMatch(
      /--api: credentials in the URL are refused: .*\[FT_API_TOKEN\]\n$/,
    );

    const none = runCli(overview, {});
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(
      "flowtally: --api needs an operator token (one of api.operatorTokens): set FLOWTALLY_TOKEN or give --token-file FILE [FT_API_TOKEN]\n",
    );
    const missingFile = runCli([...overview, "--token-file", join(dir, "nope")], env);
    expect(missingFile.stderr).toMatch(/--token-file .*nope: ENOENT \[FT_API_TOKEN\]\n$/);

    const wrong = runCli(overview, { FLOWTALLY_TOKEN: "not-the-token-0123456789" });
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toBe("");
    expect(wrong.stderr).toBe(
      `flowtally: --api ${run.apiUrl}: the API refused the token: the bearer token is not one of api.operatorTokens (HTTP 401 FT_UNAUTHORIZED); check FLOWTALLY_TOKEN or --token-file against api.operatorTokens [FT_API_UNAUTHORIZED]\n`,
    );
    expect(wrong.stderr).not.toContain("not-the-token");
    await run.stop();
  });

  it("says so when nothing answers at --api, or what answers is not flowtally", async () => {
    const port = await freeUdpPort(); // a free UDP port: nothing listens on its TCP twin here
    const r = runCli(["query", "overview", "--api", `http://127.0.0.1:${port}`, ...RANGE], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `flowtally: --api http://127.0.0.1:${port}: connection refused (ECONNREFUSED); is flowtally run or serve listening there (api.listen)? [FT_API_UNREACHABLE]\n`,
    );
    // Another program on the port: a web server answering HTML, or redirecting elsewhere.
    const other = createServer((req, res) => {
      if (req.url?.startsWith("/moved/") === true) {
        res.writeHead(302, { location: "http://198.51.100.1/api/" }).end();
      } else {
        res.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>");
      }
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => {
      other.close();
    });
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const html = await runCliAsync(["query", "overview", "--api", otherUrl, ...RANGE], env);
    expect(html.status).toBe(1);
    expect(html.stderr).toBe(
      `flowtally: --api ${otherUrl}: not an answer of the flowtally API (HTTP 200, text/html) [FT_API_ERROR]\n`,
    );
    const moved = await runCliAsync(
      ["query", "overview", "--api", `${otherUrl}/moved/`, ...RANGE],
      env,
    );
    expect(moved.stderr).toBe(
      `flowtally: --api ${otherUrl}/moved: answered 302 redirecting to http://198.51.100.1/api/; give that URL to --api [FT_API_ERROR]\n`,
    );
    const notUrl = runCli(["query", "overview", "--api", "ftp://127.0.0.1:21", ...RANGE], env);
    expect(notUrl.stderr).toBe("flowtally: --api ftp:: expected http or https [FT_API_URL]\n");
    const both = runCli([
      "query",
      "overview",
      "--api",
      "127.0.0.1:1",
      "--config",
      "x.yaml",
      ...RANGE,
    ]);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/option '--api <url>' cannot be used with option '-c, --config/);
    const neither = runCli(["query", "overview", ...RANGE]);
    expect(neither.stderr).toMatch(/give --api URL .* or --config FILE .*\[FT_QUERY\]/);
  });
});
