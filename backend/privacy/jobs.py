"""The retention job: once a day, delete or anonymise what is past its retention period.

It runs exactly the dry run an administrator sees on /admin/privacy/retention (the same
`plan`), then acts on the listed records (`backend.privacy.service.apply`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import jobs
from backend.config import Settings
from backend.privacy import service as privacy

RETENTION_JOB = "privacy_retention"


@jobs.register(RETENTION_JOB, every=timedelta(days=1), lease=timedelta(minutes=30))
def apply_retention(session: Session, settings: Settings) -> str:
    """Delete or anonymise every record past its period (audited per rule)."""
    done = privacy.apply(session, settings, actor="system")
    per_rule = ", ".join(f"{p.rule.record_type}: {len(p.records)}" for p in done.rules)
    return f"{done.total} records past their retention period handled ({per_rule})"
