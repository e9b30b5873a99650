/**
 * NetFlow v9 (RFC 3954): a 20-byte header, then flowsets. Flowset 0 holds templates, 1 options
 * templates, 2-255 are reserved, 256 and up are data for that template id. The sequence number
 * counts export packets per source id; times in records are sysUptime milliseconds.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import type { ByteReader } from "./byte-reader.js";
import type { DecoderCore } from "./decoder-core.js";
import { sequenceGap } from "./exporter-state.js";
import { readTemplateSet } from "./template-store.js";

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
  const sysUptime = view.getUint32(4);
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

  let records = 0;
  r.pos = HEADER_LENGTH;
  while (r.remaining() >= 4) {
    const setStart = r.pos;
    const setId = view.getUint16(setStart);
    const setLength = view.getUint16(setStart + 2);
    if (setLength < 4 || setStart + setLength > r.end) {
      // Some exporters (Palo Alto) zero-fill the datagram after the last flowset.
      if (!allZero(r.bytes, setStart, r.end)) core.problem("set-length-invalid");
      break;
    }
    const setEnd = setStart + setLength;
    if (setId === 0 || setId === 1) {
      const saved = r.end;
      r.pos = setStart + 4;
      r.end = setEnd;
      readTemplateSet(r, 9, setId, exporter, domain, core.templateLimits, core.templateSink(out));
      r.end = saved;
    } else if (setId < 256) {
      core.problem("set-id-reserved");
    } else {
      const n = core.dataSet(
        9,
        exporter,
        domain,
        setId,
        view,
        setStart + 4,
        setEnd,
        exportMs,
        sysUptime,
        receivedMs,
        out,
      );
      if (n > 0) records += n;
    }
    r.pos = setEnd;
  }
  return records;
}

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (bytes[k] !== 0) return false;
  return true;
}
