/**
 * IPFIX (RFC 7011): a 16-byte message header, then sets. Set 2 holds templates, 3 options
 * templates, 0-1 and 4-255 are reserved, 256 and up are data. The sequence number counts data
 * records (options data included) per observation domain, modulo 2^32.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import type { ByteReader } from "./byte-reader.js";
import type { DecoderCore } from "./decoder-core.js";
import { sequenceGap } from "./exporter-state.js";

const HEADER_LENGTH = 16;

export function decodeIpfix(
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
  const length = view.getUint16(2);
  if (length !== r.end) {
    // Counted, then the sets are walked to the end of the datagram: each set's own length is
    // still checked, and exporters that get the header length wrong (telegraf issue 14370: 2
    // bytes short) still have all their sets decoded, as pmacct, nfdump and telegraf do.
    core.problem("ipfix-length-mismatch");
  }
  const exportMs = view.getUint32(4) * 1000;
  const sequence = view.getUint32(8);
  const domainId = view.getUint32(12);

  const exporter = core.exporterFor(exporterAddress);
  if (exporter === null) return 0;
  exporter.stats.datagrams++;
  const domain = core.domainFor(exporter, 10, domainId);
  if (domain === null) return 0;
  exporter.stats.lostRecords += sequenceGap(domain, sequence, exporter.stats);

  r.pos = HEADER_LENGTH;
  const c = {
    version: 10 as const,
    exporter,
    domain,
    exportMs,
    sysUptimeMs: Number.NaN,
    receivedMs,
  };
  const res = core.walkSets(r, c, out);
  domain.nextSequence = res.complete ? (sequence + res.wireRecords) >>> 0 : -1;
  return res.rows;
}
