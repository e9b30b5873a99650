import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../config/load-config.js";
import { type ErrorCode, isFlowtallyError } from "../schema/errors.js";
import { applyChangeSet } from "./change-set.js";
import { EMPTY_SNAPSHOT } from "./model.js";
import { describeDiff, diffTree, exportTree, parseTree } from "./tree-file.js";

const T0 = Date.UTC(2026, 10, 1);

function message(f: () => unknown, code: ErrorCode = "FT_REGISTRY_INVALID"): string {
  try {
    f();
  } catch (e) {
    if (isFlowtallyError(e, code)) return e.message;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

describe("parseTree", () => {
  it("imports a whole config file's customers as they are (the other keys are ignored)", () => {
    const text = readFileSync(new URL("../config/demo.yaml", import.meta.url), "utf8");
    const config = parseConfigText(text, "demo.yaml", "/tmp");
    const tree = parseTree(text);
    expect(tree).toEqual(config.customers);
  });

  it("names problems as the config loader does, by position, with the same reasons", () => {
    const text = `customers:
  - id: a
    name: A
    sites:
      - id: s
        links:
          - id: l
            prefixes: [192.0.2.0/24, 10.0.0.1/8]
  - id: b
    name: B
    sites:
      - id: s
        links:
          - id: l
            prefixes: [192.0.2.0/24]
          - id: m
            router: 198.51.100.1
`;
    const config = message(() => parseConfigText(text, "f.yaml", "/tmp"), "FT_CONFIG_INVALID");
    const registry = message(() => parseTree(text, "f.yaml"));
    const reasons = (m: string) => m.split("\n").slice(1);
    expect(reasons(registry)).toEqual(reasons(config));
    expect(reasons(registry)).toEqual([
      "  customers[1].sites[0].links[1]: router and ifIndex go together: give both or neither",
      '  customers[0].sites[0].links[0].prefixes[1]: "10.0.0.1/8" is not a prefix: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)',
      '  customers[1].sites[0].links[0].prefixes[0]: "192.0.2.0/24" is also given to customers[0].sites[0].links[0].prefixes[0]',
    ]);
  });

  it("takes the registry's extra fields and customers without sites; refuses unknown keys, aliases and non-YAML", () => {
    expect(
      parseTree("customers:\n  - {id: a, name: A, motd: Hello, contact: Ada, phone: '1'}\n"),
    ).toEqual([
      {
        id: "a",
        name: "A",
        serviceType: "default",
        motd: "Hello",
        contact: "Ada",
        phone: "1",
        sites: [],
      },
    ]);
    expect(message(() => parseTree("customers:\n  - {id: a, name: A, colour: red}\n"))).toContain(
      'customers[0]: unknown key "colour"',
    );
    expect(
      message(() =>
        parseTree(
          "customers:\n  - {id: a, name: A, sites: &s [{id: s, links: [{id: l, router: 198.51.100.1, ifIndex: 1}]}]}\n  - {id: b, name: B, sites: *s}\n",
        ),
      ),
    ).toContain("YAML aliases (*name) are not accepted");
    expect(message(() => parseTree("customers: [\n"))).toContain("not valid YAML");
    expect(message(() => parseTree("other: 1\n"))).toContain(
      "customers: a list of customers is missing",
    );
  });
});

describe("diffTree", () => {
  it("says what an import adds, changes and deletes, as one change set with the revisions read", () => {
    const start = applyChangeSet(
      EMPTY_SNAPSHOT,
      [
        { op: "add", customer: "a", record: { name: "A", motd: "hi" } },
        { op: "add", customer: "a", site: "s", record: {} },
        { op: "add", customer: "a", site: "s", link: "l", record: { prefixes: ["192.0.2.0/24"] } },
        { op: "add", customer: "gone", record: { name: "Gone" } },
      ],
      { actor: "t", atMs: T0 },
    ).snapshot;
    const wanted = parseTree(`customers:
  - id: a
    name: A2
    sites:
      - id: s
        links:
          - {id: l, prefixes: [192.0.2.0/25]}
          - {id: m, prefixes: [192.0.2.128/25]}
`);
    const diff = diffTree(start, wanted);
    expect(diff.changes).toEqual([
      { op: "delete", customer: "gone", ifRevision: 1 },
      { op: "update", customer: "a", set: { name: "A2", motd: null }, ifRevision: 1 },
      {
        op: "update",
        customer: "a",
        site: "s",
        link: "l",
        set: { prefixes: ["192.0.2.0/25"] },
        ifRevision: 1,
      },
      { op: "add", customer: "a", site: "s", link: "m", record: { prefixes: ["192.0.2.128/25"] } },
    ]);
    expect(describeDiff(diff)).toEqual([
      "- customers/gone",
      "~ customers/a: name, motd",
      "~ customers/a/sites/s/links/l: prefixes",
      "+ customers/a/sites/s/links/m",
      "1 to add, 2 to change, 1 to delete",
    ]);
    const after = applyChangeSet(start, diff.changes, { actor: "import", atMs: T0 }).snapshot;
    expect(parseTree(exportTree(after))).toEqual(wanted);
    expect(diffTree(after, wanted).changes).toEqual([]);
  });

  it("leaves the snapshot it was given untouched (the stores keep it as their cache)", () => {
    const start = applyChangeSet(
      EMPTY_SNAPSHOT,
      [
        { op: "add", customer: "a", record: { name: "A" } },
        { op: "add", customer: "a", site: "s", record: {} },
        { op: "add", customer: "a", site: "s", link: "l", record: { prefixes: ["192.0.2.0/24"] } },
      ],
      { actor: "t", atMs: T0 },
    ).snapshot;
    const copy = structuredClone(start);
    applyChangeSet(
      start,
      [
        { op: "delete", customer: "a", site: "s", link: "l" },
        { op: "add", customer: "a", site: "t", record: {} },
        { op: "update", customer: "a", set: { name: "B" } },
      ],
      { actor: "t", atMs: T0 },
    );
    expect(start).toEqual(copy);
  });
});

describe("applyChangeSet's errors", () => {
  it("lists at most 100 problems, then how many more", () => {
    const changes = [
      { op: "add", customer: "a", record: { name: "A" } },
      { op: "add", customer: "a", site: "s", record: {} },
      ...Array.from({ length: 150 }, (_, k) => ({
        op: "add",
        customer: "a",
        site: "s",
        link: `l${k}`,
        record: { prefixes: [`10.0.${k}.1/24`] },
      })),
    ];
    const text = message(() => applyChangeSet(EMPTY_SNAPSHOT, changes, { actor: "t", atMs: T0 }));
    const lines = text.split("\n");
    expect(lines).toHaveLength(1 + 100 + 1);
    expect(lines[1]).toBe(
      '  customers/a/sites/s/links/l0.prefixes[0]: "10.0.0.1/24" is not a prefix: "10.0.0.1/24" has host bits set (did you mean 10.0.0.0/24?)',
    );
    expect(lines.at(-1)).toBe("  … and 50 more problems");
  });
});
