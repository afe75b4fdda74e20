"""A case's lifecycle (received → acknowledged → in triage → under investigation → closed),
notifications to handlers and custom reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock, crypto, notices
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from backend.web import format_date
from whistleblowing import attachments, deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    REPORT_STATUS_LABELS,
    CaseReminder,
    ItemKind,
    Notification,
    NotificationKind,
    Report,
    ReportItem,
    ReportOutcome,
    ReportStatus,
)
from whistleblowing.service.common import CaseAccess, ReportingError, TamperedCase, _aad
from whistleblowing.service.items import add_item
from whistleblowing.service.sealing import _seal_item, item_position

# --- the lifecycle ----------------------------------------------------------------------------

# Forward only, one step at a time. A closed case stays closed: something new is a new report,
# linked to the old one.
STATUS_FLOW: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.received: frozenset({ReportStatus.acknowledged}),
    ReportStatus.acknowledged: frozenset({ReportStatus.triage}),
    ReportStatus.triage: frozenset({ReportStatus.investigating, ReportStatus.closed}),
    ReportStatus.investigating: frozenset({ReportStatus.closed}),
    ReportStatus.closed: frozenset(),
}
# Triage can end a case that needs no investigation; only an investigation can find a report
# (partly) substantiated.
OUTCOMES_AFTER = {
    ReportStatus.triage: frozenset(
        {
            ReportOutcome.unsubstantiated,
            ReportOutcome.referred,
            ReportOutcome.outside_scope,
            ReportOutcome.bad_faith,
        }
    ),
    ReportStatus.investigating: frozenset(ReportOutcome),
}
MIN_REASON = 10


def next_statuses(report: Report) -> list[ReportStatus]:
    """Return the statuses the case may move to next (the acknowledgement is a message)."""
    order = list(ReportStatus)
    allowed = STATUS_FLOW[ReportStatus(report.status)] - {ReportStatus.acknowledged}
    return sorted(allowed, key=order.index)


def state_days(report: Report) -> list[tuple[ReportStatus, date | None]]:
    """Return each state of the lifecycle with the day the case reached it (None: not yet)."""
    return [
        (ReportStatus.received, report.submitted_on),
        (ReportStatus.acknowledged, report.acknowledged_on),
        (ReportStatus.triage, report.triage_on),
        (ReportStatus.investigating, report.investigation_on),
        (ReportStatus.closed, report.closed_on),
    ]


def _seal_decision(
    session: Session, *, access: CaseAccess, actor: User, text: str, today: date
) -> ReportItem:
    """Seal an internal decision (the reason for a closure, conflict or handover)."""
    report = access.report
    uid = attachments.new_uid()
    item = ReportItem(
        uid=uid,
        report_id=report.id,
        kind=ItemKind.decision.value,
        author_id=actor.id,
        created_on=today,
        sealed=_seal_item(
            report,
            kind=ItemKind.decision,
            uid=uid,
            payload={"text": text, "files": []},
            position=item_position(session, report),
        ),
    )
    session.add(item)
    return item


def _refuse_if_closed(report: Report) -> None:
    if report.status == ReportStatus.closed:
        raise ReportingError(
            _(
                "This case was closed on %(day)s: its deadlines are over.",
                day=format_date(report.closed_on),
            ),
            status_code=409,
        )


def acknowledge(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    text: str,
    today: date | None = None,
) -> ReportItem:
    """Send the acknowledgement of receipt to the reporter; the case becomes Acknowledged and
    the feedback deadline runs from today. Audited; the caller commits."""
    report = access.report
    _refuse_if_closed(report)
    if report.acknowledged_on is not None:
        raise ReportingError(
            _(
                "The report was already acknowledged on %(day)s.",
                day=format_date(report.acknowledged_on),
            ),
            status_code=409,
        )
    return add_item(
        session,
        settings,
        access=access,
        kind=ItemKind.acknowledgement,
        text=text,
        author=actor,
        today=today,
    )


def change_status(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    status: str,
    outcome: str | None = None,
    reason: str = "",
    feedback: str = "",
    today: date | None = None,
) -> None:
    """Move the case one step on; audited, the caller commits.

    Closing needs an outcome allowed at this stage, a reason (sealed, internal) and feedback
    to the reporter: given before, or written now as `feedback`. Closing as made in bad faith
    changes nothing about the reporter's identity: it stays sealed.
    """
    report = access.report
    today = today or clock.today(settings)
    try:
        target = ReportStatus(status)
    except ValueError:
        raise ReportingError(_("Choose a status."), field="status")
    current = ReportStatus(report.status)
    if target is ReportStatus.acknowledged and current is ReportStatus.received:
        raise ReportingError(
            _("Send the acknowledgement of receipt: it moves the report to Acknowledged."),
            status_code=409,
        )
    if target not in STATUS_FLOW[current]:
        raise ReportingError(
            _(
                "A case moves one step at a time: from %(current)s it cannot go to %(target)s.",
                current=_(REPORT_STATUS_LABELS[current]),
                target=_(REPORT_STATUS_LABELS[target]),
            ),
            status_code=409,
        )
    reason = reason.strip()
    before = {"status": report.status, "outcome": report.outcome}
    after: dict[str, Any] = {}
    if target is ReportStatus.closed:
        try:
            chosen = ReportOutcome(outcome or "")
        except ValueError:
            raise ReportingError(_("Choose the outcome of the report."), field="outcome")
        if chosen not in OUTCOMES_AFTER[current]:
            raise ReportingError(
                _("Only an investigation can find a report substantiated."), field="outcome"
            )
        if len(reason) < MIN_REASON:
            raise ReportingError(_("Give the reason for closing the case."), field="close_reason")
        if report.feedback_given_on is None and not feedback.strip():
            raise ReportingError(
                _("The reporter has had no feedback yet: write it to close the case."),
                field="feedback",
            )
        if report.feedback_given_on is None:
            add_item(
                session,
                settings,
                access=access,
                kind=ItemKind.feedback,
                text=feedback,
                author=actor,
                today=today,
            )
        item = _seal_decision(session, access=access, actor=actor, text=reason, today=today)
        report.outcome = chosen.value
        report.closed_on = today
        after["reason_item"] = item.uid
    elif target is ReportStatus.triage:
        report.triage_on = today
    elif target is ReportStatus.investigating:
        if reason:
            after["reason_item"] = _seal_decision(
                session, access=access, actor=actor, text=reason, today=today
            ).uid
        report.investigation_on = today
    report.status = target.value
    session.add(report)
    audit.record(
        session,
        action="report.status_changed",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before=before,
        after={"status": report.status, "outcome": report.outcome, **after},
    )


# --- notifications ----------------------------------------------------------------------------


def notify(
    session: Session,
    *,
    user_id: int,
    kind: NotificationKind,
    dedupe: str,
    report_id: int | None = None,
    complaint_id: int | None = None,
    due_on: date | None = None,
    today: date,
) -> bool:
    """Add a notice for one person unless the same one exists; return whether it was added.

    The channel's `notification` row keeps its clock's de-duplication; the notice itself goes
    through the core notice service (the person's one notice list, and a contentless mail).
    """
    exists = session.exec(
        select(Notification.id).where(
            Notification.user_id == user_id, Notification.dedupe == dedupe
        )
    ).first()
    if exists is not None:
        return False
    row = {
        "user_id": user_id,
        "kind": kind.value,
        "report_id": report_id,
        "complaint_id": complaint_id,
        "due_on": due_on,
        "created_on": today,
        "dedupe": dedupe,
    }
    session.add(Notification(**row))
    reporting_notices.record_many(session, [row])
    return True


def _time_zone(session: Session) -> str:
    settings = session.info.get("settings")
    return settings.time_zone if settings is not None else "America/Mexico_City"


def notifications_for(
    session: Session, *, user: User, unread_only: bool = False, limit: int = 50
) -> list[notices.NoticeView]:
    """A person's newest notices from the reporting channel (their part of the one notice
    list, `/notifications`), in the current language."""
    return notices.notices_for(
        session,
        user_id=user.id,
        tz=_time_zone(session),
        unread_only=unread_only,
        kind_prefix=reporting_notices.PREFIX,
        limit=limit,
    )


def unread_count(session: Session, *, user: User) -> int:
    return notices.count_for(
        session, user_id=user.id, unread_only=True, kind_prefix=reporting_notices.PREFIX
    )


def mark_read(
    session: Session, *, user: User, notification_id: int | None = None, today: date
) -> int:
    """Mark one of the channel's notices (or all of them) read; return how many. Only one's
    own notices."""
    return notices.mark_read(
        session,
        user_id=user.id,
        notice_id=notification_id,
        kind_prefix=reporting_notices.PREFIX,
    )


# --- custom reminders -------------------------------------------------------------------------


def _reminder_aad(report: Report, reminder_id: int) -> bytes:
    return _aad("reminder", report.reference, reminder_id)


def add_reminder(
    session: Session,
    *,
    access: CaseAccess,
    actor: User,
    remind_on: date,
    note: str,
    today: date,
) -> CaseReminder:
    """Set a reminder for oneself on the case; the note is sealed to the report's key."""
    report = access.report
    _refuse_if_closed(report)
    if remind_on < today:
        raise ReportingError(_("Choose a day from today on."), field="remind_on")
    if remind_on > deadlines.add_months(today, 24):
        raise ReportingError(_("Choose a day within two years."), field="remind_on")
    if len(note) > 500:
        raise ReportingError(_("Keep the note under 500 characters."), field="note")
    reminder = CaseReminder(
        report_id=report.id,
        user_id=actor.id,
        remind_on=remind_on,
        sealed_note=b"",
        created_by_id=actor.id,
        created_on=today,
    )
    session.add(reminder)
    session.flush()
    reminder.sealed_note = crypto.seal(
        report.public_key, note.strip().encode(), aad=_reminder_aad(report, reminder.id)
    )
    session.add(reminder)
    audit.record(
        session,
        action="report.reminder_set",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"reminder": reminder.id, "remind_on": remind_on},
    )
    return reminder


@dataclass
class ReminderView:
    reminder: CaseReminder
    note: str


def reminders_of(session: Session, *, access: CaseAccess, user: User) -> list[ReminderView]:
    """Return the person's reminders on the case, notes opened."""
    rows = session.exec(
        select(CaseReminder)
        .where(CaseReminder.report_id == access.report.id, CaseReminder.user_id == user.id)
        .order_by(col(CaseReminder.remind_on))
    ).all()
    views = []
    for row in rows:
        try:
            note = crypto.open_sealed(
                access.private_key, row.sealed_note, aad=_reminder_aad(access.report, row.id)
            ).decode()
        except crypto.DecryptionError:
            raise TamperedCase from None
        views.append(ReminderView(row, note))
    return views


def delete_reminder(session: Session, *, access: CaseAccess, user: User, reminder_id: int) -> None:
    reminder = session.get(CaseReminder, reminder_id)
    if reminder is None or reminder.report_id != access.report.id or reminder.user_id != user.id:
        raise ReportingError(_("This reminder does not exist."), status_code=404)
    session.delete(reminder)
    audit.record(
        session,
        action="report.reminder_deleted",
        actor=user,
        entity_type="report",
        entity_id=access.report.reference,
        before={"reminder": reminder_id},
    )
