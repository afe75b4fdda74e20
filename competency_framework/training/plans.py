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

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, exists, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.db import utcnow
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import gaps
from competency_framework import service as competency_service
from competency_framework.models import Competency, Importance
from competency_framework.training import service
from competency_framework.training.models import (
    ACTIVE_ENROLMENT_STATUSES,
    LIVE_ITEM_STATUSES,
    ActivityTarget,
    Audience,
    EnrolmentStatus,
    ItemOrigin,
    ItemStatus,
    PlanStatus,
    TrainingActivity,
    TrainingBudget,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.service import Actor, TrainingError

LEVELS = 5
AUDIENCES = (Audience.procurement_staff, Audience.user_areas)
# Events about training decisions (payloads in docs/training.md).
REQUEST_REFUSED = "training.request_refused"  # supervisor or HR: watched by the HR watch
WITHDRAWN_WITHOUT_REASON = "training.withdrawn_without_reason"  # the employee's own choice


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
    """Return the offer table of the current catalogue."""
    competency_ids = [c.id for c in competency_service.list_competencies(session)]
    activities = list(session.exec(select(TrainingActivity)))
    return build_offer_table(activities, service.all_targets(session), competency_ids)


def person_needs(session: Session, employee: Employee) -> tuple[PeopleNeeds, list[Competency]]:
    """Return one person's needs (from competency_framework's gap profile)."""
    profile = competency_service.person_gap_profile(session, employee=employee)
    competencies = [r.competency for r in profile.rows]
    role_code = profile.position.role_code if profile.position else ""
    audience = 1 if service.audience_of(role_code) == Audience.user_areas else 0
    return (
        PeopleNeeds(
            employee_ids=np.asarray([employee.id], dtype=np.int64),
            unit_ids=np.asarray([employee.unit_id], dtype=np.int64),
            audience=np.asarray([audience], dtype=np.int64),
            current=np.asarray([[r.current or 0 for r in profile.rows]], dtype=np.int16),
            required=np.asarray([[r.required for r in profile.rows]], dtype=np.int16),
            essential=np.asarray(
                [[r.importance == Importance.essential for r in profile.rows]], dtype=bool
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


# --- plans ------------------------------------------------------------------------------------


def get_plan(session: Session, *, employee_id: int, year: int) -> TrainingPlan | None:
    return session.exec(
        select(TrainingPlan).where(
            TrainingPlan.employee_id == employee_id, TrainingPlan.year == year
        )
    ).first()


def ensure_plan(session: Session, *, employee: Employee, year: int) -> TrainingPlan:
    """Return the person's plan for the year, creating an empty one."""
    plan = get_plan(session, employee_id=employee.id, year=year)
    if plan is None:
        plan = TrainingPlan(employee_id=employee.id, year=year, unit_id=employee.unit_id)
        session.add(plan)
        session.flush()
    return plan


def plan_items(session: Session, plan: TrainingPlan) -> list[TrainingPlanItem]:
    """Return a plan's items: live ones by priority, then the rest."""
    items = session.exec(select(TrainingPlanItem).where(TrainingPlanItem.plan_id == plan.id)).all()
    live = {s.value for s in LIVE_ITEM_STATUSES}
    return sorted(items, key=lambda i: (i.status not in live, i.priority or 99, i.id))


def _refresh_status(session: Session, plan: TrainingPlan) -> None:
    """Keep the plan's status in step with its items: approved when nothing waits."""
    waiting = session.exec(
        select(func.count()).where(
            TrainingPlanItem.plan_id == plan.id, TrainingPlanItem.status == ItemStatus.proposed
        )
    ).one()
    if waiting and plan.status == PlanStatus.approved:
        plan.status = PlanStatus.proposed
    elif not waiting and plan.approved_at is not None:
        plan.status = PlanStatus.approved
    session.add(plan)


def _item_snapshot(item: TrainingPlanItem, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "item": item.id,
        "activity": codes.get(item.activity_id or 0, ""),
        "status": item.status,
        "cost": item.cost,
        "origin": item.origin,
    }


def _activity_codes(session: Session) -> dict[int, str]:
    return dict(session.exec(select(TrainingActivity.id, TrainingActivity.code)).all())


@dataclass
class PlanProposal:
    plan: TrainingPlan
    items: list[TrainingPlanItem]
    uncovered: int
    over_budget: int


def _remaining_for(session: Session, *, unit_id: int, year: int) -> int | None:
    status = budget_status(session, unit_id=unit_id, year=year)
    if status.amount is None:
        return None
    return status.amount - status.committed - status.pending


def propose_plan(
    session: Session,
    *,
    employee: Employee,
    actor: Actor | None,
    year: int,
    max_items: int | None = None,
) -> PlanProposal:
    """(Re)propose one person's plan from their gaps; return the new proposals.

    Gap proposals not yet decided are replaced; everything decided stays. The person, their
    supervisor or HR may ask for it (actor None: the system).
    """
    if actor is not None and not service.can_view_plan(actor, employee):
        raise TrainingError(_("You cannot propose a plan for this person."), status_code=403)
    if employee.status == EmployeeStatus.left:
        raise TrainingError(_("This person has left the organisation."), status_code=409)
    max_items = max_items or service.rules().max_proposed_items
    plan = ensure_plan(session, employee=employee, year=year)
    plan.unit_id = employee.unit_id
    session.execute(
        delete(TrainingPlanItem).where(
            col(TrainingPlanItem.plan_id) == plan.id,
            col(TrainingPlanItem.status) == ItemStatus.proposed,
            col(TrainingPlanItem.origin) == ItemOrigin.gap,
        )
    )
    session.flush()
    taken = session.exec(
        select(TrainingPlanItem.activity_id).where(
            TrainingPlanItem.plan_id == plan.id, col(TrainingPlanItem.activity_id).is_not(None)
        )
    ).all()
    existing = np.asarray([employee.id * (2**32) + a for a in taken], dtype=np.int64)
    needs, competencies = person_needs(session, employee)
    table = offer_table(session)
    proposed = propose_needs(
        needs,
        table,
        max_items=max_items,
        remaining={employee.unit_id: _remaining_for(session, unit_id=employee.unit_id, year=year)},
        existing=existing,
    )
    items = []
    for i in range(len(proposed)):
        offer = int(proposed.offer[i])
        item = TrainingPlanItem(
            plan_id=plan.id,
            employee_id=employee.id,
            activity_id=int(table.activity_id[offer]),
            competency_id=competencies[int(proposed.competency[i])].id,
            origin=ItemOrigin.gap,
            status=ItemStatus.proposed,
            priority=int(proposed.priority[i]),
            gap=int(proposed.gap[i]),
            current_level=int(proposed.current[i]),
            target_level=int(table.to_level[offer]),
            cost=int(proposed.cost[i]),
        )
        session.add(item)
        items.append(item)
    plan.proposed_at = utcnow()
    session.flush()
    _refresh_status(session, plan)
    codes = _activity_codes(session)
    audit.record(
        session,
        action="training.plan_proposed",
        actor=actor.user if actor is not None else "merito",
        entity_type="employee",
        entity_id=employee.id,
        after={
            "year": year,
            "items": [_item_snapshot(i, codes) for i in items],
            "uncovered": int(proposed.uncovered[0]),
            "over_budget": int(proposed.over_budget[0]),
        },
    )
    return PlanProposal(plan, items, int(proposed.uncovered[0]), int(proposed.over_budget[0]))


# --- everyone at once -------------------------------------------------------------------------


# What a gap proposal is made of (besides its plan and person); equal values = the same proposal.
_ITEM_FIELDS = [
    "activity_id",
    "competency_id",
    "priority",
    "gap",
    "current_level",
    "target_level",
    "cost",
]


@dataclass
class BulkSummary:
    people: int
    plans_created: int
    items: int
    uncovered: int
    over_budget: int
    written: int = 0  # items inserted by this run (unchanged proposals are left as they are)
    removed: int = 0  # undecided proposals that no longer apply
    seconds: float = 0.0


def _bulk_insert(
    session: Session,
    table: Any,
    columns: list[str],
    values: np.ndarray,
    constants: dict[str, str | datetime],
) -> None:
    """Insert many rows fast: integer `columns` from the rows of `values`, plus `constants`.

    PostgreSQL gets one COPY in text format; SQLite one executemany with the constants written
    into the statement, so each row binds only its integers. The constants are ours (status
    codes, empty strings, a timestamp), never user input.
    """
    if not len(values):
        return
    connection = session.connection()
    raw = connection.connection.driver_connection
    dialect = connection.dialect.name
    names = [*columns, *constants]
    if dialect == "postgresql":
        frame = pd.DataFrame(values, columns=columns)
        for name, value in constants.items():
            frame[name] = value.isoformat() if isinstance(value, datetime) else _copy_text(value)
        # pandas writes the tab-separated text in C, far faster than formatting row by row.
        text_rows = frame.to_csv(sep="\t", header=False, index=False, lineterminator="\n")
        statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(text_rows)
        return
    if dialect == "sqlite":
        literals = ", ".join(
            _sql_literal(_sqlite_time(v) if isinstance(v, datetime) else v)
            for v in constants.values()
        )
        placeholders = ", ".join("?" for _c in columns)
        statement = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 - our names only
            f"VALUES ({placeholders}{', ' if literals else ''}{literals})"
        )
        raw.executemany(statement, values.tolist())
        return
    rows = [{**dict(zip(columns, row, strict=True)), **constants} for row in values.tolist()]
    session.execute(insert(table), rows)


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sqlite_time(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime type writes and reads.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fetch(session: Session, statement: Any) -> list[tuple]:
    """Return a Core select's rows as tuples, straight from the DB-API cursor (no Row objects)."""
    result = session.connection().execute(statement)
    cursor = getattr(result, "cursor", None)
    try:
        rows = cursor.fetchall() if cursor is not None else [tuple(r) for r in result]
    finally:
        result.close()
    return [tuple(r) for r in rows]


def _id_map(session: Session, statement: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (keys, values) of a two-integer-column select, sorted by key."""
    rows = _fetch(session, statement)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pairs = np.asarray(rows, dtype=np.int64)
    order = np.argsort(pairs[:, 0], kind="stable")
    return pairs[order, 0], pairs[order, 1]


def propose_plans(
    session: Session,
    *,
    year: int,
    actor: Actor | None,
    unit_ids: list[int] | None = None,
    only_missing: bool = False,
    max_items: int | None = None,
) -> BulkSummary:
    """Propose plans for everyone with a role profile (or the people of `unit_ids`).

    The same rules as `propose_plan`, computed for all at once from the gap matrices, with
    bulk writes. With `only_missing`, only people without any gap proposal this year are
    proposed for (the nightly job). One audit entry records the run.
    """
    started = time.perf_counter()
    if actor is not None and not service.is_training_hr(actor):
        raise TrainingError(_("Only HR can propose plans for everyone."), status_code=403)
    max_items = max_items or service.rules().max_proposed_items
    org = competency_service.load_org_frames(session)
    if unit_ids is None:
        cells = competency_service.organisation_cells(session, org)
        inputs, matrices = cells.inputs, cells.matrices
    else:
        inputs, _employees = competency_service.gap_inputs(session, org, unit_ids=unit_ids)
        matrices = gaps.person_matrices(inputs)
    people = inputs.employees.reset_index(drop=True)
    plan_table = TrainingPlan.__table__
    item_table = TrainingPlanItem.__table__
    emp_table = Employee.__table__
    plans_of_year = sa_select(plan_table.c.employee_id, plan_table.c.id).where(
        plan_table.c.year == year
    )
    plan_people, plan_numbers = _id_map(session, plans_of_year)
    selected = np.ones(len(people), dtype=bool)
    if only_missing and len(plan_people):
        # "Missing": no gap proposal (in any state) this year yet; a plan holding only the
        # induction or a development action still gets its gap proposals.
        proposed_before = {
            row[0]
            for row in _fetch(
                session,
                sa_select(item_table.c.employee_id)
                .select_from(item_table.join(plan_table, plan_table.c.id == item_table.c.plan_id))
                .where(plan_table.c.year == year, item_table.c.origin == ItemOrigin.gap)
                .distinct(),
            )
        }
        selected = ~people["employee_id"].isin(list(proposed_before)).to_numpy()
    people = people[selected].reset_index(drop=True)
    current = matrices["current"][selected]
    required = matrices["required"][selected]
    essential = matrices["essential"][selected]
    # Every item of the year: the undecided gap proposals of the people in scope are the ones
    # this run replaces; all the others stay, spend budget and are not proposed again.
    year_items = pd.DataFrame(
        _fetch(
            session,
            sa_select(
                item_table.c.id,
                item_table.c.employee_id,
                func.coalesce(item_table.c.activity_id, 0),
                func.coalesce(item_table.c.competency_id, 0),
                item_table.c.priority,
                item_table.c.gap,
                func.coalesce(item_table.c.current_level, -1),
                func.coalesce(item_table.c.target_level, -1),
                item_table.c.cost,
                item_table.c.status,
                item_table.c.origin,
                plan_table.c.unit_id,
            )
            .select_from(item_table.join(plan_table, plan_table.c.id == item_table.c.plan_id))
            .where(plan_table.c.year == year),
        ),
        columns=["id", "employee_id", *_ITEM_FIELDS, "status", "origin", "unit_id"],
    )
    replaceable = np.zeros(len(year_items), dtype=bool)
    if not only_missing and len(year_items):
        replaceable = (
            (year_items["status"] == ItemStatus.proposed) & (year_items["origin"] == ItemOrigin.gap)
        ).to_numpy()
        if unit_ids is not None:
            in_units = {
                row[0]
                for row in _fetch(
                    session, sa_select(emp_table.c.id).where(emp_table.c.unit_id.in_(unit_ids))
                )
            }
            # Not `&=`: pandas 3 hands out read-only views (copy-on-write).
            replaceable = replaceable & year_items["employee_id"].isin(in_units).to_numpy()
    kept = year_items[~replaceable]
    live = kept["status"].isin([s.value for s in LIVE_ITEM_STATUSES])
    reserved = kept[live].groupby("unit_id")["cost"].sum().to_dict()
    with_activity = kept[kept["activity_id"] > 0]
    taken_keys = with_activity["employee_id"].to_numpy(dtype=np.int64) * (2**32) + with_activity[
        "activity_id"
    ].to_numpy(dtype=np.int64)
    amounts = service.budgets(session, year=year)
    remaining = {u: amount - reserved.get(u, 0) for u, amount in amounts.items()}
    audience = np.isin(people["role_code"].to_numpy(), list(service.USER_AREA_ROLES)).astype(
        np.int64
    )
    needs = PeopleNeeds(
        employee_ids=people["employee_id"].to_numpy(dtype=np.int64),
        unit_ids=people["unit_id"].to_numpy(dtype=np.int64),
        audience=audience,
        current=current,
        required=required,
        essential=essential,
    )
    table = offer_table(session)
    proposed = propose_needs(
        needs,
        table,
        max_items=max_items,
        remaining=remaining,
        existing=taken_keys,
    )
    now = utcnow()
    with_items = np.unique(proposed.person)
    employee_ids = needs.employee_ids
    people_with_items = needs.employee_ids[with_items]
    fresh = ~np.isin(people_with_items, plan_people)
    new_plans = np.column_stack(
        [
            people_with_items[fresh],
            np.full(int(fresh.sum()), year, dtype=np.int64),
            needs.unit_ids[with_items][fresh],
        ]
    ).astype(np.int64)
    _bulk_insert(
        session,
        plan_table,
        ["employee_id", "year", "unit_id"],
        new_plans,
        {"status": PlanStatus.proposed.value, "proposed_at": now, "over_budget_reason": ""},
    )
    if len(new_plans):
        plan_people, plan_numbers = _id_map(session, plans_of_year)
    item_people = employee_ids[proposed.person].astype(np.int64)
    item_plans = plan_numbers[np.searchsorted(plan_people, item_people)]
    fresh_items = pd.DataFrame(
        {
            "plan_id": item_plans,
            "employee_id": item_people,
            "activity_id": table.activity_id[proposed.offer],
            "competency_id": table.competency_ids[proposed.competency],
            "priority": proposed.priority,
            "gap": proposed.gap,
            "current_level": proposed.current,
            "target_level": table.to_level[proposed.offer],
            "cost": proposed.cost,
        }
    ).astype(np.int64)
    # Only what changed is written: a re-run over unchanged gaps writes nothing.
    old = year_items[replaceable][["id", "employee_id", *_ITEM_FIELDS]]
    matched = fresh_items.merge(old, on=["employee_id", *_ITEM_FIELDS], how="outer", indicator=True)
    stale_ids = matched.loc[matched["_merge"] == "right_only", "id"].astype(np.int64)
    added = matched[matched["_merge"] == "left_only"]
    for chunk in range(0, len(stale_ids), 10_000):
        session.execute(
            delete(item_table).where(
                item_table.c.id.in_(stale_ids.iloc[chunk : chunk + 10_000].tolist())
            )
        )
    _bulk_insert(
        session,
        item_table,
        ["plan_id", "employee_id", *_ITEM_FIELDS],
        added[["plan_id", "employee_id", *_ITEM_FIELDS]].to_numpy(dtype=np.int64),
        {
            "origin": ItemOrigin.gap.value,
            "status": ItemStatus.proposed.value,
            "description": "",
            "decision_reason": "",
            "created_at": now,
        },
    )
    # Plans with something waiting are no longer "approved"; they spend their person's
    # current unit's budget.
    waiting = exists().where(
        item_table.c.plan_id == plan_table.c.id, item_table.c.status == ItemStatus.proposed
    )
    scope = plan_table.c.year == year
    session.execute(
        update(plan_table)
        .where(scope, plan_table.c.status == PlanStatus.approved, waiting)
        .values(status=PlanStatus.proposed)
    )
    unit_now = (
        sa_select(emp_table.c.unit_id)
        .where(emp_table.c.id == plan_table.c.employee_id)
        .scalar_subquery()
    )
    # Only plans of people who moved are rewritten.
    session.execute(
        update(plan_table).where(scope, plan_table.c.unit_id != unit_now).values(unit_id=unit_now)
    )
    summary = BulkSummary(
        people=len(people),
        plans_created=len(new_plans),
        items=len(fresh_items),
        written=len(added),
        removed=len(stale_ids),
        uncovered=int(proposed.uncovered.sum()),
        over_budget=int(proposed.over_budget.sum()),
    )
    audit.record(
        session,
        action="training.plans_proposed",
        actor=actor.user if actor is not None else "merito",
        entity_type="training_plans",
        entity_id=str(year),
        after={
            "year": year,
            "units": unit_ids,
            "only_missing": only_missing,
            "people": summary.people,
            "plans_created": summary.plans_created,
            "items": summary.items,
            "written": summary.written,
            "removed": summary.removed,
            "uncovered": summary.uncovered,
            "over_budget": summary.over_budget,
        },
    )
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


# --- reading a plan ---------------------------------------------------------------------------


@dataclass
class PlanLine:
    item: TrainingPlanItem
    activity: TrainingActivity | None
    competency: Competency | None
    enrolment: TrainingEnrolment | None = None
    enrolment_session: TrainingSession | None = None
    sessions: list[TrainingSession] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.item.status in {s.value for s in LIVE_ITEM_STATUSES}


@dataclass
class UncoveredNeed:
    competency: Competency
    current: int
    required: int
    gap: int
    essential: bool


@dataclass
class PlanView:
    employee: Employee
    year: int
    plan: TrainingPlan | None
    lines: list[PlanLine]
    budget: BudgetStatus
    pending_cost: int
    approved_cost: int
    uncovered: list[UncoveredNeed]

    @property
    def waiting(self) -> list[PlanLine]:
        return [line for line in self.lines if line.item.status == ItemStatus.proposed]

    @property
    def over_budget(self) -> bool:
        """True if approving what waits would take the unit over its budget."""
        return (
            self.budget.amount is not None
            and self.budget.committed + self.pending_cost > self.budget.amount
        )


def plan_view(session: Session, *, employee: Employee, year: int) -> PlanView:
    """Return a person's plan for the year with activities, enrolments and budget."""
    plan = get_plan(session, employee_id=employee.id, year=year)
    competencies = {c.id: c for c in competency_service.list_competencies(session)}
    lines: list[PlanLine] = []
    if plan is not None:
        items = plan_items(session, plan)
        activity_ids = {i.activity_id for i in items if i.activity_id}
        activities = (
            {
                a.id: a
                for a in session.exec(
                    select(TrainingActivity).where(col(TrainingActivity.id).in_(activity_ids))
                )
            }
            if activity_ids
            else {}
        )
        enrolments: dict[int, TrainingEnrolment] = {}
        for enrolment in session.exec(
            select(TrainingEnrolment)
            .where(col(TrainingEnrolment.plan_item_id).in_([i.id for i in items] or [0]))
            .order_by(col(TrainingEnrolment.id))
        ):
            previous = enrolments.get(enrolment.plan_item_id)
            # The live or finished enrolment wins over cancelled ones.
            if previous is None or enrolment.status != EnrolmentStatus.cancelled:
                enrolments[enrolment.plan_item_id] = enrolment
        upcoming: dict[int, list[TrainingSession]] = {}
        if activity_ids:
            for row in session.exec(
                select(TrainingSession)
                .where(
                    col(TrainingSession.activity_id).in_(activity_ids),
                    TrainingSession.ends_at >= utcnow(),
                    col(TrainingSession.is_cancelled).is_(False),
                )
                .order_by(col(TrainingSession.starts_at))
            ):
                upcoming.setdefault(row.activity_id, []).append(row)
        for item in items:
            enrolment = enrolments.get(item.id)
            lines.append(
                PlanLine(
                    item=item,
                    activity=activities.get(item.activity_id) if item.activity_id else None,
                    competency=competencies.get(item.competency_id) if item.competency_id else None,
                    enrolment=enrolment,
                    enrolment_session=session.get(TrainingSession, enrolment.session_id)
                    if enrolment
                    else None,
                    sessions=upcoming.get(item.activity_id or 0, []),
                )
            )
    unit_id = plan.unit_id if plan is not None else employee.unit_id
    budget = budget_status(session, unit_id=unit_id, year=year)
    pending = sum(line.item.cost for line in lines if line.item.status == ItemStatus.proposed)
    approved = sum(
        line.item.cost
        for line in lines
        if line.item.status in (ItemStatus.approved, ItemStatus.completed)
    )
    return PlanView(
        employee=employee,
        year=year,
        plan=plan,
        lines=lines,
        budget=budget,
        pending_cost=pending,
        approved_cost=approved,
        uncovered=uncovered_needs(session, employee=employee),
    )


def uncovered_needs(session: Session, *, employee: Employee) -> list[UncoveredNeed]:
    """Return the person's gaps that no catalogue activity develops (a mentor may help)."""
    needs, competencies = person_needs(session, employee)
    table = offer_table(session)
    found = []
    for c, competency in enumerate(competencies):
        required = int(needs.required[0, c])
        current = int(needs.current[0, c])
        if required <= current:
            continue
        if table.activity_for(c, current, required, int(needs.audience[0])) < 0:
            found.append(
                UncoveredNeed(
                    competency, current, required, required - current, bool(needs.essential[0, c])
                )
            )
    return sorted(found, key=lambda u: (-u.gap * (2 if u.essential else 1), u.competency.order))


# --- adjusting and approving ------------------------------------------------------------------


def _origin_for(actor: Actor, employee: Employee) -> ItemOrigin:
    if service.is_self(actor, employee):
        return ItemOrigin.employee
    if service.is_supervisor_of(actor, employee):
        return ItemOrigin.supervisor
    return ItemOrigin.hr


def add_item(
    session: Session, *, employee: Employee, activity: TrainingActivity, actor: Actor, year: int
) -> TrainingPlanItem:
    """Add a catalogue activity to a plan (awaiting approval); the person, supervisor or HR."""
    if not service.can_view_plan(actor, employee):
        raise TrainingError(_("You cannot change this person's plan."), status_code=403)
    if not activity.is_active:
        raise TrainingError(_("This activity is no longer offered."), field="activity")
    if activity.is_induction:
        raise TrainingError(
            _("The induction programme is assigned to new staff automatically."), field="activity"
        )
    plan = ensure_plan(session, employee=employee, year=year)
    already = session.exec(
        select(TrainingPlanItem).where(
            TrainingPlanItem.plan_id == plan.id,
            TrainingPlanItem.activity_id == activity.id,
            col(TrainingPlanItem.status).in_(LIVE_ITEM_STATUSES),
        )
    ).first()
    if already is not None:
        raise TrainingError(_("This activity is already in the plan."), field="activity")
    # Link it to the first of the person's gaps it develops, if any.
    profile = competency_service.person_gap_profile(session, employee=employee)
    targets = {t.competency_id: t for t in service.activity_targets(session, activity)}
    gap_row = next((r for r in profile.rows if r.gap > 0 and r.competency.id in targets), None)
    priority = (
        session.exec(
            select(func.coalesce(func.max(TrainingPlanItem.priority), 0)).where(
                TrainingPlanItem.plan_id == plan.id
            )
        ).one()
        + 1
    )
    item = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=employee.id,
        activity_id=activity.id,
        competency_id=gap_row.competency.id if gap_row else None,
        origin=_origin_for(actor, employee),
        status=ItemStatus.proposed,
        priority=priority,
        gap=gap_row.gap if gap_row else 0,
        current_level=gap_row.current if gap_row else None,
        target_level=targets[gap_row.competency.id].to_level if gap_row else None,
        cost=activity.cost,
    )
    session.add(item)
    session.flush()
    _refresh_status(session, plan)
    audit.record(
        session,
        action="training.item_added",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after=_item_snapshot(item, {activity.id: activity.code}),
    )
    return item


def submit_plan(session: Session, *, employee: Employee, actor: Actor, year: int) -> TrainingPlan:
    """The employee agrees with the proposals and sends them to the supervisor."""
    if not service.is_self(actor, employee):
        raise TrainingError(_("Only the employee can send their own plan."), status_code=403)
    plan = get_plan(session, employee_id=employee.id, year=year)
    if plan is None or not any(i.status == ItemStatus.proposed for i in plan_items(session, plan)):
        raise TrainingError(_("Nothing in your plan is waiting for approval."), status_code=409)
    plan.status = PlanStatus.submitted
    plan.submitted_at = utcnow()
    session.add(plan)
    audit.record(
        session,
        action="training.plan_submitted",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={"year": year},
    )
    return plan


def approve_plan(
    session: Session, *, employee: Employee, actor: Actor, year: int, reason: str = ""
) -> list[TrainingPlanItem]:
    """Approve every proposed item of the plan (supervisor or HR); return them.

    If that takes the unit over its training budget, a reason is needed; it is kept with the
    plan and in the audit log.
    """
    if not service.can_approve(actor, employee):
        raise TrainingError(
            _("Only the employee's own supervisor or HR can approve this plan."), status_code=403
        )
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise TrainingError(_("Keep the reason under 1,000 characters."), field="reason")
    view = plan_view(session, employee=employee, year=year)
    if view.plan is None or not view.waiting:
        raise TrainingError(_("Nothing in this plan is waiting for approval."), status_code=409)
    if view.over_budget and not reason:
        raise TrainingError(
            _(
                "Approving this plan takes the unit over its training budget "
                "(%(committed)s of %(amount)s committed, this plan adds %(adds)s). "
                "Give a reason to approve it anyway.",
                committed=f"${view.budget.committed:,}",
                amount=f"${view.budget.amount:,}",
                adds=f"${view.pending_cost:,}",
            ),
            field="reason",
        )
    now = utcnow()
    approved = []
    for line in view.waiting:
        line.item.status = ItemStatus.approved
        line.item.decided_by_id = actor.user.id
        line.item.decided_at = now
        session.add(line.item)
        approved.append(line.item)
    plan = view.plan
    plan.status = PlanStatus.approved
    plan.approved_at = now
    plan.approved_by_id = actor.user.id
    plan.unit_id = employee.unit_id
    if view.over_budget:
        plan.over_budget_reason = reason
    session.add(plan)
    session.flush()
    codes = _activity_codes(session)
    audit.record(
        session,
        action="training.plan_approved",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={
            "year": year,
            "items": [_item_snapshot(i, codes) for i in approved],
            "over_budget": view.over_budget,
            "reason": reason,
            "budget": view.budget.amount,
            "committed_before": view.budget.committed,
        },
    )
    return approved


def _cancel_item_enrolments(session: Session, item: TrainingPlanItem, actor: Actor, reason: str):
    from competency_framework.training import enrolments

    for enrolment in session.exec(
        select(TrainingEnrolment).where(
            TrainingEnrolment.plan_item_id == item.id,
            col(TrainingEnrolment.status).in_(ACTIVE_ENROLMENT_STATUSES),
        )
    ):
        # The decision about the item is announced once, by the caller, not per seat.
        enrolments.cancel(
            session, enrolment=enrolment, actor=actor, reason=reason, checked=True, announce=False
        )


def _refusal_payload(
    item: TrainingPlanItem,
    *,
    employee: Employee,
    activity: TrainingActivity | None,
    previous_status: str,
    actor: Actor,
    by: str,
    reason: str,
) -> dict[str, Any]:
    return {
        "employee_id": employee.id,
        "plan_item_id": item.id,
        "activity_code": activity.code if activity else None,
        "previous_status": previous_status,
        "origin": item.origin,
        "by": by,
        "refused_by_user_id": actor.user.id,
        "has_reason": bool(reason),
        "reason": reason,
    }


def remove_item(
    session: Session, *, item: TrainingPlanItem, actor: Actor, reason: str = ""
) -> TrainingPlanItem:
    """The employee takes an item out: a proposal is removed, an approved one withdrawn."""
    employee = session.get(Employee, item.employee_id)
    if employee is None or not service.is_self(actor, employee):
        raise TrainingError(
            _("Only the employee can remove items from their plan."), status_code=403
        )
    if item.status not in (ItemStatus.proposed, ItemStatus.approved):
        raise TrainingError(_("This item can no longer be changed."), status_code=409)
    before = item.status
    item.status = ItemStatus.removed if before == ItemStatus.proposed else ItemStatus.withdrawn
    item.decided_by_id, item.decided_at = actor.user.id, utcnow()
    item.decision_reason = (reason or "").strip()[:1000]
    session.add(item)
    if before == ItemStatus.approved:
        _cancel_item_enrolments(session, item, actor, item.decision_reason)
    plan = session.get(TrainingPlan, item.plan_id)
    session.flush()
    _refresh_status(session, plan)
    audit.record(
        session,
        action="training.item_removed",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        before={"status": before},
        after=_item_snapshot(item, _activity_codes(session)),
    )
    if before == ItemStatus.approved and not item.decision_reason:
        # Giving up an approved training without a reason is an HR event (as declining one
        # is), but the person's own choice: not an adverse decision the HR watch looks at.
        activity = session.get(TrainingActivity, item.activity_id) if item.activity_id else None
        publish(
            session,
            DomainEvent(
                WITHDRAWN_WITHOUT_REASON,
                _refusal_payload(
                    item,
                    employee=employee,
                    activity=activity,
                    previous_status=before,
                    actor=actor,
                    by="employee",
                    reason="",
                ),
                subject_employee_id=employee.id,
            ),
        )
    return item


def decline_item(
    session: Session, *, item: TrainingPlanItem, actor: Actor, reason: str = ""
) -> TrainingPlanItem:
    """The supervisor or HR declines an item, before or after approval.

    Declining an approved training, one the employee asked for (their own request or an
    appraisal development action), or a proposal in a plan the employee sent for approval
    publishes `training.request_refused`, with or without a reason (`has_reason` says which; a
    refusal without one is the HR event docs/training.md describes). The reporting channel's
    HR watch looks at every such refusal: a retaliating supervisor would give a reason.
    """
    employee = session.get(Employee, item.employee_id)
    if employee is None or not service.can_approve(actor, employee):
        raise TrainingError(
            _("Only the employee's own supervisor or HR can decline training."), status_code=403
        )
    if item.status not in (ItemStatus.proposed, ItemStatus.approved):
        raise TrainingError(_("This item can no longer be changed."), status_code=409)
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise TrainingError(_("Keep the reason under 1,000 characters."), field="reason")
    before = item.status
    plan = session.get(TrainingPlan, item.plan_id)
    # The employee asked for it: their own request, a development action agreed with them, or
    # a proposal in the plan they sent for approval (read before the plan's status moves on).
    requested = (
        item.origin in (ItemOrigin.employee, ItemOrigin.development_action)
        or plan.status == PlanStatus.submitted
    )
    item.status = ItemStatus.declined
    item.decided_by_id, item.decided_at = actor.user.id, utcnow()
    item.decision_reason = reason
    session.add(item)
    if before == ItemStatus.approved:
        _cancel_item_enrolments(session, item, actor, reason)
    session.flush()
    _refresh_status(session, plan)
    activity = session.get(TrainingActivity, item.activity_id) if item.activity_id else None
    audit.record(
        session,
        action="training.item_declined",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        before={"status": before},
        after={**_item_snapshot(item, _activity_codes(session)), "reason": reason},
    )
    if before == ItemStatus.approved or requested:
        publish(
            session,
            DomainEvent(
                REQUEST_REFUSED,
                _refusal_payload(
                    item,
                    employee=employee,
                    activity=activity,
                    previous_status=before,
                    actor=actor,
                    by="supervisor" if service.is_supervisor_of(actor, employee) else "hr",
                    reason=reason,
                ),
                subject_employee_id=employee.id,
            ),
        )
    return item


@dataclass(frozen=True)
class TrainingRefusal:
    """A training taken from an employee by someone else: a declined plan item, or a place in a
    session cancelled by their supervisor or HR."""

    kind: str  # "declined" or "enrolment_cancelled"
    on: datetime
    activity_code: str
    activity_title: str
    plan_item_id: int | None
    enrolment_id: int | None
    origin: str
    by_user_id: int | None
    reason: str


def refusals_of(session: Session, *, employee_id: int, since: datetime) -> list[TrainingRefusal]:
    """Return the trainings refused or cancelled for the employee at or after `since`, oldest
    first: every plan item the supervisor or HR declined, and every place in a session they
    cancelled — not the person's own cancellations, not a session cancelled for everyone, and
    not the place cancelled along with a declined item (the refusal is listed). Read only (for
    the reporting channel's burden-of-proof pack)."""
    own_users = set(session.exec(select(User.id).where(User.employee_id == employee_id)).all())
    found = []
    declined = session.exec(
        select(TrainingPlanItem, TrainingActivity)
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingPlanItem.activity_id)
        .where(
            TrainingPlanItem.employee_id == employee_id,
            TrainingPlanItem.status == ItemStatus.declined,
            col(TrainingPlanItem.decided_at) >= since,
        )
    ).all()
    decided_by = {}
    for item, activity in declined:
        decided_by[item.id] = item.decided_by_id
        found.append(
            TrainingRefusal(
                "declined",
                item.decided_at,
                activity.code,
                activity.title_en,
                item.id,
                None,
                str(item.origin),
                item.decided_by_id,
                item.decision_reason,
            )
        )
    cancelled = session.exec(
        select(TrainingEnrolment, TrainingActivity)
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingEnrolment.activity_id)
        .join(TrainingSession, col(TrainingSession.id) == TrainingEnrolment.session_id)
        .where(
            TrainingEnrolment.employee_id == employee_id,
            TrainingEnrolment.status == EnrolmentStatus.cancelled,
            col(TrainingEnrolment.cancelled_at) >= since,
            col(TrainingSession.is_cancelled).is_(False),
        )
    ).all()
    for enrolment, activity in cancelled:
        by = enrolment.cancelled_by_id
        if by is None or by in own_users:
            continue
        if enrolment.plan_item_id in decided_by and decided_by[enrolment.plan_item_id] == by:
            continue
        found.append(
            TrainingRefusal(
                "enrolment_cancelled",
                enrolment.cancelled_at,
                activity.code,
                activity.title_en,
                enrolment.plan_item_id,
                enrolment.id,
                "",
                by,
                enrolment.cancel_reason,
            )
        )
    return sorted(found, key=lambda r: (r.on, r.kind))


# --- appraisal development actions ------------------------------------------------------------


def add_development_action(
    session: Session,
    *,
    employee_id: int,
    action_id: Any,
    appraisal_id: Any = None,
    competency_code: str | None = None,
    description: str = "",
    year: int | None = None,
) -> TrainingPlanItem | None:
    """Turn an agreed appraisal development action into a proposed plan item.

    The activity is the one the proposal rule picks for the competency at the person's level;
    without a competency or a matching activity the item is the described action itself.
    Idempotent: the same action is added once. Returns the item (None if the person is unknown).
    """
    employee = session.get(Employee, employee_id)
    if employee is None:
        return None
    if action_id is not None:
        found = session.exec(
            select(TrainingPlanItem).where(
                TrainingPlanItem.employee_id == employee.id,
                TrainingPlanItem.development_action_id == int(action_id),
            )
        ).first()
        if found is not None:
            return found
    year = year or service.plan_year()
    plan = ensure_plan(session, employee=employee, year=year)
    competency = (
        competency_service.get_competency(session, competency_code) if competency_code else None
    )
    activity_id = current = target = None
    gap = 0
    cost = 0
    if competency is not None:
        needs, competencies = person_needs(session, employee)
        c = next(i for i, comp in enumerate(competencies) if comp.id == competency.id)
        current = int(needs.current[0, c])
        required = int(needs.required[0, c])
        gap = max(0, required - current)
        table = offer_table(session)
        offer = table.activity_for(c, current, max(required, current + 1), int(needs.audience[0]))
        taken = set(
            session.exec(
                select(TrainingPlanItem.activity_id).where(
                    TrainingPlanItem.plan_id == plan.id,
                    col(TrainingPlanItem.status).in_(LIVE_ITEM_STATUSES),
                )
            ).all()
        )
        if offer >= 0 and int(table.activity_id[offer]) not in taken:
            activity_id = int(table.activity_id[offer])
            target = int(table.to_level[offer])
            cost = int(table.cost[offer])
    priority = (
        session.exec(
            select(func.coalesce(func.max(TrainingPlanItem.priority), 0)).where(
                TrainingPlanItem.plan_id == plan.id
            )
        ).one()
        + 1
    )
    item = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=employee.id,
        activity_id=activity_id,
        competency_id=competency.id if competency else None,
        origin=ItemOrigin.development_action,
        status=ItemStatus.proposed,
        priority=priority,
        gap=gap,
        current_level=current,
        target_level=target,
        cost=cost,
        description=(description or "").strip()[:1000],
        appraisal_id=int(appraisal_id) if appraisal_id is not None else None,
        development_action_id=int(action_id) if action_id is not None else None,
    )
    session.add(item)
    session.flush()
    _refresh_status(session, plan)
    audit.record(
        session,
        action="training.development_action_added",
        actor="appraisals",
        entity_type="employee",
        entity_id=employee.id,
        after={
            **_item_snapshot(item, _activity_codes(session)),
            "appraisal_id": item.appraisal_id,
            "action_id": item.development_action_id,
            "competency": competency.code if competency else None,
        },
    )
    return item


def complete_described_action(
    session: Session, *, item: TrainingPlanItem, actor: Actor, note: str = ""
) -> TrainingPlanItem:
    """Mark an approved development action without a catalogue activity as done (supervisor/HR)."""
    employee = session.get(Employee, item.employee_id)
    if employee is None or not service.can_approve(actor, employee):
        raise TrainingError(
            _("Only the employee's own supervisor or HR can record this."), status_code=403
        )
    if item.activity_id is not None:
        raise TrainingError(_("Record completion through the activity's session."), status_code=409)
    if item.status != ItemStatus.approved:
        raise TrainingError(_("Only an approved action can be marked as done."), status_code=409)
    item.status = ItemStatus.completed
    item.completed_at = utcnow()
    item.decision_reason = (note or "").strip()[:1000]
    session.add(item)
    session.flush()
    audit.record(
        session,
        action="training.action_completed",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={"item": item.id, "note": item.decision_reason},
    )
    return item


# --- supervisors --------------------------------------------------------------------------------


@dataclass
class TeamPlan:
    employee: Employee
    position: str
    plan: TrainingPlan | None
    waiting: int
    approved: int
    completed: int
    pending_cost: int


def team_plans(session: Session, *, actor: Actor, year: int) -> list[TeamPlan]:
    """Return each direct report's plan for the year, those waiting for approval first."""
    own = actor.user.employee_id
    if own is None:
        return []
    reports = session.exec(
        select(Employee, Position)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .where(Employee.supervisor_id == own, Employee.status != EmployeeStatus.left)
    ).all()
    return plans_for_people(session, reports, year)


def plans_for_people(session: Session, people: list, year: int) -> list[TeamPlan]:
    ids = [e.id for e, _p in people]
    plans = {
        p.employee_id: p
        for p in session.exec(
            select(TrainingPlan).where(
                col(TrainingPlan.employee_id).in_(ids or [0]), TrainingPlan.year == year
            )
        )
    }
    counts: dict[int, dict[str, list[int]]] = {}
    if plans:
        for employee_id, status, number, cost in session.exec(
            select(
                TrainingPlanItem.employee_id,
                TrainingPlanItem.status,
                func.count(),
                func.coalesce(func.sum(TrainingPlanItem.cost), 0),
            )
            .where(col(TrainingPlanItem.plan_id).in_([p.id for p in plans.values()]))
            .group_by(TrainingPlanItem.employee_id, TrainingPlanItem.status)
        ):
            counts.setdefault(employee_id, {})[status] = [int(number), int(cost)]
    result = []
    for employee, position in people:
        c = counts.get(employee.id, {})
        result.append(
            TeamPlan(
                employee=employee,
                position=position.title if position else "",
                plan=plans.get(employee.id),
                waiting=c.get(ItemStatus.proposed, [0, 0])[0],
                approved=c.get(ItemStatus.approved, [0, 0])[0],
                completed=c.get(ItemStatus.completed, [0, 0])[0],
                pending_cost=c.get(ItemStatus.proposed, [0, 0])[1],
            )
        )
    result.sort(key=lambda t: (t.waiting == 0, t.employee.last_name, t.employee.first_name))
    return result


def unit_name(session: Session, unit_id: int) -> str:
    unit = session.get(Unit, unit_id)
    return unit.name if unit else ""
