/**
 * sFlow v5 counter samples for tests: an interface's generic counters, with its ifOperStatus
 * (what the link-status series is measured from: sla/link-status.ts).
 */
import { Bytes } from "./export-builder.js";

/** A counter sample (format 2) with one generic interface counters record (format 1). */
export function counterSample(sequence: number, ifIndex: number, operUp: boolean) {
  const generic = new Bytes()
    .u32(ifIndex)
    .u32(6) // ethernetCsmacd
    .u32(0)
    .u32(1_000_000_000) // ifSpeed (u64)
    .u32(1) // full duplex
    .u32(operUp ? 3 : 1) // bit 0 admin up, bit 1 oper up
    .u32(0)
    .u32(sequence * 1000) // ifInOctets (u64)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(sequence * 1000) // ifOutOctets (u64)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .done();
  const body = new Bytes()
    .u32(sequence)
    .u32(ifIndex) // source id: type 0, index
    .u32(1)
    .u32(1)
    .u32(generic.length)
    .bytes(generic)
    .done();
  return { kind: "raw" as const, type: 2, body };
}
