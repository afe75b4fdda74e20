"""The training domain's scheduled jobs."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import clock, jobs
from backend.config import Settings
from competency_framework.training import notices as training_notices
from competency_framework.training import service

NIGHTLY = "training_nightly"


@jobs.register(NIGHTLY, every=timedelta(hours=24), lease=timedelta(minutes=30))
def training_nightly(session: Session, settings: Settings) -> str:
    """Induction for recent hires; plans for people without one this year."""
    return service.nightly(session, settings)


EXPIRY = "certificate_expiry"


@jobs.register(EXPIRY, every=timedelta(hours=24), lease=timedelta(minutes=30))
def certificate_expiry(session: Session, settings: Settings) -> str:
    """Certificates 90, 30 and 0 days before expiry: tell holders and HR, propose renewals."""
    return service.run_expiry(session, settings, today=clock.today(settings)).summary()


APPROVALS_WAITING = "training_approvals_waiting"


@jobs.register(APPROVALS_WAITING, every=timedelta(hours=24))
def training_approvals_waiting(session: Session, settings: Settings) -> str:
    """Tell HR about training plans waiting for approval for more than a week."""
    told = training_notices.tell_approvals_waiting(
        session, today=clock.today(settings), zone=settings.time_zone
    )
    return f"{told} notices of plans waiting for approval"


SESSIONS_TOMORROW = "training_sessions_tomorrow"


@jobs.register(SESSIONS_TOMORROW, every=timedelta(hours=1))
def training_sessions_tomorrow(session: Session, settings: Settings) -> str:
    """Remind learners of tomorrow's sessions, with the invitation (hourly: once per seat)."""
    told = training_notices.tell_sessions_tomorrow(
        session, today=clock.today(settings), zone=settings.time_zone
    )
    return f"{told} reminders of tomorrow's sessions"
