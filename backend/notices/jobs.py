"""The notice service's periodic jobs (`backend.jobs`): mail as it comes, and the digests."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import jobs
from backend.config import Settings
from backend.notices import delivery


@jobs.register("notices.deliver", every=timedelta(minutes=1), lease=timedelta(minutes=30))
def deliver_job(session: Session, settings: Settings) -> str:
    """Send the notices' mail that is due (new ones and retries)."""
    return delivery.deliver(session, settings).summary()


@jobs.register("notices.digest", every=timedelta(hours=24), lease=timedelta(hours=1))
def digest_job(session: Session, settings: Settings) -> str:
    """Send each person who chose a daily digest one mail with what waits for them."""
    return delivery.send_digests(session, settings).summary()
