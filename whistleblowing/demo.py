"""The reporting channel of the demo: who reads the reports, ready on the first `merito up`.

A real installation's investigators and protection officers create their key pairs when they
first sign in, and an administrator then names each channel's recipients, lead and deputy
(docs/reporting.md, "For administrators"). The demo does both at once, from the demo accounts'
published passwords, so that a visitor can make a report, read it as the demo investigator and
file and read a retaliation complaint without configuring anything:

- every demo key holder (the investigators and the protection officer) has a key pair, wrapped
  under their demo password exactly as their first sign-in would have done;
- every channel has the demo investigator as recipient and lead, and the second demo
  investigator as deputy, so a report whose reporter excludes the first still has a reader.

Idempotent, and it never undoes what an administrator changed: a key pair that exists is kept,
and a channel that already has recipients, a lead or a deputy keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.config import Settings
from whistleblowing import service as reporting
from whistleblowing.models import HolderKey, ReportChannel

LEAD = "investigator"
DEPUTY = "investigator2"


class DemoAccount(Protocol):
    role: str
    email: str
    password: str


def _by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def prepare(session: Session, settings: Settings, accounts: Sequence[DemoAccount]) -> None:
    """Give the demo key holders their key pairs and every channel its readers (the caller
    commits)."""
    from backend import demo

    admin = _by_email(session, demo.demo_email("admin"))
    for account in accounts:
        user = _by_email(session, account.email)
        if user is None or not reporting.is_holder(session, user):
            continue
        if session.get(HolderKey, user.id) is None:
            reporting.unlock_holder_key(session, settings, user=user, password=account.password)
    lead = _by_email(session, demo.demo_email(LEAD))
    deputy = _by_email(session, demo.demo_email(DEPUTY))
    if admin is None or lead is None or deputy is None:
        return
    session.flush()
    channels = session.exec(select(ReportChannel).order_by(col(ReportChannel.id))).all()
    for channel in channels:
        if not reporting.channel_recipients(session, channel.id):
            reporting.set_channel_recipients(
                session, actor=admin, channel=channel, user_ids=[lead.id]
            )
        if channel.lead_user_id is None and channel.deputy_user_id is None:
            reporting.set_channel_roles(
                session,
                actor=admin,
                channel=channel,
                lead_user_id=lead.id,
                deputy_user_id=deputy.id,
            )
