"""Sending the notices' mail: claimed in batches, one SMTP connection per batch, retried.

Several workers (every app process's scheduler, `merito tick`, `merito notices send`) may run
the job at once. Each takes a batch by one conditional UPDATE that sets a claim token and a
lease on rows that are pending and due (or whose earlier claim ran out); the database lets
only one claimant win each row (PostgreSQL skips rows another worker is claiming, SQLite
serialises writers). A sent row is marked and committed at once, so a worker that stops and
starts again never sends it again; a worker that dies holding a claim leaves its rows to come
back when the lease ends. Each message keeps one Message-ID whatever the attempt.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import quote

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from backend import audit, clock, crypto, i18n, mail
from backend.auth.models import User, UserRole
from backend.config import Settings
from backend.i18n import N_, _
from backend.notices.models import DeliveryStatus, Notice, NoticeDelivery
from backend.notices.registry import KINDS, Kind, NoticeError, kind
from backend.notices.service import render, tell

log = logging.getLogger("merito.notices")

BATCH = 200  # rows claimed at once: one SMTP connection
COMMIT_EVERY = 25  # mails sent between two commits marking them sent
LEASE = timedelta(minutes=5)  # a claim not finished by then is taken up again
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)  # then 2, 4, 8 … minutes
LONGEST_WAIT = timedelta(hours=6)
INBOX = "/notifications"

CONFIDENTIAL_SUBJECT = N_("Something in Mérito needs your attention")
CONFIDENTIAL_BODY = N_(
    "Something in Mérito needs your attention.\n\nSign in to see it:\n%(link)s\n\n"
    "For your security this message says nothing more."
)

failed_kind = kind(
    "notices.delivery_failed",
    subject=N_("Some notices could not be sent by mail"),
    body=N_(
        "Some notices could not be sent by mail after several attempts. The delivery status "
        "page lists them and can send them again."
    ),
    mandatory=True,
    label=N_("Mail that could not be delivered"),
)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (exponential, capped)."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


@dataclass
class Run:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    batches: int = 0
    failed_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, "
            f"{self.skipped} skipped"
        )


def _due(now: datetime):
    return (
        (col(NoticeDelivery.status) == DeliveryStatus.pending.value)
        & (col(NoticeDelivery.next_attempt_at) <= now)
    ) | (
        (col(NoticeDelivery.status) == DeliveryStatus.sending.value)
        & (col(NoticeDelivery.claimed_until) < now)
    )


def claim(session: Session, *, digest: bool, limit: int = BATCH) -> tuple[str, list[int]]:
    """Take up to `limit` due deliveries for this caller (committed); return the claim token
    and their ids. Rows another worker holds are never returned."""
    now = clock.now()
    token = crypto.new_hex(16)
    due = _due(now) & (col(NoticeDelivery.digest).is_(digest))
    candidates = select(NoticeDelivery.id).where(due).order_by(col(NoticeDelivery.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    session.execute(
        update(NoticeDelivery)
        .where(col(NoticeDelivery.id).in_(candidates.scalar_subquery()), due)
        .values(status=DeliveryStatus.sending.value, claim_token=token, claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    ids = session.exec(
        select(NoticeDelivery.id)
        .where(NoticeDelivery.claim_token == token)
        .order_by(col(NoticeDelivery.id))
    ).all()
    return token, list(ids)


def _mine(token: str, ids: list[int]):
    return (col(NoticeDelivery.id).in_(ids)) & (col(NoticeDelivery.claim_token) == token)


def _mark_sent(session: Session, token: str, ids: list[int], entries: list[dict]) -> None:
    """Mark sent mails (with their audit entries, in `ids` order). A confidential one keeps
    the day it was sent, not the time: it follows a reporter's action within a minute."""
    now = clock.now()
    day = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    quiet = {i for i, entry in zip(ids, entries, strict=True) if entry["confidential"]}
    for group, stamp in (([i for i in ids if i not in quiet], now), (sorted(quiet), day)):
        if not group:
            continue
        session.execute(
            update(NoticeDelivery)
            .where(_mine(token, group))
            .values(
                status=DeliveryStatus.sent.value,
                sent_at=stamp,
                claim_token=None,
                claimed_until=None,
                last_error="",
            )
            .execution_options(synchronize_session=False)
        )
    _audit(session, entries)
    session.commit()


def _audit(session: Session, entries: list[dict]) -> None:
    """Each mail sent is in the audit log; about a case or a complaint (confidential kinds),
    only with its day (audit.record_on_day), like everything a reporter's action causes."""
    plain = [entry for entry in entries if not entry.pop("confidential")]
    audit.record_many(session, plain)
    for entry in entries:
        if entry not in plain:
            audit.record_on_day(
                session,
                on=clock.now().date(),
                action=entry["action"],
                actor="system",
                entity_type=entry["entity_type"],
                entity_id=entry["entity_id"],
                after=entry["after"],
            )


def _give_back(
    session: Session, token: str, ids: list[int], error: str, run: Run, *, final: bool = False
) -> None:
    """Put claimed rows back for a later attempt (or mark them failed after MAX_ATTEMPTS)."""
    if not ids:
        return
    now = clock.now()
    rows = session.exec(
        select(NoticeDelivery.id, NoticeDelivery.attempts).where(_mine(token, ids))
    ).all()
    for delivery_id, attempts in rows:
        attempts += 1
        failed = final or attempts >= MAX_ATTEMPTS
        session.execute(
            update(NoticeDelivery)
            .where(col(NoticeDelivery.id) == delivery_id)
            .values(
                status=(DeliveryStatus.failed if failed else DeliveryStatus.pending).value,
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                claim_token=None,
                claimed_until=None,
                last_error=error[:200],
            )
            .execution_options(synchronize_session=False)
        )
        if failed:
            run.failed += 1
            run.failed_ids.append(delivery_id)
        else:
            run.retried += 1
    session.commit()


def _skip(session: Session, token: str, ids: list[int], run: Run) -> None:
    if ids:
        session.execute(
            update(NoticeDelivery)
            .where(_mine(token, ids))
            .values(
                status=DeliveryStatus.failed.value,
                claim_token=None,
                claimed_until=None,
                last_error="account inactive or without an address",
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        run.skipped += len(ids)


def _login_link(settings: Settings) -> str:
    return mail.link(settings, "/login?next=" + quote(INBOX, safe="/"))


def compose(settings: Settings, declared: Kind, notice: Notice) -> tuple[str, str]:
    """The subject and body of a notice's mail, in the current locale. A confidential kind
    says only that something needs attention, with the sign-in link to the notice list."""
    if declared.confidential:
        return _(CONFIDENTIAL_SUBJECT), _(CONFIDENTIAL_BODY, link=_login_link(settings))
    subject, body = render(declared, notice.params, settings.time_zone)
    parts = [body]
    if notice.link:
        parts.append(_("Open it in Mérito:") + "\n" + mail.link(settings, notice.link))
    if not declared.mandatory:
        parts.append(
            _("You can choose which notices reach you by mail:")
            + "\n"
            + mail.link(settings, "/account/notices")
        )
    return subject, "\n\n".join(parts)


def _loaded(session: Session, token: str, ids: list[int]):
    return session.exec(
        select(NoticeDelivery, Notice, User)
        .join(Notice, col(Notice.id) == NoticeDelivery.notice_id)
        .join(User, col(User.id) == NoticeDelivery.user_id)
        .where(_mine(token, ids))
        .order_by(col(NoticeDelivery.id))
    ).all()


def _entry(delivery: NoticeDelivery, notice: Notice, declared: Kind | None) -> dict:
    return {
        "action": "notice.mailed",
        "actor": "system",
        "entity_type": "notice_delivery",
        "entity_id": delivery.id,
        "after": {"kind": notice.kind, "to": delivery.user_id},
        "confidential": bool(declared and declared.confidential),
    }


def deliver(session: Session, settings: Settings, *, max_batches: int | None = None) -> Run:
    """Send every due notice mail (not the digests), batch by batch; return what happened."""
    run = Run()
    while max_batches is None or run.batches < max_batches:
        token, ids = claim(session, digest=False)
        if not ids:
            break
        run.batches += 1
        _send_batch(session, settings, token, ids, run)
    _tell_admins_of_failures(session, run)
    return run


class _Sent:
    """Mails sent but not yet marked: marked (and audited) in one commit every COMMIT_EVERY
    mails and before anything else is written, so a crash can repeat at most that many (each
    with the Message-ID it had, which mail systems recognise)."""

    def __init__(self, session: Session, token: str, run: Run) -> None:
        self.session, self.token, self.run = session, token, run
        self.ids: list[int] = []
        self.entries: list[dict] = []

    def add(self, ids: list[int], entries: list[dict]) -> None:
        self.ids += ids
        self.entries += entries
        if len(self.ids) >= COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.ids:
            _mark_sent(self.session, self.token, self.ids, self.entries)
            self.run.sent += len(self.ids)
            self.ids, self.entries = [], []


def _send_batch(session: Session, settings: Settings, token: str, ids: list[int], run: Run):
    rows = _loaded(session, token, ids)
    unusable = [d.id for d, _n, user in rows if not user.is_active or not user.email]
    _skip(session, token, unusable, run)
    rows = [(d, n, u) for d, n, u in rows if d.id not in unusable]
    pending = [d.id for d, _n, _u in rows]
    sent = _Sent(session, token, run)
    try:
        with mail.connect(settings) as out:
            for delivery, notice, user in rows:
                pending.remove(delivery.id)
                declared = KINDS.get(notice.kind)
                if declared is None:
                    sent.flush()
                    _give_back(session, token, [delivery.id], "unknown kind", run, final=True)
                    continue
                try:
                    out.send(_message(settings, delivery, notice, user, declared))
                except mail.MessageRefused as err:
                    sent.flush()
                    _give_back(session, token, [delivery.id], f"refused: SMTP {err.code}", run)
                    continue
                except mail.MailError:
                    pending.insert(0, delivery.id)
                    raise
                sent.add([delivery.id], [_entry(delivery, notice, declared)])
            sent.flush()
    except mail.MailError as err:
        sent.flush()
        cause = type(err.__cause__).__name__ if err.__cause__ else "not configured"
        log.warning(
            "notice mail: connection failed (%s); %d back to the queue", cause, len(pending)
        )
        _give_back(session, token, pending, f"connection failed: {cause}", run)


def _message(settings: Settings, delivery: NoticeDelivery, notice: Notice, user: User, declared):
    with i18n.use_locale(user.locale):
        subject, body = compose(settings, declared, notice)
    attachment = None
    if delivery.attachment is not None:
        attachment = (
            delivery.attachment_name or "attachment",
            delivery.attachment_type or "application/octet-stream",
            delivery.attachment,
        )
    return mail.build_message(
        settings,
        to=user.email,
        subject=subject,
        body=body,
        message_id=f"merito-notice-{delivery.id}",
        attachment=attachment,
    )


def send_digests(session: Session, settings: Settings) -> Run:
    """Send each person who chose a daily digest one mail with everything waiting for them."""
    run = Run()
    while True:
        token, ids = claim(session, digest=True, limit=BATCH * 5)
        if not ids:
            break
        run.batches += 1
        by_user: dict[int, list] = defaultdict(list)
        users: dict[int, User] = {}
        for delivery, notice, user in _loaded(session, token, ids):
            by_user[user.id].append((delivery, notice))
            users[user.id] = user
        unusable = [
            d.id for uid, items in by_user.items() for d, _n in items if not users[uid].is_active
        ]
        _skip(session, token, unusable, run)
        sent = _Sent(session, token, run)
        try:
            with mail.connect(settings) as out:
                for user_id, items in by_user.items():
                    user = users[user_id]
                    if not user.is_active:
                        continue
                    mine = [d.id for d, _n in items]
                    with i18n.use_locale(user.locale):
                        message = _digest_message(settings, user, items)
                    try:
                        out.send(message)
                    except mail.MessageRefused as err:
                        sent.flush()
                        _give_back(session, token, mine, f"refused: SMTP {err.code}", run)
                        continue
                    sent.add(mine, [_entry(d, n, KINDS.get(n.kind)) for d, n in items])
                sent.flush()
        except mail.MailError as err:
            sent.flush()
            cause = type(err.__cause__).__name__ if err.__cause__ else "not configured"
            _give_back(session, token, ids, f"connection failed: {cause}", run)
    _tell_admins_of_failures(session, run)
    return run


def _digest_message(settings: Settings, user: User, items: list):
    lines = []
    for _delivery, notice in items:
        declared = KINDS.get(notice.kind)
        if declared is None:
            continue
        if declared.confidential:
            lines.append("- " + _(CONFIDENTIAL_SUBJECT))
            continue
        subject, _body = render(declared, notice.params, settings.time_zone)
        lines.append("- " + subject)
    body = "\n".join(
        [
            i18n.ngettext(
                "You have %(num)d new notice in Mérito:",
                "You have %(num)d new notices in Mérito:",
                len(lines),
            ),
            "",
            *lines,
            "",
            _("Sign in to see them:") + "\n" + _login_link(settings),
            "",
            _("You can choose which notices reach you by mail:")
            + "\n"
            + mail.link(settings, "/account/notices"),
        ]
    )
    first = items[0][0].id
    return mail.build_message(
        settings,
        to=user.email,
        subject=_("Your daily summary of notices from Mérito"),
        body=body,
        message_id=f"merito-digest-{first}",
    )


def _tell_admins_of_failures(session: Session, run: Run) -> None:
    if not run.failed_ids:
        return
    admins = session.exec(select(UserRole.user_id).where(UserRole.role == "admin").distinct()).all()
    tell(
        session,
        to=admins,
        kind=failed_kind.name,
        key=f"failed:{clock.now().date().isoformat()}",
        link="/admin/notices",
    )
    session.commit()


# --- what administrators see and do -----------------------------------------------------------


def failure_text(last_error: str) -> str:
    """What a delivery's `last_error` means, in words for the administrator."""
    if last_error.startswith("refused: SMTP "):
        return _("The mail server refused it (reply %(code)s).", code=last_error.rpartition(" ")[2])
    if last_error.startswith("connection failed"):
        return _("The mail server could not be reached.")
    if last_error.startswith("account inactive"):
        return _("The account is deactivated or has no address.")
    if last_error == "unknown kind":
        return _("A notice no longer in use")
    return last_error


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    email: str
    kind: str
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime
    status: str


def status_counts(session: Session) -> dict[str, int]:
    """How many deliveries are in each status."""
    rows = session.exec(
        select(NoticeDelivery.status, func.count()).group_by(col(NoticeDelivery.status))
    ).all()
    counts = {status.value: 0 for status in DeliveryStatus}
    counts.update({status: count for status, count in rows})
    return counts


def troubled(session: Session, *, limit: int = 100) -> list[FailedDelivery]:
    """Deliveries that failed for good, then those waiting to be retried, newest first."""
    rows = session.exec(
        select(NoticeDelivery, Notice.kind, User.email)
        .join(Notice, col(Notice.id) == NoticeDelivery.notice_id)
        .join(User, col(User.id) == NoticeDelivery.user_id)
        .where(
            (col(NoticeDelivery.status) == DeliveryStatus.failed.value)
            | (col(NoticeDelivery.attempts) > 0)
            & (col(NoticeDelivery.status) != DeliveryStatus.sent.value)
        )
        .order_by(col(NoticeDelivery.status), col(NoticeDelivery.created_at).desc())
        .limit(limit)
    ).all()
    return [
        FailedDelivery(
            d.id,
            email,
            kind_name,
            d.attempts,
            d.last_error,
            d.created_at,
            d.next_attempt_at,
            d.status,
        )
        for d, kind_name, email in rows
    ]


def retry(session: Session, *, delivery_id: int, actor: User) -> bool:
    """Queue a failed delivery again, at once and with its attempts counted from zero;
    NoticeError (409) when it is not one that failed."""
    changed = session.execute(
        update(NoticeDelivery)
        .where(
            col(NoticeDelivery.id) == delivery_id,
            col(NoticeDelivery.status) == DeliveryStatus.failed.value,
        )
        .values(
            status=DeliveryStatus.pending.value,
            attempts=0,
            next_attempt_at=clock.now(),
            claim_token=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise NoticeError(
            _("This mail has not failed: it is sent or still being tried."), status_code=409
        )
    audit.record(
        session,
        action="notice.retried",
        actor=actor,
        entity_type="notice_delivery",
        entity_id=delivery_id,
    )
    return True
