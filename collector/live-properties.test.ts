import { describe, expect, it } from "vitest";
import { withLiveProperties } from "./live-properties.js";

describe("withLiveProperties", () => {
  it("reads the current value, is enumerable and cannot be assigned", () => {
    let n = 1;
    const o = withLiveProperties({ add: () => n++ }, { size: () => n });
    expect(o.size).toBe(1);
    o.add();
    expect(o.size).toBe(2);
    expect(Object.keys(o)).toEqual(["add", "size"]);
    expect(() => {
      (o as { size: number }).size = 5;
    }).toThrow(TypeError);
  });
});
