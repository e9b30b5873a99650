/**
 * The whole registry in and out as CSV: a provisioning system's dump, one row per access link
 * with its customer's and site's columns repeated; a customer without sites, or a site without
 * links, is a row with the lower columns empty. RFC 4180 (quoted fields may hold commas, quotes
 * and line breaks), UTF-8, a header line naming the columns (any order, all of them but
 * `portalTemplate`, which a dump made before it existed lacks).
 *
 * Export makes formula-leading text inert for spreadsheets exactly as the API's CSV does (a
 * leading `'`, query/overview.ts); import takes that `'` off again, so a file exported and
 * imported gives the same tree. Pure functions: the CLI reads and writes the files.
 */

import type { z } from "zod";
import { formatPath, issueReason } from "../config/path.js";
import { type RecordPath, validateCustomers } from "../config/validate-model.js";
import { defusedCell, FORMULA_LEADING } from "../query/overview.js";
import { FlowtallyError } from "../schema/errors.js";
import {
  type CustomerRecord,
  type CustomerTreeEntry,
  customerRecordSchema,
  type LinkRecord,
  linkRecordSchema,
  type RegistrySnapshot,
  recordPath,
  type SiteRecord,
  siteRecordSchema,
} from "./model.js";

/** The columns, in the order export writes them (import takes any order). */
export const CSV_COLUMNS = [
  "customer",
  "name",
  "serviceType",
  "contact",
  "email",
  "phone",
  "address",
  "description",
  "motd",
  "portalTemplate",
  "site",
  "siteName",
  "siteAddress",
  "siteDescription",
  "link",
  "linkName",
  "linkDescription",
  "prefixes",
  "router",
  "ifIndex",
  "commitRate",
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
/** Columns an import file may leave out (empty in every row). */
const OPTIONAL_COLUMNS: ReadonlySet<CsvColumn> = new Set<CsvColumn>(["portalTemplate"]);

/** Each record's columns and the field each holds. */
const CUSTOMER_FIELDS: ReadonlyArray<[CsvColumn, keyof CustomerRecord]> = [
  ["name", "name"],
  ["serviceType", "serviceType"],
  ["contact", "contact"],
  ["email", "email"],
  ["phone", "phone"],
  ["address", "address"],
  ["description", "description"],
  ["motd", "motd"],
  ["portalTemplate", "portalTemplate"],
];
const SITE_FIELDS: ReadonlyArray<[CsvColumn, keyof SiteRecord]> = [
  ["siteName", "name"],
  ["siteAddress", "address"],
  ["siteDescription", "description"],
];
const LINK_FIELDS: ReadonlyArray<[CsvColumn, keyof LinkRecord]> = [
  ["linkName", "name"],
  ["linkDescription", "description"],
  ["prefixes", "prefixes"],
  ["router", "router"],
  ["ifIndex", "ifIndex"],
  ["commitRate", "commitRate"],
];

/** The snapshot (or a tree without revisions) as CSV, sorted as the registry sorts it. */
export function exportCsv(snapshot: Pick<RegistrySnapshot, "customers">): string {
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return "";
    const s = Array.isArray(v) ? v.join(" ") : typeof v === "string" ? defusedCell(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(",")];
  for (const c of snapshot.customers) {
    const customer = [cell(c.id), ...CUSTOMER_FIELDS.map(([, f]) => cell(c[f]))];
    if (c.sites.length === 0) {
      lines.push([...customer, ...Array(CSV_COLUMNS.length - customer.length).fill("")].join(","));
      continue;
    }
    for (const s of c.sites) {
      const site = [...customer, cell(s.id), ...SITE_FIELDS.map(([, f]) => cell(s[f]))];
      if (s.links.length === 0) {
        lines.push([...site, ...Array(CSV_COLUMNS.length - site.length).fill("")].join(","));
        continue;
      }
      for (const l of s.links) {
        lines.push([...site, cell(l.id), ...LINK_FIELDS.map(([, f]) => cell(l[f]))].join(","));
      }
    }
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** A CSV record and the line of the file it starts on. */
interface CsvRow {
  readonly line: number;
  readonly cells: string[];
}

/** RFC 4180 records; a quote inside an unquoted field, or a quote left open, is refused. */
export function parseCsvRows(text: string, source: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let k = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte order mark
  let line = 1;
  const n = text.length;
  while (k < n) {
    const start = line;
    const cells: string[] = [];
    for (;;) {
      let value = "";
      if (text[k] === '"') {
        k++;
        for (;;) {
          const q = text.indexOf('"', k);
          if (q < 0) {
            throw fileError(source, `line ${start}: a quoted field is not closed`);
          }
          const part = text.slice(k, q);
          for (let i = part.indexOf("\n"); i >= 0; i = part.indexOf("\n", i + 1)) line++;
          value += part;
          if (text[q + 1] === '"') {
            value += '"';
            k = q + 2;
            continue;
          }
          k = q + 1;
          break;
        }
        if (k < n && text[k] !== "," && text[k] !== "\r" && text[k] !== "\n") {
          throw fileError(
            source,
            `line ${line}: field ${cells.length + 1}: text after a closing quote (a quote inside a field is written "")`,
          );
        }
      } else {
        let end = k;
        while (end < n && text[end] !== "," && text[end] !== "\r" && text[end] !== "\n") end++;
        value = text.slice(k, end);
        if (value.includes('"')) {
          throw fileError(
            source,
            `line ${line}: field ${cells.length + 1}: a quote in an unquoted field (quote the field, and write a quote as "")`,
          );
        }
        k = end;
      }
      cells.push(value);
      if (k < n && text[k] === ",") {
        k++;
        continue;
      }
      break;
    }
    if (text[k] === "\r") k++;
    if (text[k] === "\n") k++;
    line++;
    // A blank line (nothing between two line breaks) is no record.
    if (!(cells.length === 1 && cells[0] === "")) rows.push({ line: start, cells });
  }
  return rows;
}

/**
 * Reads a CSV import file: the header checked (every column, no unknown or repeated one), each
 * row's records checked with the registry's schemas (problems name the line and the column), a
 * customer's and a site's columns the same on each of their rows, and the tree with the config's
 * rules (problems name the line and the record).
 */
export function parseCsvTree(text: string, source = "import"): CustomerTreeEntry[] {
  const rows = parseCsvRows(text, source);
  const header = rows.shift();
  if (header === undefined) throw fileError(source, "the file is empty: a header line is needed");
  const at = new Map<string, number>();
  const unknown: string[] = [];
  header.cells.forEach((name, k) => {
    const column = name.trim();
    if (!(CSV_COLUMNS as readonly string[]).includes(column)) unknown.push(column);
    else if (at.has(column)) unknown.push(`${column} (twice)`);
    else at.set(column, k);
  });
  const missing = CSV_COLUMNS.filter((c) => !at.has(c) && !OPTIONAL_COLUMNS.has(c));
  if (unknown.length > 0 || missing.length > 0) {
    throw fileError(
      source,
      `line ${header.line}: the header ${[
        unknown.length > 0
          ? `has unknown columns: ${unknown.map((u) => JSON.stringify(u)).join(", ")}`
          : "",
        missing.length > 0 ? `lacks columns: ${missing.join(", ")}` : "",
      ]
        .filter((s) => s !== "")
        .join("; ")} (expected: ${CSV_COLUMNS.join(",")})`,
    );
  }

  const problems: string[] = [];
  type Site = {
    record: SiteRecord;
    line: number;
    cells: string;
    links: Array<{ record: LinkRecord; line: number }>;
    linkLines: Map<string, number>;
  };
  type Customer = { record: CustomerRecord; line: number; cells: string; sites: Map<string, Site> };
  const customers = new Map<string, Customer>();

  for (const row of rows) {
    const where = (column: CsvColumn) => `line ${row.line}, column ${column}`;
    if (row.cells.length !== header.cells.length) {
      problems.push(
        `line ${row.line}: ${row.cells.length} fields where the header has ${header.cells.length}`,
      );
      continue;
    }
    const get = (c: CsvColumn): string => {
      const k = at.get(c);
      return k === undefined ? "" : restored(row.cells[k]!);
    };
    /** A record from its columns (empty: absent), checked with its schema. */
    const record = <T>(
      schema: z.ZodType<T>,
      idColumn: CsvColumn,
      fields: ReadonlyArray<[CsvColumn, string]>,
    ): T | undefined => {
      const value: Record<string, unknown> = { id: get(idColumn) };
      const column: Record<string, CsvColumn> = { id: idColumn };
      for (const [c, f] of fields) {
        column[f] = c;
        const text = get(c);
        if (text === "") continue;
        if (f === "prefixes") value[f] = text.split(/\s+/).filter((p) => p !== "");
        else if (f === "ifIndex") {
          if (!/^[0-9]+$/.test(text.trim())) {
            problems.push(`${where(c)}: ${JSON.stringify(text)} is not a whole number`);
            return undefined;
          }
          value[f] = Number(text);
        } else if (f === "commitRate" && /^[0-9]+$/.test(text.trim())) value[f] = Number(text);
        else value[f] = text;
      }
      const r = schema.safeParse(value);
      if (r.success) return r.data;
      for (const i of r.error.issues) {
        const [field, ...rest] = i.path as PropertyKey[];
        const c = column[String(field)];
        problems.push(
          `${c === undefined ? `line ${row.line}` : where(c)}${rest.length > 0 ? formatPath(rest).replace(/^(?!\[)/, ".") : ""}: ${issueReason(i)}`,
        );
      }
      return undefined;
    };
    const fieldsOf = (list: ReadonlyArray<[CsvColumn, string]>) =>
      list.map(([c]) => get(c)).join("\u0000");
    const emptyFrom = (list: readonly CsvColumn[]) => list.filter((c) => get(c) !== "");

    const customerId = get("customer");
    if (customerId === "") {
      problems.push(`${where("customer")}: the customer id is empty`);
      continue;
    }
    let c = customers.get(customerId);
    const customerCells = fieldsOf(CUSTOMER_FIELDS);
    if (c === undefined) {
      const r = record(customerRecordSchema, "customer", CUSTOMER_FIELDS);
      if (r === undefined) continue;
      c = { record: r, line: row.line, cells: customerCells, sites: new Map() };
      customers.set(customerId, c);
    } else if (c.cells !== customerCells) {
      const differs = CUSTOMER_FIELDS.find(
        (_, k) => customerCells.split("\u0000")[k] !== c!.cells.split("\u0000")[k],
      )!;
      problems.push(
        `${where(differs[0])}: differs from line ${c.line}, customer ${customerId}'s first row (a customer's columns are the same on each of its rows)`,
      );
      continue;
    }

    const siteId = get("site");
    if (siteId === "") {
      const stray = emptyFrom([
        ...SITE_FIELDS.map(([col]) => col),
        "link",
        ...LINK_FIELDS.map(([col]) => col),
      ]);
      if (stray.length > 0) problems.push(`${where(stray[0]!)}: given on a row without a site id`);
      continue;
    }
    let s = c.sites.get(siteId);
    const siteCells = fieldsOf(SITE_FIELDS);
    if (s === undefined) {
      const r = record(siteRecordSchema, "site", SITE_FIELDS);
      if (r === undefined) continue;
      s = { record: r, line: row.line, cells: siteCells, links: [], linkLines: new Map() };
      c.sites.set(siteId, s);
    } else if (s.cells !== siteCells) {
      const differs = SITE_FIELDS.find(
        (_, k) => siteCells.split("\u0000")[k] !== s!.cells.split("\u0000")[k],
      )!;
      problems.push(
        `${where(differs[0])}: differs from line ${s.line}, site ${customerId}/${siteId}'s first row (a site's columns are the same on each of its rows)`,
      );
      continue;
    }

    const linkId = get("link");
    if (linkId === "") {
      const stray = emptyFrom(LINK_FIELDS.map(([col]) => col));
      if (stray.length > 0) problems.push(`${where(stray[0]!)}: given on a row without a link id`);
      continue;
    }
    const duplicate = s.linkLines.get(linkId);
    if (duplicate !== undefined) {
      problems.push(
        `${where("link")}: link ${JSON.stringify(linkId)} is also on line ${duplicate}`,
      );
      continue;
    }
    s.linkLines.set(linkId, row.line);
    const l = record(linkRecordSchema, "link", LINK_FIELDS);
    if (l !== undefined) s.links.push({ record: l, line: row.line });
  }
  if (problems.length > 0) throw invalid(source, problems);

  const byId = (a: { record: { id: string } }, b: { record: { id: string } }) =>
    a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0;
  const ordered = [...customers.values()].sort(byId).map((c) => {
    const sites = [...c.sites.values()].sort(byId);
    return { c, sites, links: sites.map((s) => s.links.slice().sort(byId)) };
  });
  const tree: CustomerTreeEntry[] = ordered.map(({ c, sites, links }) => ({
    ...c.record,
    sites: sites.map((s, k) => ({ ...s.record, links: links[k]!.map((l) => l.record) })),
  }));
  // The tree's problems name the line of the record's (first) row.
  const path: RecordPath = (ci, si, li) => {
    const o = ordered[ci]!;
    const line =
      si === undefined ? o.c.line : li === undefined ? o.sites[si]!.line : o.links[si]![li]!.line;
    const c = tree[ci]!;
    const s = si === undefined ? undefined : c.sites[si]!;
    const link = li === undefined ? undefined : s!.links[li]!.id;
    return `line ${line}: ${recordPath({ customer: c.id, site: s?.id, link })}`;
  };
  const treeProblems = validateCustomers(tree, path);
  if (treeProblems.length > 0) throw invalid(source, treeProblems);
  return tree;
}

/** A cell as export wrote it, without the `'` that made a formula-leading text inert. */
function restored(cell: string): string {
  return cell.startsWith("'") && FORMULA_LEADING.test(cell.slice(1)) ? cell.slice(1) : cell;
}

/** Problems listed in one error at most: a wrong file could have a million. */
const MAX_PROBLEMS = 100;

function invalid(source: string, lines: readonly string[]): FlowtallyError {
  const shown =
    lines.length > MAX_PROBLEMS
      ? [...lines.slice(0, MAX_PROBLEMS), `… and ${lines.length - MAX_PROBLEMS} more problems`]
      : lines;
  return new FlowtallyError(
    "FT_REGISTRY_INVALID",
    `${source}: invalid customers\n  ${shown.join("\n  ")}`,
  );
}

function fileError(source: string, reason: string): FlowtallyError {
  return new FlowtallyError("FT_REGISTRY_INVALID", `${source}: ${reason}`);
}
