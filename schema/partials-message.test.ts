import { describe, expect, it } from "vitest";
import { createRng } from "../test/fuzz/mutate.js";
import {
  BadPartialsMessage,
  checkPartialsMessage,
  PARTIALS_MESSAGE_VERSION,
  type PartialsMessage,
  responseCounters,
  shardOf,
} from "./partials-message.js";

const SHARDS = 16;
/** A customer whose series live in another shard than acme's. */
const OTHER = ["zeta", "omega", "beta", "gamma"].find(
  (c) => shardOf(c, SHARDS) !== shardOf("acme", SHARDS),
)!;

function valid(): PartialsMessage {
  return {
    v: PARTIALS_MESSAGE_VERSION,
    id: "edge1.abc.7",
    collector: "edge1",
    startMs: Date.UTC(2026, 10, 1),
    shard: shardOf("acme", SHARDS),
    traffic: [["acme", "hq", "fiber", "web", "in", 1500, 3, 1]],
    responses: [["acme", "hq", "fiber", "web", [1, 1, 0, 900, 1, 100, 1, 2000], [12, 1]]],
  };
}

describe("shardOf", () => {
  it("is stable, in range, and spreads customers over the shards", () => {
    // FNV-1a 32-bit test vectors of the FNV reference (isthe.com/chongo/tech/comp/fnv).
    expect(shardOf("a", 2 ** 32)).toBe(0xe40c292c);
    expect(shardOf("foobar", 2 ** 32)).toBe(0xbf9cf968);
    expect(shardOf("foobar", 10)).toBe(0xbf9cf968 % 10);
    const counts = new Array<number>(SHARDS).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf(`c${String(i).padStart(5, "0")}`, SHARDS)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    for (const n of counts) expect(n).toBeLessThan(1200);
  });
});

describe("checkPartialsMessage", () => {
  it("accepts a valid message as it is", () => {
    const m = valid();
    expect(checkPartialsMessage(m, SHARDS)).toBe(m);
  });

  it("accepts response counters with estimated, and without it (a collector from before): 0", () => {
    const now: PartialsMessage = {
      ...valid(),
      responses: [["acme", "hq", "fiber", "web", [1, 1, 0, 900, 1, 100, 1, 2000, 1], [12, 1]]],
    };
    expect(responseCounters(checkPartialsMessage(now, SHARDS).responses[0]!).estimated).toBe(1);
    expect(responseCounters(checkPartialsMessage(valid(), SHARDS).responses[0]!).estimated).toBe(0);
  });

  it("accepts link-status rows of whole minutes, one of up and down at 1", () => {
    const m: PartialsMessage = { ...valid(), status: [["acme", "hq", "fiber", 0, 1]] };
    expect(checkPartialsMessage(m, SHARDS)).toBe(m);
  });

  it.each([
    ["status not an array", { ...valid(), status: {} }, /status must be an array/],
    [
      "status of a part of a minute",
      {
        ...valid(),
        startMs: Date.UTC(2026, 10, 1) + 10_000,
        status: [["acme", "hq", "fiber", 1, 0]],
      },
      /whole minute/,
    ],
    [
      "a status row with both up and down",
      { ...valid(), status: [["acme", "hq", "fiber", 1, 1]] },
      /status\[0\]/,
    ],
    [
      "a status row with a count of 2",
      { ...valid(), status: [["acme", "hq", "fiber", 2, 0]] },
      /status\[0\]/,
    ],
    [
      "a status row of another shard",
      { ...valid(), status: [[OTHER, "hq", "fiber", 1, 0]] },
      /status\[0\]: customer not in shard/,
    ],
  ])("refuses %s", (_, data, why) => {
    expect(() => checkPartialsMessage(data, SHARDS)).toThrow(why);
  });

  it.each([
    ["not an object", null, /not an object/],
    ["another version", { ...valid(), v: 2 }, /version 2/],
    ["no id", { ...valid(), id: "" }, /id/],
    ["a fractional time", { ...valid(), startMs: 1.5 }, /startMs/],
    [
      "a shard out of range (another shard count)",
      { ...valid(), shard: SHARDS },
      /queue\.shards differs/,
    ],
    [
      "a row of another shard",
      { ...valid(), traffic: [[OTHER, "", "", "default", "in", 1, 1, 1]] },
      /traffic\[0\]: customer not in shard/,
    ],
    [
      "a negative count",
      { ...valid(), traffic: [["acme", "hq", "fiber", "web", "in", -1, 1, 1]] },
      /traffic\[0\]/,
    ],
    [
      "a bad direction",
      { ...valid(), traffic: [["acme", "hq", "fiber", "web", "up", 1, 1, 1]] },
      /traffic\[0\]/,
    ],
    [
      "NaN bytes",
      { ...valid(), traffic: [["acme", "hq", "fiber", "web", "in", Number.NaN, 1, 1]] },
      /traffic\[0\]/,
    ],
    [
      "odd bins",
      { ...valid(), responses: [["acme", "hq", "fiber", "web", [1, 1, 0, 0, 0, 0, 0, 0], [1]]] },
      /responses\[0\]/,
    ],
    [
      "few counters",
      { ...valid(), responses: [["acme", "hq", "fiber", "web", [1], []]] },
      /responses\[0\]/,
    ],
  ])("refuses %s, saying what is wrong", (_what, data, why) => {
    expect(() => checkPartialsMessage(data, SHARDS)).toThrow(BadPartialsMessage);
    expect(() => checkPartialsMessage(data, SHARDS)).toThrow(why);
  });

  it("never throws anything but BadPartialsMessage on mangled messages", () => {
    const rng = createRng(7);
    const base = JSON.stringify(valid());
    for (let i = 0; i < 20_000; i++) {
      const chars = base.split("");
      for (let k = 0; k < 3; k++) {
        const at = Math.floor(rng.float() * chars.length);
        chars[at] = String.fromCharCode(32 + Math.floor(rng.float() * 95));
      }
      let data: unknown;
      try {
        data = JSON.parse(chars.join(""));
      } catch {
        continue;
      }
      try {
        checkPartialsMessage(data, SHARDS);
      } catch (e) {
        expect(e).toBeInstanceOf(BadPartialsMessage);
      }
    }
  });
});
