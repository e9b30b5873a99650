/**
 * Materialises rows of a {@link FlowBatch} as plain {@link FlowRecord} objects: for tests, logs
 * and the `decode` command, never on the hot path.
 */
import {
  type FlowBatch,
  FlowDirection,
  type FlowRecord,
  RESPONSE_WIDTH,
  ResponseSlot,
  type SamplingSource,
  samplingSourceNames,
} from "../../schema/flow-record.js";
import { formatIPv4, formatIPv6 } from "../capture/udp-datagram.js";

const ipv4Bytes = new Uint8Array(4);

export function readFlowRecord(batch: FlowBatch, i: number): FlowRecord {
  const v = batch.ipVersion[i]!;
  const rec: FlowRecord = {
    exporter: batch.exporterNames[batch.exporterId[i]!] ?? "",
    version: batch.version[i]!,
    domain: batch.domain[i]!,
    inIf: batch.inIf[i]!,
    outIf: batch.outIf[i]!,
    ipVersion: v === 4 ? 4 : v === 6 ? 6 : 0,
    srcAddress: address(batch, i, true),
    dstAddress: address(batch, i, false),
    srcPort: batch.srcPort[i]!,
    dstPort: batch.dstPort[i]!,
    protocol: batch.protocol[i]!,
    tcpFlags: batch.tcpFlags[i]!,
    dscp: batch.dscp[i]!,
    bytes: batch.bytes[i]!,
    packets: batch.packets[i]!,
    startMs: batch.startMs[i]!,
    endMs: batch.endMs[i]!,
    samplingRate: batch.samplingRate[i]!,
    samplingSource: samplingSourceNames[batch.samplingSource[i]! as SamplingSource],
  };
  const d = batch.direction[i]!;
  if (d !== FlowDirection.Unknown)
    rec.direction = d === FlowDirection.Ingress ? "ingress" : "egress";
  setIfPresent(rec, "applicationId", batch.applicationId[i]!);
  setIfPresent(rec, "clientNetworkDelayUs", batch.clientNetworkDelayUs[i]!);
  setIfPresent(rec, "serverNetworkDelayUs", batch.serverNetworkDelayUs[i]!);
  setIfPresent(rec, "applicationDelayUs", batch.applicationDelayUs[i]!);
  const rt = batch.responseTimes.subarray(i * RESPONSE_WIDTH, (i + 1) * RESPONSE_WIDTH);
  if (rt.some((v) => v !== 0)) {
    const out = {} as Record<keyof typeof ResponseSlot, number>;
    for (const [name, slot] of Object.entries(ResponseSlot)) {
      out[name as keyof typeof ResponseSlot] = rt[slot]!;
    }
    rec.responseTimes = out;
  }
  return rec;
}

function address(batch: FlowBatch, i: number, src: boolean): string {
  const v = batch.ipVersion[i];
  if (v === 4) {
    const a = src ? batch.src4[i]! : batch.dst4[i]!;
    ipv4Bytes[0] = a >>> 24;
    ipv4Bytes[1] = (a >>> 16) & 0xff;
    ipv4Bytes[2] = (a >>> 8) & 0xff;
    ipv4Bytes[3] = a & 0xff;
    return formatIPv4(ipv4Bytes, 0);
  }
  if (v === 6) return formatIPv6(src ? batch.src6 : batch.dst6, i * 16);
  return "";
}

function setIfPresent(
  rec: FlowRecord,
  key: "applicationId" | "clientNetworkDelayUs" | "serverNetworkDelayUs" | "applicationDelayUs",
  value: number,
): void {
  if (!Number.isNaN(value)) rec[key] = value;
}
