import { readdirSync, readFileSync } from "node:fs";
import { CORE_SCHEMA, load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { customersConfig } from "../bench/customers-config.js";
import { createRng, type Rng } from "../test/fuzz/mutate.js";
import { EVERY_SECRET_CONFIGS } from "../test/support/secret-configs.js";
import { plainYaml, type ReadMore } from "./yaml-fast-path.js";

const root = new URL("../", import.meta.url);

/** What the fast path made of `text`, against js-yaml: undefined (js-yaml's turn) or the same. */
function differs(text: string): { accepted: boolean; problem?: string } {
  const fast = plainYaml(text);
  if (fast === undefined) return { accepted: false };
  let slow: unknown;
  try {
    slow = load(text, { schema: CORE_SCHEMA });
  } catch (e) {
    return { accepted: true, problem: `js-yaml refuses it: ${(e as Error).message}` };
  }
  const where = difference(fast, slow, "");
  return where === undefined
    ? { accepted: true }
    : { accepted: true, problem: `differs at ${where}` };
}

/** Where two values differ (types, prototypes, key order, -0 and 0 told apart), or undefined. */
function difference(a: unknown, b: unknown, at: string): string | undefined {
  if (a === null || typeof a !== "object" || b === null || typeof b !== "object") {
    return Object.is(a, b) ? undefined : `${at || "(top)"}: ${String(a)} vs ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: prototype`;
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.join("\u0000") !== kb.join("\u0000")) return `${at}: keys ${ka.join()} vs ${kb.join()}`;
  for (const k of ka) {
    const da = Object.getOwnPropertyDescriptor(a, k)!;
    const db = Object.getOwnPropertyDescriptor(b, k)!;
    if (da.enumerable !== db.enumerable || da.writable !== db.writable) return `${at}.${String(k)}`;
    const d = difference(da.value, db.value, `${at}.${String(k)}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

function expectSame(text: string, name: string): boolean {
  const r = differs(text);
  expect(r.problem, `${name}:\n${text}`).toBeUndefined();
  // Read a few bytes at a time, as from a file, the window moves on anywhere (in a character too).
  // A text with an unpaired surrogate has no UTF-8 form to read that way.
  const bytes = Buffer.from(text);
  if (bytes.toString() !== text) return r.accepted;
  const chunked = plainYaml(inPieces(bytes, name.length));
  const whole = plainYaml(text);
  const pieces =
    chunked === undefined || whole === undefined
      ? chunked === whole
        ? undefined
        : "read otherwise"
      : difference(chunked, whole, "");
  expect(pieces, `${name}, read in pieces:\n${JSON.stringify(text)}`).toBeUndefined();
  return r.accepted;
}

/** A ReadMore of `bytes` that gives 1 to 9 of them at a time. */
function inPieces(bytes: Uint8Array, seed: number): ReadMore {
  const rng = createRng(seed);
  let at = 0;
  return (into, offset, length) => {
    const n = Math.min(length, bytes.length - at, 1 + rng.below(9));
    into.set(bytes.subarray(at, at + n), offset);
    at += n;
    return n;
  };
}

/** The fenced ```yaml blocks of a Markdown file. */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function filesUnder(dir: URL, suffix: string): URL[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(suffix) && !f.includes("node_modules"))
    .map((f) => new URL(f, dir));
}

describe("the YAML fast path", () => {
  it("reads every YAML file of the repository as js-yaml does", () => {
    const files = [
      ...filesUnder(new URL("config/", root), ".yaml"),
      ...filesUnder(new URL("docs/", root), ".yaml"),
      ...filesUnder(new URL("test/", root), ".yaml"),
      ...filesUnder(new URL("test/", root), ".yml"),
    ];
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expectSame(readFileSync(f, "utf8"), f.pathname);
    // The example configs are what the fast path is for.
    for (const f of files.filter((f) => f.pathname.includes("/config/"))) {
      expect(plainYaml(readFileSync(f, "utf8")), f.pathname).toBeDefined();
    }
  });

  it("reads the docs' examples and the tests' configs as js-yaml does", () => {
    const docs = [
      new URL("README.md", root),
      new URL("bench/README.md", root),
      ...filesUnder(new URL("docs/", root), ".md"),
    ];
    const blocks = docs.flatMap((f) => yamlBlocks(readFileSync(f, "utf8")));
    expect(blocks.length).toBeGreaterThan(5);
    let accepted = 0;
    for (const [k, text] of [...blocks, ...EVERY_SECRET_CONFIGS].entries()) {
      if (expectSame(text, `example ${k}`)) accepted++;
    }
    expect(accepted).toBeGreaterThan(blocks.length / 2);
  });

  it("reads the config of bench/config-scale.ts as js-yaml does", () => {
    const text = customersConfig("/tmp/x", 2000);
    expect(plainYaml(text)).toBeDefined();
    expectSame(text, "bench config");
  });

  it("reads each scalar as the core schema does, or leaves it to js-yaml", () => {
    let accepted = 0;
    for (const s of [...PLAIN, ...QUOTED]) {
      for (const text of [
        `a: ${s}\n`,
        `a: [${s}]\n`,
        `a: {b: ${s}}\n`,
        `- ${s}\n`,
        `a:\n  - ${s}\n`,
      ]) {
        if (expectSame(text, text)) accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(100);
    // What the fast path is sure of.
    expect(plainYaml("a: 10\nb: -5\nc: 0.5\nd: ~\ne: True\nf: 10.0.0.0/8\ng: '1'\n")).toEqual({
      a: 10,
      b: -5,
      c: 0.5,
      d: null,
      e: true,
      f: "10.0.0.0/8",
      g: "1",
    });
  });

  it("leaves to js-yaml what js-yaml refuses or reads otherwise", () => {
    for (const text of [
      "a: 1\na: 2\n", // a repeated key: js-yaml says where
      "a: {b: 1, b: 2}\n",
      "__proto__: 1\n",
      "a: &x 1\nb: *x\n",
      "a: !!str 1\n",
      "a: |\n  x\n",
      "a: >\n  x\n",
      "a: b\n  c\n", // a plain scalar on two lines
      "a: 'b\n  c'\n",
      "a: [b,\n  c]\n",
      "? a\n: b\n",
      "---\na: 1\n",
      "a: 1\n...\n",
      "%YAML 1.2\n---\na: 1\n",
      "a:\tb\n",
      "\ufeffa: 1\n",
      "a: 0x10\n",
      "a: 1e3\n",
      "a: -0\n",
      "a: .inf\n",
      "1: a\n",
      "null: a\n",
      "a: b: c\n",
      "- a\n",
      "a\n",
      "",
      "# only a comment\n",
      "  a: 1\n",
    ]) {
      expect(plainYaml(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it("reads a file's bytes as the text they decode to, and leaves bytes that are not UTF-8", () => {
    const text = "a: é\nb: [日本, \"🍕\"]\nc: 'x'\n";
    expect(plainYaml(Buffer.from(text))).toEqual(plainYaml(text));
    expect(plainYaml(Buffer.from(text))).toEqual(load(text, { schema: CORE_SCHEMA }));
    expect(plainYaml(Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x0a]))).toBeUndefined(); // cut short
    expect(plainYaml(Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a]))).toBeUndefined();
    for (const c of [
      "\u0085",
      "\u009f",
      "\u2028",
      "\u2029",
      "\ufeff",
      "\ufffe",
      "\uffff",
      "\u007f",
    ]) {
      expect(plainYaml(Buffer.from(`a: x${c}y\n`)), JSON.stringify(c)).toBeUndefined();
    }
    expect(plainYaml(Buffer.from("a: x\u00a0y\u2027\n"))).toEqual({ a: "x\u00a0y\u2027" });
  });

  it("reads random documents in and just outside the subset as js-yaml does", () => {
    const rng = createRng(14);
    let acceptedPlain = 0;
    let acceptedMutated = 0;
    const count = 6000;
    for (let k = 0; k < count; k++) {
      const text = randomDocument(rng);
      if (expectSame(text, `document ${k}`)) acceptedPlain++;
      for (let m = 0; m < 3; m++) {
        const mutant = mutateText(rng, text);
        if (expectSame(mutant, `document ${k}, mutant ${m}`)) acceptedMutated++;
      }
    }
    // The generator keeps mostly to the subset, and its mutants often leave it.
    expect(acceptedPlain).toBeGreaterThan(count / 2);
    expect(acceptedMutated).toBeGreaterThan(count / 3);
    expect(acceptedMutated).toBeLessThan(3 * count * 0.9);
  });
});

// ---------------------------------------------------------------------------------------------
// Random documents

/** Plain scalars in the subset. */
const COMMON = [
  "a",
  "abc",
  "Customer 1",
  "10.0.0.0/28",
  "2001:db8::/56",
  "127.0.0.1:2055",
  "http://h/x?y=1",
  "100M",
  "1m",
  "5060",
  "0",
  "-5",
  "123456789012345",
  "1.5",
  "-1.5",
  "0.0",
  "-0.0",
  "~",
  "null",
  "True",
  "false",
  "a#b",
  "a,b",
  "a]b",
  "é",
  "日本",
  "🍕",
  "a'b",
  "__proto__",
  "-x",
];

/** Plain scalars: the common ones, numbers in every core-schema form, and what is not plain. */
const PLAIN = [
  ...COMMON,
  "-0",
  "+5",
  "007",
  "08",
  "1234567890123456",
  "12345678901234567890",
  "0x1F",
  "0xg",
  "0o17",
  "0o8",
  "0b101",
  "0b",
  "1_000",
  "1e5",
  "1E-5",
  "1.",
  ".5",
  "1.5e3",
  "1.2.3",
  ".inf",
  "-.inf",
  "+.INF",
  ".nan",
  ".NaN",
  "-.nan",
  "Null",
  "NULL",
  "nULL",
  "true",
  "TRUE",
  "tRUE",
  "False",
  "FALSE",
  "yes",
  "no",
  "on",
  "a:b",
  "a #b",
  "a: b",
  "a:",
  "&x",
  "*x",
  "!x",
  "!!str x",
  "|",
  ">",
  "-",
  "- x",
  "-1x",
  "?x",
  "? x",
  ":x",
  "%x",
  "@x",
  "`x",
  "a}b",
  "a[b",
  "a  b",
  "a ",
  'a"b',
  "constructor",
  "\\",
  "a\\nb",
];

/** Quoted scalars: the first 16 in the subset. */
const QUOTED = [
  '"a"',
  '""',
  "''",
  "'it''s'",
  "'a''''b'",
  "'a\\b'",
  "' a '",
  '" a "',
  '"a\\nb"',
  '"\\t\\r\\0\\a\\b\\e\\f\\v\\/\\\\\\"\\ "',
  '"\\N\\_\\L\\P"',
  '"\\x41\\u00e9\\U0001F600"',
  '"a # b"',
  '"a: b"',
  '"🍕"',
  '"\\uD83C\\uDF55"',
  '"\\U00110000"',
  '"\\UFFFFFFFF"',
  '"\\ud800"',
  '"\\x4"',
  '"\\q"',
  '"\\',
  '"a',
  "'a",
  '"a"b',
  '"a" b',
  '"a" # c',
  '"a"#c',
  "'a'b",
];

const KEYS = [
  "id",
  "name",
  "a",
  "b",
  "c",
  "1m",
  "5m",
  "x-y",
  "a.b",
  "a/b",
  "_k",
  "A1",
  "__proto__",
  "toString",
  "constructor",
  "null",
  "True",
  "1",
  "01",
  "0x1",
  "1.5",
  "-a",
  ".a",
  "a b",
  '"q"',
  "'q'",
  "? a",
  "&x a",
  "a:b",
  "~",
  "é",
];

type Tree =
  | { kind: "map"; entries: Array<[string, Tree]> }
  | { kind: "seq"; items: Tree[] }
  | { kind: "scalar"; text: string };

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.below(list.length)]!;
}

function randomTree(rng: Rng, depth: number): Tree {
  const r = rng.below(10);
  if (depth >= 4 || r < 4) {
    const text = rng.below(4) === 0 ? pick(rng, QUOTED.slice(0, 16)) : pick(rng, COMMON);
    if (rng.below(20) !== 0) return { kind: "scalar", text };
    return { kind: "scalar", text: rng.below(3) === 0 ? pick(rng, QUOTED) : pick(rng, PLAIN) };
  }
  const size = rng.below(4) + (rng.below(8) === 0 ? 0 : 1);
  if (r < 7) {
    // Mostly distinct keys: a repeated one only now and then.
    const keys = rng.below(6) === 0 ? KEYS : KEYS.slice(0, 13);
    return {
      kind: "map",
      entries: Array.from({ length: size }, (_, k) => [
        rng.below(4) === 0 ? pick(rng, keys) : `k${k}`,
        randomTree(rng, depth + 1),
      ]),
    };
  }
  return { kind: "seq", items: Array.from({ length: size }, () => randomTree(rng, depth + 1)) };
}

function flow(rng: Rng, t: Tree): string {
  const sp = () => " ".repeat(rng.below(3) === 0 ? rng.below(3) : 0);
  switch (t.kind) {
    case "scalar":
      return t.text;
    case "seq": {
      const trailing = t.items.length > 0 && rng.below(10) === 0 ? "," : "";
      return `[${sp()}${t.items.map((i) => flow(rng, i)).join(`${sp()},${rng.below(4) === 0 ? "" : " "}`)}${trailing}${sp()}]`;
    }
    case "map":
      return `{${sp()}${t.entries.map(([k, v]) => `${k}${sp()}:${rng.below(10) === 0 ? "" : " "}${flow(rng, v)}`).join(", ")}${sp()}}`;
  }
}

function comment(rng: Rng): string {
  return rng.below(6) === 0 ? pick(rng, [" # c", " #", " # a: b", "  # - x", "#c"]) : "";
}

/** Block style, with a flow collection now and then, comments, blank lines and odd indents. */
function block(rng: Rng, t: Tree, indent: number, out: string[]): void {
  if (t.kind === "map") blockMapping(rng, t.entries, indent, out);
  else if (t.kind === "seq") blockSequence(rng, t.items, indent, out);
  else out.push(`${" ".repeat(indent)}${t.text}`);
}

function blockMapping(rng: Rng, entries: Array<[string, Tree]>, indent: number, out: string[]) {
  const pad = " ".repeat(indent);
  for (const [k, v] of entries) {
    sometimesNote(rng, out);
    if (v.kind === "scalar" || rng.below(4) === 0 || (v.kind === "map" && v.entries.length === 0)) {
      out.push(`${pad}${k}: ${flow(rng, v)}${comment(rng)}`);
    } else if (v.kind === "seq" && v.items.length === 0) {
      out.push(`${pad}${k}:${comment(rng)}`);
    } else {
      out.push(`${pad}${k}:${comment(rng)}`);
      const sameColumn = v.kind === "seq" && rng.below(3) === 0;
      block(rng, v, sameColumn ? indent : indent + step(rng), out);
    }
  }
}

function blockSequence(rng: Rng, items: Tree[], indent: number, out: string[]) {
  const pad = " ".repeat(indent);
  for (const item of items) {
    sometimesNote(rng, out);
    const dash = `${pad}-${" ".repeat(rng.below(5) === 0 ? 2 + rng.below(2) : 1)}`;
    const style = item.kind === "scalar" ? 0 : rng.below(4);
    if (style < 2) out.push(`${dash}${flow(rng, item)}${comment(rng)}`);
    else if (style === 2) {
      // Its value below the dash: left to js-yaml.
      out.push(`${pad}-`);
      block(rng, item, indent + step(rng), out);
    } else {
      // A value that starts on the dash's line, the rest of it lined up after the dash.
      const lines: string[] = [];
      block(rng, item, dash.length, lines);
      if (lines.length === 0) out.push(`${dash}[]`);
      else out.push(dash + lines[0]!.slice(dash.length), ...lines.slice(1));
    }
  }
}

function step(rng: Rng): number {
  return pick(rng, [2, 2, 2, 4, 1, 3]);
}

function sometimesNote(rng: Rng, out: string[]): void {
  if (rng.below(12) === 0) out.push(rng.below(2) === 0 ? "" : `${" ".repeat(rng.below(8))}# note`);
}

function randomDocument(rng: Rng): string {
  const tree = randomTree(rng, 0);
  const top: Tree =
    tree.kind === "map" && tree.entries.length > 0 && rng.below(10) !== 0
      ? tree
      : { kind: "map", entries: [["top", tree]] };
  const lines: string[] = [];
  if (rng.below(5) === 0) lines.push("# a config");
  block(rng, top, 0, lines);
  let text = lines.join("\n");
  if (rng.below(10) !== 0) text += "\n";
  if (rng.below(15) === 0) text = text.replaceAll("\n", "\r\n");
  return text;
}

/** One small change: a character put in or taken out, a line moved, repeated or re-indented. */
function mutateText(rng: Rng, text: string): string {
  const at = rng.below(text.length + 1);
  const lines = text.split("\n");
  const line = rng.below(lines.length);
  switch (rng.below(6)) {
    case 0: {
      const c = pick(rng, [
        " ",
        "\t",
        ":",
        "#",
        "-",
        ",",
        "[",
        "]",
        "{",
        "}",
        '"',
        "'",
        "\n",
        "\r",
        "&",
        "*",
        "!",
        "|",
        ">",
        "?",
        "%",
        "\\",
        "x",
        "0",
        ".",
        "\u0085",
        "\u00a0",
        "\ufeff",
        "\u0000",
        "\u0007",
        "\ud800",
        "---\n",
        "...\n",
      ]);
      return text.slice(0, at) + c + text.slice(at);
    }
    case 1:
      return text.slice(0, at) + text.slice(at + 1);
    case 2:
      lines.splice(line, 0, lines[line] ?? "");
      return lines.join("\n");
    case 3:
      lines[line] = " ".repeat(1 + rng.below(2)) + (lines[line] ?? "");
      return lines.join("\n");
    case 4:
      lines[line] = (lines[line] ?? "").replace(/^ {1,2}/, "");
      return lines.join("\n");
    default: {
      const other = rng.below(lines.length);
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
      return lines.join("\n");
    }
  }
}
