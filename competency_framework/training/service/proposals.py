"""Individual training plans: proposed from gaps and development actions, within unit budgets;
adjusted and approved by the employee and the supervisor.

The proposal rule (docs/training.md explains it for users):
1. A *need* is a competency of the person's role profile where current < required (current is
   the validated level, 0 if never rated). Its priority score is gap × weight (essential 2,
   desirable 1): largest and most important first; ties go to essential, then framework order.
2. Each need gets the catalogue activity that suits it: active, not the induction programme,
   open to the person's audience (procurement staff, or user areas for the `user_area_staff`
   role), developing that competency from a level at or below the person's current one
   (from ≤ current < to). Among those, the one that gets closest to the requirement, then the
   cheapest, then the shortest, then by code. Needs without one are listed as uncovered
   (a mentor may help: see mentoring.py).
3. One activity covering two needs is proposed once; activities already in the year's plan in
   any state (including removed or declined ones) are not proposed again.
4. At most `max_proposed_items` (3) per person.
5. Budget: each unit's remaining budget for the year (budget − cost of the live items of its
   plans, other than the gap proposals being replaced) is shared in rounds: everyone's first
   activity, then everyone's second, …, higher scores first within a round. An item that does
   not fit is left out (a cheaper later one may still fit); free activities always fit. Units
   without a budget are not limited.

`propose_needs` is the pure part (numpy, no database) used for one person and for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import revisions
from backend.org.models import Employee
from competency_framework import service as competency_service
from competency_framework.training.models import (
    LIVE_ITEM_STATUSES,
    ActivityTarget,
    Audience,
    ItemStatus,
    TrainingActivity,
    TrainingBudget,
    TrainingPlan,
    TrainingPlanItem,
)
from competency_framework.training.service.catalogue import all_targets
from competency_framework.training.service.rules import audience_of

LEVELS = 5
AUDIENCES = (Audience.procurement_staff, Audience.user_areas)
# Events about training decisions (payloads in docs/training.md).


# --- the pure proposal engine -----------------------------------------------------------------


@dataclass
class OfferTable:
    """For each (competency, current level, required level, audience): the activity to propose.

    `choice[c, current, required, audience]` is an index into the offer arrays, or -1.
    """

    competency_ids: np.ndarray
    choice: np.ndarray
    activity_id: np.ndarray
    cost: np.ndarray
    from_level: np.ndarray
    to_level: np.ndarray

    def activity_for(self, c: int, current: int, required: int, audience: int) -> int:
        """Return the offer index for one need, or -1."""
        return int(self.choice[c, min(max(current, 0), 4), min(max(required, 0), 4), audience])


def build_offer_table(
    activities: list[TrainingActivity],
    targets: dict[int, list[ActivityTarget]],
    competency_ids: list[int],
) -> OfferTable:
    """Return the table of best activities (rule 2 of the module docstring)."""
    offers: list[tuple[TrainingActivity, ActivityTarget]] = [
        (a, t)
        for a in activities
        if a.is_active and not a.is_induction
        for t in targets.get(a.id, [])
    ]
    position = {cid: i for i, cid in enumerate(competency_ids)}
    k = len(competency_ids)
    choice = np.full((k, LEVELS, LEVELS, len(AUDIENCES)), -1, dtype=np.int32)
    by_competency: dict[int, list[int]] = {}
    for index, (_a, t) in enumerate(offers):
        by_competency.setdefault(t.competency_id, []).append(index)
    for competency_id, indices in by_competency.items():
        c = position.get(competency_id)
        if c is None:
            continue
        for audience_index, audience in enumerate(AUDIENCES):
            fitting = [i for i in indices if audience.value in (offers[i][0].audience or [])]
            for current in range(LEVELS):
                usable = [
                    i for i in fitting if offers[i][1].from_level <= current < offers[i][1].to_level
                ]
                if not usable:
                    continue
                for required in range(LEVELS):
                    goal = max(required, current + 1)

                    def rank(i: int, goal: int = goal, current: int = current) -> tuple:
                        activity, target = offers[i]
                        progress = min(target.to_level, goal) - current
                        return (-progress, activity.cost, activity.hours, activity.code)

                    choice[c, current, required, audience_index] = min(usable, key=rank)
    return OfferTable(
        competency_ids=np.asarray(competency_ids, dtype=np.int64),
        choice=choice,
        activity_id=np.asarray([a.id for a, _t in offers], dtype=np.int64),
        cost=np.asarray([a.cost for a, _t in offers], dtype=np.int64),
        from_level=np.asarray([t.from_level for _a, t in offers], dtype=np.int64),
        to_level=np.asarray([t.to_level for _a, t in offers], dtype=np.int64),
    )


@dataclass
class PeopleNeeds:
    """People × competencies, aligned with `OfferTable.competency_ids`."""

    employee_ids: np.ndarray  # (n,)
    unit_ids: np.ndarray  # (n,)
    audience: np.ndarray  # (n,) 0 procurement staff, 1 user areas
    current: np.ndarray  # (n, k) validated level, 0 if never rated
    required: np.ndarray  # (n, k) 0 = no requirement
    essential: np.ndarray  # (n, k) bool


@dataclass
class ProposedNeeds:
    """The result of `propose_needs`: one entry per proposed item, plus counts per person."""

    person: np.ndarray  # row index into PeopleNeeds
    competency: np.ndarray  # column index
    offer: np.ndarray
    gap: np.ndarray
    current: np.ndarray
    score: np.ndarray
    priority: np.ndarray  # 1, 2, 3 within the person
    cost: np.ndarray
    uncovered: np.ndarray  # (n,) needs with no catalogue activity
    over_budget: np.ndarray  # (n,) items left out because the unit's budget was spent

    def __len__(self) -> int:
        return len(self.person)


def propose_needs(
    needs: PeopleNeeds,
    table: OfferTable,
    *,
    max_items: int,
    remaining: dict[int, int | None],
    existing: np.ndarray | None = None,
) -> ProposedNeeds:
    """Return the items to propose (rules 1–5 of the module docstring).

    `remaining` maps unit id → budget left (None or absent: not limited). `existing` holds keys
    employee_id × 2**32 + activity_id of activities already in the people's plans.
    """
    n = len(needs.employee_ids)
    current = needs.current.astype(np.int16)
    required = needs.required.astype(np.int16)
    gap = np.where(required > 0, np.clip(required - current, 0, None), 0)
    rows, cols = np.nonzero(gap)
    g = gap[rows, cols].astype(np.int64)
    essential = needs.essential[rows, cols].astype(bool)
    score = g * np.where(essential, 2, 1)
    cur = current[rows, cols].astype(np.int64)
    req = required[rows, cols].astype(np.int64)
    audience = needs.audience[rows].astype(np.int64)
    offer = table.choice[cols, np.clip(cur, 0, 4), np.clip(req, 0, 4), audience].astype(np.int64)
    missing = offer < 0
    uncovered = np.bincount(rows[missing], minlength=n)
    keep = ~missing
    rows, cols, g, essential, score, cur, offer = (
        a[keep] for a in (rows, cols, g, essential, score, cur, offer)
    )
    # Largest and most important first, within each person.
    order = np.lexsort((cols, ~essential, -score, rows))
    rows, cols, g, score, cur, offer = (a[order] for a in (rows, cols, g, score, cur, offer))
    activity = table.activity_id[offer] if len(offer) else np.zeros(0, dtype=np.int64)
    people = needs.employee_ids[rows].astype(np.int64)
    keys = people * (2**32) + activity
    fresh = np.ones(len(keys), dtype=bool)
    if existing is not None and len(existing):
        fresh &= ~np.isin(keys, existing)
    # The first need of each (person, activity) keeps the activity; others are covered by it.
    _unique, first = np.unique(keys, return_index=True)
    once = np.zeros(len(keys), dtype=bool)
    once[first] = True
    keep = fresh & once
    rows, cols, g, score, cur, offer = (a[keep] for a in (rows, cols, g, score, cur, offer))
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    keep = rank < max_items
    rows, cols, g, score, cur, offer, rank = (
        a[keep] for a in (rows, cols, g, score, cur, offer, rank)
    )
    cost = table.cost[offer] if len(offer) else np.zeros(0, dtype=np.int64)
    # Ties go to the lower employee id, so every backend and run gives the same plans.
    accepted = _fit_budgets(
        needs.unit_ids[rows], rank, score, needs.employee_ids[rows], cost, remaining
    )
    over_budget = np.bincount(rows[~accepted], minlength=n)
    rows, cols, g, score, cur, offer, cost = (
        a[accepted] for a in (rows, cols, g, score, cur, offer, cost)
    )
    priority = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left") + 1
    return ProposedNeeds(
        person=rows,
        competency=cols,
        offer=offer,
        gap=g,
        current=cur,
        score=score,
        priority=priority,
        cost=cost,
        uncovered=uncovered,
        over_budget=over_budget,
    )


def _fit_budgets(
    units: np.ndarray,
    rank: np.ndarray,
    score: np.ndarray,
    people: np.ndarray,
    cost: np.ndarray,
    remaining: dict[int, int | None],
) -> np.ndarray:
    """Return which items fit their unit's remaining budget, shared in rounds (rule 5)."""
    accepted = np.ones(len(units), dtype=bool)
    if not len(units):
        return accepted
    limited = {u: int(v) for u, v in remaining.items() if v is not None}
    if not limited:
        return accepted
    unit_list = np.asarray(sorted(limited), dtype=np.int64)
    in_limited = np.isin(units, unit_list) & (cost > 0)
    if not in_limited.any():
        return accepted
    candidates = np.nonzero(in_limited)[0]
    # Units whose whole demand fits need no rationing.
    unique_units, inverse = np.unique(units[candidates], return_inverse=True)
    totals = np.bincount(inverse, weights=cost[candidates])
    tight = {int(u) for u, t in zip(unique_units, totals, strict=True) if t > limited[int(u)]}
    if not tight:
        return accepted
    candidates = candidates[np.isin(units[candidates], np.asarray(sorted(tight)))]
    order = np.lexsort(
        (people[candidates], -score[candidates], rank[candidates], units[candidates])
    )
    left = {u: max(0, limited[u]) for u in tight}
    for index, unit, price in zip(
        candidates[order].tolist(),
        units[candidates][order].tolist(),
        cost[candidates][order].tolist(),
        strict=True,
    ):
        if price <= left[unit]:
            left[unit] -= price
        else:
            accepted[index] = False
    return accepted


# --- loading what the engine needs ------------------------------------------------------------


def offer_table(session: Session) -> OfferTable:
    """Return the offer table of the current catalogue (read-only arrays).

    One copy per process, database and revision of the catalogue (`training`) and the
    framework (`framework`), shared across requests (backend.revisions.RevisionCache).
    """
    return _OFFER.get(session)


def _read_offer_table(session: Session) -> OfferTable:
    competency_ids = competency_service.framework_snapshot(session).ids
    activities = list(session.exec(select(TrainingActivity)))
    table = build_offer_table(activities, all_targets(session), competency_ids)
    for array in (
        table.competency_ids,
        table.choice,
        table.activity_id,
        table.cost,
        table.from_level,
        table.to_level,
    ):
        array.setflags(write=False)
    return table


_OFFER = revisions.RevisionCache("training", "framework", read=_read_offer_table)


def person_needs(
    session: Session, employee: Employee
) -> tuple[PeopleNeeds, list[competency_service.Competency]]:
    """Return one person's needs (from competency_framework's gap profile)."""
    profile = competency_service.person_gap_profile(session, employee=employee)
    competencies = [r.competency for r in profile.rows]
    role_code = profile.position.role_code if profile.position else ""
    audience = 1 if audience_of(role_code) == Audience.user_areas else 0
    return (
        PeopleNeeds(
            employee_ids=np.asarray([employee.id], dtype=np.int64),
            unit_ids=np.asarray([employee.unit_id], dtype=np.int64),
            audience=np.asarray([audience], dtype=np.int64),
            current=np.asarray([[r.current or 0 for r in profile.rows]], dtype=np.int16),
            required=np.asarray([[r.required for r in profile.rows]], dtype=np.int16),
            essential=np.asarray(
                [[r.importance == competency_service.Importance.essential for r in profile.rows]],
                dtype=bool,
            ),
        ),
        competencies,
    )


@dataclass
class BudgetStatus:
    """A unit's training budget for a year and what its plans take from it."""

    unit_id: int
    year: int
    amount: int | None  # None: no budget set
    committed: int = 0  # approved and completed items
    pending: int = 0  # proposed items

    @property
    def remaining(self) -> int | None:
        return None if self.amount is None else self.amount - self.committed

    @property
    def over(self) -> bool:
        return self.amount is not None and self.committed > self.amount


def budget_status(session: Session, *, unit_id: int, year: int) -> BudgetStatus:
    """Return a unit's budget and the cost of its plans' live items."""
    amount = session.exec(
        select(TrainingBudget.amount).where(
            TrainingBudget.unit_id == unit_id, TrainingBudget.year == year
        )
    ).first()
    rows = session.exec(
        select(TrainingPlanItem.status, func.coalesce(func.sum(TrainingPlanItem.cost), 0))
        .join(TrainingPlan, col(TrainingPlan.id) == TrainingPlanItem.plan_id)
        .where(
            TrainingPlan.unit_id == unit_id,
            TrainingPlan.year == year,
            col(TrainingPlanItem.status).in_(LIVE_ITEM_STATUSES),
        )
        .group_by(TrainingPlanItem.status)
    ).all()
    status = BudgetStatus(unit_id, year, amount)
    for item_status, total in rows:
        if item_status == ItemStatus.proposed:
            status.pending += int(total)
        else:
            status.committed += int(total)
    return status
