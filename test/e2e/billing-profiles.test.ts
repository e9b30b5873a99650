/**
 * Billing profile versions in running processes (issue 18, docs/sla.md "Profile versions"):
 * `run` on the embedded registry stores a version at start, another when a link's commit rate is
 * PATCHed through its API, keeps both across a restart (no new one), and a third at a reload
 * (SIGHUP's path) that changes the service type's availability target; `serve` (registry.source:
 * config) applies a reload to its API's customers and billing. The versions are dated by the
 * processes' clocks, so the assertions name no date: the report's range is the hour around now.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { startServe } from "../../cli/aggregate-command.js";
import { startRun } from "../../cli/run-command.js";
import { createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import type { Config } from "../../schema/config.js";
import { oneBoxConfig } from "../support/run-config.js";
import { eventually } from "../support/scale-out.js";

const TOKEN = "billing-profiles-test-token-0123";
const silent = pino({ level: process.env.DEBUG_LOG ?? "silent" });
const MIN = 60_000;

function baseConfig(dir: string, extra: Record<string, unknown>): Config {
  return oneBoxConfig(dir, TOKEN, extra);
}

const serviceTypes = (availabilityTarget: number) => [
  { id: "business", billing: { availabilityTarget } },
];

interface Report {
  billing: { availabilityTarget?: number };
  profiles: Array<{ from: string; to: string; commitRates: Record<string, number> }>;
  links: Array<{ site: string; link: string; commitRates: Array<{ commitRate: number | null }> }>;
}

/**
 * The customer's SLA report over the hour before and after the test's start (whole minutes): one
 * range for the whole test, so that two reports compared across a minute's end cut their first and
 * last versions alike.
 */
async function report(port: number, customer: string): Promise<Report> {
  const range = `from=${new Date(testStart - 60 * MIN).toISOString()}&to=${new Date(testStart + 60 * MIN).toISOString()}`;
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/customers/${customer}/sla?${range}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const text = await r.text();
  if (process.env.DEBUG_LOG !== undefined) console.log(text);
  expect(r.status, text).toBe(200);
  return JSON.parse(text) as Report;
}

/** The minute the running test began (set before each). */
let testStart = 0;

describe("billing profile versions in run and serve", () => {
  beforeEach(() => {
    testStart = Math.floor(Date.now() / MIN) * MIN;
  });

  it("run: a version at start, one per PATCHed commit rate, kept across a restart, one per reload", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-profiles-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const registryPath = join(dir, "registry.duckdb");
    const seed = createDuckDbRegistry({ path: registryPath });
    await seed.start();
    await seed.apply(
      [
        { op: "add", customer: "a", record: { name: "A", serviceType: "business" } },
        { op: "add", customer: "a", site: "s", record: {} },
        {
          op: "add",
          customer: "a",
          site: "s",
          link: "l",
          record: { prefixes: ["192.0.2.0/28"], commitRate: 1_000_000 },
        },
      ],
      { actor: "test" },
    );
    await seed.stop();
    const cfg = (target: number) =>
      baseConfig(dir, {
        registry: { source: "database", embedded: { path: registryPath } },
        serviceTypes: serviceTypes(target),
      });

    let running = await startRun(cfg(99), silent, { tickMs: 100 });
    let stopped = false;
    onTestFinished(async () => {
      if (!stopped) await running.stop();
    });
    let port = running.api.port;
    await eventually("the first version stored", async () => {
      const r = await report(port, "a");
      return r.profiles.length === 1 && r.profiles[0]!.commitRates["s/l"] === 1_000_000;
    });

    const patched = await fetch(`http://127.0.0.1:${port}/api/v1/customers/a/sites/s/links/l`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ commitRate: "2M" }),
    });
    expect(patched.status, await patched.text()).toBe(200);
    await eventually("the PATCH stored as a version", async () => {
      const r = await report(port, "a");
      return r.profiles.length === 2;
    });
    const before = await report(port, "a");
    expect(before.profiles.map((p) => p.commitRates)).toEqual([
      { "s/l": 1_000_000 },
      { "s/l": 2_000_000 },
    ]);
    expect(before.links[0]!.commitRates.map((x) => x.commitRate)).toEqual([1_000_000, 2_000_000]);
    expect(before.billing.availabilityTarget).toBe(99);

    // A restart with the same config and registry: the history as it was, no new version.
    await running.stop();
    running = await startRun(cfg(99), silent, { tickMs: 100 });
    port = running.api.port;
    // Give the start's recorder its turn (it writes nothing: the profile is the stored one).
    await new Promise((r) => setTimeout(r, 500));
    expect((await report(port, "a")).profiles).toEqual(before.profiles);

    // A reload (what SIGHUP does) that changes the service type's availability target.
    running.reload(cfg(95));
    await eventually("the reload stored as a version", async () => {
      const r = await report(port, "a");
      return r.profiles.length === 3;
    });
    const after = await report(port, "a");
    expect(after.billing.availabilityTarget).toBe(95);
    expect(after.profiles.slice(0, 2)).toEqual([
      before.profiles[0],
      { ...before.profiles[1], to: after.profiles[2]!.from },
    ]);
    await running.stop();
    stopped = true;
  }, 60_000);

  it("serve: a reload reaches the API's customers and their billing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-profiles-serve-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const customer = (id: string) => ({
      id,
      name: id.toUpperCase(),
      serviceType: "business",
      sites: [{ id: "s", links: [{ id: "l", prefixes: [`192.0.2.${id === "a" ? 0 : 16}/28`] }] }],
    });
    const cfg = (target: number, ids: string[]) =>
      baseConfig(dir, { serviceTypes: serviceTypes(target), customers: ids.map(customer) });
    const serve = await startServe(cfg(99, ["a"]), silent);
    onTestFinished(() => serve.stop());
    const port = serve.api.port;
    const customers = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/customers`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await r.json()) as { items?: Array<{ id: string }> };
      return (body.items ?? []).map((c) => c.id);
    };
    expect(await customers()).toEqual(["a"]);
    expect((await report(port, "a")).billing.availabilityTarget).toBe(99);

    serve.reload?.(cfg(95, ["a", "b"]));
    expect(await customers()).toEqual(["a", "b"]);
    expect((await report(port, "b")).billing.availabilityTarget).toBe(95);
    await eventually("the reload stored as a version", async () => {
      const r = await report(port, "a");
      return r.profiles.length === 2 && r.billing.availabilityTarget === 95;
    });
  }, 60_000);
});
