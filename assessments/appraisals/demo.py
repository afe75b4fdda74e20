"""Appraisals in the demo: a plan, an open cycle and trained supervisors, ready on `merito up`.

A real installation's HR records the year's plan priorities, opens a cycle and records which
supervisors completed the appraisal-dialogue training (docs/appraisals.md). The demo does the
three at once, so that the demo supervisor and employee can walk a whole dialogue on the first
`merito up`:

- the plan of the demo's year has three priorities (each objective must serve one);
- a cycle for the whole organisation, that calendar year, is open, with the rule that
  supervisors must be trained before they record a dialogue (on, as by default);
- every supervisor (an active employee with active direct reports) is recorded as trained.

Idempotent, and it never undoes what HR changed: priorities are added only to a year without
any, the cycle only when no cycle has its name, and training only for supervisors without a
record. The training records are written in one statement with one audit entry naming how many,
as the demo organisation is (docs/demo.md, "One audit entry"): they decide nothing about a
real person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from sqlalchemy import exists, insert, select
from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import AppraisalCycle, ManagerTraining, TrainingSource
from backend import audit, clock, demo
from backend.auth.models import User
from backend.auth.permissions import Permission, Role, permissions_for
from backend.config import Settings
from backend.org.models import Employee, EmployeeStatus

# The organisation-wide procurement plan's priorities (Spanish, as HR would write them).
PRIORITIES = [
    (
        "Compras consolidadas de medicamentos e insumos",
        "80 % del gasto en medicamentos mediante compras consolidadas",
    ),
    (
        "Licitaciones en los plazos legales",
        "90 % de las licitaciones adjudicadas dentro de los plazos de la LAASSP",
    ),
    (
        "Investigación de mercado en cada contratación",
        "Tres cotizaciones documentadas por contratación",
    ),
]
EVIDENCE = "Constancia del taller «El diálogo de evaluación del desempeño» (demo)"


class DemoAccount(Protocol):
    role: str
    email: str


@dataclass(frozen=True)
class _DemoHR:
    """The demo HR planner acting (an `Actor`: a user and what they may do)."""

    user: User

    def can(self, permission: Permission) -> bool:
        return permission in permissions_for(frozenset({Role.hr_planner}))


def cycle_name(year: int) -> str:
    return f"Evaluación del desempeño {year}"


def prepare(session: Session, settings: Settings, accounts: Sequence[DemoAccount]) -> None:
    """Record the plan, open the cycle and train the supervisors (the caller commits)."""
    hr_email = next((a.email for a in accounts if a.role == Role.hr_planner), None)
    user = session.execute(select(User).where(User.email == hr_email)).scalars().first()
    if user is None:
        return
    hr = _DemoHR(user)
    year = demo.AS_OF.year
    if not service.list_priorities(session, year=year):
        for title, target in PRIORITIES:
            service.add_priority(session, year=year, title=title, target=target, actor=hr)
    named = select(AppraisalCycle.id).where(AppraisalCycle.name == cycle_name(year))
    if session.execute(named).first() is None:
        service.open_cycle(
            session,
            name=cycle_name(year),
            period_start=date(year, 1, 1),
            period_end=date(year, 12, 31),
            plan_year=year,
            unit_ids=[],
            role_codes_chosen=[],
            include_subunits=True,
            require_trained_managers=True,
            actor=hr,
        )
    _train_supervisors(session, hr, completed_on=min(demo.AS_OF, clock.today(settings)))


def _train_supervisors(session: Session, hr: _DemoHR, *, completed_on: date) -> int:
    """Record every untrained supervisor as trained, in one statement; return how many."""
    report = Employee.__table__.alias("report")
    supervisors = (
        select(Employee.id)
        .where(
            Employee.status == EmployeeStatus.active,
            exists().where(
                report.c.supervisor_id == Employee.id,
                report.c.status == EmployeeStatus.active,
            ),
            ~exists().where(ManagerTraining.employee_id == Employee.id),
        )
        .order_by(Employee.id)
    )
    ids = list(session.execute(supervisors).scalars())
    if not ids:
        return 0
    day = completed_on - timedelta(days=200)
    session.execute(
        insert(ManagerTraining),
        [
            {
                "employee_id": employee_id,
                "completed_on": day,
                "evidence": EVIDENCE,
                "source": TrainingSource.hr.value,
                "recorded_by_id": hr.user.id,
                "recorded_at": clock.now(),
            }
            for employee_id in ids
        ],
    )
    audit.record(
        session,
        action="appraisal.demo_supervisors_trained",
        actor=hr.user,
        entity_type="demo",
        entity_id="appraisals",
        after={"supervisors": len(ids), "completed_on": day},
    )
    return len(ids)
