/**
 * @duckdb/node-api's values for the embedded store's files (store/duckdb-*.ts), loaded once.
 */
import { createRequire } from "node:module";
import type * as DuckDB from "@duckdb/node-api";

// Required, not imported by name: @duckdb/node-api is CommonJS whose index re-exports 180 files,
// and a named import from ESM has Node scan each file's source for its exports first
// (cjs-module-lexer): 0.2-0.3 s of `run`'s start-up on this VM.
export const { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBInstance, LIST, listValue, VARCHAR } =
  createRequire(import.meta.url)("@duckdb/node-api") as typeof DuckDB;
