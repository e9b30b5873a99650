/**
 * Attributes a flow record to customer access links, directions and traffic classes. Pure and
 * allocation-free per record: results go into a reused {@link Attribution}.
 *
 * - The destination address in a link's prefixes makes the flow `in` (download) for that link;
 *   the source address makes it `out` (upload). A flow between two customers counts for both.
 * - A side without a prefix match is tried by interface: leaving the exporter on a link's
 *   (router, ifIndex) is `in`, entering on it is `out`.
 * - A flow matching no link at all is kept, attributed to {@link UNATTRIBUTED} (`in`).
 * - The class is the first rule that matches, seen from that customer: `remotePrefixes` are
 *   tested against the address on the other side. No rule matching gives the default class.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import { Direction, UNATTRIBUTED } from "../aggregate/partial-sums.js";
import type { ClassRule, CustomerModel } from "./customer-model.js";
import type { PrefixLookup } from "./prefix-table.js";

export interface Attribution {
  /** 1 or 2 entries. */
  count: number;
  link: Int32Array;
  direction: Uint8Array;
  classIndex: Uint16Array;
}

export function createAttribution(): Attribution {
  return {
    count: 0,
    link: new Int32Array(2),
    direction: new Uint8Array(2),
    classIndex: new Uint16Array(2),
  };
}

export interface Classifier {
  classify(batch: FlowBatch, i: number, out: Attribution): void;
}

export function createClassifier(model: CustomerModel): Classifier {
  const defaultClass = model.rules.length;
  // exporterId → that exporter's interface map; resolved once per exporter name.
  let names: readonly string[] = [];
  let byExporter: Array<ReadonlyMap<number, number> | null> = [];

  function interfacesOf(batch: FlowBatch, i: number): ReadonlyMap<number, number> | null {
    if (model.interfaces.size === 0) return null;
    const id = batch.exporterId[i]!;
    if (batch.exporterNames !== names) {
      names = batch.exporterNames;
      byExporter = [];
    }
    let m = byExporter[id];
    if (m === undefined) {
      m = model.interfaces.get(names[id] ?? "") ?? null;
      byExporter[id] = m;
    }
    return m;
  }

  /** The model's prefix table, asked for at the first lookup (it is built then). */
  let prefixes: PrefixLookup | undefined;
  function lookup(batch: FlowBatch, i: number, src: boolean): number {
    const v = batch.ipVersion[i];
    prefixes ??= model.prefixes;
    if (v === 4) return prefixes.lookup4(src ? batch.src4[i]! : batch.dst4[i]!);
    if (v === 6) return prefixes.lookup6(src ? batch.src6 : batch.dst6, i * 16);
    return -1;
  }

  function classOf(batch: FlowBatch, i: number, remoteIsSrc: boolean): number {
    const rules = model.rules;
    for (let r = 0; r < rules.length; r++) {
      if (matches(rules[r]!, batch, i, remoteIsSrc)) return r;
    }
    return defaultClass;
  }

  return {
    classify(batch, i, out) {
      const ifaces = interfacesOf(batch, i);
      let dstLink = lookup(batch, i, false);
      let srcLink = lookup(batch, i, true);
      if (ifaces !== null) {
        if (dstLink < 0) dstLink = ifaces.get(batch.outIf[i]!) ?? -1;
        if (srcLink < 0) srcLink = ifaces.get(batch.inIf[i]!) ?? -1;
      }
      let n = 0;
      if (dstLink >= 0) {
        out.link[n] = dstLink;
        out.direction[n] = Direction.In;
        out.classIndex[n] = classOf(batch, i, true);
        n++;
      }
      if (srcLink >= 0) {
        out.link[n] = srcLink;
        out.direction[n] = Direction.Out;
        out.classIndex[n] = classOf(batch, i, false);
        n++;
      }
      if (n === 0) {
        out.link[0] = UNATTRIBUTED;
        out.direction[0] = Direction.In;
        out.classIndex[0] = classOf(batch, i, true);
        n = 1;
      }
      out.count = n;
    },
  };
}

function matches(rule: ClassRule, batch: FlowBatch, i: number, remoteIsSrc: boolean): boolean {
  if (rule.protocols !== null && rule.protocols[batch.protocol[i]!] !== 1) return false;
  if (rule.dscp !== null && rule.dscp[batch.dscp[i]!] !== 1) return false;
  if (
    rule.ports !== null &&
    !inRanges(rule.ports, batch.srcPort[i]!) &&
    !inRanges(rule.ports, batch.dstPort[i]!)
  ) {
    return false;
  }
  if (rule.applicationIds !== null && !rule.applicationIds.has(batch.applicationId[i]!))
    return false;
  if (rule.remote !== null) {
    const v = batch.ipVersion[i];
    const hit =
      v === 4
        ? rule.remote.lookup4(remoteIsSrc ? batch.src4[i]! : batch.dst4[i]!)
        : v === 6
          ? rule.remote.lookup6(remoteIsSrc ? batch.src6 : batch.dst6, i * 16)
          : -1;
    if (hit < 0) return false;
  }
  if (rule.interfaces !== null) {
    const set = rule.interfaces.get(batch.exporterNames[batch.exporterId[i]!] ?? "");
    if (set === undefined || (!set.has(batch.inIf[i]!) && !set.has(batch.outIf[i]!))) return false;
  }
  return true;
}

/** `ranges` holds [low, high] pairs sorted by low. */
function inRanges(ranges: Uint16Array, port: number): boolean {
  for (let k = 0; k < ranges.length; k += 2) {
    if (port < ranges[k]!) return false;
    if (port <= ranges[k + 1]!) return true;
  }
  return false;
}
