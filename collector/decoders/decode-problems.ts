/**
 * Every way a datagram can fail to decode, counted by reason. The decoder never throws past a
 * packet: it counts one of these, skips what it cannot trust, and goes on with the rest of the
 * packet when that is safe (the next set), or with the next packet when it is not.
 *
 * `docs/decoding.md` lists each reason with what an operator should do about it.
 */
export const decodeProblems = [
  /** The datagram is shorter than the protocol header. */
  "header-truncated",
  /** The version field is not 5, 9 or 10. */
  "unknown-version",
  /** v5: the header's record count needs more bytes than the datagram has (datagram dropped). */
  "v5-count-mismatch",
  /** IPFIX: the message length in the header disagrees with the datagram length. */
  "ipfix-length-mismatch",
  /** A set/flowset length is below 4, or runs past the end of the message. */
  "set-length-invalid",
  /** A set id in the reserved range (v9: 2-255, IPFIX: 0-1, 4-255). */
  "set-id-reserved",
  /** A template record runs past the end of its set (field count or scope length that lies). */
  "template-truncated",
  /** A template defines an id below 256. */
  "template-id-invalid",
  /** A template has no fields, or more than the field limit, or a record length above 65535. */
  "template-invalid",
  /** A datagram from a new exporter address beyond `maxExporters`: dropped. */
  "exporter-limit",
  /** A datagram for a new observation domain beyond `maxDomainsPerExporter`: dropped. */
  "domain-limit",
  /** An exporter already has the maximum number of templates: the new one was not learnt. */
  "template-limit",
  /** A data record is longer than what is left of its set (only for variable-length fields). */
  "record-truncated",
  /** A variable-length field's length runs past the end of the record's set. */
  "varlen-invalid",
  /** A data set arrived before its template and is held; counted when held (not a loss). */
  "data-held",
  /** A held data set was dropped because it waited longer than `pending.maxAgeSeconds`. */
  "held-expired",
  /** A held data set was dropped to keep within `pending.maxSets` / `pending.maxBytes`. */
  "held-overflow",
  /** A record's sampling rate was unknown; the `unknownSampling` policy was applied. */
  "sampling-unknown",
  /** A record held for an unknown sampling rate waited too long and was released with rate 1. */
  "sampling-hold-expired",
  /** Options data that could not be interpreted (e.g. a sampling interval of 0). */
  "options-invalid",
  /** A decoder bug threw on this datagram; it was dropped. Please report it with the capture. */
  "internal-error",
] as const;

export type DecodeProblem = (typeof decodeProblems)[number];

export type ProblemCounts = Record<DecodeProblem, number>;

export function emptyProblemCounts(): ProblemCounts {
  // Object.fromEntries keeps fast properties; added one by one, this many keys turn the object
  // into a dictionary, and every count (one per data set at least: sampling-unknown) would
  // take V8's slow property path.
  return Object.fromEntries(decodeProblems.map((p) => [p, 0])) as ProblemCounts;
}
