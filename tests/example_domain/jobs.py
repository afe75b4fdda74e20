"""The example domain's scheduled work."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import jobs
from backend.config import Settings
from tests.example_domain import service


@jobs.register("example.tidy", every=timedelta(days=1))
def tidy_old_notes(session: Session, settings: Settings) -> str:
    return f"{service.tidy(session)} old notes removed"
