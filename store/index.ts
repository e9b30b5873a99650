export type { DuckDbStoreOptions, TilePiece } from "./duckdb-store.js";
export { createDuckDbStore, tileRange } from "./duckdb-store.js";
