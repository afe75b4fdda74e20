"""The organisation's rules: units, positions, employees and reporting lines.

Other domains read people and units through these functions, never through the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from backend import audit, events
from backend.db import utcnow
from backend.i18n import _
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


class OrgError(ValueError):
    """An organisation rule was broken. `field` names the offending input; message translated."""

    def __init__(self, message: str, *, field: str = "", status_code: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status_code = status_code


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
    if not code:
        raise OrgError(_("Enter a unit code."), field="code")
    if not name.strip():
        raise OrgError(_("Enter a unit name."), field="name")
    if kind not in UnitKind.__members__:
        raise OrgError(_("Unknown kind of unit."), field="kind")
    if unit_by_code(session, code) is not None:
        raise OrgError(_("Another unit already has this code."), field="code", status_code=409)
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
    if "name" in changes and not str(changes["name"]).strip():
        raise OrgError(_("Enter a unit name."), field="name")
    if "kind" in changes and changes["kind"] not in UnitKind.__members__:
        raise OrgError(_("Unknown kind of unit."), field="kind")
    parent_id = changes.get("parent_id", unit.parent_id)
    if parent_id is not None:
        ancestor = session.get(Unit, parent_id)
        if ancestor is None:
            raise OrgError(_("The parent unit does not exist."), field="parent_id")
        while ancestor is not None:
            if ancestor.id == unit.id:
                raise OrgError(_("A unit cannot be placed inside itself."), field="parent_id")
            ancestor = session.get(Unit, ancestor.parent_id) if ancestor.parent_id else None
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
    found, stack = [], [unit_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


# --- positions --------------------------------------------------------------------------------


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
    if not code.strip():
        raise OrgError(_("Enter a position code."), field="code")
    if not title.strip():
        raise OrgError(_("Enter a position title."), field="title")
    if job_family not in JobFamily.__members__:
        raise OrgError(_("Unknown job family."), field="job_family")
    if planned_headcount < 0:
        raise OrgError(_("Planned headcount cannot be negative."), field="planned_headcount")
    if session.exec(select(Position).where(Position.code == code.strip())).first():
        raise OrgError(_("Another position already has this code."), field="code", status_code=409)
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
    if not data.number.strip():
        raise OrgError(_("Enter an employee number."), field="number")
    if not data.first_name.strip() or not data.last_name.strip():
        raise OrgError(_("Enter the first and last name."), field="first_name")
    clash = session.exec(select(Employee).where(Employee.number == data.number.strip())).first()
    if clash is not None and (existing is None or clash.id != existing.id):
        raise OrgError(
            _("Another employee already has this number."), field="number", status_code=409
        )
    if session.get(Unit, data.unit_id) is None:
        raise OrgError(_("The unit does not exist."), field="unit_id")
    if data.position_id is not None and session.get(Position, data.position_id) is None:
        raise OrgError(_("The position does not exist."), field="position_id")
    if data.supervisor_id is not None:
        if session.get(Employee, data.supervisor_id) is None:
            raise OrgError(_("The supervisor does not exist."), field="supervisor_id")
        if existing is not None and would_create_cycle(
            session, employee_id=existing.id, supervisor_id=data.supervisor_id
        ):
            raise OrgError(
                _("This supervisor would create a loop in the reporting lines."),
                field="supervisor_id",
            )
    if data.status not in EmployeeStatus.__members__:
        raise OrgError(_("Unknown status."), field="status")
    if data.birth_date is not None and data.birth_date >= data.hire_date:
        raise OrgError(_("The birth date must be before the hire date."), field="birth_date")


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
    return [found[c] for c in codes]


def _employee_snapshot(session: Session, employee: Employee) -> dict:
    data = audit.snapshot(employee)
    data.pop("updated_at", None)
    data["qualifications"] = sorted(
        session.exec(
            select(Qualification.code)
            .join(
                EmployeeQualification,
                col(EmployeeQualification.qualification_id) == Qualification.id,
            )
            .where(EmployeeQualification.employee_id == employee.id)
        ).all()
    )
    return data


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
    old_status = employee.status
    old_unit, old_position = employee.unit_id, employee.position_id
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
    if old_status != employee.status:
        session.add(
            EmployeeStatusChange(
                employee_id=employee.id,
                status=employee.status,
                effective_on=effective_on or utcnow().date(),
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
    # Facts other domains react to (the reporting channel's HR watch among them), published in
    # this transaction so that what they write commits or rolls back with the change.
    day = (effective_on or utcnow().date()).isoformat()
    if old_unit != employee.unit_id:
        events.publish(
            session,
            events.DomainEvent(
                "org.employee_transferred",
                {"from_unit_id": old_unit, "to_unit_id": employee.unit_id, "effective_on": day},
                subject_employee_id=employee.id,
            ),
        )
    if old_position != employee.position_id:
        events.publish(
            session,
            events.DomainEvent(
                "org.role_changed",
                {
                    "from_position_id": old_position,
                    "to_position_id": employee.position_id,
                    "effective_on": day,
                },
                subject_employee_id=employee.id,
            ),
        )
    return employee


def get_employee(session: Session, employee_id: int) -> Employee | None:
    return session.get(Employee, employee_id)


def employee_by_number(session: Session, number: str) -> Employee | None:
    """Return the employee with exactly this employee number, or None."""
    return session.exec(select(Employee).where(Employee.number == number.strip())).first()


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
