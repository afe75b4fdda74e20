"""What competency campaigns tell employees and supervisors (`backend.notices`).

The kinds are declared when this module is imported (the plugin lists it under `subscribers`);
the campaign service calls the `tell_*` functions at the moment things happen, inside its
transaction: a campaign opens (each participant with an account is told, with the deadline)
and HR reminds (those who still owe their self-assessment, and supervisors with
self-assessments to validate). Keys make each notice once per person and campaign or reminder
round.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from backend import notices
from backend.auth.models import User
from backend.i18n import N_

__all__ = ["CAMPAIGN_DUE", "CAMPAIGN_OPEN", "CAMPAIGN_VALIDATION", "tell_employees"]

CAMPAIGN_OPEN = "competency.campaign_open"
CAMPAIGN_DUE = "competency.campaign_due"
CAMPAIGN_VALIDATION = "competency.campaign_validation"
CHUNK = 2000

notices.kind(
    CAMPAIGN_OPEN,
    subject=N_("Your competency self-assessment is open: %(campaign)s"),
    body=N_(
        "The competency campaign %(campaign)s is open. Rate yourself against your role "
        "profile by %(date)s; your supervisor then validates it."
    ),
    label=N_("Competencies: self-assessment campaigns"),
)
notices.kind(
    CAMPAIGN_DUE,
    subject=N_("Reminder: your self-assessment is due on %(date)s"),
    body=N_(
        "HR reminds you that your self-assessment in the competency campaign %(campaign)s is "
        "due on %(date)s and is not finished yet."
    ),
    label=N_("Competencies: self-assessment campaigns"),
)
notices.kind(
    CAMPAIGN_VALIDATION,
    subject=N_("Self-assessments wait for your validation: %(campaign)s"),
    body=N_(
        "Self-assessments of people who report to you wait for your validation in the "
        "competency campaign %(campaign)s (due on %(date)s)."
    ),
    label=N_("Competencies: self-assessments to validate"),
)


def tell_employees(
    session: Session,
    employee_ids: Iterable[int],
    *,
    kind: str,
    key: str,
    params: dict,
    link: str,
) -> int:
    """Tell the active accounts of these employees; return how many were told."""
    ids = sorted(set(employee_ids))
    told = 0
    for start in range(0, len(ids), CHUNK):
        users = session.exec(
            select(User.id).where(
                col(User.employee_id).in_(ids[start : start + CHUNK]),
                col(User.is_active).is_(True),
            )
        ).all()
        if users:
            told += notices.tell(session, to=users, kind=kind, key=key, params=params, link=link)
    return told


def round_key(campaign_id: int, kind: str, at: datetime) -> str:
    """The key of one reminder round of a campaign (HR may remind again another time)."""
    return f"campaign:{campaign_id}:{kind}:{at.isoformat()}"
