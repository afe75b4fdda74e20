"""What the training pages ask for beyond one record: HR's hub figures and budget table, the
team search, scheduling a session from a form, enrolling someone by employee number or as a
supplier learner, proposing plans for a unit by its code, and a learner's calendar rows.

The routes call these instead of querying the tables themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import clock
from backend.auth import Actor
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import service as competency_service
from competency_framework.training.models import (
    EnrolmentStatus,
    ExternalLearner,
    TrainingActivity,
    TrainingEnrolment,
    TrainingSession,
)
from competency_framework.training.service.catalogue import add_session, budgets, set_budget
from competency_framework.training.service.catalogue_io import (
    employees_by_number,
    learner_for_user,
)
from competency_framework.training.service.enrolments import (
    enrol_employee,
    enrol_learner,
    my_enrolments,
)
from competency_framework.training.service.needs import plan_spending, unit_subtree
from competency_framework.training.service.plan_view import TeamPlan, plans_for_people
from competency_framework.training.service.plans import BulkSummary, propose_plans
from competency_framework.training.service.rules import (
    TrainingError,
    org_zone,
    parse_local_datetime,
)

# --- HR's hub and budgets ---------------------------------------------------------------------


@dataclass(frozen=True)
class HubFigures:
    activities: int
    upcoming: int
    learners: int


def hub_figures(session: Session) -> HubFigures:
    """Return the counts HR's training hub shows: active activities, upcoming sessions,
    supplier learners."""
    activities = session.exec(
        select(func.count()).where(col(TrainingActivity.is_active).is_(True))
    ).one()
    upcoming = session.exec(
        select(func.count()).where(
            TrainingSession.ends_at >= clock.now(), col(TrainingSession.is_cancelled).is_(False)
        )
    ).one()
    learners = session.exec(select(func.count()).select_from(ExternalLearner)).one()
    return HubFigures(activities, upcoming, learners)


def budget_table(session: Session, *, year: int, region: str) -> dict[str, Any]:
    """Return the budgets page's rows (units with people, in a region or all) and totals."""
    headcount = dict(
        session.exec(
            select(Employee.unit_id, func.count())
            .where(Employee.status != EmployeeStatus.left)
            .group_by(Employee.unit_id)
        ).all()
    )
    statement = select(Unit).order_by(col(Unit.region), col(Unit.name))
    if region:
        statement = statement.where(Unit.region == region)
    units = [u for u in session.exec(statement) if headcount.get(u.id)]
    amounts = budgets(session, year=year)
    spending = plan_spending(session, year=year)
    rows = [
        {
            "unit": u,
            "people": headcount.get(u.id, 0),
            "budget": amounts.get(u.id),
            "committed": spending.get(u.id, (0, 0))[0],
            "pending": spending.get(u.id, (0, 0))[1],
        }
        for u in units
    ]
    return {
        "rows": rows,
        "totals": {
            "budget": sum(r["budget"] or 0 for r in rows),
            "committed": sum(r["committed"] for r in rows),
            "pending": sum(r["pending"] for r in rows),
        },
    }


def unit_by_code(session: Session, code: str) -> Unit:
    """Return the unit with this code, or refuse the form's `unit` field."""
    found = session.exec(select(Unit).where(Unit.code == (code or "").strip())).first()
    if found is None:
        raise TrainingError(_("No unit has the code %(code)s.", code=code), field="unit")
    return found


def propose_for_units(
    session: Session, *, year: int, actor: Actor, unit_code: str, only_missing: bool
) -> BulkSummary:
    """Propose plans for everyone, or for the unit with `unit_code` and the units below it."""
    unit_ids = None
    if unit_code.strip():
        found = unit_by_code(session, unit_code)
        org = competency_service.load_org_frames(session)
        unit_ids = sorted(unit_subtree(org.units, found.id))
    return propose_plans(
        session, year=year, actor=actor, unit_ids=unit_ids, only_missing=only_missing
    )


# --- supervisors ------------------------------------------------------------------------------


def search_plans(session: Session, *, query: str, year: int) -> list[TeamPlan]:
    """Return the plans of the people (not gone) whose number or name contains `query`."""
    needle = f"%{query.strip()}%"
    people = session.exec(
        select(Employee, Position)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .where(
            Employee.status != EmployeeStatus.left,
            col(Employee.number).ilike(needle)
            | col(Employee.last_name).ilike(needle)
            | col(Employee.first_name).ilike(needle),
        )
        .order_by(col(Employee.last_name))
        .limit(50)
    ).all()
    return plans_for_people(session, list(people), year)


# --- sessions and enrolment from HR's forms ---------------------------------------------------


def schedule_session(
    session: Session,
    settings: Settings,
    *,
    activity: TrainingActivity,
    starts_at: str,
    ends_at: str,
    place: str,
    capacity: str,
    actor: Actor,
) -> TrainingSession:
    """Schedule a session from the form's local date-times (every field's problem at once)."""
    zone = org_zone(settings)
    errors: dict[str, str] = {}
    moments: dict[str, datetime] = {}
    for name, text in (("starts_at", starts_at), ("ends_at", ends_at)):
        try:
            moments[name] = parse_local_datetime(text, zone=zone, field=name)
        except TrainingError as err:
            errors[name] = str(err)
    if errors:
        raise TrainingError(
            _("Some fields are not valid."), errors=errors, field=next(iter(errors))
        )
    return add_session(
        session,
        activity=activity,
        starts_at=moments["starts_at"],
        ends_at=moments["ends_at"],
        place=place,
        capacity=capacity if capacity.strip() else activity.capacity,
        actor=actor,
    )


def enrol_someone(
    session: Session,
    *,
    training_session: TrainingSession,
    employee_number: str,
    learner_id: int | None,
    actor: Actor,
) -> TrainingEnrolment:
    """HR enrols an employee (by number) or a supplier learner in a session."""
    if employee_number.strip():
        employee = employees_by_number(session, employee_number)
        if employee is None:
            raise TrainingError(
                _("No employee has the number %(number)s.", number=employee_number),
                field="employee_number",
            )
        return enrol_employee(
            session, training_session_id=training_session.id, employee=employee, actor=actor
        )
    if learner_id is not None:
        learner = session.get(ExternalLearner, learner_id)
        if learner is None:
            raise TrainingError(_("Choose a supplier learner."), field="learner_id")
        return enrol_learner(
            session, training_session_id=training_session.id, learner=learner, actor=actor
        )
    raise TrainingError(
        _("Enter an employee number or choose a supplier learner."), field="employee_number"
    )


def calendar_rows(
    session: Session, user: User
) -> list[tuple[TrainingEnrolment, TrainingSession, TrainingActivity]]:
    """Return the enrolments (enrolled or completed) that go into a person's calendar file."""
    if user.employee_id is not None:
        rows = my_enrolments(session, employee_id=user.employee_id)
    else:
        learner = learner_for_user(session, user)
        rows = my_enrolments(session, learner_id=learner.id) if learner else []
    keep = (EnrolmentStatus.enrolled, EnrolmentStatus.completed)
    return [row for row in rows if row[0].status in keep]


def set_budget_by_code(
    session: Session, *, unit_code: str, year: int, amount: str, actor: Actor
) -> Unit:
    """Set the budget of the unit with this code (`set_budget`); return the unit."""
    found = unit_by_code(session, unit_code)
    set_budget(session, unit=found, year=year, amount=amount, actor=actor)
    return found
