"""Redaction: what a holder hides from the redacted version of a case, the redacted version
itself (for viewers and exports), and viewers, who read only that version.

The originals are never touched: a redaction is a sealed note beside the case ("hide these
words", "withhold this file", "black out these areas of this image"), applied whenever the
redacted version is built. Holders build it with the report key; viewers never get that key,
only the redaction key, to which a holder seals a prepared copy (models.casefile).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, event
from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.i18n import _
from whistleblowing import attachments
from whistleblowing.models import (
    CaseRedactedCopy,
    CaseRedaction,
    CaseRedactionKey,
    CaseViewer,
    HolderKey,
    ItemKind,
    RedactionKind,
    RedactionReason,
    Report,
    ReportAttachment,
)
from whistleblowing.service.channels import holder_keys, investigators
from whistleblowing.service.common import (
    AttachmentView,
    CaseAccess,
    ReportingError,
    TamperedCase,
    _aad,
    canonical_json,
    load_attachment,
    open_sealed_json,
)
from whistleblowing.service.inbox import barred_from_case, holder_ids, refuse_if_barred
from whistleblowing.service.items import _open_attachment_meta, timeline
from whistleblowing.service.sealing import keep_with_transaction

# What replaces hidden words: always the same length, so it tells nothing of what it hides.
MASK = "█████"
MAX_PHRASE = 200
# The submission's fields a person wrote, in the order a reader expects them.
SUBMISSION_FIELDS = ("what", "when", "where", "who", "how_known")
# Images whose areas can be blacked out (Pillow writes them back in the same format).
REGION_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


@dataclass
class RedactionView:
    """A redaction as holders see it (the phrase or areas opened with the report key)."""

    row: CaseRedaction
    kind: RedactionKind
    reason: RedactionReason
    phrase: str = ""
    regions: list[list[float]] | None = None
    target_name: str = ""
    author: User | None = None


# --- the redaction key ------------------------------------------------------------------------


def _redaction_key(session: Session, access: CaseAccess) -> tuple[bytes, bytes]:
    """Return the report's redaction key pair (public, private), made on first use."""
    row = session.get(CaseRedactionKey, access.report.id)
    aad = _aad("redaction-key", access.report.reference)
    if row is None:
        pair = crypto.generate_keypair()
        row = CaseRedactionKey(
            report_id=access.report.id,
            public_key=pair.public,
            private_sealed=crypto.seal(access.report.public_key, pair.private, aad=aad),
        )
        session.add(row)
        session.flush()
        return pair.public, pair.private
    try:
        return row.public_key, crypto.open_sealed(access.private_key, row.private_sealed, aad=aad)
    except crypto.DecryptionError:
        raise TamperedCase from None


# --- marking what to hide ---------------------------------------------------------------------


def redactions_of(session: Session, access: CaseAccess) -> list[RedactionView]:
    """Return the case's redactions opened for a holder, oldest first."""
    rows = session.exec(
        select(CaseRedaction)
        .where(CaseRedaction.report_id == access.report.id)
        .order_by(col(CaseRedaction.created_on), col(CaseRedaction.uid))
    ).all()
    authors = {
        u.id: u
        for u in session.exec(
            select(User).where(col(User.id).in_({r.created_by_id for r in rows}))
        ).all()
    }
    names = _file_names(session, access)
    views = []
    for row in rows:
        content = open_sealed_json(
            access.private_key, row.sealed, aad=_aad("redaction", access.report.reference, row.uid)
        )
        views.append(
            RedactionView(
                row,
                RedactionKind(row.kind),
                RedactionReason(row.reason),
                phrase=content.get("phrase", ""),
                regions=content.get("regions"),
                target_name=names.get(row.attachment_uid or "", ""),
                author=authors.get(row.created_by_id),
            )
        )
    return views


def _file_names(session: Session, access: CaseAccess) -> dict[str, str]:
    rows = session.exec(
        select(ReportAttachment).where(ReportAttachment.report_id == access.report.id)
    ).all()
    return {row.uid: _open_attachment_meta(access, row)["name"] for row in rows}


def _reason(value: str) -> RedactionReason:
    try:
        return RedactionReason(value)
    except ValueError:
        raise ReportingError(_("Choose why it is hidden."), field="reason") from None


def _attachment_row(session: Session, access: CaseAccess, uid: str) -> ReportAttachment:
    row = session.exec(
        select(ReportAttachment).where(
            ReportAttachment.uid == uid, ReportAttachment.report_id == access.report.id
        )
    ).first()
    if row is None:
        raise ReportingError(_("Choose a file of this case."), field="attachment")
    return row


def parse_regions(text: str) -> list[list[float]]:
    """Return the areas typed as "left top width height" in percent of the image, one per
    line (or separated by ";"); raise ReportingError naming what is wrong."""
    regions = []
    for line in re.split(r"[;\n]", text or ""):
        if not line.strip():
            continue
        try:
            numbers = [float(n.replace(",", ".")) for n in line.split()]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or not all(0 <= n <= 100 for n in numbers):
            raise ReportingError(
                _("Write each area as four numbers from 0 to 100: left, top, width, height."),
                field="regions",
            )
        left, top, width, height = numbers
        if width <= 0 or height <= 0 or left + width > 100 or top + height > 100:
            raise ReportingError(
                _("Each area must have a size and fit inside the image."), field="regions"
            )
        regions.append(numbers)
    if not regions or len(regions) > 20:
        raise ReportingError(_("Give from 1 to 20 areas to black out."), field="regions")
    return regions


def add_redaction(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    kind: RedactionKind,
    reason: str,
    phrase: str = "",
    item_uid: str | None = None,
    attachment_uid: str | None = None,
    regions: str = "",
    today: date,
) -> CaseRedaction:
    """Hide words (in one item or the whole case), a whole file or areas of an image from the
    redacted version, for `reason`; audited, the originals kept. The caller commits."""
    why = _reason(reason)
    content: dict[str, Any] = {}
    if kind is RedactionKind.text:
        phrase = " ".join(phrase.split())
        if len(phrase) < 2 or len(phrase) > MAX_PHRASE:
            raise ReportingError(
                _("Write the words to hide (2 to %(n)s characters).", n=MAX_PHRASE),
                field="phrase",
            )
        if item_uid and item_uid not in {e.uid for e in _redactable(session, access)}:
            raise ReportingError(_("Choose an entry of this case."), field="item")
        content["phrase"] = phrase
    else:
        row = _attachment_row(session, access, attachment_uid or "")
        if kind is RedactionKind.region:
            meta = _open_attachment_meta(access, row)
            if meta["type"] not in REGION_TYPES:
                raise ReportingError(
                    _("Areas can be blacked out of images only; withhold the whole file."),
                    field="regions",
                )
            content["regions"] = parse_regions(regions)
        item_uid = None
    uid = attachments.new_uid()
    redaction = CaseRedaction(
        uid=uid,
        report_id=access.report.id,
        kind=kind.value,
        item_uid=item_uid or None,
        attachment_uid=attachment_uid if kind is not RedactionKind.text else None,
        reason=why.value,
        sealed=crypto.seal(
            access.report.public_key,
            canonical_json(content),
            aad=_aad("redaction", access.report.reference, uid),
        ),
        created_by_id=actor.id,
        created_on=today,
    )
    session.add(redaction)
    session.flush()
    audit.record(
        session,
        action="report.redaction_added",
        actor=actor,
        entity_type="report",
        entity_id=access.report.reference,
        after={"redaction": uid, "kind": kind.value, "reason": why.value},
    )
    refresh_copy(session, settings, access=access, actor=actor, today=today, only_if_viewed=True)
    return redaction


def remove_redaction(
    session: Session, settings: Settings, *, access: CaseAccess, actor: User, uid: str, today: date
) -> None:
    """Show again what a redaction hid (audited); the caller commits."""
    row = session.exec(
        select(CaseRedaction).where(
            CaseRedaction.uid == uid, CaseRedaction.report_id == access.report.id
        )
    ).first()
    if row is None:
        raise ReportingError(_("This redaction does not exist."), status_code=404)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        action="report.redaction_removed",
        actor=actor,
        entity_type="report",
        entity_id=access.report.reference,
        before={"redaction": uid, "kind": row.kind, "reason": row.reason},
    )
    refresh_copy(session, settings, access=access, actor=actor, today=today, only_if_viewed=True)


# --- the redacted version ---------------------------------------------------------------------


def _redactable(session: Session, access: CaseAccess):
    """Return the entries that go into the redacted version: everything but the reporter's
    identity, which is sealed apart and never leaves the case."""
    return [e for e in timeline(session, access=access) if e.kind is not ItemKind.identity]


def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"\s+".join(words), re.IGNORECASE)


def mask(text: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """Return `text` with every match of `patterns` replaced by the mask."""
    for pattern in patterns:
        text = pattern.sub(MASK, text)
    return text


@dataclass
class RedactedCase:
    """The redacted version of a case: JSON-ready entries and the files that may go out."""

    reference: str
    entries: list[dict[str, Any]]
    files: list[dict[str, Any]]
    # Every phrase hidden anywhere in the case (for texts outside entries: the audit trail).
    patterns: list[re.Pattern[str]]


def redacted_case(session: Session, access: CaseAccess) -> RedactedCase:
    """Return the case as a viewer or an authority may read it: every text with the hidden
    words masked, withheld files left out (named only by their place), images with areas
    blacked out marked for redrawing (`redacted_file_bytes`), the reporter's identity never."""
    views = redactions_of(session, access)
    everywhere = [_pattern(v.phrase) for v in views if v.kind is RedactionKind.text]
    case_wide = [
        _pattern(v.phrase) for v in views if v.kind is RedactionKind.text and not v.row.item_uid
    ]
    per_item: dict[str, list[re.Pattern[str]]] = {}
    for v in views:
        if v.kind is RedactionKind.text and v.row.item_uid:
            per_item.setdefault(v.row.item_uid, []).append(_pattern(v.phrase))
    withheld = {v.row.attachment_uid: v.reason for v in views if v.kind is RedactionKind.attachment}
    regions: dict[str, list[list[float]]] = {}
    for v in views:
        if v.kind is RedactionKind.region:
            regions.setdefault(v.row.attachment_uid, []).extend(v.regions or [])
    entries, files = [], []
    for entry in _redactable(session, access):
        patterns = case_wide + per_item.get(entry.uid, [])
        content = entry.content or {}
        if entry.kind is ItemKind.submission:
            texts = [[k, mask(str(content.get(k) or ""), patterns)] for k in SUBMISSION_FIELDS]
            texts = [pair for pair in texts if pair[1]]
        else:
            texts = [["text", mask(str(content.get("text") or ""), patterns)]]
        listed = []
        for view in entry.attachments:
            if view.uid in withheld:
                listed.append({"withheld": withheld[view.uid].value})
                continue
            described = {
                "uid": view.uid,
                "name": mask(view.name, patterns),
                "type": view.content_type,
                "regions": regions.get(view.uid, []),
                "size": view.size,
                "sha256": view.sha256,
            }
            listed.append(described)
            files.append(described)
        entries.append(
            {
                "uid": entry.uid,
                "kind": entry.kind.value,
                "on": entry.created_on.isoformat(),
                "by_reporter": entry.by_reporter,
                "author": entry.author.full_name if entry.author else "",
                "texts": texts,
                "red_flags": list(content.get("red_flags") or [])
                if entry.kind is ItemKind.submission
                else [],
                "files": listed,
                "answers": _answers(content, patterns) if entry.kind is ItemKind.submission else [],
            }
        )
    return RedactedCase(access.report.reference, entries, files, everywhere)


def _answers(content: dict[str, Any], patterns: Sequence[re.Pattern[str]]) -> list[dict]:
    """Return the answers to the channel's questionnaire, masked (`pick` shows them)."""
    sealed = content.get("questionnaire") or {}
    answers = []
    for answer in sealed.get("answers") or []:
        words = answer.get("answer_words") or {}
        answers.append(
            {
                "question": answer.get("question") or {},
                "answer": mask(str(answer.get("answer") or ""), patterns),
                "answer_words": {k: mask(str(v), patterns) for k, v in words.items()},
            }
        )
    return answers


def black_out(data: bytes, content_type: str, regions: Sequence[Sequence[float]]) -> bytes:
    """Return the image with each area (percent of its size) painted black, re-encoded from
    its pixels alone (no metadata, nothing of the covered pixels survives)."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGB") if content_type == "image/jpeg" else source.convert("RGBA")
    width, height = image.size
    draw = ImageDraw.Draw(image)
    for left, top, w, h in regions:
        box = (
            int(left / 100 * width),
            int(top / 100 * height),
            max(int(left / 100 * width) + 1, round((left + w) / 100 * width)),
            max(int(top / 100 * height) + 1, round((top + h) / 100 * height)),
        )
        draw.rectangle(box, fill="black")
    out = io.BytesIO()
    fmt = REGION_TYPES[content_type]
    image.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def redacted_file_bytes(
    session: Session, settings: Settings, access: CaseAccess, described: dict[str, Any]
) -> bytes:
    """Return an image of the redacted version with its areas blacked out (in memory: only
    images up to the attachment limit come here; other files are streamed, see export)."""
    row = _attachment_row(session, access, described["uid"])
    meta = _open_attachment_meta(access, row)
    aad = _aad("attachment", access.report.reference, row.uid)
    _view, data = load_attachment(settings, uid=row.uid, meta=meta, aad=aad)
    return black_out(data, meta["type"], described["regions"])


def original_file_key(session: Session, access: CaseAccess, uid: str) -> tuple[bytes, bytes, str]:
    """Return the file key, associated data and SHA-256 of a stored attachment (for
    streaming it: export)."""
    row = _attachment_row(session, access, uid)
    meta = _open_attachment_meta(access, row)
    return (
        base64.b64decode(meta["key"]),
        _aad("attachment", access.report.reference, uid),
        meta["sha256"],
    )


# --- the copy viewers read --------------------------------------------------------------------

_GENERATED = "wb_redacted_files_to_remove"


def _remove_after_commit(session: Session, settings: Settings, uids: Sequence[str]) -> None:
    """Remove files the previous copy used once the new copy is committed."""
    session.info.setdefault(_GENERATED, []).extend((settings.attachments_dir, u) for u in uids)
    if not event.contains(session, "after_commit", _drop_generated):
        event.listen(session, "after_commit", _drop_generated)
        event.listen(session, "after_soft_rollback", _forget_generated)


def _drop_generated(session: Session) -> None:
    for directory, uid in session.info.pop(_GENERATED, []):
        attachments.remove(directory, uid)


def _forget_generated(session: Session, _transaction: Any) -> None:
    session.info.pop(_GENERATED, None)


def _copy_aad(report: Report) -> bytes:
    return _aad("redacted-copy", report.reference)


def refresh_copy(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    today: date,
    only_if_viewed: bool = False,
) -> bool:
    """Seal the redacted version for viewers (images with blacked-out areas stored anew);
    return whether a copy was written. The caller commits."""
    report = access.report
    old = session.get(CaseRedactedCopy, report.id)
    if only_if_viewed and old is None:
        return False
    public, private = _redaction_key(session, access)
    case = redacted_case(session, access)
    files, written = [], []
    for described in case.files:
        if described["regions"]:
            data = redacted_file_bytes(session, settings, access, described)
            uid, key = attachments.new_uid(), crypto.new_session_key()
            aad = _aad("redacted-file", report.reference, uid)
            attachments.store(settings.attachments_dir, uid, key=key, data=data, aad=aad)
            written.append(uid)
            files.append(
                {
                    **described,
                    "store": uid,
                    "key": base64.b64encode(key).decode(),
                    "scope": "redacted-file",
                    "size": len(data),
                    "sha256": crypto.sha256_hex(data),
                }
            )
        else:
            key, _aad_bytes, _sha = original_file_key(session, access, described["uid"])
            files.append(
                {
                    **described,
                    "store": described["uid"],
                    "key": base64.b64encode(key).decode(),
                    "scope": "attachment",
                }
            )
    keep_with_transaction(session, settings, written)
    body = {"entries": case.entries, "files": files, "prepared_on": today.isoformat()}
    sealed = crypto.seal(public, canonical_json(body), aad=_copy_aad(report))
    if old is not None:
        previous = open_sealed_json(private, old.sealed, aad=_copy_aad(report))
        _remove_after_commit(
            session,
            settings,
            [f["store"] for f in previous.get("files", []) if f.get("scope") == "redacted-file"],
        )
        old.sealed, old.prepared_on, old.prepared_by_id = sealed, today, actor.id
        session.add(old)
    else:
        session.add(
            CaseRedactedCopy(
                report_id=report.id, sealed=sealed, prepared_on=today, prepared_by_id=actor.id
            )
        )
    return True


# --- viewers ----------------------------------------------------------------------------------


def _viewer_aad(report: Report, user_id: int) -> bytes:
    return _aad("viewer", report.reference, user_id)


def viewers(session: Session, report: Report) -> list[tuple[CaseViewer, User]]:
    """Return who may read the redacted version of the case only."""
    return list(
        session.exec(
            select(CaseViewer, User)
            .join(User, col(User.id) == CaseViewer.user_id)
            .where(CaseViewer.report_id == report.id)
            .order_by(col(User.full_name))
        ).all()
    )


def viewer_candidates(session: Session, access: CaseAccess) -> list[User]:
    """Return the people a holder may let read the redacted version: active investigators
    with a key pair, not holders or viewers already, not barred from the case."""
    taken = holder_ids(session, access.report) | {
        v.user_id for v, _u in viewers(session, access.report)
    }
    barred = barred_from_case(session, access).everyone
    people = [u for u in investigators(session) if u.id not in taken | barred]
    keys = holder_keys(session, [u.id for u in people])
    return [u for u in people if u.id in keys]


def grant_viewer(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    grantee: User | None,
    today: date,
) -> None:
    """Let `grantee` read the redacted version only (audited); the copy is refreshed."""
    report = access.report
    if grantee is None:
        raise ReportingError(_("Choose a person."), field="viewer")
    if Role.investigator not in auth_service.roles_of(session, grantee) or not grantee.is_active:
        raise ReportingError(_("Only active investigators can be given a report."), field="viewer")
    refuse_if_barred(barred_from_case(session, access, people=[grantee]), grantee)
    if grantee.id in holder_ids(session, report):
        raise ReportingError(
            _("%(name)s already has access.", name=grantee.full_name), status_code=409
        )
    if session.get(CaseViewer, (report.id, grantee.id)) is not None:
        raise ReportingError(
            _("%(name)s already reads the redacted version.", name=grantee.full_name),
            status_code=409,
        )
    key = session.get(HolderKey, grantee.id)
    if key is None:
        raise ReportingError(
            _(
                "%(name)s must sign in once before reports can be shared with them.",
                name=grantee.full_name,
            ),
            field="viewer",
        )
    _public, private = _redaction_key(session, access)
    session.add(
        CaseViewer(
            report_id=report.id,
            user_id=grantee.id,
            wrapped=crypto.wrap_key_for(
                key.public_key, private, aad=_viewer_aad(report, grantee.id)
            ),
            granted_by_id=actor.id,
            granted_on=today,
        )
    )
    session.flush()
    audit.record(
        session,
        action="report.viewer_granted",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"user_id": grantee.id, "email": grantee.email},
    )
    refresh_copy(session, settings, access=access, actor=actor, today=today)


def revoke_viewer(session: Session, *, report: Report, actor: User, user_id: int) -> None:
    """Take a viewer's reading of the redacted version away (audited)."""
    row = session.get(CaseViewer, (report.id, user_id))
    if row is None:
        raise ReportingError(_("This person has no access to the report."), status_code=404)
    session.exec(
        delete(CaseViewer).where(CaseViewer.report_id == report.id, CaseViewer.user_id == user_id)
    )
    subject = session.get(User, user_id)
    audit.record(
        session,
        action="report.viewer_revoked",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"user_id": user_id, "email": subject.email if subject else ""},
    )


@dataclass
class ViewedCase:
    """The redacted version opened by a viewer."""

    report: Report
    entries: list[dict[str, Any]]
    files: dict[str, dict[str, Any]]
    prepared_on: date


def viewed_cases(session: Session, *, user: User) -> list[Report]:
    """Return the reports whose redacted version `user` may read, newest first."""
    return list(
        session.exec(
            select(Report)
            .join(CaseViewer, col(CaseViewer.report_id) == Report.id)
            .where(CaseViewer.user_id == user.id)
            .order_by(col(Report.submitted_on).desc(), col(Report.id).desc())
        ).all()
    )


def open_viewed_case(
    session: Session, *, user: User, holder_private: bytes, reference: str
) -> ViewedCase:
    """Return the redacted copy for a viewer (audited). One answer, 404, for an unknown
    reference and for a case the user may not view."""
    report = session.exec(select(Report).where(Report.reference == reference.upper())).first()
    row = session.get(CaseViewer, (report.id, user.id)) if report is not None else None
    copy = session.get(CaseRedactedCopy, report.id) if report is not None else None
    if report is None or row is None or copy is None:
        raise ReportingError(_("You hold no report with this reference."), status_code=404)
    try:
        private = crypto.unwrap_key(holder_private, row.wrapped, aad=_viewer_aad(report, user.id))
    except crypto.DecryptionError:
        raise TamperedCase from None
    body = open_sealed_json(private, copy.sealed, aad=_copy_aad(report))
    audit.record(
        session,
        action="report.redacted_read",
        actor=user,
        entity_type="report",
        entity_id=report.reference,
    )
    return ViewedCase(
        report,
        body["entries"],
        {f["uid"]: f for f in body["files"]},
        date.fromisoformat(body["prepared_on"]),
    )


def read_viewed_file(
    settings: Settings, case: ViewedCase, uid: str
) -> tuple[AttachmentView, bytes]:
    """Return a file of the redacted copy (its description and bytes, checked whole)."""
    described = case.files.get(uid)
    if described is None:
        raise ReportingError(_("This file does not exist."), status_code=404)
    store = described["store"]
    aad = _aad(described["scope"], case.report.reference, store)
    meta = {**described, "key": described["key"]}
    view, data = load_attachment(settings, uid=store, meta=meta, aad=aad)
    return AttachmentView(uid, described["name"], described["type"], len(data), view.sha256), data
