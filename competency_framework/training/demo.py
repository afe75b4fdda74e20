"""The training side of the demo: the seeded catalogue, unit budgets, proposed plans, induction
for recent hires and the supplier learner demo account. Idempotent; never in production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend import clock
from backend.auth.models import User
from backend.config import Settings
from backend.org import service as org_service
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    Qualification,
    Unit,
    UnitKind,
)
from competency_framework.training import service
from competency_framework.training.models import Audience, ExternalLearner, TrainingActivity

# Pesos per person in post, by kind of unit: procurement units train most.
BUDGET_PER_PERSON = {UnitKind.procurement_unit.value: 4500, UnitKind.user_area.value: 2500}
DEFAULT_BUDGET_PER_PERSON = 3000
SUPPLIER_EMAIL = "supplier@demo.merito.mx"
EMPLOYEE_EMAIL = "employee@demo.merito.mx"
# The demo employee's procurement certification expires in this many days; a few colleagues'
# expire later or expired lately (HR's list on /org/qualifications).
DEMO_EXPIRY_DAYS = 20
COLLEAGUE_EXPIRY_DAYS = (-10, 45, 75, 120)


@dataclass
class TrainingDemoSummary:
    activities: int
    budgets: int
    plans: int
    items: int
    inductions: int


def seed(engine: Engine, settings: Settings) -> TrainingDemoSummary:
    """Load the catalogue and give the demo organisation budgets, plans and inductions."""
    if settings.environment == "production":
        raise RuntimeError("The training demo is never loaded in production.")
    with Session(engine) as session:
        session.info["settings"] = settings
        created = service.load_catalogue(session, settings=settings)
        year = service.plan_year(settings)
        existing = service.budgets(session, year=year)
        headcount = session.exec(
            select(Employee.unit_id, Unit.kind, func.count())
            .join(Unit, Unit.id == Employee.unit_id)
            .where(Employee.status != EmployeeStatus.left)
            .group_by(Employee.unit_id, Unit.kind)
        ).all()
        budgets = 0
        for unit_id, kind, people in headcount:
            if unit_id in existing:
                continue
            per_person = BUDGET_PER_PERSON.get(kind, DEFAULT_BUDGET_PER_PERSON)
            amount = round(people * per_person, -3)
            session.add(service.TrainingBudget(unit_id=unit_id, year=year, amount=amount))
            budgets += 1
        session.flush()
        inductions = service.assign_to_new_staff(session, actor=None)
        summary = service.propose_plans(session, year=year, actor=None, only_missing=True)
        _expiring_certificates(session, settings)
        _supplier_learner(session)
        session.commit()
    return TrainingDemoSummary(created, budgets, summary.plans_created, summary.items, inductions)


def _supplier_learner(session: Session) -> None:
    """Link the demo supplier account to a learner record enrolled in the CompraNet workshop."""
    user = session.exec(select(User).where(User.email == SUPPLIER_EMAIL)).first()
    if user is None or service.learner_for_user(session, user) is not None:
        return
    learner = ExternalLearner(
        full_name=user.full_name,
        email=user.email,
        organisation="Distribuidora Médica del Bajío, S.A. de C.V. (demo)",
        user_id=user.id,
    )
    session.add(learner)
    session.flush()
    for activity in session.exec(select(TrainingActivity)):
        if Audience.suppliers.value not in (activity.audience or []):
            continue
        upcoming = service.list_sessions(session, activity, upcoming_only=True)
        if upcoming:
            service.enrol_learner(
                session, training_session_id=upcoming[0].id, learner=learner, actor=None
            )
            break


def _expiring_certificates(session: Session, settings: Settings) -> None:
    """Give the demo employee a procurement certification that expires within 30 days (and a
    few colleagues others), then run the expiry job: the notice and the renewal proposal show
    in the demo at once. Only qualifications without an expiry yet are touched."""
    today = clock.today(settings)
    qualification = session.exec(
        select(Qualification)
        .where(col(Qualification.is_procurement).is_(True))
        .order_by(col(Qualification.id))
    ).first()
    user = session.exec(select(User).where(User.email == EMPLOYEE_EMAIL)).first()
    if qualification is None or user is None or user.employee_id is None:
        return
    if session.get(EmployeeQualification, (user.employee_id, qualification.id)) is None:
        session.add(
            EmployeeQualification(employee_id=user.employee_id, qualification_id=qualification.id)
        )
        session.flush()
    colleagues = session.exec(
        select(EmployeeQualification.employee_id)
        .join(Employee, col(Employee.id) == EmployeeQualification.employee_id)
        .where(
            EmployeeQualification.qualification_id == qualification.id,
            EmployeeQualification.employee_id != user.employee_id,
            Employee.status != EmployeeStatus.left,
        )
        .order_by(col(EmployeeQualification.employee_id))
        .limit(len(COLLEAGUE_EXPIRY_DAYS))
    ).all()
    for employee_id, days in [
        (user.employee_id, DEMO_EXPIRY_DAYS),
        *zip(colleagues, COLLEAGUE_EXPIRY_DAYS, strict=False),
    ]:
        link = session.get(EmployeeQualification, (employee_id, qualification.id))
        if link.expires_on is None:
            org_service.set_qualification_expiry(
                session,
                employee_id=employee_id,
                qualification_id=qualification.id,
                expires_on=today + timedelta(days=days),
                actor="demo",
            )
    service.run_expiry(session, settings, today=today)


def after_demo(engine: Engine, settings: Settings) -> str:
    """The `demo.after` hook: seed the training demo and return the line the CLI prints."""
    done = seed(engine, settings)
    return (
        f"Training: {done.activities} catalogue activities added, {done.budgets} unit budgets, "
        f"{done.plans} plans proposed ({done.items} activities), {done.inductions} inductions."
    )
