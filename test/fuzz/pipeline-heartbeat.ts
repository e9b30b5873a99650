/**
 * Shared memory between a pipeline fuzz worker and its watchdog: which input the worker is on,
 * in which phase, and the input itself (bytes, source, time), so that the watchdog can name and
 * dump an input whose processing never returns. A synchronous infinite loop cannot be caught in
 * its own thread; the watchdog, in another, reads this and terminates the worker.
 */

/** Room for the largest input: a UDP payload, or a captured frame (snap length) with slack. */
export const HEARTBEAT_PAYLOAD_BYTES = 65_536 + 4096;
const SOURCE_BYTES = 64;

const W_SEQUENCE = 0;
const W_INDEX = 1;
const W_PHASE = 2;
const W_LENGTH = 3;
const W_LINK_TYPE = 4;
const W_SOURCE_LENGTH = 5;
const W_KIND = 6;
const W_SEED = 7;
const WORDS = 8;
const F_TIME = 4; // Float64 index: byte 32
const F_NSEC = 5;
const SOURCE_AT = 48;
const PAYLOAD_AT = SOURCE_AT + SOURCE_BYTES;

/** What the worker is doing. */
export const Phase = {
  /** Loading modules, opening the store: nothing published yet. */
  Starting: 0,
  /** Processing one input (decode → classify → partial sums). */
  Input: 1,
  /** Drain → rollup → store write, after the input `index`. */
  HandOver: 2,
  /** The final hand-over and the checks of the store. */
  Final: 3,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export const InputKind = { Seed: 0, Mutant: 1, CleanTemplate: 2 } as const;
export type InputKind = (typeof InputKind)[keyof typeof InputKind];

export function createHeartbeatBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(PAYLOAD_AT + HEARTBEAT_PAYLOAD_BYTES);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Heartbeat {
  private readonly words: Int32Array;
  private readonly floats: Float64Array;
  private readonly source: Uint8Array;
  /** The worker writes each input straight into this buffer, so publishing it costs nothing. */
  readonly payload: Uint8Array;
  private lastSource = "";

  constructor(buf: SharedArrayBuffer) {
    this.words = new Int32Array(buf, 0, WORDS);
    this.floats = new Float64Array(buf, 0, PAYLOAD_AT / 8);
    this.source = new Uint8Array(buf, SOURCE_AT, SOURCE_BYTES);
    this.payload = new Uint8Array(buf, PAYLOAD_AT, HEARTBEAT_PAYLOAD_BYTES);
  }

  /** The worker starts input `index` (its bytes already in `payload`). */
  input(
    index: number,
    kind: InputKind,
    seed: number,
    length: number,
    source: string,
    timeMs: number,
    tsNsec: number,
    linkType: number,
  ): void {
    const w = this.words;
    w[W_LENGTH] = length;
    w[W_KIND] = kind;
    w[W_SEED] = seed;
    w[W_LINK_TYPE] = linkType;
    if (source !== this.lastSource) {
      const { written } = encoder.encodeInto(source, this.source);
      w[W_SOURCE_LENGTH] = written;
      this.lastSource = source;
    }
    this.floats[F_TIME] = timeMs;
    this.floats[F_NSEC] = tsNsec;
    w[W_INDEX] = index;
    w[W_PHASE] = Phase.Input;
    Atomics.add(w, W_SEQUENCE, 1);
  }

  /** The worker enters another phase, after the last input published. */
  phase(p: Phase): void {
    this.words[W_PHASE] = p;
    Atomics.add(this.words, W_SEQUENCE, 1);
  }

  /** Changes at every publication: the watchdog's sign of progress. */
  sequence(): number {
    return Atomics.load(this.words, W_SEQUENCE);
  }

  /** What the worker was on at the last publication (read by the watchdog). */
  snapshot(): {
    index: number;
    phase: Phase;
    kind: InputKind;
    seed: number;
    source: string;
    timeMs: number;
    tsNsec: number;
    linkType: number;
    payloadHex: string;
  } {
    const w = this.words;
    const length = Math.max(0, Math.min(w[W_LENGTH]!, HEARTBEAT_PAYLOAD_BYTES));
    return {
      index: w[W_INDEX]!,
      phase: w[W_PHASE]! as Phase,
      kind: w[W_KIND]! as InputKind,
      seed: w[W_SEED]!,
      source: decoder.decode(this.source.slice(0, w[W_SOURCE_LENGTH]!)),
      timeMs: this.floats[F_TIME]!,
      tsNsec: this.floats[F_NSEC]!,
      linkType: w[W_LINK_TYPE]!,
      payloadHex: Buffer.from(this.payload.slice(0, length)).toString("hex"),
    };
  }
}
