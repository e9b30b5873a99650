/**
 * A stable sort in steps (collector/classify/steps.ts): runs of `run` elements sorted by
 * Array.prototype.sort, then merged pairwise, yielding after every `run` elements placed, so that
 * sorting tens of thousands of objects by a comparator never holds the event loop for more than
 * a step. The order is Array.prototype.sort's (both are stable). Pure.
 */
import type { Steps } from "../collector/classify/steps.js";

export function* sortSteps<T>(
  list: readonly T[],
  compare: (a: T, b: T) => number,
  run = 2048,
): Steps<T[]> {
  let a: T[] = [];
  for (let at = 0; at < list.length; at += run) {
    const part = list.slice(at, at + run).sort(compare);
    for (const x of part) a.push(x);
    yield;
  }
  let b: T[] = new Array<T>(a.length);
  let placed = 0;
  for (let width = run; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid || j < hi) {
        // Left first on ties: stable.
        if (j >= hi || (i < mid && compare(a[i]!, a[j]!) <= 0)) b[k++] = a[i++]!;
        else b[k++] = a[j++]!;
        if (++placed % run === 0) yield;
      }
    }
    [a, b] = [b, a];
  }
  return a;
}
