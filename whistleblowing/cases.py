"""Case tracking: what happens to a report after it is received.

The lifecycle (received → acknowledged → in triage → under investigation → closed, one day
recorded per state), who handles a case (assignment, handover to the channel's deputy,
conflicts of interest, absences), how cases relate (links, tags), the statutory clock (the
`case_deadlines` job: reminders, overdue notices and escalation to the channel's lead), reports
made by telephone or in person, the statistics of the periodic evaluation, and retention.

Everything here works on plain metadata, or seals what people write to the report's public key
(whistleblowing.service); nothing in this module writes report content, a reporter's identity
or a person's name in clear.
"""

from __future__ import annotations

import csv
import io
import statistics as stats
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select

from backend import audit, crypto, jobs
from backend.auth import service as auth_service
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings
from backend.i18n import N_, _, localized
from backend.org import service as org_service
from backend.org.models import Unit
from backend.spreadsheets import csv_cell, xlsx_cell
from backend.web import format_date
from whistleblowing import attachments, deadlines
from whistleblowing import service as reporting
from whistleblowing.models import (
    INTAKE_CHANNEL_LABELS,
    REPORT_OUTCOME_LABELS,
    REPORT_STATUS_LABELS,
    CaseReminder,
    CaseTag,
    DeclaredInterest,
    HolderKey,
    IdentityRequest,
    IntakeChannel,
    InvestigatorAbsence,
    ItemKind,
    KeyKind,
    Notification,
    NotificationKind,
    Report,
    ReportAttachment,
    ReportChannel,
    ReportConflict,
    ReporterSession,
    ReportItem,
    ReportKeyWrap,
    ReportLink,
    ReportOutcome,
    ReportStatus,
    ReportTag,
)
from whistleblowing.service import CaseAccess, ReportingError

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
        sealed=reporting._seal_item(
            report,
            kind=ItemKind.decision,
            uid=uid,
            payload={"text": text, "files": []},
            position=reporting.item_position(session, report),
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
    return reporting.add_item(
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
    today = today or reporting.local_today(settings)
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
            reporting.add_item(
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
    """Add a notice for one person unless the same one exists; return whether it was added."""
    exists = session.exec(
        select(Notification.id).where(
            Notification.user_id == user_id, Notification.dedupe == dedupe
        )
    ).first()
    if exists is not None:
        return False
    session.add(
        Notification(
            user_id=user_id,
            kind=kind.value,
            report_id=report_id,
            complaint_id=complaint_id,
            due_on=due_on,
            created_on=today,
            dedupe=dedupe,
        )
    )
    return True


@dataclass
class NotificationView:
    notification: Notification
    reference: str  # of the report or complaint
    href: str


def notifications_for(
    session: Session, *, user: User, unread_only: bool = False, limit: int = 50
) -> list[NotificationView]:
    """Return a person's newest notices with the reference they are about."""
    from whistleblowing.models import RetaliationComplaint

    statement = (
        select(Notification, Report.reference, RetaliationComplaint.reference)
        .join(Report, col(Report.id) == Notification.report_id, isouter=True)
        .join(
            RetaliationComplaint,
            col(RetaliationComplaint.id) == Notification.complaint_id,
            isouter=True,
        )
        .where(Notification.user_id == user.id)
        .order_by(col(Notification.created_on).desc(), col(Notification.id).desc())
        .limit(limit)
    )
    if unread_only:
        statement = statement.where(col(Notification.read_on).is_(None))
    views = []
    for notice, report_ref, complaint_ref in session.exec(statement).all():
        if report_ref:
            views.append(NotificationView(notice, report_ref, f"/cases/{report_ref}"))
        elif complaint_ref:
            views.append(NotificationView(notice, complaint_ref, f"/retaliation/{complaint_ref}"))
        else:
            views.append(NotificationView(notice, "", "/"))
    return views


def unread_count(session: Session, *, user: User) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, col(Notification.read_on).is_(None))
    ).one()


def mark_read(
    session: Session, *, user: User, notification_id: int | None = None, today: date
) -> int:
    """Mark one notice (or all of them) read; return how many. Only one's own notices."""
    statement = update(Notification).where(
        col(Notification.user_id) == user.id, col(Notification.read_on).is_(None)
    )
    if notification_id is not None:
        statement = statement.where(col(Notification.id) == notification_id)
    return session.execute(statement.values(read_on=today)).rowcount or 0


# --- who holds and who handles a case ---------------------------------------------------------


def holder_ids(session: Session, report: Report) -> set[int]:
    """Return the users holding the report key."""
    return set(
        session.exec(
            select(ReportKeyWrap.user_id).where(
                ReportKeyWrap.report_id == report.id,
                ReportKeyWrap.key_kind == KeyKind.report.value,
                col(ReportKeyWrap.user_id).is_not(None),
            )
        ).all()
    )


def _is_investigator(session: Session, user: User | None) -> bool:
    return (
        user is not None
        and user.is_active
        and Role.investigator in auth_service.roles_of(session, user)
    )


def assign(
    session: Session, *, access: CaseAccess, actor: User, assignee: User, today: date
) -> None:
    """Make `assignee` (who must hold the report) the case's handler; audited, notified."""
    report = access.report
    _refuse_if_closed(report)
    if assignee.id not in holder_ids(session, report) or not _is_investigator(session, assignee):
        raise ReportingError(
            _("Give %(name)s access to the report first.", name=assignee.full_name),
            field="assignee",
        )
    # A holder the report names (a wrap given before names were re-checked) never handles it.
    reporting.refuse_if_barred(
        reporting.barred_from_case(session, access, people=[assignee]), assignee
    )
    if report.assignee_id == assignee.id:
        raise ReportingError(
            _("%(name)s already handles this case.", name=assignee.full_name), status_code=409
        )
    before = {"assignee_id": report.assignee_id}
    report.assignee_id = assignee.id
    session.add(report)
    if assignee.id != actor.id:
        notify(
            session,
            user_id=assignee.id,
            kind=NotificationKind.assigned,
            report_id=report.id,
            dedupe=f"assigned:{report.id}:{today.isoformat()}",
            today=today,
        )
    audit.record(
        session,
        action="report.assigned",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before=before,
        after={"assignee_id": assignee.id},
    )


def _channel(session: Session, report: Report) -> ReportChannel:
    return session.get(ReportChannel, report.channel_id)


def absent_on(session: Session, user_id: int, day: date) -> bool:
    """Return whether the person recorded an absence covering `day`."""
    return (
        session.exec(
            select(InvestigatorAbsence.id).where(
                InvestigatorAbsence.user_id == user_id,
                InvestigatorAbsence.starts_on <= day,
                InvestigatorAbsence.ends_on >= day,
            )
        ).first()
        is not None
    )


def successor_candidates(
    session: Session, *, access: CaseAccess, leaving: int | None, today: date
) -> list[User]:
    """Return who could take the case over, in order: the channel's deputy, its lead, then its
    other recipients — active investigators with a key pair, not barred, not away today."""
    channel = _channel(session, access.report)
    barred = reporting.barred_from_case(session, access).everyone
    ordered: list[int] = [
        uid for uid in (channel.deputy_user_id, channel.lead_user_id) if uid is not None
    ]
    ordered += [u.id for u in reporting.channel_recipients(session, channel.id)]
    found, seen = [], set()
    for uid in ordered:
        if uid in seen or uid == leaving or uid in barred:
            continue
        seen.add(uid)
        user = session.get(User, uid)
        if (
            _is_investigator(session, user)
            and session.get(HolderKey, uid) is not None
            and not absent_on(session, uid, today)
        ):
            found.append(user)
    return found


def hand_over(
    session: Session,
    *,
    access: CaseAccess,
    actor: User,
    reason: str,
    to_user: User | None = None,
    today: date,
) -> User:
    """Give the case to `to_user` (by default the channel's deputy, or whoever is next in
    line): re-wrap the report key for them if needed and make them the handler. Audited,
    notified; the reason is sealed. Return who took it."""
    report = access.report
    _refuse_if_closed(report)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ReportingError(_("Say why the case is handed over."), field="handover")
    if to_user is None:
        candidates = successor_candidates(
            session, access=access, leaving=report.assignee_id, today=today
        )
        if not candidates:
            raise ReportingError(
                _(
                    "Nobody can take this case over: the channel has no deputy or other "
                    "investigator who is present and may receive it."
                ),
                status_code=409,
                field="handover",
            )
        to_user = candidates[0]
    if to_user.id not in holder_ids(session, report):
        reporting.grant_access(session, access=access, actor=actor, grantee=to_user)
    else:
        reporting.refuse_if_barred(
            reporting.barred_from_case(session, access, people=[to_user]), to_user
        )
    item = _seal_decision(session, access=access, actor=actor, text=reason, today=today)
    before = {"assignee_id": report.assignee_id}
    report.assignee_id = to_user.id
    session.add(report)
    notify(
        session,
        user_id=to_user.id,
        kind=NotificationKind.handover,
        report_id=report.id,
        dedupe=f"handover:{report.id}:{item.uid}",
        today=today,
    )
    audit.record(
        session,
        action="report.handed_over",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before=before,
        after={"assignee_id": to_user.id, "reason_item": item.uid},
    )
    return to_user


def declare_conflict(
    session: Session, *, access: CaseAccess, actor: User, reason: str, today: date
) -> list[User]:
    """Record that `actor` has a conflict of interest: the case goes to the others who hold
    it, or to the deputy (or the next in line) first; then the actor's access is deleted and
    can never be granted again. Return who now holds the case. Audited; the caller commits."""
    report = access.report
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ReportingError(
            _("Describe the conflict of interest (kept sealed in the case)."), field="conflict"
        )
    others = holder_ids(session, report) - {actor.id}
    if not others:
        candidates = successor_candidates(session, access=access, leaving=actor.id, today=today)
        if not candidates:
            raise ReportingError(
                _(
                    "Nobody else can receive this case. Ask the channel's lead to name a "
                    "deputy before you step aside."
                ),
                status_code=409,
                field="conflict",
            )
        reporting.grant_access(session, access=access, actor=actor, grantee=candidates[0])
        others = {candidates[0].id}
    item = _seal_decision(session, access=access, actor=actor, text=reason, today=today)
    session.add(ReportConflict(report_id=report.id, user_id=actor.id, declared_on=today))
    session.exec(
        delete(ReportKeyWrap).where(
            ReportKeyWrap.report_id == report.id, ReportKeyWrap.user_id == actor.id
        )
    )
    before = {"assignee_id": report.assignee_id}
    if report.assignee_id in (actor.id, None):
        channel = _channel(session, report)
        report.assignee_id = (
            channel.deputy_user_id if channel.deputy_user_id in others else sorted(others)[0]
        )
        notify(
            session,
            user_id=report.assignee_id,
            kind=NotificationKind.handover,
            report_id=report.id,
            dedupe=f"handover:{report.id}:{item.uid}",
            today=today,
        )
    session.add(report)
    audit.record(
        session,
        action="report.conflict_declared",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before=before,
        after={"assignee_id": report.assignee_id, "reason_item": item.uid},
    )
    return [session.get(User, uid) for uid in sorted(others)]


# --- absences ---------------------------------------------------------------------------------


@dataclass
class AbsenceResult:
    absence: InvestigatorAbsence
    handed_over: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # nobody could take them


def record_absence(
    session: Session,
    *,
    user: User,
    holder_private: bytes | None,
    starts_on: date,
    ends_on: date,
    hand_over_cases: bool,
    today: date,
) -> AbsenceResult:
    """Record an absence; with `hand_over_cases`, hand the person's open cases to the next in
    line now (their unlocked key re-wraps them). Audited; the caller commits."""
    if ends_on < starts_on:
        raise ReportingError(_("The absence must end on or after its first day."), field="ends_on")
    if starts_on < today:
        raise ReportingError(_("An absence cannot start in the past."), field="starts_on")
    if (ends_on - starts_on).days > 366:
        raise ReportingError(_("Record absences of at most a year."), field="ends_on")
    absence = InvestigatorAbsence(
        user_id=user.id, starts_on=starts_on, ends_on=ends_on, created_on=today
    )
    session.add(absence)
    session.flush()
    audit.record(
        session,
        action="investigator.absence_recorded",
        actor=user,
        entity_type="user",
        entity_id=user.id,
        after={"starts_on": starts_on, "ends_on": ends_on},
    )
    result = AbsenceResult(absence)
    if not hand_over_cases or holder_private is None:
        return result
    mine = session.exec(
        select(Report).where(
            Report.assignee_id == user.id, Report.status != ReportStatus.closed.value
        )
    ).all()
    for report in mine:
        access = reporting.open_case(
            session,
            user=user,
            holder_private=holder_private,
            reference=report.reference,
            audit_read=False,
        )
        candidates = successor_candidates(session, access=access, leaving=user.id, today=starts_on)
        if not candidates:
            result.kept.append(report.reference)
            continue
        hand_over(
            session,
            access=access,
            actor=user,
            reason=_(
                "Away from %(start)s to %(end)s.",
                start=format_date(starts_on),
                end=format_date(ends_on),
            ),
            to_user=candidates[0],
            today=today,
        )
        result.handed_over.append(report.reference)
    return result


def absences_of(session: Session, *, user: User, today: date) -> list[InvestigatorAbsence]:
    """Return the person's current and future absences."""
    return list(
        session.exec(
            select(InvestigatorAbsence)
            .where(InvestigatorAbsence.user_id == user.id, InvestigatorAbsence.ends_on >= today)
            .order_by(col(InvestigatorAbsence.starts_on))
        ).all()
    )


def end_absence(session: Session, *, user: User, absence_id: int, today: date) -> None:
    """End one's own absence today (or delete one that has not started)."""
    absence = session.get(InvestigatorAbsence, absence_id)
    if absence is None or absence.user_id != user.id:
        raise ReportingError(_("This absence does not exist."), status_code=404)
    before = {"starts_on": absence.starts_on, "ends_on": absence.ends_on}
    if absence.starts_on > today:
        session.delete(absence)
    else:
        absence.ends_on = today
        session.add(absence)
    audit.record(
        session,
        action="investigator.absence_ended",
        actor=user,
        entity_type="user",
        entity_id=user.id,
        before=before,
    )


# --- declared interests -----------------------------------------------------------------------

MAX_INTEREST_TERMS = 50
MAX_INTEREST_UNITS = 20
MAX_INTEREST_LENGTH = 120


@dataclass
class InterestRegister:
    """One investigator's declared interests, for showing: terms and units (code and name)."""

    user: User
    terms: list[str]
    units: list[tuple[str, str]]
    updated_on: date | None


def _register_view(session: Session, user: User, row: DeclaredInterest | None) -> InterestRegister:
    if row is None:
        return InterestRegister(user, [], [], None)
    units = [session.get(Unit, unit_id) for unit_id in row.unit_ids]
    return InterestRegister(
        user, list(row.terms), [(u.code, u.name) for u in units if u is not None], row.updated_on
    )


def interest_register(session: Session, *, user: User) -> InterestRegister:
    """Return the investigator's own register of declared interests."""
    return _register_view(session, user, session.get(DeclaredInterest, user.id))


def parse_interest_terms(text: str) -> list[str]:
    """Return the terms of a register typed one per line (blank lines and repeats dropped)."""
    terms: list[str] = []
    seen: set[frozenset] = set()
    for line in text.splitlines():
        term = " ".join(line.split())
        key = frozenset(reporting.interest_forms(term))
        if term and (not key or key not in seen):
            seen.add(key)
            terms.append(term)
    return terms


def declare_interests(
    session: Session,
    *,
    user: User,
    terms: Sequence[str],
    unit_codes: Sequence[str],
    today: date,
) -> InterestRegister:
    """Replace the investigator's register of declared interests: suppliers, people they are
    related to, anything a report could touch (`terms`), and units of the organisation.

    Every new report is checked against it as it comes in, and anyone given a case later is
    checked again: a report that touches a declared interest never reaches its declarer, and
    nobody tells them it was withheld. Audited (the register is not secret: the channel's
    lead and the administrators see it). Bad input raises ReportingError and writes nothing.
    """
    if len(terms) > MAX_INTEREST_TERMS:
        raise ReportingError(
            _("Declare at most %(n)s interests.", n=MAX_INTEREST_TERMS), field="terms"
        )
    for term in terms:
        if len(term) > MAX_INTEREST_LENGTH:
            raise ReportingError(
                _(
                    "“%(term)s” is too long (at most %(n)s characters).",
                    term=term[:40] + "…",
                    n=MAX_INTEREST_LENGTH,
                ),
                field="terms",
            )
        words = [w for form in reporting.interest_forms(term) for w in form]
        if not any(len(w) >= 3 for w in words):
            raise ReportingError(
                _(
                    "“%(term)s” is too short to be recognised in a report: write a name or "
                    "a word of at least three letters.",
                    term=term,
                ),
                field="terms",
            )
    codes = [c.strip() for c in unit_codes if c.strip()]
    if len(codes) > MAX_INTEREST_UNITS:
        raise ReportingError(_("Declare at most %(n)s units.", n=MAX_INTEREST_UNITS), field="units")
    unit_ids: list[int] = []
    for code in codes:
        unit = org_service.unit_by_code(session, code)
        if unit is None:
            raise ReportingError(_("No unit has the code %(code)s.", code=code), field="units")
        if unit.id not in unit_ids:
            unit_ids.append(unit.id)
    row = session.get(DeclaredInterest, user.id)
    before = {"terms": list(row.terms), "unit_ids": list(row.unit_ids)} if row else None
    after = {"terms": list(terms), "unit_ids": unit_ids}
    if before == after or (before is None and not terms and not unit_ids):
        return _register_view(session, user, row)
    if row is None:
        row = DeclaredInterest(user_id=user.id)
    row.terms, row.unit_ids, row.updated_on = list(terms), unit_ids, today
    session.add(row)
    audit.record(
        session,
        action="investigator.interests_declared",
        actor=user,
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=after,
    )
    return _register_view(session, user, row)


def interest_registers(session: Session, users: Sequence[User]) -> list[InterestRegister]:
    """Return the registers of `users` (for the administrators and the channels' leads)."""
    rows = {
        r.user_id: r
        for r in session.exec(
            select(DeclaredInterest).where(col(DeclaredInterest.user_id).in_([u.id for u in users]))
        ).all()
    }
    return [_register_view(session, u, rows.get(u.id)) for u in users]


def led_channel_people(session: Session, *, user: User) -> list[User]:
    """Return the people who may receive the channels `user` leads (empty if they lead none)."""
    people: dict[int, User] = {}
    for channel in session.exec(
        select(ReportChannel).where(ReportChannel.lead_user_id == user.id)
    ).all():
        for person in reporting.channel_people(session, channel):
            if person.id != user.id:
                people[person.id] = person
    return sorted(people.values(), key=lambda u: u.full_name)


# --- links and tags ---------------------------------------------------------------------------


def link_cases(
    session: Session, *, access: CaseAccess, actor: User, other_reference: str, today: date
) -> Report:
    """Link the case to another one the actor also holds; audited. Return the other."""
    report = access.report
    other = session.exec(
        select(Report).where(Report.reference == other_reference.strip().upper())
    ).first()
    # One answer for "does not exist" and "not yours": a reference must not be probed.
    if (
        other is None
        or reporting._wrap_of(session, other, user_id=actor.id, key_kind=KeyKind.report) is None
    ):
        raise ReportingError(_("You hold no report with this reference."), field="link")
    if other.id == report.id:
        raise ReportingError(_("A case cannot be linked to itself."), field="link")
    low, high = sorted((report.id, other.id))
    if session.get(ReportLink, (low, high)) is not None:
        raise ReportingError(_("The two cases are already linked."), status_code=409, field="link")
    session.add(
        ReportLink(report_id=low, linked_report_id=high, linked_by_id=actor.id, linked_on=today)
    )
    for first, second in ((report, other), (other, report)):
        audit.record(
            session,
            action="report.linked",
            actor=actor,
            entity_type="report",
            entity_id=first.reference,
            after={"linked": second.reference},
        )
    return other


def unlink_cases(
    session: Session, *, access: CaseAccess, actor: User, other_reference: str
) -> None:
    report = access.report
    other = session.exec(
        select(Report).where(Report.reference == other_reference.strip().upper())
    ).first()
    link = None
    if other is not None:
        link = session.get(ReportLink, tuple(sorted((report.id, other.id))))
    if link is None:
        raise ReportingError(_("The two cases are not linked."), status_code=404)
    session.delete(link)
    for first, second in ((report, other), (other, report)):
        audit.record(
            session,
            action="report.unlinked",
            actor=actor,
            entity_type="report",
            entity_id=first.reference,
            before={"linked": second.reference},
        )


def linked_cases(session: Session, *, report: Report, user: User) -> list[Report]:
    """Return the cases linked to `report` that `user` holds (others are not even named: a
    link must not reveal a case to someone kept out of it)."""
    ids = set(
        session.exec(select(ReportLink.linked_report_id).where(ReportLink.report_id == report.id))
    ) | set(
        session.exec(select(ReportLink.report_id).where(ReportLink.linked_report_id == report.id))
    )
    if not ids:
        return []
    return list(
        session.exec(
            select(Report)
            .where(col(Report.id).in_(ids), reporting._held_by(user.id))
            .order_by(col(Report.submitted_on))
        ).all()
    )


def all_tags(session: Session) -> list[CaseTag]:
    return list(session.exec(select(CaseTag).order_by(col(CaseTag.code))).all())


def save_tag(
    session: Session, *, actor: User, tag: CaseTag | None, code: str, name_es: str, name_en: str
) -> CaseTag:
    """Create or rename a tag of the administrators' list (audited)."""
    code = code.strip().lower().replace(" ", "_")
    given = {"code": code, "name_es": name_es, "name_en": name_en}
    missing = [name for name, text in given.items() if not text.strip()]
    if missing:
        raise ReportingError(_("Enter a code and the name in both languages."), field=missing[0])
    clash = session.exec(select(CaseTag).where(CaseTag.code == code)).first()
    if clash is not None and (tag is None or clash.id != tag.id):
        raise ReportingError(_("Another tag already uses this code."), field="code")
    before = audit.snapshot(tag) if tag is not None else None
    tag = tag or CaseTag(code=code, name_es="", name_en="")
    tag.code, tag.name_es, tag.name_en = code, name_es.strip(), name_en.strip()
    session.add(tag)
    session.flush()
    audit.record(
        session,
        action="reporting.tag_saved",
        actor=actor,
        entity_type="case_tag",
        entity_id=tag.id,
        before=before,
        after=audit.snapshot(tag),
    )
    return tag


def tags_of(session: Session, report: Report) -> list[CaseTag]:
    return list(
        session.exec(
            select(CaseTag)
            .join(ReportTag, col(ReportTag.tag_id) == CaseTag.id)
            .where(ReportTag.report_id == report.id)
            .order_by(col(CaseTag.code))
        ).all()
    )


def set_tags(session: Session, *, access: CaseAccess, actor: User, tag_ids: Sequence[int]) -> None:
    """Replace the case's tags (audited)."""
    report = access.report
    known = {t.id for t in all_tags(session)}
    wanted = {t for t in tag_ids if t in known}
    current = {t.id for t in tags_of(session, report)}
    if wanted == current:
        return
    session.exec(delete(ReportTag).where(ReportTag.report_id == report.id))
    for tag_id in sorted(wanted):
        session.add(ReportTag(report_id=report.id, tag_id=tag_id))
    audit.record(
        session,
        action="report.tags_changed",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"tags": sorted(current)},
        after={"tags": sorted(wanted)},
    )


# --- custom reminders -------------------------------------------------------------------------


def _reminder_aad(report: Report, reminder_id: int) -> bytes:
    return reporting._aad("reminder", report.reference, reminder_id)


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
            raise reporting.TamperedCase from None
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


# --- oral and other-channel reports -----------------------------------------------------------

MAX_INTAKE_DELAY_DAYS = 30


def enter_report(
    session: Session, settings: Settings, *, actor: User, submission: reporting.Submission
) -> reporting.SubmissionResult:
    """File a report someone made by telephone, in person, by letter or email, entered by the
    investigator who received it. The deadlines run from the day it was made. Return the
    result with the receipt to give to the reporter (shown once). Audited; caller commits."""
    today = reporting.local_today(settings)
    if submission.received_via == IntakeChannel.web or (
        submission.received_via not in IntakeChannel.__members__
    ):
        raise ReportingError(_("Choose how the report was received."), field="received_via")
    received_on = submission.received_on or today
    if received_on > today:
        raise ReportingError(
            _("The report cannot have been made in the future."), field="received_on"
        )
    if (today - received_on).days > MAX_INTAKE_DELAY_DAYS:
        raise ReportingError(
            _("Enter a report within %(n)s days of receiving it.", n=MAX_INTAKE_DELAY_DAYS),
            field="received_on",
        )
    submission.entered_by = actor
    submission.received_on = received_on
    result = reporting.submit_report(session, settings, submission=submission)
    report = result.report
    if actor.id in holder_ids(session, report):
        report.assignee_id = actor.id
        session.add(report)
    audit.record(
        session,
        action="report.entered_for_reporter",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"received_via": report.received_via, "received_on": received_on},
    )
    return result


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
        ).where(reporting.is_open(), reporting._held_by(user.id))
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
    watched = reporting.is_open() & (
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
    audit.record_many(session, escalated)
    return run


@jobs.register("case_deadlines", every=timedelta(hours=1))
def case_deadlines_job(session: Session, settings: Settings) -> str:
    """The statutory clock of every open case (see run_deadlines)."""
    return run_deadlines(session, today=reporting.local_today(settings)).summary()


@jobs.register("reporter_sessions", every=timedelta(minutes=10))
def reporter_sessions_job(session: Session, settings: Settings) -> str:
    """Delete the reporter sessions of past days, and set a whole receipt budget back to 0, so
    neither keeps a trace of when a reporter was active (docs/security.md)."""
    removed = reporting.purge_reporter_sessions(session)
    reporting.forget_receipt_attempts(session)
    return f"{removed} expired reporter sessions removed"


# --- statistics for the periodic evaluation ---------------------------------------------------


@dataclass
class ChannelFigures:
    label: str
    received: int | None
    open: int | None
    closed: int | None
    outcomes: dict[str, int | None]
    median_days_to_ack: float | None
    median_days_to_feedback: float | None
    ack_on_time: float | None  # share of acknowledged reports acknowledged on time
    feedback_on_time: float | None


@dataclass
class Evaluation:
    year: int | None
    threshold: int
    channels: list[ChannelFigures]
    total: ChannelFigures
    intake: list[tuple[str, int | None]]
    years: list[int]


def _suppress(count: int, threshold: int) -> int | None:
    """Return the count, or None when it is small enough to point at a person (0 is shown)."""
    return count if count == 0 or count >= threshold else None


def _suppress_cells(
    cells: dict[str, int], total_shown: bool, threshold: int
) -> dict[str, int | None]:
    """Suppress small cells; when one alone is hidden and the total is shown, hide the next
    smallest too, so the hidden one cannot be worked out by subtraction."""
    shown = {k: _suppress(v, threshold) for k, v in cells.items()}
    hidden = [k for k, v in shown.items() if v is None]
    if total_shown and len(hidden) == 1:
        visible = sorted((v, k) for k, v in shown.items() if v)
        if visible:
            shown[visible[0][1]] = None
    return shown


def _figures(label: str, rows: list[Any], threshold: int) -> ChannelFigures:
    received = len(rows)
    closed_rows = [r for r in rows if r.status == ReportStatus.closed]
    outcome_counts = {o.value: 0 for o in ReportOutcome}
    for r in closed_rows:
        if r.outcome in outcome_counts:
            outcome_counts[r.outcome] += 1
    closed_shown = _suppress(len(closed_rows), threshold)
    to_ack = [(r.acknowledged_on - r.submitted_on).days for r in rows if r.acknowledged_on]
    to_feedback = [(r.feedback_given_on - r.submitted_on).days for r in rows if r.feedback_given_on]
    acked = [r for r in rows if r.acknowledged_on]
    fed = [r for r in rows if r.feedback_given_on]
    enough = received >= threshold
    return ChannelFigures(
        label=label,
        received=_suppress(received, threshold),
        open=_suppress(received - len(closed_rows), threshold) if enough else None,
        closed=closed_shown if enough else None,
        outcomes=_suppress_cells(outcome_counts, closed_shown is not None, threshold)
        if enough
        else dict.fromkeys(outcome_counts),
        median_days_to_ack=stats.median(to_ack) if len(to_ack) >= threshold else None,
        median_days_to_feedback=stats.median(to_feedback)
        if len(to_feedback) >= threshold
        else None,
        ack_on_time=sum(r.acknowledged_on <= r.ack_due_on for r in acked) / len(acked)
        if len(acked) >= threshold
        else None,
        feedback_on_time=sum(r.feedback_given_on <= r.feedback_due_on for r in fed) / len(fed)
        if len(fed) >= threshold
        else None,
    )


# The years a statistics request may ask for: anything else is refused before it reaches a
# query or a download's file name.
FIRST_STATISTICS_YEAR = 2000
LAST_STATISTICS_YEAR = 2100


def statistics_year(text: str) -> int | None:
    """Return the year asked for (None for every year); ReportingError (422) unless it is
    written in ASCII digits and lies between FIRST_ and LAST_STATISTICS_YEAR."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) == 4:
        year = int(text)
        if FIRST_STATISTICS_YEAR <= year <= LAST_STATISTICS_YEAR:
            return year
    raise ReportingError(
        _(
            "Choose a year between %(first)s and %(last)s.",
            first=FIRST_STATISTICS_YEAR,
            last=LAST_STATISTICS_YEAR,
        ),
        field="year",
    )


def evaluation(session: Session, *, year: int | None = None, threshold: int = 5) -> Evaluation:
    """Return the figures of the periodic evaluation (per channel and overall; how reports were
    received), from plain metadata, with every count below `threshold` suppressed."""
    statement = select(
        Report.channel_id,
        Report.status,
        Report.outcome,
        Report.received_via,
        Report.submitted_on,
        Report.ack_due_on,
        Report.acknowledged_on,
        Report.feedback_due_on,
        Report.feedback_given_on,
    )
    if year is not None:
        statement = statement.where(
            Report.submitted_on >= date(year, 1, 1), Report.submitted_on <= date(year, 12, 31)
        )
    rows = session.exec(statement).all()
    by_channel: dict[int, list[Any]] = defaultdict(list)
    by_intake: dict[str, int] = defaultdict(int)
    for row in rows:
        by_channel[row.channel_id].append(row)
        by_intake[row.received_via] += 1
    channels = [
        _figures(localized(c, "name"), by_channel[c.id], threshold)
        for c in reporting.all_channels(session)
        if by_channel.get(c.id)
    ]
    first, last = session.exec(
        select(func.min(Report.submitted_on), func.max(Report.submitted_on))
    ).one()
    years = list(range(last.year, first.year - 1, -1)) if first and last else []
    return Evaluation(
        year=year,
        threshold=threshold,
        channels=channels,
        total=_figures(_("All channels"), list(rows), threshold),
        intake=[
            (_(INTAKE_CHANNEL_LABELS[v]), _suppress(by_intake.get(v.value, 0), threshold))
            for v in IntakeChannel
        ],
        years=years,
    )


def evaluation_table(result: Evaluation) -> list[list[Any]]:
    """Return the evaluation as rows (header first); suppressed cells read "< threshold"."""
    hidden = f"< {result.threshold}"

    def cell(value: Any) -> Any:
        if value is None:
            return hidden
        if isinstance(value, float):
            return round(value, 3)
        return value

    header = [
        _("Channel"),
        _("Received"),
        _("Still open"),
        _("Closed"),
        *(_(REPORT_OUTCOME_LABELS[o]) for o in ReportOutcome),
        _("Median days to acknowledgement"),
        _("Median days to feedback"),
        _("Acknowledged on time (share)"),
        _("Feedback on time (share)"),
    ]
    table = [header]
    for figures in [*result.channels, result.total]:
        table.append(
            [
                figures.label,
                cell(figures.received),
                cell(figures.open),
                cell(figures.closed),
                *(cell(figures.outcomes[o.value]) for o in ReportOutcome),
                cell(figures.median_days_to_ack),
                cell(figures.median_days_to_feedback),
                cell(figures.ack_on_time),
                cell(figures.feedback_on_time),
            ]
        )
    table.append([])
    table.append([_("How the report was received"), _("Received")])
    for label, count in result.intake:
        table.append([label, cell(count)])
    return table


def evaluation_csv(result: Evaluation) -> bytes:
    """Return the evaluation as UTF-8 CSV (with a byte-order mark, for spreadsheet programs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([csv_cell(v) for v in row] for row in evaluation_table(result))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def evaluation_xlsx(result: Evaluation) -> bytes:
    """Return the evaluation as an Excel workbook."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = str(result.year or _("All years"))[:31]
    for row in evaluation_table(result):
        sheet.append([xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- retention --------------------------------------------------------------------------------

# Months a closed case is kept, by outcome (from its closing day). Chosen to outlast the time
# in which the findings can still be challenged or acted on; set MERITO_CASE_RETENTION_MONTHS
# (JSON, e.g. {"substantiated": 120}) to follow the institute's records schedule.
DEFAULT_RETENTION_MONTHS: dict[str, int] = {
    ReportOutcome.substantiated.value: 60,
    ReportOutcome.partly_substantiated.value: 60,
    ReportOutcome.unsubstantiated.value: 24,
    ReportOutcome.referred.value: 36,
    ReportOutcome.outside_scope.value: 12,
    ReportOutcome.bad_faith.value: 36,
}


def retention_months(settings: Settings) -> dict[str, int]:
    """Return the retention period of each outcome, in months (settings override defaults)."""
    merged = dict(DEFAULT_RETENTION_MONTHS)
    for outcome, months in settings.case_retention_months.items():
        if outcome in merged and months >= 1:
            merged[outcome] = int(months)
    return merged


CHUNK = 2000  # ids per statement: well under every backend's limit on bound parameters


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


def delete_cases(session: Session, *, report_ids: Sequence[int], reason: str) -> list[str]:
    """Delete cases with everything sealed in them and every key to them; keep the audit trail
    (one entry per case says what was deleted and why). Return the stored files to remove
    once the transaction has committed."""
    files: list[str] = []
    entries = []
    for chunk in _chunks(report_ids):
        rows = session.exec(
            select(Report.id, Report.reference, Report.status, Report.outcome, Report.closed_on)
            .where(col(Report.id).in_(chunk))
            .order_by(col(Report.id))
        ).all()
        counts: dict[str, dict[int, int]] = {}
        for name, model in (
            ("items", ReportItem),
            ("keys", ReportKeyWrap),
            ("files", ReportAttachment),
        ):
            counts[name] = dict(
                session.exec(
                    select(model.report_id, func.count())
                    .where(col(model.report_id).in_(chunk))
                    .group_by(model.report_id)
                ).all()
            )
        files += session.exec(
            select(ReportAttachment.uid).where(col(ReportAttachment.report_id).in_(chunk))
        ).all()
        # Child tables first, explicitly, so both backends behave the same whatever their
        # cascades; plain DELETEs (no ORM bookkeeping), since nothing here is loaded.
        for model in (
            Notification,
            CaseReminder,
            ReportTag,
            ReportConflict,
            ReporterSession,
            IdentityRequest,
            ReportAttachment,
            ReportItem,
            ReportKeyWrap,
        ):
            session.execute(
                delete(model)
                .where(col(model.report_id).in_(chunk))
                .execution_options(synchronize_session=False)
            )
        session.execute(
            delete(ReportLink)
            .where(
                col(ReportLink.report_id).in_(chunk) | col(ReportLink.linked_report_id).in_(chunk)
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Report)
            .where(col(Report.id).in_(chunk))
            .execution_options(synchronize_session=False)
        )
        for report_id, reference, status, outcome, closed_on in rows:
            entries.append(
                {
                    "action": "report.deleted",
                    "actor": "system",
                    "entity_type": "report",
                    "entity_id": reference,
                    "before": {
                        "status": status,
                        "outcome": outcome,
                        "closed_on": closed_on,
                        **{name: counts[name].get(report_id, 0) for name in counts},
                    },
                    "after": {"reason": reason},
                }
            )
    audit.record_many(session, entries)
    return files


@dataclass
class RetentionRun:
    deleted: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    access_ended: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.deleted)} cases deleted ({len(self.files)} files), reporter access "
            f"ended on {len(self.access_ended)}"
        )


# At most this many cases are deleted, and this many reporters' access ended, per run: a
# backlog (retention switched on over years of cases) is worked off over a few hourly runs in
# short transactions, instead of one long one that would hold SQLite's write lock.
RETENTION_BATCH = 2000
ACCESS_BATCH = 5000


def apply_retention(session: Session, settings: Settings, *, today: date) -> RetentionRun:
    """Delete closed cases past their retention period (files and keys with them) and end the
    reporter's access to closed cases left untouched for `reporter_access_months`, oldest
    first, at most RETENTION_BATCH and ACCESS_BATCH per run. Audited. The caller commits, then
    removes `files` from the store (`remove_files`)."""
    run = RetentionRun()
    expired: list[tuple[date, int, str]] = []
    for outcome, months in retention_months(settings).items():
        # A generous cut in SQL, the exact calendar rule in Python (month ends clamp).
        rough = today - timedelta(days=28 * months)
        for report_id, reference, closed_on in session.exec(
            select(Report.id, Report.reference, Report.closed_on).where(
                Report.status == ReportStatus.closed.value,
                Report.outcome == outcome,
                col(Report.closed_on) <= rough,
            )
        ).all():
            if deadlines.add_months(closed_on, months) <= today:
                expired.append((closed_on, report_id, reference))
    expired = [(i, r) for _d, i, r in sorted(expired)[:RETENTION_BATCH]]
    if expired:
        run.files = delete_cases(session, report_ids=[i for i, _r in expired], reason="retention")
        run.deleted = [reference for _i, reference in expired]
    gone = {i for i, _r in expired}
    months = settings.reporter_access_months
    rough = today - timedelta(days=28 * months)
    ended: list[tuple[int, str, date]] = []
    for report_id, reference, closed_on, active_on in session.exec(
        select(
            Report.id, Report.reference, Report.closed_on, Report.last_reporter_activity_on
        ).where(
            Report.status == ReportStatus.closed.value,
            col(Report.reporter_access_ended_on).is_(None),
            col(Report.closed_on) <= rough,
        )
    ).all():
        last = max(d for d in (closed_on, active_on) if d)
        if deadlines.add_months(last, months) <= today and report_id not in gone:
            ended.append((report_id, reference, last))
    ended = sorted(ended, key=lambda e: (e[2], e[0]))[:ACCESS_BATCH]
    for chunk in _chunks([i for i, _r, _l in ended]):
        # The reporter's wraps are the only way the receipt opens the report: delete them.
        session.execute(
            update(Report)
            .where(col(Report.id).in_(chunk))
            .values(reporter_wrap=b"", reporter_identity_wrap=None, reporter_access_ended_on=today)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(ReporterSession)
            .where(col(ReporterSession.report_id).in_(chunk))
            .execution_options(synchronize_session=False)
        )
    audit.record_many(
        session,
        [
            {
                "action": "report.reporter_access_ended",
                "actor": "system",
                "entity_type": "report",
                "entity_id": reference,
                "after": {"last_activity_on": last, "months": months},
            }
            for _i, reference, last in ended
        ],
    )
    run.access_ended = [reference for _i, reference, _l in ended]
    # The bulk statements went around the session's identity map: what it had loaded is stale.
    session.expire_all()
    return run


def remove_files(settings: Settings, uids: Sequence[str]) -> None:
    """Remove deleted cases' encrypted files from the store (after the commit)."""
    for uid in uids:
        attachments.remove(settings.attachments_dir, uid)


@jobs.register("case_retention", every=timedelta(hours=1))
def case_retention_job(session: Session, settings: Settings) -> str:
    """Apply the retention rules of cases and complaints (see apply_retention)."""
    from whistleblowing import retaliation

    today = reporting.local_today(settings)
    run = apply_retention(session, settings, today=today)
    complaints = retaliation.apply_retention(session, settings, today=today)
    session.commit()
    # Only now that the rows are gone for good: a failed commit must not lose the files.
    remove_files(settings, run.files)
    retaliation.remove_files(settings, complaints.files)
    return f"{run.summary()}; {complaints.summary()}"


def set_channel_roles(
    session: Session,
    *,
    actor: User,
    channel: ReportChannel,
    lead_user_id: int | None,
    deputy_user_id: int | None,
) -> None:
    """Name the channel's lead (overdue cases escalate to them) and deputy (takes cases over);
    both must be investigators, and different people. Audited."""
    allowed = {u.id for u in reporting.investigators(session)}
    for user_id, name in ((lead_user_id, "lead"), (deputy_user_id, "deputy")):
        if user_id is not None and user_id not in allowed:
            raise ReportingError(_("Choose an investigator."), field=name)
    if lead_user_id is not None and lead_user_id == deputy_user_id:
        raise ReportingError(_("The lead and the deputy must be different people."), field="deputy")
    before = {"lead": channel.lead_user_id, "deputy": channel.deputy_user_id}
    channel.lead_user_id, channel.deputy_user_id = lead_user_id, deputy_user_id
    after = {"lead": channel.lead_user_id, "deputy": channel.deputy_user_id}
    if before != after:
        session.add(channel)
        audit.record(
            session,
            action="reporting.channel_roles_changed",
            actor=actor,
            entity_type="report_channel",
            entity_id=channel.id,
            before=before,
            after=after,
        )
