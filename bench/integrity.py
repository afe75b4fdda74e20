"""The integrity flags' simulation: false-alarm and detection rates, and how the thresholds
were chosen.

    python -m bench.integrity [--competitions 2000] [--seed 17]

Generates clean competitions (raters with ordinary noise and harshness; one or two rater and
candidate pairs related, e.g. the same unit, without favour) and competitions in which one
rater adds a fixed number of points to every item of one related candidate
(`assessments/vacancies/service/favouritism.py`). For each threshold of a grid it prints the
share of clean competitions flagged (false alarms) and, for favouritism, the share of seeded
favouritism caught. The threshold in force is the smallest of the grid whose false-alarm rate
is at most 5 % (the upper end of its 95 % interval is printed beside it, to show the margin),
and it must catch at least 90 % of favouritism of one scale point. Results: bench/RESULTS.md,
docs/vacancies.md.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

from assessments.vacancies.service import favouritism as stats

FAVOUR_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)
ITEM_GRID = (3.0, 3.5, 4.0)
TOTAL_GRID = (1.25, 1.5, 1.75, 2.0)


def upper_bound(rate: float, n: int) -> float:
    """The upper end of a 95 % (Wilson) interval for a rate observed in `n` trials."""
    z = 1.96
    centre = rate + z * z / (2 * n)
    spread = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--competitions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    n, seed = args.competitions, args.seed
    started = time.perf_counter()
    shape = stats.Shape()
    print(
        f"{n} clean and {n} favouring competitions per row, seed {seed}; shape: "
        f"{shape.candidates} candidates, {shape.raters} raters, {len(shape.stages)} stages x "
        f"{shape.competencies} competencies, noise sd {shape.noise_sd}, harshness sd "
        f"{shape.harshness_sd}"
    )
    print("\nFavouritism (per rater and related candidate), favour = 1 scale point")
    print("threshold  false alarms  (upper 95 %)  detection")
    for threshold in FAVOUR_GRID:
        rates = stats.simulate(n, seed, favour_points=threshold)
        chosen = " <- in force" if threshold == stats.FAVOUR_POINTS else ""
        print(
            f"{threshold:9.2f}  {rates.false_alarms:12.1%}"
            f"  {upper_bound(rates.false_alarms, n):12.1%}  {rates.detection:9.1%}{chosen}"
        )
    print("\nItem and total outliers (leave-one-out), clean competitions")
    print("item  total  false alarms  (upper 95 %)")
    for item in ITEM_GRID:
        for total in TOTAL_GRID:
            rates = stats.simulate(n // 2, seed, item_points=item, total_points=total)
            chosen = (
                " <- in force" if (item, total) == (stats.ITEM_POINTS, stats.TOTAL_POINTS) else ""
            )
            print(
                f"{item:4.1f}  {total:5.2f}  {rates.outlier_false_alarms:12.1%}"
                f"  {upper_bound(rates.outlier_false_alarms, n // 2):12.1%}{chosen}"
            )
    print("\nThresholds in force, by the size of the favour and of the competition")
    print("favour  candidates  false alarms  detection")
    for favour in (1.0, 1.5, 2.0):
        for candidates in (4, 8, 12):
            rates = stats.simulate(
                n // 2, seed, shape=replace(shape, candidates=candidates), favour=favour
            )
            print(
                f"{favour:6.1f}  {candidates:10d}  {rates.false_alarms:12.1%}"
                f"  {rates.detection:9.1%}"
            )
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
