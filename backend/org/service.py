"""The organisation's rules: units, positions, employees and reporting lines.

Other domains read people and units through these functions, never through the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from backend import audit, events
from backend.db import utcnow
from backend.emails import email_problem
from backend.events import DomainEvent, publish
from backend.i18n import _, get_locale
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    JobFamily,
    Position,
    Qualification,
    Unit,
    UnitKind,
)

CENTRAL_KINDS = {UnitKind.directorate, UnitKind.sub_directorate}

# Column sizes of the tables, checked here so both databases refuse the same values.
NUMBER_MAX, FIRST_NAME_MAX, LAST_NAME_MAX, EMAIL_MAX = 20, 100, 150, 254

# Events other domains may subscribe to (the reporting channel's HR watch does: a protected
# person who is moved or whose status changes is a possible sign of retaliation).
EMPLOYEE_STATUS_CHANGED = "employee.status_changed"
EMPLOYEE_MOVED = "employee.moved"
ORG_ROLE_CHANGED = "org.role_changed"


class OrgError(ValueError):
    """An organisation rule was broken. `field` names the offending input; message translated.

    `problems` holds every problem found ({field: message}) when several were checked at once;
    the exception's own message is the first of them.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        status_code: int = 422,
        problems: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.status_code = status_code
        self.problems = problems or ({field: message} if field else {})


def _raise_first(problems: dict[str, str], status: dict[str, int] | None = None) -> None:
    """Raise OrgError with every problem; 409 only when each one is a conflict (a taken code)."""
    if problems:
        name, message = next(iter(problems.items()))
        codes = {(status or {}).get(key, 422) for key in problems}
        raise OrgError(
            message,
            field=name,
            status_code=409 if codes == {409} else 422,
            problems=problems,
        )


# --- role profiles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleProfileOption:
    """A role profile a position may follow, as listed in the framework's role_profiles.yaml."""

    code: str
    title_es: str
    title_en: str

    @property
    def title(self) -> str:
        return self.title_es if get_locale() == "es" else self.title_en


@lru_cache
def _read_role_profiles() -> tuple[RoleProfileOption, ...]:
    source = resources.files("competency_framework") / "data" / "role_profiles.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return tuple(
        RoleProfileOption(
            code=str(entry["position_code"]),
            title_es=entry.get("title", {}).get("es", entry["position_code"]),
            title_en=entry.get("title", {}).get("en", entry["position_code"]),
        )
        for entry in data.get("profiles", [])
    )


def role_profile_options() -> list[RoleProfileOption]:
    """Return the role profiles positions may follow, in the file's order."""
    return list(_read_role_profiles())


def role_codes() -> set[str]:
    """Return the position codes of the role profiles file."""
    return {option.code for option in _read_role_profiles()}


# --- units ------------------------------------------------------------------------------------


def get_unit(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code)).first()


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: UnitKind | str,
    parent: Unit | None = None,
    region: str = "",
    state: str = "",
    is_central: bool | None = None,
    actor: object = None,
) -> Unit:
    """Create a unit (the caller commits)."""
    code = code.strip()
    problems: dict[str, str] = {}
    status: dict[str, int] = {}
    if not code:
        problems["code"] = _("Enter a unit code.")
    elif len(code) > 32:
        problems["code"] = _("Use at most %(n)s characters.", n=32)
    elif unit_by_code(session, code) is not None:
        problems["code"] = _("Another unit already has this code.")
        status["code"] = 409
    if not name.strip():
        problems["name"] = _("Enter a unit name.")
    elif len(name.strip()) > 200:
        problems["name"] = _("Use at most %(n)s characters.", n=200)
    if kind not in UnitKind.__members__:
        problems["kind"] = _("Unknown kind of unit.")
    _raise_first(problems, status)
    kind = UnitKind(kind)
    unit = Unit(
        code=code,
        name=name.strip(),
        kind=kind,
        parent_id=parent.id if parent else None,
        region=region.strip() or (parent.region if parent else ""),
        state=state.strip() or (parent.state if parent else ""),
        is_central=is_central
        if is_central is not None
        else (kind in CENTRAL_KINDS or bool(parent and parent.is_central)),
    )
    session.add(unit)
    session.flush()
    audit.record(
        session,
        action="unit.created",
        actor=actor,
        entity_type="unit",
        entity_id=unit.id,
        after=audit.snapshot(unit),
    )
    return unit


def update_unit(session: Session, *, unit: Unit, changes: dict, actor: object) -> Unit:
    """Apply `changes` (name, kind, parent_id, region, state, is_central) to a unit."""
    before = audit.snapshot(unit)
    problems: dict[str, str] = {}
    if "name" in changes and not str(changes["name"]).strip():
        problems["name"] = _("Enter a unit name.")
    if "kind" in changes and changes["kind"] not in UnitKind.__members__:
        problems["kind"] = _("Unknown kind of unit.")
    parent_id = changes.get("parent_id", unit.parent_id)
    if parent_id is not None:
        ancestor = session.get(Unit, parent_id)
        if ancestor is None:
            problems["parent_id"] = _("The parent unit does not exist.")
        while ancestor is not None:
            if ancestor.id == unit.id:
                problems["parent_id"] = _("A unit cannot be placed inside itself.")
                break
            ancestor = session.get(Unit, ancestor.parent_id) if ancestor.parent_id else None
    _raise_first(problems)
    for key in ("name", "kind", "parent_id", "region", "state", "is_central"):
        if key in changes:
            value = changes[key]
            setattr(unit, key, value.strip() if isinstance(value, str) else value)
    session.add(unit)
    session.flush()
    after = audit.snapshot(unit)
    if after != before:
        audit.record(
            session,
            action="unit.updated",
            actor=actor,
            entity_type="unit",
            entity_id=unit.id,
            before=before,
            after=after,
        )
    return unit


def subtree_ids(session: Session, unit_id: int) -> list[int]:
    """Return the unit and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.exec(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    found, stack, seen = [], [unit_id], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def list_units(
    session: Session,
    *,
    kind: str = "",
    region: str = "",
    central: bool | None = None,
    parent_id: int | None = None,
    q: str = "",
) -> list[Unit]:
    """Return the units matching the filters, by code."""
    statement = select(Unit).order_by(col(Unit.code))
    if kind:
        statement = statement.where(Unit.kind == kind)
    if region:
        statement = statement.where(Unit.region == region)
    if central is not None:
        statement = statement.where(col(Unit.is_central).is_(central))
    if parent_id is not None:
        statement = statement.where(Unit.parent_id == parent_id)
    if q.strip():
        like = f"%{q.strip()}%"
        statement = statement.where(or_(col(Unit.code).ilike(like), col(Unit.name).ilike(like)))
    return list(session.exec(statement).all())


def unit_tree(session: Session, units: list[Unit] | None = None) -> list[tuple[Unit, int]]:
    """Return (unit, depth) pairs in tree order: each unit followed by its sub-units.

    When `units` is a filtered subset, a unit whose parent is not in it is shown as a root.
    """
    units = units if units is not None else list_units(session)
    present = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in sorted(units, key=lambda u: u.code):
        parent = unit.parent_id if unit.parent_id in present else None
        children.setdefault(parent, []).append(unit)
    ordered: list[tuple[Unit, int]] = []
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    seen: set[int] = set()
    while stack:
        unit, depth = stack.pop()
        if unit.id in seen:
            continue
        seen.add(unit.id)
        ordered.append((unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return ordered


def unit_ancestors(session: Session, unit: Unit) -> list[Unit]:
    """Return the unit's parents from the top of the tree down to its direct parent."""
    chain: list[Unit] = []
    seen = {unit.id}
    current = session.get(Unit, unit.parent_id) if unit.parent_id else None
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = session.get(Unit, current.parent_id) if current.parent_id else None
    return list(reversed(chain))


def regions(session: Session) -> list[str]:
    """Return the regions units are in, alphabetically."""
    return [
        r
        for r in session.exec(select(Unit.region).distinct().order_by(col(Unit.region))).all()
        if r
    ]


@dataclass
class UnitFigures:
    """Headcount figures of one unit (people who have left are not counted)."""

    employees: int = 0
    positions: int = 0
    planned: int = 0


def unit_figures(session: Session) -> dict[int, UnitFigures]:
    """Return {unit_id: figures} for every unit, in two grouped queries."""
    figures: dict[int, UnitFigures] = {}
    for unit_id, count in session.exec(
        select(Employee.unit_id, func.count())
        .where(Employee.status != EmployeeStatus.left)
        .group_by(Employee.unit_id)
    ):
        figures.setdefault(unit_id, UnitFigures()).employees = count
    planned_sum = func.coalesce(func.sum(Position.planned_headcount), 0)
    for unit_id, count, planned in session.exec(
        select(Position.unit_id, func.count(), planned_sum).group_by(Position.unit_id)
    ):
        entry = figures.setdefault(unit_id, UnitFigures())
        entry.positions, entry.planned = count, int(planned)
    return figures


# --- positions --------------------------------------------------------------------------------


def get_position(session: Session, position_id: int) -> Position | None:
    return session.get(Position, position_id)


def position_by_code(session: Session, code: str) -> Position | None:
    return session.exec(select(Position).where(Position.code == code)).first()


def _position_problems(
    session: Session,
    *,
    title: str,
    unit_id: int | None,
    job_family: str,
    role_code: str,
    planned_headcount: Any,
) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not title.strip():
        problems["title"] = _("Enter a position title.")
    elif len(title.strip()) > 200:
        problems["title"] = _("Use at most %(n)s characters.", n=200)
    if job_family not in JobFamily.__members__:
        problems["job_family"] = _("Unknown job family.")
    if unit_id is None or session.get(Unit, unit_id) is None:
        problems["unit_id"] = _("The unit does not exist.")
    if role_code.strip() and role_code.strip() not in role_codes():
        problems["role_code"] = _("Unknown role profile.")
    if not isinstance(planned_headcount, int) or isinstance(planned_headcount, bool):
        problems["planned_headcount"] = _("Enter a whole number.")
    elif planned_headcount < 0:
        problems["planned_headcount"] = _("Planned headcount cannot be negative.")
    return problems


def create_position(
    session: Session,
    *,
    code: str,
    title: str,
    unit: Unit,
    job_family: JobFamily | str = JobFamily.procurement,
    grade: str = "",
    role_code: str = "",
    planned_headcount: int = 1,
    actor: object = None,
) -> Position:
    """Create a position in `unit` (the caller commits)."""
    problems: dict[str, str] = {}
    status: dict[str, int] = {}
    if not code.strip():
        problems["code"] = _("Enter a position code.")
    elif len(code.strip()) > 40:
        problems["code"] = _("Use at most %(n)s characters.", n=40)
    elif position_by_code(session, code.strip()) is not None:
        problems["code"] = _("Another position already has this code.")
        status["code"] = 409
    problems |= _position_problems(
        session,
        title=title,
        unit_id=unit.id if unit is not None else None,
        job_family=job_family,
        role_code=role_code,
        planned_headcount=planned_headcount,
    )
    _raise_first(problems, status)
    position = Position(
        code=code.strip(),
        title=title.strip(),
        unit_id=unit.id,
        job_family=JobFamily(job_family),
        grade=grade.strip(),
        role_code=role_code.strip(),
        planned_headcount=planned_headcount,
    )
    session.add(position)
    session.flush()
    audit.record(
        session,
        action="position.created",
        actor=actor,
        entity_type="position",
        entity_id=position.id,
        after=audit.snapshot(position),
    )
    return position


def update_position(
    session: Session, *, position: Position, changes: dict, actor: object
) -> Position:
    """Apply `changes` (title, job_family, grade, unit_id, role_code, planned_headcount).

    The code is the position's stable reference (imports and other systems use it) and does
    not change.
    """
    merged = {
        "title": position.title,
        "unit_id": position.unit_id,
        "job_family": position.job_family,
        "role_code": position.role_code,
        "planned_headcount": position.planned_headcount,
    }
    merged |= {k: v for k, v in changes.items() if k in merged}
    _raise_first(_position_problems(session, **merged))
    before = audit.snapshot(position)
    for key in ("title", "job_family", "grade", "unit_id", "role_code", "planned_headcount"):
        if key in changes:
            value = changes[key]
            setattr(position, key, value.strip() if isinstance(value, str) else value)
    session.add(position)
    session.flush()
    after = audit.snapshot(position)
    if after != before:
        audit.record(
            session,
            action="position.updated",
            actor=actor,
            entity_type="position",
            entity_id=position.id,
            before=before,
            after=after,
        )
    return position


def positions_statement(
    *, unit_ids: list[int] | None = None, job_family: str = "", role_code: str = "", q: str = ""
):
    """Return a query of (Position, Unit) rows matching the filters, by code."""
    statement = (
        select(Position, Unit)
        .join(Unit, col(Position.unit_id) == Unit.id)
        .order_by(col(Position.code))
    )
    if unit_ids is not None:
        statement = statement.where(col(Position.unit_id).in_(unit_ids))
    if job_family:
        statement = statement.where(Position.job_family == job_family)
    if role_code:
        statement = statement.where(Position.role_code == role_code)
    if q.strip():
        like = f"%{q.strip()}%"
        statement = statement.where(
            or_(col(Position.code).ilike(like), col(Position.title).ilike(like))
        )
    return statement


def occupants_count(session: Session, position_ids: list[int]) -> dict[int, int]:
    """Return {position_id: people in it who have not left}, in one query."""
    if not position_ids:
        return {}
    return dict(
        session.exec(
            select(Employee.position_id, func.count())
            .where(
                col(Employee.position_id).in_(position_ids),
                Employee.status != EmployeeStatus.left,
            )
            .group_by(Employee.position_id)
        ).all()
    )


# --- employees --------------------------------------------------------------------------------


@dataclass
class EmployeeInput:
    """What a form, the API or an import row gives to create or update an employee."""

    number: str
    first_name: str
    last_name: str
    email: str
    unit_id: int
    hire_date: date
    position_id: int | None = None
    supervisor_id: int | None = None
    birth_date: date | None = None
    status: str = EmployeeStatus.active
    qualification_codes: tuple[str, ...] = ()


def employee_field_problems(
    *,
    number: str,
    first_name: str,
    last_name: str,
    email: str,
    hire_date: date | None,
    birth_date: date | None,
    status: str,
) -> dict[str, str]:
    """Return {field: message} for the rules that need no database (shared with imports)."""
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
        elif problem := email_problem(email):
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
    _raise_first(problems, status)


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


def _employee_snapshot(session: Session, employee: Employee) -> dict:
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
        after=_employee_snapshot(session, employee),
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
    before = _employee_snapshot(session, employee)
    old_status, old_unit = employee.status, employee.unit_id
    old_position = employee.position_id
    employee.number = data.number.strip()
    employee.first_name, employee.last_name = data.first_name.strip(), data.last_name.strip()
    employee.email = data.email.strip().lower()
    employee.unit_id, employee.position_id = data.unit_id, data.position_id
    employee.supervisor_id = data.supervisor_id
    employee.hire_date, employee.birth_date = data.hire_date, data.birth_date
    employee.status = data.status
    employee.updated_at = utcnow()
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
    changed_on = effective_on or utcnow().date()
    if old_status != employee.status:
        session.add(
            EmployeeStatusChange(
                employee_id=employee.id, status=employee.status, effective_on=changed_on
            )
        )
    session.flush()
    after = _employee_snapshot(session, employee)
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


def get_employee(session: Session, employee_id: int) -> Employee | None:
    return session.get(Employee, employee_id)


def employee_by_number(session: Session, number: str) -> Employee | None:
    """Return the employee with exactly this employee number, or None."""
    return session.exec(select(Employee).where(Employee.number == number.strip())).first()


def is_employee_address(session: Session, email: str) -> bool:
    """Return whether an employee record (past or present) has this email address."""
    address = email.strip().lower()
    return bool(address) and (
        session.exec(select(Employee.id).where(Employee.email == address)).first() is not None
    )


@dataclass
class References:
    """Unit, position and supervisor ids resolved from the codes people type."""

    unit_id: int | None = None
    position_id: int | None = None
    supervisor_id: int | None = None
    problems: dict[str, str] = field(default_factory=dict)


def resolve_references(
    session: Session,
    *,
    unit_code: str | None = None,
    unit_id: int | None = None,
    position_code: str = "",
    supervisor_number: str = "",
) -> References:
    """Return the ids for a unit (by id or code), a position code and a supervisor number.

    Problems are keyed by the name of the input that was given (unit_code, position_code, …).
    """
    found = References()
    if unit_code is not None:
        unit = unit_by_code(session, unit_code.strip()) if unit_code.strip() else None
        if unit is None:
            found.problems["unit_code"] = (
                _("No unit has the code %(code)s.", code=unit_code.strip())
                if unit_code.strip()
                else _("Choose a unit.")
            )
        else:
            found.unit_id = unit.id
    elif unit_id is None or session.get(Unit, unit_id) is None:
        found.problems["unit_id"] = _("Choose a unit.")
    else:
        found.unit_id = unit_id
    if position_code.strip():
        position = position_by_code(session, position_code.strip())
        if position is None:
            found.problems["position_code"] = _(
                "No position has the code %(code)s.", code=position_code.strip()
            )
        else:
            found.position_id = position.id
    if supervisor_number.strip():
        supervisor = employee_by_number(session, supervisor_number)
        if supervisor is None:
            found.problems["supervisor_number"] = _(
                "No employee has the number %(number)s.", number=supervisor_number.strip()
            )
        else:
            found.supervisor_id = supervisor.id
    return found


@dataclass
class EmployeeFilters:
    """What the employee list, its export and the API filter on."""

    q: str = ""
    unit_id: int | None = None
    include_sub_units: bool = True
    position_id: int | None = None
    status: str = ""
    supervisor_id: int | None = None


Supervisor = aliased(Employee, name="supervisor")


NAME_ORDER = (col(Employee.last_name), col(Employee.first_name), col(Employee.id))


def employees_statement(session: Session, filters: EmployeeFilters):
    """Return a query of (Employee, Unit, Position | None, supervisor Employee | None) rows.

    One query with joins, ordered by name (an index serves the order).
    """
    statement = (
        select(Employee, Unit, Position, Supervisor)
        .join(Unit, col(Employee.unit_id) == Unit.id)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .join(Supervisor, col(Employee.supervisor_id) == Supervisor.id, isouter=True)
        .order_by(*NAME_ORDER)
    )
    return filter_employees(session, statement, filters)


def employees_page(
    session: Session, filters: EmployeeFilters, *, page: int, per_page: int = 50
) -> tuple[list[Any], int]:
    """Return one page of `employees_statement` rows and how many employees match in all.

    Counting and choosing the page's ids read the employee table alone (the name index covers
    the order, even deep into the list); only the chosen rows are joined. With 100,000 people
    that keeps a page in milliseconds where counting the joined query took half a second.
    """
    page = max(1, page)
    total = session.exec(
        filter_employees(session, select(func.count()).select_from(Employee), filters)
    ).one()
    order = NAME_ORDER
    if filters.q.split() and session.get_bind().dialect.name == "sqlite":
        # A text search reads every row: SQLite would still walk the name index and fetch each
        # row from it (4× slower than scanning the table and sorting the few matches). Sorting
        # on an expression, the same order, makes it choose the scan.
        order = (
            func.coalesce(Employee.last_name, ""),
            func.coalesce(Employee.first_name, ""),
            col(Employee.id),
        )
    ids = session.exec(
        filter_employees(session, select(Employee.id), filters)
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    if not ids:
        return [], total
    rows = session.exec(
        employees_statement(session, EmployeeFilters()).where(col(Employee.id).in_(ids))
    ).all()
    return list(rows), total


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_employees(session: Session, statement, filters: EmployeeFilters):
    """Return `statement` (over Employee) narrowed to the filters.

    The text search matches every word of `q` anywhere in the number, names or email, so
    "ruiz mario" finds Mario Ruiz; one expression per row keeps a scan of 100,000 cheap.
    """
    words = filters.q.lower().split()
    if words:
        haystack = (
            Employee.number
            + " "
            + Employee.first_name
            + " "
            + Employee.last_name
            + " "
            + Employee.email
        )
        # SQLite's LIKE already ignores ASCII case (and its lower() folds nothing else), so
        # lower() would only cost time; PostgreSQL's LIKE is case-sensitive.
        if session.get_bind().dialect.name != "sqlite":
            haystack = func.lower(haystack)
        for word in words:
            statement = statement.where(haystack.like(_like_pattern(word), escape="\\"))
    if filters.unit_id is not None:
        if filters.include_sub_units:
            statement = statement.where(
                col(Employee.unit_id).in_(subtree_ids(session, filters.unit_id))
            )
        else:
            statement = statement.where(Employee.unit_id == filters.unit_id)
    if filters.position_id is not None:
        statement = statement.where(Employee.position_id == filters.position_id)
    if filters.status:
        statement = statement.where(Employee.status == filters.status)
    if filters.supervisor_id is not None:
        statement = statement.where(Employee.supervisor_id == filters.supervisor_id)
    return statement


def qualification_codes_of(session: Session, employee_ids: list[int]) -> dict[int, list[str]]:
    """Return {employee_id: [qualification codes]} for a batch of employees, in one query."""
    table: dict[int, list[str]] = {eid: [] for eid in employee_ids}
    if not employee_ids:
        return table
    for employee_id, code in session.exec(
        select(EmployeeQualification.employee_id, Qualification.code)
        .join(Qualification, col(EmployeeQualification.qualification_id) == Qualification.id)
        .where(col(EmployeeQualification.employee_id).in_(employee_ids))
        .order_by(col(Qualification.code))
    ):
        table[employee_id].append(code)
    return table


def supervisor_chain(session: Session, employee: Employee) -> list[Employee]:
    """Return the employee's supervisor, their supervisor, and so on up to the top."""
    chain: list[Employee] = []
    seen = {employee.id}
    current = session.get(Employee, employee.supervisor_id) if employee.supervisor_id else None
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = session.get(Employee, current.supervisor_id) if current.supervisor_id else None
    return chain


def status_history(session: Session, employee_id: int) -> list[EmployeeStatusChange]:
    """Return the employee's status changes, newest first."""
    return list(
        session.exec(
            select(EmployeeStatusChange)
            .where(EmployeeStatusChange.employee_id == employee_id)
            .order_by(
                col(EmployeeStatusChange.effective_on).desc(),
                col(EmployeeStatusChange.id).desc(),
            )
        )
    )


@dataclass(frozen=True)
class PlacementChange:
    """A change of an employee's unit, position or status, as the audit trail recorded it."""

    at: datetime
    what: str  # "unit", "position" or "status"
    before: Any  # unit or position id, or status
    after: Any
    before_label: str  # the unit's or position's code and name, or the status
    after_label: str
    audit_seq: int


def _placement_label(session: Session, what: str, value: Any) -> str:
    if value is None:
        return ""
    if what == "unit":
        unit = session.get(Unit, value)
        return f"{unit.code} {unit.name}" if unit else str(value)
    if what == "position":
        position = session.get(Position, value)
        return f"{position.code} {position.title}" if position else str(value)
    return str(value)


def placement_changes(
    session: Session, *, employee_id: int, since: datetime
) -> list[PlacementChange]:
    """Return the changes of the employee's unit, position and status recorded at or after
    `since` (by hand or by a roster import), oldest first.

    Read from the hash-chained audit trail, which keeps every such change with its before and
    after: the employee row itself keeps only the present. Read only (for the reporting
    channel's burden-of-proof pack).
    """
    entries = session.exec(
        select(audit.AuditEntry)
        .where(
            audit.AuditEntry.entity_type == "employee",
            audit.AuditEntry.entity_id == str(employee_id),
            audit.AuditEntry.action == "employee.updated",
            col(audit.AuditEntry.at) >= since,
        )
        .order_by(col(audit.AuditEntry.seq))
    ).all()
    found = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        for what, key in (("unit", "unit_id"), ("position", "position_id"), ("status", "status")):
            if before.get(key) != after.get(key):
                found.append(
                    PlacementChange(
                        entry.at,
                        what,
                        before.get(key),
                        after.get(key),
                        _placement_label(session, what, before.get(key)),
                        _placement_label(session, what, after.get(key)),
                        entry.seq,
                    )
                )
    return found


def qualifications_of(session: Session, employee_id: int) -> list[Qualification]:
    """Return the employee's qualifications, by code."""
    return list(
        session.exec(
            select(Qualification)
            .join(
                EmployeeQualification,
                col(EmployeeQualification.qualification_id) == Qualification.id,
            )
            .where(EmployeeQualification.employee_id == employee_id)
            .order_by(col(Qualification.code))
        )
    )


def direct_reports(session: Session, supervisor_id: int) -> list[Employee]:
    """Return the people who report to an employee (and have not left)."""
    return list(
        session.exec(
            select(Employee)
            .where(Employee.supervisor_id == supervisor_id, Employee.status != EmployeeStatus.left)
            .order_by(col(Employee.last_name), col(Employee.first_name))
        )
    )


def is_supervisor_of(session: Session, *, supervisor_id: int, employee_id: int) -> bool:
    """True if `supervisor_id` is the employee's direct supervisor."""
    employee = session.get(Employee, employee_id)
    return employee is not None and employee.supervisor_id == supervisor_id


# --- qualifications ---------------------------------------------------------------------------


def ensure_qualification(
    session: Session, *, code: str, name_es: str, name_en: str, is_procurement: bool
) -> Qualification:
    """Return the qualification with `code`, creating it if needed."""
    found = session.exec(select(Qualification).where(Qualification.code == code)).first()
    if found is not None:
        return found
    qualification = Qualification(
        code=code, name_es=name_es, name_en=name_en, is_procurement=is_procurement
    )
    session.add(qualification)
    session.flush()
    return qualification


QUALIFICATION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def create_qualification(
    session: Session,
    *,
    code: str,
    name_es: str,
    name_en: str,
    is_procurement: bool,
    actor: object = None,
) -> Qualification:
    """Create a qualification (audited; the caller commits)."""
    code = code.strip()
    problems: dict[str, str] = {}
    status: dict[str, int] = {}
    if not code:
        problems["code"] = _("Enter a code.")
    elif len(code) > 40:
        problems["code"] = _("Use at most %(n)s characters.", n=40)
    elif not QUALIFICATION_CODE.match(code):
        # "|" separates codes in import files, so it (and spaces) cannot be part of one.
        problems["code"] = _("Use letters, digits, dots, dashes and underscores only.")
    elif session.exec(select(Qualification).where(Qualification.code == code)).first():
        problems["code"] = _("Another qualification already has this code.")
        status["code"] = 409
    for name_field, value in (("name_es", name_es), ("name_en", name_en)):
        if not value.strip():
            problems[name_field] = _("Enter the name in both languages.")
        elif len(value.strip()) > 200:
            problems[name_field] = _("Use at most %(n)s characters.", n=200)
    _raise_first(problems, status)
    qualification = Qualification(
        code=code,
        name_es=name_es.strip(),
        name_en=name_en.strip(),
        is_procurement=is_procurement,
    )
    session.add(qualification)
    session.flush()
    audit.record(
        session,
        action="qualification.created",
        actor=actor,
        entity_type="qualification",
        entity_id=qualification.id,
        after=audit.snapshot(qualification),
    )
    return qualification


def list_qualifications(session: Session) -> list[tuple[Qualification, int]]:
    """Return (qualification, people holding it who have not left), by code."""
    holders = dict(
        session.exec(
            select(EmployeeQualification.qualification_id, func.count())
            .join(Employee, col(EmployeeQualification.employee_id) == Employee.id)
            .where(Employee.status != EmployeeStatus.left)
            .group_by(EmployeeQualification.qualification_id)
        ).all()
    )
    return [
        (q, holders.get(q.id, 0))
        for q in session.exec(select(Qualification).order_by(col(Qualification.code)))
    ]
