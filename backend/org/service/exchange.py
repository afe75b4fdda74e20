"""Employees as other HR systems know them (the JSON API): by codes and numbers, not our ids.

What the API answers (`employee_out`, `api_employee_out`) and what it writes
(`add_employee_from_api`, `change_employee_from_api`). Problems are raised as `OrgError` keyed
by the API's own field names (`unit_code`, not `unit_id`).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from backend.org.schemas import EmployeeCreate, EmployeeInput, EmployeeOut, EmployeeUpdate
from backend.org.service.directory import qualification_codes_of, resolve_references
from backend.org.service.employees import create_employee, update_employee
from backend.org.service.rules import OrgError, raise_problems

# The service's field names → the API's.
_API_FIELD = {
    "unit_id": "unit_code",
    "position_id": "position_code",
    "supervisor_id": "supervisor_number",
}
# What an update may not set to null.
_REQUIRED = {"number", "first_name", "last_name", "unit_code", "hire_date", "status"}


def employee_out(
    employee: Employee,
    unit: Unit,
    position: Position | None,
    supervisor: Employee | None,
    qualifications: list[str],
) -> EmployeeOut:
    """Return the API's view of an employee whose unit, post and supervisor are loaded."""
    return EmployeeOut(
        **employee.model_dump(),
        unit_code=unit.code,
        position_code=position.code if position else None,
        supervisor_number=supervisor.number if supervisor else None,
        qualifications=qualifications,
    )


def api_employee_out(session: Session, employee: Employee) -> EmployeeOut:
    """Return the API's view of one employee."""
    unit = session.get(Unit, employee.unit_id)
    position = session.get(Position, employee.position_id) if employee.position_id else None
    supervisor = session.get(Employee, employee.supervisor_id) if employee.supervisor_id else None
    codes = qualification_codes_of(session, [employee.id])[employee.id]
    return employee_out(employee, unit, position, supervisor, codes)


def _api_error(err: OrgError) -> OrgError:
    problems = {_API_FIELD.get(name, name): message for name, message in err.problems.items()}
    field = _API_FIELD.get(err.field, err.field)
    return OrgError(err.message, field=field, status_code=err.status_code, problems=problems)


def _input(
    session: Session,
    *,
    number: str,
    first_name: str,
    last_name: str,
    email: str,
    unit_code: str,
    position_code: str,
    supervisor_number: str,
    hire_date: date,
    birth_date: date | None,
    status: str,
    qualifications: list[str],
) -> EmployeeInput:
    refs = resolve_references(
        session,
        unit_code=unit_code,
        position_code=position_code,
        supervisor_number=supervisor_number,
    )
    raise_problems(refs.problems)
    return EmployeeInput(
        number=number,
        first_name=first_name,
        last_name=last_name,
        email=email,
        unit_id=refs.unit_id,
        position_id=refs.position_id,
        supervisor_id=refs.supervisor_id,
        hire_date=hire_date,
        birth_date=birth_date,
        status=status,
        qualification_codes=tuple(dict.fromkeys(q.strip() for q in qualifications if q.strip())),
    )


def add_employee_from_api(session: Session, body: EmployeeCreate, *, actor: object) -> Employee:
    """Add the employee the API was sent (audited; the caller commits)."""
    data = _input(
        session,
        number=body.number,
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        unit_code=body.unit_code,
        position_code=body.position_code or "",
        supervisor_number=body.supervisor_number or "",
        hire_date=body.hire_date,
        birth_date=body.birth_date,
        status=body.status.value,
        qualifications=body.qualifications,
    )
    try:
        return create_employee(session, data, actor=actor)
    except OrgError as err:
        raise _api_error(err) from None


def change_employee_from_api(
    session: Session, employee: Employee, body: EmployeeUpdate, *, actor: object
) -> Employee:
    """Change the fields the API was sent, keep the others (audited; the caller commits)."""
    current = api_employee_out(session, employee)
    sent = body.model_fields_set
    nulls = {
        name: _("This value cannot be empty.")
        for name in sorted(_REQUIRED & sent, key=list(EmployeeUpdate.model_fields).index)
        if getattr(body, name) is None
    }
    raise_problems(nulls)

    def pick(name: str):
        return getattr(body, name) if name in sent else getattr(current, name)

    data = _input(
        session,
        number=pick("number"),
        first_name=pick("first_name"),
        last_name=pick("last_name"),
        email=pick("email") or "",
        unit_code=pick("unit_code"),
        position_code=pick("position_code") or "",
        supervisor_number=pick("supervisor_number") or "",
        hire_date=pick("hire_date"),
        birth_date=pick("birth_date"),
        status=EmployeeStatus(pick("status")).value,
        qualifications=pick("qualifications") or [],
    )
    try:
        return update_employee(
            session, employee=employee, data=data, actor=actor, effective_on=body.effective_on
        )
    except OrgError as err:
        raise _api_error(err) from None
