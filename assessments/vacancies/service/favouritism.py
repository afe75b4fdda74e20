"""The statistics behind the panel-score integrity flags, and the simulation that sets them.

Pure: scores in, figures out, no database. A rater's score is compared with the mean of the
*other* raters of the same item (leave-one-out: a mean that includes the rater would hide half
of their own deviation). Three flags come from it:

- an item scored `ITEM_POINTS` or more from the other raters' mean;
- a candidate's stage total that lies, per item, `TOTAL_POINTS` or more from the others';
- favouritism, per rater and candidate: for a candidate related to the rater (same unit, or a
  relation declared or suggested by HR data), the rater's mean deviation on that candidate minus
  the rater's usual deviation (the median over the other candidates, which takes out a rater
  who is simply lenient or harsh with everyone). `FAVOUR_POINTS` or more is flagged, even when
  it is the only related candidate.

The thresholds are chosen by `simulate`: clean competitions (raters with ordinary noise and
harshness) and competitions with one rater favouring one related candidate; each threshold is
the smallest on a grid that keeps false alarms on clean competitions at or below 5 %, and the
favouritism threshold must then catch at least 90 % of favouritism of one scale point
(`tests/vacancies/test_favouritism_simulation.py`; `python -m bench.integrity` prints the
rates; docs/vacancies.md records them).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import median

# An item is (candidate, stage, competency); scores[item][rater] = 0..4.
Item = tuple[int, str, str]
Scores = dict[Item, dict[int, int]]


def mean(values) -> float:
    """The arithmetic mean (`statistics.mean` is exact but far slower for the simulation)."""
    values = list(values)
    return sum(values) / len(values)


# Chosen by simulation (see the module's docstring and docs/vacancies.md).
ITEM_POINTS = 3.5
TOTAL_POINTS = 1.75
FAVOUR_POINTS = 0.5
SCALE_MAX = 4


@dataclass(frozen=True)
class Deviation:
    rater: int
    candidate: int
    stage: str
    competency: str
    score: int
    others_mean: float

    @property
    def points(self) -> float:
        return self.score - self.others_mean


def deviations(scores: Scores) -> list[Deviation]:
    """Return every score's distance from the mean of the other raters of the same item."""
    found = []
    for (candidate, stage, competency), by_rater in scores.items():
        if len(by_rater) < 2:
            continue
        for rater, score in by_rater.items():
            total, n = sum(by_rater.values()), len(by_rater)
            others_mean = (total - score) / (n - 1)
            found.append(Deviation(rater, candidate, stage, competency, score, others_mean))
    return found


def item_outliers(found: Iterable[Deviation], threshold: float = ITEM_POINTS) -> list[Deviation]:
    return [d for d in found if abs(d.points) >= threshold]


@dataclass(frozen=True)
class TotalOutlier:
    rater: int
    candidate: int
    stage: str
    points: float  # mean deviation per item over the stage
    items: int


def total_outliers(
    found: Iterable[Deviation], threshold: float = TOTAL_POINTS
) -> list[TotalOutlier]:
    """Return the (rater, candidate, stage) totals far from the other raters' totals.

    When one rater departs from the panel, the others' leave-one-out means include that rater,
    so they look far off too; the disagreement is put on the rater furthest from the others,
    one per candidate and stage.
    """
    groups: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for d in found:
        groups[(d.rater, d.candidate, d.stage)].append(d.points)
    furthest: dict[tuple[int, str], TotalOutlier] = {}
    for (rater, candidate, stage), points in sorted(groups.items()):
        total = TotalOutlier(rater, candidate, stage, mean(points), len(points))
        best = furthest.get((candidate, stage))
        if best is None or abs(total.points) > abs(best.points):
            furthest[(candidate, stage)] = total
    return [t for _key, t in sorted(furthest.items()) if abs(t.points) >= threshold]


@dataclass(frozen=True)
class Favour:
    rater: int
    candidate: int
    points: float  # the rater's extra points per item on this candidate, beyond their usual
    raw: float  # the rater's mean deviation on this candidate
    usual: float  # the rater's median deviation on the other candidates
    items: int


def pair_bias(found: Iterable[Deviation]) -> dict[tuple[int, int], Favour]:
    """Return, per (rater, candidate), the rater's deviation on the candidate beyond their
    usual deviation on everyone else."""
    per: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for d in found:
        per[d.rater][d.candidate].append(d.points)
    result = {}
    for rater, by_candidate in per.items():
        means = {c: mean(v) for c, v in by_candidate.items()}
        for candidate, raw in means.items():
            others = [m for c, m in means.items() if c != candidate]
            usual = median(others) if others else 0.0
            result[(rater, candidate)] = Favour(
                rater, candidate, raw - usual, raw, usual, len(by_candidate[candidate])
            )
    return result


def favouritism(
    found: Iterable[Deviation],
    related: Iterable[tuple[int, int]],
    threshold: float = FAVOUR_POINTS,
) -> list[Favour]:
    """Return the related (rater, candidate) pairs the rater scored well above the panel."""
    bias = pair_bias(found)
    return [
        bias[pair]
        for pair in sorted(set(related))
        if pair in bias and bias[pair].points >= threshold
    ]


# --- the simulation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A competition's shape and its raters' ordinary behaviour, in scale points."""

    candidates: int = 8
    raters: int = 3
    stages: tuple[str, ...] = ("sift", "interview")
    competencies: int = 5
    ability_sd: float = 0.7  # between candidates, around the middle of the scale
    skill_sd: float = 0.4  # a candidate's strengths and weaknesses by competency
    harshness_sd: float = 0.3  # raters' general leniency or harshness
    noise_sd: float = 0.5  # one rater's judgement of one item
    related_pairs: tuple[int, int] = (1, 2)  # how many related (rater, candidate) pairs


@dataclass(frozen=True)
class Competition:
    scores: Scores
    related: list[tuple[int, int]]
    favoured: tuple[int, int] | None


def _clip(value: float) -> int:
    return max(0, min(SCALE_MAX, round(value)))


def generate(rng: random.Random, shape: Shape, favour: float = 0.0) -> Competition:
    """One simulated competition; with `favour` > 0, one rater adds that many points to every
    item of one related candidate."""
    raters = list(range(1, shape.raters + 1))
    candidates = list(range(1, shape.candidates + 1))
    harsh = {r: rng.gauss(0, shape.harshness_sd) for r in raters}
    n_related = rng.randint(*shape.related_pairs)
    related = sorted({(rng.choice(raters), rng.choice(candidates)) for _ in range(n_related)})
    favoured = rng.choice(related) if favour > 0 else None
    scores: Scores = {}
    for c in candidates:
        ability = 2.0 + rng.gauss(0, shape.ability_sd)
        for k in range(shape.competencies):
            level = ability + rng.gauss(0, shape.skill_sd)
            for stage in shape.stages:
                item = {}
                for r in raters:
                    raw = level + harsh[r] + rng.gauss(0, shape.noise_sd)
                    if favoured == (r, c):
                        raw += favour
                    item[r] = _clip(raw)
                scores[(c, stage, f"c{k}")] = item
    return Competition(scores, related, favoured)


@dataclass(frozen=True)
class Rates:
    competitions: int
    false_alarms: float  # share of clean competitions with a favouritism flag
    detection: float  # share of favouring competitions whose favoured pair is flagged
    outlier_false_alarms: float  # share of clean competitions with an item or total flag


def simulate(
    n: int,
    seed: int,
    *,
    shape: Shape | None = None,
    favour: float = 1.0,
    favour_points: float = FAVOUR_POINTS,
    item_points: float = ITEM_POINTS,
    total_points: float = TOTAL_POINTS,
) -> Rates:
    """Run `n` clean and `n` favouring competitions and return the flags' rates."""
    shape = shape or Shape()
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    false_alarms = outlier_alarms = caught = 0
    for _ in range(n):
        clean = generate(rng, shape)
        found = deviations(clean.scores)
        false_alarms += bool(favouritism(found, clean.related, favour_points))
        outlier_alarms += bool(
            item_outliers(found, item_points) or total_outliers(found, total_points)
        )
        seeded = generate(rng, shape, favour)
        flagged = favouritism(deviations(seeded.scores), seeded.related, favour_points)
        caught += any((f.rater, f.candidate) == seeded.favoured for f in flagged)
    return Rates(n, false_alarms / n, caught / n, outlier_alarms / n)


def smallest_threshold(
    grid: Iterable[float], false_alarm_rate, limit: float = 0.05
) -> float | None:
    """Return the smallest threshold of `grid` whose false-alarm rate is at most `limit`."""
    for threshold in sorted(grid):
        if false_alarm_rate(threshold) <= limit:
            return threshold
    return None
