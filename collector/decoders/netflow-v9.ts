/**
 * NetFlow v9 (RFC 3954): a 20-byte header, then flowsets. Flowset 0 holds templates, 1 options
 * templates, 2-255 are reserved, 256 and up are data for that template id. The sequence number
 * counts export packets per source id; times in records are sysUptime milliseconds.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import type { ByteReader } from "./byte-reader.js";
import type { DecoderCore } from "./decoder-core.js";
import { sequenceGap } from "./exporter-state.js";

const HEADER_LENGTH = 20;

export function decodeNetflowV9(
  core: DecoderCore,
  r: ByteReader,
  exporterAddress: string,
  receivedMs: number,
  out: FlowBatch,
): number {
  const view = r.view;
  if (r.end < HEADER_LENGTH) {
    core.problem("header-truncated");
    return 0;
  }
  const sysUptimeMs = view.getUint32(4);
  const exportMs = view.getUint32(8) * 1000;
  const sequence = view.getUint32(12);
  const sourceId = view.getUint32(16);

  const exporter = core.exporterFor(exporterAddress);
  if (exporter === null) return 0;
  exporter.stats.datagrams++;
  const domain = core.domainFor(exporter, 9, sourceId);
  if (domain === null) return 0;
  exporter.stats.lostPackets += sequenceGap(domain, sequence, exporter.stats);
  domain.nextSequence = (sequence + 1) >>> 0;

  r.pos = HEADER_LENGTH;
  const c = { version: 9 as const, exporter, domain, exportMs, sysUptimeMs, receivedMs };
  return core.walkSets(r, c, out).rows;
}
