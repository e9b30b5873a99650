import { describe, expect, it } from "vitest";
import { runSteps } from "../collector/classify/steps.js";
import { sortSteps } from "./sort-steps.js";

describe("sortSteps", () => {
  it("sorts as Array.prototype.sort does, stable, in steps of about one run", () => {
    // Keys with many ties (k % 97), the index to see stability; sizes around the run's multiples.
    for (const n of [0, 1, 7, 8, 9, 16, 17, 100, 1000]) {
      const list = Array.from({ length: n }, (_, i) => ({ key: (i * 7919) % 97, i }));
      const cmp = (a: { key: number }, b: { key: number }) => a.key - b.key;
      const want = [...list].sort(cmp);
      const steps = sortSteps(list, cmp, 8);
      let yields = 0;
      let r = steps.next();
      while (!r.done) {
        yields++;
        r = steps.next();
      }
      expect(r.value).toEqual(want);
      // Every run sorted, then every 8 elements placed: never more than 8 compared in a step.
      if (n > 8) expect(yields).toBeGreaterThanOrEqual(Math.floor(n / 8));
      expect(runSteps(sortSteps(list, cmp, 8)).map((x) => x.i)).toEqual(want.map((x) => x.i));
    }
  });
});
