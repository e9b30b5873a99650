/**
 * Test support: the series stores the API tests run every case on (an embedded DuckDB file in a
 * temp dir, and a real influxd started for the test), each opened fresh and closed after.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { validateConfig } from "../../config/load-config.js";
import type { SeriesStore } from "../../schema/series-store.js";
import type { LevelLookup } from "../../sla/config-levels.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { createInfluxStore } from "../../store/influx-store.js";
import { influxql, startInfluxd } from "./servers.js";

export interface ApiStore {
  name: string;
  open(): Promise<{ store: SeriesStore; close(): Promise<void> }>;
}

export function apiStores(options: { log: Logger; slaLevel?: LevelLookup }): ApiStore[] {
  const sla = options.slaLevel === undefined ? {} : { slaLevel: options.slaLevel };
  return [
    {
      name: "embedded",
      async open() {
        const dir = await mkdtemp(join(tmpdir(), "flowtally-api-"));
        const store = createDuckDbStore({ path: join(dir, "series.duckdb"), ...sla });
        await store.start();
        return {
          store,
          async close() {
            await store.stop();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: "InfluxDB v1",
      async open() {
        const influxd = await startInfluxd();
        await influxql(influxd, "CREATE DATABASE flowtally");
        const url = `http://127.0.0.1:${influxd.port}`;
        const store = createInfluxStore(
          validateConfig({ store: { influx: { api: "v1", url, database: "flowtally" } } }).store
            .influx!,
          { log: options.log, ...sla },
        );
        await store.start();
        return {
          store,
          async close() {
            await store.stop();
            await influxd.close();
          },
        };
      },
    },
  ];
}
