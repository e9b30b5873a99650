/**
 * The live incident tracker and the per-minute sums that feed it, on hand-computed cases: which
 * minutes breach (integer comparison against the target), where incidents start and end (a
 * compliant minute, a minute without transactions, a missing minute), their worst minute, and
 * the deterministic handling of late, early and duplicate minutes, restarts and bounds.
 */
import { describe, expect, it } from "vitest";
import { ClassLevels, type configLevelMap } from "./class-levels.js";
import { ClassMinuteSums } from "./class-minute-sums.js";
import { type ClassMinute, type IncidentEvent, IncidentTracker } from "./incident-tracker.js";

const T0 = Date.UTC(2031, 2, 4, 10, 0); // a Tuesday in 2031: never the real clock's minute
const M = 60_000;
const at = (k: number) => T0 + k * M;

function minute(k: number, transactions: number, good: number, over: Partial<ClassMinute> = {}) {
  return {
    customer: "acme",
    trafficClass: "web",
    startMs: at(k),
    transactions,
    good,
    targetPercent: 95,
    thresholdMs: 200,
    ...over,
  };
}

const brief = (events: IncidentEvent[]) =>
  events.map((e) => [
    e.event,
    e.incident.customer,
    e.incident.trafficClass,
    (e.incident.startMs - T0) / M,
    (e.incident.endMs - T0) / M,
    ...(e.event === "incident.ended" ? [e.reason] : []),
  ]);

describe("IncidentTracker", () => {
  it("starts at the first breach minute and ends at the first compliant one", () => {
    const t = new IncidentTracker();
    // 95 % target: 95/100 meets it exactly; 94/100 and 18/20 (90 %) do not.
    const events = t.judge(at(6), [
      minute(0, 100, 95),
      minute(1, 100, 94),
      minute(2, 20, 18),
      minute(3, 1000, 700),
      minute(4, 100, 96),
      minute(5, 100, 10),
    ]);
    expect(brief(events)).toEqual([
      ["incident.started", "acme", "web", 1, 2],
      ["incident.ended", "acme", "web", 1, 4, "compliant"],
      ["incident.started", "acme", "web", 5, 6],
    ]);
    const ended = events[1]!.incident;
    // Worst: minute 3, 700/1000 = 0.7 (minute 1: 0.94, minute 2: 0.9).
    expect(ended.worstMinuteMs).toBe(at(3));
    expect(ended.worstShare).toBe(0.7);
    expect(ended.minutes).toBe(3);
    expect(ended.transactions).toBe(100 + 20 + 1000);
    expect(ended.good).toBe(94 + 18 + 700);
    expect(ended.id).toBe("acme/web/2031-03-04T10:01:00.000Z");
    expect(t.openIncidents().map((i) => i.startMs)).toEqual([at(5)]);
  });

  it("the first of equal worst minutes is the worst; the comparison is in integers", () => {
    const t = new IncidentTracker();
    // 7 % target: 7 of 100 meets it (0.07 × 100 is 7.000000000000001 in floating point).
    const events = t.judge(at(4), [
      minute(0, 100, 6, { targetPercent: 7 }),
      minute(1, 50, 3, { targetPercent: 7 }),
      minute(2, 100, 7, { targetPercent: 7 }),
    ]);
    expect(brief(events)).toEqual([
      ["incident.started", "acme", "web", 0, 1],
      ["incident.ended", "acme", "web", 0, 2, "compliant"],
    ]);
    // 6/100 = 3/50 = 0.06: the first, minute 0.
    expect(events[1]!.incident.worstMinuteMs).toBe(at(0));
  });

  it("a minute without transactions, without a target, or without a row ends an incident", () => {
    const t = new IncidentTracker();
    const events = t.judge(at(10), [
      minute(0, 10, 1),
      minute(1, 0, 0), // no transactions: no data
      minute(2, 10, 1),
      minute(3, 10, 1, { targetPercent: undefined }), // no target then
      minute(4, 10, 1),
      // minute 5: no row
      minute(6, 10, 1),
      minute(7, 10, 1),
      // minutes 8, 9: no row; the incident of 6-7 ends at 8 once minute 8 is complete
    ]);
    expect(brief(events)).toEqual([
      ["incident.started", "acme", "web", 0, 1],
      ["incident.ended", "acme", "web", 0, 1, "no-data"],
      ["incident.started", "acme", "web", 2, 3],
      ["incident.ended", "acme", "web", 2, 3, "no-data"],
      ["incident.started", "acme", "web", 4, 5],
      ["incident.ended", "acme", "web", 4, 5, "no-row"],
      ["incident.started", "acme", "web", 6, 7],
      ["incident.ended", "acme", "web", 6, 8, "no-row"],
    ]);
    expect(t.openIncidents()).toEqual([]);
  });

  it("an incident spans steps; the missing next minute ends it only once that minute is complete", () => {
    const t = new IncidentTracker();
    expect(brief(t.judge(at(1), [minute(0, 10, 1)]))).toEqual([
      ["incident.started", "acme", "web", 0, 1],
    ]);
    // Minute 1 not complete yet: nothing.
    expect(t.judge(at(1), [])).toEqual([]);
    expect(brief(t.judge(at(2), [minute(1, 10, 2)]))).toEqual([]);
    expect(t.openIncidents()[0]!.minutes).toBe(2);
    // Minute 2 complete without a row: ended at the end of minute 1.
    expect(brief(t.judge(at(3), []))).toEqual([["incident.ended", "acme", "web", 0, 2, "no-row"]]);
  });

  it("keeps customers and classes apart and orders a step's events by time, then customer and class", () => {
    const t = new IncidentTracker();
    const events = t.judge(at(3), [
      minute(1, 10, 10, { customer: "beta" }),
      minute(0, 10, 1, { customer: "beta" }),
      minute(0, 10, 1, { trafficClass: "voip" }),
      minute(0, 10, 1),
      minute(1, 10, 1),
      minute(2, 10, 1),
    ]);
    expect(brief(events)).toEqual([
      ["incident.started", "acme", "voip", 0, 1],
      ["incident.started", "acme", "web", 0, 1],
      ["incident.started", "beta", "web", 0, 1],
      // Minute 1: beta is compliant; acme/voip has no row (after the minute's rows).
      ["incident.ended", "beta", "web", 0, 1, "compliant"],
      ["incident.ended", "acme", "voip", 0, 1, "no-row"],
    ]);
    expect(t.openIncidents().map((i) => [i.trafficClass, i.minutes])).toEqual([["web", 3]]);
  });

  it("late, early and duplicate minutes are ignored and counted, the first of duplicates kept", () => {
    const t = new IncidentTracker();
    t.judge(at(2), [minute(0, 10, 10), minute(1, 10, 1), minute(1, 10, 10)]);
    expect(t.stats.duplicateMinutes).toBe(1);
    expect(t.openIncidents().map((i) => i.startMs)).toEqual([at(1)]);
    // Minute 0 again (late), minute 3 (not complete at 3): ignored.
    const events = t.judge(at(3), [minute(0, 10, 1), minute(3, 10, 10), minute(2, 10, 10)]);
    expect(t.stats.lateMinutes).toBe(1);
    expect(t.stats.earlyMinutes).toBe(1);
    expect(brief(events)).toEqual([["incident.ended", "acme", "web", 1, 2, "compliant"]]);
    // The same input in another order: the same events.
    const u = new IncidentTracker();
    u.judge(at(2), [minute(1, 10, 10), minute(1, 10, 1), minute(0, 10, 10)].reverse());
    expect(u.openIncidents().map((i) => i.startMs)).toEqual([at(1)]);
  });

  it("a saved state restored after a restart goes on; minutes missed while down end the incident", () => {
    const t = new IncidentTracker();
    t.judge(at(2), [minute(0, 10, 10), minute(1, 10, 1)]);
    const saved = JSON.parse(JSON.stringify(t.save()));
    const u = new IncidentTracker();
    u.restore(saved);
    expect(u.judgedUntilMs).toBe(at(2));
    // Back at once: minute 2 breaches too, the same incident goes on.
    expect(brief(u.judge(at(3), [minute(2, 10, 1), minute(1, 10, 10)]))).toEqual([]);
    expect(u.stats.lateMinutes).toBe(1);
    expect(u.openIncidents()[0]).toMatchObject({ startMs: at(1), minutes: 2 });
    // Down for minutes 3-4: it ended at 3, a new one starts at 5.
    const v = new IncidentTracker();
    v.restore(JSON.parse(JSON.stringify(u.save())));
    expect(brief(v.judge(at(6), [minute(5, 10, 1)]))).toEqual([
      ["incident.ended", "acme", "web", 1, 3, "no-row"],
      ["incident.started", "acme", "web", 5, 6],
    ]);
  });

  it("in steps: the same events and saved state as at once, over thousands of keys", () => {
    // 5 000 customers: those with c % 3 = 0 breach in minute 0 (1 667 started); in minute 1
    // those with c % 6 = 0 or c % 5 = 0 breach (834 + 1 000 - 167 of c % 30 = 0: 1 667 open
    // after): the 833 odd multiples of 3 recover but for the 167 odd multiples of 15 (666 end
    // compliant), and 1 667 - 834 - 167 = 666 start.
    const rows = (k: number) =>
      Array.from({ length: 5000 }, (_, c) => {
        const bad = k === 0 ? c % 3 === 0 : c % 6 === 0 || c % 5 === 0;
        return { ...minute(k, 10, bad ? 1 : 10), customer: `c${c}` };
      }).reverse();
    const t = new IncidentTracker();
    const u = new IncidentTracker();
    const events: IncidentEvent[] = [];
    for (const k of [0, 1]) {
      const want = t.judge(at(k + 1), rows(k));
      const steps = u.judgeSteps(at(k + 1), rows(k));
      let yields = 0;
      let r = steps.next();
      for (; !r.done; r = steps.next()) yields++;
      expect(r.value).toEqual(want);
      expect(yields).toBeGreaterThan(4);
      events.push(...want);
    }
    const count = (e: string, reason?: string) =>
      events.filter(
        (x) => x.event === e && (reason === undefined || ("reason" in x && x.reason === reason)),
      ).length;
    expect(count("incident.started")).toBe(1667 + 666);
    expect(count("incident.ended", "compliant")).toBe(666);
    const steps = u.saveSteps();
    let r = steps.next();
    while (!r.done) r = steps.next();
    expect(r.value).toEqual(t.save());
    expect(r.value.open).toHaveLength(1667);
  });

  it("adopted incidents go on; minutes before their end are late for them", () => {
    const t = new IncidentTracker();
    const before = new IncidentTracker();
    before.judge(at(3), [minute(1, 10, 1), minute(2, 10, 1)]);
    expect(t.adopt(before.openIncidents())).toBe(1);
    // A fresh tracker (untilMs unknown) gets minutes 1-3 again: 1 and 2 were judged where the
    // incident was; minute 3 ends it.
    const events = t.judge(at(4), [minute(1, 10, 10), minute(2, 10, 1), minute(3, 10, 10)]);
    expect(brief(events)).toEqual([["incident.ended", "acme", "web", 1, 3, "compliant"]]);
    expect(t.stats.lateMinutes).toBe(2);
    expect(events[0]!.incident.minutes).toBe(2);
    // An incident already open here is kept.
    const u = new IncidentTracker();
    u.judge(at(1), [minute(0, 10, 1)]);
    expect(u.adopt(before.openIncidents())).toBe(0);
  });

  it("holds at most maxOpen incidents; more are counted, not tracked", () => {
    const t = new IncidentTracker({ maxOpen: 2 });
    const events = t.judge(
      at(1),
      ["a", "b", "c"].map((customer) => minute(0, 10, 1, { customer })),
    );
    expect(events.map((e) => e.incident.customer)).toEqual(["a", "b"]);
    expect(t.stats.untracked).toBe(1);
  });
});

describe("ClassMinuteSums", () => {
  const row = (k: number, link: string, transactions: number, good: number, level = "1m") => ({
    level,
    startMs: at(k),
    customer: "acme",
    site: "hq",
    link,
    trafficClass: "web",
    transactions,
    good,
  });

  it("adds deltas over links and hand-overs; hands over complete minutes only; later rows are late", () => {
    const s = new ClassMinuteSums();
    s.add([row(0, "a", 10, 9), row(0, "b", 5, 5), row(0, "a", 3, 0, "5m"), row(1, "a", 1, 1)]);
    s.add([row(0, "a", 2, 1)]);
    expect(s.take(at(1) - 1)).toEqual([]);
    expect(s.take(at(1))).toEqual([
      { customer: "acme", trafficClass: "web", startMs: at(0), transactions: 17, good: 15 },
    ]);
    s.add([row(0, "a", 1, 1)]);
    expect(s.stats.lateRows).toBe(1);
    expect(s.take(at(2)).map((m) => [m.transactions, m.good])).toEqual([[1, 1]]);
  });

  it("put replaces a link's totals (scaled out) and still sums links", () => {
    const s = new ClassMinuteSums();
    s.put([row(0, "a", 10, 9), row(0, "b", 5, 5)]);
    s.put([row(0, "a", 12, 9)]);
    expect(s.take(at(1)).map((m) => [m.transactions, m.good])).toEqual([[17, 14]]);
  });

  it("holds at most maxMinutes entries", () => {
    const s = new ClassMinuteSums({ maxMinutes: 1 });
    s.add([row(0, "a", 1, 1), row(1, "a", 1, 1), row(0, "b", 1, 1)]);
    expect(s.stats.droppedRows).toBe(1);
    expect(s.size).toBe(1);
  });

  it("counts what it holds across customers, classes and minutes; forget and take free room", () => {
    const s = new ClassMinuteSums({ maxMinutes: 4 });
    const other = (k: number, customer: string, trafficClass: string) => ({
      ...row(k, "a", 2, 1),
      customer,
      trafficClass,
    });
    s.add([other(0, "acme", "web"), other(0, "acme", "voip"), other(0, "beta", "web")]);
    s.add([other(1, "beta", "web"), other(1, "gamma", "web")]);
    expect([s.size, s.stats.droppedRows]).toEqual([4, 1]);
    s.forget((c) => c === "beta");
    expect(s.size).toBe(2);
    s.add([other(1, "gamma", "web"), other(1, "acme", "web")]);
    expect(s.size).toBe(4);
    expect(
      s
        .take(at(1))
        .map((m) => `${m.customer} ${m.trafficClass} ${m.transactions}`)
        .sort(),
    ).toEqual(["acme voip 2", "acme web 2"]);
    expect(s.size).toBe(2);
    expect(s.take(at(2)).map((m) => `${m.customer} ${m.transactions}`)).toEqual([
      "gamma 2",
      "acme 2",
    ]);
    expect(s.size).toBe(0);
  });
});

describe("ClassLevels", () => {
  const cfg = {
    classes: [{ id: "web", totalDelayThreshold: 200, serviceLevelTarget: 99.5 }, { id: "bulk" }],
    defaultClass: "default",
    defaultTotalDelayThreshold: 1000,
    defaultServiceLevelTarget: undefined as number | undefined,
  } as unknown as Parameters<typeof configLevelMap>[0];

  it("a class without a target has no level; a reload applies from its moment on", () => {
    const l = new ClassLevels();
    l.update(cfg, at(0));
    expect(l.at("web", at(-1000))).toMatchObject({ thresholdMs: 200, targetPercent: 99.5 });
    expect(l.at("bulk", at(0))).toBeUndefined();
    l.update(
      {
        ...cfg,
        defaultServiceLevelTarget: 90,
        classes: [{ id: "web", totalDelayThreshold: 300 }, { id: "bulk" }],
      } as unknown as Parameters<typeof configLevelMap>[0],
      at(5),
    );
    expect(l.at("web", at(4))).toMatchObject({ thresholdMs: 200, targetPercent: 99.5 });
    expect(l.at("web", at(5))).toMatchObject({ thresholdMs: 300, targetPercent: 90 });
    expect(l.at("bulk", at(4))).toBeUndefined();
    expect(l.at("bulk", at(5))).toMatchObject({ thresholdMs: 1000, targetPercent: 90 });
    expect(l.at("default", at(6))).toMatchObject({ thresholdMs: 1000, targetPercent: 90 });
    // Targets removed: no level from then on.
    l.update({ ...cfg, classes: [] } as unknown as Parameters<typeof configLevelMap>[0], at(9));
    expect(l.at("web", at(8))?.targetPercent).toBe(90);
    expect(l.at("web", at(9))).toBeUndefined();
  });
});
