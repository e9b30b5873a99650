/** The command line's logger: pino, JSON lines on stderr (stdout is for results). */
import { type Logger, pino } from "pino";

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { app: "flowtally" } }, pino.destination({ fd: 2, sync: true }));
}
