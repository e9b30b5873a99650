/**
 * Loads, validates and freezes a config file. Errors name the path in the file and the reason,
 * e.g. `decoder.samplingOverrides[0].rate: must be >= 1 (got 0)`. Data paths come out absolute:
 * `dataDir` against the config file's directory, the files against `dataDir` (data-paths.ts).
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CORE_SCHEMA, load, YAMLException } from "js-yaml";
import type { z } from "zod";
import {
  type Config,
  type CustomerConfig,
  configSchema,
  customerSchema,
} from "../schema/config.js";
import { plainCustomer } from "../schema/customer-fast-path.js";
import { FlowtallyError } from "../schema/errors.js";
import { resolveDataPaths } from "./data-paths.js";
import { formatPath, issueReason } from "./path.js";
import { printable } from "./printable.js";
import { validateModel } from "./validate-model.js";
import { validateRegistry, validateResources } from "./validate-resources.js";
import { plainYaml, type ReadMore } from "./yaml-fast-path.js";

export function loadConfigFile(path: string): Readonly<Config> {
  // The YAML fast path reads the file's bytes a window at a time; js-yaml, if it has to, the
  // whole text.
  const fd = readingFile(path, () => openSync(path, "r"));
  try {
    const read: ReadMore = (into, offset, length) =>
      readingFile(path, () => readSync(fd, into, offset, length, null));
    return parseConfig(read, path, dirname(resolve(path)), () =>
      readingFile(path, () => readFileSync(path, "utf8")),
    );
  } finally {
    closeSync(fd);
  }
}

/** What `read` returns; what it throws is FT_CONFIG_READ, naming the file. */
function readingFile<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new FlowtallyError("FT_CONFIG_READ", printable(`${path}: ${(e as Error).message}`), {
      cause: e,
    });
  }
}

/**
 * YAML 1.2 core schema (no timestamps, tags or merge keys): a config holds strings, numbers,
 * booleans, lists and maps. js-yaml rather than `yaml`'s document model: 13x faster and an eighth
 * of the memory on a config of 100 000 customers (bench/README.md, "Config at scale").
 */
const YAML_OPTIONS = { schema: CORE_SCHEMA } as const;
/** Where an alias may stand; also matches inside quoted strings, which only costs a walk. */
const ALIAS = /(?:^|[\s[{,])\*/;
/** js-yaml refuses deeper nesting in the text; aliases can nest further (checked below). */
const MAX_DEPTH = 100;

/** `configDir`: what a relative `dataDir` is relative to; a config from no file has only the working directory. */
export function parseConfigText(
  text: string,
  source = "config",
  configDir = process.cwd(),
): Readonly<Config> {
  return parseConfig(text, source, configDir, () => text);
}

/** `content`: the text, or what reads a file's bytes; `decoded()`: the text, for js-yaml. */
function parseConfig(
  content: string | ReadMore,
  source: string,
  configDir: string,
  decoded: () => string,
): Readonly<Config> {
  // The plain subset a config is written in, without js-yaml's general parser (a third of the
  // time for 100 000 customers); js-yaml parses anything else, so its messages stay the same.
  // Only aliases repeat a value, and the fast path reads none: no alias check.
  const plain = plainYaml(content);
  if (plain !== undefined) return validate(plain, source, "plain tree", configDir);
  const text = decoded();
  const where = printable(source);
  let value: unknown;
  try {
    value = load(text, YAML_OPTIONS);
  } catch (e) {
    throw new FlowtallyError("FT_CONFIG_PARSE", `${where}: ${parseFailure(e, text)}`, { cause: e });
  }
  // Aliases share one value between places: only a text with one (`*name` after a space, a
  // line start, "[", "{" or ",") can expand or loop. A "*" inside a word is not one.
  if (ALIAS.test(text)) {
    const problem = aliasProblem(value);
    if (problem !== undefined) throw new FlowtallyError("FT_CONFIG_PARSE", `${where}: ${problem}`);
  }
  return validate(value ?? {}, source, "parsed", configDir);
}

/**
 * One line: where in the file and why, never the file's bytes (js-yaml's message quotes them).
 * The line and column are counted here from the offset: js-yaml's are 0 for some early checks.
 */
function parseFailure(e: unknown, text: string): string {
  if (e instanceof YAMLException) {
    const position = e.mark?.position;
    let at = "";
    if (position !== undefined && position >= 0 && position <= text.length) {
      const lineStart = text.lastIndexOf("\n", position - 1) + 1;
      let line = 1;
      for (let i = text.indexOf("\n"); i >= 0 && i < lineStart; i = text.indexOf("\n", i + 1))
        line++;
      at = `line ${line}, column ${position - lineStart + 1}: `;
    }
    return printable(`${at}${e.reason}`);
  }
  // A parser bug or a stack overflow: still a config problem, on one line.
  const message = e instanceof Error ? e.message : String(e);
  return printable(`not parsed: ${message.split("\n")[0]}`);
}

/**
 * An alias repeats what its anchor holds. A few repeats are what aliases are for; an alias bomb
 * ("billion laughs": nine aliases of nine aliases of ...) expands a small file into billions of
 * values, and an alias inside its own anchor makes a loop. Counted without expanding: each
 * shared value once, remembered. Refused past 10 times the values the file writes (+10 000).
 */
function aliasProblem(root: unknown): string | undefined {
  if (root === null || typeof root !== "object") return undefined;
  /** Lists and maps done: how many values they expand to, and how deep they nest. */
  const done = new Map<object, { values: number; depth: number }>();
  /** Lists and maps being walked: meeting one again is a loop. */
  const open = new Set<object>();
  /** Values the file writes out: each list or map walked once, and its scalars. */
  let written = 0;
  const stack: Array<{
    node: object;
    children: unknown[];
    next: number;
    values: number;
    depth: number;
  }> = [];
  const push = (node: object) => {
    written++;
    open.add(node);
    stack.push({ node, children: Object.values(node), next: 0, values: 1, depth: 1 });
  };
  push(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (child === null || typeof child !== "object") {
        written++;
        top.values++;
        continue;
      }
      const shape = done.get(child);
      if (shape === undefined) {
        if (open.has(child)) return "an alias refers to a list or map that holds it (a loop)";
        push(child);
      } else {
        top.values += shape.values;
        top.depth = Math.max(top.depth, shape.depth + 1);
      }
      continue;
    }
    stack.pop();
    open.delete(top.node);
    if (top.depth > MAX_DEPTH) return `aliases nest lists and maps deeper than ${MAX_DEPTH} levels`;
    done.set(top.node, { values: top.values, depth: top.depth });
    const parent = stack[stack.length - 1];
    if (parent !== undefined) {
      parent.values += top.values;
      parent.depth = Math.max(parent.depth, top.depth + 1);
    } else {
      const limit = 10 * written + 10_000;
      if (top.values > limit) {
        return `aliases expand the file to more than ${limit} values: refused as an alias bomb ("billion laughs")`;
      }
    }
  }
  return undefined;
}

export function validateConfig(
  input: unknown,
  source = "config",
  configDir = process.cwd(),
): Readonly<Config> {
  return validate(input, source, "caller's", configDir);
}

/**
 * Whose the value to validate is: the caller's (left as it is), parsed here by js-yaml (nobody
 * else holds it, but aliases may share parts of it), or read by the YAML fast path (parsed here,
 * and no part of it appears twice).
 */
type Ownership = "caller's" | "parsed" | "plain tree";

/**
 * The schema, then the checks across the model. Customers go through the schema one by one (the
 * same issues, with the same paths), a plainly valid one by the schema's fast path
 * (schema/customer-fast-path.ts: about half the time of zod for 100 000 customers). A value
 * parsed here is not held twice for a config of 100 000 customers: each customer's raw copy is
 * dropped once validated, and those of a plain tree become the config's where they fit.
 */
function validate(
  input: unknown,
  source: string,
  ownership: Ownership,
  configDir: string,
): Readonly<Config> {
  const whole = isRecord(input) ? input : undefined;
  const raw = Array.isArray(whole?.customers) ? (whole.customers as unknown[]) : undefined;
  const res = configSchema.safeParse(raw === undefined ? input : { ...whole, customers: [] });
  const issues = res.success ? [] : [...res.error.issues];
  const customers: CustomerConfig[] = [];
  for (let k = 0; raw !== undefined && k < raw.length; k++) {
    const plain = plainCustomer(raw[k], ownership === "plain tree");
    const c =
      plain === undefined
        ? customerSchema.safeParse(raw[k])
        : { success: true as const, data: plain };
    if (c.success) customers.push(c.data);
    else
      for (const issue of c.error.issues)
        issues.push({ ...issue, path: ["customers", k, ...issue.path] });
    if (ownership !== "caller's") raw[k] = undefined;
  }
  if (issues.length > 0) throw invalid(source, issues.map(formatIssue));
  // Data paths absolute before the checks, so that two keys naming one file are seen as one.
  const cfg = resolveDataPaths(
    raw === undefined ? res.data! : { ...res.data!, customers },
    resolve(configDir),
  );
  const problems = [...validateModel(cfg), ...validateResources(cfg), ...validateRegistry(cfg)];
  if (problems.length > 0) throw invalid(source, problems);
  return deepFreeze(cfg);
}

function invalid(source: string, lines: readonly string[]): FlowtallyError {
  return new FlowtallyError(
    "FT_CONFIG_INVALID",
    `${printable(source)}: invalid config\n  ${lines.map((l) => printable(l)).join("\n  ")}`,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  return `${path === "" ? "(top level)" : path}: ${issueReason(issue)}`;
}

/** Freezes every object and array under `v`; by hand, without recursion or a key list per object. */
function deepFreeze<T>(v: T): T {
  const stack: object[] = [];
  const visit = (c: unknown) => {
    if (c !== null && typeof c === "object" && !Object.isFrozen(c)) stack.push(c);
  };
  visit(v);
  while (stack.length > 0) {
    const o = stack.pop()!;
    Object.freeze(o);
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) visit(o[i]);
    } else {
      for (const k in o) visit((o as Record<string, unknown>)[k]);
    }
  }
  return v;
}
