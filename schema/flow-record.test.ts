import { describe, expect, it } from "vitest";
import { columnBit as col, FlowBatch } from "./flow-record.js";

/** Fills `n` rows the way a decoder does: every column it writes marked dirty. */
function write(batch: FlowBatch, n: number, overwrites: number): void {
  batch.overwrites = overwrites;
  batch.dirty |= col.bytes | col.src4 | col.samplingRate | col.applicationId;
  for (let k = 0; k < n; k++) {
    const i = batch.next();
    batch.bytes[i] = 100 + k;
    batch.src4[i] = 7;
    batch.samplingRate[i] = 10;
    batch.applicationId[i] = 3;
  }
  batch.overwrites = 0;
}

describe("FlowBatch", () => {
  it("claims rows at their defaults after clear(), except in the columns the writer overwrites", () => {
    const batch = new FlowBatch(64);
    write(batch, 5, 0);
    batch.clear();
    batch.overwrites = col.bytes;
    const i = batch.next();
    expect(i).toBe(0);
    expect(batch.src4[0]).toBe(0);
    expect(batch.samplingRate[0]).toBe(1);
    expect(batch.applicationId[0]).toBeNaN();
    // The other stale rows were reset as well, for this writer or the next.
    expect(batch.src4[4]).toBe(0);
    batch.bytes[0] = 1;
    batch.overwrites = 0;
    // A writer that overwrites nothing gets defaults everywhere, without touching row 0.
    expect(batch.next()).toBe(1);
    expect(batch.bytes[1]).toBe(0);
    expect(batch.bytes[4]).toBe(0);
    expect(batch.bytes[0]).toBe(1);
  });

  it("resets stale rows for a writer that overwrites nothing, also after several clears", () => {
    const batch = new FlowBatch(64);
    write(batch, 30, ALL);
    batch.clear();
    write(batch, 10, ALL);
    batch.clear();
    for (let k = 0; k < 30; k++) {
      const i = batch.next();
      expect([batch.bytes[i], batch.src4[i], batch.samplingRate[i]]).toEqual([0, 0, 1]);
      expect(batch.applicationId[i]).toBeNaN();
    }
  });

  it("clear() forgets the writer's promise", () => {
    const batch = new FlowBatch(64);
    write(batch, 3, 0);
    batch.overwrites = col.bytes | col.src4;
    batch.clear();
    expect(batch.overwrites).toBe(0);
    batch.next();
    expect(batch.bytes[0]).toBe(0);
    expect(batch.src4[0]).toBe(0);
  });
});

const ALL = col.bytes | col.src4 | col.samplingRate | col.applicationId;
