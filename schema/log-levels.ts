/** pino's levels, quietest last: `--log-level` and the config's `log.level` take one of them. */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];
