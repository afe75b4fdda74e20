"""Training needs analysis and the effect of training, for planners.

**Needs.** Every gap of every person (the cached gap matrices of competency_framework, so the
whole organisation is a few array operations) is matched to the activity the proposal rule
would pick (plans.py). Per activity: the people who need it, the gaps and critical gaps it
addresses, what it would cost to train them all, and the sessions that takes; per unit: the
cost of its needs against its budget and what its plans already commit.

**Funding ranking** ("fund these activities and close X % of the critical gaps"): a critical
gap (required − current ≥ 2) counts as *closed* by an activity when the level the activity aims
at brings the person within one level of the requirement (it stops being critical). Each
critical gap is matched to exactly one activity, so the gaps activities close never overlap and
a greedy ranking is a fair answer: activities are taken in order of critical gaps closed per
peso (free ones first, then by gaps closed per cost of training everyone who needs them); one
that no longer fits the budget is skipped and cheaper ones after it may still fit. X is the
share of *all* critical gaps (also those no activity addresses) the funded ones close.

**Effect** (difference in differences, by strata): for a period [start, end], the change of
validated level (end − start) of people who completed an activity developing a competency
within the period is compared with the change of people with the *same competency and the same
starting level* who did not. The difference per stratum, weighted by trained people, is the
estimate. Pairs without a validated level at the start are left out (counted). Strata with fewer
than 5 people on either side are suppressed. It is a comparison, not proof: people chosen for
training may differ from those who were not, and a trained level counts once the supervisor has
confirmed it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import clock, revisions
from competency_framework import service as competency_service
from competency_framework.training.models import (
    LIVE_ITEM_STATUSES,
    EnrolmentStatus,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
)
from competency_framework.training.service.catalogue import all_targets, budgets
from competency_framework.training.service.proposals import offer_table
from competency_framework.training.service.rules import USER_AREA_ROLES

MIN_GROUP = competency_service.MIN_CELL_PEOPLE


# --- needs ------------------------------------------------------------------------------------


@dataclass
class ActivityNeed:
    activity: TrainingActivity
    people: int
    needs: int
    critical: int
    closes: int  # critical gaps it would close
    cost: int
    sessions: int | None  # None: no seat limit
    by_region: dict[str, int] = field(default_factory=dict)
    rank: int = 0
    funded: bool = False
    cumulative_cost: int = 0
    cumulative_share: float = 0.0

    @property
    def per_million(self) -> float | None:
        """Critical gaps closed per million pesos (None for free activities)."""
        return self.closes / self.cost * 1_000_000 if self.cost else None


@dataclass
class UnitNeed:
    unit_id: int
    name: str
    region: str
    people: int
    cost: int
    budget: int | None
    committed: int
    pending: int

    @property
    def short(self) -> int | None:
        """How much the cost of all needs exceeds what is left of the budget."""
        if self.budget is None:
            return None
        return max(0, self.cost - max(0, self.budget - self.committed))


@dataclass
class UncoveredCompetency:
    competency: competency_service.Competency
    needs: int
    critical: int


@dataclass
class NeedsReport:
    year: int
    region: str
    unit_id: int | None
    people: int
    needs_total: int
    critical_total: int
    activities: list[ActivityNeed]
    regions: list[str]
    units: list[UnitNeed]
    uncovered: list[UncoveredCompetency]
    budget: int
    budget_given: bool
    budget_total: int
    committed_total: int
    pending_total: int
    computed_at: datetime
    ratings_revision: int

    @property
    def funded(self) -> list[ActivityNeed]:
        return [a for a in self.activities if a.funded]

    @property
    def funded_cost(self) -> int:
        return sum(a.cost for a in self.funded)

    @property
    def funded_share(self) -> float:
        closes = sum(a.closes for a in self.funded)
        return closes / self.critical_total if self.critical_total else 0.0


def unit_subtree(units: pd.DataFrame, unit_id: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for uid, parent in zip(units["unit_id"], units["parent_id"], strict=True):
        if parent is not None and not (isinstance(parent, float) and math.isnan(parent)):
            children.setdefault(int(parent), []).append(int(uid))
    found, stack = set(), [unit_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


def plan_spending(session: Session, *, year: int) -> dict[int, tuple[int, int]]:
    """Return {unit_id: (committed, pending)} of the year's plans."""
    rows = session.exec(
        select(
            TrainingPlan.unit_id,
            TrainingPlanItem.status,
            func.coalesce(func.sum(TrainingPlanItem.cost), 0),
        )
        .join(TrainingPlan, col(TrainingPlan.id) == TrainingPlanItem.plan_id)
        .where(
            TrainingPlan.year == year,
            col(TrainingPlanItem.status).in_(LIVE_ITEM_STATUSES),
        )
        .group_by(TrainingPlan.unit_id, TrainingPlanItem.status)
    ).all()
    spending: dict[int, list[int]] = {}
    for unit_id, status, total in rows:
        slot = spending.setdefault(unit_id, [0, 0])
        slot[1 if status == ItemStatus.proposed else 0] += int(total)
    return {u: (v[0], v[1]) for u, v in spending.items()}


def needs_report(
    session: Session,
    *,
    year: int,
    region: str = "",
    unit_id: int | None = None,
    budget: int | None = None,
    unit_limit: int = 50,
) -> NeedsReport:
    """Return the training needs analysis for the organisation (or a region, or a unit subtree).

    `budget` is the amount to fund the ranking with; by default the sum of the year's unit
    budgets in scope, less what plans already commit.

    Reports are cached per process, keyed on the gap analysis' own key and the `training` data
    revision (advanced by triggers on the catalogue, budgets and plans), so a cached report is
    never older than the data.
    """
    org = competency_service.load_org_frames(session)
    cells = competency_service.organisation_cells(session, org)
    key = (
        "training-needs",
        cells.key,
        revisions.value_of(session, "training"),
        year,
        region,
        unit_id,
        budget,
        unit_limit,
    )
    found = competency_service.GAP_CACHE.get_report(key)
    if found is None:
        found = _needs_report(
            session,
            org=org,
            cells=cells,
            year=year,
            region=region,
            unit_id=unit_id,
            budget=budget,
            unit_limit=unit_limit,
        )
        competency_service.GAP_CACHE.put_report(key, found)
    return found


def _needs_report(
    session: Session,
    *,
    org: competency_service.OrgFrames,
    cells: competency_service.CachedCells,
    year: int,
    region: str,
    unit_id: int | None,
    budget: int | None,
    unit_limit: int,
) -> NeedsReport:
    people = cells.inputs.employees.reset_index(drop=True)
    matrices = cells.matrices
    units = org.units
    unit_region = dict(zip(units["unit_id"].astype(int), units["region"], strict=True))
    unit_name = dict(zip(units["unit_id"].astype(int), units["name"], strict=True))
    scope_units = set(unit_region)
    if region:
        scope_units = {u for u in scope_units if unit_region[u] == region}
    if unit_id is not None:
        scope_units &= unit_subtree(units, unit_id)
    person_units = people["unit_id"].to_numpy(dtype=np.int64)
    mask = np.isin(person_units, np.fromiter(scope_units, dtype=np.int64, count=len(scope_units)))
    current = matrices["current"][mask].astype(np.int16)
    required = matrices["required"][mask].astype(np.int16)
    person_units = person_units[mask]
    audience = np.isin(people["role_code"].to_numpy()[mask], list(USER_AREA_ROLES)).astype(np.int64)

    table = offer_table(session)
    activities = {a.id: a for a in session.exec(select(TrainingActivity))}
    competencies = competency_service.list_competencies(session)
    n, k = current.shape
    # Dense people × competencies arrays throughout: no per-need Python, no hashing.
    has_gap = (required > 0) & (required > current)
    critical = has_gap & ((required - current) >= competency_service.CRITICAL_GAP)
    offer = table.choice[
        np.arange(k)[None, :], np.clip(current, 0, 4), np.clip(required, 0, 4), audience[:, None]
    ]
    covered = has_gap & (offer >= 0)
    act_list = sorted(set(table.activity_id.tolist()))
    n_act = len(act_list)
    # Offer index → position of its activity in act_list.
    offer_act = np.searchsorted(np.asarray(act_list, dtype=np.int64), table.activity_id)
    act_of = np.where(covered, offer_act[np.clip(offer, 0, None)] if len(offer_act) else 0, -1)
    to_of = np.where(covered, table.to_level[np.clip(offer, 0, None)] if len(offer_act) else 0, 0)
    closes = covered & critical & ((required - to_of) < competency_service.CRITICAL_GAP)

    uncovered_cells = has_gap & ~covered
    uncovered = [
        UncoveredCompetency(competency, int(need_n), int(crit_n))
        for competency, need_n, crit_n in zip(
            competencies,
            uncovered_cells.sum(axis=0),
            (uncovered_cells & critical).sum(axis=0),
            strict=True,
        )
        if need_n
    ]
    uncovered.sort(key=lambda u: (-u.critical, -u.needs, u.competency.order))

    flat_act = act_of[covered]
    needs_per = np.bincount(flat_act, minlength=n_act)
    critical_per = np.bincount(act_of[covered & critical], minlength=n_act)
    closes_per = np.bincount(act_of[closes], minlength=n_act)
    # People, not needs: one activity may cover two of a person's gaps.
    wants = np.zeros((n, max(n_act, 1)), dtype=bool)
    rows_c = np.nonzero(covered)[0]
    wants[rows_c, flat_act] = True
    people_per = wants.sum(axis=0)
    regions = sorted({r for r in unit_region.values() if r})
    unit_list = np.unique(person_units)
    unit_of = np.searchsorted(unit_list, person_units)
    region_of_unit = np.asarray(
        [regions.index(unit_region[int(u)]) if unit_region.get(int(u)) else -1 for u in unit_list],
        dtype=np.int64,
    )
    region_of = region_of_unit[unit_of] if len(unit_list) else np.zeros(0, dtype=np.int64)
    by_region = np.zeros((max(n_act, 1), len(regions)), dtype=np.int64)
    for j in range(len(regions)):
        by_region[:, j] = wants[region_of == j].sum(axis=0)
    costs = np.asarray([activities[a].cost for a in act_list], dtype=np.int64)

    result: list[ActivityNeed] = []
    for i, activity_id in enumerate(act_list):
        people_n = int(people_per[i])
        if not people_n:
            continue
        activity = activities[activity_id]
        result.append(
            ActivityNeed(
                activity=activity,
                people=people_n,
                needs=int(needs_per[i]),
                critical=int(critical_per[i]),
                closes=int(closes_per[i]),
                cost=int(costs[i]) * people_n,
                sessions=math.ceil(people_n / activity.capacity) if activity.capacity else None,
                by_region={r: int(by_region[i, j]) for j, r in enumerate(regions)},
            )
        )

    spending = plan_spending(session, year=year)
    amounts = budgets(session, year=year)
    budget_total = sum(v for u, v in amounts.items() if u in scope_units)
    committed_total = sum(v[0] for u, v in spending.items() if u in scope_units)
    pending_total = sum(v[1] for u, v in spending.items() if u in scope_units)
    budget_given = budget is not None
    if budget is None:
        budget = max(0, budget_total - committed_total)
    _rank(result, budget=budget, critical_total=int(critical.sum()))

    # Units: cost of all needs (each person's activities) against budget.
    unit_rows: list[UnitNeed] = []
    if n_act and len(unit_list):
        person_cost = wants[:, :n_act].astype(np.int64) @ costs
        unit_cost = np.bincount(unit_of, weights=person_cost, minlength=len(unit_list))
        unit_people = np.bincount(unit_of, weights=wants.any(axis=1), minlength=len(unit_list))
        for i, u in enumerate(unit_list.tolist()):
            if not unit_people[i]:
                continue
            committed, pending = spending.get(u, (0, 0))
            unit_rows.append(
                UnitNeed(
                    unit_id=int(u),
                    name=str(unit_name.get(u, u)),
                    region=str(unit_region.get(u, "")),
                    people=int(unit_people[i]),
                    cost=int(unit_cost[i]),
                    budget=amounts.get(u),
                    committed=committed,
                    pending=pending,
                )
            )
    unit_rows.sort(key=lambda r: (-(r.short or 0), -r.cost, r.name))
    rev = competency_service.revision(session)
    return NeedsReport(
        year=year,
        region=region,
        unit_id=unit_id,
        people=int(mask.sum()),
        needs_total=int(has_gap.sum()),
        critical_total=int(critical.sum()),
        activities=result,
        regions=regions,
        units=unit_rows[:unit_limit],
        uncovered=uncovered,
        budget=int(budget),
        budget_given=budget_given,
        budget_total=budget_total,
        committed_total=committed_total,
        pending_total=pending_total,
        computed_at=clock.now(),
        ratings_revision=rev.ratings,
    )


def _rank(activities: list[ActivityNeed], *, budget: int, critical_total: int) -> None:
    """Order by critical gaps closed per peso and fund greedily within `budget` (in place)."""

    def key(a: ActivityNeed) -> tuple:
        if a.closes and not a.cost:
            return (0, -a.closes, a.activity.code)
        if a.closes:
            return (1, -(a.closes / a.cost), a.cost, a.activity.code)
        return (2, -a.needs, a.cost, a.activity.code)

    activities.sort(key=key)
    spent = closed = 0
    for rank, activity in enumerate(activities, start=1):
        activity.rank = rank
        if activity.closes and spent + activity.cost <= budget:
            activity.funded = True
            spent += activity.cost
            closed += activity.closes
        activity.cumulative_cost = spent
        activity.cumulative_share = closed / critical_total if critical_total else 0.0


# --- the effect of training -------------------------------------------------------------------


@dataclass
class EffectStratum:
    competency: competency_service.Competency
    start_level: int
    trained: int
    trained_change: float | None
    trained_rose: float | None
    others: int
    others_change: float | None
    others_rose: float | None
    suppressed: bool

    @property
    def difference(self) -> float | None:
        if self.suppressed or self.trained_change is None or self.others_change is None:
            return None
        return self.trained_change - self.others_change


@dataclass
class EffectSummary:
    competency: competency_service.Competency
    trained: int
    others: int
    difference: float | None  # weighted by trained people over the strata shown
    strata_shown: int
    strata_suppressed: int


@dataclass
class EffectReport:
    start: datetime
    end: datetime
    strata: list[EffectStratum]
    summaries: list[EffectSummary]
    trained_pairs: int
    left_out: int  # trained pairs without a validated level at the start
    overall: float | None


def training_effect(
    session: Session, *, start: datetime, end: datetime, competency_code: str = ""
) -> EffectReport:
    """Return the difference-in-differences comparison described in the module docstring."""
    completions = session.exec(
        select(TrainingEnrolment.employee_id, TrainingEnrolment.activity_id).where(
            TrainingEnrolment.status == EnrolmentStatus.completed,
            col(TrainingEnrolment.employee_id).is_not(None),
            col(TrainingEnrolment.completed_at) >= start,
            col(TrainingEnrolment.completed_at) <= end,
        )
    ).all()
    targets = all_targets(session)
    competencies = {c.id: c for c in competency_service.list_competencies(session)}
    wanted = (
        competency_service.get_competency(session, competency_code) if competency_code else None
    )
    treated = {
        (employee_id, t.competency_id)
        for employee_id, activity_id in completions
        for t in targets.get(activity_id, [])
        if wanted is None or t.competency_id == wanted.id
    }
    competency_ids = sorted({c for _e, c in treated})
    levels = competency_service.levels_at(
        session, competency_ids=competency_ids, moments=[start, end]
    )
    strata: list[EffectStratum] = []
    summaries: list[EffectSummary] = []
    left_out = 0
    if len(levels):
        known = levels.dropna(subset=["level_0"])
        known_keys = set(zip(known["employee_id"], known["competency_id"], strict=True))
        left_out = len([p for p in treated if p not in known_keys])
        frame = known.copy()
        frame["start"] = frame["level_0"].astype(int)
        frame["change"] = frame["level_1"].astype(float) - frame["level_0"].astype(float)
        frame["trained"] = [
            (e, c) in treated
            for e, c in zip(frame["employee_id"], frame["competency_id"], strict=True)
        ]
        for (competency_id, start_level), group in frame.groupby(["competency_id", "start"]):
            trained = group[group["trained"]]
            others = group[~group["trained"]]
            if trained.empty:
                continue
            suppressed = len(trained) < MIN_GROUP or len(others) < MIN_GROUP
            strata.append(
                EffectStratum(
                    competency=competencies[int(competency_id)],
                    start_level=int(start_level),
                    trained=len(trained),
                    trained_change=None if suppressed else float(trained["change"].mean()),
                    trained_rose=None if suppressed else float((trained["change"] > 0).mean()),
                    others=len(others),
                    others_change=None if suppressed else float(others["change"].mean()),
                    others_rose=None if suppressed else float((others["change"] > 0).mean()),
                    suppressed=suppressed,
                )
            )
    else:
        left_out = len(treated)
    strata.sort(key=lambda s: (s.competency.order, s.start_level))
    weighted_sum = weight = 0.0
    for competency_id in competency_ids:
        own = [s for s in strata if s.competency.id == competency_id]
        shown = [s for s in own if not s.suppressed]
        total = sum(s.trained for s in shown)
        difference = sum(s.difference * s.trained for s in shown) / total if total else None
        if total:
            weighted_sum += difference * total
            weight += total
        summaries.append(
            EffectSummary(
                competency=competencies[competency_id],
                trained=sum(s.trained for s in own),
                others=sum(s.others for s in own),
                difference=difference,
                strata_shown=len(shown),
                strata_suppressed=len(own) - len(shown),
            )
        )
    return EffectReport(
        start=start,
        end=end,
        strata=strata,
        summaries=summaries,
        trained_pairs=len(treated),
        left_out=left_out,
        overall=weighted_sum / weight if weight else None,
    )
