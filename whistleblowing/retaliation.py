"""Retaliation complaints, protective measures, remedies, and the HR watch.

A reporter who suffers for having reported files a complaint — through their receipt (no
identity needed) or signed in as an identified employee. It goes to the protection officers,
never to the investigators of the original report. Officers assess it prima facie (a protected
report, a detriment, and timing that links them), may order interim protective measures,
investigate, determine, order remedies and keep watching after closure. They can generate a
signed burden-of-proof pack: the protected report's date and the adverse decisions after it.

Storage follows the reporting channel (docs/security.md): each complaint has its own key pair;
everything said in it is sealed; plain columns are workflow dates and status only; nothing plain
links a complaint to a report or a person.

**HR watch.** Once a protected person is known to the protection officers, every adverse HR
decision about them that Mérito records raises an alert. The list of protected people is a list
of HMAC tags of employee ids under a random watch key, which the server holds encrypted under a
key derived from the application's secret (so events match while nobody is signed in) and the
officers hold wrapped to their own keys. Every watched decision about *anyone* writes the same
sealed, padded entry for each officer; only the officer opening it learns whether it is an
alert. The trade-offs are in docs/security.md ("HR watch").
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from backend import audit, crypto, events, jobs
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings, get_settings
from backend.i18n import N_, _
from backend.org import service as org_service
from backend.web import format_date
from whistleblowing import attachments, deadlines
from whistleblowing import service as reporting
from whistleblowing.models import (
    COMPLAINANT_VISIBLE_ITEMS,
    DETRIMENTAL_ACT_LABELS,
    ComplaintAttachment,
    ComplaintItem,
    ComplaintItemKind,
    ComplaintKeyWrap,
    ComplaintOutcome,
    ComplaintStatus,
    DetrimentalAct,
    HolderKey,
    HolderKind,
    KeyKind,
    Notification,
    NotificationKind,
    ProtectedPerson,
    ProtectiveMeasureKind,
    RemedyKind,
    Report,
    ReportKeyWrap,
    RetaliationComplaint,
    WatchBook,
    WatchEntry,
    WatchKey,
    WatchKeyWrap,
)
from whistleblowing.service import CaseAccess, ReportingError, TamperedCase, Upload, _aad

REFERENCE_PREFIX = "RC"
PACK_TYPE = "merito-burden-of-proof-pack"
MONITORING_MONTHS = 24
MAX_ACTS = 12
MIN_REASON = 10
# How the audit log names whoever files a complaint (never their account).
COMPLAINANT = "complainant"

# The HR decisions the watch listens to (published by the domains that make them).
WATCHED_EVENTS: dict[str, str] = {
    "appraisal.rating_dropped": N_("Appraisal rating dropped"),
    "appraisal.does_not_meet": N_("Appraised as not meeting expectations"),
    "vacancy.candidate_rejected": N_("Rejected in a competition"),
    "training.request_refused": N_("Training refused"),
    "training.enrolment_cancelled": N_("Place in a training session cancelled"),
    "employee.moved": N_("Transferred to another unit"),
    "org.role_changed": N_("Position changed"),
}
# How each watched decision reads in a burden-of-proof pack.
EVENT_ACTS: dict[str, DetrimentalAct] = {
    "appraisal.rating_dropped": DetrimentalAct.negative_appraisal,
    "appraisal.does_not_meet": DetrimentalAct.negative_appraisal,
    "vacancy.candidate_rejected": DetrimentalAct.exclusion_competition,
    "training.request_refused": DetrimentalAct.exclusion_training,
    "training.enrolment_cancelled": DetrimentalAct.exclusion_training,
    "employee.moved": DetrimentalAct.transfer,
    "org.role_changed": DetrimentalAct.change_of_duties,
}
# Sealed sizes are rounded up to these, so a ciphertext's length says nothing of its content.
ENTRY_SIZE = 1024
BOOK_SIZE = 4096


def _settings_of(session: Session) -> Settings:
    """Return the settings travelling with the session (see backend.db.get_session)."""
    return session.info.get("settings") or get_settings()


def _pad(data: bytes, bucket: int) -> bytes:
    """Return JSON `data` padded with spaces to a multiple of `bucket` bytes (JSON ignores
    trailing whitespace, so the padding needs no framing)."""
    size = max(bucket, -(-len(data) // bucket) * bucket)
    return data + b" " * (size - len(data))


def _server_key(settings: Settings, purpose: bytes) -> bytes:
    """Return a key only this installation's server can derive (from the app secret, which is
    not in the database), for one `purpose`."""
    base = crypto.derive_key(
        settings.resolved_secret_key(),
        b"merito/wb/retaliation-salt",
        params=crypto.TEST_KDF,  # the secret is random and long: no stretching needed
        context=b"merito/wb/retaliation",
    )
    return crypto.derive_subkey(base, context=b"merito/wb/" + purpose)


def _officer_keys(
    session: Session, *, exclude: set[int] = frozenset()
) -> list[tuple[User, HolderKey]]:
    """Return the active protection officers with a key pair, less `exclude`."""
    users = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == User.id)
        .where(UserRole.role == Role.protection_officer.value, col(User.is_active).is_(True))
        .order_by(col(User.id))
    ).all()
    keys = reporting.holder_keys(session, [u.id for u in users if u.id not in exclude])
    return [(u, keys[u.id]) for u in users if u.id in keys]


def _recovery_public(session: Session) -> bytes | None:
    row = session.get(reporting.ReportingInstallation, 1)
    return row.recovery_public if row is not None else None


# --- the watch key and protected people -------------------------------------------------------


def _watch_key(session: Session, settings: Settings, *, create: bool) -> bytes | None:
    """Return the watch key (None if there is none and `create` is false).

    Created on first need, sealed for the server under the app secret and wrapped for every
    protection officer and the recovery identity. Cached for the transaction.
    """
    cached = session.info.get("wb_watch_key")
    if cached is not None:
        return cached
    row = session.get(WatchKey, 1)
    server = _server_key(settings, b"watch-key")
    if row is None:
        if not create:
            return None
        key = crypto.new_session_key()
        session.add(
            WatchKey(id=1, server_sealed=crypto.encrypt(server, key, aad=_aad("watch-key")))
        )
        _wrap_watch_key(session, key)
        session.flush()
    else:
        try:
            key = crypto.decrypt(server, row.server_sealed, aad=_aad("watch-key"))
        except crypto.DecryptionError:
            raise ReportingError(
                _(
                    "The HR watch cannot be used: the application's secret key changed. A "
                    "protection officer restores it by opening the HR watch page."
                ),
                status_code=503,
            )
    session.info["wb_watch_key"] = key
    return key


def _wrap_watch_key(session: Session, key: bytes) -> None:
    """Wrap the watch key for the officers and the recovery identity who lack a copy."""
    have = {(w.holder_kind, w.user_id) for w in session.exec(select(WatchKeyWrap)).all()}
    for user, holder_key in _officer_keys(session):
        if (HolderKind.user.value, user.id) not in have:
            session.add(
                WatchKeyWrap(
                    holder_kind=HolderKind.user.value,
                    user_id=user.id,
                    wrapped=crypto.wrap_key_for(
                        holder_key.public_key, key, aad=_aad("watch-key-wrap", f"user:{user.id}")
                    ),
                )
            )
    recovery = _recovery_public(session)
    if recovery is not None and (HolderKind.recovery.value, None) not in have:
        session.add(
            WatchKeyWrap(
                holder_kind=HolderKind.recovery.value,
                user_id=None,
                wrapped=crypto.wrap_key_for(recovery, key, aad=_aad("watch-key-wrap", "recovery")),
            )
        )


def restore_watch_key(
    session: Session, settings: Settings, *, officer: User, holder_private: bytes
) -> bool:
    """If the server's copy of the watch key no longer opens (the app secret changed), re-seal
    it from the officer's own copy. Also give a copy to officers who lack one. Return whether
    the server copy was restored."""
    row = session.get(WatchKey, 1)
    if row is None:
        return False
    server = _server_key(settings, b"watch-key")
    restored = False
    try:
        key = crypto.decrypt(server, row.server_sealed, aad=_aad("watch-key"))
    except crypto.DecryptionError:
        wrap = session.exec(select(WatchKeyWrap).where(WatchKeyWrap.user_id == officer.id)).first()
        if wrap is None:
            return False
        try:
            key = crypto.unwrap_key(
                holder_private, wrap.wrapped, aad=_aad("watch-key-wrap", f"user:{officer.id}")
            )
        except crypto.DecryptionError:
            return False
        row.server_sealed = crypto.encrypt(server, key, aad=_aad("watch-key"))
        session.add(row)
        restored = True
        audit.record(
            session,
            action="retaliation.watch_key_restored",
            actor=officer,
            entity_type="watch_key",
            entity_id=1,
        )
    _wrap_watch_key(session, key)
    session.info["wb_watch_key"] = key
    return restored


def _employee_tag(key: bytes, employee_id: int) -> bytes:
    return crypto.keyed_hash(key, f"employee:{employee_id}".encode())


def _protection_key(key: bytes) -> bytes:
    return crypto.derive_subkey(key, context=b"merito/wb/protected-person")


@dataclass
class Protection:
    """What the server knows (sealed under the watch key) about one protected person."""

    employee_id: int
    since: date  # the day of the protected report
    complaints: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    # Officers who may be told (None: all). Officers who investigate the original report are
    # left out, as they are of the complaint.
    officers: list[int] | None = None


def _open_protection(key: bytes, row: ProtectedPerson) -> Protection:
    data = json.loads(
        crypto.decrypt(
            _protection_key(key), row.sealed, aad=_aad("protected-person", row.tag.hex())
        )
    )
    return Protection(
        employee_id=data["employee_id"],
        since=date.fromisoformat(data["since"]),
        complaints=data.get("complaints", []),
        reports=data.get("reports", []),
        officers=data.get("officers"),
    )


def _seal_protection(key: bytes, tag: bytes, protection: Protection) -> bytes:
    payload = {
        "employee_id": protection.employee_id,
        "since": protection.since.isoformat(),
        "complaints": sorted(set(protection.complaints)),
        "reports": sorted(set(protection.reports)),
        "officers": protection.officers,
    }
    return crypto.encrypt(
        _protection_key(key),
        _pad(reporting.canonical_json(payload), 512),
        aad=_aad("protected-person", tag.hex()),
    )


def protect(
    session: Session,
    settings: Settings,
    *,
    employee_id: int,
    since: date,
    actor: Any,
    complaint: str | None = None,
    report: str | None = None,
    officers: list[int] | None = None,
    today: date | None = None,
) -> ProtectedPerson:
    """Put an employee under HR watch (or add a complaint or report to their protection).

    The audit entry says a protection was recorded, never whom it protects.
    """
    if org_service.get_employee(session, employee_id) is None:
        raise ReportingError(_("No employee has this number."), field="employee")
    key = _watch_key(session, settings, create=True)
    tag = _employee_tag(key, employee_id)
    row = session.exec(select(ProtectedPerson).where(ProtectedPerson.tag == tag)).first()
    if row is None:
        protection = Protection(employee_id, since, officers=officers)
        row = ProtectedPerson(tag=tag, sealed=b"")
    else:
        protection = _open_protection(key, row)
        protection.since = min(protection.since, since)
        if protection.officers is not None:
            protection.officers = (
                None if officers is None else sorted(set(protection.officers) & set(officers))
            )
    if complaint:
        protection.complaints.append(complaint)
    if report:
        protection.reports.append(report)
    row.sealed = _seal_protection(key, tag, protection)
    session.add(row)
    session.flush()
    if actor == COMPLAINANT:
        # The complainant's own filing: at day precision, like everything a complainant does.
        audit.record_on_day(
            session,
            on=today or reporting.local_today(settings),
            action="retaliation.protection_recorded",
            actor=COMPLAINANT,
            entity_type="protected_person",
            entity_id=row.id,
        )
    else:
        audit.record(
            session,
            action="retaliation.protection_recorded",
            actor=actor,
            entity_type="protected_person",
            entity_id=row.id,
        )
    return row


def end_protection(session: Session, settings: Settings, *, employee_id: int, actor: User) -> bool:
    """Take an employee off the HR watch; return whether they were on it."""
    key = _watch_key(session, settings, create=False)
    if key is None:
        return False
    tag = _employee_tag(key, employee_id)
    row = session.exec(select(ProtectedPerson).where(ProtectedPerson.tag == tag)).first()
    if row is None:
        return False
    audit.record(
        session,
        action="retaliation.protection_ended",
        actor=actor,
        entity_type="protected_person",
        entity_id=row.id,
    )
    session.delete(row)
    return True


def protection_of(session: Session, settings: Settings, *, employee_id: int) -> Protection | None:
    """Return the protection of an employee, if any (server side: for the watch and packs)."""
    key = _watch_key(session, settings, create=False)
    if key is None:
        return None
    row = session.exec(
        select(ProtectedPerson).where(ProtectedPerson.tag == _employee_tag(key, employee_id))
    ).first()
    return _open_protection(key, row) if row is not None else None


# --- the HR watch: entries at event time, alerts when an officer screens them -----------------


def _plain_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the event's payload reduced to short scalar values (it is sealed, and sized)."""
    kept = {}
    for name, value in list(payload.items())[:12]:
        if isinstance(value, bool | int | float) or value is None:
            kept[str(name)[:40]] = value
        elif isinstance(value, str):
            kept[str(name)[:40]] = value[:120]
    return kept


def on_hr_decision(session: Session, event: events.DomainEvent) -> None:
    """Seal one watch entry per protection officer for a watched HR decision.

    The same rows are written whoever the decision is about. Entries for a protected person
    carry the details; the others say only that there was no match, padded to the same size.
    """
    recipients: list[tuple[int | None, bytes]] = [
        (u.id, k.public_key) for u, k in _officer_keys(session)
    ]
    if not recipients:
        recovery = _recovery_public(session)
        if recovery is None:
            return  # no reporting channel installed: nobody can be protected
        recipients = [(None, recovery)]
    settings = _settings_of(session)
    protection = None
    if event.subject_employee_id is not None:
        protection = protection_of(session, settings, employee_id=event.subject_employee_id)
    details: dict[str, Any] = {"match": False}
    if protection is not None:
        employee = org_service.get_employee(session, event.subject_employee_id)
        details = {
            "match": True,
            "event": event.name,
            "occurred_on": deadlines.local_day(event.occurred_at, settings.time_zone).isoformat(),
            "employee_id": event.subject_employee_id,
            "employee": employee.full_name if employee else "",
            "number": employee.number if employee else "",
            "since": protection.since.isoformat(),
            "complaints": protection.complaints,
            "reports": protection.reports,
            "payload": _plain_payload(event.payload),
        }
    for user_id, public_key in recipients:
        told = details["match"] and (protection.officers is None or user_id in protection.officers)
        body = details if told else {"match": False}
        holder = f"user:{user_id}" if user_id is not None else "recovery"
        session.add(
            WatchEntry(
                user_id=user_id,
                sealed=crypto.seal(
                    public_key,
                    _pad(reporting.canonical_json(body), ENTRY_SIZE),
                    aad=_aad("watch-entry", holder),
                ),
            )
        )


for _event_name in WATCHED_EVENTS:
    events.subscribe(_event_name)(on_hr_decision)


@dataclass
class Alert:
    id: str
    event: str
    occurred_on: date
    employee_id: int
    employee: str
    number: str
    since: date
    complaints: list[str]
    reports: list[str]
    payload: dict[str, Any]
    screened_on: date
    acknowledged_on: date | None = None

    @property
    def after_report(self) -> bool:
        return self.occurred_on >= self.since


def _book_aad(user_id: int) -> bytes:
    return _aad("watch-book", user_id)


def _read_book(session: Session, *, officer: User, holder_private: bytes) -> list[dict[str, Any]]:
    row = session.get(WatchBook, officer.id)
    if row is None:
        return []
    try:
        return json.loads(
            crypto.open_sealed(holder_private, row.sealed, aad=_book_aad(officer.id))
        )["alerts"]
    except (crypto.DecryptionError, ValueError, KeyError):
        # Sealed to a key pair the officer no longer has (a reset password): the book is lost
        # to them, like any report they held; other officers keep their own.
        return []


def _write_book(session: Session, *, officer: User, alerts: list[dict[str, Any]]) -> None:
    key = session.get(HolderKey, officer.id)
    row = session.get(WatchBook, officer.id) or WatchBook(user_id=officer.id, sealed=b"")
    row.sealed = crypto.seal(
        key.public_key,
        _pad(reporting.canonical_json({"alerts": alerts}), BOOK_SIZE),
        aad=_book_aad(officer.id),
    )
    session.add(row)


def _alert(data: dict[str, Any]) -> Alert:
    return Alert(
        id=data["id"],
        event=data["event"],
        occurred_on=date.fromisoformat(data["occurred_on"]),
        employee_id=data["employee_id"],
        employee=data.get("employee", ""),
        number=data.get("number", ""),
        since=date.fromisoformat(data["since"]),
        complaints=data.get("complaints", []),
        reports=data.get("reports", []),
        payload=data.get("payload", {}),
        screened_on=date.fromisoformat(data["screened_on"]),
        acknowledged_on=date.fromisoformat(data["acknowledged_on"])
        if data.get("acknowledged_on")
        else None,
    )


def pending_entries(session: Session, *, officer: User) -> int:
    """Return how many watched HR decisions wait for the officer to screen them (every
    decision counts, protected or not: the number says nothing about anyone)."""
    return len(session.exec(select(WatchEntry.id).where(WatchEntry.user_id == officer.id)).all())


def screen(
    session: Session, settings: Settings, *, officer: User, holder_private: bytes, today: date
) -> list[Alert]:
    """Open the officer's new watch entries, keep the alerts in their sealed book, delete
    every entry screened (matches and not alike), and return all alerts, newest first."""
    restore_watch_key(session, settings, officer=officer, holder_private=holder_private)
    entries = session.exec(
        select(WatchEntry).where(WatchEntry.user_id == officer.id).order_by(col(WatchEntry.id))
    ).all()
    book = _read_book(session, officer=officer, holder_private=holder_private)
    if entries:
        for entry in entries:
            try:
                data = json.loads(
                    crypto.open_sealed(
                        holder_private, entry.sealed, aad=_aad("watch-entry", f"user:{officer.id}")
                    )
                )
            except (crypto.DecryptionError, ValueError):
                continue  # sealed to a key pair the officer no longer has
            if data.get("match"):
                data.pop("match")
                data.update(id=uuid.uuid4().hex, screened_on=today.isoformat())
                book.append(data)
        session.exec(delete(WatchEntry).where(col(WatchEntry.id).in_([e.id for e in entries])))
        # Rewritten whatever was found: the moment an alert arrives looks like any screening.
        _write_book(session, officer=officer, alerts=book)
        audit.record(
            session,
            action="retaliation.watch_screened",
            actor=officer,
            entity_type="watch_book",
            entity_id=officer.id,
            after={"screened": len(entries)},
        )
    alerts = [_alert(a) for a in book]
    return sorted(alerts, key=lambda a: (a.occurred_on, a.screened_on), reverse=True)


def acknowledge_alert(
    session: Session, *, officer: User, holder_private: bytes, alert_id: str, today: date
) -> None:
    """Mark an alert as dealt with (it stays in the book)."""
    book = _read_book(session, officer=officer, holder_private=holder_private)
    for data in book:
        if data["id"] == alert_id:
            if data.get("acknowledged_on"):
                raise ReportingError(_("This alert was already dealt with."), status_code=409)
            data["acknowledged_on"] = today.isoformat()
            break
    else:
        raise ReportingError(_("This alert does not exist."), status_code=404)
    _write_book(session, officer=officer, alerts=book)
    audit.record(
        session,
        action="retaliation.alert_acknowledged",
        actor=officer,
        entity_type="watch_book",
        entity_id=officer.id,
    )


# --- complaints -------------------------------------------------------------------------------


@dataclass
class AllegedAct:
    kind: str
    on: date | None
    description: str = ""


@dataclass
class ComplaintInput:
    """What a complainant filled in."""

    acts: list[AllegedAct]
    narrative: str
    evidence: list[Upload] = field(default_factory=list)
    # Identified complaints: the report that is protected (its reference, or the day a report
    # was made elsewhere, e.g. to an external authority).
    report_reference: str = ""
    reported_on: date | None = None
    # Receipt complaints: optional name or contact details, sealed like everything else.
    identity: str = ""
    # The complainant confirmed acts dated before the protected report (they are questioned
    # once: such an act is usually not retaliation for it, but may be part of a longer story).
    keep_early_acts: bool = False


@dataclass
class ComplaintAccess:
    complaint: RetaliationComplaint
    private_key: bytes = field(repr=False)
    by_complainant: bool = False


def _new_reference(session: Session) -> str:
    while True:
        symbols = "".join(secrets.choice(crypto.RECEIPT_ALPHABET) for _ in range(8))
        reference = f"{REFERENCE_PREFIX}-{symbols[:4]}-{symbols[4:]}"
        if (
            session.exec(
                select(RetaliationComplaint.id).where(RetaliationComplaint.reference == reference)
            ).first()
            is None
        ):
            return reference


def reporter_tag(receipt_key: bytes) -> bytes:
    """Return the tag a receipt holder finds their complaints by (nobody else can compute)."""
    return crypto.derive_subkey(receipt_key, context=b"merito/wb/complaint-tag")


def complainant_tag(settings: Settings, user_id: int) -> bytes:
    """Return the tag an identified complainant's complaints carry (a server-keyed HMAC)."""
    return crypto.keyed_hash(_server_key(settings, b"complainant-tag"), f"user:{user_id}".encode())


def validate_complaint(data: ComplaintInput, *, today: date) -> dict[str, str]:
    """Return field -> translated problem (empty when the complaint can be filed)."""
    errors: dict[str, str] = {}
    acts = [a for a in data.acts if a.kind]
    if not acts:
        errors["acts"] = _("Choose at least one thing that was done to you.")
    elif len(acts) > MAX_ACTS:
        errors["acts"] = _("Describe at most %(n)s acts; add more in a message.", n=MAX_ACTS)
    for act in acts:
        if act.kind not in DetrimentalAct.__members__:
            errors["acts"] = _("Choose the acts from the list.")
        elif act.on is not None and act.on > today:
            errors["acts"] = _("The date of an act cannot be in the future.")
        elif len(act.description) > 2000:
            errors["acts"] = _("This text is too long (at most %(n)s characters).", n=2000)
    if not data.narrative.strip():
        errors["narrative"] = _("Describe what happened and why you think it is retaliation.")
    elif len(data.narrative) > reporting.MAX_TEXT:
        errors["narrative"] = _(
            "This text is too long (at most %(n)s characters).", n=reporting.MAX_TEXT
        )
    if data.reported_on is not None and data.reported_on > today:
        errors["reported_on"] = _("The report cannot have been made in the future.")
    if len(data.evidence) > attachments.MAX_ATTACHMENTS_PER_MESSAGE:
        errors["evidence"] = _(
            "Attach at most %(n)s files at a time.", n=attachments.MAX_ATTACHMENTS_PER_MESSAGE
        )
    return errors


def _seal_complaint_item(
    complaint: RetaliationComplaint, *, kind: ComplaintItemKind, uid: str, payload: dict
) -> bytes:
    return crypto.seal(
        complaint.public_key,
        reporting.canonical_json(payload),
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
    so `reporting.commit`/`rollback` keep the store in step with the transaction."""
    cleaned, problems = reporting.clean_uploads(files)
    if problems:
        raise ReportingError(" ".join(problems), field="evidence")
    uid = attachments.new_uid()
    written: list[str] = []
    try:
        stored = reporting.store_sealed_files(
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
        reporting.discard_files(settings, written)
        raise
    session.info.setdefault("wb_written_files", []).extend(written)
    return item


def _report_holders(session: Session, report: Report | None) -> set[int]:
    if report is None:
        return set()
    return set(
        session.exec(
            select(ReportKeyWrap.user_id).where(
                ReportKeyWrap.report_id == report.id,
                ReportKeyWrap.key_kind == KeyKind.report.value,
                col(ReportKeyWrap.user_id).is_not(None),
            )
        ).all()
    )


def _question_early_acts(data: ComplaintInput, *, made_on: date | None) -> None:
    """Refuse, once, acts dated before the protected report unless the complainant kept them.

    Retaliation answers a report, so an act before it is usually something else (the prima
    facie assessment looks for timing that links the two). It may still belong to the story
    (harassment that began earlier and grew worse), so the complainant decides, knowingly.
    """
    if made_on is None or data.keep_early_acts:
        return
    early = sorted(a.on for a in data.acts if a.kind and a.on is not None and a.on < made_on)
    if early:
        raise ReportingError(
            _(
                "An act is dated %(day)s, before your report of %(reported)s. Retaliation "
                "comes after a report, so an earlier act is usually not retaliation for it. "
                "Check the day, or keep it if it belongs to what happened to you.",
                day=format_date(early[0], "long"),
                reported=format_date(made_on, "long"),
            ),
            field="early_acts",
        )


def _file(
    session: Session,
    settings: Settings,
    *,
    data: ComplaintInput,
    via: str,
    report: Report | None,
    reported_on: date | None,
    identity: dict[str, Any] | None,
    today: date,
) -> tuple[RetaliationComplaint, bytes, list[int]]:
    errors = validate_complaint(data, today=today)
    if errors:
        raise ReportingError(next(iter(errors.values())), field=next(iter(errors)))
    _question_early_acts(data, made_on=report.submitted_on if report else reported_on)
    # Never the investigators of the original report: they may be the ones retaliating, or
    # learn from the complaint who reported.
    officers = _officer_keys(session, exclude=_report_holders(session, report))
    if not officers:
        raise ReportingError(
            _(
                "No protection officer can receive a complaint yet. Please try again later; "
                "the administrators have been told."
            ),
            status_code=503,
        )
    recovery = _recovery_public(session)
    pair = crypto.generate_keypair()
    complaint = RetaliationComplaint(
        reference=_new_reference(session),
        status=ComplaintStatus.received.value,
        via=via,
        received_on=today,
        public_key=pair.public,
    )
    session.add(complaint)
    session.flush()
    for user, key in officers:
        session.add(
            ComplaintKeyWrap(
                complaint_id=complaint.id,
                holder_kind=HolderKind.user.value,
                user_id=user.id,
                wrapped=crypto.wrap_key_for(
                    key.public_key,
                    pair.private,
                    aad=_aad("complaint-wrap", complaint.reference, f"user:{user.id}"),
                ),
                granted_on=today,
            )
        )
    if recovery is not None:
        session.add(
            ComplaintKeyWrap(
                complaint_id=complaint.id,
                holder_kind=HolderKind.recovery.value,
                user_id=None,
                wrapped=crypto.wrap_key_for(
                    recovery,
                    pair.private,
                    aad=_aad("complaint-wrap", complaint.reference, "recovery"),
                ),
                granted_on=today,
            )
        )
    acts = [
        {"kind": a.kind, "on": a.on.isoformat() if a.on else None, "description": a.description}
        for a in data.acts
        if a.kind
    ]
    _add_complaint_item(
        session,
        settings,
        complaint=complaint,
        kind=ComplaintItemKind.complaint,
        payload={
            "acts": acts,
            "narrative": data.narrative.strip(),
            "protected_report": {
                "reference": report.reference if report else "",
                "made_on": (report.submitted_on if report else reported_on).isoformat()
                if (report or reported_on)
                else None,
            },
            "via": via,
        },
        author=None,
        today=today,
        files=data.evidence,
    )
    if identity:
        _add_complaint_item(
            session,
            settings,
            complaint=complaint,
            kind=ComplaintItemKind.identity,
            payload=identity,
            author=None,
            today=today,
        )
    for user, _key in officers:
        session.add(
            Notification(
                user_id=user.id,
                kind=NotificationKind.complaint_received.value,
                complaint_id=complaint.id,
                created_on=today,
                dedupe=f"complaint_received:{complaint.id}",
            )
        )
    # The actor is not named: the audit log is plain text, and who complains is confidential.
    # Day precision, like every reporter action: appended once the day is over, so neither a
    # time nor the entry's place next to the complainant's own sign-in gives them away.
    audit.record_on_day(
        session,
        on=today,
        action="retaliation.complaint_filed",
        actor=COMPLAINANT,
        entity_type="retaliation_complaint",
        entity_id=complaint.reference,
        after={"via": via, "acts": len(acts), "officers": [u.id for u, _k in officers]},
    )
    return complaint, pair.private, [u.id for u, _k in officers]


def file_by_receipt(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    data: ComplaintInput,
    today: date | None = None,
) -> RetaliationComplaint:
    """File a complaint through the reporter's receipt session; the reporter can follow it
    with the same receipt. No identity is needed. The caller commits."""
    if not access.by_reporter or access.receipt_key is None:
        raise reporting.ReporterSessionExpired
    today = today or reporting.local_today(settings)
    report = access.report
    complaint, private, _officers = _file(
        session,
        settings,
        data=data,
        via="receipt",
        report=report,
        reported_on=None,
        identity={"text": data.identity.strip()} if data.identity.strip() else None,
        today=today,
    )
    complaint.reporter_tag = reporter_tag(access.receipt_key)
    complaint.reporter_wrap = crypto.encrypt(
        access.receipt_key, private, aad=_aad("complaint-reporter-wrap", complaint.reference)
    )
    session.add(complaint)
    return complaint


def file_identified(
    session: Session,
    settings: Settings,
    *,
    user: User,
    data: ComplaintInput,
    today: date | None = None,
) -> RetaliationComplaint:
    """File a complaint as a signed-in employee. Their identity is sealed in the complaint and
    they are put under HR watch at once. The caller commits."""
    today = today or reporting.local_today(settings)
    report = None
    if data.report_reference.strip():
        report = session.exec(
            select(Report).where(Report.reference == data.report_reference.strip().upper())
        ).first()
        if report is None:
            raise ReportingError(
                _("No report has this reference. Check it, or give the day you reported."),
                field="report_reference",
            )
    elif data.reported_on is None:
        raise ReportingError(
            _("Give the reference of your report, or the day you reported."),
            field="report_reference",
        )
    employee = org_service.get_employee(session, user.employee_id) if user.employee_id else None
    complaint, _private, officers = _file(
        session,
        settings,
        data=data,
        via="identified",
        report=report,
        reported_on=data.reported_on,
        identity={
            "user_id": user.id,
            "name": user.full_name,
            "email": user.email,
            "employee_id": employee.id if employee else None,
            "number": employee.number if employee else "",
        },
        today=today,
    )
    complaint.complainant_tag = complainant_tag(settings, user.id)
    session.add(complaint)
    if employee is not None:
        protect(
            session,
            settings,
            employee_id=employee.id,
            since=report.submitted_on if report else data.reported_on,
            actor=COMPLAINANT,
            complaint=complaint.reference,
            report=report.reference if report else None,
            officers=officers,
            today=today,
        )
    return complaint


def complaints_of_user(
    session: Session, settings: Settings, *, user: User
) -> list[RetaliationComplaint]:
    """Return the complaints an identified employee filed (status and dates only)."""
    return list(
        session.exec(
            select(RetaliationComplaint)
            .where(RetaliationComplaint.complainant_tag == complainant_tag(settings, user.id))
            .order_by(col(RetaliationComplaint.id).desc())
        ).all()
    )


def complaints_of_reporter(session: Session, *, access: CaseAccess) -> list[ComplaintAccess]:
    """Return the complaints filed with this receipt, opened with it."""
    if not access.by_reporter or access.receipt_key is None:
        raise reporting.ReporterSessionExpired
    found = []
    for complaint in session.exec(
        select(RetaliationComplaint)
        .where(RetaliationComplaint.reporter_tag == reporter_tag(access.receipt_key))
        .order_by(col(RetaliationComplaint.id).desc())
    ).all():
        try:
            private = crypto.decrypt(
                access.receipt_key,
                complaint.reporter_wrap,
                aad=_aad("complaint-reporter-wrap", complaint.reference),
            )
        except crypto.DecryptionError:
            raise TamperedCase from None
        found.append(ComplaintAccess(complaint, private, by_complainant=True))
    return found


def complaint_of_user(
    session: Session, settings: Settings, *, user: User, reference: str
) -> RetaliationComplaint:
    """Return one of the employee's own complaints, or 404."""
    complaint = session.exec(
        select(RetaliationComplaint).where(
            RetaliationComplaint.reference == reference.strip().upper(),
            RetaliationComplaint.complainant_tag == complainant_tag(settings, user.id),
        )
    ).first()
    if complaint is None:
        raise ReportingError(_("This complaint does not exist."), status_code=404)
    return complaint


def add_complainant_message(
    session: Session,
    settings: Settings,
    *,
    complaint: RetaliationComplaint,
    text: str,
    files: Sequence[Upload] = (),
    today: date | None = None,
) -> ComplaintItem:
    """Add information from the complainant (no key needed: it is sealed to the complaint)."""
    today = today or reporting.local_today(settings)
    text = text.strip()
    if not text:
        raise ReportingError(_("Write a message."), field="text")
    if len(text) > reporting.MAX_TEXT:
        raise ReportingError(
            _("This text is too long (at most %(n)s characters).", n=reporting.MAX_TEXT),
            field="text",
        )
    if complaint.status == ComplaintStatus.closed:
        raise ReportingError(_("This complaint is closed."), status_code=409)
    return _add_complaint_item(
        session,
        settings,
        complaint=complaint,
        kind=ComplaintItemKind.complainant_message,
        payload={"text": text},
        author=None,
        today=today,
        files=files,
    )


# --- the protection officers' side ------------------------------------------------------------


def complaint_inbox(
    session: Session, *, officer: User, open_only: bool = True
) -> list[RetaliationComplaint]:
    """Return the complaints the officer holds a key to (plain workflow metadata)."""
    statement = (
        select(RetaliationComplaint)
        .join(ComplaintKeyWrap, col(ComplaintKeyWrap.complaint_id) == RetaliationComplaint.id)
        .where(ComplaintKeyWrap.user_id == officer.id)
        .order_by(col(RetaliationComplaint.received_on).desc(), col(RetaliationComplaint.id).desc())
    )
    if open_only:
        statement = statement.where(RetaliationComplaint.status != ComplaintStatus.closed.value)
    return list(session.exec(statement).all())


def open_complaint(
    session: Session, *, officer: User, holder_private: bytes, reference: str, audit_read: bool
) -> ComplaintAccess:
    """Return a complaint for an officer holding it; every opening is audited.

    One answer, 404, for an unknown reference and for a complaint the officer does not hold:
    an officer left out (because they hold the original report) must not learn it exists.
    """
    complaint = session.exec(
        select(RetaliationComplaint).where(
            RetaliationComplaint.reference == reference.strip().upper()
        )
    ).first()
    wrap = (
        session.exec(
            select(ComplaintKeyWrap).where(
                ComplaintKeyWrap.complaint_id == complaint.id,
                ComplaintKeyWrap.user_id == officer.id,
            )
        ).first()
        if complaint is not None
        else None
    )
    if complaint is None or wrap is None:
        raise ReportingError(_("This complaint does not exist."), status_code=404)
    try:
        private = crypto.unwrap_key(
            holder_private,
            wrap.wrapped,
            aad=_aad("complaint-wrap", complaint.reference, f"user:{officer.id}"),
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    if audit_read:
        audit.record(
            session,
            action="retaliation.complaint_read",
            actor=officer,
            entity_type="retaliation_complaint",
            entity_id=complaint.reference,
        )
    return ComplaintAccess(complaint, private)


@dataclass
class ComplaintEntry:
    uid: str
    kind: ComplaintItemKind
    created_on: date
    author: User | None
    content: dict[str, Any]
    attachments: list[reporting.AttachmentView]


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
    files: dict[str, list[reporting.AttachmentView]] = {}
    file_order: dict[str, tuple[int, int]] = {}
    for row in session.exec(
        select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint.id)
    ).all():
        meta = _open_attachment_meta(access, row)
        file_order[row.uid] = reporting.sealed_order(meta, row.id)
        files.setdefault(row.item_uid, []).append(
            reporting.AttachmentView(
                row.uid, meta["name"], meta["type"], meta["size"], meta["sha256"]
            )
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
        try:
            content = json.loads(
                crypto.open_sealed(
                    access.private_key,
                    item.sealed,
                    aad=_aad("complaint-item", complaint.reference, kind.value, item.uid),
                )
            )
        except crypto.DecryptionError:
            raise TamperedCase from None
        entry = ComplaintEntry(
            item.uid,
            kind,
            item.created_on,
            None if access.by_complainant else authors.get(item.author_id),
            content,
            sorted(files.get(item.uid, []), key=lambda a: file_order[a.uid]),
        )
        place = (item.created_on, *reporting.sealed_order(content, item.id), item.uid)
        entries.append((place, entry))
    return [entry for _place, entry in sorted(entries, key=lambda pair: pair[0])]


def _open_attachment_meta(access: ComplaintAccess, row: ComplaintAttachment) -> dict[str, Any]:
    try:
        return json.loads(
            crypto.open_sealed(
                access.private_key,
                row.sealed_meta,
                aad=_aad(
                    "complaint-attachment-meta", access.complaint.reference, row.item_uid, row.uid
                ),
            )
        )
    except crypto.DecryptionError:
        raise TamperedCase from None


def read_complaint_attachment(
    session: Session, settings: Settings, *, access: ComplaintAccess, uid: str
) -> tuple[reporting.AttachmentView, bytes]:
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
    meta = _open_attachment_meta(access, row)
    try:
        data = attachments.load(
            settings.attachments_dir,
            uid,
            key=base64.b64decode(meta["key"]),
            aad=_aad("complaint-attachment", access.complaint.reference, uid),
        )
    except FileNotFoundError:
        raise ReportingError(
            _("This file is missing from the store. Tell the integrity committee."),
            status_code=410,
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise TamperedCase
    return reporting.AttachmentView(
        uid, meta["name"], meta["type"], meta["size"], meta["sha256"]
    ), data


def _step(
    session: Session,
    *,
    access: ComplaintAccess,
    officer: User,
    to: ComplaintStatus,
    today: date,
    after: dict[str, Any] | None = None,
) -> None:
    complaint = access.complaint
    before = {"status": complaint.status, "outcome": complaint.outcome}
    complaint.status = to.value
    day_field = {
        ComplaintStatus.assessment: "assessment_on",
        ComplaintStatus.interim_measures: "measures_on",
        ComplaintStatus.investigation: "investigation_on",
        ComplaintStatus.determination: "determination_on",
        ComplaintStatus.remedies: "remedies_on",
        ComplaintStatus.closed: "closed_on",
    }[to]
    setattr(complaint, day_field, today)
    session.add(complaint)
    audit.record(
        session,
        action="retaliation.status_changed",
        actor=officer,
        entity_type="retaliation_complaint",
        entity_id=complaint.reference,
        before=before,
        after={"status": complaint.status, "outcome": complaint.outcome, **(after or {})},
    )


def _out_of_order() -> ReportingError:
    return ReportingError(
        _("This step does not follow from where the complaint stands."), status_code=409
    )


def _require(access: ComplaintAccess, *statuses: ComplaintStatus) -> None:
    if ComplaintStatus(access.complaint.status) not in statuses:
        raise _out_of_order()


def assess(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    protected_report: bool,
    detriment: bool,
    timing: bool,
    reason: str,
    today: date,
) -> bool:
    """Record the prima facie assessment (a protected report, a detriment, timing that links
    them) and return whether a prima facie case is made out. Audited; caller commits."""
    _require(access, ComplaintStatus.received)
    if len(reason.strip()) < MIN_REASON:
        raise ReportingError(_("Explain the assessment."), field="reason")
    established = protected_report and detriment and timing
    item = _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=ComplaintItemKind.assessment,
        payload={
            "protected_report": protected_report,
            "detriment": detriment,
            "timing": timing,
            "established": established,
            "text": reason.strip(),
        },
        author=officer,
        today=today,
    )
    _step(
        session,
        access=access,
        officer=officer,
        to=ComplaintStatus.assessment,
        today=today,
        after={"prima_facie": established, "item": item.uid},
    )
    return established


def _prima_facie(session: Session, access: ComplaintAccess) -> bool | None:
    for entry in complaint_timeline(session, access=access):
        if entry.kind is ComplaintItemKind.assessment:
            return bool(entry.content.get("established"))
    return None


def check_measure_allowed(session: Session, access: ComplaintAccess) -> None:
    """Refuse (409) an interim measure where the complaint stands: before its assessment, with
    no prima facie case, or once it is decided."""
    _require(
        access,
        ComplaintStatus.assessment,
        ComplaintStatus.interim_measures,
        ComplaintStatus.investigation,
        ComplaintStatus.determination,
    )
    if access.complaint.status == ComplaintStatus.assessment and not _prima_facie(session, access):
        raise ReportingError(_("Interim measures need a prima facie case."), status_code=409)


def order_measure(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    kind: str,
    details: str,
    starts_on: date | None,
    ends_on: date | None,
    today: date,
) -> ComplaintItem:
    """Order an interim protective measure (e.g. suspend a transfer) while the complaint is
    assessed or investigated. Moves an assessed complaint to interim measures.

    Where the complaint stands is checked before the fields (a refusal names the form's field),
    so a field is only refused while the measure's form is on the complaint's page."""
    check_measure_allowed(session, access)
    if kind not in ProtectiveMeasureKind.__members__:
        raise ReportingError(_("Choose a kind of measure."), field="kind")
    if len(details.strip()) < MIN_REASON:
        raise ReportingError(_("Describe the measure and whom it binds."), field="details")
    if starts_on is None:
        raise ReportingError(_("Enter the first day as YYYY-MM-DD."), field="starts_on")
    if ends_on is not None and ends_on < starts_on:
        raise ReportingError(_("The measure must end after it starts."), field="ends_on")
    item = _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=ComplaintItemKind.measure,
        payload={
            "kind": kind,
            "text": details.strip(),
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
        },
        author=officer,
        today=today,
    )
    if access.complaint.status == ComplaintStatus.assessment:
        _step(
            session,
            access=access,
            officer=officer,
            to=ComplaintStatus.interim_measures,
            today=today,
            after={"item": item.uid},
        )
    else:
        audit.record(
            session,
            action="retaliation.measure_ordered",
            actor=officer,
            entity_type="retaliation_complaint",
            entity_id=access.complaint.reference,
            after={"item": item.uid, "kind": kind},
        )
    return item


def start_investigation(
    session: Session, *, access: ComplaintAccess, officer: User, today: date
) -> None:
    """Open the investigation (only on a prima facie case)."""
    _require(access, ComplaintStatus.assessment, ComplaintStatus.interim_measures)
    if not _prima_facie(session, access):
        raise ReportingError(
            _("There is no prima facie case: close the complaint instead."), status_code=409
        )
    _step(session, access=access, officer=officer, to=ComplaintStatus.investigation, today=today)


def determine(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    established: bool,
    reason: str,
    today: date,
) -> None:
    """Record the determination: was there retaliation? (the burden is on the employer)."""
    _require(access, ComplaintStatus.investigation)
    if len(reason.strip()) < MIN_REASON:
        raise ReportingError(_("Give the reasons for the determination."), field="reason")
    item = _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=ComplaintItemKind.determination,
        payload={"established": established, "text": reason.strip()},
        author=officer,
        today=today,
    )
    access.complaint.outcome = (
        ComplaintOutcome.established.value
        if established
        else ComplaintOutcome.not_established.value
    )
    _step(
        session,
        access=access,
        officer=officer,
        to=ComplaintStatus.determination,
        today=today,
        after={"item": item.uid},
    )


def order_remedy(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    kind: str,
    details: str,
    today: date,
) -> ComplaintItem:
    """Order a remedy (reinstatement, annulment, compensation, reversal of a transfer,
    disciplinary referral of the retaliator) once retaliation is established."""
    _require(access, ComplaintStatus.determination, ComplaintStatus.remedies)
    if access.complaint.outcome != ComplaintOutcome.established:
        raise ReportingError(
            _("Remedies follow only a determination that retaliation took place."),
            status_code=409,
        )
    if kind not in RemedyKind.__members__:
        raise ReportingError(_("Choose a remedy."), field="remedy")
    if len(details.strip()) < MIN_REASON:
        raise ReportingError(_("Describe the remedy and who must carry it out."), field="remedy")
    item = _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=ComplaintItemKind.remedy,
        payload={"kind": kind, "text": details.strip()},
        author=officer,
        today=today,
    )
    if access.complaint.status == ComplaintStatus.determination:
        _step(
            session,
            access=access,
            officer=officer,
            to=ComplaintStatus.remedies,
            today=today,
            after={"item": item.uid},
        )
    else:
        audit.record(
            session,
            action="retaliation.remedy_ordered",
            actor=officer,
            entity_type="retaliation_complaint",
            entity_id=access.complaint.reference,
            after={"item": item.uid, "kind": kind},
        )
    return item


def close(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    reason: str,
    today: date,
    withdrawn: bool = False,
    monitoring_months: int = MONITORING_MONTHS,
) -> None:
    """Close the complaint; the HR watch goes on until `monitoring_until`.

    Allowed after an assessment that found no prima facie case, after a determination that
    found no retaliation, once remedies were ordered, or when the complainant withdraws.
    """
    complaint = access.complaint
    status = ComplaintStatus(complaint.status)
    if status is ComplaintStatus.closed:
        raise ReportingError(_("This complaint is closed."), status_code=409)
    if withdrawn:
        outcome = ComplaintOutcome.withdrawn
    elif status is ComplaintStatus.assessment and _prima_facie(session, access) is False:
        outcome = ComplaintOutcome.no_prima_facie_case
    elif (
        status is ComplaintStatus.determination
        and complaint.outcome == ComplaintOutcome.not_established
    ):
        outcome = ComplaintOutcome.not_established
    elif status is ComplaintStatus.remedies:
        outcome = ComplaintOutcome.established
    else:
        raise _out_of_order()
    if len(reason.strip()) < MIN_REASON:
        raise ReportingError(_("Give the reason for closing the complaint."), field="reason")
    if not 0 <= monitoring_months <= 60:
        raise ReportingError(_("Monitor for at most 60 months."), field="monitoring_months")
    item = _add_complaint_item(
        session,
        settings,
        complaint=complaint,
        kind=ComplaintItemKind.decision,
        payload={"text": reason.strip(), "closing": outcome.value},
        author=officer,
        today=today,
    )
    complaint.outcome = outcome.value
    complaint.monitoring_until = (
        deadlines.add_months(today, monitoring_months) if monitoring_months else today
    )
    _step(
        session,
        access=access,
        officer=officer,
        to=ComplaintStatus.closed,
        today=today,
        after={"item": item.uid, "monitoring_until": complaint.monitoring_until},
    )


def add_officer_item(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    to_complainant: bool,
    text: str,
    files: Sequence[Upload] = (),
    today: date,
) -> ComplaintItem:
    """Write a message to the complainant, or an internal note (sealed, audited)."""
    text = text.strip()
    if not text:
        raise ReportingError(_("Write a message."), field="text")
    if to_complainant and access.complaint.via != "receipt":
        raise ReportingError(
            _(
                "An identified complainant has no key to read messages here: contact them "
                "directly and keep a note."
            ),
            field="text",
        )
    kind = ComplaintItemKind.officer_message if to_complainant else ComplaintItemKind.note
    item = _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=kind,
        payload={"text": text},
        author=officer,
        today=today,
        files=files,
    )
    audit.record(
        session,
        action=f"retaliation.{kind.value}_added",
        actor=officer,
        entity_type="retaliation_complaint",
        entity_id=access.complaint.reference,
        after={"item": item.uid},
    )
    return item


def protect_complainant(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    employee_number: str,
    today: date,
) -> None:
    """Put the complainant under HR watch once the officer knows who they are (a receipt
    complaint gives no identity; they may have given it, or an identity was released)."""
    employee = org_service.employee_by_number(session, employee_number)
    if employee is None:
        raise ReportingError(_("No employee has this number."), field="employee")
    complaint = _complaint_content(session, access)
    made_on = complaint.get("protected_report", {}).get("made_on")
    officers = [
        w.user_id
        for w in session.exec(
            select(ComplaintKeyWrap).where(
                ComplaintKeyWrap.complaint_id == access.complaint.id,
                col(ComplaintKeyWrap.user_id).is_not(None),
            )
        ).all()
    ]
    protect(
        session,
        settings,
        employee_id=employee.id,
        since=date.fromisoformat(made_on) if made_on else access.complaint.received_on,
        actor=officer,
        complaint=access.complaint.reference,
        report=complaint.get("protected_report", {}).get("reference") or None,
        officers=officers,
    )
    _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=ComplaintItemKind.decision,
        payload={
            "text": _(
                "Put under HR watch: %(name)s (%(number)s).",
                name=employee.full_name,
                number=employee.number,
            ),
            "protected_employee_id": employee.id,
        },
        author=officer,
        today=today,
    )


def protect_reporter(
    session: Session,
    settings: Settings,
    *,
    report: Report,
    officer: User,
    employee_number: str,
) -> None:
    """Put a reporter whose identity was released under HR watch (from the identity request
    decision). Officers who hold the report itself are not told of their alerts."""
    employee = org_service.employee_by_number(session, employee_number)
    if employee is None:
        raise ReportingError(_("No employee has this number."), field="employee")
    holders = _report_holders(session, report)
    protect(
        session,
        settings,
        employee_id=employee.id,
        since=report.submitted_on,
        actor=officer,
        report=report.reference,
        officers=[u.id for u, _k in _officer_keys(session, exclude=holders)],
    )


def _complaint_content(session: Session, access: ComplaintAccess) -> dict[str, Any]:
    for entry in complaint_timeline(session, access=access):
        if entry.kind is ComplaintItemKind.complaint:
            return entry.content
    raise TamperedCase


def protected_employee_id(session: Session, access: ComplaintAccess) -> int | None:
    """Return the employee the complaint protects, if known (identified, or linked later)."""
    found = None
    for entry in complaint_timeline(session, access=access):
        if entry.kind is ComplaintItemKind.identity and entry.content.get("employee_id"):
            found = entry.content["employee_id"]
        if entry.kind is ComplaintItemKind.decision and entry.content.get("protected_employee_id"):
            found = entry.content["protected_employee_id"]
    return found


STATUS_CHANGED = N_("Employment status changed")


def _decision(
    *, on: date, act: DetrimentalAct, what: str, source: str, description: str, record: str = ""
) -> dict[str, Any]:
    entry = {
        "on": on.isoformat(),
        "kind": act.value,
        "what": what,
        "source": source,
        "description": description,
    }
    if record:
        entry["record"] = record
    return entry


def _recorded_decisions(
    session: Session, settings: Settings, *, employee_id: int, since: date
) -> list[dict[str, Any]]:
    """Return the adverse decisions about the employee that Mérito's own records hold from
    `since` on — appraisals, competitions, training, unit, position and status — whether or
    not anyone was watching then (the HR watch only starts when a protection does).

    Each domain answers through a read-only service function; the imports are local because
    those domains publish the events this module subscribes to at import.
    """
    from assessments.appraisals import service as appraisal_service
    from assessments.vacancies import merit as vacancy_merit
    from competency_framework.training import plans as training_plans

    start = datetime.combine(since, time.min, tzinfo=ZoneInfo(settings.time_zone))

    def day(moment: datetime) -> date:
        return deadlines.local_day(moment, settings.time_zone)

    source = "recorded by Mérito"
    found = []
    for rating in appraisal_service.adverse_ratings(session, employee_id=employee_id, since=start):
        event = "appraisal.does_not_meet" if rating.does_not_meet else "appraisal.rating_dropped"
        previous = f" (previous appraisal: {rating.previous})" if rating.previous else ""
        found.append(
            _decision(
                on=day(rating.completed_at),
                act=DetrimentalAct.negative_appraisal,
                what=WATCHED_EVENTS[event],
                source=source,
                description=f"{rating.cycle}: final rating {rating.rating} of 5{previous}",
                record=f"appraisal:{rating.appraisal_id}",
            )
        )
    for rejection in vacancy_merit.rejections_of(session, employee_id=employee_id, since=start):
        found.append(
            _decision(
                on=day(rejection.on),
                act=DetrimentalAct.exclusion_competition,
                what=WATCHED_EVENTS["vacancy.candidate_rejected"],
                source=source,
                description=(
                    f"{rejection.reference} {rejection.title}: out at {rejection.stage} "
                    f"({rejection.reason})"
                ),
                record=f"vacancy:{rejection.vacancy_id}",
            )
        )
    for refusal in training_plans.refusals_of(session, employee_id=employee_id, since=start):
        declined = refusal.kind == "declined"
        found.append(
            _decision(
                on=day(refusal.on),
                act=DetrimentalAct.exclusion_training,
                what=WATCHED_EVENTS[
                    "training.request_refused" if declined else "training.enrolment_cancelled"
                ],
                source=source,
                description=(
                    f"{refusal.activity_code} {refusal.activity_title}: "
                    + (f"reason given: {refusal.reason}" if refusal.reason else "no reason given")
                ),
                record=(
                    f"training-item:{refusal.plan_item_id}"
                    if declined
                    else f"training-enrolment:{refusal.enrolment_id}"
                ),
            )
        )
    for change in org_service.placement_changes(session, employee_id=employee_id, since=start):
        if change.what == "status" and change.after == "active":
            continue  # back at work: not a detriment
        act, what, record = {
            "unit": (DetrimentalAct.transfer, WATCHED_EVENTS["employee.moved"], "unit"),
            "position": (
                DetrimentalAct.change_of_duties,
                WATCHED_EVENTS["org.role_changed"],
                "position",
            ),
            "status": (DetrimentalAct.other, STATUS_CHANGED, "status"),
        }[change.what]
        on = day(change.at)
        found.append(
            _decision(
                on=on,
                act=act,
                what=what,
                source=source,
                description=f"from {change.before_label or '-'} to {change.after_label or '-'}",
                record=f"{record}:{change.before}>{change.after}@{on.isoformat()}",
            )
        )
    return found


def _alert_record(alert: Alert) -> str:
    """Return the record an HR watch alert is about, named as `_recorded_decisions` names it
    (so a decision found both ways is listed once), or "" when the payload does not say."""
    payload, on = alert.payload, alert.occurred_on.isoformat()
    keyed = {
        "appraisal.rating_dropped": ("appraisal", "appraisal_id"),
        "appraisal.does_not_meet": ("appraisal", "appraisal_id"),
        "vacancy.candidate_rejected": ("vacancy", "vacancy_id"),
        "training.request_refused": ("training-item", "plan_item_id"),
        "training.enrolment_cancelled": ("training-enrolment", "enrolment_id"),
    }
    if alert.event in keyed:
        prefix, key = keyed[alert.event]
        return f"{prefix}:{payload[key]}" if payload.get(key) is not None else ""
    if alert.event == "employee.moved" and "to_unit_id" in payload:
        return f"unit:{payload.get('from_unit_id')}>{payload['to_unit_id']}@{on}"
    if alert.event == "org.role_changed" and "to_position_id" in payload:
        return f"position:{payload.get('from_position_id')}>{payload['to_position_id']}@{on}"
    return ""


def burden_of_proof_pack(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    holder_private: bytes,
    today: date,
) -> dict[str, Any]:
    """Return the signed burden-of-proof pack of a complaint.

    It shows the protected report's date and every adverse decision on or after it, for the
    employer to justify (EU Directive 2019/1937, Art. 21(5): the burden of proof is reversed):
    those the complainant alleges; those Mérito's own records hold about the protected person
    (appraisals, competitions, training, unit, position, status — found in the records, so
    decisions taken before anyone was watching count too); and those the officer's HR watch
    recorded, once each. Signed with the installation's Ed25519 key; `merito verify-certificate`
    checks it offline. Audited.
    """
    complaint = access.complaint
    content = _complaint_content(session, access)
    made_on = content.get("protected_report", {}).get("made_on")
    if not made_on:
        raise ReportingError(
            _("The day of the protected report is unknown: a pack cannot be made."),
            status_code=409,
        )
    since = date.fromisoformat(made_on)
    decisions = []
    for act in content.get("acts", []):
        if act.get("on") and date.fromisoformat(act["on"]) >= since:
            decisions.append(
                {
                    "on": act["on"],
                    "kind": act["kind"],
                    "what": DETRIMENTAL_ACT_LABELS[DetrimentalAct(act["kind"])],
                    "source": "alleged by the complainant",
                    "description": act.get("description", ""),
                }
            )
    employee_id = protected_employee_id(session, access)
    employee = org_service.get_employee(session, employee_id) if employee_id else None
    recorded = (
        _recorded_decisions(session, settings, employee_id=employee.id, since=since)
        if employee is not None
        else []
    )
    decisions += recorded
    known = {d["record"] for d in recorded}
    alerts = screen(session, settings, officer=officer, holder_private=holder_private, today=today)
    for alert in alerts:
        related = complaint.reference in alert.complaints or (
            employee_id is not None and alert.employee_id == employee_id
        )
        record = _alert_record(alert)
        if related and alert.occurred_on >= since and not (record and record in known):
            act = EVENT_ACTS.get(alert.event, DetrimentalAct.other)
            decisions.append(
                _decision(
                    on=alert.occurred_on,
                    act=act,
                    what=WATCHED_EVENTS.get(alert.event, alert.event),
                    source="recorded by Mérito",
                    description=json.dumps(alert.payload, sort_keys=True),
                    record=record,
                )
            )
            known.add(record)
    person = {"name": employee.full_name, "number": employee.number} if employee else None
    body = {
        "type": PACK_TYPE,
        "version": 2,
        "complaint": complaint.reference,
        "complaint_received_on": complaint.received_on.isoformat(),
        "protected_report": {
            "reference": content.get("protected_report", {}).get("reference") or None,
            "made_on": made_on,
        },
        "protected_person": person,
        # Which records were searched: none when the complainant is not identified yet (the
        # officer links them to an employee first, "Put under HR watch").
        "records_searched": (
            {
                "employee": employee.number,
                "from": made_on,
                "to": today.isoformat(),
                "of": ["appraisals", "competitions", "training", "unit", "position", "status"],
            }
            if employee is not None
            else None
        ),
        "adverse_decisions": sorted(decisions, key=lambda d: (d["on"], d["kind"])),
        "generated_on": today.isoformat(),
        "note": (
            "EU Directive 2019/1937, Art. 21(5): it is for the person who took each decision "
            "to prove that it was based on duly justified grounds unrelated to the report."
        ),
    }
    pack = reporting.sign_document(session, settings, body)
    audit.record(
        session,
        action="retaliation.pack_generated",
        actor=officer,
        entity_type="retaliation_complaint",
        entity_id=complaint.reference,
        after={"decisions": len(decisions), "recorded": len(recorded)},
    )
    return pack


def verify_pack(raw: bytes | str, *, expected_fingerprint: str = "") -> reporting.DocumentCheck:
    """Return whether a burden-of-proof pack is intact and signed by the expected key."""
    return reporting.verify_signed_document(
        raw, expected_type=PACK_TYPE, expected_fingerprint=expected_fingerprint
    )


# --- jobs: monitoring and retention -----------------------------------------------------------


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
        session.exec(delete(RetaliationComplaint).where(RetaliationComplaint.id == complaint.id))
        run.deleted.append(complaint.reference)
        run.files += files
    return run


def remove_files(settings: Settings, uids: Sequence[str]) -> None:
    for uid in uids:
        attachments.remove(settings.attachments_dir, uid)


@jobs.register("complaint_monitoring", every=timedelta(hours=24))
def complaint_monitoring_job(session: Session, settings: Settings) -> str:
    """Tell the officers a month before the monitoring of a closed complaint ends."""
    from whistleblowing import cases  # cases imports this module for its retention job

    today = reporting.local_today(settings)
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
            told += cases.notify(
                session,
                user_id=user_id,
                kind=NotificationKind.monitoring_ends,
                complaint_id=complaint_id,
                due_on=until,
                dedupe=f"monitoring_ends:{complaint_id}:{until.isoformat()}",
                today=today,
            )
    return f"{told} monitoring notices"
