/** The audit page's filter, its diff of before and after, and its CSV. */
import { describe, expect, it } from "vitest";
import { auditCsv, diffLines, readAuditFilter } from "./audit-page.js";

describe("the audit page", () => {
  it("reads the filter from the query, days as UTC with the last one included, and names bad fields", () => {
    const r = readAuditFilter(
      "user=ann&customer=acme&kind=user-add&from=2026-11-01&to=2026-11-02&before=40",
    );
    expect(r.problems).toEqual({});
    expect(r.query).toEqual({
      user: "ann",
      customer: "acme",
      action: "user-add",
      fromMs: Date.UTC(2026, 10, 1),
      toMs: Date.UTC(2026, 10, 3),
      beforeSeq: 40,
    });
    expect(r.csv).toBe(false);
    expect(readAuditFilter("format=csv").csv).toBe(true);
    const bad = readAuditFilter("user=a%20b&kind=drop&from=2026-13-01&to=yesterday&before=x");
    expect(Object.keys(bad.problems).sort()).toEqual(["before", "from", "kind", "to", "user"]);
    expect(readAuditFilter("from=2026-11-05&to=2026-11-01").problems).toEqual({
      to: "is before the first day",
    });
  });

  it("shows what changed: records key by key, texts as one line, the rest as it is", () => {
    expect(
      diffLines({
        before: { title: "A", footer: "F" },
        after: { title: "B", footer: "F", primary: "#fff" },
      }),
    ).toEqual([
      { key: "primary", before: "(none)", after: "#fff" },
      { key: "title", before: "A", after: "B" },
    ]);
    expect(diffLines({ customer: "acme", before: null, after: "Hello" })).toEqual([
      { key: "value", before: "(none)", after: "Hello" },
      { key: "customer", after: "acme" },
    ]);
    expect(diffLines({ changed: ["disabled"], disabled: true })).toEqual([
      { key: "changed", after: '["disabled"]' },
      { key: "disabled", after: "true" },
    ]);
  });

  it("gives RFC 4180 CSV, formula-leading text defused", () => {
    const csv = auditCsv([
      {
        seq: 3,
        at: Date.UTC(2026, 10, 2, 12),
        actor: "root",
        action: "motd-global",
        target: "global",
        client: "192.0.2.1",
        detail: { after: '=HYPERLINK("x")' },
      },
    ]);
    expect(csv).toBe(
      'seq,at,actor,action,target,client,detail\r\n3,2026-11-02T12:00:00.000Z,root,motd-global,global,192.0.2.1,"{""after"":""=HYPERLINK(\\""x\\"")""}"\r\n',
    );
  });
});
