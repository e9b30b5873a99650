/**
 * Options data (v9 options templates, IPFIX options templates): flowtally learns sampling rates
 * per sampler / selector id, the exporter's default rate, and the IPFIX system init time.
 * Everything else in options data (interface names, VRF tables, application names) is skipped.
 */
import { uintAt } from "./byte-reader.js";
import type { DomainState } from "./exporter-state.js";
import { IE } from "./information-elements.js";
import { rateFromFields } from "./sampling.js";
import { type Template, VARIABLE_LENGTH } from "./template.js";

export interface OptionsResult {
  records: number;
  /** Rates learnt from this set (so held data can be released). */
  ratesLearnt: number;
  invalid: number;
  truncated: boolean;
}

/** Decodes the options records in `view[start, end)` into `domain`. */
export function decodeOptionsSet(
  tpl: Template,
  view: DataView,
  start: number,
  end: number,
  domain: DomainState,
): OptionsResult {
  const res: OptionsResult = { records: 0, ratesLearnt: 0, invalid: 0, truncated: false };
  if (tpl.minRecordLength === 0) return res;
  let off = start;
  while (end - off >= tpl.minRecordLength) {
    let sampler = -1;
    let interval = Number.NaN;
    let packetInterval = Number.NaN;
    let packetSpace = Number.NaN;
    let size = Number.NaN;
    let population = Number.NaN;
    let probability = Number.NaN;
    let sysInit = Number.NaN;
    for (const f of tpl.fields) {
      let len = f.length;
      if (len === VARIABLE_LENGTH) {
        if (off + 1 > end) return { ...res, truncated: true };
        len = view.getUint8(off++);
        if (len === 255) {
          if (off + 2 > end) return { ...res, truncated: true };
          len = view.getUint16(off);
          off += 2;
        }
      }
      if (off + len > end) return { ...res, truncated: true };
      if (f.pen === 0 && len > 0) {
        switch (f.id) {
          case IE.samplerId:
          case IE.selectorId:
            sampler = uintAt(view, off, len);
            break;
          case IE.samplingInterval:
          case IE.samplerRandomInterval:
            interval = uintAt(view, off, len);
            break;
          case IE.samplingPacketInterval:
            packetInterval = uintAt(view, off, len);
            break;
          case IE.samplingPacketSpace:
            packetSpace = uintAt(view, off, len);
            break;
          case IE.samplingSize:
            size = uintAt(view, off, len);
            break;
          case IE.samplingPopulation:
            population = uintAt(view, off, len);
            break;
          case IE.samplingProbability:
            if (len === 8) probability = view.getFloat64(off);
            else if (len === 4) probability = view.getFloat32(off);
            break;
          case IE.systemInitTimeMilliseconds:
            sysInit = uintAt(view, off, len);
            break;
        }
      }
      off += len;
    }
    res.records++;
    if (sysInit > 0) domain.sysInitMs = sysInit;
    const hasRateField =
      !Number.isNaN(interval) ||
      !Number.isNaN(packetInterval) ||
      !Number.isNaN(size) ||
      !Number.isNaN(probability);
    if (!hasRateField) continue;
    const rate = rateFromFields(
      interval,
      packetInterval,
      packetSpace,
      size,
      population,
      probability,
    );
    if (!(rate >= 1) || !Number.isFinite(rate)) {
      res.invalid++;
      continue;
    }
    if (sampler >= 0) domain.samplers.set(sampler, rate);
    else domain.defaultRate = rate;
    res.ratesLearnt++;
  }
  return res;
}
