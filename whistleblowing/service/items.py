"""Reading a case (its timeline and files) and writing into it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from whistleblowing import attachments, deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    REPORTER_KINDS,
    REPORTER_VISIBLE_KINDS,
    ItemKind,
    ReportAttachment,
    ReportItem,
    ReportStatus,
)
from whistleblowing.service.common import (
    MAX_TEXT,
    AttachmentView,
    CaseAccess,
    ReportingError,
    Upload,
    _aad,
    load_attachment,
    open_sealed_json,
    sealed_order,
)
from whistleblowing.service.sealing import (
    _seal_item,
    _store_files,
    clean_uploads,
    discard_files,
    item_position,
    keep_with_transaction,
)


@dataclass
class TimelineEntry:
    uid: str
    kind: ItemKind
    created_on: date
    by_reporter: bool
    author: User | None
    content: dict[str, Any] | None  # None: sealed to a key this reader does not hold
    reply_to_uid: str | None
    attachments: list[AttachmentView]


def _open_item(access: CaseAccess, item: ReportItem) -> dict[str, Any] | None:
    kind = ItemKind(item.kind)
    if kind is ItemKind.identity:
        if access.identity_private_key is None:
            return None
        key = access.identity_private_key
    else:
        key = access.private_key
    aad = _aad("item", access.report.reference, kind.value, item.uid)
    return open_sealed_json(key, item.sealed, aad=aad)


def _open_attachment_meta(access: CaseAccess, row: ReportAttachment) -> dict[str, Any]:
    aad = _aad("attachment-meta", access.report.reference, row.item_uid, row.uid)
    return open_sealed_json(access.private_key, row.sealed_meta, aad=aad)


def timeline(session: Session, *, access: CaseAccess) -> list[TimelineEntry]:
    """Return the case's items decrypted, oldest first (notes left out for the reporter)."""
    items = session.exec(
        select(ReportItem)
        .where(ReportItem.report_id == access.report.id)
        .order_by(col(ReportItem.id))
    ).all()
    files = session.exec(
        select(ReportAttachment)
        .where(ReportAttachment.report_id == access.report.id)
        .order_by(col(ReportAttachment.id))
    ).all()
    by_item: dict[str, list[AttachmentView]] = {}
    file_order: dict[str, tuple[int, int]] = {}
    authors = {
        u.id: u
        for u in session.exec(
            select(User).where(col(User.id).in_({i.author_id for i in items if i.author_id}))
        )
    }
    visible_items = [
        i for i in items if not access.by_reporter or ItemKind(i.kind) in REPORTER_VISIBLE_KINDS
    ]
    visible_uids = {i.uid for i in visible_items}
    for row in files:
        if row.item_uid not in visible_uids:
            continue
        meta = _open_attachment_meta(access, row)
        file_order[row.uid] = sealed_order(meta, row.id)
        by_item.setdefault(row.item_uid, []).append(
            AttachmentView(row.uid, meta["name"], meta["type"], meta["size"], meta["sha256"])
        )
    ordered = []
    for item in visible_items:
        kind = ItemKind(item.kind)
        content = _open_item(access, item)
        if kind is ItemKind.submission:
            place = (1, 0)
        elif kind is ItemKind.identity:
            place = (1, 1)  # filed with the submission (sealed to a key not every reader has)
        else:
            place = sealed_order(content or {}, item.id)
        entry = TimelineEntry(
            uid=item.uid,
            kind=kind,
            created_on=item.created_on,
            by_reporter=kind in REPORTER_KINDS,
            author=None if access.by_reporter else authors.get(item.author_id),
            content=content,
            reply_to_uid=item.reply_to_uid,
            attachments=sorted(by_item.get(item.uid, []), key=lambda a: file_order[a.uid]),
        )
        ordered.append(((item.created_on, *place, item.uid), entry))
    return [entry for _key, entry in sorted(ordered, key=lambda pair: pair[0])]


def read_attachment(
    session: Session, settings: Settings, *, access: CaseAccess, uid: str
) -> tuple[AttachmentView, bytes]:
    """Return an attachment's description and its decrypted bytes (authenticated whole)."""
    row = session.exec(
        select(ReportAttachment).where(
            ReportAttachment.uid == uid, ReportAttachment.report_id == access.report.id
        )
    ).first()
    if row is None:
        raise ReportingError(_("This file does not exist."), status_code=404)
    if access.by_reporter:
        item = session.exec(select(ReportItem).where(ReportItem.uid == row.item_uid)).first()
        if item is None or ItemKind(item.kind) not in REPORTER_VISIBLE_KINDS:
            raise ReportingError(_("This file does not exist."), status_code=404)
    meta = _open_attachment_meta(access, row)
    aad = _aad("attachment", access.report.reference, uid)
    return load_attachment(settings, uid=uid, meta=meta, aad=aad)


# --- writing into a case ----------------------------------------------------------------------


def add_item(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    kind: ItemKind,
    text: str,
    author: User | None = None,
    reply_to_uid: str | None = None,
    files: Sequence[Upload] = (),
    today: date | None = None,
    extra: dict[str, Any] | None = None,
) -> ReportItem:
    """Seal a message, question, answer or note (with files) into the case; caller commits.
    `extra` is sealed beside the text (a meeting request's mode and availability).

    Reporters may add messages and answers; staff replies, questions, acknowledgements,
    feedback and notes. Raises ReportingError on empty text or a refused file.
    """
    report = access.report
    today = today or clock.today(settings)
    if access.by_reporter != (kind in REPORTER_KINDS) or kind in (
        ItemKind.submission,
        ItemKind.identity,
    ):
        raise ReportingError(_("This kind of message cannot be added here."), status_code=403)
    text = text.strip()
    if not text:
        raise ReportingError(_("Write a message."), field="text")
    if len(text) > MAX_TEXT:
        raise ReportingError(
            _("This text is too long (at most %(n)s characters).", n=MAX_TEXT), field="text"
        )
    if len(files) > attachments.MAX_ATTACHMENTS_PER_MESSAGE:
        raise ReportingError(
            _("Attach at most %(n)s files at a time.", n=attachments.MAX_ATTACHMENTS_PER_MESSAGE),
            field="files",
        )
    if report.status == ReportStatus.closed and access.by_reporter:
        raise ReportingError(
            _("This report is closed. If something new happened, send a new report."),
            status_code=409,
        )
    if report.status == ReportStatus.closed and kind in (
        ItemKind.acknowledgement,
        ItemKind.feedback,
        ItemKind.question,
    ):
        raise ReportingError(
            _("This case is closed: acknowledgements, feedback and questions are over."),
            status_code=409,
        )
    if reply_to_uid is not None:
        question = session.exec(
            select(ReportItem).where(
                ReportItem.uid == reply_to_uid,
                ReportItem.report_id == report.id,
                ReportItem.kind == ItemKind.question.value,
            )
        ).first()
        if question is None:
            raise ReportingError(_("This question does not exist."), status_code=404)
    cleaned, problems = clean_uploads(files)
    if problems:
        raise ReportingError(" ".join(problems), field="files")
    uid = attachments.new_uid()
    written: list[str] = []
    try:
        summaries = _store_files(
            session, settings, report, item_uid=uid, files=cleaned, written=written
        )
        item = ReportItem(
            uid=uid,
            report_id=report.id,
            kind=kind.value,
            author_id=author.id if author else None,
            reply_to_uid=reply_to_uid,
            created_on=today,
            sealed=_seal_item(
                report,
                kind=kind,
                uid=uid,
                payload={**(extra or {}), "text": text, "files": summaries},
                position=item_position(session, report),
            ),
        )
        session.add(item)
        before = {"status": report.status}
        if access.by_reporter:
            report.last_reporter_activity_on = today
            report.awaiting_staff = True
        else:
            report.awaiting_staff = False
            if kind is ItemKind.acknowledgement and report.acknowledged_on is None:
                report.acknowledged_on = today
                report.feedback_due_on = deadlines.feedback_due(report.submitted_on, today)
                if report.status == ReportStatus.received:
                    report.status = ReportStatus.acknowledged
            if kind is ItemKind.feedback:
                report.feedback_given_on = report.feedback_given_on or today
        session.add(report)
        session.flush()
        if access.by_reporter:
            reporting_notices.reporter_wrote(session, report=report, today=today)
        if author is not None:
            audit.record(
                session,
                action=f"report.{kind.value}_added",
                actor=author,
                entity_type="report",
                entity_id=report.reference,
                before=before if before["status"] != report.status else None,
                after={"item": uid, "files": len(summaries), "status": report.status},
            )
    except BaseException:
        discard_files(settings, written)
        raise
    keep_with_transaction(session, settings, written)
    return item
