export type { DuckDbStoreOptions } from "./duckdb-store.js";
export { createDuckDbStore } from "./duckdb-store.js";
export type { TilePiece } from "./levels.js";
export { tileRange } from "./levels.js";
