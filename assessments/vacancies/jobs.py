"""The competitions' scheduled jobs: interview scores due, and the retention of equal-opportunity
answers.

Every step of a competition is taken by a person (HR opens and closes the test, locks the sift,
publishes the results; candidates apply and appeal), and every time rule is checked when the
step is taken, against `backend.clock`: a window that has closed refuses the step, and the pages
say what is waiting and until when (`service.allowed_steps`). `merito vacancies list` shows the
deadlines.

Two things happen by themselves. Once a competition's last booked interview has ended, panel
members whose interview scores are still missing are reminded that they are due (hourly,
`service.remind_scoring_due`, once per member and last interview). And the optional
equal-opportunity answers of a competition are deleted `service.RETENTION_DAYS` days after it
ends (appointment or cancellation), once a day (docs/vacancies.md, "Equal-opportunity monitoring").
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import jobs
from backend.config import Settings

from . import service

MONITORING_RETENTION_JOB = "vacancy_monitoring_retention"


@jobs.register(MONITORING_RETENTION_JOB, every=timedelta(days=1), lease=timedelta(minutes=30))
def purge_monitoring(session: Session, settings: Settings) -> str:
    """Delete the monitoring answers of competitions past their retention (audited)."""
    deleted = service.purge_expired(session)
    return f"{deleted} equal-opportunity answers past their retention deleted"


SCORING_DUE_JOB = "vacancy_interview_scoring_due"


@jobs.register(SCORING_DUE_JOB, every=timedelta(hours=1))
def scoring_due(session: Session, settings: Settings) -> str:
    """Remind panel members whose interview scores are missing once the interviews are over."""
    told = service.remind_scoring_due(session)
    return f"{told} panel members reminded of interview scores due"
