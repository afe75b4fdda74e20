"""The induction programme: the Institute's mission, organisation and what is expected of new
staff (the review found no entry training). Assigned automatically to new staff.

An employee is *new* when hired `induction_window_days` (90) ago or less. Assigning adds the
induction activity to their plan as approved (no approval needed) and enrols them in its next
session with a free seat (or its waiting list). It happens when an employee record is created
(event `employee.created`), every night for anyone hired recently who has none yet, and when HR
presses "assign now". Completion is tracked like any activity; HR sees who is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from backend import audit, clock
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Unit
from competency_framework.training.models import (
    EnrolmentStatus,
    ItemOrigin,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.service.catalogue import list_sessions, seats_taken
from competency_framework.training.service.enrolments import enrol_employee
from competency_framework.training.service.plans import ensure_plan
from competency_framework.training.service.rules import (
    Actor,
    TrainingError,
    is_training_hr,
    plan_year,
    rules,
    settings_of,
)


def induction_activity(session: Session) -> TrainingActivity | None:
    """Return the active induction programme of the catalogue (the first, by code)."""
    return session.exec(
        select(TrainingActivity)
        .where(
            col(TrainingActivity.is_induction).is_(True),
            col(TrainingActivity.is_active).is_(True),
        )
        .order_by(col(TrainingActivity.code))
    ).first()


def _has_induction(session: Session, employee_id: int) -> bool:
    return (
        session.exec(
            select(TrainingPlanItem.id).where(
                TrainingPlanItem.employee_id == employee_id,
                TrainingPlanItem.origin == ItemOrigin.induction,
                col(TrainingPlanItem.status).in_(
                    [ItemStatus.approved, ItemStatus.completed, ItemStatus.proposed]
                ),
            )
        ).first()
        is not None
    )


def is_new(employee: Employee, *, today: date, window_days: int) -> bool:
    return employee.hire_date >= today - timedelta(days=window_days) and employee.hire_date <= today


def assign_induction(
    session: Session, *, employee: Employee, actor: Actor | None, today: date | None = None
) -> TrainingPlanItem | None:
    """Give a new employee the induction programme (approved) and a session; None if not needed.

    Not needed: no induction activity in the catalogue, the person left, or they already have it.
    """
    if actor is not None and not is_training_hr(actor):
        raise TrainingError(_("Only HR can assign the induction programme."), status_code=403)
    activity = induction_activity(session)
    if activity is None or employee.status == EmployeeStatus.left:
        return None
    if _has_induction(session, employee.id):
        return None
    today = today or clock.today(settings_of(session))
    plan = ensure_plan(session, employee=employee, year=plan_year(settings_of(session)))
    item = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=employee.id,
        activity_id=activity.id,
        origin=ItemOrigin.induction,
        status=ItemStatus.approved,
        priority=0,
        cost=activity.cost,
        decided_by_id=actor.user.id if actor is not None else None,
        decided_at=clock.now(),
    )
    session.add(item)
    session.flush()
    next_session = _next_session(session, activity)
    enrolment = None
    if next_session is not None:
        enrolment = enrol_employee(
            session, training_session_id=next_session.id, employee=employee, actor=None
        )
    audit.record(
        session,
        action="training.induction_assigned",
        actor=actor.user if actor is not None else "merito",
        entity_type="employee",
        entity_id=employee.id,
        after={
            "activity": activity.code,
            "hire_date": employee.hire_date,
            "session": next_session.id if next_session else None,
            "status": enrolment.status if enrolment else None,
        },
    )
    return item


def _next_session(session: Session, activity: TrainingActivity) -> TrainingSession | None:
    """The earliest open session with a free seat, else the earliest open one (waiting list)."""
    open_sessions = list_sessions(session, activity, upcoming_only=True)
    if not open_sessions:
        return None
    taken = seats_taken(session, [s.id for s in open_sessions])
    for row in open_sessions:
        if row.capacity <= 0 or taken[row.id][0] < row.capacity:
            return row
    return open_sessions[0]


def assign_to_new_staff(session: Session, *, actor: Actor | None, today: date | None = None) -> int:
    """Assign the induction to everyone hired within the window who has none; return how many."""
    today = today or clock.today(settings_of(session))
    window = rules().induction_window_days
    if induction_activity(session) is None:
        return 0
    recent = session.exec(
        select(Employee).where(
            Employee.hire_date >= today - timedelta(days=window),
            Employee.hire_date <= today,
            Employee.status != EmployeeStatus.left,
        )
    ).all()
    assigned = 0
    for employee in recent:
        if assign_induction(session, employee=employee, actor=actor, today=today) is not None:
            assigned += 1
    return assigned


@dataclass
class InductionRow:
    employee: Employee
    unit: str
    status: str  # not_assigned | assigned | enrolled | waitlisted | completed
    completed_at: object
    overdue: bool


def induction_status(
    session: Session, *, today: date | None = None, days: int = 365
) -> list[InductionRow]:
    """Return people hired in the last `days` and where their induction stands, overdue first.

    Overdue: hired more than the window ago and not completed.
    """
    today = today or clock.today(settings_of(session))
    window = rules().induction_window_days
    people = session.exec(
        select(Employee, Unit)
        .join(Unit, col(Unit.id) == Employee.unit_id)
        .where(
            Employee.hire_date >= today - timedelta(days=days),
            Employee.status != EmployeeStatus.left,
        )
        .order_by(col(Employee.hire_date).desc())
    ).all()
    ids = [e.id for e, _u in people] or [0]
    items = {
        i.employee_id: i
        for i in session.exec(
            select(TrainingPlanItem).where(
                col(TrainingPlanItem.employee_id).in_(ids),
                TrainingPlanItem.origin == ItemOrigin.induction,
            )
        )
    }
    seats: dict[int, TrainingEnrolment] = {}
    item_ids = [i.id for i in items.values()] or [0]
    for enrolment in session.exec(
        select(TrainingEnrolment)
        .where(col(TrainingEnrolment.plan_item_id).in_(item_ids))
        .order_by(col(TrainingEnrolment.id))
    ):
        if enrolment.status != EnrolmentStatus.cancelled:
            seats[enrolment.plan_item_id] = enrolment
    rows = []
    for employee, unit in people:
        item = items.get(employee.id)
        enrolment = seats.get(item.id) if item else None
        if item is None:
            status = "not_assigned"
        elif item.status == ItemStatus.completed:
            status = "completed"
        elif enrolment is not None:
            status = enrolment.status
        else:
            status = "assigned"
        done = status == "completed"
        rows.append(
            InductionRow(
                employee=employee,
                unit=unit.name,
                status=status,
                completed_at=item.completed_at if item else None,
                overdue=not done and employee.hire_date < today - timedelta(days=window),
            )
        )
    rows.sort(
        key=lambda r: (not r.overdue, r.status == "completed", -r.employee.hire_date.toordinal())
    )
    return rows
