/**
 * The config file's schema: one section per component, a default on every field, unknown keys
 * rejected. Parsed once at start, frozen, and passed down.
 */
import { isIP } from "node:net";
import { z } from "zod";

const positiveInt = z.number().int().min(1);

export const decoderConfigSchema = z.strictObject({
  /** What to do with records whose sampling rate nobody has told us. */
  unknownSampling: z.enum(["assume-one", "default", "hold"]).default("assume-one"),
  /** The rate the `default` policy applies. */
  defaultSamplingRate: positiveInt.default(1),
  /** Rates that override whatever an exporter says (for exporters that sample but don't say). */
  samplingOverrides: z
    .array(
      z.strictObject({
        exporter: z.string().refine((s) => isIP(s) !== 0, "is not an IP address"),
        rate: positiveInt,
      }),
    )
    .default([]),
  /** Exporter addresses the decoder keeps state for; datagrams from more are dropped, counted. */
  maxExporters: positiveInt.max(1_000_000).default(10_000),
  /** Observation domains (source ids) per exporter; datagrams for more are dropped, counted. */
  maxDomainsPerExporter: positiveInt.max(65536).default(1024),
  /** Templates across all exporters: the memory bound (a template takes about 3 KiB). */
  maxTemplates: positiveInt.max(10_000_000).default(65_536),
  /** Templates one exporter may define (all domains together); more are refused and counted. */
  maxTemplatesPerExporter: positiveInt.max(65536).default(4096),
  maxFieldsPerTemplate: positiveInt.max(4096).default(512),
  /** Data held while its template (or, with `hold`, its sampling rate) has not arrived. */
  held: z
    .strictObject({
      maxSets: z.number().int().min(0).default(4096),
      maxBytes: z
        .number()
        .int()
        .min(0)
        .default(16 * 1024 * 1024),
      maxAgeSeconds: z.number().min(0).default(60),
    })
    .prefault({}),
  /** Where templates and sampling rates are kept across restarts; "" disables it. */
  statePath: z.string().default(".flowtally/decoder-state.json"),
});

export const configSchema = z.strictObject({
  decoder: decoderConfigSchema.prefault({}),
});

export type DecoderConfig = z.infer<typeof decoderConfigSchema>;
export type Config = z.infer<typeof configSchema>;
