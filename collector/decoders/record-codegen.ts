/**
 * Fixed-length templates compiled to straight-line JavaScript: one function per template that
 * reads every field at its constant offset and stores it, with no loop over fields, no switch
 * and no call per field. This is what lifts v9/IPFIX decoding past 5 M records/s per core
 * (bench/README.md); the interpreter in data-records.ts remains for variable-length templates
 * and is the reference the generated code is tested against (record-codegen.test.ts).
 *
 * Safety: the generated source is built only from numbers (offsets, lengths, scratch slots) and
 * from the fixed statement table below; nothing from the wire is ever placed in it as text.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import { uintAt } from "./byte-reader.js";
import { Op } from "./information-elements.js";
import type { Template } from "./template.js";

/** The record-level context the generated code reads (a subset of RecordContext). */
export interface CodegenContext {
  exportMs: number;
}

export type FixedRecordDecoder = (
  view: DataView,
  base: number,
  i: number,
  out: FlowBatch,
  scratch: Float64Array,
  ctx: CodegenContext,
) => void;

/** Scratch slots, shared with data-records.ts. */
export const Slot = {
  FirstUptime: 0,
  LastUptime: 1,
  SysInit: 2,
  Interval: 3,
  Sampler: 4,
  PacketInterval: 5,
  PacketSpace: 6,
  Size: 7,
  Population: 8,
  Probability: 9,
  ReverseBytes: 10,
  ReversePackets: 11,
  ArtClient: 12,
  ArtServer: 13,
  ArtResponse: 14,
  ArtConnections: 15,
  ArtResponses: 16,
  Observation: 17,
  InPhysical: 18,
  OutPhysical: 19,
} as const;
export const SCRATCH_SIZE = 20;

/** `$` stands for the value read from the field. */
const valueStatements: Partial<Record<number, string>> = {
  [Op.InIf]: "out.inIf[i] = $;",
  [Op.OutIf]: "out.outIf[i] = $;",
  [Op.Src4]: "out.src4[i] = $; out.ipVersion[i] = 4;",
  [Op.Dst4]: "out.dst4[i] = $; out.ipVersion[i] = 4;",
  [Op.SrcPort]: "out.srcPort[i] = $;",
  [Op.DstPort]: "out.dstPort[i] = $;",
  [Op.Protocol]: "out.protocol[i] = $;",
  [Op.TcpFlags]: "out.tcpFlags[i] = $;",
  [Op.Tos]: "out.dscp[i] = ($ & 255) >> 2;",
  [Op.Dscp]: "out.dscp[i] = $ & 63;",
  [Op.Bytes]: "out.bytes[i] = $;",
  [Op.BytesAdd]: "out.bytes[i] += $;",
  [Op.Packets]: "out.packets[i] = $;",
  [Op.PacketsAdd]: "out.packets[i] += $;",
  [Op.ReverseBytes]: `s[${Slot.ReverseBytes}] = $;`,
  [Op.ReversePackets]: `s[${Slot.ReversePackets}] = $;`,
  [Op.FirstUptime]: `s[${Slot.FirstUptime}] = $;`,
  [Op.LastUptime]: `s[${Slot.LastUptime}] = $;`,
  [Op.SysInitMs]: `s[${Slot.SysInit}] = $;`,
  [Op.StartSec]: "out.startMs[i] = $ * 1000;",
  [Op.EndSec]: "out.endMs[i] = $ * 1000;",
  [Op.StartMs]: "out.startMs[i] = $;",
  [Op.EndMs]: "out.endMs[i] = $;",
  [Op.StartDeltaUs]: "out.startMs[i] = ctx.exportMs - $ / 1000;",
  [Op.EndDeltaUs]: "out.endMs[i] = ctx.exportMs - $ / 1000;",
  [Op.ObservationMs]: `s[${Slot.Observation}] = $;`,
  [Op.SamplingInterval]: `s[${Slot.Interval}] = $;`,
  [Op.SamplerId]: `s[${Slot.Sampler}] = $;`,
  [Op.SamplingPacketInterval]: `s[${Slot.PacketInterval}] = $;`,
  [Op.SamplingPacketSpace]: `s[${Slot.PacketSpace}] = $;`,
  [Op.SamplingSize]: `s[${Slot.Size}] = $;`,
  [Op.SamplingPopulation]: `s[${Slot.Population}] = $;`,
  [Op.Direction]: "out.direction[i] = $ & 1;",
  [Op.ApplicationId]: "out.applicationId[i] = $;",
  [Op.ArtClientNwSum]: `s[${Slot.ArtClient}] = $;`,
  [Op.ArtServerNwSum]: `s[${Slot.ArtServer}] = $;`,
  [Op.ArtServerResponseSum]: `s[${Slot.ArtResponse}] = $;`,
  [Op.ArtNewConnections]: `s[${Slot.ArtConnections}] = $;`,
  [Op.ArtResponses]: `s[${Slot.ArtResponses}] = $;`,
  [Op.InPhysIf]: `s[${Slot.InPhysical}] = $;`,
  [Op.OutPhysIf]: `s[${Slot.OutPhysical}] = $;`,
};

/** Raw ops: `@` is the field's offset expression, `#` its length. */
const rawStatements: Partial<Record<number, string>> = {
  [Op.Src6]: "copy16(view, @, out.src6, i * 16); out.ipVersion[i] = 6;",
  [Op.Dst6]: "copy16(view, @, out.dst6, i * 16); out.ipVersion[i] = 6;",
  [Op.StartNtp]: "out.startMs[i] = ntpToMs(view, @);",
  [Op.EndNtp]: "out.endMs[i] = ntpToMs(view, @);",
  [Op.SamplingProbability]: `s[${Slot.Probability}] = # === 8 ? view.getFloat64(@) : view.getFloat32(@);`,
  [Op.ClientNwMs]: "out.clientNetworkDelayUs[i] = latencyUs(view, @, #);",
  [Op.ServerNwMs]: "out.serverNetworkDelayUs[i] = latencyUs(view, @, #);",
  [Op.AppLatencyMs]: "out.applicationDelayUs[i] = latencyUs(view, @, #);",
};

function readExpression(offset: string, length: number): string {
  switch (length) {
    case 1:
      return `view.getUint8(${offset})`;
    case 2:
      return `view.getUint16(${offset})`;
    case 4:
      return `view.getUint32(${offset})`;
    case 8:
      return `(view.getUint32(${offset}) * 4294967296 + view.getUint32(${offset} + 4))`;
    default:
      return `uintAt(view, ${offset}, ${length})`;
  }
}

export interface RawHelpers {
  copy16(view: DataView, off: number, dst: Uint8Array, at: number): void;
  ntpToMs(view: DataView, off: number): number;
  latencyUs(view: DataView, off: number, len: number): number;
}

/**
 * Compiled decoders by layout, shared by every exporter: templates are few and alike (one
 * vendor's template looks the same on every router), and an exporter that keeps redefining a
 * template id between two layouts must not cost a compilation per datagram. Bounded: emptied
 * when full.
 */
const compiled = new Map<string, FixedRecordDecoder>();
const MAX_COMPILED = 1024;

/** Compiles a fixed-length template (recordLength > 0) to a record decoder, or reuses one. */
export function compileFixedRecord(tpl: Template, helpers: RawHelpers): FixedRecordDecoder {
  const layout = `${tpl.ops.join(",")}|${tpl.lengths.join(",")}`;
  let fn = compiled.get(layout);
  if (fn === undefined) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    fn = generate(tpl, helpers);
    compiled.set(layout, fn);
  }
  return fn;
}

function generate(tpl: Template, helpers: RawHelpers): FixedRecordDecoder {
  const lines: string[] = [];
  for (let k = 0; k < tpl.ops.length; k++) {
    const op = tpl.ops[k]!;
    const length = tpl.lengths[k]!;
    if (op === Op.Skip || length === 0) continue;
    const offset = `base + ${tpl.offsets[k]!}`;
    const value = valueStatements[op];
    if (value !== undefined) {
      lines.push(value.replaceAll("$", readExpression(offset, length)));
      continue;
    }
    const raw = rawStatements[op];
    if (raw !== undefined) lines.push(raw.replaceAll("@", offset).replaceAll("#", String(length)));
  }
  const source = `"use strict";\nreturn function decodeRecord(view, base, i, out, s, ctx) {\n  ${lines.join("\n  ")}\n};`;
  const factory = new Function("uintAt", "copy16", "ntpToMs", "latencyUs", source);
  return factory(uintAt, helpers.copy16, helpers.ntpToMs, helpers.latencyUs) as FixedRecordDecoder;
}
