"""Side effects of other domains' events, and the nightly training job.

- `appraisal.development_action_agreed` (appraisals): the action becomes a proposed plan item.
- `employee.created` (organisation): a new employee gets the induction programme.
- Nightly: induction for anyone hired recently without it; plans proposed for people who have
  none for the year yet.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import jobs
from backend.config import Settings
from backend.db import utcnow
from backend.events import DomainEvent, subscribe
from backend.org.models import Employee
from competency_framework.training import induction, plans, service


@subscribe("appraisal.development_action_agreed")
def development_action_agreed(session: Session, event: DomainEvent) -> None:
    payload = event.payload or {}
    employee_id = event.subject_employee_id or payload.get("employee_id")
    if employee_id is None:
        return
    plans.add_development_action(
        session,
        employee_id=int(employee_id),
        action_id=payload.get("action_id"),
        appraisal_id=payload.get("appraisal_id"),
        competency_code=payload.get("competency_code"),
        description=str(payload.get("description") or ""),
    )


@subscribe("employee.created")
def employee_created(session: Session, event: DomainEvent) -> None:
    if event.subject_employee_id is None:
        return
    employee = session.get(Employee, event.subject_employee_id)
    if employee is None:
        return
    today = utcnow().date()
    if induction.is_new(employee, today=today, window_days=service.rules().induction_window_days):
        induction.assign_induction(session, employee=employee, actor=None, today=today)


@jobs.register("training_nightly", every=timedelta(hours=24), lease=timedelta(minutes=30))
def training_nightly(session: Session, settings: Settings) -> str:
    """Induction for recent hires; plans for people without one this year."""
    assigned = induction.assign_to_new_staff(session, actor=None)
    summary = plans.propose_plans(
        session, year=service.plan_year(settings), actor=None, only_missing=True
    )
    return (
        f"{assigned} inductions assigned; {summary.plans_created} plans proposed "
        f"({summary.items} items)"
    )
