/**
 * The flow decoder of one collector: give it a UDP payload, the exporter's address and the
 * receive time; it appends normalised records to a {@link FlowBatch} and counts problems.
 * Dispatches on the version field, never on the port (one capture mixes sFlow and v5 on 6343).
 *
 * Stateful (templates, rates, held data) but pure: no I/O, no clock, no logging. The shell
 * persists {@link FlowDecoder.snapshot} on stop and passes it back with {@link FlowDecoder.restore}.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import { ByteReader } from "./byte-reader.js";
import type { ProblemCounts } from "./decode-problems.js";
import { DecoderCore } from "./decoder-core.js";
import type { DomainState, ExporterStats } from "./exporter-state.js";
import { defaultHeldSetLimits, type HeldSetLimits } from "./held-sets.js";
import { decodeIpfix } from "./ipfix.js";
import { decodeNetflowV5 } from "./netflow-v5.js";
import { decodeNetflowV9 } from "./netflow-v9.js";
import type { SamplingPolicy, UnknownSamplingPolicy } from "./sampling.js";
import { type DecoderSnapshot, restoreSnapshot, takeSnapshot } from "./snapshot.js";
import { defaultTemplateLimits, type TemplateLimits } from "./template-store.js";

export interface FlowDecoderOptions {
  unknownSampling?: UnknownSamplingPolicy;
  /** Rate used by the `default` policy. */
  defaultSamplingRate?: number;
  /** Exporter address → sampling rate that overrides whatever the exporter says. */
  samplingOverrides?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  templates?: Partial<TemplateLimits>;
  held?: Partial<HeldSetLimits>;
  /**
   * Decode fixed-length templates with generated code (default true). false selects the
   * interpreter, which the tests use as the reference.
   */
  codegen?: boolean;
}

export interface FlowDecoder {
  /**
   * Decodes one datagram into `out` and returns the number of rows appended (held data released
   * by a template in this datagram included). Never throws on any input.
   */
  decode(payload: Uint8Array, exporter: string, receivedMs: number, out: FlowBatch): number;
  /** Expires held data older than the hold time (call from a timer with the current time). */
  expire(nowMs: number, out: FlowBatch): number;
  readonly problems: Readonly<ProblemCounts>;
  /** Index → exporter address, for `FlowBatch.exporterId`. */
  readonly exporterNames: readonly string[];
  exporterStats(): Array<{ exporter: string; templates: number } & ExporterStats>;
  /** Per exporter, its observation domains: templates known and sampling rates learnt. */
  exporterDomains(): Array<{ exporter: string; domains: ExporterDomainView[] }>;
  /** Held data sets waiting for a template or a sampling rate. */
  heldSets(): { count: number; bytes: number };
  snapshot(): DecoderSnapshot;
  /**
   * Restores templates and rates; returns how many entries were skipped as invalid. With `out`,
   * data held for what the snapshot brings is decoded into it (`rows`): templates shared by
   * another collector release the data that arrived before them.
   */
  restore(
    snapshot: unknown,
    out?: FlowBatch,
  ): { templates: number; rates: number; skipped: number; rows: number };
}

export function createFlowDecoder(options: FlowDecoderOptions = {}): FlowDecoder {
  const sampling: SamplingPolicy = {
    unknown: options.unknownSampling ?? "assume-one",
    defaultRate: options.defaultSamplingRate ?? 1,
    overrides: toMap(options.samplingOverrides),
  };
  const core = new DecoderCore({
    sampling,
    templates: { ...defaultTemplateLimits, ...options.templates },
    held: { ...defaultHeldSetLimits, ...options.held },
    codegen: options.codegen ?? true,
  });
  const reader = new ByteReader();

  function decode(
    payload: Uint8Array,
    exporter: string,
    receivedMs: number,
    out: FlowBatch,
  ): number {
    const before = out.length;
    out.exporterNames = core.exporterNames;
    core.expire(receivedMs, out);
    if (payload.byteLength < 2) {
      core.problem("header-truncated");
      return out.length - before;
    }
    reader.reset(payload);
    const version = (payload[0]! << 8) | payload[1]!;
    try {
      if (version === 5) decodeNetflowV5(core, reader, exporter, out);
      else if (version === 9) decodeNetflowV9(core, reader, exporter, receivedMs, out);
      else if (version === 10) decodeIpfix(core, reader, exporter, receivedMs, out);
      else core.problem("unknown-version");
    } catch {
      // Unreachable by design (every read is bounds-checked); kept so that a bug in a decoder
      // costs one datagram, counted, never the collector.
      core.problem("internal-error");
    }
    // When it was seen (a lookup per datagram, nothing per record); an exporter refused as one
    // too many has no state.
    const e = core.exporters.get(exporter);
    if (e !== undefined) {
      if (!(e.stats.firstSeenMs <= receivedMs)) e.stats.firstSeenMs = receivedMs;
      if (!(e.stats.lastSeenMs >= receivedMs)) e.stats.lastSeenMs = receivedMs;
    }
    return out.length - before;
  }

  return {
    decode,
    expire(nowMs, out) {
      const before = out.length;
      out.exporterNames = core.exporterNames;
      core.expire(nowMs, out);
      return out.length - before;
    },
    problems: core.problems,
    exporterNames: core.exporterNames,
    exporterStats() {
      return [...core.exporters.values()].map((e) => ({
        exporter: e.address,
        templates: e.templateCount,
        ...e.stats,
      }));
    },
    exporterDomains() {
      return [...core.exporters.values()].map((e) => ({
        exporter: e.address,
        domains: [...e.domains.values()].map(domainView),
      }));
    },
    heldSets() {
      return { count: core.held.count, bytes: core.held.bytes };
    },
    snapshot: () => takeSnapshot(core),
    restore(snapshot, out) {
      if (out !== undefined) out.exporterNames = core.exporterNames;
      return restoreSnapshot(core, snapshot, out);
    },
  };
}

function toMap(
  m: ReadonlyMap<string, number> | Readonly<Record<string, number>> | undefined,
): ReadonlyMap<string, number> {
  if (m === undefined) return new Map();
  if (m instanceof Map) return m;
  return new Map(Object.entries(m as Record<string, number>));
}

/** What an operator sees of an observation domain (GET /api/v1/exporters). */
export interface ExporterDomainView {
  version: number;
  domain: number;
  templates: Array<{ id: number; options: boolean; fields: number }>;
  /** Sampling rates from options data, by sampler / selector id (0: the domain's own rate). */
  samplingRates: Array<{ sampler: number; rate: number }>;
}

function domainView(d: DomainState): ExporterDomainView {
  const samplingRates = [...d.samplers].map(([sampler, rate]) => ({ sampler, rate }));
  if (!Number.isNaN(d.defaultRate)) samplingRates.unshift({ sampler: 0, rate: d.defaultRate });
  return {
    version: d.version,
    domain: d.id,
    templates: [...d.templates.values()]
      .map((t) => ({ id: t.id, options: t.options, fields: t.fields.length }))
      .sort((a, b) => a.id - b.id),
    samplingRates: samplingRates.sort((a, b) => a.sampler - b.sampler),
  };
}
