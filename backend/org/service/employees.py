"""Employees: the rules a record must follow, creating and updating it, announcing moves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock, events
from backend.emails import email_problem
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.events import EMPLOYEE_MOVED, EMPLOYEE_STATUS_CHANGED, ORG_ROLE_CHANGED
from backend.org.models import (
    EMAIL_MAX,
    FIRST_NAME_MAX,
    LAST_NAME_MAX,
    NUMBER_MAX,
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    Position,
    Qualification,
    Unit,
)
from backend.org.schemas import EmployeeInput
from backend.org.service.rules import (
    OrgError,
    organisation_today,
    raise_problems,
)

# --- employees --------------------------------------------------------------------------------


def employee_field_problems(
    *,
    number: str,
    first_name: str,
    last_name: str,
    email: str,
    hire_date: date | None,
    birth_date: date | None,
    status: str,
    check_email: Callable[[str], str | None] = email_problem,
) -> dict[str, str]:
    """Return {field: message} for the rules that need no database (shared with imports, which
    pass a faster `check_email` that gives the same answers)."""
    problems: dict[str, str] = {}
    if not number.strip():
        problems["number"] = _("Enter an employee number.")
    elif len(number.strip()) > NUMBER_MAX:
        problems["number"] = _("Use at most %(n)s characters.", n=NUMBER_MAX)
    if not first_name.strip():
        problems["first_name"] = _("Enter the first name.")
    elif len(first_name.strip()) > FIRST_NAME_MAX:
        problems["first_name"] = _("Use at most %(n)s characters.", n=FIRST_NAME_MAX)
    if not last_name.strip():
        problems["last_name"] = _("Enter the last name.")
    elif len(last_name.strip()) > LAST_NAME_MAX:
        problems["last_name"] = _("Use at most %(n)s characters.", n=LAST_NAME_MAX)
    if email.strip():
        if len(email.strip()) > EMAIL_MAX:
            problems["email"] = _("Use at most %(n)s characters.", n=EMAIL_MAX)
        elif problem := check_email(email):
            problems["email"] = problem
    if status not in EmployeeStatus.__members__:
        problems["status"] = _("Unknown status.")
    if hire_date is None:
        problems["hire_date"] = _("Enter the hire date.")
    elif birth_date is not None and birth_date >= hire_date:
        problems["birth_date"] = _("The birth date must be before the hire date.")
    return problems


def would_create_cycle(
    session: Session,
    *,
    employee_id: int | None,
    supervisor_id: int | None,
    overrides: dict[int, int | None] | None = None,
) -> bool:
    """True if making `supervisor_id` the supervisor of `employee_id` closes a reporting loop."""
    if supervisor_id is None or employee_id is None:
        return False
    overrides = overrides or {}
    seen: set[int] = set()
    current: int | None = supervisor_id
    while current is not None:
        if current == employee_id or current in seen:
            return True
        seen.add(current)
        if current in overrides:
            current = overrides[current]
        else:
            current = session.exec(
                select(Employee.supervisor_id).where(Employee.id == current)
            ).first()
    return False


def _check_employee(session: Session, data: EmployeeInput, *, existing: Employee | None) -> None:
    problems = employee_field_problems(
        number=data.number,
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        hire_date=data.hire_date,
        birth_date=data.birth_date,
        status=data.status,
    )
    status = {}
    if "number" not in problems:
        clash = session.exec(select(Employee).where(Employee.number == data.number.strip())).first()
        if clash is not None and (existing is None or clash.id != existing.id):
            problems["number"] = _("Another employee already has this number.")
            status["number"] = 409
    if data.unit_id is None or session.get(Unit, data.unit_id) is None:
        problems["unit_id"] = _("The unit does not exist.")
    if data.position_id is not None and session.get(Position, data.position_id) is None:
        problems["position_id"] = _("The position does not exist.")
    if data.supervisor_id is not None:
        if session.get(Employee, data.supervisor_id) is None:
            problems["supervisor_id"] = _("The supervisor does not exist.")
        elif existing is not None and would_create_cycle(
            session, employee_id=existing.id, supervisor_id=data.supervisor_id
        ):
            problems["supervisor_id"] = _(
                "This supervisor would create a loop in the reporting lines."
            )
    unknown = _unknown_qualifications(session, data.qualification_codes)
    if unknown:
        problems["qualifications"] = _(
            "Unknown qualification: %(codes)s.", codes=", ".join(unknown)
        )
    raise_problems(problems, status)


def _unknown_qualifications(session: Session, codes: tuple[str, ...]) -> list[str]:
    if not codes:
        return []
    found = set(session.exec(select(Qualification.code).where(col(Qualification.code).in_(codes))))
    return [c for c in codes if c not in found]


def _qualification_ids(session: Session, codes: tuple[str, ...]) -> list[int]:
    if not codes:
        return []
    found = {
        q.code: q.id
        for q in session.exec(select(Qualification).where(col(Qualification.code).in_(codes)))
    }
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise OrgError(
            _("Unknown qualification: %(codes)s.", codes=", ".join(unknown)),
            field="qualifications",
        )
    return list(dict.fromkeys(found[c] for c in codes))


def employee_snapshot(values: dict[str, Any], qualification_codes: list[str] | set[str]) -> dict:
    """Return the audit snapshot of an employee given its column values and qualifications.

    One definition for the single-record functions and the bulk import, so the audit log reads
    the same whichever way a record changed.
    """
    keys = (
        "id",
        "number",
        "first_name",
        "last_name",
        "email",
        "unit_id",
        "position_id",
        "supervisor_id",
        "hire_date",
        "birth_date",
        "status",
    )
    # Built by hand rather than with audit.plain: imports make 100,000s of these.
    data = {key: values.get(key) for key in keys}
    for key in ("hire_date", "birth_date"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    data["status"] = str(data["status"]) if data["status"] is not None else None
    data["qualifications"] = sorted(qualification_codes)
    return data


def stored_snapshot(session: Session, employee: Employee) -> dict:
    codes = session.exec(
        select(Qualification.code)
        .join(
            EmployeeQualification,
            col(EmployeeQualification.qualification_id) == Qualification.id,
        )
        .where(EmployeeQualification.employee_id == employee.id)
    ).all()
    return employee_snapshot(employee.model_dump(), codes)


def create_employee(
    session: Session, data: EmployeeInput, *, actor: object = None, effective_on: date | None = None
) -> Employee:
    """Create an employee with their qualifications and first status entry (caller commits)."""
    _check_employee(session, data, existing=None)
    qualification_ids = _qualification_ids(session, data.qualification_codes)
    employee = Employee(
        number=data.number.strip(),
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        email=data.email.strip().lower(),
        unit_id=data.unit_id,
        position_id=data.position_id,
        supervisor_id=data.supervisor_id,
        hire_date=data.hire_date,
        birth_date=data.birth_date,
        status=data.status,
    )
    session.add(employee)
    session.flush()
    for qid in qualification_ids:
        session.add(EmployeeQualification(employee_id=employee.id, qualification_id=qid))
    session.add(
        EmployeeStatusChange(
            employee_id=employee.id,
            status=employee.status,
            effective_on=effective_on or data.hire_date,
        )
    )
    session.flush()
    audit.record(
        session,
        action="employee.created",
        actor=actor,
        entity_type="employee",
        entity_id=employee.id,
        after=stored_snapshot(session, employee),
    )
    # Other domains react to new staff (training assigns the induction programme).
    publish(
        session,
        DomainEvent(
            "employee.created",
            {"employee_id": employee.id, "hire_date": employee.hire_date.isoformat()},
            subject_employee_id=employee.id,
        ),
    )
    return employee


def update_employee(
    session: Session,
    *,
    employee: Employee,
    data: EmployeeInput,
    actor: object,
    effective_on: date | None = None,
) -> Employee:
    """Update an employee; a status change is also written to the status history."""
    _check_employee(session, data, existing=employee)
    qualification_ids = _qualification_ids(session, data.qualification_codes)
    before = stored_snapshot(session, employee)
    old_status, old_unit = employee.status, employee.unit_id
    old_position = employee.position_id
    employee.number = data.number.strip()
    employee.first_name, employee.last_name = data.first_name.strip(), data.last_name.strip()
    employee.email = data.email.strip().lower()
    employee.unit_id, employee.position_id = data.unit_id, data.position_id
    employee.supervisor_id = data.supervisor_id
    employee.hire_date, employee.birth_date = data.hire_date, data.birth_date
    employee.status = data.status
    employee.updated_at = clock.now()
    session.add(employee)
    current = set(
        session.exec(
            select(EmployeeQualification.qualification_id).where(
                EmployeeQualification.employee_id == employee.id
            )
        ).all()
    )
    for qid in current - set(qualification_ids):
        link = session.get(EmployeeQualification, (employee.id, qid))
        if link is not None:
            session.delete(link)
    for qid in set(qualification_ids) - current:
        session.add(EmployeeQualification(employee_id=employee.id, qualification_id=qid))
    changed_on = effective_on or organisation_today(session)
    if old_status != employee.status:
        session.add(
            EmployeeStatusChange(
                employee_id=employee.id, status=employee.status, effective_on=changed_on
            )
        )
    session.flush()
    after = stored_snapshot(session, employee)
    if after != before:
        audit.record(
            session,
            action="employee.updated",
            actor=actor,
            entity_type="employee",
            entity_id=employee.id,
            before=before,
            after=after,
        )
    announce_changes(
        session,
        employee_id=employee.id,
        old_status=old_status,
        new_status=employee.status,
        old_unit_id=old_unit,
        new_unit_id=employee.unit_id,
        old_position_id=old_position,
        new_position_id=employee.position_id,
        effective_on=changed_on,
    )
    return employee


def announce_changes(
    session: Session,
    *,
    employee_id: int,
    old_status: str,
    new_status: str,
    old_unit_id: int,
    new_unit_id: int,
    old_position_id: int | None,
    new_position_id: int | None,
    effective_on: date,
) -> None:
    """Publish the events other domains watch for (status changes, moves between units and
    changes of position), for a change made by hand or by an import alike."""
    if old_status != new_status:
        events.publish(
            session,
            DomainEvent(
                EMPLOYEE_STATUS_CHANGED,
                {"from": old_status, "to": new_status, "effective_on": effective_on.isoformat()},
                subject_employee_id=employee_id,
            ),
        )
    if old_unit_id != new_unit_id:
        events.publish(
            session,
            DomainEvent(
                EMPLOYEE_MOVED,
                {"from_unit_id": old_unit_id, "to_unit_id": new_unit_id},
                subject_employee_id=employee_id,
            ),
        )
    if old_position_id != new_position_id:
        events.publish(
            session,
            DomainEvent(
                ORG_ROLE_CHANGED,
                {
                    "from_position_id": old_position_id,
                    "to_position_id": new_position_id,
                    "effective_on": effective_on.isoformat(),
                },
                subject_employee_id=employee_id,
            ),
        )
