/** The periodic stats line: rates between samples, the level the builder says, one tick at a time. */
import { expect, it } from "vitest";
import { captureLog } from "../test/support/log-capture.js";
import { perSecond, startStatsLog } from "./stats-log.js";

it("logs a line per period with the rate since the sample before, at the builder's level", async () => {
  const { log, lines } = captureLog();
  let records = 0;
  let now = 0;
  const statsLog = startStatsLog({
    log,
    everyMs: 20,
    initial: { records: 0 },
    sample: () => ({ records }),
    line: (s, last, seconds) =>
      s.records - last.records > 100
        ? { level: "warn", fields: { records: s.records }, message: "a burst" }
        : {
            level: "info",
            fields: { recordsPerSecond: perSecond(s.records, last.records, seconds) },
            message: "stats",
          },
    clock: () => now,
  });
  try {
    records = 50;
    now = 10_000; // 10 s later: 5 records/s
    await waitForLines(lines);
    records = 500;
    now = 20_000;
    await waitForLines(lines, (l) => l.includes("a burst"));
  } finally {
    statsLog.stop();
  }
  const parsed = lines.map((l) => JSON.parse(l));
  expect(parsed[0]).toMatchObject({ level: 30, msg: "stats", recordsPerSecond: 5 });
  expect(parsed.at(-1)).toMatchObject({ level: 40, msg: "a burst", records: 500 });
});

async function waitForLines(lines: string[], found: (line: string) => boolean = () => true) {
  for (let t = 0; t < 400 && !lines.some(found); t++) await new Promise((r) => setTimeout(r, 5));
  expect(lines.some(found)).toBe(true);
}
