"""The HR watch: the watch key, the protected people, one sealed entry per officer for every
watched HR decision, and the alerts an officer finds when they screen them.

The list of protected people is a list of HMAC tags of employee ids under a random watch key,
which the server holds encrypted under a key derived from the application's secret (so events
match while nobody is signed in) and the officers hold wrapped to their own keys. Every watched
decision about *anyone* writes the same sealed, padded entry for each officer; only the officer
opening it learns whether it is an alert (docs/security.md, "HR watch"). The subscriptions to
the other domains' events are in `whistleblowing.events`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from backend import audit, clock, crypto, events
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import N_, _
from backend.org import service as org_service
from whistleblowing import deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    DetrimentalAct,
    HolderKey,
    HolderKind,
    ProtectedPerson,
    WatchBook,
    WatchEntry,
    WatchKey,
    WatchKeyWrap,
)
from whistleblowing.service.common import ReportingError, _aad, canonical_json

from .common import (
    BOOK_SIZE,
    COMPLAINANT,
    ENTRY_SIZE,
    _officer_keys,
    _pad,
    _recovery_public,
    _server_key,
    _settings_of,
)

# The HR decisions the watch listens to (published by the domains that make them; the
# subscriptions are in whistleblowing.events).
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
        _pad(canonical_json(payload), 512),
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
            on=today or clock.today(settings),
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
                    _pad(canonical_json(body), ENTRY_SIZE),
                    aad=_aad("watch-entry", holder),
                ),
            )
        )
    # Whatever the decision was about: a notice only for a protected person would say who is.
    reporting_notices.hr_watch_entries(
        session,
        officers=[user_id for user_id, _key in recipients if user_id is not None],
        today=clock.today(settings),
    )


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
        _pad(canonical_json({"alerts": alerts}), BOOK_SIZE),
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
                data.update(id=crypto.new_hex(), screened_on=today.isoformat())
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


# --- the HR watch page's forms ----------------------------------------------------------------


def _employee_id(session: Session, number: str, *, field: str) -> int:
    employee = org_service.employee_by_number(session, number)
    if employee is None:
        raise ReportingError(_("No employee has this number."), field=field)
    return employee.id


def watch_employee(
    session: Session,
    settings: Settings,
    *,
    number: str,
    since: date | None,
    actor: User,
    today: date,
) -> ProtectedPerson:
    """Put the employee with this number under HR watch from the day of their protected
    report (`since`, not after `today`). Audited; the caller commits."""
    employee_id = _employee_id(session, number, field="employee")
    if since is None or since > today:
        raise ReportingError(
            _("Enter the day of the protected report as YYYY-MM-DD."), field="since"
        )
    return protect(session, settings, employee_id=employee_id, since=since, actor=actor)


def unwatch_employee(session: Session, settings: Settings, *, number: str, actor: User) -> None:
    """End the HR watch of the employee with this number. Audited; the caller commits."""
    employee_id = _employee_id(session, number, field="end_employee")
    if not end_protection(session, settings, employee_id=employee_id, actor=actor):
        raise ReportingError(_("This person is not under HR watch."), field="end_employee")
