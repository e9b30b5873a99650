/**
 * Tells a flow export from other UDP payloads by its header alone: the version field and a
 * header that holds together (counts, lengths and the first set or sample fit the datagram).
 * Used where a datagram's port does not say what it is (`replay` meeting exports to a port the
 * config does not list). Pure, reads a few bytes after explicit bounds checks, allocates nothing.
 *
 * - NetFlow v5: version 5, 1..30 records, length exactly 24 + 48 × count.
 * - NetFlow v9: version 9, a 20-byte header, then a flowset (id 0, 1 or >= 256) of 4 bytes or more
 *   that fits in the datagram.
 * - IPFIX: version 10, a message length that fits in the datagram, a 16-byte header, then a set
 *   (id 2, 3 or >= 256) of 4 bytes or more that fits in the message.
 * - sFlow v5: version 5 as 32 bits, an agent address of type 1 (IPv4) or 2 (IPv6), at most
 *   SFLOW_MAX_SAMPLES samples, and the first sample's length fits (none when the count is 0).
 */

export type ExportKind = "netflow-v5" | "netflow-v9" | "ipfix" | "sflow-v5";

/** How each kind is named to an operator. */
export const exportKindNames: Readonly<Record<ExportKind, string>> = {
  "netflow-v5": "NetFlow v5",
  "netflow-v9": "NetFlow v9",
  ipfix: "IPFIX",
  "sflow-v5": "sFlow v5",
};

/** NetFlow v5's largest record count (Cisco's limit, which every exporter keeps). */
const V5_MAX_RECORDS = 30;
/** More samples than fit in a 64 KiB datagram at 8 bytes each is no sFlow datagram. */
const SFLOW_MAX_SAMPLES = 8192;

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

/**
 * Whether the first bytes could start an export (0x0005, 0x0009, 0x000a, or 0x0000 for sFlow's
 * 32-bit version): a cheap test before taking the datagram out of its frame.
 */
export function mayBeExport(bytes: Uint8Array, offset: number, end: number): boolean {
  if (offset + 2 > end || bytes[offset] !== 0) return false;
  const v = bytes[offset + 1];
  return v === 5 || v === 9 || v === 10 || v === 0;
}

/** The kind of flow export `payload` is, or null when its header does not hold together. */
export function exportKind(payload: Uint8Array): ExportKind | null {
  const n = payload.byteLength;
  if (n < 4) return null;
  // sFlow first: its 32-bit version 5 also reads as NetFlow version 5 (with a count of 5).
  if (u32(payload, 0) === 5) return isSflowV5(payload) ? "sflow-v5" : null;
  switch (u16(payload, 0)) {
    case 5: {
      const count = u16(payload, 2);
      return count >= 1 && count <= V5_MAX_RECORDS && n === 24 + 48 * count ? "netflow-v5" : null;
    }
    case 9:
      return n >= 24 && isSet(payload, 20, (id) => id === 0 || id === 1 || id >= 256)
        ? "netflow-v9"
        : null;
    case 10: {
      // The message length within the datagram (one exporter pads the datagram by 2 bytes).
      const length = u16(payload, 2);
      return length >= 20 &&
        length <= n &&
        isSet(payload.subarray(0, length), 16, (id) => id === 2 || id === 3 || id >= 256)
        ? "ipfix"
        : null;
    }
    default:
      return null;
  }
}

/** A set header at `offset` with a known id and a length of 4 or more that fits. */
function isSet(b: Uint8Array, offset: number, knownId: (id: number) => boolean): boolean {
  if (offset + 4 > b.byteLength) return false;
  const length = u16(b, offset + 2);
  return knownId(u16(b, offset)) && length >= 4 && offset + length <= b.byteLength;
}

function isSflowV5(b: Uint8Array): boolean {
  const type = b.byteLength >= 8 ? u32(b, 4) : 0;
  // Version, address type, the address, sub-agent id, sequence, uptime, sample count.
  const header = type === 1 ? 28 : type === 2 ? 40 : 0;
  if (header === 0 || b.byteLength < header) return false;
  const samples = u32(b, header - 4);
  if (samples > SFLOW_MAX_SAMPLES) return false;
  if (samples === 0) return b.byteLength === header;
  // The first sample: its type (enterprise << 12 | format) and length, which must fit.
  if (header + 8 > b.byteLength) return false;
  return header + 8 + u32(b, header + 4) <= b.byteLength;
}
