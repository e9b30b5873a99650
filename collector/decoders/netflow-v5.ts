/**
 * NetFlow v5: a 24-byte header and fixed 48-byte records. The header carries the sampling
 * interval (2 bits mode, 14 bits interval) and a flow sequence number counting records.
 */
import { columnBit as col, type FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import type { ByteReader } from "./byte-reader.js";
import { uptimeDelta } from "./data-records.js";
import type { DecoderCore } from "./decoder-core.js";
import { sequenceGap } from "./exporter-state.js";

const HEADER_LENGTH = 24;
const RECORD_LENGTH = 48;
const V5_COLUMNS =
  col.exporterId |
  col.version |
  col.domain |
  col.ipVersion |
  col.src4 |
  col.dst4 |
  col.inIf |
  col.outIf |
  col.packets |
  col.bytes |
  col.startMs |
  col.endMs |
  col.srcPort |
  col.dstPort |
  col.tcpFlags |
  col.protocol |
  col.dscp |
  col.samplingRate |
  col.samplingSource;

export function decodeNetflowV5(
  core: DecoderCore,
  r: ByteReader,
  exporterAddress: string,
  out: FlowBatch,
): number {
  const view = r.view;
  if (r.end < HEADER_LENGTH) {
    core.problem("header-truncated");
    return 0;
  }
  const count = view.getUint16(2);
  if (HEADER_LENGTH + count * RECORD_LENGTH > r.end) {
    // The count lies (logstash's nf5-invalid captures): pmacct and nfdump drop the datagram too,
    // since there is no telling which of the records are real.
    core.problem("v5-count-mismatch");
    return 0;
  }
  const sysUptime = view.getUint32(4);
  const exportMs = view.getUint32(8) * 1000 + Math.floor(view.getUint32(12) / 1e6);
  const sequence = view.getUint32(16);
  const domainId = (view.getUint8(20) << 8) | view.getUint8(21);
  const sampling = view.getUint16(22) & 0x3fff;

  const exporter = core.exporterFor(exporterAddress);
  if (exporter === null) return 0;
  exporter.stats.datagrams++;
  const domain = core.domainFor(exporter, 5, domainId);
  if (domain === null) return 0;
  exporter.stats.lostRecords += sequenceGap(domain, sequence, exporter.stats);
  domain.nextSequence = (sequence + count) >>> 0;

  const override = core.samplingOverride(exporterAddress);
  const rate = override > 0 ? override : sampling > 0 ? sampling : 1;
  const source = override > 0 ? SamplingSource.ConfigOverride : SamplingSource.V5Header;

  out.dirty |= V5_COLUMNS;
  for (let k = 0; k < count; k++) {
    const o = HEADER_LENGTH + k * RECORD_LENGTH;
    const i = out.next();
    out.exporterId[i] = exporter.id;
    out.version[i] = 5;
    out.domain[i] = domainId;
    out.ipVersion[i] = 4;
    out.src4[i] = view.getUint32(o);
    out.dst4[i] = view.getUint32(o + 4);
    out.inIf[i] = view.getUint16(o + 12);
    out.outIf[i] = view.getUint16(o + 14);
    out.packets[i] = view.getUint32(o + 16) * rate;
    out.bytes[i] = view.getUint32(o + 20) * rate;
    out.startMs[i] = exportMs - uptimeDelta(sysUptime, view.getUint32(o + 24));
    out.endMs[i] = exportMs - uptimeDelta(sysUptime, view.getUint32(o + 28));
    out.srcPort[i] = view.getUint16(o + 32);
    out.dstPort[i] = view.getUint16(o + 34);
    out.tcpFlags[i] = view.getUint8(o + 37);
    out.protocol[i] = view.getUint8(o + 38);
    out.dscp[i] = view.getUint8(o + 39) >> 2;
    out.samplingRate[i] = rate;
    out.samplingSource[i] = source;
  }
  exporter.stats.records += count;
  return count;
}
