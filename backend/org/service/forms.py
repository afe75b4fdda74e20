"""What the organisation's pages ask for: a posted form (parsed into `backend.org.schemas`)
checked as a whole, then handed to the rules of units, positions, employees and qualifications.

Every problem found is raised at once (`OrgError.problems`, keyed by the form's own inputs),
so the page shows them all beside their fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlmodel import Session

from backend.i18n import _
from backend.org import spreadsheet
from backend.org.models import Employee, EmployeeStatus, Position, Qualification, Unit
from backend.org.schemas import (
    EmployeeForm,
    EmployeeInput,
    PositionForm,
    QualificationForm,
    UnitForm,
)
from backend.org.service.directory import resolve_references
from backend.org.service.employees import create_employee, employee_field_problems, update_employee
from backend.org.service.positions import create_position, update_position
from backend.org.service.qualifications import create_qualification
from backend.org.service.rules import OrgError, raise_problems
from backend.org.service.units import create_unit, get_unit, update_unit

# The employee service's field names → the form's inputs.
_EMPLOYEE_FORM_INPUT = {"position_id": "position_code", "supervisor_id": "supervisor_number"}


@contextmanager
def _on_the_form(field_names: dict[str, str] | None = None) -> Iterator[None]:
    """Raise a refusal as a problem of the form (422), by the form's own input names.

    A taken code or number is a conflict (409) for the API; on a page it is one more thing
    to correct beside its field, like any other.
    """
    try:
        yield
    except OrgError as err:
        names = field_names or {}
        if (err.status_code != 409 or not err.problems) and not names:
            raise
        problems = {names.get(k, k): v for k, v in err.problems.items()}
        field = names.get(err.field, err.field)
        status = 422 if err.status_code == 409 and problems else err.status_code
        raise OrgError(err.message, field=field, status_code=status, problems=problems) from None


def add_unit(session: Session, form: UnitForm, *, actor: object) -> Unit:
    """Create the unit the form describes (the caller commits)."""
    parent = None
    if form.parent_id:
        parent = get_unit(session, form.parent() or 0)
        if parent is None:
            raise OrgError(_("The parent unit does not exist."), field="parent_id")
    with _on_the_form():
        return create_unit(
            session,
            code=form.code,
            name=form.name,
            kind=form.kind,
            parent=parent,
            region=form.region,
            state=form.state,
            is_central=form.is_central(),
            actor=actor,
        )


def save_unit(session: Session, unit: Unit, form: UnitForm, *, actor: object) -> Unit:
    """Save the form's changes to `unit` (its code does not change; the caller commits)."""
    parent_id = form.parent()
    if form.parent_id and parent_id is None:
        raise OrgError(_("The parent unit does not exist."), field="parent_id")
    changes = {
        "name": form.name,
        "kind": form.kind,
        "parent_id": parent_id,
        "region": form.region,
        "state": form.state,
        "is_central": form.scope == "central",
    }
    with _on_the_form():
        return update_unit(session, unit=unit, changes=changes, actor=actor)


def add_position(session: Session, form: PositionForm, *, actor: object) -> Position:
    """Create the position the form describes (the caller commits)."""
    problems: dict[str, str] = {}
    headcount = form.headcount(problems)
    unit = get_unit(session, form.unit() or 0)
    if unit is None:
        problems["unit_id"] = _("Choose a unit.")
    raise_problems(problems)
    with _on_the_form():
        return create_position(
            session,
            code=form.code,
            title=form.title,
            unit=unit,
            job_family=form.job_family,
            grade=form.grade,
            role_code=form.role_code,
            planned_headcount=headcount,
            actor=actor,
        )


def save_position(
    session: Session, position: Position, form: PositionForm, *, actor: object
) -> Position:
    """Save the form's changes to `position` (its code does not change; the caller commits)."""
    problems: dict[str, str] = {}
    headcount = form.headcount(problems)
    raise_problems(problems)
    changes = {
        "title": form.title,
        "job_family": form.job_family,
        "grade": form.grade,
        "unit_id": form.unit(),
        "role_code": form.role_code,
        "planned_headcount": headcount,
    }
    with _on_the_form():
        return update_position(session, position=position, changes=changes, actor=actor)


def _date(
    value: str, name: str, problems: dict[str, str], *, required: bool = False
) -> date | None:
    try:
        parsed = spreadsheet.parse_date(value or "")
    except spreadsheet.CellError as err:
        problems[name] = str(err)
        return None
    if parsed is None and required:
        problems[name] = _("Enter a date.")
    return parsed


def employee_input(
    session: Session, form: EmployeeForm, problems: dict[str, str]
) -> EmployeeInput | None:
    """Return the form's employee, or None with every problem added to `problems`."""
    hire_date = _date(form.hire_date, "hire_date", problems, required=True)
    birth_date = _date(form.birth_date, "birth_date", problems)
    refs = resolve_references(
        session,
        unit_id=form.unit(),
        position_code=form.position_code,
        supervisor_number=form.supervisor_number,
    )
    problems.update(refs.problems)
    status = form.status or EmployeeStatus.active.value
    # The rules that need no database are reported with the rest, not one at a time.
    for name, message in employee_field_problems(
        number=form.number,
        first_name=form.first_name,
        last_name=form.last_name,
        email=form.email,
        hire_date=hire_date,
        birth_date=birth_date,
        status=status,
    ).items():
        problems.setdefault(name, message)
    if problems:
        return None
    return EmployeeInput(
        number=form.number,
        first_name=form.first_name,
        last_name=form.last_name,
        email=form.email,
        unit_id=refs.unit_id,
        position_id=refs.position_id,
        supervisor_id=refs.supervisor_id,
        hire_date=hire_date,
        birth_date=birth_date,
        status=status,
        qualification_codes=form.qualifications,
    )


def add_employee(session: Session, form: EmployeeForm, *, actor: object) -> Employee:
    """Create the employee the form describes (the caller commits)."""
    problems: dict[str, str] = {}
    data = employee_input(session, form, problems)
    raise_problems(problems)
    with _on_the_form(_EMPLOYEE_FORM_INPUT):
        return create_employee(session, data, actor=actor)


def save_employee(
    session: Session, employee: Employee, form: EmployeeForm, *, actor: object
) -> Employee:
    """Save the form's changes to `employee`; a status change takes effect on the form's
    "effective on" day (the organisation's today when empty). The caller commits."""
    problems: dict[str, str] = {}
    effective_on = _date(form.effective_on, "effective_on", problems)
    data = employee_input(session, form, problems)
    raise_problems(problems)
    with _on_the_form(_EMPLOYEE_FORM_INPUT):
        return update_employee(
            session, employee=employee, data=data, actor=actor, effective_on=effective_on
        )


def add_qualification(session: Session, form: QualificationForm, *, actor: object) -> Qualification:
    """Create the qualification the form describes (the caller commits)."""
    with _on_the_form():
        return create_qualification(
            session,
            code=form.code,
            name_es=form.name_es,
            name_en=form.name_en,
            is_procurement=form.is_procurement,
            actor=actor,
        )
