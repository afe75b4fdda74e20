"""The investigators' side: the inbox, opening a case, who holds it, granting and revoking
access, and the dashboard's counts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Date, Row, Select, bindparam, case, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.i18n import _
from whistleblowing import deadlines
from whistleblowing.models import (
    CaseTag,
    HolderKey,
    HolderKind,
    ItemKind,
    KeyKind,
    Report,
    ReportChannel,
    ReportConflict,
    ReportItem,
    ReportKeyWrap,
    ReportPriorityOverride,
    ReportStatus,
    ReportTag,
)
from whistleblowing.service.channels import holder_keys, investigators
from whistleblowing.service.common import (
    CaseAccess,
    ReportingError,
    TamperedCase,
    _aad,
    organisation_today,
)
from whistleblowing.service.interests import interests_touched, named_in
from whistleblowing.service.items import _open_item
from whistleblowing.service.sealing import _add_wrap
from whistleblowing.service.triage import Priority, priorities_for, priority_order

# --- the investigators' side ------------------------------------------------------------------


@dataclass
class InboxRow:
    report: Report
    channel: ReportChannel
    ack_overdue: bool
    feedback_overdue: bool
    assignee: User | None = None
    tags: list[CaseTag] = field(default_factory=list)
    priority: Priority | None = None


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows: status ("open", "all" or one status), whose cases ("mine",
    "unassigned" or anyone's), one tag, and deadlines ("overdue" or "soon"); `sort`:
    "priority" (highest first, whistleblowing.service.triage) or newest first."""

    status: str = "open"
    assigned: str = ""
    tag_id: int | None = None
    due: str = ""
    sort: str = ""


OPEN_STATUSES = [s.value for s in ReportStatus if s is not ReportStatus.closed]


def is_open():
    """Return the clause: the report is not closed (as an IN list, which an index can serve)."""
    return col(Report.status).in_(OPEN_STATUSES)


def _held_by(user_id):
    """Return the clause: reports `user_id` (an id or a bind parameter) holds the report key of.

    A correlated EXISTS rather than IN (subquery): the database starts from the reports the
    rest of the query narrows down (open ones, a page) and checks the wrap by its unique index,
    instead of walking every wrap a long-serving investigator holds.
    """
    return (
        select(ReportKeyWrap.id)
        .where(
            ReportKeyWrap.report_id == Report.id,
            ReportKeyWrap.key_kind == KeyKind.report.value,
            ReportKeyWrap.user_id == user_id,
        )
        .exists()
    )


def _open_deadline_clauses(today, soon):
    """Return (ack overdue, feedback overdue, ack due by `soon`, feedback due by `soon`);
    `today` and `soon` are days or bind parameters."""
    is_open_ = is_open()
    no_ack = col(Report.acknowledged_on).is_(None)
    no_feedback = col(Report.feedback_given_on).is_(None)
    return (
        is_open_ & no_ack & (col(Report.ack_due_on) < today),
        is_open_ & no_feedback & (col(Report.feedback_due_on) < today),
        is_open_ & no_ack & (col(Report.ack_due_on) <= soon),
        is_open_ & no_feedback & (col(Report.feedback_due_on) <= soon),
    )


@functools.cache
def _inbox_statements(
    status: str, assigned: str, tagged: bool, due: str, by_priority: bool, paged: bool
) -> tuple[Select, Select]:
    """Return the inbox's (count, page) statements for one shape of filter (`status`: "open",
    "one" or "all"), built once with the user, the status, the tag, the days and the page as
    bind parameters: SQLAlchemy then reuses their cache key instead of building them on every
    request. Sorted by priority, the page is left unordered and unpaged (`priority_order`
    needs the day itself)."""
    today, soon = bindparam("today", type_=Date), bindparam("soon", type_=Date)
    ack_late, feedback_late, ack_soon, feedback_soon = _open_deadline_clauses(today, soon)
    conditions = [_held_by(bindparam("user_id"))]
    if status == "open":
        conditions.append(is_open())
    elif status == "one":
        conditions.append(Report.status == bindparam("status"))
    if assigned == "mine":
        conditions.append(Report.assignee_id == bindparam("user_id"))
    elif assigned == "unassigned":
        conditions.append(col(Report.assignee_id).is_(None))
    if tagged:
        conditions.append(
            col(Report.id).in_(
                select(ReportTag.report_id).where(ReportTag.tag_id == bindparam("tag_id"))
            )
        )
    if due == "overdue":
        conditions.append(ack_late | feedback_late)
    elif due == "soon":
        conditions.append(ack_soon | feedback_soon)
    count = select(func.count()).select_from(Report).where(*conditions)
    statement = (
        select(Report, ReportChannel)
        .join(ReportChannel, col(ReportChannel.id) == Report.channel_id)
        .where(*conditions)
    )
    if by_priority:
        return count, statement
    statement = statement.order_by(col(Report.submitted_on).desc(), col(Report.id).desc())
    if paged:
        statement = statement.offset(bindparam("offset")).limit(bindparam("limit"))
    return count, statement


def inbox_page(
    session: Session,
    *,
    user: User,
    filters: InboxFilter = InboxFilter(),
    today: date,
    page: int = 1,
    per_page: int | None = 50,
) -> tuple[list[InboxRow], int]:
    """Return one page of the reports `user` holds a key to (plain metadata only) and the
    number of matching reports. `per_page=None` returns them all."""
    if filters.status == "open":
        status = "open"
    else:
        status = "one" if filters.status in ReportStatus.__members__ else "all"
    by_priority = filters.sort == "priority"
    # Any other value filters nothing, as one shape: the statements cached stay few.
    count, statement = _inbox_statements(
        status,
        filters.assigned if filters.assigned in ("mine", "unassigned") else "",
        filters.tag_id is not None,
        filters.due if filters.due in ("overdue", "soon") else "",
        by_priority,
        per_page is not None,
    )
    offset = (max(1, page) - 1) * (per_page or 0)
    params = {
        "user_id": user.id,
        "status": filters.status,
        "tag_id": filters.tag_id,
        "today": today,
        "soon": today + timedelta(days=deadlines.DUE_SOON_DAYS),
        "offset": offset,
        "limit": per_page,
    }
    total = session.exec(count, params=params).one()
    if by_priority:
        statement = statement.outerjoin(
            ReportPriorityOverride, col(ReportPriorityOverride.report_id) == Report.id
        ).order_by(*priority_order(today))
        if per_page is not None:
            statement = statement.offset(offset).limit(per_page)
    found = session.exec(statement, params=params).all()
    ids = [report.id for report, _channel in found]
    tags: dict[int, list[CaseTag]] = {}
    if ids:
        for report_id, tag in session.exec(
            select(ReportTag.report_id, CaseTag)
            .join(CaseTag, col(CaseTag.id) == ReportTag.tag_id)
            .where(col(ReportTag.report_id).in_(ids))
            .order_by(col(CaseTag.code))
        ).all():
            tags.setdefault(report_id, []).append(tag)
    assignee_ids = {r.assignee_id for r, _c in found if r.assignee_id is not None}
    assignees = (
        {u.id: u for u in session.exec(select(User).where(col(User.id).in_(assignee_ids)))}
        if assignee_ids
        else {}
    )
    priorities = priorities_for(session, found, today=today)
    rows = []
    for report, channel in found:
        still_open = report.status != ReportStatus.closed
        rows.append(
            InboxRow(
                report,
                channel,
                ack_overdue=still_open
                and report.acknowledged_on is None
                and report.ack_due_on < today,
                feedback_overdue=still_open
                and report.feedback_given_on is None
                and report.feedback_due_on < today,
                assignee=assignees.get(report.assignee_id),
                tags=tags.get(report.id, []),
                priority=priorities[report.id],
            )
        )
    return rows, total


def inbox(
    session: Session, *, user: User, status: str = "open", today: date | None = None
) -> list[InboxRow]:
    """Return every report `user` holds a key to, with plain metadata only."""
    rows, _total = inbox_page(
        session,
        user=user,
        filters=InboxFilter(status=status),
        today=today or organisation_today(session),
        per_page=None,
    )
    return rows


def report_by_reference(session: Session, reference: str) -> Report:
    report = session.exec(select(Report).where(Report.reference == reference.upper())).first()
    if report is None:
        raise ReportingError(_("This report does not exist."), status_code=404)
    return report


def _wrap_of(
    session: Session, report: Report, *, user_id: int | None, key_kind: KeyKind
) -> ReportKeyWrap | None:
    statement = select(ReportKeyWrap).where(
        ReportKeyWrap.report_id == report.id, ReportKeyWrap.key_kind == key_kind.value
    )
    if user_id is None:
        statement = statement.where(ReportKeyWrap.holder_kind == HolderKind.recovery.value)
    else:
        statement = statement.where(ReportKeyWrap.user_id == user_id)
    return session.exec(statement).first()


def _unwrap(report: Report, wrap: ReportKeyWrap, private: bytes) -> bytes:
    holder = f"user:{wrap.user_id}" if wrap.user_id is not None else HolderKind.recovery.value
    try:
        return crypto.unwrap_key(
            private, wrap.wrapped, aad=_aad("wrap", report.reference, wrap.key_kind, holder)
        )
    except crypto.DecryptionError:
        raise TamperedCase from None


def open_case(
    session: Session, *, user: User, holder_private: bytes, reference: str, audit_read: bool = True
) -> CaseAccess:
    """Return the case for a holder, decrypting its keys; every opening is audited.

    One answer, 404, for an unknown reference and for a case the user does not hold (never
    given, excluded by the reporter, handed over, withdrawn): a reference must not be probed.
    """
    report = session.exec(select(Report).where(Report.reference == reference.upper())).first()
    wrap = (
        _wrap_of(session, report, user_id=user.id, key_kind=KeyKind.report)
        if report is not None
        else None
    )
    if report is None or wrap is None:
        raise ReportingError(_("You hold no report with this reference."), status_code=404)
    private = _unwrap(report, wrap, holder_private)
    identity_wrap = _wrap_of(session, report, user_id=user.id, key_kind=KeyKind.identity)
    identity = _unwrap(report, identity_wrap, holder_private) if identity_wrap else None
    if audit_read:
        audit.record(
            session,
            action="report.read",
            actor=user,
            entity_type="report",
            entity_id=report.reference,
        )
    return CaseAccess(report, private, identity)


def holders(session: Session, report: Report) -> list[tuple[ReportKeyWrap, User | None]]:
    """Return who holds the report's key (users and the recovery identity)."""
    rows = session.exec(
        select(ReportKeyWrap, User)
        .join(User, col(User.id) == ReportKeyWrap.user_id, isouter=True)
        .where(ReportKeyWrap.report_id == report.id, ReportKeyWrap.key_kind == KeyKind.report.value)
        .order_by(col(ReportKeyWrap.granted_on), col(User.full_name), col(ReportKeyWrap.id))
    ).all()
    return list(rows)


def grant_candidates(
    session: Session, report: Report, *, barred: set[int] = frozenset()
) -> list[User]:
    """Return investigators who could be given the report (have a key pair, no access yet,
    not `barred`: see `barred_from_case`)."""
    current = {w.user_id for w, _u in holders(session, report) if w.user_id is not None}
    people = [u for u in investigators(session) if u.id not in current | set(barred)]
    keys = holder_keys(session, [u.id for u in people])
    return [u for u in people if u.id in keys]


@dataclass(frozen=True)
class Barred:
    """Who may never hold a report, and why (read from the sealed submission and conflicts)."""

    excluded: frozenset[int]  # the reporter asked that they not receive it
    named: frozenset[int]  # the report names them
    conflicted: frozenset[int]  # they declared a conflict of interest in this case
    interested: frozenset[int] = frozenset()  # the report touches their declared interests

    @property
    def everyone(self) -> set[int]:
        return set(self.excluded | self.named | self.conflicted | self.interested)


def barred_from_case(
    session: Session, access: CaseAccess, *, people: Iterable[User] | None = None
) -> Barred:
    """Return the people who may not hold this report; needs the report key (sealed lists).

    Names and declared interests are those matched at submission (sealed in the report, for
    the channel's own people then) and, matched again now against the decrypted text, those of
    `people` (by default every active investigator): a report that names an investigator of
    another channel, or touches an interest declared after it came in, still keeps them out.
    Both checks use the submission's rules (`names_person`, `interests_touched`).
    """
    item = session.exec(
        select(ReportItem).where(
            ReportItem.report_id == access.report.id,
            ReportItem.kind == ItemKind.submission.value,
        )
    ).first()
    content = (_open_item(access, item) if item is not None else None) or {}
    conflicted = session.exec(
        select(ReportConflict.user_id).where(ReportConflict.report_id == access.report.id)
    ).all()
    texts = [str(content.get(k, "")) for k in ("what", "when", "where", "who", "how_known")]
    named = set(content.get("named_user_ids", []))
    interested = set(content.get("interest_user_ids", []))
    if any(texts):
        people = list(investigators(session) if people is None else people)
        named |= named_in(texts, people)
        interested |= set(interests_touched(session, texts, people))
    return Barred(
        frozenset(content.get("excluded_user_ids", [])),
        frozenset(named),
        frozenset(conflicted),
        frozenset(interested),
    )


def refuse_if_barred(barred: Barred, user: User) -> None:
    """Raise ReportingError (409) if `user` may not hold the report. The message is for the
    colleague who tried; the barred person is never told anything."""
    if user.id in barred.excluded:
        raise ReportingError(
            _("The reporter asked that this person not receive the report."), status_code=409
        )
    if user.id in barred.named:
        raise ReportingError(
            _("The report names this person: they cannot receive it."), status_code=409
        )
    if user.id in barred.conflicted:
        raise ReportingError(
            _("This person declared a conflict of interest in this case."), status_code=409
        )
    if user.id in barred.interested:
        raise ReportingError(
            _("The report touches an interest this person declared: they cannot receive it."),
            status_code=409,
        )


def grant_access(session: Session, *, access: CaseAccess, actor: User, grantee: User) -> None:
    """Re-wrap the report key for another investigator (audited); the caller commits.

    Refused for people the reporter excluded, people the report names, people who declared a
    conflict in the case or an interest the report touches (names and interests matched again
    on the decrypted text: `barred_from_case`), people without the investigator role or a key
    pair, and people who already have access.
    """
    report = access.report
    if Role.investigator not in auth_service.roles_of(session, grantee) or not grantee.is_active:
        raise ReportingError(_("Only active investigators can be given a report."))
    refuse_if_barred(barred_from_case(session, access, people=[grantee]), grantee)
    key = session.get(HolderKey, grantee.id)
    if key is None:
        raise ReportingError(
            _(
                "%(name)s must sign in once before reports can be shared with them.",
                name=grantee.full_name,
            )
        )
    if _wrap_of(session, report, user_id=grantee.id, key_kind=KeyKind.report) is not None:
        raise ReportingError(
            _("%(name)s already has access.", name=grantee.full_name), status_code=409
        )
    _add_wrap(
        session,
        report,
        key_kind=KeyKind.report,
        private=access.private_key,
        user_id=grantee.id,
        public_key=key.public_key,
        granted_by=actor,
    )
    audit.record(
        session,
        action="report.access_granted",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"user_id": grantee.id, "email": grantee.email},
    )


def revoke_access(session: Session, *, report: Report, actor: User, user_id: int) -> None:
    """Delete a holder's wraps of the report (audited). The last person cannot be removed."""
    wrap = _wrap_of(session, report, user_id=user_id, key_kind=KeyKind.report)
    if wrap is None:
        raise ReportingError(_("This person has no access to the report."), status_code=404)
    people = [w for w, _u in holders(session, report) if w.user_id is not None]
    if len(people) <= 1:
        raise ReportingError(
            _("The last investigator of a report cannot be removed: give it to someone first."),
            status_code=409,
        )
    session.exec(
        delete(ReportKeyWrap).where(
            ReportKeyWrap.report_id == report.id, ReportKeyWrap.user_id == user_id
        )
    )
    if report.assignee_id == user_id:
        report.assignee_id = None
        session.add(report)
    subject = session.get(User, user_id)
    audit.record(
        session,
        action="report.access_revoked",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"user_id": user_id, "email": subject.email if subject else ""},
    )


# --- dashboard --------------------------------------------------------------------------------


@dataclass
class InboxCounts:
    open: int
    new: int
    awaiting_reply: int
    ack_overdue: int
    feedback_due_soon: int
    feedback_overdue: int
    due: list[Row]  # reference, acknowledged_on, ack_due_on, feedback_due_on


def _inbox_counts_statements():
    """Return the dashboard's two statements (the counts, the nearest deadlines), built once
    with the user and the days as bind parameters: SQLAlchemy then reuses their cache key
    instead of building both on every dashboard."""
    today, soon = bindparam("today", type_=Date), bindparam("soon", type_=Date)
    ack_late, feedback_late, ack_soon, feedback_soon = _open_deadline_clauses(today, soon)
    held_open = (is_open(), _held_by(bindparam("user_id")))
    counts = select(
        func.count(),
        func.count().filter(Report.status == ReportStatus.received.value),
        func.count().filter(col(Report.awaiting_staff).is_(True)),
        func.count().filter(ack_late),
        func.count().filter(feedback_soon & (col(Report.feedback_due_on) >= today)),
        func.count().filter(feedback_late),
    ).where(*held_open)
    next_due = case(
        (col(Report.acknowledged_on).is_(None), col(Report.ack_due_on)),
        else_=col(Report.feedback_due_on),
    )
    # Only what the panel shows, as plain rows: no ORM entities to load.
    due = (
        sa_select(
            Report.__table__.c.reference,
            Report.__table__.c.acknowledged_on,
            Report.__table__.c.ack_due_on,
            Report.__table__.c.feedback_due_on,
        )
        .where(*held_open, ack_soon | feedback_soon)
        .order_by(next_due, col(Report.id))
        .limit(8)
    )
    return counts, due


_COUNTS, _DUE = _inbox_counts_statements()


def inbox_counts(session: Session, *, user: User, today: date) -> InboxCounts:
    """Return counts of the user's open reports and the deadlines due within two weeks.

    `today` is the organisation's day (`clock.today(settings)`), the day the inbox and the SLA
    board count in: counted in UTC, a report due today was "overdue" from 18:00 in Mexico City.

    Counted by the database in one query, and the nearest deadlines in a second one: it
    stays fast with tens of thousands of cases.
    """
    params = {
        "user_id": user.id,
        "today": today,
        "soon": today + timedelta(days=deadlines.DUE_SOON_DAYS),
    }
    counts = session.execute(_COUNTS, params).one()
    due = session.execute(_DUE, params).all()
    return InboxCounts(*(int(n or 0) for n in counts), due=list(due))


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
