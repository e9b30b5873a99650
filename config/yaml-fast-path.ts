/**
 * The common case of a config file without js-yaml: a config of 100 000 customers spent 1.1 s of
 * its 3 s start-up (and most of its garbage) in js-yaml's general parser. {@link plainYaml}
 * returns what `load(text, { schema: CORE_SCHEMA })` returns (the same keys in the same order,
 * the same numbers, new objects and arrays) when the text keeps to a plain subset of YAML, and
 * undefined for anything else: then js-yaml parses the whole text and says what is wrong, so
 * every message still comes from js-yaml alone. yaml-fast-path.test.ts checks it against js-yaml
 * on every YAML file of the repository, the docs' examples and random documents in and just
 * outside the subset.
 *
 * The subset, one line at a time (what a config is written in):
 * - a block mapping at the top, at column 0; `key: value` and `key:` with a nested block mapping
 *   or block sequence below it (the sequence may sit at the key's own column);
 * - block sequences of `- value` and `- key: value` (a mapping that starts on the dash's line);
 * - keys of letters, digits and `_ . - /` that are strings in the core schema (`id`, `1m`);
 * - plain scalars on one line (`#` after a space starts a comment), single- and double-quoted
 *   scalars on one line with their escapes, and flow sequences `[a, "b", 10]` and flow
 *   mappings `{ a: 1 }` of those on one line, nested;
 * - comments, blank lines, CRLF line ends.
 * Anything else gives undefined: text that is not UTF-8, tabs, control characters, a byte order
 * mark, anchors, aliases, tags, block scalars, multi-line scalars and flow collections, `?` keys,
 * quoted or null keys, a repeated key, document markers and directives, nesting past
 * {@link MAX_DEPTH}, and plain scalars the core schema reads as something else than a string,
 * null, a boolean, a decimal integer in the safe range or a plain decimal fraction (hex, octal,
 * exponents, `.inf` ...).
 * Only aliases repeat a value, so a text read here holds no alias to check.
 *
 * It reads a file's bytes as they are (UTF-8), a window of them at a time: the 21 MB of 100 000
 * customers are neither decoded into a string nor held whole (memory touched for the first time
 * costs about 3 ms a MB on this VM, twice over for the bytes and then their text), and only the
 * strings of the values are made.
 */
import { isAscii, isUtf8 } from "node:buffer";

/** Thrown (not an Error: no stack to capture) when the text leaves the subset. */
const NOT_PLAIN = Symbol("not plain YAML");

/**
 * Unpaired surrogates, which a string can hold and UTF-8 cannot (js-yaml refuses them in a
 * scalar). The other characters left to js-yaml are looked for in the bytes (Reader.lineEnd).
 */
const UNPAIRED_SURROGATE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?:[^\ud800-\udbff]|^)[\udc00-\udfff]/;

/** js-yaml refuses nesting past 100 nodes (its maxDepth); well below, so no count is exact. */
const MAX_DEPTH = 50;

const LF = 10;
const CR = 13;
const SPACE = 32;
const DOUBLE_QUOTE = 34;
const HASH = 35;
const SINGLE_QUOTE = 39;
const COMMA = 44;
const DASH = 45;
const COLON = 58;
const QUESTION = 63;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** Integers the core schema reads as the same Number (no sign on 0: js-yaml reads `-0` as 0). */
const DECIMAL_INT = /^(?:0|-?[1-9][0-9]{0,14})$/;
/** Fractions whose value js-yaml computes as Number() does (sign * parseFloat of the rest). */
const DECIMAL_FRACTION = /^-?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}$/;
/** Every plain scalar js-yaml's core schema could read as an int or a float (and more). */
const NUMBER_LIKE =
  /^[-+]?(?:0b[01]*|0x[0-9a-fA-F]*|0o[0-7]*|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF|nan|NaN|NAN))$/;

/** The core schema's null and booleans, as plain scalars. */
const WORDS = new Map<string, null | boolean>([
  ["~", null],
  ["null", null],
  ["Null", null],
  ["NULL", null],
  ["true", true],
  ["True", true],
  ["TRUE", true],
  ["false", false],
  ["False", false],
  ["FALSE", false],
]);

/** js-yaml's one-character escapes in double-quoted scalars (`\x`, `\u`, `\U` apart). */
const ESCAPES = new Map<number, string>(
  (
    [
      ["0", "\u0000"],
      ["a", "\u0007"],
      ["b", "\b"],
      ["t", "\t"],
      ["n", "\n"],
      ["v", "\v"],
      ["f", "\f"],
      ["r", "\r"],
      ["e", "\u001b"],
      [" ", " "],
      ['"', '"'],
      ["/", "/"],
      ["\\", "\\"],
      ["N", "\u0085"],
      ["_", "\u00a0"],
      ["L", "\u2028"],
      ["P", "\u2029"],
    ] as const
  ).map(([c, s]) => [c.charCodeAt(0), s]),
);
/** Hex digits after `\x`, `\u` and `\U`. */
const HEX_ESCAPES = new Map<number, number>([
  [0x78, 2],
  [0x75, 4],
  [0x55, 8],
]);

/** Bytes read at a time from a file (a line longer than that is read whole). */
const WINDOW = 1 << 18;

/**
 * Reads the next bytes of a file into `into` from `offset`, at most `length` of them; returns
 * how many, 0 at the end of the file.
 */
export type ReadMore = (into: Uint8Array, offset: number, length: number) => number;

/**
 * The value js-yaml's `load(text, { schema: CORE_SCHEMA })` returns, when `text` (UTF-8 bytes,
 * or a file's, as `readMore` reads them) is a block mapping in the subset above; undefined when
 * it is not (parse the text with js-yaml then). What `readMore` throws is thrown.
 */
export function plainYaml(
  text: string | Uint8Array | ReadMore,
): Record<string, unknown> | undefined {
  if (typeof text === "string" && UNPAIRED_SURROGATE.test(text)) return undefined;
  try {
    return new Reader(typeof text === "function" ? text : wholeText(text)).document();
  } catch (e) {
    if (e === NOT_PLAIN) return undefined;
    throw e;
  }
}

/** A ReadMore over the UTF-8 bytes of `text`. */
function wholeText(text: string | Uint8Array): ReadMore {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  let at = 0;
  return (into, offset, length) => {
    const n = Math.min(length, bytes.length - at);
    into.set(bytes.subarray(at, at + n), offset);
    at += n;
    return n;
  };
}

/**
 * Reads the text line by line. The current line is the next one with content (blank and
 * comment-only lines are skipped as they are found): `indent` spaces, content from `lineStart +
 * indent` to `end` (before the line break), and `pos`, where reading within it is; `indent` is
 * -1 past the last line, so that every open block ends there.
 */
class Reader {
  /**
   * The window: the bytes of the text from the start of the current line (or a little before)
   * up to `length`, and a 0 after them, which stops every scan as the end of the text would.
   */
  private bytes: Buffer;
  private length = 0;
  /** The text is read to its end. */
  private ended = false;
  private readonly readMore: ReadMore;
  /** The window's whole lines are ASCII: a string is a byte a character, short ones are kept. */
  private ascii = true;
  private lineStart = 0;
  private indent = -1;
  private pos = 0;
  private end = 0;
  /** Where the line after the current one starts. */
  private next = 0;
  /**
   * Short strings made once (keys, and values such as `business` or `100M`): each slice is a new
   * string that lives as long as the config (and a key is hashed again for each object).
   */
  private readonly strings: Array<string | undefined> = new Array(1024);
  /**
   * The entries of the sequences being read, in one array for all: a sequence is cut to its size
   * when it ends. An array grown by push holds 17 entries or more: 150 bytes for a link's one
   * prefix (half the memory of a config of 100 000 customers).
   */
  private readonly items: unknown[] = [];
  private itemCount = 0;

  constructor(readMore: ReadMore) {
    this.readMore = readMore;
    this.bytes = Buffer.allocUnsafe(WINDOW + 1);
  }

  document(): Record<string, unknown> | undefined {
    this.refill(0);
    this.seekLine(0);
    if (this.indent !== 0) return undefined; // empty, or a top level not at column 0
    // It ends only past the last line: no line is indented less than column 0.
    return this.blockMapping(0, 1);
  }

  /**
   * Moves to the first line from `from` with content; past the end, `indent` is -1. Each byte of
   * the text is looked at here once, for the characters left to js-yaml.
   */
  private seekLine(from: number): void {
    let start = from;
    for (;;) {
      if (start >= this.length) {
        if (this.ended) break;
        start -= this.refill(start);
      }
      let p = start;
      while (this.bytes[p] === SPACE) p++;
      const lineEnd = this.lineEnd(p);
      if (lineEnd === this.length && !this.ended) {
        // The line goes on past the window: the window moves on to it.
        start -= this.refill(start);
        continue;
      }
      const b = this.bytes;
      const c = b[p];
      if (p === lineEnd || c === HASH || (c === CR && p + 1 === lineEnd)) {
        start = lineEnd + 1;
        continue;
      }
      this.lineStart = start;
      this.indent = p - start;
      this.pos = p;
      this.end = b[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
      this.next = lineEnd + 1;
      return;
    }
    this.lineStart = this.pos = this.end = this.next = this.length;
    this.indent = -1;
  }

  /**
   * Moves the bytes from `keep` on to the start of the window (a bigger one if they fill it),
   * reads more after them, and checks the whole lines now in it: bytes that are not UTF-8 are
   * js-yaml's to read (decoded, they would be U+FFFD). Returns how far the bytes moved.
   */
  private refill(keep: number): number {
    let b = this.bytes;
    const kept = this.length - keep;
    if (kept + 1 >= b.length) {
      const bigger = Buffer.allocUnsafe(2 * b.length);
      b.copy(bigger, 0, keep, this.length);
      this.bytes = b = bigger;
    } else b.copyWithin(0, keep, this.length);
    this.length = kept;
    while (!this.ended && this.length + 1 < b.length) {
      const n = this.readMore(b, this.length, b.length - 1 - this.length);
      if (n === 0) this.ended = true;
      this.length += n;
      if (n > 0 && b.lastIndexOf(LF, this.length - 1) >= kept) break;
    }
    b[this.length] = 0;
    const whole = this.ended ? this.length : b.lastIndexOf(LF, this.length - 1) + 1;
    const lines = b.subarray(0, whole);
    if (!isUtf8(lines)) throw NOT_PLAIN;
    this.ascii = isAscii(lines);
    return keep;
  }

  /**
   * Where the line with `p` ends (its LF, or the end of the text). Throws at a character left to
   * js-yaml: C0 controls but LF (tabs too: js-yaml refuses them in indentation and they matter in
   * scalars), a CR not before an LF, DEL and C1 controls, the Unicode line and paragraph
   * separators, a byte order mark and U+FFFE/U+FFFF.
   */
  private lineEnd(from: number): number {
    const b = this.bytes;
    const length = this.length;
    for (let p = from; p < length; p++) {
      const c = b[p]!;
      if (c >= 0x20 && c < 0x7f) continue;
      if (c === LF) return p;
      // What follows may not be in the window yet: the line is looked at again when it is.
      if (p + 2 >= length && !this.ended) return length;
      if (c === CR && b[p + 1] === LF) continue;
      if (c < 0x80) throw NOT_PLAIN;
      const c1 = b[p + 1];
      const c2 = b[p + 2];
      if (
        (c === 0xc2 && c1! < 0xa0) || // U+0080-U+009F (c1 >= 0x80: valid UTF-8)
        (c === 0xe2 && c1 === 0x80 && (c2 === 0xa8 || c2 === 0xa9)) ||
        (c === 0xef && c1 === 0xbb && c2 === 0xbf) ||
        (c === 0xef && c1 === 0xbf && (c2 === 0xbe || c2 === 0xbf))
      ) {
        throw NOT_PLAIN;
      }
    }
    return length;
  }

  /** `- ` (or a lone `-`) at `pos`: a block sequence entry. */
  private atEntry(): boolean {
    const b = this.bytes;
    const p = this.pos;
    return b[p]! === DASH && (p + 1 === this.end || b[p + 1]! === SPACE);
  }

  /**
   * A block mapping whose keys stand at column `column`; `pos` is at its first key. Ends before
   * the first line indented less, which its caller looks at.
   */
  private blockMapping(column: number, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw NOT_PLAIN;
    const out: Record<string, unknown> = {};
    for (;;) {
      const colon = this.keyEnd();
      if (colon < 0) throw NOT_PLAIN;
      const key = this.key(this.pos, colon);
      // js-yaml refuses a repeated key: it says where.
      if (Object.hasOwn(out, key)) throw NOT_PLAIN;
      this.pos = colon + 1;
      out[key] = this.mappingValue(column, depth);
      if (this.indent < column) return out;
      // A deeper line after a value continues a multi-line scalar or is an error.
      if (this.indent > column) throw NOT_PLAIN;
    }
  }

  /** The value after `key:`; leaves the reader on the next line with content. */
  private mappingValue(column: number, depth: number): unknown {
    const b = this.bytes;
    let p = this.pos;
    while (b[p]! === SPACE) p++;
    if (p < this.end && b[p]! !== HASH) {
      this.pos = p;
      const value = this.lineValue(depth + 1);
      this.seekLine(this.next);
      return value;
    }
    // Nothing after the colon but a comment: the value is the block below, or null.
    this.seekLine(this.next);
    if (this.indent > column) {
      return this.atEntry()
        ? this.blockSequence(this.indent, depth + 1)
        : this.blockMapping(this.indent, depth + 1);
    }
    if (this.indent === column && this.atEntry()) return this.blockSequence(column, depth + 1);
    return null;
  }

  /**
   * A block sequence whose dashes stand at column `column`, the first at `pos`. Ends before the
   * first line indented less or at its column without a dash, which its caller looks at.
   */
  private blockSequence(column: number, depth: number): unknown[] {
    if (depth > MAX_DEPTH) throw NOT_PLAIN;
    const first = this.itemCount;
    for (;;) {
      const b = this.bytes; // the window may have moved since the last entry
      let p = this.pos + 1;
      while (b[p]! === SPACE) p++;
      // An entry whose value is below its dash, or null, and `- - x`: left to js-yaml.
      if (p >= this.end || b[p]! === HASH) throw NOT_PLAIN;
      this.pos = p;
      if (this.atEntry()) throw NOT_PLAIN;
      let entry: unknown;
      if (this.keyEnd() >= 0) entry = this.blockMapping(p - this.lineStart, depth + 1);
      else {
        entry = this.lineValue(depth + 1);
        this.seekLine(this.next);
      }
      this.items[this.itemCount++] = entry;
      if (this.indent > column) throw NOT_PLAIN;
      if (this.indent < column || !this.atEntry()) return this.takeItems(first);
    }
  }

  /** The entries from `first` on, as an array of their number, and off the stack. */
  private takeItems(first: number): unknown[] {
    const out = this.items.slice(first, this.itemCount);
    this.itemCount = first;
    return out;
  }

  /**
   * Where the colon of a `key: ` (or `key:` at the line's end) at `pos` is, or -1 when `pos` does
   * not start one. Keys are letters, digits and `_ . - /`, starting with a letter, digit or `_`.
   */
  private keyEnd(): number {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    let c = b[p]!;
    if (!(isWordCode(c) || c === 95)) return -1;
    do c = b[++p]!;
    while (isKeyCode(c));
    if (c !== COLON || p === start) return -1;
    return p + 1 === this.end || b[p + 1]! === SPACE ? p : -1;
  }

  /** The key text from `start` to `end` as the core schema reads it: only strings are kept. */
  private key(start: number, end: number): string {
    const key = this.plain(start, end);
    if (typeof key !== "string" || key === "__proto__") throw NOT_PLAIN;
    return key;
  }

  /** The plain scalar from `start` to `end`: a short string is taken from those made before. */
  private plain(start: number, end: number): unknown {
    const b = this.bytes;
    const length = end - start;
    if (length > 12 || !this.ascii) return plainScalar(this.string(start, end));
    const slot = (b[start]! * 31 + length * 7 + b[end - 1]!) & 1023;
    const known = this.strings[slot];
    if (known !== undefined && known.length === length) {
      let k = 0;
      while (k < length && known.charCodeAt(k) === b[start + k]) k++;
      if (k === length) return known;
    }
    const value = plainScalar(this.string(start, end));
    if (typeof value === "string") this.strings[slot] = value;
    return value;
  }

  /** The text from byte `start` to `end`. */
  private string(start: number, end: number): string {
    return this.bytes.toString(this.ascii ? "latin1" : "utf8", start, end);
  }

  /**
   * A value that starts at `pos` and ends on this line (a flow collection, a quoted or a plain
   * scalar), and nothing after it but spaces and a comment.
   */
  private lineValue(depth: number): unknown {
    const b = this.bytes;
    const c = b[this.pos]!;
    let value: unknown;
    if (c === OPEN_BRACKET || c === OPEN_BRACE) value = this.flowCollection(depth);
    else if (c === DOUBLE_QUOTE) value = this.doubleQuoted();
    else if (c === SINGLE_QUOTE) value = this.singleQuoted();
    else return this.blockPlain();
    let p = this.pos;
    while (b[p]! === SPACE) p++;
    if (p < this.end && !(b[p]! === HASH && p > this.pos)) throw NOT_PLAIN;
    return value;
  }

  /** A plain scalar in a block, to the end of the line or a comment. */
  private blockPlain(): unknown {
    const b = this.bytes;
    const start = this.pos;
    const end = this.end;
    if (!plainStart(b, start, end, false)) throw NOT_PLAIN;
    let last = start;
    for (let p = start + 1; p < end; p++) {
      const c = b[p]!;
      if (c === SPACE) continue;
      if (c === HASH && b[p - 1]! === SPACE) break;
      // `a: b` after a key or a dash is a mapping js-yaml would refuse or read otherwise.
      if (c === COLON && (p + 1 === end || b[p + 1]! === SPACE)) throw NOT_PLAIN;
      last = p;
    }
    this.pos = end;
    return this.plain(start, last + 1);
  }

  /** `[...]` or `{...}` at `pos`, on this line; `pos` ends after it. */
  private flowCollection(depth: number): unknown[] | Record<string, unknown> {
    if (depth > MAX_DEPTH) throw NOT_PLAIN;
    const b = this.bytes;
    const isMapping = b[this.pos]! === OPEN_BRACE;
    const close = isMapping ? CLOSE_BRACE : CLOSE_BRACKET;
    const first = this.itemCount;
    const map: Record<string, unknown> | undefined = isMapping ? {} : undefined;
    this.pos++;
    // As js-yaml: entries separated by commas, one more comma before the end allowed.
    let more = true;
    for (;;) {
      this.skipFlowSpaces();
      const c = b[this.pos]!;
      if (c === close) {
        this.pos++;
        return map ?? this.takeItems(first);
      }
      if (!more || c === COMMA) throw NOT_PLAIN;
      if (map !== undefined) this.flowPair(map, depth);
      else {
        const entry = this.flowNode(depth + 1);
        this.items[this.itemCount++] = entry;
        this.skipFlowSpaces();
        // `[a: b]` is a mapping inside the sequence.
        if (b[this.pos]! === COLON) throw NOT_PLAIN;
      }
      more = b[this.pos]! === COMMA;
      if (more) this.pos++;
    }
  }

  /** `key: value` in a flow mapping; `pos` ends after the value and the spaces after it. */
  private flowPair(map: Record<string, unknown>, depth: number): void {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    let c = b[p]!;
    if (!(isWordCode(c) || c === 95)) throw NOT_PLAIN;
    do c = b[++p]!;
    while (isKeyCode(c));
    const key = this.key(start, p);
    this.pos = p;
    this.skipFlowSpaces();
    // `{a}` and `{a:1}` (a key "a:1") are js-yaml's.
    if (b[this.pos]! !== COLON || b[this.pos + 1]! !== SPACE) throw NOT_PLAIN;
    this.pos++;
    this.skipFlowSpaces();
    c = b[this.pos]!;
    if (c === COMMA || c === CLOSE_BRACE || Object.hasOwn(map, key)) throw NOT_PLAIN;
    map[key] = this.flowNode(depth + 1);
    this.skipFlowSpaces();
  }

  /** Spaces inside a flow collection; its end of line or a comment is left to js-yaml. */
  private skipFlowSpaces(): void {
    const b = this.bytes;
    let p = this.pos;
    while (b[p]! === SPACE) p++;
    if (p >= this.end || b[p]! === HASH) throw NOT_PLAIN;
    this.pos = p;
  }

  private flowNode(depth: number): unknown {
    const c = this.bytes[this.pos]!;
    if (c === OPEN_BRACKET || c === OPEN_BRACE) return this.flowCollection(depth);
    if (c === DOUBLE_QUOTE) return this.doubleQuoted();
    if (c === SINGLE_QUOTE) return this.singleQuoted();
    return this.flowPlain();
  }

  /** A plain scalar in a flow collection: it ends at `,[]{}` or a colon before a space. */
  private flowPlain(): unknown {
    const b = this.bytes;
    const start = this.pos;
    const end = this.end;
    if (!plainStart(b, start, end, true)) throw NOT_PLAIN;
    let last = start;
    let p = start + 1;
    for (; p < end; p++) {
      const c = b[p]!;
      if (c === SPACE) continue;
      if (isFlowIndicator(c)) break;
      if (c === COLON) {
        const after = b[p + 1]!;
        if (p + 1 === end || after === SPACE || isFlowIndicator(after)) break;
      } else if (c === HASH && b[p - 1]! === SPACE) throw NOT_PLAIN;
      last = p;
    }
    if (p >= end) throw NOT_PLAIN; // the collection goes on on the next line
    this.pos = p;
    return this.plain(start, last + 1);
  }

  /** `'...'` on this line, `''` standing for one quote. */
  private singleQuoted(): string {
    const b = this.bytes;
    let start = this.pos + 1;
    let out = "";
    for (;;) {
      const q = b.indexOf(SINGLE_QUOTE, start);
      if (q < 0 || q >= this.end) throw NOT_PLAIN;
      if (b[q + 1]! !== SINGLE_QUOTE) {
        this.pos = q + 1;
        return out + this.string(start, q);
      }
      out += this.string(start, q + 1);
      start = q + 2;
    }
  }

  /** `"..."` on this line, with js-yaml's escapes (an unknown one is js-yaml's to refuse). */
  private doubleQuoted(): string {
    const b = this.bytes;
    const end = this.end;
    let start = this.pos + 1;
    let out = "";
    for (let p = start; p < end; p++) {
      const c = b[p]!;
      if (c === DOUBLE_QUOTE) {
        this.pos = p + 1;
        return out + this.string(start, p);
      }
      if (c !== BACKSLASH) continue;
      out += this.string(start, p);
      const e = b[++p]!;
      const simple = ESCAPES.get(e);
      if (simple !== undefined) out += simple;
      else {
        const digits = HEX_ESCAPES.get(e);
        if (digits === undefined || p + digits >= end) throw NOT_PLAIN;
        out += fromCodePoint(hexValue(b, p + 1, digits));
        p += digits;
      }
      start = p + 1;
    }
    throw NOT_PLAIN; // closed on a later line, or never
  }
}

/** The core schema's reading of a plain scalar; throws for the readings left to js-yaml. */
function plainScalar(s: string): unknown {
  const c = s.charCodeAt(0);
  if ((c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2b || c === 0x2e) {
    // An address or a rate (`10.0.0.0/28`, `100M`) is told apart without three regexes.
    if (!onlyNumberCharacters(s)) return s;
    if (DECIMAL_INT.test(s) || DECIMAL_FRACTION.test(s)) return Number(s);
    if (NUMBER_LIKE.test(s)) throw NOT_PLAIN;
    return s;
  }
  if (s.length <= 5) {
    const word = WORDS.get(s);
    if (word !== undefined) return word;
  }
  return s;
}

/**
 * Whether every character of `s` may be part of what {@link NUMBER_LIKE} matches: digits, signs,
 * the dot, `_`, the letters of hex digits, `x`, `o`, `e`, and those of `inf` and `nan`.
 */
function onlyNumberCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20; // lower case for letters; digits, `+ - .` stay as they are
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x7f || // `_` | 0x20 (DEL never gets here)
      (c >= 0x61 && c <= 0x66) || // a-f
      c === 0x69 || // i
      c === 0x6e || // n
      c === 0x6f || // o
      c === 0x78; // x
    if (!ok) return false;
  }
  return true;
}

/**
 * Whether a plain scalar may start at `p` (js-yaml's rule): not with an indicator, and `-`, `?`
 * and `:` only before a character that is not a space (nor a flow indicator in a flow). `?` and
 * `:` are left to js-yaml altogether.
 */
function plainStart(b: Uint8Array, p: number, end: number, inFlow: boolean): boolean {
  const c = b[p]!;
  switch (c) {
    case COMMA:
    case OPEN_BRACKET:
    case CLOSE_BRACKET:
    case OPEN_BRACE:
    case CLOSE_BRACE:
    case HASH:
    case 0x26: // &
    case 0x2a: // *
    case 0x21: // !
    case 0x7c: // |
    case 0x3e: // >
    case SINGLE_QUOTE:
    case DOUBLE_QUOTE:
    case 0x25: // %
    case 0x40: // @
    case 0x60: // `
    case QUESTION:
    case COLON:
    case SPACE:
      return false;
    case DASH: {
      if (p + 1 >= end) return false;
      const after = b[p + 1]!;
      return after !== SPACE && !(inFlow && isFlowIndicator(after));
    }
    default:
      return true;
  }
}

function isFlowIndicator(c: number): boolean {
  return (
    c === COMMA ||
    c === OPEN_BRACKET ||
    c === CLOSE_BRACKET ||
    c === OPEN_BRACE ||
    c === CLOSE_BRACE
  );
}

/** ASCII letters and digits. */
function isWordCode(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

/** Letters, digits and `_ . - /`. */
function isKeyCode(c: number): boolean {
  return isWordCode(c) || c === 95 || c === 0x2e || c === DASH || c === 0x2f;
}

/** `digits` hex digits from `p`, as js-yaml adds them up (32-bit shifts). */
function hexValue(b: Uint8Array, p: number, digits: number): number {
  let value = 0;
  for (let k = 0; k < digits; k++) {
    const d = hexDigit(b[p + k]!);
    if (d < 0) throw NOT_PLAIN;
    value = (value << 4) + d;
  }
  return value;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** js-yaml's charFromCodepoint, out-of-range values included. */
function fromCodePoint(c: number): string {
  if (c <= 0xffff) return String.fromCharCode(c);
  return String.fromCharCode(((c - 0x10000) >> 10) + 0xd800, ((c - 0x10000) & 0x3ff) + 0xdc00);
}
