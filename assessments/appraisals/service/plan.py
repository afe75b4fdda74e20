"""The organisation's plan: priorities and targets, and the units' objectives serving them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    PlanPriority,
    UnitObjective,
)
from assessments.appraisals.service.common import (
    MAX_NOTE,
    AppraisalError,
    _audit,
    _own_employee_id,
    _raise_if,
    _text,
    _title_and_measure,
    named_record,
)
from backend import audit
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Unit


def plan_years(session: Session) -> list[int]:
    """Return the years that have plan priorities, newest first."""
    return sorted(set(session.exec(select(PlanPriority.year)).all()), reverse=True)


def list_priorities(session: Session, *, year: int) -> list[PlanPriority]:
    """Return the organisation's plan priorities for `year`."""
    return list(
        session.exec(
            select(PlanPriority).where(PlanPriority.year == year).order_by(col(PlanPriority.id))
        )
    )


def add_priority(
    session: Session,
    *,
    year: int | None,
    title: str,
    target: str,
    description: str = "",
    actor: Actor,
) -> PlanPriority:
    """Record a priority of the organisation's procurement plan and its target (HR; audited)."""
    if not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR records the organisation's plan."), status_code=403)
    errors: dict[str, str] = {}
    if year is None or not 2000 <= year <= 2100:
        errors["year"] = _("Enter a year such as 2027.")
    title, target = _title_and_measure(
        title,
        target,
        errors=errors,
        measure_field="target",
        title_message=_("Name the priority."),
        measure_message=_("Give the priority a measurable target."),
    )
    description = _text(description, limit=MAX_NOTE, field="description", errors=errors)
    if (
        not errors
        and session.exec(
            select(PlanPriority).where(PlanPriority.year == year, PlanPriority.title == title)
        ).first()
    ):
        errors["title"] = _("The plan for this year already has a priority with this name.")
    _raise_if(errors, _("The priority could not be recorded."))
    priority = PlanPriority(
        year=year, title=title, target=target, description=description, created_by_id=actor.user.id
    )
    session.add(priority)
    session.flush()
    _audit(
        session,
        "appraisal.plan_priority_added",
        priority,
        actor,
        after=audit.snapshot(priority, "year", "title", "target", "description"),
    )
    return priority


def list_unit_objectives(
    session: Session, *, year: int, unit_id: int | None = None
) -> list[UnitObjective]:
    """Return the units' objectives for `year` (of one unit when given)."""
    statement = select(UnitObjective).where(UnitObjective.year == year)
    if unit_id is not None:
        statement = statement.where(UnitObjective.unit_id == unit_id)
    return list(session.exec(statement.order_by(col(UnitObjective.unit_id), col(UnitObjective.id))))


def supervises_in_unit(session: Session, *, employee_id: int | None, unit_id: int) -> bool:
    """True if `employee_id` directly supervises someone working in `unit_id`."""
    if employee_id is None:
        return False
    return (
        session.exec(
            select(Employee.id).where(
                Employee.supervisor_id == employee_id,
                Employee.unit_id == unit_id,
                Employee.status != EmployeeStatus.left,
            )
        ).first()
        is not None
    )


def add_unit_objective(
    session: Session,
    *,
    unit_id: int | None,
    priority_id: int | None,
    title: str,
    target: str,
    actor: Actor,
) -> UnitObjective:
    """Record a unit's objective serving a plan priority (HR, or a supervisor in the unit)."""
    errors: dict[str, str] = {}
    unit = named_record(session, Unit, unit_id)
    priority = named_record(session, PlanPriority, priority_id)
    if unit is None:
        errors["unit_id"] = _("Choose a unit.")
    if priority is None:
        errors["priority_id"] = _("Choose the priority of the plan this objective serves.")
    if unit is not None and not (
        actor.can(Permission.manage_appraisal_cycles)
        or supervises_in_unit(session, employee_id=_own_employee_id(actor), unit_id=unit.id)
    ):
        raise AppraisalError(
            _("Only HR or a supervisor in the unit can set the unit's objectives."),
            status_code=403,
        )
    title, target = _title_and_measure(
        title,
        target,
        errors=errors,
        measure_field="target",
        measure_message=_("Give the objective a measurable target."),
    )
    _raise_if(errors, _("The unit objective could not be recorded."))
    objective = UnitObjective(
        unit_id=unit.id,
        year=priority.year,
        priority_id=priority.id,
        title=title,
        target=target,
        created_by_id=actor.user.id,
    )
    session.add(objective)
    session.flush()
    _audit(
        session,
        "appraisal.unit_objective_added",
        objective,
        actor,
        after=audit.snapshot(objective, "unit_id", "year", "priority_id", "title", "target"),
    )
    return objective


def unit_choices(session: Session, *, actor: Actor) -> list[Unit]:
    """Return the units whose objectives `actor` may set: all for HR, else where they supervise."""
    statement = select(Unit).order_by(col(Unit.name))
    if actor.can(Permission.manage_appraisal_cycles):
        return list(session.exec(statement))
    own = _own_employee_id(actor)
    if own is None:
        return []
    supervised = select(Employee.unit_id).where(Employee.supervisor_id == own)
    return list(session.exec(statement.where(col(Unit.id).in_(supervised))))


def unit_names(session: Session, unit_ids: set[int]) -> dict[int, str]:
    """Return {unit id: name} for `unit_ids`."""
    return dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(unit_ids))).all())


def plan_year_shown(session: Session, priority_id: Any, year: Any) -> int | None:
    """Return the year whose plan a refused unit objective's form is shown on again: its
    priority's, else the year posted (a hidden field), else None (this year's)."""
    priority = named_record(session, PlanPriority, priority_id)
    if priority is not None:
        return priority.year
    year = str(year).strip()
    return int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None
