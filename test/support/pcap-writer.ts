/**
 * Test support: classic libpcap files (microsecond timestamps, Ethernet) of frames the tests
 * build, and the Ethernet / IPv4 / TCP frame of a generated connection. Written here once for
 * the tests that generate captures with known content (SLA, alerts, commit rate).
 */

/** A frame and when it was seen (µs since the epoch). */
export interface PcapRecord {
  us: number;
  data: Uint8Array;
}

/** A classic pcap of the records in time order (link type 1, Ethernet; snap length 65535). */
export function pcapFile(records: readonly PcapRecord[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts: Buffer[] = [head];
  for (const r of [...records].sort((a, b) => a.us - b.us)) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(r.us / 1e6), 0);
    rec.writeUInt32LE(r.us % 1e6, 4);
    rec.writeUInt32LE(r.data.length, 8);
    rec.writeUInt32LE(r.data.length, 12);
    parts.push(rec, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const ip4 = (s: string) => s.split(".").map(Number);

export const TCP = { FIN: 0x01, SYN: 0x02, PSH: 0x08, ACK: 0x10 } as const;

/**
 * An Ethernet / IPv4 (checksummed, don't-fragment) / TCP frame between two IPv4 addresses with
 * `payloadBytes` bytes of payload ('A's); the TCP checksum is left 0 (the parser does not check it).
 */
export function tcpFrame(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payloadBytes: number,
): Uint8Array {
  const tcp = [
    ...be16(sport),
    ...be16(dport),
    ...be32(seq),
    ...be32(ack),
    5 << 4,
    flags,
    ...be16(65535),
    0,
    0,
    0,
    0,
    ...new Array<number>(payloadBytes).fill(0x41),
  ];
  const ip = [
    0x45,
    0,
    ...be16(20 + tcp.length),
    0,
    1,
    0x40,
    0,
    64,
    6,
    0,
    0,
    ...ip4(src),
    ...ip4(dst),
  ];
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (ip[i]! << 8) | ip[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip[10] = (~sum >> 8) & 0xff;
  ip[11] = ~sum & 0xff;
  const eth = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
  return Uint8Array.from([...eth, ...ip, ...tcp]);
}
