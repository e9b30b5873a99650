/**
 * `GET /api/v1/exporters`: what an operator checks when a graph looks wrong: every exporter (and
 * sFlow agent) this process has heard, when, how much, what its sequence numbers say was lost on
 * the way, and what it taught the decoder (templates, sampling rates). Pure: the decoders'
 * counters in, the answer out.
 */

import type { ExporterDomainView } from "../collector/decoders/flow-decoder.js";
import type { ExporterStats, SflowAgentStats } from "../collector/decoders/index.js";

export interface ExportersSource {
  /** NetFlow v5/v9 and IPFIX exporters: the flow decoder's counters and domains. */
  flow: ReadonlyArray<{ exporter: string; templates: number } & ExporterStats>;
  domains: ReadonlyArray<{ exporter: string; domains: readonly ExporterDomainView[] }>;
  /** sFlow agents. */
  sflow: ReadonlyArray<{ agent: string } & SflowAgentStats>;
}

export interface ExporterView {
  exporter: string;
  protocol: "netflow" | "sflow";
  firstSeen: string | null;
  lastSeen: string | null;
  /** Seconds from the latest datagram to the answer (null before any). */
  silentSeconds: number | null;
  datagrams: number;
  records: number;
  /**
   * Records (v5, IPFIX) or export packets (v9: its sequence counts packets) missing by the
   * exporter's sequence numbers; sFlow: flow samples missing, and datagrams apart.
   */
  lostRecords: number;
  lostPackets: number;
  /** lostRecords / (records + lostRecords): the share lost on the way; null before any record. */
  lossShare: number | null;
  sequenceResets: number;
  /** NetFlow v9 / IPFIX: templates known now, and their history. */
  templates?: {
    known: number;
    learnt: number;
    redefined: number;
    withdrawn: number;
  };
  domains?: readonly ExporterDomainView[];
  /** sFlow: samples by kind and the agent's own drops (packets it could not sample). */
  samples?: {
    flow: number;
    counter: number;
    discard: number;
    other: number;
    agentDrops: number;
  };
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
const silent = (ms: number, nowMs: number) =>
  Number.isFinite(ms) ? Math.max(0, Math.round((nowMs - ms) / 1000)) : null;
const share = (lost: number, kept: number) => (lost + kept === 0 ? null : lost / (lost + kept));

/** Exporters sorted by address text (then protocol), optionally only one address. */
export function exportersView(
  source: ExportersSource,
  nowMs: number,
  only?: string,
): ExporterView[] {
  const domains = new Map(source.domains.map((d) => [d.exporter, d.domains]));
  const out: ExporterView[] = [];
  for (const e of source.flow) {
    if (only !== undefined && e.exporter !== only) continue;
    out.push({
      exporter: e.exporter,
      protocol: "netflow",
      firstSeen: iso(e.firstSeenMs),
      lastSeen: iso(e.lastSeenMs),
      silentSeconds: silent(e.lastSeenMs, nowMs),
      datagrams: e.datagrams,
      records: e.records,
      lostRecords: e.lostRecords,
      lostPackets: e.lostPackets,
      lossShare: share(e.lostRecords, e.records),
      sequenceResets: e.sequenceResets,
      templates: {
        known: e.templates,
        learnt: e.templatesLearnt,
        redefined: e.templateRedefinitions,
        withdrawn: e.templatesWithdrawn,
      },
      domains: domains.get(e.exporter) ?? [],
    });
  }
  for (const a of source.sflow) {
    if (only !== undefined && a.agent !== only) continue;
    out.push({
      exporter: a.agent,
      protocol: "sflow",
      firstSeen: iso(a.firstSeenMs),
      lastSeen: iso(a.lastSeenMs),
      silentSeconds: silent(a.lastSeenMs, nowMs),
      datagrams: a.datagrams,
      records: a.records,
      lostRecords: a.lostFlowSamples,
      lostPackets: a.lostDatagrams,
      lossShare: share(a.lostFlowSamples, a.flowSamples),
      sequenceResets: a.sequenceResets,
      samples: {
        flow: a.flowSamples,
        counter: a.counterSamples,
        discard: a.discardSamples,
        other: a.otherSamples,
        agentDrops: a.agentDrops,
      },
    });
  }
  return out.sort((x, y) =>
    x.exporter < y.exporter
      ? -1
      : x.exporter > y.exporter
        ? 1
        : x.protocol < y.protocol
          ? -1
          : x.protocol > y.protocol
            ? 1
            : 0,
  );
}
