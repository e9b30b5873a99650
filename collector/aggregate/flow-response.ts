/**
 * A flow record's response-time contribution (the `responseTimes` column the decoder filled from
 * Cisco AVC ART or nProbe fields) judged against its class's total-delay threshold: how many of
 * its transactions were good, and how many of those verdicts are estimates. Pure, allocation-free
 * (writes into a reused object).
 *
 * Good, in order of preference (docs/response-times.md, "From flow exports"):
 * - one transaction (every nProbe record; an ART record with one response): its total delay is
 *   known, so good is exact (total delay < threshold);
 * - the ART response-time histogram: buckets whose upper edge is at or under the threshold are
 *   good, buckets whose lower edge is at or over it are not. Exact when the threshold falls on a
 *   bucket edge. Otherwise the bucket that holds the threshold is split linearly (a share
 *   (threshold - lower) / (upper - lower) of its responses counts good; none of the last, open
 *   bucket) and its responses are counted `estimated`. Responses counted but missing from the
 *   histogram are not good and estimated;
 * - sums only (several responses, no histogram): the mean total delay decides for all of them
 *   (all good, less the late responses, when the mean is under the threshold; none otherwise),
 *   and every one is counted `estimated`.
 */
import {
  type FlowBatch,
  RESPONSE_BUCKET_COUNT,
  RESPONSE_BUCKETS,
  RESPONSE_WIDTH,
  ResponseSlot,
} from "../../schema/flow-record.js";
import type { FlowResponseContribution } from "./response-sums.js";

/** A reused contribution: `flowResponse` overwrites every field. */
export function emptyContribution(): FlowResponseContribution {
  return {
    transactions: 0,
    good: 0,
    estimated: 0,
    retransmissions: 0,
    networkDelaySumUs: 0,
    networkDelayCount: 0,
    serverDelaySumUs: 0,
    serverDelayCount: 0,
    totalDelaySumUs: 0,
  };
}

/**
 * Fills `out` with row `i`'s contribution judged at `thresholdUs`; false (and `out` untouched)
 * when the row carries none. `upperEdgesUs`: the upper edges of histogram buckets 1 to 6 in
 * microseconds, ascending (bucket 7 is open: above the sixth edge).
 */
export function flowResponse(
  batch: FlowBatch,
  i: number,
  thresholdUs: number,
  upperEdgesUs: ArrayLike<number>,
  out: FlowResponseContribution,
): boolean {
  const rt = batch.responseTimes;
  const at = i * RESPONSE_WIDTH;
  const transactions = rt[at + ResponseSlot.transactions]!;
  const networkCount = rt[at + ResponseSlot.networkDelayCount]!;
  if (!(transactions > 0) && !(networkCount > 0)) return false;
  out.transactions = transactions > 0 ? transactions : 0;
  out.retransmissions = rt[at + ResponseSlot.retransmissions]!;
  out.networkDelaySumUs = rt[at + ResponseSlot.networkDelaySumUs]!;
  out.networkDelayCount = networkCount;
  out.serverDelaySumUs = rt[at + ResponseSlot.serverDelaySumUs]!;
  out.serverDelayCount = rt[at + ResponseSlot.serverDelayCount]!;
  const total = rt[at + ResponseSlot.totalDelaySumUs]!;
  out.totalDelaySumUs = total;
  out.good = 0;
  out.estimated = 0;
  if (out.transactions === 0) return true;

  let bucketed = 0;
  for (let k = 0; k < RESPONSE_BUCKET_COUNT; k++) bucketed += rt[at + RESPONSE_BUCKETS + k]!;

  if (out.transactions === 1 && bucketed <= 1) {
    // One transaction: its total delay is the sum (with a histogram of one, the same verdict
    // when the sum is there; the histogram decides below only without a total).
    if (total > 0) {
      out.good = total < thresholdUs ? 1 : 0;
      return true;
    }
  }
  if (bucketed > 0) {
    let lower = 0;
    for (let k = 0; k < RESPONSE_BUCKET_COUNT; k++) {
      const n = rt[at + RESPONSE_BUCKETS + k]!;
      const upper = k < RESPONSE_BUCKET_COUNT - 1 ? upperEdgesUs[k]! : Number.POSITIVE_INFINITY;
      if (n > 0) {
        if (upper <= thresholdUs) out.good += n;
        else if (lower < thresholdUs) {
          // The threshold falls inside this bucket: split it linearly (none of the open one).
          if (upper !== Number.POSITIVE_INFINITY) {
            out.good += (n * (thresholdUs - lower)) / (upper - lower);
          }
          out.estimated += n;
        }
      }
      lower = upper;
    }
    if (out.transactions > bucketed) out.estimated += out.transactions - bucketed;
    return true;
  }
  if (total > 0) {
    const late = rt[at + ResponseSlot.lateResponses]!;
    if (total / out.transactions < thresholdUs) {
      out.good = Math.max(0, out.transactions - (late > 0 ? late : 0));
    }
    out.estimated = out.transactions;
    return true;
  }
  // Responses without any delay: nothing to judge them by.
  out.estimated = out.transactions;
  return true;
}
