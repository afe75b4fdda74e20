"""What the dashboard's training panels read: a summary of a plan, the next sessions, the plans
waiting for a supervisor.

The start page shows these on every visit, so each is one statement built once at import and read
as plain rows, with only the columns the panel shows: an ORM query costs more Python than the
database's own work. The training pages read the same data as models (`plan_view`,
`enrolments`); tests/training/test_panel_reads.py holds the two paths to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend import clock
from backend.org.models import Employee, EmployeeStatus, person_name
from competency_framework.training.models import (
    ACTIVE_ENROLMENT_STATUSES,
    ExternalLearner,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)

_plan, _item = TrainingPlan.__table__.c, TrainingPlanItem.__table__.c
_enrolment, _session = TrainingEnrolment.__table__.c, TrainingSession.__table__.c
_activity, _employee = TrainingActivity.__table__.c, Employee.__table__.c
_learner = ExternalLearner.__table__.c

# A person's plan of the year with its items counted by status: a row per status (one with a
# NULL status for a plan without items), none without a plan.
_PLAN_COUNTS = (
    sa_select(_plan.status, _item.status.label("item_status"), func.count(_item.id).label("items"))
    .select_from(
        TrainingPlan.__table__.outerjoin(TrainingPlanItem.__table__, _item.plan_id == _plan.id)
    )
    .where(_plan.employee_id == bindparam("employee_id"), _plan.year == bindparam("year"))
    .group_by(_plan.status, _item.status)
)

# A learner's seats (or places on a waiting list) in sessions not over yet, soonest first.
_UPCOMING = (
    sa_select(
        _enrolment.status,
        _session.starts_at,
        _session.place,
        _activity.title_es,
        _activity.title_en,
    )
    .select_from(
        TrainingEnrolment.__table__.join(
            TrainingSession.__table__, _session.id == _enrolment.session_id
        ).join(TrainingActivity.__table__, _activity.id == _enrolment.activity_id)
    )
    .where(
        _enrolment.status.in_(ACTIVE_ENROLMENT_STATUSES),
        _session.ends_at >= bindparam("now"),
    )
    .order_by(_session.starts_at, _enrolment.id)
    .limit(bindparam("limit"))
)
_UPCOMING_OF_EMPLOYEE = _UPCOMING.where(_enrolment.employee_id == bindparam("employee_id"))
_UPCOMING_OF_LEARNER = _UPCOMING.where(_enrolment.learner_id == bindparam("learner_id"))

_LEARNER_OF_USER = sa_select(_learner.id, _learner.organisation).where(
    _learner.user_id == bindparam("user_id")
)

# Direct reports (who have not left) whose plan of the year has items awaiting approval.
_WAITING_PLANS = (
    sa_select(
        _employee.id,
        _employee.first_name,
        _employee.last_name,
        func.count().label("waiting"),
        func.sum(_item.cost).label("pending_cost"),
    )
    .select_from(
        Employee.__table__.join(TrainingPlan.__table__, _plan.employee_id == _employee.id).join(
            TrainingPlanItem.__table__, _item.plan_id == _plan.id
        )
    )
    .where(
        _employee.supervisor_id == bindparam("supervisor_id"),
        _employee.status != EmployeeStatus.left,
        _plan.year == bindparam("year"),
        _item.status == ItemStatus.proposed,
    )
    .group_by(_employee.id, _employee.first_name, _employee.last_name)
)


@dataclass(frozen=True)
class PlanSummary:
    """A plan's status and how many of its items are approved, waiting and completed."""

    status: str
    approved: int
    waiting: int
    completed: int


def plan_summary(session: Session, *, employee_id: int, year: int) -> PlanSummary | None:
    """Return the person's plan of the year in figures (None without a plan), as
    `plans_for_people` counts it."""
    rows = session.execute(_PLAN_COUNTS, {"employee_id": employee_id, "year": year}).all()
    if not rows:
        return None
    items = {row.item_status: row.items for row in rows}
    return PlanSummary(
        status=rows[0].status,
        approved=items.get(ItemStatus.approved, 0),
        waiting=items.get(ItemStatus.proposed, 0),
        completed=items.get(ItemStatus.completed, 0),
    )


def upcoming_sessions(
    session: Session, *, employee_id: int | None = None, learner_id: int | None = None, limit: int
) -> list[Row]:
    """Return the first `limit` sessions not over yet that the employee (or the supplier's
    learner) holds a seat or a waiting-list place in, soonest first: rows of the enrolment's
    `status`, the session's `starts_at` and `place` and the activity's `title_es`/`title_en`."""
    if employee_id is not None:
        statement, who = _UPCOMING_OF_EMPLOYEE, {"employee_id": employee_id}
    elif learner_id is not None:
        statement, who = _UPCOMING_OF_LEARNER, {"learner_id": learner_id}
    else:
        return []
    return list(session.execute(statement, {**who, "now": clock.now(), "limit": limit}))


def learner_of_user(session: Session, *, user_id: int) -> Row | None:
    """Return the `id` and `organisation` of the account's supplier learner, if it is one."""
    return session.execute(_LEARNER_OF_USER, {"user_id": user_id}).first()


@dataclass(frozen=True)
class WaitingPlan:
    """A direct report's plan with items awaiting the supervisor's approval."""

    employee_id: int
    full_name: str
    waiting: int  # items
    pending_cost: int


def waiting_plans(session: Session, *, supervisor_id: int, year: int) -> list[WaitingPlan]:
    """Return the reports' plans of the year that wait for approval, by name: those of
    `team_plans` with `waiting`."""
    rows = session.execute(_WAITING_PLANS, {"supervisor_id": supervisor_id, "year": year})
    # Sorted here, as team_plans sorts, by code point: a database's collation may order
    # accented names otherwise.
    return [
        WaitingPlan(
            row.id, person_name(row.first_name, row.last_name), row.waiting, row.pending_cost
        )
        for row in sorted(rows, key=lambda r: (r.last_name, r.first_name))
    ]
