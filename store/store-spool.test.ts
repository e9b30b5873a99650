import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isFlowtallyError } from "../schema/errors.js";
import {
  type ResponseTimeRowDelta,
  type SeriesRowDelta,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { key, T0 } from "../test/support/store-conformance.js";
import { createStoreSpool, decodeSpool, encodeSpool, type SpoolPlace } from "./store-spool.js";

const STORE = "embedded store (DuckDB) /var/lib/flowtally/ft.duckdb";
const series: SeriesRowDelta[] = [
  { ...key("acme", "in"), level: "1m", startMs: T0, bytes: 1.5, packets: 1, flows: 1 },
  { ...key("acme", "out"), level: "1d", startMs: T0, bytes: 2 ** 40, packets: 7, flows: 2 },
];
const responses: ResponseTimeRowDelta[] = [
  {
    ...zeroResponseTimeCounters(),
    transactions: 3,
    bins: [[12, 2]],
    level: "5m",
    startMs: T0,
    customer: "acme",
    site: "s1",
    link: "l1",
    trafficClass: "web",
  },
];

let dir: string;
let places: SpoolPlace[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "flowtally-spool-"));
  places = [
    { dir: join(dir, "store"), prefix: "ft.duckdb.spool-", shared: false },
    { dir: join(dir, "state"), prefix: "store-spool-", shared: true },
  ];
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("store spool files", () => {
  it("encode and decode give the rows back as they were", () => {
    const text = encodeSpool(STORE, { series, responses }, T0);
    expect(decodeSpool(text)).toEqual({ store: STORE, rows: { series, responses } });
  });

  it("decode refuses what is not a spool, saying why", () => {
    expect(() => decodeSpool("[1]")).toThrow(/version undefined/);
    expect(() => decodeSpool('{"v":1,"store":"x","series":{},"responses":[]}')).toThrow(
      /must be arrays/,
    );
    const bad = JSON.parse(encodeSpool(STORE, { series, responses }, T0));
    bad.series[1].startMs += 1;
    expect(() => decodeSpool(JSON.stringify(bad))).toThrow(/series: rows\[1\]\.startMs/);
    bad.series[1] = { level: "1m" };
    expect(() => decodeSpool(JSON.stringify(bad))).toThrow(/series\[1\]: not a row/);
  });

  it("writes to the first place that takes it, the next when it cannot (here: a file where its directory should be)", () => {
    const spool = createStoreSpool({ places, store: STORE, pid: 42 });
    const first = spool.write({ series, responses }, T0);
    expect(first).toBe(join(dir, "store", "ft.duckdb.spool-20261101T000000000Z-42.json"));
    writeFileSync(join(dir, "blocked"), "");
    const blocked = createStoreSpool({
      places: [{ ...places[0]!, dir: join(dir, "blocked") }, places[1]!],
      store: STORE,
      pid: 42,
    });
    const second = blocked.write({ series, responses: [] }, T0 + 1);
    expect(second).toBe(join(dir, "state", "store-spool-20261101T000000001Z-42.json"));
    expect(readdirSync(join(dir, "state"))).toEqual(["store-spool-20261101T000000001Z-42.json"]);

    const nowhere = createStoreSpool({
      places: [{ ...places[0]!, dir: join(dir, "blocked", "x") }],
      store: STORE,
    });
    let error: unknown;
    try {
      nowhere.write({ series, responses }, T0);
    } catch (e) {
      error = e;
    }
    expect(isFlowtallyError(error, "FT_STORE_SPOOL")).toBe(true);
    expect((error as Error).message).toMatch(
      /^3 rows the store did not take could not be spooled, and are lost: .*blocked\/x\/ft\.duckdb\.spool-.*ENOTDIR/,
    );
  });

  it("find: this store's files, oldest first; another store's, a broken one and a .writing one are reported and left", () => {
    const spool = createStoreSpool({ places, store: STORE });
    const late = spool.write({ series, responses }, T0 + 60_000);
    const early = spool.write({ series, responses: [] }, T0);
    mkdirSync(places[1]!.dir);
    const other = join(places[1]!.dir, "store-spool-1.json");
    writeFileSync(
      other,
      encodeSpool("InfluxDB (v1 API) http://x database y", { series, responses }, T0),
    );
    const broken = join(places[1]!.dir, "store-spool-2.json");
    writeFileSync(broken, "{");
    const stuck = join(places[0]!.dir, "ft.duckdb.spool-0.json.writing");
    writeFileSync(stuck, "");
    writeFileSync(join(places[0]!.dir, "ft.duckdb.spool-3.json.77.tmp"), "");

    const { paths, problems } = spool.find();
    expect(paths).toEqual([early, late]);
    expect(problems.map((p) => p.code)).toEqual([
      "FT_STORE_SPOOL",
      "FT_STORE_SPOOL",
      "FT_STORE_SPOOL",
    ]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/spool-0\.json\.writing: flowtally stopped while writing this spool/),
      expect.stringMatching(/store-spool-1\.json: a store spool of another store \(InfluxDB/),
      expect.stringMatching(/store-spool-2\.json: not a flowtally store spool/),
    ]);
    expect([existsSync(other), existsSync(broken), existsSync(stuck)]).toEqual([true, true, true]);
  });

  it("claim renames to .writing; done removes it; release puts back what the store did not take", () => {
    const spool = createStoreSpool({ places, store: STORE });
    const path = spool.write({ series, responses }, T0);
    const claimed = spool.claim(path);
    expect(claimed).toEqual({ path, series, responses });
    expect([existsSync(path), existsSync(`${path}.writing`)]).toEqual([false, true]);

    spool.release(claimed, { series, responses });
    expect([existsSync(path), existsSync(`${path}.writing`)]).toEqual([true, false]);

    const again = spool.claim(path);
    spool.release(again, { series: [], responses });
    expect(decodeSpool(readFileSync(path, "utf8")).rows).toEqual({ series: [], responses });
    expect(existsSync(`${path}.writing`)).toBe(false);

    spool.done(spool.claim(path));
    expect(readdirSync(places[0]!.dir)).toEqual([]);
  });

  it("claim refuses a file it cannot rename (so it could not remove it either) and leaves it", () => {
    const spool = createStoreSpool({ places, store: STORE });
    const path = spool.write({ series, responses }, T0);
    // A directory where the .writing name should go: the rename fails.
    mkdirSync(`${path}.writing`);
    mkdirSync(join(`${path}.writing`, "x"));
    let error: unknown;
    try {
      spool.claim(path);
    } catch (e) {
      error = e;
    }
    expect(isFlowtallyError(error, "FT_STORE_SPOOL")).toBe(true);
    expect((error as Error).message).toMatch(/could not be renamed before writing it/);
    expect(existsSync(path)).toBe(true);
    renameSync(`${path}.writing`, join(dir, "moved"));
  });
});
