"""Who the reporting channel tells, through the one notice service (`backend.notices`).

Every kind here is confidential: its mail says only that something in Mérito needs attention,
with the sign-in link to the notice list, never a reference, a channel, a name or a subject
that reveals anything (docs/security.md, "Mail"). In the app, behind sign-in, a notice names
the case or complaint by its reference, as the channel's pages do, and never what it is about.

The channel publishes no events (whistleblowing/events.py says why), so its services call these
functions directly, in their own transaction:

- investigators: a new report, a reporter's message, a deadline in 2 days, an overdue one (and
  the channel's lead when it is missed), handovers and reminders (`record` / `record_many`,
  beside the channel's own `notification` rows, which keep its clock's de-duplication);
- protection officers: a new complaint, the HR watch's new entries (once a day, whatever the
  decisions were about: a notice only for protected people would tell who is protected);
- identity custodians: a request to release a reporter's identity;
- administrators: a report nobody can read (and, from the core, mail that failed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend import notices
from backend.i18n import N_
from whistleblowing.models import (
    NOTIFICATION_LABELS,
    KeyKind,
    NotificationKind,
    Report,
    ReportKeyWrap,
    RetaliationComplaint,
)

PREFIX = "reporting."
CASE = N_("Case %(reference)s")
COMPLAINT = N_("Complaint %(reference)s")

# The channel's clock and handling notices: optional ones can be left to the notice list.
OPTIONAL = {
    NotificationKind.reminder: N_("Your own reminders on cases"),
    NotificationKind.assigned: N_("Cases assigned to you"),
    NotificationKind.monitoring_ends: N_("Monitoring of closed complaints ending"),
}
ABOUT_COMPLAINTS = {NotificationKind.complaint_received, NotificationKind.monitoring_ends}

for _kind in NotificationKind:
    notices.kind(
        PREFIX + _kind.value,
        subject=NOTIFICATION_LABELS[_kind],
        body=COMPLAINT if _kind in ABOUT_COMPLAINTS else CASE,
        mandatory=_kind not in OPTIONAL,
        confidential=True,
        label=OPTIONAL.get(_kind, NOTIFICATION_LABELS[_kind]),
    )

REPORT_RECEIVED = notices.kind(
    PREFIX + "report_received",
    subject=N_("A new report arrived"),
    body=N_("Case %(reference)s: acknowledge it to the reporter by %(day)s."),
    mandatory=True,
    confidential=True,
)
REPORTER_WROTE = notices.kind(
    PREFIX + "reporter_message",
    subject=N_("The reporter wrote"),
    body=N_("Case %(reference)s has a new message from the reporter."),
    confidential=True,
    label=N_("Messages from reporters"),
)
IDENTITY_REQUESTED = notices.kind(
    PREFIX + "identity_requested",
    subject=N_("An investigator asks for a reporter's identity"),
    body=N_("Case %(reference)s: decide whether the identity is released."),
    mandatory=True,
    confidential=True,
)
HR_WATCH = notices.kind(
    PREFIX + "hr_watch",
    subject=N_("New entries in the HR watch"),
    body=N_(
        "Adverse HR decisions were recorded on %(day)s. Open the HR watch to see whether any "
        "concerns a protected person."
    ),
    confidential=True,
    label=N_("New entries in the HR watch"),
)


def _report_link(reference: str) -> str:
    return f"/cases/{reference}"


def _complaint_link(reference: str) -> str:
    return f"/retaliation/{reference}"


def record_many(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Tell what the channel's own `notification` rows record (user_id, kind, report_id or
    complaint_id, due_on, dedupe), grouped into one `tell` per notice; return how many."""
    rows = list(rows)
    report_ids = {row["report_id"] for row in rows if row.get("report_id")}
    complaint_ids = {row["complaint_id"] for row in rows if row.get("complaint_id")}
    reports = (
        dict(
            session.exec(
                select(Report.id, Report.reference).where(col(Report.id).in_(report_ids))
            ).all()
        )
        if report_ids
        else {}
    )
    complaints = (
        dict(
            session.exec(
                select(RetaliationComplaint.id, RetaliationComplaint.reference).where(
                    col(RetaliationComplaint.id).in_(complaint_ids)
                )
            ).all()
        )
        if complaint_ids
        else {}
    )
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        key = (
            row["kind"],
            row["dedupe"],
            row.get("report_id"),
            row.get("complaint_id"),
            row.get("due_on"),
        )
        groups[key].append(row["user_id"])
    told = 0
    for (kind, dedupe, report_id, complaint_id, due_on), users in groups.items():
        if report_id in reports:
            reference, link = reports[report_id], _report_link(reports[report_id])
        elif complaint_id in complaints:
            reference, link = complaints[complaint_id], _complaint_link(complaints[complaint_id])
        else:
            reference, link = "", ""
        told += notices.tell(
            session,
            to=users,
            kind=PREFIX + str(kind),
            key=dedupe,
            params={"reference": reference, "day": due_on},
            link=link,
        )
    return told


def _holders(session: Session, report_id: int, key_kind: KeyKind = KeyKind.report) -> list[int]:
    return list(
        session.exec(
            select(ReportKeyWrap.user_id).where(
                ReportKeyWrap.report_id == report_id,
                ReportKeyWrap.key_kind == key_kind.value,
                col(ReportKeyWrap.user_id).is_not(None),
            )
        ).all()
    )


def report_received(session: Session, *, report: Report, to: Iterable[int]) -> int:
    """Tell the investigators who received a new report (its key was wrapped for them)."""
    return notices.tell(
        session,
        to=to,
        kind=REPORT_RECEIVED.name,
        key=f"report:{report.id}",
        params={"reference": report.reference, "day": report.ack_due_on},
        link=_report_link(report.reference),
    )


def reporter_wrote(session: Session, *, report: Report, today: date) -> int:
    """Tell the case's handler (or every investigator holding it) that the reporter wrote;
    once a day per case, so neither a flood nor the hour says when the reporter was here."""
    held = _holders(session, report.id)
    to = [report.assignee_id] if report.assignee_id in held else held
    return notices.tell(
        session,
        to=to,
        kind=REPORTER_WROTE.name,
        key=f"report:{report.id}:{today.isoformat()}",
        params={"reference": report.reference},
        link=_report_link(report.reference),
    )


def identity_requested(session: Session, *, report: Report, request_id: int) -> int:
    """Tell the custodians of a reporter's identity (who hold its key) about a request."""
    return notices.tell(
        session,
        to=_holders(session, report.id, KeyKind.identity),
        kind=IDENTITY_REQUESTED.name,
        key=f"identity-request:{request_id}",
        params={"reference": report.reference},
        link="/cases/identity-requests",
    )


def hr_watch_entries(session: Session, *, officers: Iterable[int], today: date) -> int:
    """Tell the protection officers, once a day, that the HR watch has new entries."""
    return notices.tell(
        session,
        to=officers,
        kind=HR_WATCH.name,
        key=f"hr-watch:{today.isoformat()}",
        params={"day": today},
        link="/retaliation/watch",
    )


def forget_report(session: Session, reference: str) -> int:
    """Delete the notices about a report deleted by its retention rule."""
    return notices.forget(session, link=_report_link(reference))


def forget_complaint(session: Session, reference: str) -> int:
    """Delete the notices about a complaint deleted by its retention rule."""
    return notices.forget(session, link=_complaint_link(reference))
