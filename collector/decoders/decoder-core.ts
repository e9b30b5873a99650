/**
 * The state shared by the v5, v9 and IPFIX decoders of one collector: exporters and their
 * templates, sampling rates, held data, and problem counters. Pure: no sockets, no clock (the
 * receive time is passed in), no logging.
 */
import { type FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import type { ByteReader } from "./byte-reader.js";
import { decodeDataSet, type RecordContext } from "./data-records.js";
import { type DecodeProblem, emptyProblemCounts, type ProblemCounts } from "./decode-problems.js";
import {
  createExporterState,
  type DomainState,
  domainKey,
  domainOf,
  type ExporterState,
  type SetContext,
} from "./exporter-state.js";
import { type HeldSet, type HeldSetLimits, HeldSets } from "./held-sets.js";
import { decodeOptionsSet } from "./options-records.js";
import { domainHasRates, domainRate, type SamplingPolicy, unknownRate } from "./sampling.js";
import type { Template } from "./template.js";
import {
  readTemplateSet,
  type TemplateLimits,
  type TemplateSink,
  type TemplateSpace,
} from "./template-store.js";

export interface DecoderCoreOptions {
  sampling: SamplingPolicy;
  templates: TemplateLimits;
  held: HeldSetLimits;
  codegen: boolean;
}

export interface WalkResult {
  /** Rows written to the batch. */
  rows: number;
  /** Data records on the wire (IPFIX sequence numbers count these). */
  wireRecords: number;
  /** False when a set was held or damaged, so the record count is not known. */
  complete: boolean;
}

/** Returned by {@link DecoderCore.dataSet} when the set was held for later. */
export const HELD = -1;

/** Whether a data set may be held: always (from the wire), or less once released. */
export const Hold = { Always: 2, SamplingOnly: 1, Never: 0 } as const;
export type Hold = (typeof Hold)[keyof typeof Hold];

export class DecoderCore {
  readonly problems: ProblemCounts = emptyProblemCounts();
  readonly exporters = new Map<string, ExporterState>();
  readonly exporterNames: string[] = [];
  readonly templateLimits: TemplateSpace;
  readonly sampling: SamplingPolicy;
  readonly held: HeldSets;
  /** Records on the wire in the last data set decoded (for IPFIX sequence numbers). */
  lastSetWireRecords = 0;

  private readonly ctx: RecordContext;
  private sinkOut: FlowBatch | null = null;
  private readonly sink: TemplateSink;
  private readonly evicted: HeldSet[] = [];
  private readonly walk: WalkResult = { rows: 0, wireRecords: 0, complete: true };

  constructor(options: DecoderCoreOptions) {
    this.sampling = options.sampling;
    this.templateLimits = { ...options.templates, total: 0 };
    this.held = new HeldSets(options.held);
    this.ctx = {
      exporter: createExporterState("", 0),
      domain: domainOf(createExporterState("", 0), 10, 0),
      version: 0,
      exportMs: 0,
      sysUptimeMs: Number.NaN,
      override: 0,
      setRate: { rate: 1, source: SamplingSource.Unknown },
      fallbackRate: { rate: 1, source: SamplingSource.Unknown },
      unknownRateRecords: 0,
      codegen: options.codegen,
    };
    this.sink = {
      learnt: (domain, tpl) => this.templateLearnt(domain, tpl),
      problem: (p) => this.problem(p),
    };
  }

  problem(p: DecodeProblem, n = 1): void {
    this.problems[p] += n;
  }

  /** The exporter's state, or null (counted) when `maxExporters` is reached. */
  exporterFor(address: string): ExporterState | null {
    let e = this.exporters.get(address);
    if (e === undefined) {
      if (this.exporters.size >= this.templateLimits.maxExporters) {
        this.problem("exporter-limit");
        return null;
      }
      e = createExporterState(address, this.exporterNames.length);
      this.exporters.set(address, e);
      this.exporterNames.push(address);
    }
    return e;
  }

  /** The domain's state, or null (counted) when `maxDomainsPerExporter` is reached. */
  domainFor(exporter: ExporterState, version: number, id: number): DomainState | null {
    const d = exporter.domains.get(domainKey(version, id));
    if (d !== undefined) return d;
    if (exporter.domains.size >= this.templateLimits.maxDomainsPerExporter) {
      this.problem("domain-limit");
      return null;
    }
    return domainOf(exporter, version, id);
  }

  samplingOverride(address: string): number {
    return this.sampling.overrides.get(address) ?? 0;
  }

  /**
   * Walks the sets of a v9 or IPFIX message from `r.pos` to `r.end`: template sets, data sets
   * (decoded or held), reserved ids skipped. A set whose length cannot be trusted ends the walk;
   * a zero-filled tail (Palo Alto pads datagrams with zeros) is padding, not a problem.
   * Returns a reused result.
   */
  walkSets(r: ByteReader, c: SetContext, out: FlowBatch): WalkResult {
    const res = this.walk;
    res.rows = 0;
    res.wireRecords = 0;
    res.complete = true;
    const view = r.view;
    const templateSet = c.version === 9 ? 0 : 2;
    const optionsSet = templateSet + 1;
    while (r.remaining() >= 4) {
      const setStart = r.pos;
      const setId = view.getUint16(setStart);
      const setLength = view.getUint16(setStart + 2);
      if (setLength < 4 || setStart + setLength > r.end) {
        if (!allZero(r.bytes, setStart, r.end)) {
          this.problem("set-length-invalid");
          res.complete = false;
        }
        break;
      }
      const setEnd = setStart + setLength;
      if (setId === templateSet || setId === optionsSet) {
        const saved = r.end;
        r.pos = setStart + 4;
        r.end = setEnd;
        this.sinkOut = out;
        readTemplateSet(r, c.version, setId, c.exporter, c.domain, this.templateLimits, this.sink);
        r.end = saved;
      } else if (setId < 256) {
        this.problem("set-id-reserved");
      } else {
        const n = this.dataSet(c, setId, view, setStart + 4, setEnd, out);
        if (n === HELD) res.complete = false;
        else {
          res.rows += n;
          res.wireRecords += this.lastSetWireRecords;
        }
      }
      r.pos = setEnd;
    }
    return res;
  }

  /**
   * Decodes (or holds) one v9/IPFIX data set with id >= 256. Returns the rows written, or
   * {@link HELD}.
   */
  dataSet(
    c: SetContext,
    setId: number,
    view: DataView,
    start: number,
    end: number,
    out: FlowBatch,
    hold: Hold = Hold.Always,
  ): number {
    this.lastSetWireRecords = 0;
    const { exporter, domain } = c;
    const tpl = domain.templates.get(setId);
    if (tpl === undefined) {
      if (hold !== Hold.Always) return 0;
      this.hold("template", c, setId, view, start, end, out);
      return HELD;
    }
    if (tpl.options) {
      const res = decodeOptionsSet(tpl, view, start, end, domain);
      exporter.stats.optionsRecords += res.records;
      this.lastSetWireRecords = res.records;
      if (res.invalid > 0) this.problem("options-invalid", res.invalid);
      if (res.truncated) this.problem("record-truncated");
      if (res.ratesLearnt > 0) this.releaseSamplingHeld(domain, out);
      return 0;
    }

    const ctx = this.ctx;
    ctx.exporter = exporter;
    ctx.domain = domain;
    ctx.version = c.version;
    ctx.exportMs = c.exportMs;
    ctx.sysUptimeMs = c.sysUptimeMs;
    ctx.override = this.samplingOverride(exporter.address);
    ctx.unknownRateRecords = 0;
    unknownRate(this.sampling, ctx.fallbackRate);
    const perRecord = (tpl.hasRecordSampling || tpl.hasSamplerId) && ctx.override === 0;
    let setRateUnknown = false;
    if (!domainRate(ctx.override, domain, -1, ctx.setRate)) {
      if (
        hold !== Hold.Never &&
        this.sampling.unknown === "hold" &&
        !domainHasRates(domain) &&
        !tpl.hasRecordSampling
      ) {
        this.hold("sampling", c, setId, view, start, end, out);
        return HELD;
      }
      ctx.setRate.rate = ctx.fallbackRate.rate;
      ctx.setRate.source = ctx.fallbackRate.source;
      setRateUnknown = !perRecord;
    }
    const before = out.length;
    const res = decodeDataSet(ctx, tpl, view, start, end, out);
    this.lastSetWireRecords = res.wire;
    if (res.problem !== null) this.problem(res.problem);
    const unknown = setRateUnknown ? res.wire : ctx.unknownRateRecords;
    if (unknown > 0) this.problem("sampling-unknown", unknown);
    return out.length - before;
  }

  /** Releases or drops held sets older than the hold time. Call with the current time. */
  expire(nowMs: number, out: FlowBatch): void {
    if (this.held.count === 0) return;
    for (const s of this.held.expire(nowMs)) this.leaveHold(s, out, "held-expired");
  }

  private hold(
    reason: "template" | "sampling",
    c: SetContext,
    templateId: number,
    view: DataView,
    start: number,
    end: number,
    out: FlowBatch,
  ): void {
    const data = new Uint8Array(end - start);
    data.set(new Uint8Array(view.buffer, view.byteOffset + start, end - start));
    this.held.add({ reason, context: { ...c }, templateId, data, done: false }, this.evicted);
    if (reason === "template") this.problem("data-held");
    if (this.evicted.length > 0) {
      for (const s of this.evicted) this.leaveHold(s, out, "held-overflow");
      this.evicted.length = 0;
    }
  }

  /** A held set leaves by a bound: template-held data is dropped, sampling-held decoded at rate 1. */
  private leaveHold(s: HeldSet, out: FlowBatch, problem: "held-expired" | "held-overflow"): void {
    if (s.reason === "template") {
      this.problem(problem);
      return;
    }
    const n = this.decodeHeld(s, out, Hold.Never);
    if (n > 0) this.problem("sampling-hold-expired", this.lastSetWireRecords);
  }

  private decodeHeld(s: HeldSet, out: FlowBatch, hold: Hold): number {
    const view = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    return this.dataSet(s.context, s.templateId, view, 0, s.data.byteLength, out, hold);
  }

  private templateLearnt(domain: DomainState, tpl: Template): void {
    if (this.sinkOut === null) return;
    this.releaseTemplateHeld(domain, tpl.id, this.sinkOut);
  }

  /**
   * Decodes the data held for template `templateId` of `domain` into `out` (a template that came
   * from elsewhere: a state file, another collector). Returns the rows written.
   */
  releaseTemplateHeld(domain: DomainState, templateId: number, out: FlowBatch): number {
    if (this.held.count === 0) return 0;
    const ready = this.held.take(
      (s) => s.reason === "template" && s.templateId === templateId && s.context.domain === domain,
    );
    let rows = 0;
    for (const s of ready) {
      const n = this.decodeHeld(s, out, Hold.SamplingOnly);
      if (n !== HELD) rows += n;
    }
    return rows;
  }

  releaseSamplingHeld(domain: DomainState, out: FlowBatch): void {
    if (this.held.count === 0) return;
    const ready = this.held.take((s) => s.reason === "sampling" && s.context.domain === domain);
    for (const s of ready) this.decodeHeld(s, out, Hold.Never);
  }
}

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (bytes[k] !== 0) return false;
  return true;
}
