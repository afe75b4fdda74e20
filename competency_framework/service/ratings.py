"""The rating log: self-assessment, validation, ratings recorded and imported."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, crypto, revisions
from backend.auth import Actor
from backend.auth.models import User
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus
from backend.tables import ImportProblem, ImportRejected, read_sheet
from competency_framework import events
from competency_framework.models import (
    AssessmentCampaign,
    CampaignParticipant,
    Competency,
    CurrentRating,
    RatingEntry,
    RatingSource,
)
from competency_framework.service.framework import (
    _TOUCHED,
    CompetencyError,
    _bump,
    _check_note,
    _competencies_by_code,
    check_evidence_url,
    list_competencies,
    parse_level,
    sees_gap_details,
)

# --- the rating log -------------------------------------------------------------------------------


def _open_campaign_id(session: Session, employee_id: int) -> int | None:
    return session.exec(
        select(AssessmentCampaign.id)
        .join(
            CampaignParticipant,
            col(CampaignParticipant.campaign_id) == AssessmentCampaign.id,
        )
        .where(
            CampaignParticipant.employee_id == employee_id,
            col(AssessmentCampaign.closed_at).is_(None),
        )
        .order_by(col(AssessmentCampaign.opened_at).desc())
    ).first()


def _append(
    session: Session,
    *,
    employee_id: int,
    competency_id: int,
    level: int,
    source: str,
    validated: bool,
    by: User | None,
    note: str = "",
    evidence_url: str = "",
    review_of_id: int | None = None,
    campaign_id: int | None = None,
) -> RatingEntry:
    entry = RatingEntry(
        employee_id=employee_id,
        competency_id=competency_id,
        level=level,
        source=source,
        validated=validated,
        review_of_id=review_of_id,
        campaign_id=campaign_id,
        recorded_by_id=by.id if by is not None else None,
        note=note,
        evidence_url=evidence_url,
    )
    session.add(entry)
    session.flush()
    if validated:
        current = session.get(CurrentRating, (employee_id, competency_id))
        if current is None:
            current = CurrentRating(
                employee_id=employee_id,
                competency_id=competency_id,
                level=level,
                entry_id=entry.id,
                source=source,
                rated_at=entry.recorded_at,
            )
        else:
            current.level, current.entry_id = level, entry.id
            current.source, current.rated_at = source, entry.recorded_at
        session.add(current)
        session.info.setdefault(_TOUCHED, []).append(current)
    return entry


def rating_log(
    session: Session, *, employee_id: int, competency_id: int | None = None
) -> list[RatingEntry]:
    """Return an employee's rating entries, newest first (optionally for one competency)."""
    statement = select(RatingEntry).where(RatingEntry.employee_id == employee_id)
    if competency_id is not None:
        statement = statement.where(RatingEntry.competency_id == competency_id)
    return list(session.exec(statement.order_by(col(RatingEntry.id).desc())))


def current_levels(session: Session, *, employee_id: int) -> dict[int, CurrentRating]:
    """Return {competency_id: current rating} (the newest validated entry of each).

    Read once per transaction (a page and the gap profile it shows both ask; a write drops the
    copy, backend.revisions.per_transaction); the caller gets its own dict.
    """
    return dict(
        revisions.per_transaction(
            session, ("current_levels", employee_id), lambda: _current_levels(session, employee_id)
        )
    )


# Built once, and read as plain rows (the same attribute names: `level`, `source`,
# `rated_at`...): every gap profile asks, and an ORM load costs several times the query.
_CURRENT = sa_select(*CurrentRating.__table__.c).where(
    CurrentRating.__table__.c.employee_id == bindparam("employee_id")
)


def _current_levels(session: Session, employee_id: int) -> dict[int, CurrentRating]:
    rows = session.execute(_CURRENT, {"employee_id": employee_id})  # autoflushes, as ORM reads
    return {r.competency_id: r for r in rows}  # type: ignore[misc]  # rows read as the model


def holders(*, competency_id: int, min_level: int):
    """Return a select of (employee_id, level) of people whose current level is ≥ `min_level`.

    A statement, not rows, so other domains can join it (mentor suggestions).
    """
    table = CurrentRating.__table__
    return (
        sa_select(table.c.employee_id.label("employee_id"), table.c.level.label("level"))
        .where(table.c.competency_id == competency_id, table.c.level >= min_level)
        .subquery()
    )


def levels_at(
    session: Session, *, competency_ids: list[int], moments: list[datetime]
) -> pd.DataFrame:
    """Return each person's validated level of these competencies at each moment.

    Columns: employee_id, competency_id, level_0, level_1, … (one per moment; NaN where the
    person had no validated rating yet). Read from the log, so it answers for past dates.
    """
    columns = ["employee_id", "competency_id", *[f"level_{i}" for i in range(len(moments))]]
    if not competency_ids or not moments:
        return pd.DataFrame(columns=columns)
    entry = RatingEntry.__table__
    rows = (
        session.connection()
        .execute(
            sa_select(
                entry.c.employee_id,
                entry.c.competency_id,
                entry.c.level,
                entry.c.recorded_at,
                entry.c.id,
            ).where(
                entry.c.validated.is_(True),
                entry.c.competency_id.in_(competency_ids),
                entry.c.recorded_at <= max(moments),
            )
        )
        .all()
    )
    log = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["employee_id", "competency_id", "level", "recorded_at", "id"],
    )
    if log.empty:
        return pd.DataFrame(columns=columns)
    log["recorded_at"] = pd.to_datetime(log["recorded_at"], utc=True)
    log = log.sort_values(["recorded_at", "id"])
    result = log[["employee_id", "competency_id"]].drop_duplicates()
    for i, moment in enumerate(moments):
        latest = (
            log[log["recorded_at"] <= pd.Timestamp(moment)]
            .groupby(["employee_id", "competency_id"], sort=False)["level"]
            .last()
            .rename(f"level_{i}")
        )
        result = result.merge(latest, on=["employee_id", "competency_id"], how="left")
    return result.reset_index(drop=True)


# Unvalidated entries that wait for the supervisor: self-assessments, and levels reached in
# training (recorded on completion by competency_framework.training, confirmed like a self-rating).
AWAITING_VALIDATION_SOURCES = (RatingSource.self, RatingSource.training)


def pending_self_entries(session: Session, *, employee_id: int) -> dict[int, RatingEntry]:
    """Return {competency_id: self (or training) entry awaiting validation}.

    Only the newest unvalidated entry of a competency can be pending: rating it again replaces
    the earlier one in the queue (both stay in the log). Read once per transaction, as
    `current_levels`, as plain rows with the model's attributes; the caller gets its own dict.
    """
    return dict(
        revisions.per_transaction(
            session, ("pending_self", employee_id), lambda: _pending(session, employee_id)
        )
    )


def _pending(session: Session, employee_id: int) -> dict[int, RatingEntry]:
    return _pending_of(session, [employee_id]).get(employee_id, {})


_ENTRY = RatingEntry.__table__
_REVIEW = _ENTRY.alias("review")
# Whether a validated entry answers this one (`review_of_id`): its decision is taken.
_REVIEWED = sa_select(_REVIEW.c.id).where(_REVIEW.c.review_of_id == _ENTRY.c.id).exists()

# Built once, read as plain rows with the model's attribute names (and `reviewed`): the
# unvalidated self and training entries of some people, oldest first.
_AWAITING = (
    sa_select(*_ENTRY.c, _REVIEWED.label("reviewed"))
    .where(
        _ENTRY.c.employee_id.in_(bindparam("employee_ids", expanding=True)),
        _ENTRY.c.source.in_(AWAITING_VALIDATION_SOURCES),
        _ENTRY.c.validated.is_(False),
    )
    .order_by(_ENTRY.c.id)
)


def _pending_of(session: Session, employee_ids: list[int]) -> dict[int, dict[int, RatingEntry]]:
    """{employee_id: {competency_id: pending entry}} for several people in one query."""
    latest: dict[int, dict[int, RatingEntry]] = {}
    for entry in session.execute(_AWAITING, {"employee_ids": employee_ids}):
        latest.setdefault(entry.employee_id, {})[entry.competency_id] = entry  # type: ignore[assignment]
    return {
        employee_id: {cid: e for cid, e in entries.items() if not e.reviewed}  # type: ignore[attr-defined]
        for employee_id, entries in latest.items()
    }


@dataclass
class SelfRating:
    """One answer of a self-assessment."""

    level: Any
    note: str = ""
    evidence_url: str = ""


def submit_self_assessment(
    session: Session, *, employee: Employee, ratings: dict[str, SelfRating], actor: Actor
) -> list[RatingEntry]:
    """Record an employee's own ratings (awaiting validation); return the entries written.

    Competencies left blank are skipped; an answer identical to the one already awaiting
    validation is not written twice.
    """
    if actor.user.employee_id != employee.id:
        raise CompetencyError(_("You can only assess your own competencies."), status_code=403)
    by_code = _competencies_by_code(session)
    errors: dict[str, str] = {}
    checked: list[tuple[Competency, int, str, str]] = []
    for code, answer in ratings.items():
        competency = by_code.get(code)
        if competency is None:
            errors[f"level_{code}"] = _("Unknown competency: %(code)s.", code=code)
            continue
        if answer.level is None or (isinstance(answer.level, str) and not answer.level.strip()):
            continue
        try:
            level = parse_level(answer.level, field=f"level_{code}")
            note = _check_note(answer.note, field=f"note_{code}")
            url = check_evidence_url(answer.evidence_url, field=f"evidence_{code}")
        except CompetencyError as err:
            errors[err.field] = str(err)
            continue
        checked.append((competency, level, note, url))
    if not errors and not checked:
        # An empty form is not "nothing changed": the person has not answered yet.
        first = next(iter(ratings), "")
        message = _("Choose your level for at least one competency.")
        raise CompetencyError(message, errors={f"level_{first}": message}, field=f"level_{first}")
    if errors:
        raise CompetencyError(
            _("Some answers are not valid."), errors=errors, field=next(iter(errors))
        )
    pending = pending_self_entries(session, employee_id=employee.id)
    campaign_id = _open_campaign_id(session, employee.id)
    written: list[RatingEntry] = []
    for competency, level, note, url in checked:
        previous = pending.get(competency.id)
        if previous is not None and (previous.level, previous.note, previous.evidence_url) == (
            level,
            note,
            url,
        ):
            continue
        written.append(
            _append(
                session,
                employee_id=employee.id,
                competency_id=competency.id,
                level=level,
                source=RatingSource.self,
                validated=False,
                by=actor.user,
                note=note,
                evidence_url=url,
                campaign_id=campaign_id,
            )
        )
    if written:
        codes = {c.id: c.code for c in by_code.values()}
        audit.record(
            session,
            action="competency.self_assessed",
            actor=actor.user,
            entity_type="employee",
            entity_id=employee.id,
            after={codes[e.competency_id]: e.level for e in written},
        )
    return written


def can_validate(session: Session, *, actor: Actor, employee: Employee) -> bool:
    """True if `actor` may validate `employee`'s ratings: their supervisor, or HR; never oneself."""
    own_employee = actor.user.employee_id
    if own_employee is not None and own_employee == employee.id:
        return False
    if own_employee is not None and employee.supervisor_id == own_employee:
        return True
    return sees_gap_details(actor)


def can_view_person(session: Session, *, actor: Actor, employee: Employee) -> bool:
    """True if `actor` may see this person's ratings and gaps: themselves, supervisor, or HR."""
    own_employee = actor.user.employee_id
    if own_employee is not None and own_employee in (employee.id, employee.supervisor_id):
        return True
    return sees_gap_details(actor)


def _require_viewer(session: Session, *, actor: Actor, employee: Employee) -> None:
    """Raise 404 unless `actor` may see the employee's competencies at all.

    The person's pages answer "not found" to everyone else, so acting on them must too: a 403
    here would confirm what the pages do not.
    """
    if not can_view_person(session, actor=actor, employee=employee):
        raise CompetencyError(_("This employee does not exist."), status_code=404)


@dataclass
class ValidationDecision:
    """A validator's answer to one pending self-assessment entry."""

    entry_id: int
    level: Any
    reason: str = ""


def validate_ratings(
    session: Session, *, employee: Employee, decisions: list[ValidationDecision], actor: Actor
) -> list[RatingEntry]:
    """Record the supervisor's (or HR's) decisions on pending self-assessments.

    Agreeing records the same level; setting another level needs a reason. Each decision is a
    new validated entry pointing at the self entry, and becomes the current level.
    """
    _require_viewer(session, actor=actor, employee=employee)
    if not can_validate(session, actor=actor, employee=employee):
        raise CompetencyError(
            _("Only the employee's own supervisor or HR can validate these ratings."),
            status_code=403,
        )
    pending = {e.id: e for e in pending_self_entries(session, employee_id=employee.id).values()}
    codes = {c.id: c.code for c in list_competencies(session)}
    errors: dict[str, str] = {}
    accepted: list[tuple[RatingEntry, int, str]] = []
    for decision in decisions:
        entry = pending.get(decision.entry_id)
        if entry is None:
            raise CompetencyError(
                _("This self-assessment was already validated or has been replaced."),
                status_code=409,
            )
        code = codes.get(entry.competency_id, str(entry.competency_id))
        try:
            level = parse_level(decision.level, field=f"level_{code}")
            reason = _check_note(decision.reason, field=f"reason_{code}")
        except CompetencyError as err:
            errors[err.field] = str(err)
            continue
        if level != entry.level and not reason:
            errors[f"reason_{code}"] = _("Give a reason when you set a different level.")
            continue
        accepted.append((entry, level, reason))
    if errors:
        raise CompetencyError(
            _("Some decisions are not valid."), errors=errors, field=next(iter(errors))
        )
    if not accepted:
        return []
    session.info.pop(_TOUCHED, None)
    source = (
        RatingSource.supervisor
        if actor.user.employee_id is not None and employee.supervisor_id == actor.user.employee_id
        else RatingSource.hr
    )
    written = [
        _append(
            session,
            employee_id=employee.id,
            competency_id=entry.competency_id,
            level=level,
            source=source,
            validated=True,
            by=actor.user,
            note=reason,
            review_of_id=entry.id,
            campaign_id=entry.campaign_id,
        )
        for entry, level, reason in accepted
    ]
    _bump(session, ratings=1)
    audit.record(
        session,
        action="competency.validated",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={
            codes[entry.competency_id]: {"self": entry.level, "validated": level, "reason": reason}
            for entry, level, reason in accepted
        },
    )
    publish(
        session,
        DomainEvent(
            events.RATINGS_VALIDATED,
            {"employee_id": employee.id, "entries": [e.id for e in written]},
            subject_employee_id=employee.id,
        ),
    )
    return written


def record_rating(
    session: Session,
    *,
    employee: Employee,
    competency: Competency,
    level: Any,
    source: RatingSource | str,
    actor: Actor,
    note: str = "",
    evidence_url: str = "",
) -> RatingEntry:
    """Append a validated rating from a supervisor, HR, training or an assessment.

    HR may record any of these sources; a supervisor only `supervisor` ratings of their own
    reports. Self-ratings go through `submit_self_assessment`.
    """
    _require_viewer(session, actor=actor, employee=employee)
    if source not in RatingSource.__members__ or source == RatingSource.self:
        raise CompetencyError(_("Unknown source of rating."), field="source")
    source = RatingSource(source)
    level = parse_level(level)
    note = _check_note(note, field="note")
    evidence_url = check_evidence_url(evidence_url)
    if actor.user.employee_id is not None and actor.user.employee_id == employee.id:
        raise CompetencyError(_("You cannot rate yourself this way."), status_code=403)
    allowed = sees_gap_details(actor) or (
        source == RatingSource.supervisor and can_validate(session, actor=actor, employee=employee)
    )
    if not allowed:
        raise CompetencyError(
            _("Only the employee's own supervisor or HR can rate this employee."), status_code=403
        )
    session.info.pop(_TOUCHED, None)
    entry = _append(
        session,
        employee_id=employee.id,
        competency_id=competency.id,
        level=level,
        source=source,
        validated=True,
        by=actor.user,
        note=note,
        evidence_url=evidence_url,
        campaign_id=_open_campaign_id(session, employee.id),
    )
    _bump(session, ratings=1)
    audit.record(
        session,
        action="competency.rated",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={"competency": competency.code, "level": level, "source": source, "note": note},
    )
    publish(
        session,
        DomainEvent(
            events.RATED,
            {"employee_id": employee.id, "competency": competency.code, "level": level},
            subject_employee_id=employee.id,
        ),
    )
    return entry


def record_training_result(
    session: Session,
    *,
    employee: Employee,
    competency: Competency,
    level: Any,
    note: str = "",
    by: User | None = None,
) -> RatingEntry:
    """Append an unvalidated `training` entry: the level a completed activity aims at.

    It waits in the supervisor's validation queue like a self-assessment; the supervisor's
    decision (agree, or another level with a reason) becomes the current level.
    """
    level = parse_level(level)
    note = _check_note(note, field="note")
    entry = _append(
        session,
        employee_id=employee.id,
        competency_id=competency.id,
        level=level,
        source=RatingSource.training,
        validated=False,
        by=by,
        note=note,
        campaign_id=_open_campaign_id(session, employee.id),
    )
    audit.record(
        session,
        action="competency.training_result",
        actor=by,
        entity_type="employee",
        entity_id=employee.id,
        after={"competency": competency.code, "level": level, "note": note},
    )
    return entry


RATING_IMPORT_COLUMNS = ("employee_number", "competency", "level")
RATING_IMPORT_OPTIONAL = ("source", "note", "evidence_url")


def import_ratings(session: Session, *, content: bytes, actor: Actor) -> int:
    """Record validated ratings from an XLSX (HR only), all or nothing; return how many.

    Columns: employee_number, competency (code), level (0–4), and optionally source (hr,
    training, assessment; assessment when blank), note, evidence_url.
    """
    if not sees_gap_details(actor):
        raise CompetencyError(_("Only HR can import ratings."), status_code=403)
    rows = read_sheet(content, required=RATING_IMPORT_COLUMNS, optional=RATING_IMPORT_OPTIONAL)
    by_code = _competencies_by_code(session)
    numbers = {str(r.values.get("employee_number") or "").strip() for r in rows}
    employees = {
        e.number: e
        for chunk in _chunks(sorted(n for n in numbers if n), 500)
        for e in session.exec(select(Employee).where(col(Employee.number).in_(chunk)))
    }
    problems: list[ImportProblem] = []
    accepted: list[tuple[Employee, Competency, int, str, str, str]] = []
    allowed_sources = {RatingSource.hr, RatingSource.training, RatingSource.assessment}
    for row in rows:
        v, letters = row.values, row.letters
        number = str(v.get("employee_number") or "").strip()
        employee = employees.get(number)
        if employee is None:
            problems.append(
                ImportProblem(
                    row.number,
                    letters["employee_number"],
                    _("No employee has the number %(number)s.", number=number or "—"),
                )
            )
            continue
        if actor.user.employee_id == employee.id:
            problems.append(
                ImportProblem(
                    row.number, letters["employee_number"], _("You cannot rate yourself.")
                )
            )
            continue
        code = str(v.get("competency") or "").strip()
        competency = by_code.get(code)
        if competency is None:
            problems.append(
                ImportProblem(
                    row.number, letters["competency"], _("Unknown competency: %(code)s.", code=code)
                )
            )
            continue
        try:
            level = parse_level(v.get("level"))
        except CompetencyError as err:
            problems.append(ImportProblem(row.number, letters["level"], str(err)))
            continue
        source = str(v.get("source") or "").strip().lower() or RatingSource.assessment
        if source not in allowed_sources:
            problems.append(
                ImportProblem(
                    row.number,
                    letters.get("source", ""),
                    _("Source must be hr, training or assessment."),
                )
            )
            continue
        try:
            note = _check_note(str(v.get("note") or ""), field="note")
            url = check_evidence_url(str(v.get("evidence_url") or ""))
        except CompetencyError as err:
            column = letters.get("note" if err.field == "note" else "evidence_url", "")
            problems.append(ImportProblem(row.number, column, str(err)))
            continue
        accepted.append((employee, competency, level, source, note, url))
    if not rows:
        problems.append(ImportProblem(0, "", _("The sheet has no rows to import.")))
    if problems:
        raise ImportRejected(problems)
    session.info.pop(_TOUCHED, None)
    for employee, competency, level, source, note, url in accepted:
        _append(
            session,
            employee_id=employee.id,
            competency_id=competency.id,
            level=level,
            source=source,
            validated=True,
            by=actor.user,
            note=note,
            evidence_url=url,
        )
    _bump(session, ratings=1)
    digest = crypto.sha256_hex(content)
    audit.record(
        session,
        action="competency.ratings_imported",
        actor=actor.user,
        entity_type="rating_import",
        entity_id=digest[:16],
        after={
            "rows": len(accepted),
            "employees": sorted({e.number for e, *_rest in accepted}),
            "sha256": digest,
        },
    )
    return len(accepted)


def _chunks(items: list, size: int):
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@dataclass
class ValidationQueueItem:
    employee: Employee
    pending: int
    oldest: datetime


# Built once: per person, how many self and training entries wait for a decision, and since
# when. NOT EXISTS probes the review_of_id index per waiting entry; NOT IN built the list of
# every reviewed entry on each call (several times slower on SQLite).
_WAITING = (
    sa_select(_ENTRY.c.employee_id, func.count(), func.min(_ENTRY.c.recorded_at))
    .where(
        _ENTRY.c.source.in_(AWAITING_VALIDATION_SOURCES),
        _ENTRY.c.validated.is_(False),
        ~_REVIEWED,
    )
    .group_by(_ENTRY.c.employee_id)
)
_EMPLOYEE = Employee.__table__
_WAITING_IN_TEAM = _WAITING.where(
    _ENTRY.c.employee_id.in_(
        sa_select(_EMPLOYEE.c.id).where(_EMPLOYEE.c.supervisor_id == bindparam("supervisor_id"))
    )
)


def validation_queue(
    session: Session, *, actor: Actor, limit: int = 200
) -> list[ValidationQueueItem]:
    """Return people with self-assessments awaiting `actor`'s validation, oldest first.

    A supervisor sees their direct reports; HR sees everyone's (except their own).
    """
    own = actor.user.employee_id
    if sees_gap_details(actor):
        candidates = session.execute(_WAITING).all()
    elif own is None:
        return []
    else:
        candidates = session.execute(_WAITING_IN_TEAM, {"supervisor_id": own}).all()
    ids = [e for e, _count, _oldest in sorted(candidates, key=lambda r: r[2])[: limit * 2]]
    ids = [e for e in ids if e != own]
    if not ids:
        return []
    # The people and their pending entries in two queries, not two per person.
    people = {e.id: e for e in session.exec(select(Employee).where(col(Employee.id).in_(ids)))}
    pending_by_person = _pending_of(session, ids)
    items: list[ValidationQueueItem] = []
    for employee_id in ids:
        employee = people.get(employee_id)
        if employee is None or employee.status == EmployeeStatus.left:
            continue
        pending = pending_by_person.get(employee_id)
        if pending:
            oldest = min(e.recorded_at for e in pending.values())
            items.append(ValidationQueueItem(employee, len(pending), oldest))
        if len(items) >= limit:
            break
    return items
