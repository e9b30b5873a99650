/**
 * SLA alerts' cost per minute (sla/class-minute-sums.ts, sla/incident-tracker.ts): `customers` ×
 * 3 classes of 1-minute response rows added, taken when complete and judged, for a few minutes
 * (one in ten customers breaching in minute 1, recovering in minute 2). Prints CPU milliseconds
 * per step. Given dist directories (builds of flowtally), runs each in turn, twice (A B A B),
 * so that builds compare under the same load; the events must be the same for every build.
 *
 *   npm run build && node dist/bench/sla-alerts.js [customers (default 100000)] [dist ...]
 *   node dist/bench/sla-alerts.js 100000 /tmp/base/dist dist
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
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

let first: string | undefined;
for (let round = 0; round < (builds.length > 1 ? 2 : 1); round++) {
  for (const dist of builds) {
    const events = await run(dist);
    first ??= events;
    if (events !== first) throw new Error(`${dist}: other events than ${builds[0]}`);
  }
}
