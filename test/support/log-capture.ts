/** A pino logger whose lines the test can read (to check what was logged, and what was not). */
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  return { log, lines };
}
