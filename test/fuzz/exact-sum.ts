/**
 * Exact sums of doubles, for the pipeline fuzz's conservation checks: every double is a rational
 * m × 2^e, so a sum of doubles has an exact value, which the pipeline's own double arithmetic
 * reaches only while its sums are whole numbers within 2^53. Kept as a BigInt whole part and a
 * BigInt fraction scaled by 2^1074 (the smallest double's exponent), with a plain-number fast
 * path for safe integers, the common case.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const FRACTION_BITS = 1074n;

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Index of the high word of a double in `words` (little- or big-endian host). */
const HIGH = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f ? 1 : 0;

/** |x| × 2^1074 for a finite double |x| < 1: exact. */
function scaledFraction(x: number): bigint {
  bits[0] = Math.abs(x);
  const hi = words[HIGH]!;
  const lo = words[1 - HIGH]!;
  const exponent = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exponent === 0) return mantissa; // subnormal: mantissa × 2^-1074
  mantissa |= 1n << 52n;
  return mantissa << BigInt(exponent - 1);
}

/** The spacing of doubles at x (its unit in the last place); 2^-1074 at 0. */
export function ulp(x: number): number {
  const a = Math.abs(x);
  if (!Number.isFinite(a)) return Number.POSITIVE_INFINITY;
  if (a < 2 ** -1022) return 2 ** -1074;
  return 2 ** (Math.floor(Math.log2(a)) - 52);
}

export class ExactSum {
  /** Whole part not yet moved into `whole`: a safe integer. */
  private small = 0;
  private whole = 0n;
  /** Fractional parts × 2^1074. */
  private fraction = 0n;
  /** Values added (non-finite ones included). */
  count = 0;
  /** Largest |value| added. */
  max = 0;
  /** False once a value with a fraction was added. */
  integers = true;
  nonFinite = 0;
  negative = 0;

  add(x: number): void {
    this.count++;
    if (!Number.isFinite(x)) {
      this.nonFinite++;
      return;
    }
    if (x < 0) this.negative++;
    const a = Math.abs(x);
    if (a > this.max) this.max = a;
    if (Number.isSafeInteger(x)) {
      const s = this.small + x;
      if (s <= MAX_SAFE && s >= -MAX_SAFE) this.small = s;
      else {
        this.whole += BigInt(this.small) + BigInt(x);
        this.small = 0;
      }
      return;
    }
    if (Number.isInteger(x)) {
      this.whole += BigInt(x);
      return;
    }
    // |x| < 2^52: a whole part and a fraction, both exact doubles.
    this.integers = false;
    const w = Math.trunc(x);
    this.whole += BigInt(w);
    const f = scaledFraction(x - w);
    this.fraction += x < 0 ? -f : f;
  }

  /** Adds another sum's values. */
  merge(o: ExactSum): void {
    this.whole += o.whole + BigInt(this.small) + BigInt(o.small);
    this.small = 0;
    this.fraction += o.fraction;
    this.count += o.count;
    this.max = Math.max(this.max, o.max);
    this.integers &&= o.integers;
    this.nonFinite += o.nonFinite;
    this.negative += o.negative;
  }

  /** The exact sum × 2^1074. */
  private scaled(): bigint {
    return ((this.whole + BigInt(this.small)) << FRACTION_BITS) + this.fraction;
  }

  equals(o: ExactSum): boolean {
    return this.scaled() === o.scaled();
  }

  /** this − o, to the nearest double (exact while it is a safe integer). */
  minus(o: ExactSum): number {
    const d = this.scaled() - o.scaled();
    const whole = d >> FRACTION_BITS; // floor
    const rest = d - (whole << FRACTION_BITS);
    return Number(whole) + Number(rest >> 1000n) / 2 ** 74;
  }

  /** The sum to the nearest double. */
  value(): number {
    const whole = this.whole + BigInt(this.small);
    return Number(whole) + Number(this.fraction >> 1000n) / 2 ** 74;
  }

  /** The exact sum as text: a whole number, or whole + fraction when there is one. */
  toString(): string {
    const whole = this.whole + BigInt(this.small) + (this.fraction >> FRACTION_BITS);
    const rest = this.fraction - ((this.fraction >> FRACTION_BITS) << FRACTION_BITS);
    return rest === 0n ? whole.toString() : `${whole}+${Number(rest >> 1000n) / 2 ** 74}`;
  }
}

export interface ConservationCheck {
  from: string;
  to: string;
  fromValue: string;
  toValue: string;
  /** Both sides whole numbers with every sum within 2^53: the pipeline's arithmetic is exact. */
  exact: boolean;
  /** to − from. */
  difference: number;
  /** 0 when exact; otherwise the rounding the double arithmetic between the two may do. */
  tolerance: number;
  ok: boolean;
}

/**
 * Compares what went into a stage with what came out of it. `additions` is the number of double
 * additions (or, for a split, parts made) the stage may have rounded, `largest` the largest
 * intermediate value they produced: outside the exact regime, each may round by half a ulp of it.
 */
export function conservation(
  from: { name: string; sum: ExactSum },
  to: { name: string; sum: ExactSum },
  additions: number,
  largest: number,
): ConservationCheck {
  const a = from.sum;
  const b = to.sum;
  const finite = a.nonFinite === 0 && b.nonFinite === 0;
  const exact = finite && a.integers && b.integers && Math.max(a.max, b.max, largest) <= MAX_SAFE;
  const difference = b.minus(a);
  const tolerance = exact ? 0 : additions * ulp(Math.max(a.max, b.max, largest));
  const ok = finite && (exact ? b.equals(a) : Math.abs(difference) <= tolerance);
  return {
    from: from.name,
    to: to.name,
    fromValue: a.toString(),
    toValue: b.toString(),
    exact,
    difference,
    tolerance,
    ok,
  };
}
