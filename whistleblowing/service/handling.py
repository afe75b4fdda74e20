"""Who handles a case: assignment, handover to the channel's deputy, conflicts of interest,
absences, declared interests, links and tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete
from sqlmodel import Session, col, select

from backend import audit
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.i18n import _
from backend.org import service as org_service
from backend.org.models import Unit
from backend.web import format_date
from whistleblowing.models import (
    CaseTag,
    DeclaredInterest,
    HolderKey,
    InvestigatorAbsence,
    KeyKind,
    NotificationKind,
    Report,
    ReportChannel,
    ReportConflict,
    ReportKeyWrap,
    ReportLink,
    ReportStatus,
    ReportTag,
)
from whistleblowing.service.channels import _channel, channel_people, channel_recipients
from whistleblowing.service.common import CaseAccess, ReportingError
from whistleblowing.service.inbox import (
    _held_by,
    _wrap_of,
    barred_from_case,
    grant_access,
    holder_ids,
    open_case,
    refuse_if_barred,
)
from whistleblowing.service.interests import interest_forms
from whistleblowing.service.lifecycle import MIN_REASON, _refuse_if_closed, _seal_decision, notify


def _is_investigator(session: Session, user: User | None) -> bool:
    return (
        user is not None
        and user.is_active
        and Role.investigator in auth_service.roles_of(session, user)
    )


def _hand_to(
    session: Session,
    report: Report,
    *,
    user_id: int,
    kind: NotificationKind | None,
    dedupe: str,
    today: date,
) -> None:
    """Make `user_id` the case's handler, telling them (`kind`) unless it is None."""
    report.assignee_id = user_id
    session.add(report)
    if kind is not None:
        notify(session, user_id=user_id, kind=kind, report_id=report.id, dedupe=dedupe, today=today)


def _audit_handler(
    session: Session, report: Report, *, action: str, actor: User, before: dict, **after: object
) -> None:
    """Audit a change of the case's handler (`before`: the handler it had)."""
    audit.record(
        session,
        action=action,
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before=before,
        after={"assignee_id": report.assignee_id, **after},
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
    refuse_if_barred(barred_from_case(session, access, people=[assignee]), assignee)
    if report.assignee_id == assignee.id:
        raise ReportingError(
            _("%(name)s already handles this case.", name=assignee.full_name), status_code=409
        )
    before = {"assignee_id": report.assignee_id}
    _hand_to(
        session,
        report,
        user_id=assignee.id,
        kind=NotificationKind.assigned if assignee.id != actor.id else None,
        dedupe=f"assigned:{report.id}:{today.isoformat()}",
        today=today,
    )
    _audit_handler(session, report, action="report.assigned", actor=actor, before=before)


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
    barred = barred_from_case(session, access).everyone
    ordered: list[int] = [
        uid for uid in (channel.deputy_user_id, channel.lead_user_id) if uid is not None
    ]
    ordered += [u.id for u in channel_recipients(session, channel.id)]
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
        grant_access(session, access=access, actor=actor, grantee=to_user)
    else:
        refuse_if_barred(barred_from_case(session, access, people=[to_user]), to_user)
    item = _seal_decision(session, access=access, actor=actor, text=reason, today=today)
    before = {"assignee_id": report.assignee_id}
    _hand_to(
        session,
        report,
        user_id=to_user.id,
        kind=NotificationKind.handover,
        dedupe=f"handover:{report.id}:{item.uid}",
        today=today,
    )
    _audit_handler(
        session,
        report,
        action="report.handed_over",
        actor=actor,
        before=before,
        reason_item=item.uid,
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
        grant_access(session, access=access, actor=actor, grantee=candidates[0])
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
        _hand_to(
            session,
            report,
            user_id=(
                channel.deputy_user_id if channel.deputy_user_id in others else sorted(others)[0]
            ),
            kind=NotificationKind.handover,
            dedupe=f"handover:{report.id}:{item.uid}",
            today=today,
        )
    session.add(report)
    _audit_handler(
        session,
        report,
        action="report.conflict_declared",
        actor=actor,
        before=before,
        reason_item=item.uid,
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
        access = open_case(
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
        key = frozenset(interest_forms(term))
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
        words = [w for form in interest_forms(term) for w in form]
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
        for person in channel_people(session, channel):
            if person.id != user.id:
                people[person.id] = person
    return sorted(people.values(), key=lambda u: u.full_name)


# --- links and tags ---------------------------------------------------------------------------


def _report_named(session: Session, reference: str) -> Report | None:
    return session.exec(select(Report).where(Report.reference == reference.strip().upper())).first()


def _audit_link(
    session: Session, report: Report, other: Report, *, action: str, actor: User, side: str
) -> None:
    """Audit a link made or removed on both cases (`side`: "after" or "before")."""
    for first, second in ((report, other), (other, report)):
        audit.record(
            session,
            action=action,
            actor=actor,
            entity_type="report",
            entity_id=first.reference,
            **{side: {"linked": second.reference}},
        )


def link_cases(
    session: Session, *, access: CaseAccess, actor: User, other_reference: str, today: date
) -> Report:
    """Link the case to another one the actor also holds; audited. Return the other."""
    report = access.report
    other = _report_named(session, other_reference)
    # One answer for "does not exist" and "not yours": a reference must not be probed.
    if other is None or _wrap_of(session, other, user_id=actor.id, key_kind=KeyKind.report) is None:
        raise ReportingError(_("You hold no report with this reference."), field="link")
    if other.id == report.id:
        raise ReportingError(_("A case cannot be linked to itself."), field="link")
    low, high = sorted((report.id, other.id))
    if session.get(ReportLink, (low, high)) is not None:
        raise ReportingError(_("The two cases are already linked."), status_code=409, field="link")
    session.add(
        ReportLink(report_id=low, linked_report_id=high, linked_by_id=actor.id, linked_on=today)
    )
    _audit_link(session, report, other, action="report.linked", actor=actor, side="after")
    return other


def unlink_cases(
    session: Session, *, access: CaseAccess, actor: User, other_reference: str
) -> None:
    report = access.report
    other = _report_named(session, other_reference)
    link = None
    if other is not None:
        link = session.get(ReportLink, tuple(sorted((report.id, other.id))))
    if link is None:
        raise ReportingError(_("The two cases are not linked."), status_code=404)
    session.delete(link)
    _audit_link(session, report, other, action="report.unlinked", actor=actor, side="before")


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
            .where(col(Report.id).in_(ids), _held_by(user.id))
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
