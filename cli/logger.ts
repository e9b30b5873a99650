/** The command line's logger: pino, JSON lines on stderr (stdout is for results). */
import { type Logger, pino } from "pino";
import type { LogLevel } from "../schema/log-levels.js";

export { type LogLevel, logLevels } from "../schema/log-levels.js";

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { app: "flowtally" } }, pino.destination({ fd: 2, sync: true }));
}
