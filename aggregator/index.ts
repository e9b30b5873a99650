export type { LevelName, RollupStats, SeriesDelta } from "./rollup.js";
export { LEVELS, percentile95, Rollup } from "./rollup.js";
