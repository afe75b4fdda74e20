"""Individual training plans: reading and creating them, the proposal for one person and for
everyone at once (the rule is in `proposals.py`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, exists, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus
from competency_framework import service as competency_service
from competency_framework.training.models import (
    LIVE_ITEM_STATUSES,
    ItemOrigin,
    ItemStatus,
    PlanStatus,
    TrainingActivity,
    TrainingPlan,
    TrainingPlanItem,
)
from competency_framework.training.service.catalogue import budgets
from competency_framework.training.service.proposals import (
    PeopleNeeds,
    budget_status,
    offer_table,
    person_needs,
    propose_needs,
)
from competency_framework.training.service.rules import (
    USER_AREA_ROLES,
    Actor,
    TrainingError,
    is_training_hr,
    require_step,
    rules,
)

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
    if actor is not None:
        require_step(actor, employee, "propose")
    if employee.status == EmployeeStatus.left:
        raise TrainingError(_("This person has left the organisation."), status_code=409)
    max_items = max_items or rules().max_proposed_items
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
    plan.proposed_at = clock.now()
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
    if actor is not None and not is_training_hr(actor):
        raise TrainingError(_("Only HR can propose plans for everyone."), status_code=403)
    max_items = max_items or rules().max_proposed_items
    org = competency_service.load_org_frames(session)
    if unit_ids is None:
        cells = competency_service.organisation_cells(session, org)
        inputs, matrices = cells.inputs, cells.matrices
    else:
        inputs, _employees = competency_service.gap_inputs(session, org, unit_ids=unit_ids)
        matrices = competency_service.person_matrices(inputs)
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
    amounts = budgets(session, year=year)
    remaining = {u: amount - reserved.get(u, 0) for u, amount in amounts.items()}
    audience = np.isin(people["role_code"].to_numpy(), list(USER_AREA_ROLES)).astype(np.int64)
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
    now = clock.now()
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
