/**
 * SLA alerts' cost per minute (sla/class-minute-sums.ts, sla/incident-tracker.ts): `customers` ×
 * 3 classes of 1-minute response rows added, taken when complete and judged, for a few minutes
 * (one in ten customers breaching in minute 1, recovering in minute 2). Prints CPU milliseconds
 * per step. Given dist directories (builds of flowtally), runs each in turn, twice (A B A B),
 * so that builds compare under the same load; the events must be the same for every build.
 *
 * Then the component as `flowtally run` drives it (sla/alerts/sla-alerts.ts): each minute's rows
 * added in `HAND_OVERS` parts (a hand-over a second), then the minute judged (`judgeSliced`
 * where the build has it, else `judge`) with its state kept in a file (`sla.statePath`), while a
 * 1 ms timer measures the event loop's longest wait (the longest synchronous stretch: the judging,
 * the state's save, the garbage collector's pauses; ms of wall clock). The events of every build
 * must be equal here too.
 *
 *   npm run build && node dist/bench/sla-alerts.js [customers (default 100000)] [dist ...]
 *   node dist/bench/sla-alerts.js 100000 /tmp/base/dist dist
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { pino } from "pino";
import { validateConfig } from "../config/load-config.js";
import type { SlaAlerts } from "../sla/alerts/sla-alerts.js";
import type { ClassMinuteSums } from "../sla/class-minute-sums.js";
import type { IncidentTracker } from "../sla/incident-tracker.js";

const customers = Number(process.argv[2] ?? 100_000);
const builds = process.argv.length > 3 ? process.argv.slice(3) : [join(import.meta.dirname, "..")];
const cpu = () => process.cpuUsage().user / 1000;
const T0 = Date.UTC(2031, 2, 4, 10, 0);
const M = 60_000;

async function load(dist: string) {
  const from = (file: string) => pathToFileURL(join(resolve(dist), "sla", file)).href;
  const sums = (await import(from("class-minute-sums.js"))) as {
    ClassMinuteSums: new () => ClassMinuteSums;
  };
  const tracker = (await import(from("incident-tracker.js"))) as {
    IncidentTracker: new () => IncidentTracker;
  };
  return { sums: new sums.ClassMinuteSums(), tracker: new tracker.IncidentTracker() };
}

async function run(dist: string): Promise<string> {
  const { sums, tracker } = await load(dist);
  const rows: Array<{
    level: string;
    startMs: number;
    customer: string;
    site: string;
    link: string;
    trafficClass: string;
    transactions: number;
    good: number;
  }> = [];
  for (let c = 0; c < customers; c++) {
    for (const trafficClass of ["web", "voip", "default"]) {
      rows.push({
        level: "1m",
        startMs: T0,
        customer: `c${c}`,
        site: "s",
        link: "l",
        trafficClass,
        transactions: 100,
        good: 100,
      });
    }
  }
  const seen: string[] = [];
  for (let k = 0; k < 3; k++) {
    for (const r of rows) {
      r.startMs = T0 + k * M;
      r.good = k === 1 && r.customer.endsWith("7") ? 50 : 100;
    }
    let t = cpu();
    sums.add(rows);
    const add = cpu() - t;
    t = cpu();
    const minutes = sums
      .take(T0 + (k + 1) * M)
      .map((m) => Object.assign(m, { targetPercent: 95, thresholdMs: 200 }));
    const take = cpu() - t;
    t = cpu();
    const events = tracker.judge(T0 + (k + 1) * M, minutes);
    const judge = cpu() - t;
    seen.push(...events.map((e) => `${e.event} ${e.incident.id}`));
    console.log(
      `${dist} minute ${k}: ${rows.length} rows: add ${add.toFixed(0)} ms, take ${take.toFixed(0)} ms, judge ${judge.toFixed(0)} ms, all ${(add + take + judge).toFixed(0)} ms CPU; ${events.length} events; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  return seen.join("\n");
}

/** The minute's rows added per hand-over (`flowtally run` hands over every few seconds). */
const HAND_OVERS = 60;

/** The longest gap between two ticks of a 1 ms timer while it runs. */
function loopWatch() {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    max = Math.max(max, t - last);
    last = t;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

async function component(dist: string): Promise<string> {
  const from = pathToFileURL(join(resolve(dist), "sla", "alerts", "sla-alerts.js")).href;
  const { createSlaAlerts } = (await import(from)) as {
    createSlaAlerts: typeof import("../sla/alerts/sla-alerts.js").createSlaAlerts;
  };
  const dir = mkdtempSync(join(tmpdir(), "ft-bench-sla-alerts-"));
  const cfg = validateConfig({
    classes: [{ id: "web" }, { id: "voip" }],
    defaultTotalDelayThreshold: "200ms",
    defaultServiceLevelTarget: 95,
    sla: { statePath: join(dir, "sla-alerts.json") },
  });
  const alerts: SlaAlerts & { judgeSliced?: SlaAlerts["judgeSliced"] } = createSlaAlerts(cfg, {
    log: pino({ level: "silent" }),
    serviceTypeOf: () => undefined,
  });
  const seen: string[] = [];
  for (let k = 0; k < 3; k++) {
    const rows = [];
    for (let c = 0; c < customers; c++) {
      for (const trafficClass of ["web", "voip", "default"]) {
        const good = k === 1 && String(c).endsWith("7") ? 50 : 100;
        rows.push({
          level: "1m",
          startMs: T0 + k * M,
          customer: `c${c}`,
          site: "s",
          link: "l",
          trafficClass,
          transactions: 100,
          good,
        });
      }
    }
    let addMax = 0;
    const part = Math.ceil(rows.length / HAND_OVERS);
    for (let at = 0; at < rows.length; at += part) {
      const t = performance.now();
      alerts.addDeltas(rows.slice(at, at + part));
      addMax = Math.max(addMax, performance.now() - t);
      await new Promise((r) => setImmediate(r));
    }
    // Judged with the loop watched, until the state is saved (the next minute's first hand-over
    // comes a second later: the save is waited for that long at most).
    const watch = loopWatch();
    await new Promise((r) => setTimeout(r, 5));
    const t = performance.now();
    let slice = 0;
    let resumed = t;
    const events =
      alerts.judgeSliced === undefined
        ? alerts.judge(T0 + (k + 1) * M)
        : await alerts.judgeSliced(T0 + (k + 1) * M, {
            between: async () => {
              slice = Math.max(slice, performance.now() - resumed);
              await new Promise((r) => setImmediate(r));
              resumed = performance.now();
            },
          });
    slice = Math.max(slice, performance.now() - resumed);
    const wall = performance.now() - t;
    await new Promise((r) => setTimeout(r, 1000));
    const longest = watch.stop();
    seen.push(...events.map((e) => `${e.event} ${e.incident.id}`));
    console.log(
      `${dist} component minute ${k}: ${rows.length} rows, add per hand-over (1/${HAND_OVERS}) max ${addMax.toFixed(0)} ms; ` +
        `judge ${wall.toFixed(0)} ms wall, ${alerts.judgeSliced === undefined ? "synchronous" : "sliced"}, ` +
        `longest event-loop wait (judge and save) ${longest.toFixed(1)} ms, longest slice of the judging ${alerts.judgeSliced === undefined ? wall.toFixed(0) : slice.toFixed(1)} ms; ${events.length} events`,
    );
  }
  await alerts.stop(0);
  rmSync(dir, { recursive: true, force: true });
  return seen.join("\n");
}

let first: string | undefined;
let firstComponent: string | undefined;
for (let round = 0; round < (builds.length > 1 ? 2 : 1); round++) {
  for (const dist of builds) {
    const events = await run(dist);
    first ??= events;
    if (events !== first) throw new Error(`${dist}: other events than ${builds[0]}`);
    const componentEvents = await component(dist);
    firstComponent ??= componentEvents;
    if (componentEvents !== firstComponent) {
      throw new Error(`${dist}: other component events than ${builds[0]}`);
    }
  }
}
