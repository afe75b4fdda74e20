"""Reporting channels: who receives what, and the channel's lead and deputy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.i18n import _
from whistleblowing.models import (
    HolderKey,
    Report,
    ReportChannel,
    ReportChannelRecipient,
)
from whistleblowing.service.common import ReportingError

# --- channels ---------------------------------------------------------------------------------


def active_channels(session: Session) -> list[ReportChannel]:
    """Return the channels people can report to, in display order."""
    return list(
        session.exec(
            select(ReportChannel)
            .where(col(ReportChannel.is_active).is_(True))
            .order_by(col(ReportChannel.order), col(ReportChannel.id))
        ).all()
    )


def all_channels(session: Session) -> list[ReportChannel]:
    return list(
        session.exec(
            select(ReportChannel).order_by(col(ReportChannel.order), col(ReportChannel.id))
        )
    )


# Read on every report form and every submission: built once (its cache key is kept with it).
_RECIPIENTS = (
    select(User)
    .join(ReportChannelRecipient, col(ReportChannelRecipient.user_id) == User.id)
    .where(
        ReportChannelRecipient.channel_id == bindparam("channel_id"),
        col(User.is_active).is_(True),
    )
    .order_by(col(User.full_name))
)


def channel_recipients(session: Session, channel_id: int) -> list[User]:
    """Return the active users who receive the channel's new reports."""
    return list(session.exec(_RECIPIENTS, params={"channel_id": channel_id}).all())


def channel_people(session: Session, channel: ReportChannel) -> list[User]:
    """Return everyone who may receive the channel's reports: recipients, lead and deputy."""
    people = {u.id: u for u in channel_recipients(session, channel.id)}
    for user_id in (channel.lead_user_id, channel.deputy_user_id):
        if user_id is not None and user_id not in people:
            user = session.get(User, user_id)
            if user is not None and user.is_active:
                people[user.id] = user
    return sorted(people.values(), key=lambda u: u.full_name)


def recipients_by_channel(session: Session) -> dict[int, list[User]]:
    """Return who may receive each active channel's reports (reporters may exclude them)."""
    return {c.id: channel_people(session, c) for c in active_channels(session)}


def investigators(session: Session) -> list[User]:
    """Return active users with the investigator role."""
    return list(
        session.exec(
            select(User)
            .join(UserRole, col(UserRole.user_id) == User.id)
            .where(UserRole.role == Role.investigator.value, col(User.is_active).is_(True))
            .order_by(col(User.full_name))
        ).all()
    )


def save_channel(
    session: Session,
    *,
    actor: User,
    channel: ReportChannel | None,
    code: str,
    name_es: str,
    name_en: str,
    description_es: str,
    description_en: str,
    is_active: bool,
    order: int,
) -> ReportChannel:
    """Create or update a channel (audited); ReportingError on a missing name or taken code."""
    code = code.strip().lower().replace(" ", "_")
    if not code or not name_es.strip() or not name_en.strip():
        raise ReportingError(_("Enter a code and the name in both languages."), field="code")
    clash = session.exec(select(ReportChannel).where(ReportChannel.code == code)).first()
    if clash is not None and (channel is None or clash.id != channel.id):
        raise ReportingError(_("Another channel already uses this code."), field="code")
    before = audit.snapshot(channel) if channel is not None else None
    channel = channel or ReportChannel(code=code, name_es="", name_en="")
    channel.code, channel.name_es, channel.name_en = code, name_es.strip(), name_en.strip()
    channel.description_es, channel.description_en = description_es.strip(), description_en.strip()
    channel.is_active, channel.order = is_active, order
    session.add(channel)
    session.flush()
    audit.record(
        session,
        action="reporting.channel_saved",
        actor=actor,
        entity_type="report_channel",
        entity_id=channel.id,
        before=before,
        after=audit.snapshot(channel),
    )
    return channel


def set_channel_recipients(
    session: Session, *, actor: User, channel: ReportChannel, user_ids: Sequence[int]
) -> None:
    """Replace who receives the channel's new reports (investigators only; audited)."""
    allowed = {u.id for u in investigators(session)}
    wanted = {uid for uid in user_ids if uid in allowed}
    current = set(
        session.exec(
            select(ReportChannelRecipient.user_id).where(
                ReportChannelRecipient.channel_id == channel.id
            )
        ).all()
    )
    for uid in current - wanted:
        session.exec(
            delete(ReportChannelRecipient).where(
                ReportChannelRecipient.channel_id == channel.id,
                ReportChannelRecipient.user_id == uid,
            )
        )
    for uid in wanted - current:
        session.add(ReportChannelRecipient(channel_id=channel.id, user_id=uid))
    if wanted != current:
        audit.record(
            session,
            action="reporting.channel_recipients_changed",
            actor=actor,
            entity_type="report_channel",
            entity_id=channel.id,
            before={"recipients": sorted(current)},
            after={"recipients": sorted(wanted)},
        )


_HOLDER_KEYS = select(HolderKey).where(
    col(HolderKey.user_id).in_(bindparam("user_ids", expanding=True))
)


def holder_keys(session: Session, user_ids: Sequence[int]) -> dict[int, HolderKey]:
    """Return the holder keys of the given users that have one."""
    if not user_ids:
        return {}
    rows = session.exec(_HOLDER_KEYS, params={"user_ids": list(user_ids)})
    return {row.user_id: row for row in rows}


def _channel(session: Session, report: Report) -> ReportChannel:
    return session.get(ReportChannel, report.channel_id)


def set_channel_roles(
    session: Session,
    *,
    actor: User,
    channel: ReportChannel,
    lead_user_id: int | None,
    deputy_user_id: int | None,
) -> None:
    """Name the channel's lead (overdue cases escalate to them) and deputy (takes cases over);
    both must be investigators, and different people. Audited."""
    allowed = {u.id for u in investigators(session)}
    for user_id, name in ((lead_user_id, "lead"), (deputy_user_id, "deputy")):
        if user_id is not None and user_id not in allowed:
            raise ReportingError(_("Choose an investigator."), field=name)
    if lead_user_id is not None and lead_user_id == deputy_user_id:
        raise ReportingError(_("The lead and the deputy must be different people."), field="deputy")
    before = {"lead": channel.lead_user_id, "deputy": channel.deputy_user_id}
    channel.lead_user_id, channel.deputy_user_id = lead_user_id, deputy_user_id
    after = {"lead": channel.lead_user_id, "deputy": channel.deputy_user_id}
    if before != after:
        session.add(channel)
        audit.record(
            session,
            action="reporting.channel_roles_changed",
            actor=actor,
            entity_type="report_channel",
            entity_id=channel.id,
            before=before,
            after=after,
        )
