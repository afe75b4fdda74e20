"""The integrity flags' thresholds, checked by the simulation that chose them (seeded, fast).

`python -m bench.integrity` runs the same simulation larger, over the whole grid.
"""

from __future__ import annotations

from assessments.vacancies.service import favouritism as stats

N = 300
SEED = 5


def test_the_favouritism_threshold_keeps_false_alarms_low_and_catches_one_point():
    rates = stats.simulate(N, SEED)
    assert rates.false_alarms <= 0.05
    assert rates.detection >= 0.90
    assert rates.outlier_false_alarms <= 0.05


def test_the_thresholds_are_the_smallest_that_keep_false_alarms_low():
    # One grid step lower, clean competitions raise too many alarms.
    lower = stats.simulate(N, SEED, favour_points=stats.FAVOUR_POINTS - 0.1)
    assert lower.false_alarms > 0.05
    looser = stats.simulate(N // 2, SEED, total_points=stats.TOTAL_POINTS - 0.5)
    assert looser.outlier_false_alarms > 0.05


def test_a_lone_related_candidate_is_caught_and_harshness_is_not_favour():
    # Rater 1 is harsh with everyone (-1) and adds 1.5 to candidate 3, the only related one.
    scores = {}
    for candidate in range(1, 7):
        for k in range(5):
            base = 2
            scores[(candidate, "interview", f"c{k}")] = {
                1: base - 1 + (2 if candidate == 3 else 0),
                2: base,
                3: base,
            }
    found = stats.deviations(scores)
    (flag,) = stats.favouritism(found, [(1, 3)])
    assert flag.raw == 1.0 and flag.usual == -1.0 and flag.points == 2.0
    # Harsh with everyone, including a related candidate: no favour.
    assert stats.favouritism(found, [(1, 4)]) == []
    # Leave-one-out: a rater's own score does not pull the comparison towards itself.
    (d,) = [d for d in found if d.rater == 1 and d.candidate == 3][:1]
    assert d.others_mean == 2.0 and d.points == 1.0
    assert not stats.item_outliers(found)
    # Totals a whole point per item away: the harsh rater on everyone, never the other two.
    totals = stats.total_outliers(found, threshold=1.0)
    assert [(t.rater, t.candidate) for t in totals] == [(1, c) for c in range(1, 7)]
