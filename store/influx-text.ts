/**
 * The text formats of the InfluxDB store (scale-out issue): line protocol for writes (InfluxDB
 * 1.x `/write`, the same on 2.x/3.x) and InfluxQL literals for queries, escaped so that no tag
 * value or query parameter can break out of its place. Pure.
 *
 * Line protocol (docs.influxdata.com, "Line protocol" reference, 1.x): in measurement names,
 * commas and spaces are escaped with a backslash; in tag keys, tag values and field keys, commas,
 * equals signs and spaces; string field values are double-quoted with `"` and `\` escaped. A
 * newline cannot be escaped anywhere: it ends the point, so it is refused. Tag values may not be
 * empty: an empty one is left out (InfluxDB drops it too). A backslash at the end of a tag value
 * would escape the separator after it, so backslashes in names and tag values are refused as well
 * (flowtally's ids never contain them: config ids are [A-Za-z0-9_.-]).
 *
 * InfluxQL: identifiers in double quotes and string literals in single quotes, with the quote
 * and the backslash escaped by a backslash.
 */

/** A value that cannot be written in line protocol (a newline, a backslash, a non-finite number). */
export class LineProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LineProtocolError";
  }
}

function check(kind: string, text: string): void {
  if (text.length === 0) throw new LineProtocolError(`${kind} is empty`);
  if (/[\n\r\\]/.test(text)) {
    throw new LineProtocolError(`${kind} ${JSON.stringify(text)} holds a newline or a backslash`);
  }
}

export function escapeMeasurement(name: string): string {
  check("measurement", name);
  return name.replace(/[, ]/g, (c) => `\\${c}`);
}

/** Tag keys, tag values and field keys. */
export function escapeKey(text: string): string {
  check("key or tag value", text);
  return text.replace(/[,= ]/g, (c) => `\\${c}`);
}

export interface Point {
  measurement: string;
  /** Tags in the order given; empty values are left out. */
  tags: ReadonlyArray<readonly [string, string]>;
  /** Numeric fields (written as floats: counters may carry a fraction). */
  fields: ReadonlyArray<readonly [string, number]>;
  /** ms since the epoch (write with `precision=ms`). */
  timeMs: number;
}

/** One point as a line (no trailing newline). */
export function pointLine(p: Point): string {
  let line = escapeMeasurement(p.measurement);
  for (const [k, v] of p.tags) {
    if (v === "") continue;
    line += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  if (p.fields.length === 0) throw new LineProtocolError("a point needs at least one field");
  line += " ";
  p.fields.forEach(([k, v], i) => {
    if (!Number.isFinite(v)) throw new LineProtocolError(`field ${k}: ${v} is not a finite number`);
    line += `${i > 0 ? "," : ""}${escapeKey(k)}=${formatFloat(v)}`;
  });
  if (!Number.isSafeInteger(p.timeMs)) {
    throw new LineProtocolError(`time ${p.timeMs} is not whole milliseconds`);
  }
  return `${line} ${p.timeMs}`;
}

/** A float field value InfluxDB reads back exactly (JS's shortest round-trip form). */
function formatFloat(v: number): string {
  // Integers up to 2^53 print without an exponent; others use the shortest exact form.
  return Object.is(v, -0) ? "0" : String(v);
}

/** An InfluxQL identifier ("measurement", "tag"). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** An InfluxQL string literal ('value'). */
export function quoteString(value: string): string {
  return `'${value.replace(/['\\]/g, (c) => `\\${c}`)}'`;
}
