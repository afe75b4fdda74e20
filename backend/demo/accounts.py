"""One demo account per role, with fixed, published, development-only passwords.

After the accounts exist, every domain's `demo.accounts` hook gives them what its journeys need
(the reporting channel's key pairs, an open appraisal cycle, competitions at every stage…).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from backend import plugins
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.demo import roster_import as roster_import_demo
from backend.demo.institute import EMAIL_DOMAIN
from backend.demo.organisation import DemoError
from backend.org.models import (
    Employee,
    EmployeeStatus,
    Position,
    Unit,
    UnitKind,
)
from backend.privacy import demo as privacy_demo


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in: role, email and its fixed, development-only password."""

    role: str
    email: str
    password: str
    full_name: str
    employee_id: int | None = None


# --- demo accounts ----------------------------------------------------------------------------

# (account, role, account name for unlinked accounts). Passwords are fixed and published in the
# docs: these accounts exist to try Mérito out and must never exist in production. The account
# names the email and the password; it is the role's, except for the second investigator (the
# demo channels' deputy, so a report whose reporter excludes the first still has a reader).
DEMO_ROLES: list[tuple[str, str, str]] = [
    ("admin", Role.admin, "Administración del sistema (demo)"),
    ("hr_planner", Role.hr_planner, "Planeación de recursos humanos (demo)"),
    ("supervisor", Role.supervisor, ""),
    ("employee", Role.employee, ""),
    ("panel_member", Role.panel_member, "Integrante de comité de selección (demo)"),
    ("panel_member2", Role.panel_member, "Integrante de comité de selección (demo 2)"),
    ("panel_member3", Role.panel_member, "Integrante de comité de selección (demo 3)"),
    ("candidate", Role.candidate, "Persona candidata externa (demo)"),
    ("investigator", Role.investigator, "Investigación de denuncias (demo)"),
    ("investigator2", Role.investigator, "Investigación de denuncias, suplencia (demo)"),
    ("protection_officer", Role.protection_officer, "Protección a personas denunciantes (demo)"),
    ("auditor", Role.auditor, "Auditoría (demo)"),
    ("supplier", Role.supplier, "Representante de proveedor (demo)"),
]


def demo_email(account: str) -> str:
    """Return the sign-in email of the demo account (`DEMO_ROLES`' first column, or a role)."""
    return f"{account.replace('_', '-')}@{EMAIL_DOMAIN}"


def demo_password(account: str) -> str:
    """Return the fixed, development-only password of the demo account."""
    return f"demo-{account.replace('_', '-')}-2026"


def _demo_supervisor(session: Session) -> Employee | None:
    """Return the head of a procurement unit with the most active reports (ties: by number)."""
    reports = (
        select(Employee.supervisor_id, func.count().label("reports"))
        .where(
            col(Employee.supervisor_id).is_not(None),
            Employee.status == EmployeeStatus.active,
        )
        .group_by(Employee.supervisor_id)
        .subquery()
    )
    linked = select(User.employee_id).where(col(User.employee_id).is_not(None))
    base = (
        select(Employee)
        .join(reports, reports.c.supervisor_id == Employee.id)
        .where(
            Employee.status == EmployeeStatus.active,
            col(Employee.id).not_in(linked),
        )
        .order_by(reports.c.reports.desc(), col(Employee.number))
    )
    in_procurement = (
        base.join(Position, col(Employee.position_id) == Position.id)
        .join(Unit, col(Employee.unit_id) == Unit.id)
        .where(Position.role_code == "head_of_unit", Unit.kind == UnitKind.procurement_unit)
    )
    return (
        session.execute(in_procurement.limit(1)).scalars().first()
        or session.execute(base.limit(1)).scalars().first()
    )


def _demo_employee(session: Session, supervisor_id: int) -> Employee | None:
    """Return an active, unlinked direct report of the supervisor (by number)."""
    linked = select(User.employee_id).where(col(User.employee_id).is_not(None))
    return (
        session.execute(
            select(Employee)
            .where(
                Employee.supervisor_id == supervisor_id,
                Employee.status == EmployeeStatus.active,
                col(Employee.id).not_in(linked),
            )
            .order_by(col(Employee.number))
            .limit(1)
        )
        .scalars()
        .first()
    )


def create_demo_accounts(session: Session, settings: Settings) -> list[DemoAccount]:
    """Return one demo account per role, creating those missing (the caller commits).

    Idempotent: existing demo accounts are returned as they are. The supervisor account is
    linked to an employee who has direct reports, and the employee account to one of them, so
    both journeys can be walked. The demo investigators and protection officer get their key
    pairs and the reporting channels their readers, so a report can be made and read on the
    first `merito up`: every domain's `demo.accounts` hook runs, in order. Refuses in production.
    """
    if settings.environment == "production":
        raise DemoError("Demo accounts are never created in production.")
    accounts: list[DemoAccount] = []
    supervisor: Employee | None = None
    for account, role, label in DEMO_ROLES:
        email, password = demo_email(account), demo_password(account)
        user = session.execute(select(User).where(User.email == email)).scalars().first()
        if user is not None:
            if role == Role.supervisor and user.employee_id is not None:
                supervisor = session.get(Employee, user.employee_id)
            accounts.append(DemoAccount(role, email, password, user.full_name, user.employee_id))
            continue
        employee: Employee | None = None
        if role == Role.supervisor:
            employee = supervisor = _demo_supervisor(session)
            if employee is None:
                continue  # nobody has reports yet: there is no supervisor to sign in as
        elif role == Role.employee and supervisor is not None:
            employee = _demo_employee(session, supervisor.id)
        # A supervisor is an employee whose role is derived from reporting lines, not stored.
        roles = [Role.employee] if role in (Role.supervisor, Role.employee) else [Role(role)]
        user = auth_service.create_user(
            session,
            settings,
            email=email,
            full_name=employee.full_name if employee else (label or "Persona servidora (demo)"),
            password=password,
            roles=roles,
            employee_id=employee.id if employee else None,
            locale="es",
            actor="merito demo",
            # Fixed, published passwords would fail the strength check; they are for demos only.
            check_password=False,
        )
        session.flush()
        accounts.append(DemoAccount(role, email, password, user.full_name, user.employee_id))
    # The domains' part: the reporting channel's readers and key pairs, an open appraisal cycle
    # with trained supervisors, the demo supervisor and employee in the open competency
    # campaign, competitions at every stage with the confirmed demo candidate.
    plugins.call_hooks("demo.accounts", session, settings, accounts)
    # The core's privacy part: notices, ARCO requests, records for the retention dry run.
    privacy_demo.prepare(session, settings, accounts)
    # The roster import's part: an HRIS export in the HR planner's uploads, a saved mapping.
    roster_import_demo.prepare(session, settings, accounts)
    return accounts
