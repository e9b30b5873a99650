export type { PartialSum, PartialSumsOptions } from "./partial-sums.js";
export { Direction, PartialSums, UNATTRIBUTED } from "./partial-sums.js";
