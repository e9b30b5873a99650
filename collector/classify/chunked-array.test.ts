import { describe, expect, it } from "vitest";
import { Draws } from "../../test/support/same-model.js";
import { CHUNK_SIZE, ChunkedArray } from "./chunked-array.js";

/** Every way a reader sees the array, as plain arrays (get, iteration, map). */
function seen<T>(a: ChunkedArray<T>): { got: (T | undefined)[]; walked: T[]; mapped: T[] } {
  return {
    got: Array.from({ length: a.length }, (_, i) => a.get(i)),
    walked: [...a],
    mapped: a.map((v) => v),
  };
}

function expectSame<T>(a: ChunkedArray<T>, plain: readonly T[]): void {
  expect(a.length).toBe(plain.length);
  const { got, walked, mapped } = seen(a);
  expect(got).toEqual(plain);
  expect(walked).toEqual(plain);
  expect(mapped).toEqual(plain);
  expect(a.get(-1)).toBeUndefined();
  expect(a.get(plain.length)).toBeUndefined();
}

describe("ChunkedArray", () => {
  it("does what a plain array does under random writes, and leaves every snapshot as it was", () => {
    for (const seed of [1, 2, 3]) {
      const d = new Draws(seed);
      const a = new ChunkedArray<number>();
      const plain: number[] = [];
      /** Snapshots taken along the way, each with a copy of the plain array at the time. */
      const versions: Array<{ snap: ChunkedArray<number>; was: number[] }> = [];
      let next = 0;
      for (let round = 0; round < 60; round++) {
        // Runs of pushes and pops long enough to cross chunk boundaries both ways.
        const ops = d.int(3 * CHUNK_SIZE);
        const growth = d.rand() < 0.6;
        for (let k = 0; k < ops; k++) {
          const r = d.rand();
          if (r < 0.5 || plain.length === 0) {
            if (growth || plain.length === 0) {
              a.push(next);
              plain.push(next++);
            } else {
              expect(a.pop()).toBe(plain.pop());
            }
          } else if (r < 0.8) {
            const i = d.int(plain.length);
            a.set(i, next);
            plain[i] = next++;
          } else {
            expect(a.pop()).toBe(plain.pop());
          }
        }
        expectSame(a, plain);
        if (d.rand() < 0.5) versions.push({ snap: a.snapshot(), was: plain.slice() });
      }
      for (const { snap, was } of versions) expectSame(snap, was);
      expect(versions.length).toBeGreaterThan(10);
    }
  });

  it("pops to empty and grows again", () => {
    const a = ChunkedArray.from([1, 2, 3]);
    const s = a.snapshot();
    expect([a.pop(), a.pop(), a.pop(), a.pop()]).toEqual([3, 2, 1, undefined]);
    expectSame(a, []);
    a.push(9);
    expectSame(a, [9]);
    expectSame(s, [1, 2, 3]);
  });

  it("gives the same snapshot until a write, and a snapshot cannot be written", () => {
    const a = ChunkedArray.from(Array.from({ length: 3 * CHUNK_SIZE }, (_, i) => i));
    const s1 = a.snapshot();
    expect(a.snapshot()).toBe(s1);
    a.set(5, -5);
    const s2 = a.snapshot();
    expect(s2).not.toBe(s1);
    expect([s1.get(5), s2.get(5)]).toEqual([5, -5]);
    expect(() => s1.set(0, 1)).toThrow(/read-only/);
    expect(() => s1.push(1)).toThrow(/read-only/);
    expect(() => s1.pop()).toThrow(/read-only/);
    expect(() => a.set(3 * CHUNK_SIZE, 1)).toThrow(RangeError);
    expect(s1.length).toBe(3 * CHUNK_SIZE);
  });

  it("shares the chunks a version did not write", () => {
    // Seen through the entries' identity: an unwritten chunk's objects are the same, and a
    // written chunk's other objects too (a chunk copy copies pointers).
    const objs = Array.from({ length: 4 * CHUNK_SIZE }, (_, i) => ({ i }));
    const a = ChunkedArray.from(objs);
    const before = a.snapshot();
    a.set(CHUNK_SIZE + 1, { i: -1 });
    const after = a.snapshot();
    for (const i of [0, CHUNK_SIZE, CHUNK_SIZE + 2, 3 * CHUNK_SIZE + 7]) {
      expect(after.get(i)).toBe(before.get(i));
    }
    expect(after.get(CHUNK_SIZE + 1)).toEqual({ i: -1 });
    expect(before.get(CHUNK_SIZE + 1)).toBe(objs[CHUNK_SIZE + 1]);
  });
});
