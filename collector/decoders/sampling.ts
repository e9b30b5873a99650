/**
 * Sampling rates: where a record's rate comes from, in order of precedence.
 *
 * 1. `sampling.overrides` in the config for the exporter (the operator knows best);
 * 2. the NetFlow v5 header's sampling interval;
 * 3. a sampling field in the data record itself (IE 34/50, 305+306, 309+310, 311);
 * 4. options data for the sampler / selector id the record names (IE 48 / 302);
 * 5. options data for the exporter and domain that named no sampler;
 * 6. otherwise the rate is unknown and the `unknownSampling` policy applies:
 *    `assume-one` (rate 1), `default` (`defaultRate`), or `hold` (keep the data until options
 *    data brings a rate; released with rate 1 if none comes within the hold time).
 */
import { SamplingSource } from "../../schema/flow-record.js";
import type { DomainState } from "./exporter-state.js";

export type UnknownSamplingPolicy = "assume-one" | "default" | "hold";

export interface SamplingPolicy {
  unknown: UnknownSamplingPolicy;
  defaultRate: number;
  /** Exporter address → rate. */
  overrides: ReadonlyMap<string, number>;
}

/** A resolved rate; reused, never allocated per record. */
export interface RateChoice {
  rate: number;
  source: SamplingSource;
}

/**
 * The rate for a whole data set when its template carries no per-record sampling field.
 * Returns false when no rate is known (the caller applies the unknown policy).
 */
export function domainRate(
  override: number,
  domain: DomainState,
  samplerId: number,
  out: RateChoice,
): boolean {
  if (override > 0) {
    out.rate = override;
    out.source = SamplingSource.ConfigOverride;
    return true;
  }
  if (samplerId >= 0) {
    const r = domain.samplers.get(samplerId);
    if (r !== undefined) {
      out.rate = r;
      out.source = SamplingSource.OptionsSampler;
      return true;
    }
  }
  if (domain.defaultRate > 0) {
    out.rate = domain.defaultRate;
    out.source = SamplingSource.OptionsExporter;
    return true;
  }
  // One sampler known and the record names none: that sampler is the exporter's only one.
  if (samplerId < 0 && domain.samplers.size === 1) {
    for (const r of domain.samplers.values()) {
      out.rate = r;
      out.source = SamplingSource.OptionsSampler;
    }
    return true;
  }
  return false;
}

/** Applies the unknown-rate policy (for `hold`, used once the hold has expired). */
export function unknownRate(policy: SamplingPolicy, out: RateChoice): void {
  if (policy.unknown === "default") {
    out.rate = policy.defaultRate;
    out.source = SamplingSource.ConfigDefault;
  } else {
    out.rate = 1;
    out.source = SamplingSource.Unknown;
  }
}

/** True when the domain has any rate from options data (so held data can be released). */
export function domainHasRates(domain: DomainState): boolean {
  return domain.defaultRate > 0 || domain.samplers.size > 0;
}

/**
 * Turns the sampling fields of one record (options data or flow data) into a rate.
 * NaN arguments are fields the record did not carry. Returns NaN when nothing usable is there:
 * the result is always a finite number >= 1 or NaN.
 */
export function rateFromFields(
  interval: number,
  packetInterval: number,
  packetSpace: number,
  size: number,
  population: number,
  probability: number,
): number {
  let rate = Number.NaN;
  if (interval > 0) rate = interval;
  else if (packetInterval > 0) {
    const space = packetSpace >= 0 ? packetSpace : 0;
    rate = (packetInterval + space) / packetInterval;
  } else if (size > 0 && population > 0) rate = population / size;
  else if (probability > 0 && probability <= 1) rate = 1 / probability;
  // A rate below 1 means nothing; an infinite one (a denormal probability) would poison totals.
  return rate >= 1 && Number.isFinite(rate) ? rate : Number.NaN;
}
