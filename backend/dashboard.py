"""The dashboard: each domain contributes panels for the roles it serves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, literal, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User, UserRole
from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.i18n import N_
from backend.org.models import Employee, EmployeeStatus, Position, Unit, person_name


@dataclass
class Panel:
    """One card on the dashboard, rendered with `template` and `context`."""

    title: str  # an N_() message id
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


PanelBuilder = Callable[[Session, Principal], Panel | None]
_builders: list[PanelBuilder] = []


def panel(builder: PanelBuilder) -> PanelBuilder:
    """Register a function that returns a Panel for a principal, or None."""
    if builder not in _builders:
        _builders.append(builder)
    return builder


def panels_for(session: Session, principal: Principal) -> list[Panel]:
    """Return the panels that apply to `principal`, in order."""
    built = [p for b in _builders if (p := b(session, principal)) is not None]
    return sorted(built, key=lambda p: p.order)


# The two personal cards, each one prebuilt statement read as plain rows: every signed-in
# member of staff sees them on every visit to the start page.
_employee, _unit, _position = Employee.__table__.c, Unit.__table__.c, Position.__table__.c
_boss_table = Employee.__table__.alias("boss")
_boss = _boss_table.c
_MY_RECORD = (
    sa_select(
        _employee.number,
        _employee.hire_date,
        _unit.name.label("unit"),
        _position.title.label("position"),
        _boss.first_name.label("supervisor_first_name"),
        _boss.last_name.label("supervisor_last_name"),
    )
    .select_from(
        Employee.__table__.join(Unit.__table__, _unit.id == _employee.unit_id)
        .outerjoin(Position.__table__, _position.id == _employee.position_id)
        .outerjoin(_boss_table, _boss.id == _employee.supervisor_id)
    )
    .where(_employee.id == bindparam("employee_id"))
)
_MY_TEAM = (
    sa_select(_employee.first_name, _employee.last_name, _position.title.label("position"))
    .select_from(
        Employee.__table__.outerjoin(Position.__table__, _position.id == _employee.position_id)
    )
    .where(
        _employee.supervisor_id == bindparam("employee_id"),
        _employee.status != EmployeeStatus.left,
    )
    .order_by(_employee.last_name)
)


@panel
def my_record(session: Session, principal: Principal) -> Panel | None:
    if principal.user.employee_id is None:
        return None
    record = session.execute(_MY_RECORD, {"employee_id": principal.user.employee_id}).first()
    if record is None:
        return None
    supervisor = (
        person_name(record.supervisor_first_name, record.supervisor_last_name)
        if record.supervisor_first_name is not None
        else None
    )
    return Panel(
        N_("My record"),
        "dashboard/my_record.html",
        {"record": record, "supervisor": supervisor},
        order=10,
    )


@panel
def my_team(session: Session, principal: Principal) -> Panel | None:
    if not principal.has_role(Role.supervisor) or principal.user.employee_id is None:
        return None
    rows = session.execute(_MY_TEAM, {"employee_id": principal.user.employee_id})
    reports = [(person_name(r.first_name, r.last_name), r.position) for r in rows]
    return Panel(N_("My team"), "dashboard/my_team.html", {"reports": reports}, order=20)


# One round trip for the whole summary: (section, key, count, sum).
_ORG_SUMMARY = union_all(
    select(literal("unit"), Unit.kind, func.count(), literal(0)).group_by(Unit.kind),
    select(literal("employee"), Employee.status, func.count(), literal(0)).group_by(
        Employee.status
    ),
    select(
        literal("position"),
        literal(""),
        func.count(),
        func.coalesce(func.sum(Position.planned_headcount), 0),
    ),
)


@panel
def organisation_summary(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.view_org):
        return None
    rows = session.execute(_ORG_SUMMARY).all()
    by_kind = sorted((key, count) for section, key, count, _sum in rows if section == "unit")
    by_status = {key: count for section, key, count, _sum in rows if section == "employee"}
    positions = next((count, total) for section, _k, count, total in rows if section == "position")
    return Panel(
        N_("Organisation"),
        "dashboard/organisation.html",
        {
            "units_by_kind": by_kind,
            "by_status": by_status,
            "positions": positions[0],
            "planned": positions[1],
        },
        order=30,
    )


@panel
def accounts_summary(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.manage_users):
        return None
    total, active = session.exec(
        select(func.count(), func.count().filter(col(User.is_active).is_(True)))
    ).one()
    by_role = session.exec(
        select(UserRole.role, func.count()).group_by(UserRole.role).order_by(UserRole.role)
    ).all()
    return Panel(
        N_("Accounts"),
        "dashboard/accounts.html",
        {"total": total, "active": active or 0, "by_role": by_role},
        order=40,
    )


@panel
def audit_summary(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.view_audit):
        return None
    recent = session.exec(
        select(audit.AuditEntry).order_by(col(audit.AuditEntry.seq).desc()).limit(8)
    ).all()
    head = session.get(audit.AuditHead, 1)
    return Panel(
        N_("Audit log"),
        "dashboard/audit.html",
        {"recent": recent, "length": head.seq if head else 0},
        order=50,
    )
