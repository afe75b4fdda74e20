"""The appraisals domain's scheduled jobs."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from assessments.appraisals import service
from backend import jobs
from backend.config import Settings


@jobs.register("appraisal_reminder_mail", every=timedelta(minutes=1))
def reminder_mail_job(session: Session, settings: Settings) -> str:
    """Email the appraisal reminders HR recorded since the last run."""
    return service.mail_reminders(session, settings).summary()
