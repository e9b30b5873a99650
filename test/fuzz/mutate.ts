/**
 * A small deterministic mutator for fuzzing the flow decoders with real datagrams.
 *
 * Same seed, same corpus → same mutants on every machine (mulberry32, never Math.random), so a
 * failure found by the long run (`bench/fuzz-decoders.ts`) can be replayed by packet index.
 * Mutations are stacked, AFL "havoc" style, on a caller-owned work buffer: no buffer is
 * allocated per mutant. The length-field mutation knows where v5/v9/IPFIX keep their counts and lengths,
 * because a random offset would almost never land on the one field that matters.
 */

/** The largest UDP payload over IPv4: the work buffer never needs more. */
export const MAX_DATAGRAM = 65507;

export interface Rng {
  /** Next unsigned 32-bit value. */
  u32(): number;
  /** An integer in [0, n); 0 when n <= 0. */
  below(n: number): number;
  /** A number in [0, 1). */
  float(): number;
}

/** mulberry32: one 32-bit word of state, fast, and well spread for this purpose. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  function u32(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  return {
    u32,
    below: (n) => (n <= 0 ? 0 : Math.floor((u32() / 4294967296) * n)),
    float: () => u32() / 4294967296,
  };
}

/**
 * One mutation: rewrites `buf[0, len)` in place (the buffer's capacity is `buf.length`) and
 * returns the new length. `donor` is another datagram of the same protocol.
 */
export type Mutation = (rng: Rng, buf: Uint8Array, len: number, donor: Uint8Array) => number;

export function flipBits(rng: Rng, buf: Uint8Array, len: number): number {
  if (len === 0) return 0;
  const flips = 1 + rng.below(8);
  for (let k = 0; k < flips; k++) {
    const at = rng.below(len);
    buf[at] = buf[at]! ^ (1 << rng.below(8));
  }
  return len;
}

/** Sets 1 to 4 bytes to 0x00, 0xff or a random value: the values parsers special-case. */
export function setBytes(rng: Rng, buf: Uint8Array, len: number): number {
  if (len === 0) return 0;
  const count = 1 + rng.below(4);
  for (let k = 0; k < count; k++) {
    const pick = rng.below(3);
    buf[rng.below(len)] = pick === 0 ? 0x00 : pick === 1 ? 0xff : rng.below(256);
  }
  return len;
}

export function truncate(rng: Rng, _buf: Uint8Array, len: number): number {
  return rng.below(len);
}

/** Appends random bytes: mostly a few (padding-sized), sometimes a whole extra set's worth. */
export function extend(rng: Rng, buf: Uint8Array, len: number): number {
  const wanted = rng.below(4) === 0 ? 1 + rng.below(512) : 1 + rng.below(16);
  const end = Math.min(buf.length, len + wanted);
  for (let k = len; k < end; k++) buf[k] = rng.below(256);
  return end;
}

/** Reused by {@link setLengthField}: offsets of the length and count fields of one datagram. */
const lengthOffsets: number[] = [];

/**
 * Sets a 16-bit big-endian field to a boundary value: 0, 1, 3, 4, 0xffff, the datagram length
 * ± 1, or the field's own value ± 1. Half the time the field is a real length or count (header
 * count, message length, set length, template field count, field length), else any even offset.
 */
export function setLengthField(rng: Rng, buf: Uint8Array, len: number): number {
  if (len < 2) return len;
  let at: number;
  const known = lengthFieldOffsets(buf, len, lengthOffsets);
  if (known > 0 && rng.below(2) === 0) at = lengthOffsets[rng.below(known)]!;
  else at = rng.below(len >> 1) * 2;
  if (at + 2 > len) return len;
  const current = (buf[at]! << 8) | buf[at + 1]!;
  const value = boundaryValue(rng, len, current) & 0xffff;
  buf[at] = value >> 8;
  buf[at + 1] = value & 0xff;
  return len;
}

function boundaryValue(rng: Rng, len: number, current: number): number {
  switch (rng.below(10)) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return 3;
    case 3:
      return 4;
    case 4:
      return 0xffff;
    case 5:
      return len - 1;
    case 6:
      return len;
    case 7:
      return len + 1;
    case 8:
      return current - 1;
    default:
      return current + 1;
  }
}

const regionScratch = new Uint8Array(MAX_DATAGRAM);

/** Inserts a copy of one region of the datagram at another point (a repeated set or record). */
export function duplicateRegion(rng: Rng, buf: Uint8Array, len: number): number {
  if (len === 0) return 0;
  const from = rng.below(len);
  const size = Math.min(1 + rng.below(len - from), buf.length - len);
  if (size <= 0) return len;
  const to = rng.below(len + 1);
  // Save the region first: the shift below may overwrite it.
  const saved = regionScratch.subarray(0, Math.min(size, regionScratch.length));
  saved.set(buf.subarray(from, from + saved.length));
  buf.copyWithin(to + saved.length, to, len);
  buf.set(saved, to);
  return len + saved.length;
}

/** Cuts one region out of the datagram (a set or record that went missing in the middle). */
export function removeRegion(rng: Rng, buf: Uint8Array, len: number): number {
  if (len === 0) return 0;
  const from = rng.below(len);
  const size = 1 + rng.below(len - from);
  buf.copyWithin(from, from + size, len);
  return len - size;
}

/** Keeps this datagram's head and takes the donor's tail: valid sets behind a foreign header. */
export function spliceTail(rng: Rng, buf: Uint8Array, len: number, donor: Uint8Array): number {
  const cut = rng.below(len + 1);
  const from = rng.below(donor.byteLength + 1);
  const size = Math.min(donor.byteLength - from, buf.length - cut);
  buf.set(donor.subarray(from, from + size), cut);
  return cut + size;
}

/** Mutations that keep the length: the datagram's framing mostly survives them. */
export const inPlaceMutations: readonly Mutation[] = [flipBits, setBytes, setLengthField];
/** Mutations that change the length: most mutants then fail at their last set. */
export const reshapingMutations: readonly Mutation[] = [
  truncate,
  extend,
  duplicateRegion,
  removeRegion,
  spliceTail,
];

/**
 * Copies `input` into `work` and applies 1 to 3 stacked mutations, two in three of them in place
 * (so that most mutants get past the framing into templates and records). Returns a view of
 * `work`, valid until the next call with the same buffer.
 */
export function mutateDatagram(
  rng: Rng,
  input: Uint8Array,
  donor: Uint8Array,
  work: Uint8Array,
): Uint8Array {
  let len = Math.min(input.byteLength, work.length);
  work.set(input.subarray(0, len));
  const count = 1 + rng.below(3);
  for (let k = 0; k < count; k++) {
    const pool = rng.below(3) < 2 ? inPlaceMutations : reshapingMutations;
    len = pool[rng.below(pool.length)]!(rng, work, len, donor);
  }
  return work.subarray(0, len);
}

/**
 * A captured frame's mutant (the packet parser's fuzz, `bench/packet-parser.ts --fuzz`, and the
 * packet path of `bench/fuzz-pipeline.ts`): 1 to 3 of: a byte of the first 96 (where the headers
 * are) set to 0, 0xff, a small or a random value; truncation; random bytes appended; the donor's
 * tail behind this frame's head. `work` keeps 1024 bytes of slack; returns a view of it.
 */
export function mutateFrame(
  rng: Rng,
  input: Uint8Array,
  donor: Uint8Array,
  work: Uint8Array,
): Uint8Array {
  let len = Math.min(input.byteLength, work.length - 1024);
  work.set(input.subarray(0, len));
  const count = 1 + rng.below(3);
  for (let k = 0; k < count; k++) {
    switch (rng.below(6)) {
      case 0:
      case 1:
      case 2: {
        // Headers sit in the first bytes: most mutations land there.
        const span = Math.min(len, 96);
        if (span > 0) {
          const pick = rng.below(4);
          work[rng.below(span)] =
            pick === 0 ? 0 : pick === 1 ? 0xff : pick === 2 ? rng.below(16) : rng.below(256);
        }
        break;
      }
      case 3:
        len = rng.below(len + 1);
        break;
      case 4: {
        const extra = Math.min(work.length - 1024 - len, 1 + rng.below(64));
        for (let i = 0; i < extra; i++) work[len + i] = rng.below(256);
        len += extra;
        break;
      }
      default: {
        // The donor's tail behind this frame's head.
        const cut = rng.below(len + 1);
        const from = rng.below(donor.byteLength + 1);
        const size = Math.min(donor.byteLength - from, work.length - 1024 - cut);
        work.set(donor.subarray(from, from + size), cut);
        len = cut + size;
      }
    }
  }
  return work.subarray(0, len);
}

/** The version field (first two bytes) of a NetFlow/IPFIX datagram; -1 if it is too short. */
export function netflowVersion(payload: Uint8Array): number {
  if (payload.byteLength < 2) return -1;
  return (payload[0]! << 8) | payload[1]!;
}

/** True when a v9 or IPFIX datagram has a template or options template set. */
export function carriesTemplates(payload: Uint8Array): boolean {
  const version = netflowVersion(payload);
  if (version !== 9 && version !== 10) return false;
  let found = false;
  walkSets(payload, payload.byteLength, headerLength(version), (setId) => {
    if (isTemplateSet(version, setId)) found = true;
  });
  return found;
}

/**
 * Fills `out` with the offsets of the 16-bit length and count fields in `buf[0, len)` and
 * returns how many there are. Follows the sets as far as their lengths allow.
 */
export function lengthFieldOffsets(buf: Uint8Array, len: number, out: number[]): number {
  out.length = 0;
  if (len < 4) return 0;
  const version = (buf[0]! << 8) | buf[1]!;
  // v5 and v9: record / set count; IPFIX: message length.
  out.push(2);
  if (version !== 9 && version !== 10) return out.length;
  walkSets(buf, len, headerLength(version), (setId, start, end) => {
    out.push(start + 2);
    if (isTemplateSet(version, setId))
      templateLengthOffsets(buf, version, setId, start + 4, end, out);
  });
  return out.length;
}

function headerLength(version: number): number {
  return version === 9 ? 20 : 16;
}

function isTemplateSet(version: number, setId: number): boolean {
  return version === 9 ? setId === 0 || setId === 1 : setId === 2 || setId === 3;
}

/** Calls `visit` for each set of a v9/IPFIX datagram whose length is sane, in order. */
function walkSets(
  buf: Uint8Array,
  len: number,
  start: number,
  visit: (setId: number, start: number, end: number) => void,
): void {
  let pos = start;
  while (pos + 4 <= len) {
    const setId = (buf[pos]! << 8) | buf[pos + 1]!;
    const setLength = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    if (setLength < 4 || pos + setLength > len) return;
    visit(setId, pos, pos + setLength);
    pos += setLength;
  }
}

/** The first template record of a set: its field count (and scope count or lengths), and each field's length. */
function templateLengthOffsets(
  buf: Uint8Array,
  version: number,
  setId: number,
  start: number,
  end: number,
  out: number[],
): void {
  if (start + 4 > end) return;
  if (version === 9 && setId === 1) {
    // v9 options template: id, scope length, option length, then (type, length) pairs.
    out.push(start + 2, start + 4);
    return;
  }
  out.push(start + 2);
  const fieldCount = (buf[start + 2]! << 8) | buf[start + 3]!;
  let pos = start + 4;
  if (version === 10 && setId === 3) {
    out.push(pos);
    pos += 2;
  }
  for (let k = 0; k < fieldCount && pos + 4 <= end; k++) {
    const enterprise = version === 10 && (buf[pos]! & 0x80) !== 0;
    out.push(pos + 2);
    pos += enterprise ? 8 : 4;
  }
}
