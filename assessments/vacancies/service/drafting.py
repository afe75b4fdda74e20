"""From draft to publication: creating a draft from a position's profile, editing, approval by
a second person, publication, formal amendments and cancellation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.i18n import _
from backend.org.models import Position
from competency_framework import service as competency_service

from ..models import (
    BankQuestion,
    Vacancy,
    VacancyAmendment,
    VacancyStatus,
)
from ..schemas import NoticeInput
from .base import (
    NOTICE_FIELDS,
    PUBLIC_STATUSES,
    VacancyError,
    amendments,
    audit_vacancy,
    can,
    deadline_after,
    domains,
    require_reason,
)
from .merit import announce_cancellation
from .notice import notice_document, notice_hash, notice_input_of, parse_notice

# --- drafting -----------------------------------------------------------------------------------


def _next_reference(session: Session, moment: datetime) -> str:
    year = moment.year
    count = session.exec(
        select(func.count())
        .select_from(Vacancy)
        .where(col(Vacancy.reference).like(f"VAC-{year}-%"))
    ).one()
    return f"VAC-{year}-{count + 1:04d}"


def default_criteria(session: Session, position: Position) -> tuple[list[dict], str, int]:
    """Return the essential requirements of the position's competency profile (and its key)."""
    profile = competency_service.profile_for_position(session, position)
    if profile is None:
        return [], "", 0
    codes = {c.id: c for c in competency_service.list_competencies(session)}
    requirements = competency_service.requirements_of(session, profile)
    criteria = [
        {"competency": codes[cid].code, "required_level": r.level}
        for cid, r in sorted(requirements.items(), key=lambda kv: codes[kv[0]].order)
        if cid in codes and r.level > 0 and r.importance == competency_service.Importance.essential
    ]
    return criteria, profile.key, profile.current_version


def create_from_position(
    session: Session, settings: Settings, *, position_id: int | None, actor: User
) -> Vacancy:
    """Create a draft vacancy for the position chosen on the form (`create_vacancy`)."""
    position = session.get(Position, position_id) if position_id is not None else None
    if position is None:
        raise VacancyError(_("Choose a position."), field="position_id")
    return create_vacancy(session, settings, position=position, actor=actor)


def create_vacancy(
    session: Session, settings: Settings, *, position: Position, actor: User
) -> Vacancy:
    """Create a draft vacancy for `position`, its criteria taken from its competency profile."""
    if position is None:
        raise VacancyError(_("Choose a position."), field="position", status_code=404)
    criteria, profile_key, profile_version = default_criteria(session, position)
    if not criteria:
        raise VacancyError(
            _(
                "This position has no competency profile with essential requirements. Give it a "
                "role profile first."
            ),
            field="position",
        )
    moment = clock.now()
    vacancy = Vacancy(
        reference=_next_reference(session, moment),
        position_id=position.id,
        unit_id=position.unit_id,
        title=position.title,
        profile_key=profile_key,
        profile_version=profile_version,
        criteria=criteria,
        posting_days=settings.vacancy_min_posting_days,
        created_by_id=actor.id,
        created_at=moment,
    )
    session.add(vacancy)
    session.flush()
    audit_vacancy(
        session,
        action="vacancy.created",
        actor=actor,
        vacancy=vacancy,
        after={"reference": vacancy.reference, "position": position.code, "criteria": criteria},
    )
    return vacancy


def _notice_snapshot(vacancy: Vacancy) -> dict[str, Any]:
    return {name: getattr(vacancy, name) for name in NOTICE_FIELDS}


def update_draft(
    session: Session, settings: Settings, *, vacancy: Vacancy, data: NoticeInput, actor: User
) -> Vacancy:
    """Change a draft's notice fields; after publication this is refused (use `amend`)."""
    if vacancy.status not in (VacancyStatus.draft,):
        if vacancy.status in PUBLIC_STATUSES:
            raise VacancyError(
                _(
                    "The notice is locked since its publication. Change it through a formal "
                    "amendment with a reason."
                ),
                status_code=409,
            )
        raise VacancyError(
            _("Only a draft can be edited. Ask the approver to return it first."), status_code=409
        )
    values = parse_notice(session, settings, data)
    before = _notice_snapshot(vacancy)
    for name, value in values.items():
        setattr(vacancy, name, value)
    session.add(vacancy)
    after = _notice_snapshot(vacancy)
    if after != before:
        audit_vacancy(
            session,
            action="vacancy.draft_changed",
            actor=actor,
            vacancy=vacancy,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return vacancy


def bank_shortfalls(session: Session, vacancy: Vacancy) -> list[dict[str, Any]]:
    """Return blueprint rows the question bank cannot fill (domain, difficulty, wanted, held)."""
    problems = []
    domain_ids = {d.code: d.id for d in domains(session)}
    wanted: dict[tuple[str, int | None], int] = {}
    for row in vacancy.blueprint:
        key = (row["domain"], row.get("difficulty"))
        wanted[key] = wanted.get(key, 0) + int(row["count"])
    for (domain, difficulty), count in wanted.items():
        statement = (
            select(func.count())
            .select_from(BankQuestion)
            .where(
                BankQuestion.domain_id == domain_ids.get(domain, -1),
                col(BankQuestion.is_active).is_(True),
            )
        )
        if difficulty is not None:
            statement = statement.where(BankQuestion.difficulty == difficulty)
        held = session.exec(statement).one()
        if held < count:
            problems.append(
                {"domain": domain, "difficulty": difficulty, "wanted": count, "held": held}
            )
    return problems


def _shortfall_refused(first: dict[str, Any]) -> VacancyError:
    """The refusal (409) of a notice whose test draws more questions than the bank holds."""
    return VacancyError(
        _(
            "The question bank holds %(held)s suitable questions of domain %(domain)s but the "
            "test draws %(wanted)s. Add questions or change the blueprint.",
            held=first["held"],
            domain=first["domain"],
            wanted=first["wanted"],
        ),
        status_code=409,
    )


def _check_complete(session: Session, settings: Settings, vacancy: Vacancy) -> None:
    parse_notice(session, settings, notice_input_of(vacancy))
    shortfalls = bank_shortfalls(session, vacancy)
    if shortfalls:
        raise _shortfall_refused(shortfalls[0])


def submit_for_approval(
    session: Session, settings: Settings, *, vacancy: Vacancy, actor: User
) -> Vacancy:
    """Send a complete draft to a second person for approval."""
    if vacancy.status != VacancyStatus.draft:
        raise VacancyError(_("Only a draft can be sent for approval."), status_code=409)
    _check_complete(session, settings, vacancy)
    vacancy.status = VacancyStatus.pending_approval
    vacancy.submitted_by_id = actor.id
    vacancy.submitted_at = clock.now()
    vacancy.returned_reason = ""
    session.add(vacancy)
    audit_vacancy(
        session,
        action="vacancy.submitted",
        actor=actor,
        vacancy=vacancy,
        before={"status": VacancyStatus.draft},
        after={"status": vacancy.status},
    )
    return vacancy


def approve(session: Session, settings: Settings, *, vacancy: Vacancy, actor: User) -> Vacancy:
    """Approve a vacancy: only someone other than its author and submitter may."""
    if vacancy.status != VacancyStatus.pending_approval:
        raise VacancyError(_("This vacancy is not awaiting approval."), status_code=409)
    if actor.id in (vacancy.created_by_id, vacancy.submitted_by_id):
        raise VacancyError(
            _("A second person must approve: you drafted or submitted this vacancy."),
            status_code=403,
        )
    if not can(session, actor, Permission.approve_vacancies):
        raise VacancyError(_("You do not have permission to do this."), status_code=403)
    _check_complete(session, settings, vacancy)
    vacancy.status = VacancyStatus.approved
    vacancy.approved_by_id = actor.id
    vacancy.approved_at = clock.now()
    session.add(vacancy)
    audit_vacancy(
        session,
        action="vacancy.approved",
        actor=actor,
        vacancy=vacancy,
        before={"status": VacancyStatus.pending_approval},
        after={"status": vacancy.status},
    )
    return vacancy


def return_to_draft(session: Session, *, vacancy: Vacancy, reason: str, actor: User) -> Vacancy:
    """Send a vacancy awaiting approval back to its author, with the reason."""
    if vacancy.status not in (VacancyStatus.pending_approval, VacancyStatus.approved):
        raise VacancyError(_("This vacancy is not awaiting approval."), status_code=409)
    if actor.id == vacancy.submitted_by_id and vacancy.status == VacancyStatus.pending_approval:
        # Authors may withdraw their own submission; that needs a reason too.
        pass
    reason = require_reason(reason)
    before = vacancy.status
    vacancy.status = VacancyStatus.draft
    vacancy.returned_reason = reason
    vacancy.approved_by_id = None
    vacancy.approved_at = None
    session.add(vacancy)
    audit_vacancy(
        session,
        action="vacancy.returned",
        actor=actor,
        vacancy=vacancy,
        before={"status": before},
        after={"status": vacancy.status, "reason": reason},
    )
    return vacancy


def publish(session: Session, settings: Settings, *, vacancy: Vacancy, actor: User) -> Vacancy:
    """Publish an approved vacancy: the notice is locked and hashed, the window opens."""
    if vacancy.status != VacancyStatus.approved:
        raise VacancyError(_("Only an approved vacancy can be published."), status_code=409)
    _check_complete(session, settings, vacancy)
    moment = clock.now()
    vacancy.status = VacancyStatus.published
    vacancy.published_at = moment
    vacancy.published_by_id = actor.id
    vacancy.notice_changed_at = moment
    vacancy.closes_at = deadline_after(moment, vacancy.posting_days, settings.time_zone)
    document = notice_document(session, vacancy)
    vacancy.notice = document
    vacancy.notice_sha256 = notice_hash(document)
    session.add(vacancy)
    audit_vacancy(
        session,
        action="vacancy.published",
        actor=actor,
        vacancy=vacancy,
        before={"status": VacancyStatus.approved},
        after={
            "status": vacancy.status,
            "notice_sha256": vacancy.notice_sha256,
            "closes_at": vacancy.closes_at,
        },
    )
    return vacancy


def amend(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    data: NoticeInput,
    reason: str,
    actor: User,
) -> VacancyAmendment:
    """Publish a formal amendment to a locked notice; it reopens the application window.

    The window closes no earlier than `vacancy_amendment_min_days` working days after the
    amendment, so every candidate can react to the changed notice.
    """
    if vacancy.status != VacancyStatus.published:
        raise VacancyError(
            _("The notice can only be amended before the knowledge test opens."), status_code=409
        )
    reason = require_reason(reason)
    values = parse_notice(session, settings, data)
    # The posting period was fixed at publication; an amendment moves the closing date instead.
    values.pop("posting_days", None)
    changes = {
        name: {"before": getattr(vacancy, name), "after": value}
        for name, value in values.items()
        if getattr(vacancy, name) != value
    }
    if not changes:
        raise VacancyError(_("Nothing was changed in the notice."), field="title")
    for name, change in changes.items():
        setattr(vacancy, name, change["after"])
    shortfalls = bank_shortfalls(session, vacancy)
    if shortfalls:
        for name, change in changes.items():
            setattr(vacancy, name, change["before"])
        raise _shortfall_refused(shortfalls[0])
    moment = clock.now()
    reopened_until = deadline_after(moment, settings.vacancy_amendment_min_days, settings.time_zone)
    closes_before = vacancy.closes_at
    vacancy.closes_at = max(closes_before or reopened_until, reopened_until)
    vacancy.notice_changed_at = moment
    previous = vacancy.notice_sha256
    document = notice_document(session, vacancy)
    vacancy.notice = document
    vacancy.notice_sha256 = notice_hash(document)
    number = len(amendments(session, vacancy)) + 1
    amendment = VacancyAmendment(
        vacancy_id=vacancy.id,
        number=number,
        reason=reason,
        changes=audit._plain(changes),
        previous_sha256=previous,
        notice_sha256=vacancy.notice_sha256,
        closes_at_before=closes_before,
        closes_at_after=vacancy.closes_at,
        published_by_id=actor.id,
        published_at=moment,
    )
    session.add(vacancy)
    session.add(amendment)
    session.flush()
    audit_vacancy(
        session,
        action="vacancy.amended",
        actor=actor,
        vacancy=vacancy,
        before={"notice_sha256": previous, "closes_at": closes_before},
        after={
            "amendment": number,
            "reason": reason,
            "changes": changes,
            "notice_sha256": vacancy.notice_sha256,
            "closes_at": vacancy.closes_at,
        },
    )
    return amendment


def cancel(session: Session, *, vacancy: Vacancy, reason: str, actor: User) -> Vacancy:
    """Cancel a competition before anyone is appointed (the reason is published).

    Every applicant's outcome is then final and is announced as an event for the reporting
    channel's HR watch (`announce_cancellation`).
    """

    if vacancy.status in (VacancyStatus.appointed, VacancyStatus.cancelled):
        raise VacancyError(_("This competition can no longer be cancelled."), status_code=409)
    reason = require_reason(reason)
    before = vacancy.status
    vacancy.status = VacancyStatus.cancelled
    vacancy.cancelled_at = clock.now()
    vacancy.cancel_reason = reason
    session.add(vacancy)
    announced = announce_cancellation(session, vacancy=vacancy, status_before=before)
    audit_vacancy(
        session,
        action="vacancy.cancelled",
        actor=actor,
        vacancy=vacancy,
        before={"status": before},
        after={"status": vacancy.status, "reason": reason, "outcomes_announced": announced},
    )
    return vacancy
