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
from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    FeedbackInvitation,
    FeedbackRelation,
    ManagerTraining,
    TrainingSource,
)
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
    employee_email = next((a.email for a in accounts if a.role == Role.employee), None)
    _feedback(session, hr, year=year, employee_email=employee_email)


# The behaviours the demo's feedback round rates, and what the demo's colleagues wrote.
FEEDBACK_ITEMS = ("communication", "relationship_management", "results_focus", "leadership")
FEEDBACK_COMMENTS = (
    "Explica con claridad los plazos de cada licitación.",
    "Comparte la información del mercado con todo el equipo.",
    "",
    "Podría pedir ayuda antes cuando se acumulan los expedientes.",
    "Escucha a las áreas requirentes antes de proponer una estrategia.",
)


@dataclass(frozen=True)
class _DemoColleague:
    """A colleague of the demo answering a request for feedback (an `Actor`)."""

    user: object

    def can(self, permission: Permission) -> bool:
        return False


def _feedback(session: Session, hr: _DemoHR, *, year: int, employee_email: str | None) -> None:
    """Switch feedback on in the demo cycle: six peers asked about the demo employee, five of
    whom answered (the pooled results show), and four of the demo supervisor's other reports
    answered upward feedback, so the demo employee's own pending answer makes it five."""
    cycle = (
        session.execute(select(AppraisalCycle).where(AppraisalCycle.name == cycle_name(year)))
        .scalars()
        .first()
    )
    employee_user = session.execute(select(User).where(User.email == employee_email)).scalars()
    employee_id = next((u.employee_id for u in employee_user), None)
    if cycle is None or employee_id is None or service.feedback_round(session, cycle.id):
        return
    known = {c.code for c in service.feedback_items(session)}
    items = [code for code in FEEDBACK_ITEMS if code in known]
    service.open_feedback_round(session, cycle=cycle, items=items, actor=hr)
    appraisals = {a.employee_id: a for a, _c in _cycle_appraisals(session, cycle)}
    mine = appraisals.get(employee_id)
    if mine is None:
        return
    for peer in service.peer_choices(session, appraisal=mine)[:6]:
        service.invite_peer(session, appraisal=mine, peer_id=peer.id, actor=hr)
    asked = service.invitations_for
    peers = session.execute(
        select(FeedbackInvitation.rater_id).where(
            FeedbackInvitation.appraisal_id == mine.id,
            FeedbackInvitation.relation == FeedbackRelation.peer,
        )
    ).scalars()
    _answer_some(session, asked, list(peers), appraisal_id=mine.id, limit=5)
    supervisor = appraisals.get(session.get(Employee, employee_id).supervisor_id)
    if supervisor is not None:
        reports = session.execute(
            select(Employee.id).where(
                Employee.supervisor_id == supervisor.employee_id, Employee.id != employee_id
            )
        ).scalars()
        _answer_some(session, asked, list(reports), appraisal_id=supervisor.id, limit=4)


def _cycle_appraisals(session: Session, cycle: AppraisalCycle):
    rows = session.execute(select(Appraisal).where(Appraisal.cycle_id == cycle.id)).scalars()
    return [(a, cycle) for a in rows]


def _answer_some(session, asked, rater_ids, *, appraisal_id: int, limit: int) -> None:
    """Let up to `limit` of `rater_ids` answer their request about `appraisal_id`."""
    answered = 0
    for n, rater_id in enumerate(sorted(rater_ids)):
        if answered >= limit:
            return
        row = next(
            (
                r
                for r in asked(session, employee_id=rater_id)
                if r.invitation.appraisal_id == appraisal_id
                and r.open
                and r.invitation.relation != FeedbackRelation.self
            ),
            None,
        )
        if row is None:
            continue
        ratings = {code: 3 + (n + i) % 3 for i, code in enumerate(row.round.items)}
        service.answer_feedback(
            session,
            row=row,
            ratings=ratings,
            comment=FEEDBACK_COMMENTS[answered % len(FEEDBACK_COMMENTS)],
            actor=_DemoColleague(_Colleague(rater_id)),
        )
        answered += 1


@dataclass(frozen=True)
class _Colleague:
    employee_id: int
    id: int | None = None


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
