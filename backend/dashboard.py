"""The dashboard: each domain contributes panels for the roles it serves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal, union_all
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User, UserRole
from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.i18n import N_
from backend.org.models import Employee, EmployeeStatus, Position, Unit


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


@panel
def my_record(session: Session, principal: Principal) -> Panel | None:
    if principal.user.employee_id is None:
        return None
    employee = session.get(Employee, principal.user.employee_id)
    if employee is None:
        return None
    unit = session.get(Unit, employee.unit_id)
    position = session.get(Position, employee.position_id) if employee.position_id else None
    supervisor = session.get(Employee, employee.supervisor_id) if employee.supervisor_id else None
    return Panel(
        N_("My record"),
        "dashboard/my_record.html",
        {"employee": employee, "unit": unit, "position": position, "supervisor": supervisor},
        order=10,
    )


@panel
def my_team(session: Session, principal: Principal) -> Panel | None:
    if not principal.has_role(Role.supervisor) or principal.user.employee_id is None:
        return None
    rows = session.exec(
        select(Employee, Position)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .where(
            Employee.supervisor_id == principal.user.employee_id,
            Employee.status != EmployeeStatus.left,
        )
        .order_by(col(Employee.last_name))
    ).all()
    return Panel(N_("My team"), "dashboard/my_team.html", {"reports": rows}, order=20)


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
