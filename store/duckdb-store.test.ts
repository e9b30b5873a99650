import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isFlowtallyError } from "../schema/errors.js";
import type { SeriesStore } from "../schema/series-store.js";
import {
  atAllLevels,
  CALENDAR_T0S,
  describeStoreConformance,
  key,
  T0,
} from "../test/support/store-conformance.js";
import { createDuckDbStore } from "./duckdb-store.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

let dir: string;
const started: SeriesStore[] = [];

async function open(name = "series.duckdb"): Promise<SeriesStore> {
  const store = createDuckDbStore({ path: join(dir, name) });
  await store.start();
  started.push(store);
  return store;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-store-"));
});

afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
  await rm(dir, { recursive: true, force: true });
});

describeStoreConformance("embedded store (DuckDB)", { open: () => open() });
for (const t0 of Object.values(CALENDAR_T0S)) {
  describeStoreConformance("embedded store (DuckDB)", {
    open: () => open(),
    t0,
    randomDeltas: 5000,
  });
}

describe("createDuckDbStore", () => {
  it("keeps the data across stop and a new store on the same path", async () => {
    const path = join(dir, "nested", "deeper", "series.duckdb");
    const first = createDuckDbStore({ path });
    await first.start();
    await first.start(); // idempotent
    await first.addDeltas(atAllLevels(key("acme", "out"), T0 + 90 * MINUTE, 2 ** 40, 5, 1));
    await first.stop();
    await first.stop(); // idempotent
    await expect(first.overview({ fromMs: T0, toMs: T0 + DAY })).rejects.toThrow(/not started/);

    const second = createDuckDbStore({ path });
    await second.start();
    started.push(second);
    await second.addDeltas(atAllLevels(key("acme", "out"), T0 + 90 * MINUTE, 1, 0, 0));
    expect(await second.overview({ fromMs: T0, toMs: T0 + DAY })).toEqual([
      {
        customer: "acme",
        bytesIn: 0,
        bytesOut: 2 ** 40 + 1,
        packetsIn: 0,
        packetsOut: 5,
        flows: 1,
      },
    ]);
    expect(
      await second.traffic({ customer: "acme", fromMs: T0, toMs: T0 + DAY, level: "1h" }),
    ).toEqual([
      { timeMs: T0 + HOUR, bytesIn: 0, bytesOut: 2 ** 40 + 1, packetsIn: 0, packetsOut: 5 },
    ]);
  });

  it("stores and reads back verbatim what line protocol cannot carry (newline, backslash, NUL)", async () => {
    // The conformance suite's hostile strings, plus the characters only this store accepts.
    const store = await open();
    const k = {
      customer: "back\\slash'; --",
      site: "two\nlines",
      link: "$1 ' \" \\ \n\t%_*",
      trafficClass: "nul \u0000 end",
      direction: "in" as const,
    };
    await store.addDeltas(atAllLevels(k, T0, 42, 1, 1));
    expect(await store.readSeries([{ ...k, level: "1d", startMs: T0 }])).toEqual([
      { ...k, level: "1d", startMs: T0, bytes: 42, packets: 1, flows: 1 },
    ]);
    expect(await store.traffic({ ...k, fromMs: T0, toMs: T0 + DAY, level: "1m" })).toEqual([
      { timeMs: T0, bytesIn: 42, bytesOut: 0, packetsIn: 1, packetsOut: 0 },
    ]);
  });

  it("reports open failures as FT_STORE_OPEN naming the path", async () => {
    const notADir = join(dir, "file");
    await writeFile(notADir, "x");
    const bad = createDuckDbStore({ path: join(notADir, "series.duckdb") });
    const error = await bad.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFlowtallyError(error, "FT_STORE_OPEN")).toBe(true);
    expect((error as Error).message).toContain(join(notADir, "series.duckdb"));

    const garbage = join(dir, "garbage.duckdb");
    await writeFile(garbage, "not a database ".repeat(1000));
    await expect(createDuckDbStore({ path: garbage }).start()).rejects.toSatisfy((e: unknown) =>
      isFlowtallyError(e, "FT_STORE_OPEN"),
    );

    // DuckDB would let one process open a file twice; the store refuses.
    await open("twice.duckdb");
    const again = createDuckDbStore({ path: join(dir, "twice.duckdb") });
    await expect(again.start()).rejects.toThrow(/another store of this process has it open/);
  });
});
