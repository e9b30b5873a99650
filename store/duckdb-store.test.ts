import { copyFileSync, existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ErrorCode, isFlowtallyError } from "../schema/errors.js";
import type { SeriesRowDelta, SeriesStore } from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { mountTmpfs, setImmutable } from "../test/support/fault-fs.js";
import { describeLinkStatusConformance } from "../test/support/link-status-conformance.js";
import { describeSlaConformance } from "../test/support/sla-conformance.js";
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

async function open(name = "series.duckdb", slaLevel?: LevelLookup): Promise<SeriesStore> {
  const store = createDuckDbStore({
    path: join(dir, name),
    ...(slaLevel === undefined ? {} : { slaLevel }),
  });
  await store.start();
  started.push(store);
  return store;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-store-"));
});

/** Undone after the stores stop, before the directory goes (mounts, immutable files). */
const cleanups: Array<() => void> = [];

// This test's directory taken at once: a stop that outlasts a short hook timeout must never
// remove the next test's directory. A large store's checkpoint at stop takes seconds under load.
afterEach(async () => {
  const mine = dir;
  for (const s of started.splice(0)) await s.stop();
  for (const undo of cleanups.splice(0).reverse()) undo();
  await rm(mine, { recursive: true, force: true });
}, 120_000);

describeStoreConformance("embedded store (DuckDB)", { open: () => open() });
for (const t0 of Object.values(CALENDAR_T0S)) {
  describeStoreConformance("embedded store (DuckDB)", {
    open: () => open(),
    t0,
    randomDeltas: 5000,
  });
}

for (const t0 of [T0, CALENDAR_T0S.past, CALENDAR_T0S.y2100]) {
  describeSlaConformance("embedded store (DuckDB)", {
    open: (slaLevel) => open("series.duckdb", slaLevel),
    t0,
  });
}

describeLinkStatusConformance("embedded store (DuckDB)", {
  open: () => open("series.duckdb"),
  t0: T0,
});

describe("createDuckDbStore", () => {
  it("sampleRank over a year of 5-minute samples (105 120) is the rank-th highest", async () => {
    // ORDER BY … LIMIT 1 OFFSET $n answered the row below at this size, not on small sets.
    const store = await open();
    const t0 = Date.UTC(2025, 9, 1);
    const n = 105_120;
    const bytes = (s: number) => 10_000 + ((s * 7_919) % 500_000);
    for (let from = 0; from < n; from += 20_000) {
      const rows = [];
      for (let s = from; s < Math.min(n, from + 20_000); s++) {
        rows.push({
          customer: "c0",
          site: "s",
          link: "l",
          trafficClass: "web",
          direction: "in" as const,
          level: "5m" as const,
          startMs: t0 + s * 300_000,
          bytes: bytes(s),
          packets: 1,
          flows: 1,
        });
      }
      await store.addDeltas(rows);
    }
    const desc = Array.from({ length: n }, (_, s) => bytes(s)).sort((a, b) => b - a);
    const q = { customer: "c0", fromMs: t0, toMs: t0 + n * 300_000, level: "5m" as const };
    for (const rank of [1, 2, 5_257]) {
      expect(await store.sampleRank({ ...q, rank })).toEqual({
        bytesIn: desc[rank - 1],
        bytesOut: 0,
      });
    }
  }, 120_000);

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

/** What a call rejected with (fails the test if it resolved). */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: ErrorCode }> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (outcome === undefined) throw new Error("expected the call to fail; it succeeded");
  return outcome;
}

/** `n` distinct 1-minute rows of customer c0..c9 from T0 on: one byte each; `link` pads them. */
function minuteRows(n: number, first = 0, link = "l1"): SeriesRowDelta[] {
  return Array.from({ length: n }, (_, i) => ({
    ...key(`c${(first + i) % 10}`, "in", { link }),
    level: "1m" as const,
    startMs: T0 + (first + i) * MINUTE,
    bytes: 1,
    packets: 1,
    flows: 1,
  }));
}

/** Bytes in the 1-minute rows of c0..c9 (each row of minuteRows is one byte). */
async function storedMinuteBytes(store: SeriesStore): Promise<number> {
  let sum = 0;
  for (let c = 0; c < 10; c++) {
    const points = await store.traffic({
      customer: `c${c}`,
      fromMs: T0,
      toMs: T0 + 3650 * DAY,
      level: "1m",
    });
    for (const p of points) sum += p.bytesIn;
  }
  return sum;
}

describe("createDuckDbStore: file-system faults", () => {
  it("refuses writes once its file is deleted (FT_STORE_FILE), in problem() too, and stops cleanly", async () => {
    const path = join(dir, "gone.duckdb");
    const store = await open("gone.duckdb");
    await store.addDeltas(minuteRows(10));
    expect(store.problem()).toBeUndefined();
    rmSync(path);
    const problem = store.problem();
    expect(problem?.code).toBe("FT_STORE_FILE");
    expect(problem?.message).toContain(`${path}: the embedded store's file was deleted`);
    const refused = await rejection(store.addDeltas(minuteRows(5, 10)));
    expect(refused.code).toBe("FT_STORE_FILE");
    await expect(store.prune({ "1m": T0 })).rejects.toSatisfy((e: unknown) =>
      isFlowtallyError(e, "FT_STORE_FILE"),
    );
    await store.stop();
    // The checkpoint went to the deleted file and took its WAL along: nothing left behind.
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses writes once its file is replaced by another (FT_STORE_FILE)", async () => {
    const path = join(dir, "swapped.duckdb");
    const store = await open("swapped.duckdb");
    await store.addDeltas(minuteRows(10));
    copyFileSync(path, join(dir, "copy"));
    renameSync(join(dir, "copy"), path);
    expect(store.problem()?.message).toMatch(/was replaced by another file/);
    expect((await rejection(store.addDeltas(minuteRows(1, 10)))).code).toBe("FT_STORE_FILE");
  });

  it("a full disk: a failed write is FT_STORE_WRITE and writes nothing; a failed checkpoint at stop keeps every row in the WAL", async () => {
    const fs = mountTmpfs(join(dir, "small"), 2 * 1024 * 1024);
    cleanups.push(() => fs.close());
    const path = join(fs.dir, "full.duckdb");
    const store = createDuckDbStore({ path });
    await store.start();
    let written = 0;
    let failure: (Error & { code?: ErrorCode }) | undefined;
    for (let k = 0; k < 100 && failure === undefined; k++) {
      try {
        await store.addDeltas(minuteRows(5000, written));
        written += 5000;
      } catch (e) {
        failure = e as Error;
      }
    }
    expect(failure?.code, String(failure)).toBe("FT_STORE_WRITE");
    expect(failure?.message).toMatch(new RegExp(`^${path}: the embedded store could not write: `));
    expect(failure?.message).toContain("No space left on device (the disk is full)");
    expect(written).toBeGreaterThan(0);
    const stopped = await rejection(store.stop());
    expect(stopped.code).toBe("FT_STORE_WRITE");
    expect(stopped.message).toMatch(
      /at stop \(checkpoint\).*the disk is full.*full\.duckdb\.wal, which the next start applies/,
    );

    fs.resize(64 * 1024 * 1024);
    const again = createDuckDbStore({ path });
    await again.start();
    started.push(again);
    expect(await storedMinuteBytes(again)).toBe(written);
  });

  it("a file made read-only under it: writes into the WAL go on, the checkpoint at stop fails, the next open has every row", async () => {
    const path = join(dir, "ro.duckdb");
    const store = createDuckDbStore({ path });
    await store.start();
    await store.addDeltas(minuteRows(100));
    setImmutable([path], true);
    cleanups.push(() => setImmutable([path], false));
    await store.addDeltas(minuteRows(100, 100));
    const stopped = await rejection(store.stop());
    expect(stopped.code).toBe("FT_STORE_WRITE");
    expect(stopped.message).toMatch(
      /Operation not permitted \(the file or its directory cannot be written/,
    );
    setImmutable([path], false);
    const again = createDuckDbStore({ path });
    await again.start();
    started.push(again);
    expect(await storedMinuteBytes(again)).toBe(200);
  });

  it("a FATAL error (the automatic checkpoint at 16 MB of WAL cannot write the file): the store is down for good, and no row written before is lost", async () => {
    const path = join(dir, "fatal.duckdb");
    const store = createDuckDbStore({ path });
    await store.start();
    await store.addDeltas(minuteRows(1000));
    setImmutable([path], true);
    cleanups.push(() => setImmutable([path], false));
    let written = 1000;
    let failure: (Error & { code?: ErrorCode }) | undefined;
    // Long link names fill the WAL with fewer rows.
    const link = "l".repeat(1000);
    for (let k = 0; k < 200 && failure === undefined; k++) {
      try {
        await store.addDeltas(minuteRows(2000, written, link));
        written += 2000;
      } catch (e) {
        failure = e as Error;
      }
    }
    expect(failure?.code, String(failure)).toBe("FT_STORE_WRITE");
    expect(failure?.message).toMatch(
      /FATAL Error: Failed to create checkpoint.*Operation not permitted.*DuckDB refuses every later write on this database: restart flowtally/,
    );
    expect(store.problem()).toBe(failure);
    expect((await rejection(store.addDeltas(minuteRows(1, written)))).code).toBe("FT_STORE_WRITE");
    await store.stop(); // no checkpoint: DuckDB would refuse it
    setImmutable([path], false);
    const again = createDuckDbStore({ path });
    await again.start();
    started.push(again);
    expect(await storedMinuteBytes(again)).toBe(written);
  });

  it("a directory and files made read-only: a write fails as FT_STORE_WRITE and leaves nothing", async () => {
    const sub = join(dir, "ro");
    const path = join(sub, "ro.duckdb");
    const store = createDuckDbStore({ path });
    await store.start();
    await store.addDeltas(minuteRows(100));
    const files = [sub, ...readdirSync(sub).map((f) => join(sub, f))];
    setImmutable(files, true);
    cleanups.push(() => setImmutable(files, false));
    const refused = await rejection(store.addDeltas(minuteRows(100, 100)));
    expect(refused.code).toBe("FT_STORE_WRITE");
    expect(refused.message).toMatch(
      /^.*ro\.duckdb: the embedded store could not write: .*not permitted/,
    );
    await rejection(store.stop());
    setImmutable(files, false);
    const again = createDuckDbStore({ path });
    await again.start();
    started.push(again);
    expect(await storedMinuteBytes(again)).toBe(100);
  });
});

describe("createDuckDbStore({ readOnly: true })", () => {
  it("never creates a store: a missing path is FT_STORE_OPEN naming it, and nothing appears", async () => {
    const path = join(dir, "nowhere", "missing.duckdb");
    const error = await rejection(createDuckDbStore({ path, readOnly: true }).start());
    expect(error.code).toBe("FT_STORE_OPEN");
    expect(error.message).toContain(
      `${path}: the embedded store could not be opened: there is no store at this path`,
    );
    expect(existsSync(join(dir, "nowhere"))).toBe(false);
  });

  it("reads a store without writing to its file, refuses writes, and refuses a DuckDB file that is not a store", async () => {
    const path = join(dir, "kept.duckdb");
    const writer = createDuckDbStore({ path });
    await writer.start();
    await writer.addDeltas(atAllLevels(key("acme", "in"), T0, 7, 1, 1));
    await writer.stop();
    const before = statSync(path);

    const reader = createDuckDbStore({ path, readOnly: true });
    await reader.start();
    started.push(reader);
    expect(await reader.overview({ fromMs: T0, toMs: T0 + DAY })).toEqual([
      { customer: "acme", bytesIn: 7, bytesOut: 0, packetsIn: 1, packetsOut: 0, flows: 1 },
    ]);
    expect((await rejection(reader.addDeltas(minuteRows(1)))).code).toBe("FT_STORE_WRITE");
    await reader.stop();
    started.pop();
    const after = statSync(path);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(existsSync(`${path}.wal`)).toBe(false);

    // A DuckDB file without flowtally's tables (an empty one): named as such.
    const empty = join(dir, "empty.duckdb");
    const blank = createDuckDbStore({ path: ":memory:" });
    await blank.start();
    await blank.stop();
    const { DuckDBInstance } = await import("@duckdb/node-api");
    (await DuckDBInstance.create(empty)).closeSync();
    const notOurs = await rejection(createDuckDbStore({ path: empty, readOnly: true }).start());
    expect(notOurs.code).toBe("FT_STORE_OPEN");
    expect(notOurs.message).toMatch(/not a flowtally store: tables series_1m, .* missing/);
  });
});
