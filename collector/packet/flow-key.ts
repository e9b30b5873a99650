/**
 * A packet's flow key for the flow table: the bidirectional 5-tuple (IP version, addresses,
 * ports, protocol) written as 32-bit words, with a hash that does not depend on the direction.
 * Pure: reads a {@link PacketInfo}, writes a Uint32Array, allocates nothing.
 */
import type { PacketInfo } from "./packet-info.js";

/** A packet's key as `keyOf` writes it: source address words, destination, ports, vp. */
export const KEY_SRC = 0;
export const KEY_DST = 4;
export const KEY_PORTS = 8;
export const KEY_VP = 9;
export const KEY_HASH = 10;
export const KEY_WORDS = 11;

const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash of one endpoint: the 4 address words at `key[at]` and the port; the two ends' hashes are
 * summed, so the key's hash does not depend on the direction.
 */
function endpointHash(key: Uint32Array, at: number, port: number): number {
  let h = Math.imul(key[at]! ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ key[at + 1]!;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h = Math.imul(h ^ key[at + 2]!, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ key[at + 3]!;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  return fmix32(h ^ Math.imul(port + 1, 0x27d4eb2d));
}

function wordAt(b: Uint8Array, k: number): number {
  return ((b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!) >>> 0;
}

/**
 * The key of `info`'s flow (ipVersion !== 0), written to `key[o...]` as KEY_SRC..KEY_VP (side
 * A = this packet's sender; ICMP ports as NetFlow has them), and at KEY_HASH its direction-free
 * hash (stored, not returned: a 32-bit number returned from a function that is not inlined is
 * a new heap number per call).
 */
export function keyOf(info: PacketInfo, key: Uint32Array, o: number): void {
  const v = info.ipVersion;
  const p = info.protocol;
  let sp = info.srcPort;
  let dp = info.dstPort;
  if ((p === PROTO_ICMP || p === PROTO_ICMPV6) && info.hasTransport) {
    sp = 0;
    dp = (info.icmpType << 8) | info.icmpCode;
  }
  if (v === 4) {
    key[o + KEY_SRC] = info.src4;
    key[o + KEY_DST] = info.dst4;
    for (let w = 1; w < 4; w++) {
      key[o + KEY_SRC + w] = 0;
      key[o + KEY_DST + w] = 0;
    }
  } else {
    for (let w = 0; w < 4; w++) {
      key[o + KEY_SRC + w] = wordAt(info.src6, 4 * w);
      key[o + KEY_DST + w] = wordAt(info.dst6, 4 * w);
    }
  }
  key[o + KEY_PORTS] = sp | (dp << 16);
  key[o + KEY_VP] = v | (p << 8);
  key[o + KEY_HASH] = fmix32(
    (endpointHash(key, o + KEY_SRC, sp) +
      endpointHash(key, o + KEY_DST, dp) +
      Math.imul(p, 0x9e3779b1) +
      v) |
      0,
  );
}
