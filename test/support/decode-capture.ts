/**
 * Test support: replays the UDP datagrams of a capture file through a flow decoder, on the
 * packets' own timestamps, exactly as `flowtally replay` will.
 */
import { readFileSync } from "node:fs";
import { createCaptureParser } from "../../collector/capture/capture-file.js";
import { createUdpDatagram, extractUdp } from "../../collector/capture/udp-datagram.js";
import {
  createFlowDecoder,
  type FlowDecoder,
  type FlowDecoderOptions,
} from "../../collector/decoders/flow-decoder.js";
import { FlowBatch } from "../../schema/flow-record.js";

/**
 * The folders of test/fixtures/flows holding flow-export captures. sflow/ is included: one of
 * its captures carries NetFlow v5 on the sFlow port.
 */
export const FLOW_CAPTURE_DIRS = [
  "netflow-v5",
  "netflow-v9",
  "ipfix",
  "invalid",
  "exported-from-packets",
  "sflow",
] as const;

export interface DecodedCapture {
  decoder: FlowDecoder;
  batch: FlowBatch;
  datagrams: number;
}

/** Payloads of every UDP datagram in the capture, with source address and time (ms). */
export function captureDatagrams(
  path: string,
): Array<{ exporter: string; timeMs: number; payload: Uint8Array }> {
  const out: Array<{ exporter: string; timeMs: number; payload: Uint8Array }> = [];
  const udp = createUdpDatagram();
  const parser = createCaptureParser((p) => {
    if (extractUdp(p.linkType, p.data, udp)) {
      out.push({
        exporter: udp.srcAddress,
        timeMs: p.tsSec * 1000 + p.tsNsec / 1e6,
        payload: udp.payload.slice(),
      });
    }
  });
  parser.push(readFileSync(path));
  parser.end();
  return out;
}

export function decodeCapture(
  path: string,
  options: FlowDecoderOptions = {},
  decoder: FlowDecoder = createFlowDecoder(options),
): DecodedCapture {
  const batch = new FlowBatch(256);
  let datagrams = 0;
  for (const d of captureDatagrams(path)) {
    datagrams++;
    decoder.decode(d.payload, d.exporter, d.timeMs, batch);
  }
  return { decoder, batch, datagrams };
}

/** Sums over a batch: rows, bytes and packets (scaled), and unscaled (divided by the rate). */
export function totals(batch: FlowBatch): {
  records: number;
  bytes: number;
  packets: number;
  rawBytes: number;
  rawPackets: number;
} {
  let bytes = 0;
  let packets = 0;
  let rawBytes = 0;
  let rawPackets = 0;
  for (let i = 0; i < batch.length; i++) {
    bytes += batch.bytes[i]!;
    packets += batch.packets[i]!;
    rawBytes += batch.bytes[i]! / batch.samplingRate[i]!;
    rawPackets += batch.packets[i]! / batch.samplingRate[i]!;
  }
  return { records: batch.length, bytes, packets, rawBytes, rawPackets };
}
