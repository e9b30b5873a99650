/**
 * Interface utilisation from sFlow counter samples: for each (agent, ifIndex), the rates between
 * its last two generic-interface counter samples, in bits/s and as a share of the interface's
 * speed, with the error and discard counts of that span. Pure: samples in, the latest figures
 * out; times are the agent's own uptime (the counters' clock), so network delay does not skew a
 * rate. A counter that went backwards (an agent restart, a 32-bit wrap reported as such) starts
 * over instead of giving a negative or huge rate.
 */
import type { InterfaceCounterBatch } from "./decoders/sflow-records.js";
import { withLiveProperties } from "./live-properties.js";

export interface InterfaceUtilisation {
  exporter: string;
  ifIndex: number;
  /** bits/s as the agent reports it (0: unknown). */
  ifSpeed: number;
  adminUp: boolean;
  operUp: boolean;
  /** The last sample, ms since the epoch (arrival). */
  updatedMs: number;
  /** Length of the span the rates are over, seconds; null until two samples were seen. */
  seconds: number | null;
  inBps: number | null;
  outBps: number | null;
  /** inBps / ifSpeed (0..1, can exceed 1 on a wrong ifSpeed); null without a speed or a span. */
  inUtilisation: number | null;
  outUtilisation: number | null;
  inErrors: number | null;
  outErrors: number | null;
  inDiscards: number | null;
  outDiscards: number | null;
}

interface Last {
  uptimeMs: number;
  inOctets: number;
  outOctets: number;
  inErrors: number;
  outErrors: number;
  inDiscards: number;
  outDiscards: number;
  figures: InterfaceUtilisation;
}

export interface InterfaceTracker {
  /** Takes the rows of one decoded datagram. */
  add(batch: InterfaceCounterBatch): void;
  /** The latest figures of every interface (optionally of one exporter), by exporter and ifIndex. */
  list(exporter?: string): InterfaceUtilisation[];
  readonly size: number;
  /** Interfaces not tracked because `maxInterfaces` was reached. */
  readonly overflow: number;
}

export function createInterfaceTracker(maxInterfaces = 100_000): InterfaceTracker {
  const byKey = new Map<string, Last>();
  let overflow = 0;
  const delta = (now: number, before: number) => (now >= before ? now - before : null);
  const tracker: Omit<InterfaceTracker, "size" | "overflow"> = {
    add(batch) {
      for (let i = 0; i < batch.length; i++) {
        const c = batch.rows[i]!;
        const exporter = batch.exporterNames[c.exporterId] ?? "";
        const key = `${exporter}|${c.ifIndex}`;
        let last = byKey.get(key);
        if (last === undefined) {
          if (byKey.size >= maxInterfaces) {
            overflow++;
            continue;
          }
          last = {
            uptimeMs: c.uptimeMs,
            inOctets: c.inOctets,
            outOctets: c.outOctets,
            inErrors: c.inErrors,
            outErrors: c.outErrors,
            inDiscards: c.inDiscards,
            outDiscards: c.outDiscards,
            figures: {
              exporter,
              ifIndex: c.ifIndex,
              ifSpeed: c.ifSpeed,
              adminUp: (c.ifStatus & 1) !== 0,
              operUp: (c.ifStatus & 2) !== 0,
              updatedMs: c.receivedMs,
              seconds: null,
              inBps: null,
              outBps: null,
              inUtilisation: null,
              outUtilisation: null,
              inErrors: null,
              outErrors: null,
              inDiscards: null,
              outDiscards: null,
            },
          };
          byKey.set(key, last);
          continue;
        }
        const f = last.figures;
        f.ifSpeed = c.ifSpeed;
        f.adminUp = (c.ifStatus & 1) !== 0;
        f.operUp = (c.ifStatus & 2) !== 0;
        f.updatedMs = c.receivedMs;
        const ms = c.uptimeMs - last.uptimeMs;
        const inOctets = delta(c.inOctets, last.inOctets);
        const outOctets = delta(c.outOctets, last.outOctets);
        if (ms > 0 && inOctets !== null && outOctets !== null) {
          const seconds = ms / 1000;
          f.seconds = seconds;
          f.inBps = (inOctets * 8) / seconds;
          f.outBps = (outOctets * 8) / seconds;
          f.inUtilisation = c.ifSpeed > 0 ? f.inBps / c.ifSpeed : null;
          f.outUtilisation = c.ifSpeed > 0 ? f.outBps / c.ifSpeed : null;
          f.inErrors = delta(c.inErrors, last.inErrors);
          f.outErrors = delta(c.outErrors, last.outErrors);
          f.inDiscards = delta(c.inDiscards, last.inDiscards);
          f.outDiscards = delta(c.outDiscards, last.outDiscards);
        } else {
          // A restart (uptime or a counter went backwards) or a repeated sample: start over.
          f.seconds = null;
          f.inBps = f.outBps = f.inUtilisation = f.outUtilisation = null;
          f.inErrors = f.outErrors = f.inDiscards = f.outDiscards = null;
        }
        last.uptimeMs = c.uptimeMs;
        last.inOctets = c.inOctets;
        last.outOctets = c.outOctets;
        last.inErrors = c.inErrors;
        last.outErrors = c.outErrors;
        last.inDiscards = c.inDiscards;
        last.outDiscards = c.outDiscards;
      }
    },
    list(exporter) {
      const out: InterfaceUtilisation[] = [];
      for (const last of byKey.values()) {
        if (exporter === undefined || last.figures.exporter === exporter)
          out.push({ ...last.figures });
      }
      return out.sort((a, b) => a.exporter.localeCompare(b.exporter) || a.ifIndex - b.ifIndex);
    },
  };
  // Live properties added afterwards: `add` is called per sFlow datagram (live-properties.ts).
  return withLiveProperties(tracker, { size: () => byKey.size, overflow: () => overflow });
}
