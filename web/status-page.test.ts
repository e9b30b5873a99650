/**
 * The console's status page (`/console/status`) over a real started API whose `exporters` are
 * real decoders fed real captures (a NetFlow v9 capture, once as sent and once with a datagram
 * left out under another address, so that its sequence numbers show a gap, and an sFlow one):
 * every figure of the page equals the API's own JSON (`/api/v1/exporters`, `/api/v1/status`,
 * `/healthz`); loss and a silence of more than 5 minutes are marked, around the boundary; a
 * customer gets the 403 page; a process without decoders says so. Then Chromium: screenshots at
 * 390 px and 1920 px (to $FLOWTALLY_ARTIFACTS), no sideways scrolling of the page on the phone.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFlowDecoder } from "../collector/decoders/flow-decoder.js";
import { createSflowDecoder } from "../collector/decoders/sflow.js";
import type { ExportersSource } from "../query/exporters.js";
import { FlowBatch } from "../schema/flow-record.js";
import { ARTIFACTS, launchChromium, logIn } from "../test/support/browser.js";
import { captureDatagrams, decodeCapture } from "../test/support/decode-capture.js";
import { cookieOf } from "../test/support/http-client.js";
import { PASSWORD, startWebServer, TOKEN, type WebServer } from "../test/support/web-fixture.js";

const root = new URL("../", import.meta.url).pathname;
const flows = (p: string) => join(root, "test/fixtures/flows", p);
// EXPECTED.md: 4 datagrams, 1 template and 1 options template, 12 records, sampling 2000/4000.
const V9 = flows("netflow-v9/akvorado__multiplesamplingrates__combined.pcap");
// EXPECTED.md: 1 datagram, agent 172.16.0.3, 5 flow samples.
const SFLOW = flows("sflow/akvorado__data-1140.pcap");
/** A NetFlow v5 capture with consecutive sequence numbers, replayed with its datagram 5 left out. */
const V5 = flows("netflow-v5/logstash__nf5-valid-01.pcap");
const GAPPY = "192.0.2.9";
/** The records the left-out datagram's header counts: what its loss is (by hand, from the bytes). */
let leftOut = 0;
const FORM = { "content-type": "application/x-www-form-urlencoded" };

function decoders(): { source: ExportersSource; problems: Record<string, number> } {
  const flow = createFlowDecoder();
  decodeCapture(V9, {}, flow);
  const batch = new FlowBatch(256);
  captureDatagrams(V5).forEach((d, i) => {
    if (i === 5) leftOut = (d.payload[2]! << 8) | d.payload[3]!;
    else flow.decode(d.payload, GAPPY, d.timeMs, batch);
  });
  const v9 = captureDatagrams(V9);
  // A datagram cut short: a decode problem, counted by the decoder.
  flow.decode(v9[1]!.payload.slice(0, 30), "192.0.2.66", v9[1]!.timeMs, batch);
  const sflow = createSflowDecoder();
  for (const d of captureDatagrams(SFLOW)) sflow.decode(d.payload, d.exporter, d.timeMs, batch);
  const problems = Object.fromEntries(Object.entries(flow.problems).filter(([, n]) => n > 0));
  return {
    source: {
      flow: flow.exporterStats(),
      domains: flow.exporterDomains(),
      sflow: sflow.agentStats(),
    },
    problems,
  };
}

const { source, problems } = decoders();
const STATUS = {
  uptimeSeconds: 3600,
  datagrams: 9,
  records: 29,
  unattributedRecords: 4,
  futureRecords: 0,
  droppedRecords: { absurd: 2, tooOld: 0 },
  refusedDatagrams: 0,
  kernelDrops: 3,
  rcvbufErrors: null,
  undrainedDatagrams: 0,
  seriesRowsWritten: 1200,
  storeErrors: 1,
  pendingRows: 17,
  latePartials: 0,
  queue: null,
  wal: null,
  held: { count: 1, bytes: 300 },
  problems,
  inputs: [
    {
      listen: "0.0.0.0:2055",
      port: 2055,
      receiveBufferBytes: 4_194_304,
      datagrams: 9,
      refusedDatagrams: 0,
      kernelDrops: 3,
      undrained: 0,
    },
  ],
  capture: null,
  registry: { source: "database", appliedVersion: 42, appliedAt: "2026-11-02T11:58:00.000Z" },
};

let s: WebServer;
let bare: WebServer;
beforeAll(async () => {
  s = await startWebServer({
    process: {
      exporters: () => source,
      status: () => STATUS,
      health: () => [{ name: "store", code: "ECONNREFUSED" }],
    },
  });
  bare = await startWebServer();
});
afterAll(async () => {
  await s?.close();
  await bare?.close();
});

async function login(server: WebServer, user: string, area = "console") {
  const body = new URLSearchParams({ user, password: PASSWORD }).toString();
  const r = await server.http("POST", `/${area}/login`, { headers: FORM, raw: body });
  expect(r.status, r.text).toBe(303);
  return cookieOf(r);
}

async function api(path: string) {
  return (await s.http("GET", path, { headers: { authorization: `Bearer ${TOKEN}` } })).json;
}

/** The row `<tr data-exporter="…" data-protocol="…">` of a table of the page. */
function row(page: string, table: string, exporter: string, protocol?: string): string {
  const t = page.split(`id="${table}"`)[1]!.split("</table>")[0]!;
  const attrs = `data-exporter="${exporter}"${protocol === undefined ? "" : ` data-protocol="${protocol}"`}`;
  const start = t.indexOf(`<tr ${attrs}`);
  expect(start, `${table}: ${exporter}`).toBeGreaterThanOrEqual(0);
  return t.slice(start, t.indexOf("</tr>", start));
}

/** A cell of a row by its data-field: its attributes, and its text without markup. */
function cell(r: string, field: string): { attrs: string; text: string } {
  const m = new RegExp(`<td([^>]*data-field="${field}"[^>]*)>(.*?)</td>`, "s").exec(r);
  expect(m, field).not.toBeNull();
  return { attrs: m![1]!, text: m![2]!.replace(/<[^>]+>/g, "").trim() };
}

const n = (v: number) => v.toLocaleString("en-US");

interface ApiExporter {
  exporter: string;
  protocol: string;
  firstSeen: string;
  lastSeen: string;
  silentSeconds: number;
  datagrams: number;
  records: number;
  lostRecords: number;
  lostPackets: number;
  lossShare: number | null;
  sequenceResets: number;
  templates?: { known: number; learnt: number; redefined: number; withdrawn: number };
  domains?: Array<{
    version: number;
    domain: number;
    templates: Array<{ id: number; options: boolean }>;
    samplingRates: Array<{ sampler: number; rate: number }>;
  }>;
  samples?: { flow: number; counter: number; agentDrops: number };
}

describe("/console/status", () => {
  it("shows every exporter's figures as GET /api/v1/exporters has them", async () => {
    const cookie = await login(s, "ops");
    const r = await s.http("GET", "/console/status", { headers: { cookie } });
    expect(r.status).toBe(200);
    expect(r.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(r.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(r.text).not.toMatch(/\sstyle=/);
    expect(r.text).toContain('<a href="/console/status">Status</a>');
    const { exporters } = (await api("/api/v1/exporters")) as { exporters: ApiExporter[] };
    // The captures' own content (EXPECTED.md), so that the comparison is not of empty tables.
    expect(exporters.map((e) => [e.exporter, e.protocol])).toEqual([
      ["172.16.0.3", "sflow"],
      ["192.0.2.66", "netflow"],
      [GAPPY, "netflow"],
      ["238.0.0.1", "netflow"],
    ]);
    const v9 = exporters.find((e) => e.exporter === "238.0.0.1")!;
    expect([v9.datagrams, v9.records, v9.lostRecords]).toEqual([4, 12, 0]);
    const gappy = exporters.find((e) => e.exporter === GAPPY)!;
    expect(leftOut).toBeGreaterThan(0);
    expect(gappy.lostRecords).toBe(leftOut);
    expect(gappy.lossShare).toBe(leftOut / (gappy.records + leftOut));
    // An exporter without any loss: the sFlow agent's one datagram.
    expect(exporters[0]).toMatchObject({ lostRecords: 0, lostPackets: 0 });

    for (const e of exporters) {
      const tr = row(r.text, "exporters", e.exporter, e.protocol);
      expect(cell(tr, "firstSeen").attrs + tr).toContain(`datetime="${e.firstSeen}"`);
      expect(tr).toContain(`datetime="${e.lastSeen}"`);
      expect(cell(tr, "silentSeconds").attrs).toContain(`data-value="${e.silentSeconds}"`);
      expect(cell(tr, "datagrams").text).toBe(n(e.datagrams));
      expect(cell(tr, "records").text).toBe(n(e.records));
      expect(cell(tr, "lostRecords").text.replace(/!$/, "").trim()).toBe(n(e.lostRecords));
      expect(cell(tr, "lostPackets").text.replace(/!$/, "").trim()).toBe(n(e.lostPackets));
      expect(cell(tr, "sequenceResets").text).toBe(n(e.sequenceResets));
      const share = cell(tr, "lossShare");
      if (e.lossShare === null) expect(share.text).toBe("–");
      else {
        expect(share.attrs).toContain(`data-value="${e.lossShare}"`);
        expect(share.text).toBe(`${(e.lossShare * 100).toFixed(3)} %`);
      }
      // A non-zero loss is marked, a zero one is not.
      expect(cell(tr, "lostRecords").attrs.includes("alert"), e.exporter).toBe(e.lostRecords > 0);
      expect(cell(tr, "lossShare").attrs.includes("alert"), e.exporter).toBe(e.lostRecords > 0);
      expect(cell(tr, "lostPackets").attrs.includes("alert"), e.exporter).toBe(e.lostPackets > 0);
      expect(tr.includes(' class="flagged"'), e.exporter).toBe(
        e.lostRecords > 0 || e.lostPackets > 0 || e.silentSeconds > 300,
      );
      if (e.templates !== undefined) {
        const t = row(r.text, "templates", e.exporter);
        expect(cell(t, "known").text).toBe(String(e.templates.known));
        expect(cell(t, "learnt").text).toBe(String(e.templates.learnt));
        expect(cell(t, "redefined").text).toBe(String(e.templates.redefined));
        expect(cell(t, "withdrawn").text).toBe(String(e.templates.withdrawn));
      }
      for (const d of e.domains ?? []) {
        const dr = r.text
          .split('id="domains"')[1]!
          .split(`<tr data-exporter="${e.exporter}" data-domain="${d.domain}">`)[1]!
          .split("</tr>")[0]!;
        expect(cell(dr, "templates").text).toBe(
          String(d.templates.filter((t) => !t.options).length),
        );
        expect(cell(dr, "optionsTemplates").text).toBe(
          String(d.templates.filter((t) => t.options).length),
        );
        const shown = [...dr.matchAll(/data-sampler="(\d+)" data-rate="(\d+)"/g)].map((m) => ({
          sampler: Number(m[1]),
          rate: Number(m[2]),
        }));
        expect(shown).toEqual(d.samplingRates);
      }
      if (e.samples !== undefined) {
        const a = row(r.text, "sflow", e.exporter);
        expect(cell(a, "flow").text).toBe(n(e.samples.flow));
        expect(cell(a, "counter").text).toBe(n(e.samples.counter));
        expect(cell(a, "agentDrops").text).toBe(n(e.samples.agentDrops));
      }
    }
    // The v9 capture's sampling rates (EXPECTED.md: 2000 and 4000) are on the page.
    const v9Domain = r.text.split('id="domains"')[1]!.split('data-exporter="238.0.0.1"')[1]!;
    expect(v9Domain.split("</tr>")[0]).toMatch(/1:2,000.*1:4,000/s);
  });

  it("shows decode problems, counters, health and the registry version as the API has them", async () => {
    const cookie = await login(s, "ops");
    const page = (await s.http("GET", "/console/status", { headers: { cookie } })).text;
    const status = (await api("/api/v1/status")) as typeof STATUS;
    expect(Object.keys(status.problems).length).toBeGreaterThan(0);
    const shownProblems = [
      ...page
        .split('id="problems"')[1]!
        .split("</table>")[0]!
        .matchAll(/<tr data-reason="([^"]+)">.*?data-value="(\d+)"/gs),
    ].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(shownProblems)).toEqual(status.problems);
    const dropped = [
      ...page
        .split('id="dropped"')[1]!
        .split("</table>")[0]!
        .matchAll(/<tr data-reason="([^"]+)">.*?data-value="(\d+)"/gs),
    ].map((m) => [m[1], Number(m[2])]);
    expect(dropped).toEqual(Object.entries(status.droppedRecords).filter(([, v]) => v > 0));
    const counters = page.split('id="counters"')[1]!.split("</dl>")[0]!;
    expect(counters).toContain(`<dd data-key="kernelDrops">${n(status.kernelDrops)}</dd>`);
    expect(counters).toContain('<dd data-key="rcvbufErrors">unknown</dd>');
    expect(page.split('id="held"')[1]!.split("</dl>")[0]).toContain(
      `<dd data-key="count">${status.held.count}</dd>`,
    );
    expect(page.split('id="store"')[1]!.split("</dl>")[0]).toContain(
      `<dd data-key="pendingRows">${n(status.pendingRows)}</dd>`,
    );
    expect(page).toContain(
      `<strong data-field="appliedVersion">${status.registry.appliedVersion}</strong>`,
    );
    expect(page).toContain(`datetime="${status.registry.appliedAt}"`);
    const health = await s.http("GET", "/healthz");
    expect(health.status).toBe(503);
    const shownDown = [...page.matchAll(/data-down="([^"]+)"/g)].map((m) => m[1]);
    expect(shownDown).toEqual(health.json.down);
    expect(page).toContain('data-health="degraded"');
    expect(page).toContain("<code>ECONNREFUSED</code>");
  });

  it("marks an exporter silent for more than 5 minutes, not one silent for 5 minutes", async () => {
    const cookie = await login(s, "ops");
    const saved = s.clock.now;
    try {
      const agent = source.sflow[0]!;
      for (const [after, marked] of [
        [300_000, false],
        [301_000, true],
      ] as const) {
        s.clock.now = agent.lastSeenMs + after;
        const page = (await s.http("GET", "/console/status", { headers: { cookie } })).text;
        const { exporters } = (await api("/api/v1/exporters")) as { exporters: ApiExporter[] };
        const silent = cell(row(page, "exporters", "172.16.0.3", "sflow"), "silentSeconds");
        expect(silent.attrs).toContain(`data-value="${exporters[0]!.silentSeconds}"`);
        expect(exporters[0]!.silentSeconds).toBe(after / 1000);
        expect(silent.attrs.includes("alert")).toBe(marked);
      }
    } finally {
      s.clock.now = saved;
    }
  });

  it("gives a customer the 403 page, and says what a process without decoders lacks", async () => {
    const acme = await login(s, "acme-user", "portal");
    const refused = await s.http("GET", "/console/status", { headers: { cookie: acme } });
    expect(refused.status).toBe(403);
    expect(refused.headers["content-type"]).toMatch(/^text\/html/);
    expect(refused.text).not.toContain('id="exporters"');
    const anonymous = await s.http("GET", "/console/status");
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe("/console/login?next=%2Fconsole%2Fstatus");

    const cookie = await login(bare, "ops");
    const r = await bare.http("GET", "/console/status", { headers: { cookie } });
    expect(r.status).toBe(200);
    for (const part of ["exporters", "status", "health", "registry"]) {
      expect(r.text).toContain(`data-absent="${part}"`);
    }
    expect(
      (
        await bare.http("GET", "/api/v1/exporters", {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(404);
  });

  it("reads at 390 px and 1920 px in Chromium (screenshots), with no sideways scrolling", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${s.base}/console/login`);
      await logIn(page, "ops", PASSWORD, "**/console");
      await page.getByRole("link", { name: "Status" }).click();
      await page.waitForURL("**/console/status");
      expect(await page.locator("#exporters tbody tr").count()).toBe(4);
      for (const width of [390, 1920]) {
        await page.setViewportSize({ width, height: width === 390 ? 844 : 1080 });
        await page.waitForTimeout(150);
        // The page itself does not scroll sideways; wide tables scroll in their own box.
        expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(
          width,
        );
        // What the screen shows first (the exporters), then the whole page.
        await page.screenshot({ path: join(ARTIFACTS, `console-status-${width}-first.png`) });
        await page.screenshot({
          path: join(ARTIFACTS, `console-status-${width}.png`),
          fullPage: true,
        });
      }
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
