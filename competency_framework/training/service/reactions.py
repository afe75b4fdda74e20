"""What training does when other domains' events arrive (subscribed in
`competency_framework.training.events`), and the nightly round.

- `appraisal.development_action_agreed` (appraisals): the action becomes a proposed plan item.
- `employee.created` (organisation): a new employee gets the induction programme.
- Nightly: induction for anyone hired recently without it; plans proposed for people who have
  none for the year yet.
"""

from __future__ import annotations

from sqlmodel import Session

from backend import clock
from backend.config import Settings
from backend.events import DomainEvent
from backend.org.models import Employee
from competency_framework.training.service.induction import (
    assign_induction,
    assign_to_new_staff,
    is_new,
)
from competency_framework.training.service.plan_changes import add_development_action
from competency_framework.training.service.plans import propose_plans
from competency_framework.training.service.rules import plan_year, rules, settings_of


def on_development_action_agreed(session: Session, event: DomainEvent) -> None:
    """An agreed appraisal development action becomes a proposed item of the person's plan."""
    payload = event.payload or {}
    employee_id = event.subject_employee_id or payload.get("employee_id")
    if employee_id is None:
        return
    add_development_action(
        session,
        employee_id=int(employee_id),
        action_id=payload.get("action_id"),
        appraisal_id=payload.get("appraisal_id"),
        competency_code=payload.get("competency_code"),
        description=str(payload.get("description") or ""),
    )


def on_employee_created(session: Session, event: DomainEvent) -> None:
    """A new employee hired within the induction window gets the induction programme."""
    if event.subject_employee_id is None:
        return
    employee = session.get(Employee, event.subject_employee_id)
    if employee is None:
        return
    today = clock.today(settings_of(session))
    if is_new(employee, today=today, window_days=rules().induction_window_days):
        assign_induction(session, employee=employee, actor=None, today=today)


def nightly(session: Session, settings: Settings) -> str:
    """Induction for recent hires; plans for people without one this year. Returns a summary."""
    assigned = assign_to_new_staff(session, actor=None)
    summary = propose_plans(session, year=plan_year(settings), actor=None, only_missing=True)
    return (
        f"{assigned} inductions assigned; {summary.plans_created} plans proposed "
        f"({summary.items} items)"
    )
