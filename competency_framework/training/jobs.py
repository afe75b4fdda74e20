"""The training domain's scheduled jobs."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import jobs
from backend.config import Settings
from competency_framework.training import service

NIGHTLY = "training_nightly"


@jobs.register(NIGHTLY, every=timedelta(hours=24), lease=timedelta(minutes=30))
def training_nightly(session: Session, settings: Settings) -> str:
    """Induction for recent hires; plans for people without one this year."""
    return service.nightly(session, settings)
