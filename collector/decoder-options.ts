/** Turns the validated `decoder` config section into flow decoder options. */

import type { DecoderConfig } from "../schema/config.js";
import type { FlowDecoderOptions } from "./decoders/flow-decoder.js";

export function decoderOptionsFromConfig(cfg: DecoderConfig): FlowDecoderOptions {
  return {
    unknownSampling: cfg.unknownSampling,
    defaultSamplingRate: cfg.defaultSamplingRate,
    samplingOverrides: new Map(cfg.samplingOverrides.map((o) => [o.exporter, o.rate])),
    templates: {
      maxTemplates: cfg.maxTemplates,
      maxExporters: cfg.maxExporters,
      maxDomainsPerExporter: cfg.maxDomainsPerExporter,
      maxTemplatesPerExporter: cfg.maxTemplatesPerExporter,
      maxFieldsPerTemplate: cfg.maxFieldsPerTemplate,
    },
    held: {
      maxSets: cfg.held.maxSets,
      maxBytes: cfg.held.maxBytes,
      maxAgeMs: cfg.held.maxAgeSeconds * 1000,
    },
  };
}
