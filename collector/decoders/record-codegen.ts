/**
 * Templates compiled to straight-line JavaScript: one function per record layout that reads
 * every field (at its constant offset, or behind a cursor when the template has variable-length
 * fields) and stores it, with no loop over fields, no switch, no call and no allocation per
 * field. This is what lifts v9/IPFIX decoding past 5 M records/s per core (bench/README.md).
 * The interpreter in data-records.ts is the reference the generated code is tested against
 * (record-codegen.test.ts), selected with the decoder option `codegen: false`.
 *
 * Safety: the generated source is built only from numbers (offsets, lengths, scratch slots) and
 * from the fixed statement table below; nothing from the wire is ever placed in it as text.
 */
import { uintAt } from "./byte-reader.js";
import { Op } from "./information-elements.js";
import {
  type FixedRecordDecoder,
  type Template,
  VARIABLE_LENGTH,
  type VariableRecordDecoder,
} from "./template.js";

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
  ArtTotal: 20,
  ArtLate: 21,
  ArtRetransmissions: 22,
  /** ART histogram buckets 1 .. 7 in slots 23 .. 29. */
  ArtBucket1: 23,
} as const;
export const SCRATCH_SIZE = 30;

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
  [Op.ArtTotalResponseSum]: `s[${Slot.ArtTotal}] = $;`,
  [Op.ArtLateResponses]: `s[${Slot.ArtLate}] = $;`,
  [Op.ArtRetransmissions]: `s[${Slot.ArtRetransmissions}] = $;`,
  [Op.ArtBucket1]: `s[${Slot.ArtBucket1}] = $;`,
  [Op.ArtBucket2]: `s[${Slot.ArtBucket1 + 1}] = $;`,
  [Op.ArtBucket3]: `s[${Slot.ArtBucket1 + 2}] = $;`,
  [Op.ArtBucket4]: `s[${Slot.ArtBucket1 + 3}] = $;`,
  [Op.ArtBucket5]: `s[${Slot.ArtBucket1 + 4}] = $;`,
  [Op.ArtBucket6]: `s[${Slot.ArtBucket1 + 5}] = $;`,
  [Op.ArtBucket7]: `s[${Slot.ArtBucket1 + 6}] = $;`,
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
const compiled = new Map<string, FixedRecordDecoder | VariableRecordDecoder>();
const MAX_COMPILED = 1024;

function cached<T extends FixedRecordDecoder | VariableRecordDecoder>(
  tpl: Template,
  make: () => T,
): T {
  const layout = `${tpl.recordLength > 0 ? "f" : "v"}|${tpl.ops.join(",")}|${tpl.lengths.join(",")}`;
  let fn = compiled.get(layout);
  if (fn === undefined) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    fn = make();
    compiled.set(layout, fn);
  }
  return fn as T;
}

/** Compiles a fixed-length template (recordLength > 0) to a record decoder, or reuses one. */
export function compileFixedRecord(tpl: Template, helpers: RawHelpers): FixedRecordDecoder {
  return cached(tpl, () => {
    const lines: string[] = [];
    for (let k = 0; k < tpl.ops.length; k++) {
      const statement = fieldStatement(tpl.ops[k]!, `base + ${tpl.offsets[k]!}`, tpl.lengths[k]!);
      if (statement !== "") lines.push(statement);
    }
    return build(helpers, "base, i, out, s, ctx", lines) as FixedRecordDecoder;
  });
}

/** Compiles a template with variable-length fields (RFC 7011 §7) to a record decoder. */
export function compileVariableRecord(tpl: Template, helpers: RawHelpers): VariableRecordDecoder {
  return cached(tpl, () => {
    const lines: string[] = ["let o = base;", "let len = 0;"];
    for (let k = 0; k < tpl.ops.length; k++) {
      const op = tpl.ops[k]!;
      const length = tpl.lengths[k]!;
      if (length === VARIABLE_LENGTH) {
        lines.push(
          "if (o + 1 > end) return -1;",
          "len = view.getUint8(o); o += 1;",
          "if (len === 255) { if (o + 2 > end) return -1; len = view.getUint16(o); o += 2; }",
          "if (o + len > end) return -1;",
        );
        // Only value ops accept a variable length (template.ts): read with the runtime length.
        const value = valueStatements[op];
        if (op !== Op.Skip && value !== undefined) {
          lines.push(`if (len > 0) { ${value.replaceAll("$", "uintAt(view, o, len)")} }`);
        }
        lines.push("o += len;");
        continue;
      }
      if (length === 0) continue;
      lines.push(`if (o + ${length} > end) return -1;`);
      const statement = fieldStatement(op, "o", length);
      if (statement !== "") lines.push(statement);
      lines.push(`o += ${length};`);
    }
    lines.push("return o;");
    return build(helpers, "base, end, i, out, s, ctx", lines) as VariableRecordDecoder;
  });
}

/** The statement that stores one fixed-length field read at `offset`, or "" when skipped. */
function fieldStatement(op: number, offset: string, length: number): string {
  if (op === Op.Skip || length === 0) return "";
  const value = valueStatements[op];
  if (value !== undefined) return value.replaceAll("$", readExpression(offset, length));
  const raw = rawStatements[op];
  if (raw !== undefined) return raw.replaceAll("@", offset).replaceAll("#", String(length));
  return "";
}

function build(helpers: RawHelpers, params: string, lines: string[]): unknown {
  const source = `"use strict";\nreturn function decodeRecord(view, ${params}) {\n  ${lines.join("\n  ")}\n};`;
  const factory = new Function("uintAt", "copy16", "ntpToMs", "latencyUs", source);
  return factory(uintAt, helpers.copy16, helpers.ntpToMs, helpers.latencyUs);
}
