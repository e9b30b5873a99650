/**
 * The prefix table against a brute-force reference (a linear scan for the longest prefix holding
 * the address) on seeded random prefix sets: nested chains, /0, host routes, adjacent ranges,
 * many prefixes under one /24 or one /48. Every prefix's first and last address and the
 * addresses just outside it are looked up, as well as random ones.
 */
import { isIPv4 } from "node:net";
import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "../../test/fuzz/mutate.js";
import {
  formatAddress,
  formatPrefix,
  ipv4ToUint32,
  NO_MATCH,
  type Prefix,
  type PrefixTable,
  PrefixTableBuilder,
  parseAddress,
  parsePrefix,
} from "./prefix-table.js";

// ---------------------------------------------------------------------------------------------
// Reference and generators

interface Owned {
  prefix: Prefix;
  value: number;
}

/** True when the first `length` bits of `addr` equal those of `net`. */
function covers(net: Uint8Array, length: number, addr: Uint8Array): boolean {
  const whole = length >>> 3;
  for (let i = 0; i < whole; i++) if (net[i] !== addr[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >>> rest) & 0xff;
  return (net[whole]! & mask) === (addr[whole]! & mask);
}

/**
 * The value of the longest prefix holding `addr`, by looking at them one by one, longest first
 * (`byLength` is `owned` sorted that way: see {@link longestFirst}).
 */
function bruteForce(byLength: readonly Owned[], addr: Uint8Array): number {
  for (const { prefix, value } of byLength) {
    if (prefix.bytes.length === addr.length && covers(prefix.bytes, prefix.length, addr)) {
      return value;
    }
  }
  return NO_MATCH;
}

function longestFirst(owned: readonly Owned[]): Owned[] {
  return [...owned].sort((a, b) => b.prefix.length - a.prefix.length);
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.u32() & 0xff;
  return out;
}

/** `host`'s bits after the first `length`, under `net`'s first `length` bits. */
function under(net: Uint8Array, length: number, host: Uint8Array): Uint8Array {
  const out = host.slice();
  for (let bit = 0; bit < length; bit++) {
    const i = bit >>> 3;
    const m = 0x80 >>> (bit & 7);
    out[i] = (out[i]! & ~m) | (net[i]! & m);
  }
  return out;
}

function masked(bytes: Uint8Array, length: number): Uint8Array {
  return under(bytes, length, new Uint8Array(bytes.length));
}

/** All host bits of `net` set: the prefix's last address. */
function lastAddress(p: Prefix): Uint8Array {
  return under(p.bytes, p.length, new Uint8Array(p.bytes.length).fill(0xff));
}

/** `bytes` + delta (±1) as a big-endian integer; undefined when it wraps. */
function step(bytes: Uint8Array, delta: 1 | -1): Uint8Array | undefined {
  const out = bytes.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    const v = out[i]! + delta;
    out[i] = v & 0xff;
    if (v >= 0 && v <= 0xff) return out;
  }
  return undefined;
}

function prefixOf(version: 4 | 6, bytes: Uint8Array, length: number): Prefix {
  return { version, bytes: masked(bytes, length), length };
}

interface SetShape {
  version: 4 | 6;
  count: number;
  /** Inclusive length range of prefixes drawn anywhere (within `root` if given). */
  lengths: readonly [number, number];
  /** Every prefix lies under this one. */
  root?: Prefix;
  /** Share of prefixes drawn inside an earlier one (nesting chains). */
  nested: number;
  /** Share of prefixes placed right after an earlier one of the same length (adjacent ranges). */
  adjacent: number;
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.below(hi - lo + 1);
}

/** Distinct prefixes with values 0, 1, 2, ... in drawing order. */
function drawSet(rng: Rng, shape: SetShape): Owned[] {
  const bits = shape.version === 4 ? 32 : 128;
  const out: Owned[] = [];
  const seen = new Set<string>();
  const push = (p: Prefix) => {
    const key = formatPrefix(p);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ prefix: p, value: out.length });
  };
  if (shape.root) push(shape.root);
  while (out.length < shape.count) {
    const r = rng.u32() / 2 ** 32;
    const earlier = out[rng.below(out.length)]?.prefix;
    if (earlier && r < shape.nested && earlier.length < bits) {
      const length = between(rng, earlier.length + 1, bits);
      push(
        prefixOf(
          shape.version,
          under(earlier.bytes, earlier.length, randomBytes(rng, bits / 8)),
          length,
        ),
      );
    } else if (earlier && r < shape.nested + shape.adjacent && earlier.length > 0) {
      const next = step(lastAddress(earlier), 1);
      if (next) push(prefixOf(shape.version, next, earlier.length));
    } else {
      const length = between(rng, shape.lengths[0], shape.lengths[1]);
      const root = shape.root;
      const bytes = randomBytes(rng, bits / 8);
      push(prefixOf(shape.version, root ? under(root.bytes, root.length, bytes) : bytes, length));
    }
  }
  return out;
}

function build(owned: readonly Owned[]): PrefixTable {
  const builder = new PrefixTableBuilder();
  for (const { prefix, value } of owned) expect(builder.add(prefix, value)).toBeUndefined();
  return builder.build();
}

/** First and last address of each prefix, the addresses just outside, and random ones. */
function probeAddresses(rng: Rng, owned: readonly Owned[], random: number): Uint8Array[] {
  const bytes = owned[0]?.prefix.bytes.length ?? 4;
  const out: Uint8Array[] = [];
  for (const { prefix } of owned) {
    const first = prefix.bytes;
    const last = lastAddress(prefix);
    out.push(first, last, under(first, prefix.length, randomBytes(rng, bytes)));
    for (const outside of [step(first, -1), step(last, 1)]) if (outside) out.push(outside);
  }
  for (let i = 0; i < random; i++) out.push(randomBytes(rng, bytes));
  return out;
}

function lookupBytes(table: PrefixTable, addr: Uint8Array): number {
  return addr.length === 4 ? table.lookup4(ipv4ToUint32(addr)) : table.lookup6(addr, 0);
}

/** Every mismatch, as text, so that a failure names the address and both answers. */
function mismatches(table: PrefixTable, owned: readonly Owned[], probes: Uint8Array[]): string[] {
  const wrong: string[] = [];
  const byLength = longestFirst(owned);
  for (const addr of probes) {
    const expected = bruteForce(byLength, addr);
    const got = lookupBytes(table, addr);
    if (got !== expected) wrong.push(`${formatAddress(addr)}: got ${got}, expected ${expected}`);
  }
  return wrong;
}

const v4 = (text: string) => parsePrefix(text) as Prefix;

// ---------------------------------------------------------------------------------------------
// Random sets against the reference

const SETS: Record<string, SetShape> = {
  "IPv4 any length 0-32, nested and adjacent": {
    version: 4,
    count: 1500,
    lengths: [0, 32],
    nested: 0.3,
    adjacent: 0.1,
  },
  "IPv4 customer mix /8-/30": {
    version: 4,
    count: 2000,
    lengths: [8, 30],
    nested: 0.2,
    adjacent: 0.2,
  },
  "IPv4 many prefixes sharing a /24 and a /16": {
    version: 4,
    count: 600,
    lengths: [16, 32],
    root: v4("198.51.100.0/24"),
    nested: 0.4,
    adjacent: 0.2,
  },
  "IPv4 an ISP block with deep nesting": {
    version: 4,
    count: 1500,
    lengths: [14, 32],
    root: v4("100.64.0.0/10"),
    nested: 0.6,
    adjacent: 0.1,
  },
  "IPv6 any length 0-128, nested and adjacent": {
    version: 6,
    count: 1000,
    lengths: [0, 128],
    nested: 0.3,
    adjacent: 0.1,
  },
  "IPv6 customer delegations under a /32": {
    version: 6,
    count: 1500,
    lengths: [33, 64],
    root: v4("2001:db8::/32"),
    nested: 0.4,
    adjacent: 0.2,
  },
  "IPv6 sparse host routes and long chains": {
    version: 6,
    count: 1500,
    lengths: [96, 128],
    root: v4("2001:db8:aa00::/40"),
    nested: 0.5,
    adjacent: 0.2,
  },
  "IPv6 many prefixes under one /120": {
    version: 6,
    count: 400,
    lengths: [112, 128],
    root: v4("2001:db8::ff00/120"),
    nested: 0.4,
    adjacent: 0.3,
  },
};

describe("prefix table against a linear scan", () => {
  for (const [name, shape] of Object.entries(SETS)) {
    for (const seed of [1, 2, 3]) {
      it(`${name} (seed ${seed})`, () => {
        const rng = createRng(seed);
        const owned = drawSet(rng, shape);
        const table = build(owned);
        const probes = probeAddresses(rng, owned, 3000);
        expect(mismatches(table, owned, probes).slice(0, 10)).toEqual([]);
        const stats = table.stats();
        expect(shape.version === 4 ? stats.prefixes4 : stats.prefixes6).toBe(owned.length);
      });
    }
  }

  it("IPv4 and IPv6 in one table do not see each other", () => {
    const rng = createRng(7);
    const four = drawSet(rng, { ...SETS["IPv4 customer mix /8-/30"]!, count: 500 });
    const six = drawSet(rng, { ...SETS["IPv6 customer delegations under a /32"]!, count: 500 }).map(
      (o) => ({
        prefix: o.prefix,
        value: o.value + four.length,
      }),
    );
    const table = build([...four, ...six]);
    const probes = [...probeAddresses(rng, four, 1000), ...probeAddresses(rng, six, 1000)];
    expect(mismatches(table, [...four, ...six], probes).slice(0, 10)).toEqual([]);
    expect(table.stats()).toMatchObject({ prefixes4: four.length, prefixes6: six.length });
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-picked cases

function tableOf(entries: Record<string, number>): PrefixTable {
  const builder = new PrefixTableBuilder();
  for (const [text, value] of Object.entries(entries)) builder.add(text, value);
  return builder.build();
}

describe("prefix table", () => {
  it("gives the inner customer inside its prefix and the outer one around it", () => {
    const table = tableOf({ "10.1.0.0/16": 1, "10.1.2.8/29": 2 });
    expect(table.lookup("10.1.2.7")).toBe(1);
    expect(table.lookup("10.1.2.8")).toBe(2);
    expect(table.lookup("10.1.2.15")).toBe(2);
    expect(table.lookup("10.1.2.16")).toBe(1);
    expect(table.lookup("10.1.255.255")).toBe(1);
    expect(table.lookup("10.2.0.0")).toBe(NO_MATCH);
  });

  it("matches /0, /32 and /128 and everything between", () => {
    const table = tableOf({
      "0.0.0.0/0": 0,
      "192.0.2.1": 1,
      "192.0.2.0/24": 2,
      "::/0": 3,
      "2001:db8::1": 4,
      "2001:db8::/32": 5,
    });
    expect(table.lookup("8.8.8.8")).toBe(0);
    expect(table.lookup("192.0.2.1")).toBe(1);
    expect(table.lookup("192.0.2.2")).toBe(2);
    expect(table.lookup("255.255.255.255")).toBe(0);
    expect(table.lookup("2001:db8::1")).toBe(4);
    expect(table.lookup("2001:db8::2")).toBe(5);
    expect(table.lookup("2001:db9::1")).toBe(3);
  });

  it("falls back to the prefix of the level where a lone long prefix diverges", () => {
    // Lone chains become skip nodes: a mismatch at any byte must give that level's best match.
    const table = tableOf({
      "2001:db8::/32": 1,
      "2001:db8:1::/48": 2,
      "2001:db8:1:2::/64": 3,
      "2001:db8:1:2::9/128": 4,
    });
    expect(table.lookup("2001:db8:1:2::9")).toBe(4);
    expect(table.lookup("2001:db8:1:2::8")).toBe(3);
    expect(table.lookup("2001:db8:1:2:8000::9")).toBe(3);
    expect(table.lookup("2001:db8:1:3::9")).toBe(2);
    expect(table.lookup("2001:db8:2:2::9")).toBe(1);
    expect(table.lookup("2001:db8:100::")).toBe(1);
    expect(table.lookup("2001:db9:1:2::9")).toBe(NO_MATCH);
    expect(table.lookup("2001:d00::")).toBe(NO_MATCH);
  });

  it("keeps a lone IPv6 host route small (one skip node, not a chunk per byte)", () => {
    const root = 65536 * 4;
    const table = tableOf({ "2001:db8::/32": 1, "2001:db8:1:2:3:4:5:6": 2 });
    expect(table.stats().bytes6 - root).toBeLessThan(256);
    expect(table.lookup("2001:db8:1:2:3:4:5:6")).toBe(2);
    expect(table.lookup("2001:db8:1:2:3:4:5:7")).toBe(1);
  });

  it("looks up IPv6 addresses at an offset in a column of 16-byte rows", () => {
    const table = tableOf({ "2001:db8::/32": 7 });
    const column = new Uint8Array(16 * 4);
    column.set((parsePrefix("2001:db8::5") as Prefix).bytes, 32);
    expect(table.lookup6(column, 0)).toBe(NO_MATCH);
    expect(table.lookup6(column, 32)).toBe(7);
  });

  it("takes uint32 addresses above 2^31", () => {
    const table = tableOf({ "240.0.0.0/4": 9 });
    expect(table.lookup4(0xf000_0000)).toBe(9);
    expect(table.lookup4(0xffff_ffff)).toBe(9);
    expect(table.lookup4(0xefff_ffff)).toBe(NO_MATCH);
  });

  it("returns NO_MATCH (-1) from an empty table, and reports its memory", () => {
    const table = new PrefixTableBuilder().build();
    expect(NO_MATCH).toBe(-1);
    expect(table.lookup("10.0.0.1")).toBe(-1);
    expect(table.lookup4(0)).toBe(-1);
    expect(table.lookup("::")).toBe(-1);
    expect(table.lookup6(new Uint8Array(16).fill(0xff), 0)).toBe(-1);
    const stats = table.stats();
    expect(stats).toMatchObject({ prefixes4: 0, prefixes6: 0 });
    expect(stats.bytes).toBe(stats.bytes4 + stats.bytes6);
    expect(stats.bytes4).toBe(65536 * 4); // the root chunk
  });

  it("rejects text that is not an address in lookup()", () => {
    const table = tableOf({});
    expect(() => table.lookup("10.0.0.0/8")).toThrow(/not an IPv4 or IPv6 address/);
    expect(() => table.lookup("example.com")).toThrow(TypeError);
  });

  it("gives the same table when built twice", () => {
    const builder = new PrefixTableBuilder();
    builder.add("10.0.0.0/8", 1);
    const first = builder.build();
    builder.add("10.1.0.0/16", 2);
    const second = builder.build();
    expect(first.lookup("10.1.0.1")).toBe(1);
    expect(second.lookup("10.1.0.1")).toBe(2);
  });
});

describe("PrefixTableBuilder", () => {
  it("reports the same prefix added twice with both values, and keeps the first", () => {
    const builder = new PrefixTableBuilder();
    expect(builder.add("10.0.0.0/8", 3)).toBeUndefined();
    expect(builder.add("2001:db8::/32", 4)).toBeUndefined();
    expect(builder.add("10.0.0.0/8", 5)).toEqual({ prefix: "10.0.0.0/8", existing: 3, added: 5 });
    expect(builder.add("2001:DB8:0::/32", 6)).toEqual({
      prefix: "2001:db8::/32",
      existing: 4,
      added: 6,
    });
    expect(builder.add("10.0.0.0/9", 7)).toBeUndefined();
    expect(builder.conflicts()).toHaveLength(2);
    expect(builder.size).toBe(3);
    const table = builder.build();
    expect(table.lookup("10.200.0.1")).toBe(3);
    expect(table.lookup("2001:db8::1")).toBe(4);
  });

  it("finds every repeat among many prefixes, as a map of their texts does", () => {
    const rng = createRng(17);
    const builder = new PrefixTableBuilder();
    const first = new Map<string, number>();
    // Few distinct bytes and lengths, so that repeats and near-misses are common.
    for (let value = 0; value < 20_000; value++) {
      const v6 = rng.below(2) === 0;
      const bytes = randomBytes(rng, v6 ? 16 : 4).map((b) => b & 0x13);
      const length = rng.below(v6 ? 129 : 33);
      const text = formatPrefix({ version: v6 ? 6 : 4, bytes: masked(bytes, length), length });
      const conflict = builder.add(text, value);
      const existing = first.get(text);
      if (existing === undefined) {
        expect(conflict).toBeUndefined();
        first.set(text, value);
      } else expect(conflict).toEqual({ prefix: text, existing, added: value });
    }
    expect(builder.size).toBe(first.size);
    expect(builder.conflicts().length).toBe(20_000 - first.size);
  });

  it("does not confuse an IPv4 prefix with the IPv6 prefix of the same bytes", () => {
    const builder = new PrefixTableBuilder();
    builder.add("0.0.0.0/0", 1);
    expect(builder.add("::/0", 2)).toBeUndefined();
  });

  it("rejects values that are not small non-negative integers", () => {
    const builder = new PrefixTableBuilder();
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => builder.add("10.0.0.0/8", bad)).toThrow(RangeError);
    }
    expect(() => builder.add("10.0.0.0/8", 2 ** 31 - 1)).not.toThrow();
  });

  it("rejects text that does not parse, and hand-made prefixes with host bits", () => {
    const builder = new PrefixTableBuilder();
    expect(() => builder.add("10.0.0.1/8", 1)).toThrow(/has host bits set/);
    const bad: Prefix = { version: 4, bytes: new Uint8Array([10, 0, 0, 1]), length: 8 };
    expect(() => builder.add(bad, 1)).toThrow(TypeError);
    const short: Prefix = { version: 6, bytes: new Uint8Array(4), length: 8 };
    expect(() => builder.add(short, 1)).toThrow(TypeError);
    expect(builder.size).toBe(0);
  });

  it("copies the prefix bytes it is given", () => {
    const builder = new PrefixTableBuilder();
    const p = v4("10.0.0.0/8");
    builder.add(p, 1);
    p.bytes[0] = 11;
    expect(builder.build().lookup("10.0.0.1")).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Parsing and formatting

describe("parseAddress", () => {
  it("takes exactly the IPv4 addresses net.isIPv4 takes (its dotted quads are parsed by hand)", () => {
    const tricky = [
      "0.0.0.0",
      "255.255.255.255",
      "1.2.3.4",
      "01.2.3.4",
      "1.2.3.04",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.0",
      "1..2.3",
      "",
      ".1.2.3",
      "1.2.3.4.",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1e1.2.3.4",
      "\u0661.2.3.4",
      "0x1.2.3.4",
      "1.2.3.-4",
      "+1.2.3.4",
      "1.2.3.4/8",
      "1000.2.3.4",
      "00.0.0.0",
    ];
    const rng = createRng(7);
    const random = Array.from({ length: 20_000 }, () =>
      Array.from({ length: 1 + rng.below(16) }, () => "0123456789.."[rng.below(12)]).join(""),
    );
    for (const text of [...tricky, ...random]) {
      const parsed = parseAddress(text);
      const v4 = !("error" in parsed) && parsed.version === 4;
      expect(v4, JSON.stringify(text)).toBe(isIPv4(text));
      if (v4) expect(parsed.bytes.join("."), text).toBe(text);
    }
  });
});

describe("parseAddress, IPv6 (read in one pass by hand)", () => {
  it("reads every way of writing an address back to its bytes", () => {
    const rng = createRng(11);
    for (let k = 0; k < 5000; k++) {
      const groups = Array.from({ length: 8 }, () => (rng.below(3) === 0 ? 0 : rng.below(0x10000)));
      const bytes = Uint8Array.from(groups.flatMap((g) => [g >>> 8, g & 0xff]));
      const hex = groups.map((g) => g.toString(16));
      const tail = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      const forms = [
        formatAddress(bytes),
        formatAddress(bytes).toUpperCase(),
        hex.join(":"),
        groups.map((g) => g.toString(16).padStart(4, "0")).join(":"),
        `${hex.slice(0, 6).join(":")}:${tail}`,
      ];
      // "::" in place of every run of zero groups (one or more), wherever it is.
      for (let a = 0; a < 8; a++) {
        for (let b = a + 1; b <= 8 && groups[b - 1] === 0; b++) {
          if (b - a < 8 || a === 0)
            forms.push(`${hex.slice(0, a).join(":")}::${hex.slice(b).join(":")}`);
        }
      }
      for (const text of forms) {
        const parsed = parseAddress(text);
        expect("error" in parsed ? parsed.error : parsed.bytes, text).toEqual(bytes);
      }
    }
  });
});

describe("parsePrefix", () => {
  const accepts: [string, 4 | 6, number[], number][] = [
    ["10.0.0.0/8", 4, [10, 0, 0, 0], 8],
    ["0.0.0.0/0", 4, [0, 0, 0, 0], 0],
    ["192.0.2.1", 4, [192, 0, 2, 1], 32],
    ["192.0.2.1/32", 4, [192, 0, 2, 1], 32],
    ["255.255.255.254/31", 4, [255, 255, 255, 254], 31],
    ["2001:db8::/32", 6, [0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)], 32],
    ["2001:DB8::/32", 6, [0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)], 32],
    ["::/0", 6, new Array(16).fill(0), 0],
    ["::", 6, new Array(16).fill(0), 128],
    ["::1", 6, [...new Array(15).fill(0), 1], 128],
    ["1::", 6, [0, 1, ...new Array(14).fill(0)], 128],
    ["1:2:3:4:5:6:7:8", 6, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8], 128],
    ["fe80::1:2/128", 6, [0xfe, 0x80, ...new Array(10).fill(0), 0, 1, 0, 2], 128],
    ["::ffff:1.2.3.4", 6, [...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4], 128],
    ["::ffff:0.0.0.0/96", 6, [...new Array(10).fill(0), 0xff, 0xff, 0, 0, 0, 0], 96],
    [
      "64:ff9b::192.0.2.0/120",
      6,
      [0, 0x64, 0xff, 0x9b, ...new Array(8).fill(0), 192, 0, 2, 0],
      120,
    ],
    ["2001:db8:0:0:1::/80", 6, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], 80],
  ];
  for (const [text, version, bytes, length] of accepts) {
    it(`accepts ${text}`, () => {
      const parsed = parsePrefix(text);
      expect(parsed).toEqual({ version, bytes: Uint8Array.from(bytes), length });
    });
  }

  const rejects: [string, string][] = [
    ["10.1.2.3/8", '"10.1.2.3/8" has host bits set (did you mean 10.0.0.0/8?)'],
    ["10.0.0.1/31", '"10.0.0.1/31" has host bits set (did you mean 10.0.0.0/31?)'],
    ["2001:db8::1/32", '"2001:db8::1/32" has host bits set (did you mean 2001:db8::/32?)'],
    [
      "2001:db8:1:2:3::/48",
      '"2001:db8:1:2:3::/48" has host bits set (did you mean 2001:db8:1::/48?)',
    ],
    [
      "10.0.0.0/33",
      '"10.0.0.0/33" is not a prefix: length "33" is not a whole number from 0 to 32',
    ],
    [
      "2001:db8::/129",
      '"2001:db8::/129" is not a prefix: length "129" is not a whole number from 0 to 128',
    ],
    [
      "10.0.0.0/-1",
      '"10.0.0.0/-1" is not a prefix: length "-1" is not a whole number from 0 to 32',
    ],
    ["10.0.0.0/", '"10.0.0.0/" is not a prefix: length "" is not a whole number from 0 to 32'],
    [
      "10.0.0.0/08",
      '"10.0.0.0/08" is not a prefix: length "08" is not a whole number from 0 to 32',
    ],
    [
      "10.0.0.0/8/9",
      '"10.0.0.0/8/9" is not a prefix: length "8/9" is not a whole number from 0 to 32',
    ],
    [
      "10.0.0.0/ 8",
      '"10.0.0.0/ 8" is not a prefix: length " 8" is not a whole number from 0 to 32',
    ],
    ["10.0.0/8", '"10.0.0/8" is not a prefix: "10.0.0" is not an IPv4 or IPv6 address'],
    ["256.0.0.0/8", '"256.0.0.0/8" is not a prefix: "256.0.0.0" is not an IPv4 or IPv6 address'],
    ["010.0.0.0/8", '"010.0.0.0/8" is not a prefix: "010.0.0.0" is not an IPv4 or IPv6 address'],
    [" 10.0.0.0/8", '" 10.0.0.0/8" is not a prefix: " 10.0.0.0" is not an IPv4 or IPv6 address'],
    ["", '"" is not a prefix: "" is not an IPv4 or IPv6 address'],
    ["/8", '"/8" is not a prefix: "" is not an IPv4 or IPv6 address'],
    [
      "2001:db8:::/48",
      '"2001:db8:::/48" is not a prefix: "2001:db8:::" is not an IPv4 or IPv6 address',
    ],
    ["1::2::3", '"1::2::3" is not a prefix: "1::2::3" is not an IPv4 or IPv6 address'],
    ["12345::/16", '"12345::/16" is not a prefix: "12345::" is not an IPv4 or IPv6 address'],
    ["fe80::1%eth0", '"fe80::1%eth0" is not a prefix: zone ids (%...) are not allowed'],
    ["fe80::%1/64", '"fe80::%1/64" is not a prefix: zone ids (%...) are not allowed'],
    [
      "example.com/8",
      '"example.com/8" is not a prefix: "example.com" is not an IPv4 or IPv6 address',
    ],
  ];
  for (const [text, error] of rejects) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(parsePrefix(text)).toEqual({ error });
    });
  }

  it("round-trips random prefixes through formatPrefix", () => {
    const rng = createRng(11);
    for (let i = 0; i < 2000; i++) {
      const version = i % 2 === 0 ? 4 : 6;
      const bits = version === 4 ? 32 : 128;
      // Zero groups are common in real addresses: make some bytes zero.
      const bytes = randomBytes(rng, bits / 8).map((b) => (rng.below(3) === 0 ? 0 : b));
      const p = prefixOf(version, bytes, rng.below(bits + 1));
      expect(parsePrefix(formatPrefix(p))).toEqual(p);
    }
  });
});

describe("formatPrefix", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001/128", "2001:db8::1/128"],
    ["2001:db8:0:1:0:0:0:1/128", "2001:db8:0:1::1/128"],
    ["2001:0:0:1:0:0:0:1/128", "2001:0:0:1::1/128"],
    ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
    ["2001:db8:0:1:1:1:1:1/128", "2001:db8:0:1:1:1:1:1/128"],
    ["0:0:0:0:0:0:0:0/0", "::/0"],
    ["1:0:0:0:0:0:0:0/16", "1::/16"],
    ["0:0:0:0:0:ffff:102:304/128", "::ffff:1.2.3.4/128"],
    ["10.0.0.0/8", "10.0.0.0/8"],
  ];
  for (const [input, canonical] of cases) {
    it(`writes ${input} as ${canonical}`, () => {
      expect(formatPrefix(parsePrefix(input) as Prefix)).toBe(canonical);
    });
  }
});
