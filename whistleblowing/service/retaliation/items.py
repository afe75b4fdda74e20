"""What a complaint holds: sealed items (the complaint, messages, notes, assessments,
decisions) with their files, read back in order, and the facts the officers' pages and the pack
read from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from whistleblowing import attachments
from whistleblowing.models import (
    COMPLAINANT_VISIBLE_ITEMS,
    ComplaintAttachment,
    ComplaintItem,
    ComplaintItemKind,
    RetaliationComplaint,
)
from whistleblowing.service.common import (
    AttachmentView,
    ReportingError,
    TamperedCase,
    Upload,
    _aad,
    canonical_json,
    load_attachment,
    open_sealed_json,
    sealed_order,
)
from whistleblowing.service.sealing import (
    clean_uploads,
    discard_files,
    keep_with_transaction,
    store_sealed_files,
)

from .common import ComplaintAccess


def _seal_complaint_item(
    complaint: RetaliationComplaint, *, kind: ComplaintItemKind, uid: str, payload: dict
) -> bytes:
    return crypto.seal(
        complaint.public_key,
        canonical_json(payload),
        aad=_aad("complaint-item", complaint.reference, kind.value, uid),
    )


def _add_complaint_item(
    session: Session,
    settings: Settings,
    *,
    complaint: RetaliationComplaint,
    kind: ComplaintItemKind,
    payload: dict[str, Any],
    author: User | None,
    today: date,
    files: Sequence[Upload] = (),
) -> ComplaintItem:
    """Seal an item (with files) into the complaint. Stored files are recorded on the session
    so `session.commit()`/`rollback()` keep the store in step with the transaction."""
    cleaned, problems = clean_uploads(files)
    if problems:
        raise ReportingError(" ".join(problems), field="evidence")
    uid = attachments.new_uid()
    written: list[str] = []
    try:
        stored = store_sealed_files(
            settings,
            scope="complaint-attachment",
            reference=complaint.reference,
            public_key=complaint.public_key,
            item_uid=uid,
            files=cleaned,
            written=written,
        )
        for entry in stored:
            session.add(
                ComplaintAttachment(
                    uid=entry.uid,
                    complaint_id=complaint.id,
                    item_uid=uid,
                    sealed_meta=entry.sealed_meta,
                    created_on=today,
                )
            )
        item = ComplaintItem(
            uid=uid,
            complaint_id=complaint.id,
            kind=kind.value,
            author_id=author.id if author else None,
            created_on=today,
            sealed=_seal_complaint_item(
                complaint,
                kind=kind,
                uid=uid,
                # Item ids are random (models.random_id_column): the place is sealed.
                payload={
                    **payload,
                    "files": [e.summary for e in stored],
                    "position": session.exec(
                        select(func.count())
                        .select_from(ComplaintItem)
                        .where(ComplaintItem.complaint_id == complaint.id)
                    ).one(),
                },
            ),
        )
        session.add(item)
        session.flush()
    except BaseException:
        discard_files(settings, written)
        raise
    keep_with_transaction(session, settings, written)
    return item


@dataclass
class ComplaintEntry:
    uid: str
    kind: ComplaintItemKind
    created_on: date
    author: User | None
    content: dict[str, Any]
    attachments: list[AttachmentView]


def complaint_timeline(session: Session, *, access: ComplaintAccess) -> list[ComplaintEntry]:
    """Return the complaint's items, decrypted, oldest first (only what the complainant may
    see, for the complainant)."""
    complaint = access.complaint
    items = session.exec(
        select(ComplaintItem)
        .where(ComplaintItem.complaint_id == complaint.id)
        .order_by(col(ComplaintItem.id))
    ).all()
    if access.by_complainant:
        items = [i for i in items if ComplaintItemKind(i.kind) in COMPLAINANT_VISIBLE_ITEMS]
    files: dict[str, list[AttachmentView]] = {}
    file_order: dict[str, tuple[int, int]] = {}
    for row in session.exec(
        select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint.id)
    ).all():
        meta = _open_attachment_meta(access, row)
        file_order[row.uid] = sealed_order(meta, row.id)
        files.setdefault(row.item_uid, []).append(
            AttachmentView(row.uid, meta["name"], meta["type"], meta["size"], meta["sha256"])
        )
    authors = {
        u.id: u
        for u in session.exec(
            select(User).where(col(User.id).in_({i.author_id for i in items if i.author_id}))
        )
    }
    entries = []
    for item in items:
        kind = ComplaintItemKind(item.kind)
        content = open_sealed_json(
            access.private_key,
            item.sealed,
            aad=_aad("complaint-item", complaint.reference, kind.value, item.uid),
        )
        entry = ComplaintEntry(
            item.uid,
            kind,
            item.created_on,
            None if access.by_complainant else authors.get(item.author_id),
            content,
            sorted(files.get(item.uid, []), key=lambda a: file_order[a.uid]),
        )
        place = (item.created_on, *sealed_order(content, item.id), item.uid)
        entries.append((place, entry))
    return [entry for _place, entry in sorted(entries, key=lambda pair: pair[0])]


def _open_attachment_meta(access: ComplaintAccess, row: ComplaintAttachment) -> dict[str, Any]:
    return open_sealed_json(
        access.private_key,
        row.sealed_meta,
        aad=_aad("complaint-attachment-meta", access.complaint.reference, row.item_uid, row.uid),
    )


def read_complaint_attachment(
    session: Session, settings: Settings, *, access: ComplaintAccess, uid: str
) -> tuple[AttachmentView, bytes]:
    """Return a complaint file's description and its decrypted bytes."""
    row = session.exec(
        select(ComplaintAttachment).where(
            ComplaintAttachment.uid == uid,
            ComplaintAttachment.complaint_id == access.complaint.id,
        )
    ).first()
    if row is None:
        raise ReportingError(_("This file does not exist."), status_code=404)
    if access.by_complainant:
        item = session.exec(select(ComplaintItem).where(ComplaintItem.uid == row.item_uid)).first()
        if item is None or ComplaintItemKind(item.kind) not in COMPLAINANT_VISIBLE_ITEMS:
            raise ReportingError(_("This file does not exist."), status_code=404)
    return load_attachment(
        settings,
        uid=uid,
        meta=_open_attachment_meta(access, row),
        aad=_aad("complaint-attachment", access.complaint.reference, uid),
    )


def _complaint_content(session: Session, access: ComplaintAccess) -> dict[str, Any]:
    for entry in complaint_timeline(session, access=access):
        if entry.kind is ComplaintItemKind.complaint:
            return entry.content
    raise TamperedCase


def protected_employee_id(
    session: Session, access: ComplaintAccess, *, entries: list[ComplaintEntry] | None = None
) -> int | None:
    """Return the employee the complaint protects, if known (identified, or linked later).

    `entries`: the complaint's timeline, when the caller has it already."""
    found = None
    if entries is None:
        entries = complaint_timeline(session, access=access)
    for entry in entries:
        if entry.kind is ComplaintItemKind.identity and entry.content.get("employee_id"):
            found = entry.content["employee_id"]
        if entry.kind is ComplaintItemKind.decision and entry.content.get("protected_employee_id"):
            found = entry.content["protected_employee_id"]
    return found
