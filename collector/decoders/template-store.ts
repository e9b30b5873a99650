/**
 * Template sets: parsing v9 (flowset 0 and 1) and IPFIX (set 2 and 3) template records, and
 * keeping the result per (exporter, domain, template id) within a per-exporter bound.
 */
import type { ByteReader } from "./byte-reader.js";
import type { DecodeProblem } from "./decode-problems.js";
import type { DomainState, ExporterState } from "./exporter-state.js";
import { compileTemplate, sameLayout, type Template, type TemplateField } from "./template.js";

export interface TemplateLimits {
  /** Templates across all exporters: the memory bound that does not grow with exporters. */
  maxTemplates: number;
  /** Exporters (source addresses) the decoder keeps state for; datagrams from more are dropped. */
  maxExporters: number;
  /** Observation domains / source ids per exporter and version. */
  maxDomainsPerExporter: number;
  /** Templates (data + options) one exporter may define across all its domains. */
  maxTemplatesPerExporter: number;
  /** Fields in one template. */
  maxFieldsPerTemplate: number;
}

export const defaultTemplateLimits: TemplateLimits = {
  maxTemplates: 65_536,
  maxExporters: 10_000,
  maxDomainsPerExporter: 1024,
  maxTemplatesPerExporter: 4096,
  maxFieldsPerTemplate: 512,
};

/** The limits plus the running total they bound, shared by all exporters of a decoder. */
export interface TemplateSpace extends TemplateLimits {
  total: number;
}

/** Receives each template learnt (for releasing held data) and each problem. */
export interface TemplateSink {
  learnt(domain: DomainState, tpl: Template): void;
  problem(p: DecodeProblem): void;
}

/**
 * Walks one template set: `r` is positioned at the first template record and bounded by the
 * set's end. `kind` is the set id (v9: 0 template, 1 options; IPFIX: 2 template, 3 options).
 */
export function readTemplateSet(
  r: ByteReader,
  version: 9 | 10,
  kind: number,
  exporter: ExporterState,
  domain: DomainState,
  limits: TemplateSpace,
  sink: TemplateSink,
): void {
  const options = kind === 1 || kind === 3;
  // A set ends with up to 3 bytes of padding; a template record is at least 4 bytes.
  while (r.remaining() >= 4) {
    const id = r.u16();
    if (version === 9 && kind === 1) {
      if (!readV9OptionsTemplate(r, id, exporter, domain, limits, sink)) return;
      continue;
    }
    const fieldCount = r.u16();
    if (fieldCount < 0) {
      sink.problem("template-truncated");
      return;
    }
    if (version === 10 && fieldCount === 0) {
      withdraw(exporter, domain, id, kind, limits);
      continue;
    }
    let scopeCount = 0;
    if (options) {
      if (version === 10) {
        scopeCount = r.u16();
        if (scopeCount < 0) {
          sink.problem("template-truncated");
          return;
        }
        if (scopeCount === 0 || scopeCount > fieldCount) {
          // RFC 7011 §3.4.2.2: the scope count must be at least 1 and at most the field count.
          sink.problem("template-invalid");
          return;
        }
      }
    }
    if (id === 0 && fieldCount === 0 && version === 9) {
      // Zero-filled tail of a padded v9 flowset.
      return;
    }
    const fields = readFields(r, fieldCount, version, limits);
    if (fields === null) {
      sink.problem("template-truncated");
      return;
    }
    if (fields === "too-many" || fields.length === 0) {
      sink.problem("template-invalid");
      if (fields === "too-many") return;
      continue;
    }
    if (id < 256) {
      sink.problem("template-id-invalid");
      continue;
    }
    learn(
      compileTemplate(id, version, fields, scopeCount, options),
      exporter,
      domain,
      limits,
      sink,
    );
  }
}

function readV9OptionsTemplate(
  r: ByteReader,
  id: number,
  exporter: ExporterState,
  domain: DomainState,
  limits: TemplateSpace,
  sink: TemplateSink,
): boolean {
  const scopeLength = r.u16();
  const optionLength = r.u16();
  if (optionLength < 0) {
    sink.problem("template-truncated");
    return false;
  }
  if (scopeLength % 4 !== 0 || optionLength % 4 !== 0) {
    sink.problem("template-invalid");
    return false;
  }
  const scopeCount = scopeLength / 4;
  const fields = readFields(r, scopeCount + optionLength / 4, 9, limits);
  if (fields === null) {
    sink.problem("template-truncated");
    return false;
  }
  if (fields === "too-many") {
    sink.problem("template-invalid");
    return false;
  }
  // v9 scope fields are (scope type, length); their ids are not IPFIX element ids.
  for (let k = 0; k < scopeCount; k++) fields[k] = { id: 0, pen: 0, length: fields[k]!.length };
  if (id < 256) {
    sink.problem("template-id-invalid");
    return true;
  }
  learn(compileTemplate(id, 9, fields, scopeCount, true), exporter, domain, limits, sink);
  return true;
}

function readFields(
  r: ByteReader,
  count: number,
  version: 9 | 10,
  limits: TemplateSpace,
): TemplateField[] | null | "too-many" {
  if (count < 0) return null;
  if (count > limits.maxFieldsPerTemplate) return "too-many";
  if (!r.has(count * 4)) return null;
  const fields: TemplateField[] = new Array(count);
  for (let k = 0; k < count; k++) {
    // Checked one by one: enterprise numbers make fields longer than the 4 bytes counted above.
    let id = r.u16();
    const length = r.u16();
    if (length < 0) return null;
    let pen = 0;
    if (version === 10 && id & 0x8000) {
      id &= 0x7fff;
      pen = r.u32();
      if (pen < 0) return null;
    }
    fields[k] = { id, pen, length };
  }
  return fields;
}

function learn(
  tpl: Template,
  exporter: ExporterState,
  domain: DomainState,
  limits: TemplateSpace,
  sink: TemplateSink,
): void {
  if (tpl.recordLength > 65535) {
    sink.problem("template-invalid");
    return;
  }
  const old = domain.templates.get(tpl.id);
  if (old === undefined) {
    if (
      exporter.templateCount >= limits.maxTemplatesPerExporter ||
      limits.total >= limits.maxTemplates
    ) {
      sink.problem("template-limit");
      return;
    }
    exporter.templateCount++;
    limits.total++;
    exporter.stats.templatesLearnt++;
  } else if (!sameLayout(old, tpl)) {
    exporter.stats.templateRedefinitions++;
  } else {
    // A periodic re-send of the same template: keep the compiled one.
    sink.learnt(domain, old);
    return;
  }
  domain.templates.set(tpl.id, tpl);
  sink.learnt(domain, tpl);
}

/**
 * RFC 7011 §8.1: a template record with no fields withdraws that template; template id 2 (in a
 * template set) or 3 (in an options template set) withdraws all of that kind.
 */
function withdraw(
  exporter: ExporterState,
  domain: DomainState,
  id: number,
  kind: number,
  limits: TemplateSpace,
): void {
  if (id === kind) {
    const options = kind === 3;
    for (const [tid, t] of domain.templates) {
      if (t.options === options) {
        domain.templates.delete(tid);
        exporter.templateCount--;
        limits.total--;
        exporter.stats.templatesWithdrawn++;
      }
    }
    return;
  }
  if (domain.templates.delete(id)) {
    exporter.templateCount--;
    limits.total--;
    exporter.stats.templatesWithdrawn++;
  }
}

/** Restores one template from a snapshot, applying the same bounds as the wire. */
export function restoreTemplate(
  exporter: ExporterState,
  domain: DomainState,
  id: number,
  version: 9 | 10,
  fields: TemplateField[],
  scopeCount: number,
  options: boolean,
  limits: TemplateSpace,
): boolean {
  if (id < 256 || fields.length === 0 || fields.length > limits.maxFieldsPerTemplate) return false;
  if (!domain.templates.has(id)) {
    if (
      exporter.templateCount >= limits.maxTemplatesPerExporter ||
      limits.total >= limits.maxTemplates
    ) {
      return false;
    }
    exporter.templateCount++;
    limits.total++;
  }
  domain.templates.set(id, compileTemplate(id, version, fields, scopeCount, options));
  return true;
}
