/**
 * Retiming of recorded flow exports (`flowtally send --retime`): every time field of a NetFlow
 * v5, v9 or IPFIX export moved by the same whole number of seconds, so that the records of an old
 * capture land around now with their relative timing kept. Pure: bytes in, bytes out; the
 * templates needed to find the fields in data records are learnt from the exports seen before,
 * keyed like the decoder's (exporter address, version, source id / observation domain, template
 * id).
 *
 * What moves (docs/cli.md, `send`):
 * - headers: v5 `unix_secs`, v9 `UNIX Secs`, IPFIX `Export Time` (sysUptime stays: times relative
 *   to it move with the export time, delta times with the export time too);
 * - in data records of v9 and IPFIX (standard elements, enterprise 0): flowStart/EndSeconds (150,
 *   151), -Milliseconds (152, 153), -Microseconds (154, 155) and -Nanoseconds (156, 157), the NTP
 *   ones by their seconds word; systemInitTimeMilliseconds (160), the base of flowStart/EndSysUpTime
 *   in IPFIX; observationTimeSeconds, -Milliseconds, -Microseconds, -Nanoseconds (322-325).
 *
 * A data set that comes before its template (the decoder holds it until the template arrives) is
 * read with the first template of its key that `prime` saw, when the exports were primed in a
 * first pass; one whose template never comes keeps its record times (the decoder never reads
 * it either), counted. Anything else (sFlow, which carries no absolute time; other UDP) is
 * returned unchanged.
 */
import { IE } from "./information-elements.js";

export interface RetimeStats {
  /** NetFlow v5/v9 and IPFIX exports whose times were moved. */
  exports: number;
  /** Datagrams returned unchanged: sFlow, or not a flow export. */
  unchanged: number;
  /** Time fields of data records rewritten. */
  fields: number;
  /** Data sets read with a template that `prime` saw after them (data before its template). */
  setsBeforeTemplate: number;
  /** Data sets with no template of their key anywhere: their record times did not move. */
  setsWithoutTemplate: number;
  /** Exports cut short or inconsistent: the header moved, the rest left as it was from there. */
  malformed: number;
}

export interface ExportRetimer {
  /**
   * A first pass over the exports to be retimed, in the same order: learns the templates, so that
   * data sent before its template can be retimed too. Changes nothing.
   */
  prime(datagram: Uint8Array, exporter: string): void;
  /**
   * `datagram` with its times moved by `shiftSeconds` (a whole number, either sign), as a copy;
   * `datagram` itself when it is not an export.
   */
  retime(datagram: Uint8Array, exporter: string, shiftSeconds: number): Uint8Array;
  readonly stats: RetimeStats;
}

enum TimeKind {
  None = 0,
  Seconds = 1,
  Milliseconds = 2,
  /** NTP timestamp: seconds since 1900 in the first word, a fraction in the second. */
  Ntp = 3,
}

interface FieldLayout {
  length: number;
  kind: TimeKind;
}

const VARIABLE_LENGTH = 65535;

function timeKind(id: number, length: number): TimeKind {
  switch (id) {
    case IE.flowStartSeconds:
    case IE.flowEndSeconds:
    case 322: // observationTimeSeconds
      return length >= 1 && length <= 8 ? TimeKind.Seconds : TimeKind.None;
    case IE.flowStartMilliseconds:
    case IE.flowEndMilliseconds:
    case IE.systemInitTimeMilliseconds:
    case IE.observationTimeMilliseconds:
      return length >= 1 && length <= 8 ? TimeKind.Milliseconds : TimeKind.None;
    case IE.flowStartMicroseconds:
    case IE.flowEndMicroseconds:
    case IE.flowStartNanoseconds:
    case IE.flowEndNanoseconds:
    case 324: // observationTimeMicroseconds
    case 325: // observationTimeNanoseconds
      return length === 8 ? TimeKind.Ntp : TimeKind.None;
    default:
      return TimeKind.None;
  }
}

export function createExportRetimer(): ExportRetimer {
  const stats: RetimeStats = {
    exports: 0,
    unchanged: 0,
    fields: 0,
    setsBeforeTemplate: 0,
    setsWithoutTemplate: 0,
    malformed: 0,
  };
  const templates = new Map<string, FieldLayout[]>();
  /** Of each key, the first template seen by `prime`. */
  const firstTemplates = new Map<string, FieldLayout[]>();
  /** The shift of the retime call in progress. */
  let shiftSeconds = 0;
  let seconds = 0n;
  let milliseconds = 0n;

  function addU32(view: DataView, offset: number): void {
    view.setUint32(offset, (view.getUint32(offset) + shiftSeconds) >>> 0);
  }

  /** Adds `delta` to the unsigned big-endian integer of `length` bytes at `offset`, modulo. */
  function addUnsigned(bytes: Uint8Array, offset: number, length: number, delta: bigint): void {
    let v = 0n;
    for (let i = 0; i < length; i++) v = (v << 8n) | BigInt(bytes[offset + i]!);
    const modulus = 1n << BigInt(8 * length);
    v = (((v + delta) % modulus) + modulus) % modulus;
    for (let i = length - 1; i >= 0; i--) {
      bytes[offset + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }

  function rewrite(bytes: Uint8Array, view: DataView, offset: number, f: FieldLayout): void {
    if (f.kind === TimeKind.Seconds) addUnsigned(bytes, offset, f.length, seconds);
    else if (f.kind === TimeKind.Milliseconds) addUnsigned(bytes, offset, f.length, milliseconds);
    else addU32(view, offset);
    stats.fields++;
  }

  /** Reads the records of a template or options template set into `into`. */
  function learn(
    view: DataView,
    start: number,
    end: number,
    key: string,
    setId: number,
    into: Map<string, FieldLayout[]>,
  ): void {
    const version = view.getUint16(0);
    const options = version === 9 ? setId === 1 : setId === 3;
    let p = start;
    while (end - p >= 4) {
      const id = view.getUint16(p);
      const count = view.getUint16(p + 2);
      p += 4;
      if (id < 256) return; // padding
      let scopeFields = 0;
      let fields = count;
      if (options && count !== 0) {
        if (end - p < 2) throw new RangeError("options template header beyond its set");
        if (version === 9) {
          // v9: the scope's and the options' lengths in bytes, 4 per field.
          scopeFields = count / 4;
          fields = scopeFields + view.getUint16(p) / 4;
        } else {
          scopeFields = view.getUint16(p);
        }
        p += 2;
      }
      if (fields === 0) {
        if (into === templates) templates.delete(`${key}/${id}`); // IPFIX withdrawal
        continue;
      }
      if (!Number.isInteger(fields)) throw new RangeError("v9 options lengths not fields");
      const layout: FieldLayout[] = [];
      for (let k = 0; k < fields; k++) {
        if (end - p < 4) throw new RangeError("template beyond its set");
        const type = view.getUint16(p);
        const length = view.getUint16(p + 2);
        p += 4;
        let enterprise = 0;
        if (version === 10 && (type & 0x8000) !== 0) {
          if (end - p < 4) throw new RangeError("template beyond its set");
          enterprise = view.getUint32(p);
          p += 4;
        }
        // Scope fields (in v9 scope types, not elements) and enterprise elements are no times.
        const kind =
          k < scopeFields || enterprise !== 0 ? TimeKind.None : timeKind(type & 0x7fff, length);
        layout.push({ length, kind });
      }
      if (into === templates || !into.has(`${key}/${id}`)) into.set(`${key}/${id}`, layout);
    }
  }

  /** Rewrites the time fields of a data set's records. */
  function data(
    bytes: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    layout: FieldLayout[],
  ) {
    let fixed = 0;
    for (const f of layout) fixed += f.length === VARIABLE_LENGTH ? 1 : f.length;
    if (fixed === 0) return;
    let p = start;
    while (end - p >= fixed) {
      for (const f of layout) {
        let length = f.length;
        if (length === VARIABLE_LENGTH) {
          length = bytes[p]!;
          p += 1;
          if (length === 255) {
            if (p + 2 > end) throw new RangeError("variable length beyond its set");
            length = view.getUint16(p);
            p += 2;
          }
        }
        if (p + length > end) throw new RangeError("field beyond its set");
        if (f.kind !== TimeKind.None && length === f.length) rewrite(bytes, view, p, f);
        p += length;
      }
    }
  }

  function prime(datagram: Uint8Array, exporter: string): void {
    walk(datagram, exporter, false);
  }

  function retime(datagram: Uint8Array, exporter: string, shift: number): Uint8Array {
    if (!Number.isInteger(shift)) throw new RangeError(`shift ${shift}: not a whole number`);
    shiftSeconds = shift;
    seconds = BigInt(shift);
    milliseconds = seconds * 1000n;
    return walk(datagram, exporter, true);
  }

  /** Retimes a copy of `datagram` (`write`), or learns its templates into firstTemplates. */
  function walk(datagram: Uint8Array, exporter: string, write: boolean): Uint8Array {
    const version = datagram.length < 4 ? 0 : (datagram[0]! << 8) | datagram[1]!;
    const headerLength = version === 5 ? 24 : version === 9 ? 20 : version === 10 ? 16 : 0;
    if (headerLength === 0 || datagram.length < headerLength) {
      if (write) stats.unchanged++;
      return datagram;
    }
    const out = write ? datagram.slice() : datagram;
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (write) {
      stats.exports++;
      addU32(view, version === 10 ? 4 : 8);
    }
    if (version === 5) return out; // record times are sysUptime-relative
    const domain = view.getUint32(version === 9 ? 16 : 12);
    const key = `${exporter}/${version}/${domain}`;
    const end = version === 10 ? Math.min(view.getUint16(2), out.length) : out.length;
    let p = headerLength;
    try {
      while (end - p >= 4) {
        const setId = view.getUint16(p);
        const setLength = view.getUint16(p + 2);
        if (setLength < 4 || p + setLength > end) throw new RangeError("set length");
        const setEnd = p + setLength;
        if (setId === (version === 9 ? 0 : 2) || setId === (version === 9 ? 1 : 3)) {
          learn(view, p + 4, setEnd, key, setId, write ? templates : firstTemplates);
        } else if (setId >= 256 && write) {
          let layout = templates.get(`${key}/${setId}`);
          if (layout === undefined) {
            layout = firstTemplates.get(`${key}/${setId}`);
            if (layout === undefined) stats.setsWithoutTemplate++;
            else stats.setsBeforeTemplate++;
          }
          if (layout !== undefined) data(out, view, p + 4, setEnd, layout);
        }
        p = setEnd;
      }
    } catch {
      if (write) stats.malformed++;
    }
    return out;
  }

  return { prime, retime, stats };
}
