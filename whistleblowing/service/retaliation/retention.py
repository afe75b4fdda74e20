"""What the scheduled jobs do for complaints (`whistleblowing.jobs`): tell the officers when the
monitoring of a closed complaint is about to end, and delete complaints once kept long enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from backend import audit
from backend.config import Settings
from whistleblowing import attachments, deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    ComplaintAttachment,
    ComplaintItem,
    ComplaintKeyWrap,
    ComplaintStatus,
    Notification,
    NotificationKind,
    RetaliationComplaint,
)
from whistleblowing.service import lifecycle


@dataclass
class ComplaintRetention:
    deleted: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.deleted)} complaints deleted ({len(self.files)} files)"


def apply_retention(session: Session, settings: Settings, *, today: date) -> ComplaintRetention:
    """Delete complaints closed and out of monitoring for `complaint_retention_months`, with
    their files and keys; the audit trail stays. The caller commits, then removes `files`."""
    run = ComplaintRetention()
    months = settings.complaint_retention_months
    for complaint in session.exec(
        select(RetaliationComplaint).where(
            RetaliationComplaint.status == ComplaintStatus.closed.value,
            col(RetaliationComplaint.monitoring_until) <= today - timedelta(days=28 * months),
        )
    ).all():
        if deadlines.add_months(complaint.monitoring_until, months) > today:
            continue
        files = list(
            session.exec(
                select(ComplaintAttachment.uid).where(
                    ComplaintAttachment.complaint_id == complaint.id
                )
            ).all()
        )
        for model, column in (
            (Notification, Notification.complaint_id),
            (ComplaintAttachment, ComplaintAttachment.complaint_id),
            (ComplaintItem, ComplaintItem.complaint_id),
            (ComplaintKeyWrap, ComplaintKeyWrap.complaint_id),
        ):
            session.exec(delete(model).where(column == complaint.id))
        audit.record(
            session,
            action="retaliation.complaint_deleted",
            actor="system",
            entity_type="retaliation_complaint",
            entity_id=complaint.reference,
            before={"outcome": complaint.outcome, "closed_on": complaint.closed_on},
            after={"reason": "retention", "files": len(files)},
        )
        reporting_notices.forget_complaint(session, complaint.reference)
        session.exec(delete(RetaliationComplaint).where(RetaliationComplaint.id == complaint.id))
        run.deleted.append(complaint.reference)
        run.files += files
    return run


def remove_files(settings: Settings, uids: Sequence[str]) -> None:
    for uid in uids:
        attachments.remove(settings.attachments_dir, uid)


def monitoring_notices(session: Session, *, today: date) -> int:
    """Tell the officers a month before the monitoring of a closed complaint ends; return how
    many notices were new (each is sent once)."""
    soon = today + timedelta(days=30)
    told = 0
    rows = session.exec(
        select(RetaliationComplaint.id, RetaliationComplaint.monitoring_until).where(
            RetaliationComplaint.status == ComplaintStatus.closed.value,
            RetaliationComplaint.monitoring_until >= today,
            RetaliationComplaint.monitoring_until <= soon,
        )
    ).all()
    for complaint_id, until in rows:
        for user_id in session.exec(
            select(ComplaintKeyWrap.user_id).where(
                ComplaintKeyWrap.complaint_id == complaint_id,
                col(ComplaintKeyWrap.user_id).is_not(None),
            )
        ).all():
            told += lifecycle.notify(
                session,
                user_id=user_id,
                kind=NotificationKind.monitoring_ends,
                complaint_id=complaint_id,
                due_on=until,
                dedupe=f"monitoring_ends:{complaint_id}:{until.isoformat()}",
                today=today,
            )
    return told
