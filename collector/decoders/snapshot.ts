/**
 * What survives a restart: templates and learnt sampling rates per exporter and domain, so that
 * data arriving right after a restart decodes without waiting for exporters to resend templates
 * (often minutes, sometimes 30). Held data and sequence state are not kept: both are stale after
 * a restart anyway.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import type { DecoderCore } from "./decoder-core.js";
import type { TemplateField } from "./template.js";
import { restoreTemplate } from "./template-store.js";

export const SNAPSHOT_FORMAT = "flowtally-decoder-state";
export const SNAPSHOT_VERSION = 2;

export interface TemplateSnapshot {
  id: number;
  version: 9 | 10;
  options: boolean;
  scopeCount: number;
  /** [element id, enterprise number, length] per field. */
  fields: Array<[number, number, number]>;
}

export interface DomainSnapshot {
  id: number;
  version: 5 | 9 | 10;
  defaultRate: number | null;
  sysInitMs: number | null;
  samplers: Array<[number, number]>;
  templates: TemplateSnapshot[];
}

export interface DecoderSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  exporters: Array<{ address: string; domains: DomainSnapshot[] }>;
}

export function takeSnapshot(core: DecoderCore): DecoderSnapshot {
  const exporters: DecoderSnapshot["exporters"] = [];
  for (const e of core.exporters.values()) {
    const domains: DomainSnapshot[] = [];
    for (const d of e.domains.values()) {
      if (d.templates.size === 0 && d.samplers.size === 0 && Number.isNaN(d.defaultRate)) continue;
      domains.push({
        id: d.id,
        version: d.version as 5 | 9 | 10,
        defaultRate: Number.isNaN(d.defaultRate) ? null : d.defaultRate,
        sysInitMs: Number.isNaN(d.sysInitMs) ? null : d.sysInitMs,
        samplers: [...d.samplers.entries()],
        templates: [...d.templates.values()].map((t) => ({
          id: t.id,
          version: t.version,
          options: t.options,
          scopeCount: t.scopeCount,
          fields: t.fields.map((f): [number, number, number] => [f.id, f.pen, f.length]),
        })),
      });
    }
    if (domains.length > 0) exporters.push({ address: e.address, domains });
  }
  return { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, exporters };
}

/**
 * Restores what a snapshot holds, checking every entry: a damaged or hand-edited file restores
 * what is valid and counts the rest as skipped; it never throws. With `out`, data held for a
 * template or a sampling rate that the snapshot brings is decoded into it (`rows`).
 */
export function restoreSnapshot(
  core: DecoderCore,
  input: unknown,
  out?: FlowBatch,
): { templates: number; rates: number; skipped: number; rows: number } {
  const res = { templates: 0, rates: 0, skipped: 0, rows: 0 };
  if (!isObject(input) || input.format !== SNAPSHOT_FORMAT || input.version !== SNAPSHOT_VERSION) {
    res.skipped++;
    return res;
  }
  if (!Array.isArray(input.exporters)) return res;
  for (const e of input.exporters) {
    if (!isObject(e) || typeof e.address !== "string" || !Array.isArray(e.domains)) {
      res.skipped++;
      continue;
    }
    const exporter = core.exporterFor(e.address);
    if (exporter === null) {
      res.skipped++;
      continue;
    }
    for (const d of e.domains) {
      if (
        !isObject(d) ||
        !isUint32(d.id) ||
        !(d.version === 5 || d.version === 9 || d.version === 10)
      ) {
        res.skipped++;
        continue;
      }
      const domain = core.domainFor(exporter, d.version, d.id);
      if (domain === null) {
        res.skipped++;
        continue;
      }
      const ratesBefore = res.rates;
      if (isRate(d.defaultRate)) {
        domain.defaultRate = d.defaultRate;
        res.rates++;
      }
      if (typeof d.sysInitMs === "number" && d.sysInitMs > 0) domain.sysInitMs = d.sysInitMs;
      for (const s of Array.isArray(d.samplers) ? d.samplers : []) {
        if (Array.isArray(s) && isUint32(s[0]) && isRate(s[1])) {
          domain.samplers.set(s[0], s[1]);
          res.rates++;
        } else res.skipped++;
      }
      for (const t of Array.isArray(d.templates) ? d.templates : []) {
        const fields = templateFields(t);
        if (
          fields !== null &&
          isObject(t) &&
          isUint32(t.id) &&
          (t.version === 9 || t.version === 10) &&
          t.version === d.version &&
          typeof t.options === "boolean" &&
          isUint32(t.scopeCount) &&
          t.scopeCount <= fields.length &&
          restoreTemplate(
            exporter,
            domain,
            t.id,
            t.version,
            fields,
            t.scopeCount,
            t.options,
            core.templateLimits,
          )
        ) {
          res.templates++;
          if (out !== undefined) res.rows += core.releaseTemplateHeld(domain, t.id, out);
        } else res.skipped++;
      }
      if (out !== undefined && res.rates > ratesBefore) {
        const before = out.length;
        core.releaseSamplingHeld(domain, out);
        res.rows += out.length - before;
      }
    }
  }
  return res;
}

function templateFields(t: unknown): TemplateField[] | null {
  if (!isObject(t) || !Array.isArray(t.fields)) return null;
  const fields: TemplateField[] = [];
  for (const f of t.fields) {
    if (!Array.isArray(f) || f.length !== 3) return null;
    const [id, pen, length] = f as unknown[];
    if (!isUint16(id) || !isUint32(pen) || !isUint16(length)) return null;
    fields.push({ id, pen, length });
  }
  return fields;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function isUint32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}
function isUint16(v: unknown): v is number {
  return isUint32(v) && v <= 0xffff;
}
function isRate(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 1;
}
