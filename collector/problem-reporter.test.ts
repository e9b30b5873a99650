import { Writable } from "node:stream";
import { pino } from "pino";
import { expect, it } from "vitest";
import { emptyProblemCounts } from "./decoders/decode-problems.js";
import { createProblemReporter } from "./problem-reporter.js";

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

it("logs problem deltas at most once per interval", async () => {
  const { log, lines } = memoryLogger();
  const reporter = createProblemReporter(log, 10_000);
  const counts = emptyProblemCounts();
  for (let t = 0; t < 30_000; t += 10) {
    counts["set-length-invalid"]++;
    if (t % 1000 === 0) counts["data-held"]++;
    reporter.report(t, counts);
  }
  reporter.report(30_000, counts, true);
  await new Promise((r) => setImmediate(r));
  const warns = lines.filter((l) => l.msg === "flow decode problems");
  expect(warns.map((l) => (l.problems as Record<string, number>)["set-length-invalid"])).toEqual([
    1, 1000, 1000, 999,
  ]);
  expect(warns.every((l) => l.level === 40)).toBe(true);
  const infos = lines.filter((l) => l.msg === "flow decode events");
  expect(infos.reduce((a, l) => a + (l.problems as Record<string, number>)["data-held"]!, 0)).toBe(
    30,
  );
});

it("logs nothing when nothing new was counted", () => {
  const { log, lines } = memoryLogger();
  const reporter = createProblemReporter(log, 1);
  reporter.report(0, emptyProblemCounts(), true);
  reporter.report(5, emptyProblemCounts(), true);
  expect(lines).toHaveLength(0);
});
