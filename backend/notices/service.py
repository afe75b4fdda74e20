"""Telling people things: in-app notices, the e-mail each one queues, and preferences.

`tell` runs in the caller's transaction, so a notice commits (or rolls back) with the change
that caused it. It writes one `notice` row per person and, for those who want mail, one
`notice_delivery` row the `notices.deliver` job sends later (backend/notices/delivery.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from backend import clock, i18n
from backend.auth.models import User
from backend.i18n import _
from backend.notices.models import (
    Notice,
    NoticeDelivery,
    NoticePreference,
    NoticeSetting,
    random_notice_id,
)
from backend.notices.registry import KINDS, Attachment, Kind, get_kind

CHUNK = 2000  # ids per IN list and rows per insert: under both databases' parameter limits


# --- parameters: stored as JSON, dates tagged so they come back as dates ------------------------


def encode_params(params: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if isinstance(value, datetime):
            out[name] = {"$datetime": value.isoformat()}
        elif isinstance(value, date):
            out[name] = {"$date": value.isoformat()}
        elif value is None or isinstance(value, str | int | float | bool):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def _decode(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, dict) and "$date" in value:
        return i18n.date_text(date.fromisoformat(value["$date"]), "sentence")
    if isinstance(value, dict) and "$datetime" in value:
        moment = datetime.fromisoformat(value["$datetime"])
        if moment.tzinfo is not None:
            moment = moment.astimezone(tz)
        return i18n.datetime_text(moment, "sentence")
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return i18n.fmt().number(value)
    return str(value)


class _Params(dict):
    """Formatting values: a name a translation does not use is ignored, a missing one is
    empty (a notice never fails to render because a translation dropped a placeholder)."""

    def __missing__(self, key: str) -> str:
        return ""


def render(kind: Kind, params: dict[str, Any], tz: str) -> tuple[str, str]:
    """Return the notice's subject and body in the current locale (`i18n.use_locale`)."""
    zone = ZoneInfo(tz)
    values = _Params({name: _decode(value, zone) for name, value in params.items()})
    return _(kind.subject) % values, _(kind.body) % values


# --- telling ---------------------------------------------------------------------------------


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Insert notices, skipping any another transaction inserted first; return (id, user)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(Notice)
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "key"])
        .returning(col(Notice.id), col(Notice.user_id))
    )
    return [(row[0], row[1]) for row in session.execute(statement, rows).all()]


def tell(
    session: Session,
    *,
    to: Iterable[int],
    kind: str,
    key: str,
    params: dict[str, Any] | None = None,
    link: str = "",
    attachment: Attachment | None = None,
) -> int:
    """Tell each person in `to` (app_user ids) one notice of `kind`; return how many were told.

    Unknown and inactive accounts are skipped, and so is anyone already told this (kind, key).
    Each new notice shows in the person's list; it also queues an e-mail unless the kind is
    optional and the person turned its mail off (a daily digest collects it instead when they
    chose one). Runs in the caller's transaction.
    """
    declared = get_kind(kind)
    if link and not link.startswith("/"):
        raise ValueError("a notice's link is a path inside Mérito, starting with /")
    wanted = sorted({int(user_id) for user_id in to})
    if not wanted:
        return 0
    stored = encode_params(params)
    now = clock.now()
    # Confidential notices (about reports and complaints) keep the day, not the time: their
    # time would tell when a reporter acted (docs/security.md).
    created = (
        datetime.combine(now.date(), time(), tzinfo=now.tzinfo) if declared.confidential else now
    )
    told = 0
    for chunk in _chunks(wanted):
        active = session.exec(
            select(User.id).where(col(User.id).in_(chunk), col(User.is_active).is_(True))
        ).all()
        if not active:
            continue
        known = set(
            session.exec(
                select(Notice.user_id).where(
                    col(Notice.user_id).in_(active), Notice.kind == kind, Notice.key == key
                )
            ).all()
        )
        fresh = [user_id for user_id in active if user_id not in known]
        if not fresh:
            continue
        rows = [
            {
                "id": random_notice_id(),
                "user_id": user_id,
                "kind": kind,
                "key": key,
                "params": stored,
                "link": link,
                "created_at": created,
            }
            for user_id in fresh
        ]
        inserted = _insert_new(session, rows)
        told += len(inserted)
        _queue_mail(session, declared, inserted, now=created, attachment=attachment)
    return told


def _queue_mail(
    session: Session,
    declared: Kind,
    inserted: list[tuple[int, int]],
    *,
    now: datetime,
    attachment: Attachment | None,
) -> None:
    users = [user_id for _id, user_id in inserted]
    if not users:
        return
    no_mail: set[int] = set()
    digest: set[int] = set()
    if not declared.mandatory:
        no_mail = set(
            session.exec(
                select(NoticePreference.user_id).where(
                    col(NoticePreference.user_id).in_(users),
                    NoticePreference.kind == declared.name,
                    col(NoticePreference.by_email).is_(False),
                )
            ).all()
        )
        digest = set(
            session.exec(
                select(NoticeSetting.user_id).where(
                    col(NoticeSetting.user_id).in_(users),
                    col(NoticeSetting.daily_digest).is_(True),
                )
            ).all()
        )
    rows = [
        {
            "notice_id": notice_id,
            "user_id": user_id,
            "digest": user_id in digest,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "attachment_name": attachment.filename if attachment else None,
            "attachment_type": attachment.content_type if attachment else None,
            "attachment": attachment.content if attachment else None,
            "created_at": now,
        }
        for notice_id, user_id in inserted
        if user_id not in no_mail
    ]
    if rows:
        session.execute(NoticeDelivery.__table__.insert(), rows)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeView:
    """A notice as its reader sees it, in the current language."""

    notice: Notice
    subject: str
    body: str
    href: str

    @property
    def id(self) -> int | None:
        return self.notice.id

    @property
    def unread(self) -> bool:
        return self.notice.read_at is None


def _listed(user_id: int, kind_prefix: str | None, unread_only: bool):
    statement = select(Notice).where(Notice.user_id == user_id)
    if kind_prefix:
        statement = statement.where(col(Notice.kind).startswith(kind_prefix, autoescape=True))
    if unread_only:
        statement = statement.where(col(Notice.read_at).is_(None))
    return statement


def notices_for(
    session: Session,
    *,
    user_id: int,
    tz: str,
    unread_only: bool = False,
    kind_prefix: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[NoticeView]:
    """A person's newest notices (only theirs), rendered in the current language."""
    statement = (
        _listed(user_id, kind_prefix, unread_only)
        .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
        .offset(offset)
        .limit(limit)
    )
    views = []
    for notice in session.exec(statement).all():
        declared = KINDS.get(notice.kind)
        if declared is None:  # a kind no installed domain declares any more
            continue
        subject, body = render(declared, notice.params, tz)
        views.append(NoticeView(notice, subject, body, notice.link or "/notifications"))
    return views


def count_for(
    session: Session, *, user_id: int, unread_only: bool = False, kind_prefix: str | None = None
) -> int:
    """How many notices a person has (unread ones only with `unread_only`)."""
    statement = _listed(user_id, kind_prefix, unread_only).with_only_columns(func.count())
    return session.exec(statement).one()


# Built once: the header asks on every page, and SQLAlchemy caches its compiled form.
_UNREAD = (
    select(func.count())
    .select_from(Notice)
    .where(Notice.user_id == bindparam("user_id"), col(Notice.read_at).is_(None))
)


def unread_count(session: Session, *, user_id: int) -> int:
    """The number the header shows."""
    return session.exec(_UNREAD, params={"user_id": user_id}).one()


def mark_read(
    session: Session, *, user_id: int, notice_id: int | None = None, kind_prefix: str | None = None
) -> int:
    """Mark one of a person's notices (or all of them) read; return how many. Another
    person's notice is never touched: the id is matched together with the owner."""
    statement = update(Notice).where(col(Notice.user_id) == user_id, col(Notice.read_at).is_(None))
    if notice_id is not None:
        statement = statement.where(col(Notice.id) == notice_id)
    if kind_prefix:
        statement = statement.where(col(Notice.kind).startswith(kind_prefix, autoescape=True))
    return session.execute(statement.values(read_at=clock.now())).rowcount or 0


def forget(session: Session, *, link: str) -> int:
    """Delete the notices (and their unsent mail) that point at `link` or below it, when what
    they are about is deleted (a case past its retention); return how many."""
    matches = or_(col(Notice.link) == link, col(Notice.link).startswith(link.rstrip("/") + "/"))
    ids = select(Notice.id).where(matches)
    session.execute(delete(NoticeDelivery).where(col(NoticeDelivery.notice_id).in_(ids)))
    return session.execute(delete(Notice).where(matches)).rowcount or 0


# --- preferences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """What a person receives by mail: each optional kind (name → on) and the digest."""

    by_email: dict[str, bool]
    daily_digest: bool


def optional_kinds() -> list[Kind]:
    """The kinds a person may turn off (mandatory ones always arrive), by label."""
    return sorted((k for k in KINDS.values() if not k.mandatory), key=lambda k: _(k.label))


def preferences_for(session: Session, *, user_id: int) -> Preferences:
    off = set(
        session.exec(
            select(NoticePreference.kind).where(
                NoticePreference.user_id == user_id, col(NoticePreference.by_email).is_(False)
            )
        ).all()
    )
    setting = session.get(NoticeSetting, user_id)
    return Preferences(
        {k.name: k.name not in off for k in optional_kinds()},
        bool(setting and setting.daily_digest),
    )


def set_preferences(
    session: Session, *, user_id: int, by_email: set[str], daily_digest: bool
) -> Preferences:
    """Save which optional kinds a person wants by mail (the others: in-app only) and the
    digest choice. Mandatory and unknown kinds are ignored. Mail already queued is unchanged."""
    optional = {k.name for k in optional_kinds()}
    session.execute(delete(NoticePreference).where(col(NoticePreference.user_id) == user_id))
    for name in sorted(optional - by_email):
        session.add(NoticePreference(user_id=user_id, kind=name, by_email=False))
    setting = session.get(NoticeSetting, user_id)
    if setting is None:
        session.add(NoticeSetting(user_id=user_id, daily_digest=daily_digest))
    else:
        setting.daily_digest = daily_digest
        session.add(setting)
    session.flush()
    return preferences_for(session, user_id=user_id)
