/**
 * SQL statements with their parameters written in as literals, for a database call that takes a
 * script of several statements but no parameters (DuckDB's query: one call, one trip through
 * the event loop, where a prepared statement costs three). Pure.
 *
 * Only for the values flowtally's registry writes: strings (ids, JSON text, actors), finite
 * numbers and null. A string becomes a standard SQL literal: quoted, its quotes doubled; with
 * standard strings (DuckDB's and PostgreSQL's default) nothing else is special, and JSON text
 * holds no raw control character. A string with a NUL (which neither database stores) is refused.
 */

export type SqlValue = string | number | null;

export function sqlLiteral(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value.includes("\u0000")) throw new TypeError("a string with a NUL character");
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * `sql` with each placeholder `$k` (1-based) replaced by the literal of `params[k - 1]`, in one
 * pass over the statement (a literal written in is never read again for placeholders). The
 * statement's own text must hold no `$` but its placeholders (flowtally's registry statements).
 */
export function inlineParameters(sql: string, params: readonly SqlValue[] = []): string {
  return sql.replace(/\$(\d+)/g, (_, k: string) => {
    const i = Number(k) - 1;
    if (i < 0 || i >= params.length) {
      throw new RangeError(`placeholder $${k} without a parameter (${params.length} given)`);
    }
    return sqlLiteral(params[i]!);
  });
}
