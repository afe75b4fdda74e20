"""The statutory clock: the SLA board and the deadline run (reminders, overdue notices and
escalation to the channel's lead).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.i18n import N_
from whistleblowing import deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    CaseReminder,
    InvestigatorAbsence,
    KeyKind,
    Notification,
    NotificationKind,
    Report,
    ReportChannel,
    ReportKeyWrap,
    ReportStatus,
)
from whistleblowing.service.inbox import _held_by, is_open

# --- the SLA board ----------------------------------------------------------------------------

ACK_SOON_DAYS = deadlines.ACK_REMINDER_DAYS
FEEDBACK_SOON_DAYS = deadlines.FEEDBACK_REMINDER_DAYS


@dataclass
class SlaSection:
    key: str
    title: str  # an N_() message id
    total: int
    reports: list[Any]  # rows with the plain columns of the cases (reference, days)
    due_field: str  # which day the list shows


@dataclass
class SlaBoard:
    today: date
    open: int
    sections: list[SlaSection]
    reminders: list[CaseReminder]
    reminder_reports: dict[int, Report]


# What the SLA board sorts into: key -> (does this open case belong?, which day it shows).
def _sla_rules(today: date) -> dict[str, tuple[Any, str]]:
    ack_soon = today + timedelta(days=ACK_SOON_DAYS)
    feedback_soon = today + timedelta(days=FEEDBACK_SOON_DAYS)
    return {
        "ack_overdue": (lambda r: r.acknowledged_on is None and r.ack_due_on < today, "ack_due_on"),
        "ack_due_soon": (
            lambda r: r.acknowledged_on is None and today <= r.ack_due_on <= ack_soon,
            "ack_due_on",
        ),
        "feedback_overdue": (
            lambda r: r.feedback_given_on is None and r.feedback_due_on < today,
            "feedback_due_on",
        ),
        "feedback_due_soon": (
            lambda r: r.feedback_given_on is None and today <= r.feedback_due_on <= feedback_soon,
            "feedback_due_on",
        ),
        "unassigned": (lambda r: r.assignee_id is None, "submitted_on"),
        "awaiting_reply": (lambda r: bool(r.awaiting_staff), "submitted_on"),
    }


SLA_TITLES = {
    "ack_overdue": N_("Acknowledgement overdue"),
    "ack_due_soon": N_("Acknowledgement due within 2 days"),
    "feedback_overdue": N_("Feedback overdue"),
    "feedback_due_soon": N_("Feedback due within 14 days"),
    "unassigned": N_("Open cases nobody handles"),
    "awaiting_reply": N_("A message from the reporter waits for an answer"),
}


def sla_board(session: Session, *, user: User, today: date, limit: int = 20) -> SlaBoard:
    """Return what is due and overdue among the open cases `user` holds, the most urgent
    `limit` of each kind listed.

    One query reads the plain columns of the open cases (a working set, however long the
    history) and they are sorted here: faster than one query per kind over every case held.
    """
    rows = session.exec(
        select(
            Report.id,
            Report.reference,
            Report.submitted_on,
            Report.ack_due_on,
            Report.acknowledged_on,
            Report.feedback_due_on,
            Report.feedback_given_on,
            Report.assignee_id,
            Report.awaiting_staff,
        ).where(is_open(), _held_by(user.id))
    ).all()
    sections = []
    for key, (belongs, day_field) in _sla_rules(today).items():
        found = sorted((r for r in rows if belongs(r)), key=lambda r: (getattr(r, day_field), r.id))
        sections.append(SlaSection(key, SLA_TITLES[key], len(found), found[:limit], day_field))
    reminders = session.exec(
        select(CaseReminder)
        .where(
            CaseReminder.user_id == user.id,
            col(CaseReminder.remind_on) <= today + timedelta(days=7),
            col(CaseReminder.sent_on).is_(None) | (col(CaseReminder.remind_on) >= today),
        )
        .order_by(col(CaseReminder.remind_on))
        .limit(limit)
    ).all()
    report_ids = {r.report_id for r in reminders}
    by_id = (
        {r.id: r for r in session.exec(select(Report).where(col(Report.id).in_(report_ids)))}
        if report_ids
        else {}
    )
    return SlaBoard(today, len(rows), sections, list(reminders), by_id)


# --- the deadline job -------------------------------------------------------------------------


@dataclass
class DeadlineRun:
    notices: int = 0
    escalations: int = 0
    reminders: int = 0
    handovers: int = 0
    unattended: int = 0

    def summary(self) -> str:
        return (
            f"{self.notices} notices, {self.escalations} escalations, {self.reminders} "
            f"reminders, {self.handovers} handovers, {self.unattended} unattended"
        )


def _escalation_target(holders: set[int], channel: ReportChannel | None) -> list[int]:
    """Return who an overdue case escalates to: the lead, or else the deputy, if they hold it
    (the job holds no key, so it cannot give the case to anyone); otherwise every holder."""
    if channel is not None:
        for user_id in (channel.lead_user_id, channel.deputy_user_id):
            if user_id is not None and user_id in holders:
                return [user_id]
    return sorted(holders)


def run_deadlines(session: Session, *, today: date) -> DeadlineRun:
    """Send the statutory reminders and overdue notices, escalate overdue cases to the
    channel's lead, send due custom reminders, move cases whose handler is away to a deputy who
    holds them, and flag reports nobody can read. Idempotent: run it as often as you like."""
    run = DeadlineRun()
    ack_soon = today + timedelta(days=deadlines.ACK_REMINDER_DAYS)
    feedback_soon = today + timedelta(days=deadlines.FEEDBACK_REMINDER_DAYS)
    watched = is_open() & (
        (col(Report.acknowledged_on).is_(None) & (col(Report.ack_due_on) <= ack_soon))
        | (col(Report.feedback_given_on).is_(None) & (col(Report.feedback_due_on) <= feedback_soon))
        | col(Report.assignee_id).is_not(None)
    )
    # Plain columns only: no report row (with its keys) is loaded.
    rows = session.exec(
        select(
            Report.id,
            Report.reference,
            Report.channel_id,
            Report.assignee_id,
            Report.ack_due_on,
            Report.acknowledged_on,
            Report.feedback_due_on,
            Report.feedback_given_on,
        ).where(watched)
    ).all()
    holders: dict[int, set[int]] = defaultdict(set)
    for report_id, user_id in session.exec(
        select(ReportKeyWrap.report_id, ReportKeyWrap.user_id)
        .join(Report, col(Report.id) == ReportKeyWrap.report_id)
        .where(watched, ReportKeyWrap.key_kind == KeyKind.report.value)
        .where(col(ReportKeyWrap.user_id).is_not(None))
    ).all():
        holders[report_id].add(user_id)
    existing = set(
        session.exec(
            select(Notification.user_id, Notification.dedupe)
            .join(Report, col(Report.id) == Notification.report_id)
            .where(watched)
        ).all()
    )
    channels = {c.id: c for c in session.exec(select(ReportChannel)).all()}
    absent_today = set(
        session.exec(
            select(InvestigatorAbsence.user_id).where(
                InvestigatorAbsence.starts_on <= today, InvestigatorAbsence.ends_on >= today
            )
        ).all()
    )
    inactive = set(session.exec(select(User.id).where(col(User.is_active).is_(False))).all())
    new_notices: list[dict[str, Any]] = []
    escalated: list[dict[str, Any]] = []

    def add(user_id: int, kind: NotificationKind, report_id: int, due_on: date | None, key: str):
        dedupe = f"{kind.value}:{report_id}:{key}"
        if (user_id, dedupe) in existing or user_id in inactive:
            return False
        existing.add((user_id, dedupe))
        new_notices.append(
            {
                "user_id": user_id,
                "kind": kind.value,
                "report_id": report_id,
                "complaint_id": None,
                "due_on": due_on,
                "created_on": today,
                "read_on": None,
                "dedupe": dedupe,
            }
        )
        return True

    for rid, reference, channel_id, assignee, ack_due, acked, fb_due, fb_given in rows:
        held = holders.get(rid, set())
        channel = channels.get(channel_id)
        # Reminders go to the handler when there is one present, otherwise to every holder.
        handler = assignee if assignee in held and assignee not in absent_today else None
        targets = [handler] if handler is not None else sorted(held)
        if assignee is not None and assignee in absent_today and channel is not None:
            deputy = channel.deputy_user_id
            if deputy is not None and deputy in held and deputy not in absent_today:
                session.execute(
                    update(Report).where(col(Report.id) == rid).values(assignee_id=deputy)
                )
                add(deputy, NotificationKind.handover, rid, None, f"absent:{assignee}:{today}")
                audit.record(
                    session,
                    action="report.handed_over",
                    actor="system",
                    entity_type="report",
                    entity_id=reference,
                    before={"assignee_id": assignee},
                    after={"assignee_id": deputy, "reason": "handler_absent"},
                )
                run.handovers += 1
                targets = [deputy]
            else:
                for user_id in sorted(held - {assignee}) or _escalation_target(held, channel):
                    add(user_id, NotificationKind.handler_absent, rid, None, f"{assignee}:{today}")
        for done, due, soon, kinds in (
            (
                acked,
                ack_due,
                ack_soon,
                (
                    NotificationKind.ack_due_soon,
                    NotificationKind.ack_overdue,
                    NotificationKind.escalated_ack,
                ),
            ),
            (
                fb_given,
                fb_due,
                feedback_soon,
                (
                    NotificationKind.feedback_due_soon,
                    NotificationKind.feedback_overdue,
                    NotificationKind.escalated_feedback,
                ),
            ),
        ):
            if done is not None or due > soon:
                continue
            due_soon_kind, overdue_kind, escalated_kind = kinds
            key = due.isoformat()
            if due >= today:
                for user_id in targets:
                    run.notices += add(user_id, due_soon_kind, rid, due, key)
                continue
            for user_id in targets:
                run.notices += add(user_id, overdue_kind, rid, due, key)
            for user_id in _escalation_target(held, channel):
                if add(user_id, escalated_kind, rid, due, key):
                    run.escalations += 1
                    escalated.append(
                        {
                            "action": "report.deadline_escalated",
                            "actor": "system",
                            "entity_type": "report",
                            "entity_id": reference,
                            "after": {
                                "deadline": escalated_kind.value,
                                "due_on": due,
                                "to": user_id,
                            },
                        }
                    )
    # Custom reminders that fell due, for people who still hold the case.
    due_reminders = session.exec(
        select(
            CaseReminder.id, CaseReminder.report_id, CaseReminder.user_id, CaseReminder.remind_on
        )
        .join(Report, col(Report.id) == CaseReminder.report_id)
        .where(
            col(CaseReminder.sent_on).is_(None),
            CaseReminder.remind_on <= today,
            Report.status != ReportStatus.closed.value,
        )
    ).all()
    sent = []
    for reminder_id, report_id, user_id, remind_on in due_reminders:
        holds = session.exec(
            select(ReportKeyWrap.id).where(
                ReportKeyWrap.report_id == report_id, ReportKeyWrap.user_id == user_id
            )
        ).first()
        if holds is not None:
            run.reminders += add(
                user_id, NotificationKind.reminder, report_id, remind_on, str(reminder_id)
            )
        sent.append(reminder_id)
    if sent:
        session.execute(
            update(CaseReminder).where(col(CaseReminder.id).in_(sent)).values(sent_on=today)
        )
    # Open reports nobody can read (everyone left or was excluded): the administrators are
    # told to restore access with the recovery key.
    someone = select(ReportKeyWrap.report_id).where(
        col(ReportKeyWrap.user_id).is_not(None), ReportKeyWrap.key_kind == KeyKind.report.value
    )
    orphans = session.exec(
        select(Report.id).where(
            Report.status != ReportStatus.closed.value, col(Report.id).not_in(someone)
        )
    ).all()
    if orphans:
        admins = session.exec(
            select(User.id)
            .join(UserRole, col(UserRole.user_id) == User.id)
            .where(UserRole.role == Role.admin.value, col(User.is_active).is_(True))
        ).all()
        known = set(
            session.exec(
                select(Notification.user_id, Notification.dedupe).where(
                    col(Notification.report_id).in_(orphans),
                    Notification.kind == NotificationKind.unattended.value,
                )
            ).all()
        )
        existing |= known
        for report_id in orphans:
            for admin_id in admins:
                run.unattended += add(admin_id, NotificationKind.unattended, report_id, None, "")
    if new_notices:
        session.execute(insert(Notification), new_notices)
        reporting_notices.record_many(session, new_notices)
    audit.record_many(session, escalated)
    return run
