import { describe, expect, it } from "vitest";
import { CustomerList } from "./customer-list.js";
import { CSV_COLUMNS, exportCsv, parseCsvRows, parseCsvTree } from "./tree-csv.js";

const HEADER = CSV_COLUMNS.join(",");

/** A row from the columns given by name; the others empty. */
function row(cells: Partial<Record<(typeof CSV_COLUMNS)[number], string>>): string {
  return CSV_COLUMNS.map((c) => cells[c] ?? "").join(",");
}

function problems(text: string): string[] {
  try {
    parseCsvTree(text, "f.csv");
  } catch (e) {
    return (e as Error).message.split("\n").map((l) => l.trim());
  }
  throw new Error("expected a refusal");
}

describe("CSV rows (RFC 4180)", () => {
  it("reads quoted commas, doubled quotes, line breaks, CRLF and LF, and skips a BOM and blank lines", () => {
    const rows = parseCsvRows('\ufeffa,"b,1","say ""hi"""\r\n\r\n"two\nlines",x,\n', "f");
    expect(rows).toEqual([
      { line: 1, cells: ["a", "b,1", 'say "hi"'] },
      { line: 3, cells: ["two\nlines", "x", ""] },
    ]);
  });

  it("refuses a quote left open, a quote in an unquoted field, and text after a closing quote", () => {
    expect(() => parseCsvRows('a,"b\n', "f.csv")).toThrow(
      "f.csv: line 1: a quoted field is not closed",
    );
    expect(() => parseCsvRows('a,b"c\n', "f.csv")).toThrow(
      'f.csv: line 1: field 2: a quote in an unquoted field (quote the field, and write a quote as "")',
    );
    expect(() => parseCsvRows('a\n"b"c\n', "f.csv")).toThrow(
      'f.csv: line 2: field 1: text after a closing quote (a quote inside a field is written "")',
    );
  });
});

describe("CSV trees", () => {
  it("refuses rows whose customer columns differ, and lower columns on a row without their id", () => {
    expect(
      problems(
        [
          HEADER,
          row({ customer: "c", name: "C", site: "s", link: "a", prefixes: "192.0.2.0/28" }),
          row({ customer: "c", name: "C2", site: "s", link: "b", prefixes: "192.0.2.16/28" }),
          row({ customer: "d", name: "D", siteName: "Lost" }),
          row({ customer: "e", name: "E", site: "s", router: "198.51.100.1" }),
        ].join("\n"),
      ),
    ).toEqual([
      "f.csv: invalid customers",
      "line 3, column name: differs from line 2, customer c's first row (a customer's columns are the same on each of its rows)",
      "line 4, column siteName: given on a row without a site id",
      "line 5, column router: given on a row without a link id",
    ]);
  });

  it("names the line and column of a field its schema refuses, and a repeated link", () => {
    expect(
      problems(
        [
          HEADER,
          row({ customer: "c", name: "C", site: "s", link: "a", router: "nope", ifIndex: "1" }),
          row({
            customer: "c",
            name: "C",
            site: "s",
            link: "b",
            prefixes: "192.0.2.0/28",
            commitRate: "fast",
          }),
          row({ customer: "c", name: "C", site: "s", link: "b", prefixes: "192.0.2.16/28" }),
          row({ customer: "Unattributed", name: "U" }),
        ].join("\n"),
      ),
    ).toEqual([
      "f.csv: invalid customers",
      "line 2, column router: is not an IP address",
      'line 3, column commitRate: is not a bit rate such as "100M" or 1000000',
      'line 4, column link: link "b" is also on line 3',
      'line 5, column customer: "Unattributed" is reserved: the pseudo-customer of traffic that matches no link',
    ]);
  });

  it("exports formula-leading text defused and imports it back as it was", () => {
    const tree = [
      {
        id: "c",
        name: "=cmd",
        serviceType: "default",
        phone: "+1 555",
        description: "'=already quoted",
        contact: " @x",
        revision: 1,
        sites: [],
      },
    ];
    const csv = exportCsv({ customers: CustomerList.from(tree) });
    expect(csv.split("\r\n")[1]).toBe(
      "c,'=cmd,default,' @x,,'+1 555,,''=already quoted,,,,,,,,,,,,,",
    );
    expect(parseCsvTree(csv, "f.csv")).toEqual([
      {
        id: "c",
        name: "=cmd",
        serviceType: "default",
        phone: "+1 555",
        description: "'=already quoted",
        contact: " @x",
        sites: [],
      },
    ]);
  });

  it("reads a customer's portal template by name, refuses a path, and takes a dump without the column", () => {
    const tree = parseCsvTree(
      [HEADER, row({ customer: "c", name: "C", portalTemplate: "gold" })].join("\n"),
    );
    expect(tree[0]?.portalTemplate).toBe("gold");
    expect(
      exportCsv({
        customers: CustomerList.from(tree.map((c) => ({ ...c, revision: 1, sites: [] }))),
      }).split("\r\n")[1],
    ).toBe(row({ customer: "c", name: "C", serviceType: "default", portalTemplate: "gold" }));
    expect(
      problems([HEADER, row({ customer: "c", name: "C", portalTemplate: "../t.html" })].join("\n")),
    ).toEqual([
      "f.csv: invalid customers",
      "line 2, column portalTemplate: must be a template name of portal.templates: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
    ]);
    const older = CSV_COLUMNS.filter((c) => c !== "portalTemplate");
    const dump = [
      older.join(","),
      older.map((c) => (c === "customer" ? "c" : c === "name" ? "C" : "")).join(","),
    ];
    expect(parseCsvTree(dump.join("\n"))).toEqual([
      { id: "c", name: "C", serviceType: "default", sites: [] },
    ]);
  });
});
