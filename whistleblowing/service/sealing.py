"""Sealing what people write to a report's key, and storing encrypted files in step with the
database transaction.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, SQLModel, select

from backend import crypto
from backend.auth.models import User
from backend.config import Settings
from whistleblowing import attachments
from whistleblowing.models import (
    HolderKind,
    ItemKind,
    KeyKind,
    Report,
    ReportAttachment,
    ReportItem,
    ReportKeyWrap,
)
from whistleblowing.service.common import Upload, _aad, canonical_json


def _seal_item(
    report: Report,
    *,
    kind: ItemKind,
    uid: str,
    payload: dict[str, Any],
    public_key: bytes | None = None,
    position: int | None = None,
) -> bytes:
    """Seal an item's payload; `position` (its place in the case) is sealed with it."""
    if position is not None:
        payload = {**payload, "position": position}
    return crypto.seal(
        public_key or report.public_key,
        canonical_json(payload),
        aad=_aad("item", report.reference, kind.value, uid),
    )


def item_position(session: Session, report: Report) -> int:
    """Return the place of the next item in the case's conversation (sealed into it).

    Item ids are random (models.random_id_column): a plain order would tell when a reporter
    wrote between two timed staff actions. Two items written at the same moment may share a
    place; the timeline then orders them by their random uid.
    """
    return session.exec(
        select(func.count()).select_from(ReportItem).where(ReportItem.report_id == report.id)
    ).one()


def _wrap_for(
    report: Report, *, key_kind: KeyKind, private: bytes, holder_public: bytes, holder: str
) -> bytes:
    return crypto.wrap_key_for(
        holder_public, private, aad=_aad("wrap", report.reference, key_kind.value, holder)
    )


def _new_wrap(
    report: Report,
    *,
    key_kind: KeyKind,
    private: bytes,
    user_id: int | None,
    public_key: bytes,
    granted_by: User | None = None,
) -> ReportKeyWrap:
    """Return the row of the report's `key_kind` key wrapped for a user (None: the recovery
    key)."""
    holder = f"user:{user_id}" if user_id is not None else HolderKind.recovery.value
    return ReportKeyWrap(
        report_id=report.id,
        key_kind=key_kind.value,
        holder_kind=HolderKind.user.value if user_id is not None else HolderKind.recovery.value,
        user_id=user_id,
        wrapped=_wrap_for(
            report, key_kind=key_kind, private=private, holder_public=public_key, holder=holder
        ),
        granted_by_id=granted_by.id if granted_by else None,
    )


def _add_wrap(session: Session, report: Report, **wrap: Any) -> ReportKeyWrap:
    """Add to the session the wrap `_new_wrap` returns for these arguments."""
    row = _new_wrap(report, **wrap)
    session.add(row)
    return row


def insert_new_rows(session: Session, rows: Sequence[SQLModel]) -> None:
    """Insert new rows now, one statement per table, without the ORM's unit of work.

    For rows the request does not use as objects afterwards (a new report's items, files and
    key wraps): flushing them through the unit of work cost more than the INSERTs themselves.
    Their ids are left out so the table's default draws each a random one
    (models.random_id_column), which `backend.db.insert_rows` (bulk loads, values written as
    given) would not do.
    """
    by_table: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_table.setdefault(type(row).__table__, []).append(row.model_dump(exclude={"id"}))
    for table, values in by_table.items():
        session.execute(table.insert(), values)


@dataclass
class StoredFile:
    uid: str
    sealed_meta: bytes
    summary: dict[str, Any]


def store_sealed_files(
    settings: Settings,
    *,
    scope: str,
    reference: str,
    public_key: bytes,
    item_uid: str,
    files: Sequence[attachments.CleanFile],
    written: list[str],
) -> list[StoredFile]:
    """Encrypt files into the store, each under its own key, and seal their descriptions
    (name, type, size, SHA-256, file key) to `public_key`. `scope` names what they belong to
    ("attachment" for reports) and is bound into the associated data. Stored uids are added
    to `written` so a failed transaction can remove them."""
    stored = []
    for position, clean in enumerate(files):
        uid = attachments.new_uid()
        file_key = crypto.new_session_key()
        attachments.store(
            settings.attachments_dir,
            uid,
            key=file_key,
            data=clean.data,
            aad=_aad(scope, reference, uid),
        )
        written.append(uid)
        meta = {
            "name": clean.filename,
            "type": clean.file_type.content_type,
            "size": len(clean.data),
            "sha256": clean.sha256,
            "key": base64.b64encode(file_key).decode(),
            # Rows have random ids: the order the files were given in is sealed here.
            "position": position,
        }
        stored.append(
            StoredFile(
                uid,
                crypto.seal(
                    public_key,
                    canonical_json(meta),
                    aad=_aad(f"{scope}-meta", reference, item_uid, uid),
                ),
                {"name": clean.filename, "size": len(clean.data), "sha256": clean.sha256},
            )
        )
    return stored


def _store_files(
    session: Session,
    settings: Settings,
    report: Report,
    *,
    item_uid: str,
    files: Sequence[attachments.CleanFile],
    written: list[str],
) -> list[dict[str, Any]]:
    """Encrypt files into the store and add their rows; return their sealed-side summaries."""
    stored = store_sealed_files(
        settings,
        scope="attachment",
        reference=report.reference,
        public_key=report.public_key,
        item_uid=item_uid,
        files=files,
        written=written,
    )
    _add_attachment_rows(session, report, item_uid=item_uid, stored=stored)
    return [entry.summary for entry in stored]


def _attachment_rows(
    report: Report, *, item_uid: str, stored: Sequence[StoredFile]
) -> list[ReportAttachment]:
    """Return the rows of files stored for the report's item `item_uid`."""
    return [
        ReportAttachment(
            uid=entry.uid, report_id=report.id, item_uid=item_uid, sealed_meta=entry.sealed_meta
        )
        for entry in stored
    ]


def _add_attachment_rows(
    session: Session, report: Report, *, item_uid: str, stored: Sequence[StoredFile]
) -> None:
    """Add the rows of files stored for the report's item `item_uid`."""
    session.add_all(_attachment_rows(report, item_uid=item_uid, stored=stored))


def clean_uploads(uploads: Sequence[Upload]) -> tuple[list[attachments.CleanFile], list[str]]:
    """Return the cleaned files and the translated problems of the refused ones."""
    cleaned, problems = [], []
    for upload in uploads:
        try:
            cleaned.append(attachments.clean(upload.filename, upload.data))
        except attachments.AttachmentRefused as refused:
            problems.append(str(refused))
    return cleaned, problems


def discard_files(settings: Settings, uids: Sequence[str]) -> None:
    """Remove stored files whose database rows were not committed."""
    for uid in uids:
        attachments.remove(settings.attachments_dir, uid)


# Files written in a transaction are listed in `session.info` until it ends: kept when it
# commits, removed when it ends any other way (rolled back by `run_action` on a refused rule, a
# failed commit, a session closed without committing). So the encrypted store stays in step
# with the database whoever commits: a route through `backend.actions.run_action`, a job, a
# test.
_WRITTEN = "wb_written_files"


def keep_with_transaction(session: Session, settings: Settings, uids: Sequence[str]) -> None:
    """Tie files just written to the session's transaction: removed unless it commits."""
    session.info.setdefault(_WRITTEN, []).extend((settings.attachments_dir, uid) for uid in uids)
    if not event.contains(session, "after_commit", _forget_written):
        event.listen(session, "after_commit", _forget_written)
        event.listen(session, "after_transaction_end", _remove_unless_committed)


def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _remove_unless_committed(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:
        return  # a flush's or a savepoint's inner transaction: the outermost one decides
    for directory, uid in session.info.pop(_WRITTEN, []):
        attachments.remove(directory, uid)
