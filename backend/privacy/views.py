"""What the privacy staff pages show, built beside the routes (the handlers stay short)."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import User
from backend.clock import today
from backend.org.models import Employee
from backend.privacy import service as privacy
from backend.privacy.models import (
    ARCO_DECISION_LABELS,
    ARCO_KIND_LABELS,
    ARCO_STATUS_LABELS,
    PURPOSE_LABELS,
    ArcoRequest,
    NoticePurpose,
)

LABELS = {
    "kind_labels": ARCO_KIND_LABELS,
    "status_labels": ARCO_STATUS_LABELS,
    "decision_labels": ARCO_DECISION_LABELS,
    "purpose_labels": PURPOSE_LABELS,
}


def request_context(session: Session, settings, arco: ArcoRequest, principal) -> dict:
    """HR's page of one request: who asked, the deadline, the answer form."""
    person = session.get(User, arco.user_id)
    employee = session.get(Employee, person.employee_id) if person.employee_id else None
    answered_by = session.get(User, arco.answered_by_id) if arco.answered_by_id else None
    return {
        **LABELS,
        "arco": arco,
        "person": person,
        "employee": employee,
        "answered_by": answered_by,
        "steps": privacy.allowed_steps(arco, principal),
        "today": today(settings),
        "days_left": privacy.working_days_left,
        "form": "",
        "errors": {},
        "values": {
            "decision": "",
            "answer": "",
            "first_name": "",
            "last_name": "",
            "close_account": False,
        },
    }


def notices_context(session: Session, purpose: str) -> dict:
    """The administrators' notices page: every purpose's versions, the form for a new one
    (filled with the version in force, to be edited)."""
    chosen = purpose if purpose in {p.value for p in NoticePurpose} else NoticePurpose.employees
    current = privacy.current_notice(session, chosen)
    return {
        **LABELS,
        "purpose": chosen,
        "purposes": list(NoticePurpose),
        "versions": privacy.notice_versions(session, chosen),
        "errors": {},
        "values": {
            "purpose": chosen,
            "title_es": current.title_es if current else "",
            "title_en": current.title_en if current else "",
            "body_es": current.body_es if current else "",
            "body_en": current.body_en if current else "",
        },
    }


def retention_context(session: Session, settings) -> dict:
    """The retention page: every rule with its period, and the dry run's list."""
    return {
        "plan": privacy.plan(session, settings),
        "periods": privacy.periods(session),
        "form": "",
        "errors": {},
        "values": {},
    }
