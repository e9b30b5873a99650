/**
 * SLA alerts' cost per minute (sla/class-minute-sums.ts, sla/incident-tracker.ts): `customers` ×
 * 3 classes of 1-minute response rows added, taken when complete and judged, for a few minutes
 * (one in ten customers breaching in minute 1). Prints CPU milliseconds per step.
 *
 *   npm run build && node dist/bench/sla-alerts.js [customers (default 100000)]
 */
import { ClassMinuteSums } from "../sla/class-minute-sums.js";
import { IncidentTracker } from "../sla/incident-tracker.js";

const customers = Number(process.argv[2] ?? 100_000);
const cpu = () => process.cpuUsage().user / 1000;
const T0 = Date.UTC(2031, 2, 4, 10, 0);
const M = 60_000;
const sums = new ClassMinuteSums();
const tracker = new IncidentTracker();
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
  console.log(
    `minute ${k}: ${rows.length} rows: add ${add.toFixed(0)} ms, take ${take.toFixed(0)} ms, judge ${judge.toFixed(0)} ms CPU; ${events.length} events; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
}
