#!/usr/bin/env python3
"""The commit-rate proof's reference (issue 18), numpy-free and independent of flowtally's code.

Reads the generator's ground truth as JSON on stdin:
  {"windows": N, "commitRateBps": R,
   "links": [{"id": ..., "samples": [{"startMs": ..., "bytesIn": ..., "bytesOut": ...}]}]}
and prints, per percentileOf (max, in, out, sum), as docs/sla.md defines it:
  - the bill's sample per 5-minute window: the links' bytes summed per window first, then
    max(in, out) / in / out / in + out, in bits/s (bytes * 8 / 300);
  - the 95th percentile, nearest rank over all N windows of the period (windows without traffic
    are 0): the value at rank ceil(0.95 * N) of the ascending list;
  - the excess over the commit rate (0 when at or below) and compliant (p95 <= rate);
  - windowsAbove: the windows whose sample is above the rate;
  - sumOfLinkP95s: each link's own percentile, added (what the sum-per-window rule is not);
  - with "periodWindows": T (the whole billing period, of which the N windows are the part gone),
    the projection: projectedP95Bps (the percentile of the N windows alone), floorP95Bps (over
    all T, the rest without traffic) and burstWindowsLeft (T - ceil(0.95 T) - windowsAbove).
"""
import json
import math
import sys
from fractions import Fraction


def pick(of, b_in, b_out):
    return {"max": max(b_in, b_out), "in": b_in, "out": b_out, "sum": b_in + b_out}[of]


def p95(values, n):
    padded = sorted(list(values) + [0] * (n - len(values)))
    rank = math.ceil(Fraction(95, 100) * n)  # exact: no 0.95 * n rounding
    return padded[rank - 1]


def bps(nbytes):
    # bytes * 8 / 300 s, as an exact fraction, then a float (the same double JS gets).
    return float(Fraction(nbytes * 8, 300))


def main():
    plan = json.load(sys.stdin)
    n = plan["windows"]
    rate = plan["commitRateBps"]
    out = {}
    for of in ("max", "in", "out", "sum"):
        per_window = {}
        for link in plan["links"]:
            for s in link["samples"]:
                w = per_window.setdefault(s["startMs"], [0, 0])
                w[0] += s["bytesIn"]
                w[1] += s["bytesOut"]
        samples = [bps(pick(of, b_in, b_out)) for b_in, b_out in per_window.values()]
        value = p95(samples, n)
        link_p95s = [p95([bps(pick(of, s["bytesIn"], s["bytesOut"])) for s in link["samples"]], n)
                     for link in plan["links"]]
        out[of] = {
            "p95Bps": value,
            "excessBps": max(0.0, value - rate),
            "compliant": value <= rate,
            "windowsAbove": sum(1 for v in samples if v > rate),
            "sumOfLinkP95s": sum(link_p95s),
        }
        total = plan.get("periodWindows")
        if total is not None:
            out[of]["projectedP95Bps"] = value
            out[of]["floorP95Bps"] = p95(samples, total)
            out[of]["burstWindowsLeft"] = (total - math.ceil(Fraction(95, 100) * total)
                                           - out[of]["windowsAbove"])
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


main()
