"""The reporting channel's scheduled jobs (`backend.jobs`): each one calls the service.

- `case_deadlines` (hourly): the statutory clock of every open case — reminders, overdue
  notices, escalation to the channel's lead;
- `reporter_sessions` (every 10 minutes): forget the reporter sessions of past days and the
  receipt attempts, so neither keeps a trace of when a reporter was active (docs/security.md);
- `case_retention` (hourly): delete cases and retaliation complaints kept long enough, then
  their encrypted files (only after the commit: a failed commit must not lose them);
- `complaint_monitoring` (daily): tell the protection officers a month before the monitoring
  of a closed complaint ends.

Days are the organisation's days (`backend.clock.today`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import clock, jobs
from backend.config import Settings
from whistleblowing import service as reporting
from whistleblowing.service import retaliation


@jobs.register("case_deadlines", every=timedelta(hours=1))
def case_deadlines_job(session: Session, settings: Settings) -> str:
    """The statutory clock of every open case (see `run_deadlines`)."""
    return reporting.run_deadlines(session, today=clock.today(settings)).summary()


@jobs.register("reporter_sessions", every=timedelta(minutes=10))
def reporter_sessions_job(session: Session, settings: Settings) -> str:
    """Delete the reporter sessions of past days and set every receipt budget back to 0."""
    removed = reporting.purge_reporter_sessions(session)
    reporting.forget_receipt_attempts(session)
    return f"{removed} expired reporter sessions removed"


@jobs.register("case_retention", every=timedelta(hours=1))
def case_retention_job(session: Session, settings: Settings) -> str:
    """Apply the retention rules of cases and complaints, then remove their files."""
    today = clock.today(settings)
    run = reporting.apply_retention(session, settings, today=today)
    complaints = retaliation.apply_retention(session, settings, today=today)
    session.commit()
    # Only now that the rows are gone for good: a failed commit must not lose the files.
    reporting.remove_files(settings, run.files)
    retaliation.remove_files(settings, complaints.files)
    return f"{run.summary()}; {complaints.summary()}"


@jobs.register("complaint_monitoring", every=timedelta(hours=24))
def complaint_monitoring_job(session: Session, settings: Settings) -> str:
    """Tell the officers a month before the monitoring of a closed complaint ends."""
    told = retaliation.monitoring_notices(session, today=clock.today(settings))
    return f"{told} monitoring notices"
