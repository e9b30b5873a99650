/**
 * What a decoder learns per exporter and observation domain: templates, sampling rates, the
 * system init time, and sequence-number state. Keyed by (exporter address, domain, template id)
 * so that two exporters reusing a template id with different layouts never mix (GoFlow2's
 * `templates.go` lesson).
 */
import type { Template } from "./template.js";

export interface DomainState {
  id: number;
  /** 5, 9 or 10: an exporter running v9 and IPFIX side by side has two separate template spaces. */
  version: number;
  templates: Map<number, Template>;
  /** Sampling rate per sampler / selector id, from options data. */
  samplers: Map<number, number>;
  /** Rate from options data that named no sampler; NaN until learnt. */
  defaultRate: number;
  /** IPFIX systemInitTimeMilliseconds from options data; NaN until learnt. */
  sysInitMs: number;
  /** Next expected sequence number, or -1 when unknown (first packet, or after a resync). */
  nextSequence: number;
}

export interface ExporterStats {
  datagrams: number;
  records: number;
  optionsRecords: number;
  /** Records (v5, IPFIX) or export packets (v9) missing according to sequence numbers. */
  lostRecords: number;
  lostPackets: number;
  /** Sequence numbers that went backwards: a restart or reordering (no loss is counted). */
  sequenceResets: number;
  templatesLearnt: number;
  templateRedefinitions: number;
  templatesWithdrawn: number;
  /** When the first and the latest datagram of this exporter were received (ms); NaN before. */
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface ExporterState {
  address: string;
  /** Small integer id, the index into `FlowBatch.exporterNames`. */
  id: number;
  /** Keyed by {@link domainKey}. */
  domains: Map<number, DomainState>;
  templateCount: number;
  stats: ExporterStats;
}

export function createExporterState(address: string, id: number): ExporterState {
  return {
    address,
    id,
    domains: new Map(),
    templateCount: 0,
    stats: {
      datagrams: 0,
      records: 0,
      optionsRecords: 0,
      lostRecords: 0,
      lostPackets: 0,
      sequenceResets: 0,
      templatesLearnt: 0,
      templateRedefinitions: 0,
      templatesWithdrawn: 0,
      firstSeenMs: Number.NaN,
      lastSeenMs: Number.NaN,
    },
  };
}

/** One number for (version, domain id): exact, since domain ids are 32-bit. */
export function domainKey(version: number, id: number): number {
  return version * 4294967296 + id;
}

export function domainOf(exporter: ExporterState, version: number, id: number): DomainState {
  const key = domainKey(version, id);
  let d = exporter.domains.get(key);
  if (d === undefined) {
    d = {
      id,
      version,
      templates: new Map(),
      samplers: new Map(),
      defaultRate: Number.NaN,
      sysInitMs: Number.NaN,
      nextSequence: -1,
    };
    exporter.domains.set(key, d);
  }
  return d;
}

/**
 * Checks a sequence number against the expected one and returns the gap (0 when in order or
 * unknown). Sequence numbers are modulo 2^32; a jump backwards or of more than 2^31 is a reset
 * (exporter restart, reordering), counted apart and never as loss.
 */
export function sequenceGap(domain: DomainState, sequence: number, stats: ExporterStats): number {
  const expected = domain.nextSequence;
  if (expected < 0 || sequence === expected) return 0;
  const ahead = (sequence - expected) >>> 0;
  if (ahead < 0x80000000) return ahead;
  stats.sequenceResets++;
  return 0;
}

/** What a data set needs from its message header; held sets keep a copy. */
export interface SetContext {
  version: 9 | 10;
  exporter: ExporterState;
  domain: DomainState;
  /** Export time from the header, ms since the epoch. */
  exportMs: number;
  /** v9 header sysUptime in ms; NaN for IPFIX. */
  sysUptimeMs: number;
  /** When the datagram was received (the hold time counts from here). */
  receivedMs: number;
}
