"""Outcomes: the merit list, published results, appeals, appointment and the reserve list."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee

from . import clock, workdays
from .models import (
    Appeal,
    AppealStatus,
    Application,
    ApplicationStatus,
    Appointment,
    AppointmentStatus,
    MeritListEntry,
    Stage,
    TestAttempt,
    TieBreak,
    Vacancy,
    VacancyStatus,
)
from .service import (
    VacancyError,
    active_applications,
    all_applications,
    can,
    membership,
    now_or,
    require_reason,
    set_status,
    weight_shares,
)

RESERVE_VALIDITY = timedelta(days=365)
REJECTED = "vacancy.candidate_rejected"
APPOINTED = "vacancy.candidate_appointed"


def _record(session: Session, *, action: str, actor, application: Application, **kw) -> None:
    audit.record(
        session,
        action=action,
        actor=actor,
        entity_type="vacancy_application",
        entity_id=application.id,
        **kw,
    )


def leave_competition(
    session: Session, *, application: Application, stage: str, reason: str, actor: object
) -> None:
    """Take a candidate out at `stage` (below a pass mark, or absent), audited."""
    leave_competition_many(
        session, applications=[application], stage=stage, reason=reason, actor=actor
    )


def leave_competition_many(
    session: Session, *, applications: list[Application], stage: str, reason: str, actor: object
) -> None:
    """Take candidates out at `stage` in one statement, with one audit entry naming them all."""
    if not applications:
        return
    ids = [a.id for a in applications]
    session.execute(
        update(Application)
        .where(col(Application.id).in_(ids))
        .values(status=ApplicationStatus.out, out_stage=stage, out_reason=reason),
        execution_options={"synchronize_session": "evaluate"},
    )
    audit.record(
        session,
        action="vacancy.candidates_out",
        actor=actor,
        entity_type="vacancy",
        entity_id=applications[0].vacancy_id,
        before={"status": ApplicationStatus.active},
        after={
            "status": ApplicationStatus.out,
            "stage": stage,
            "reason": reason,
            "applications": ids,
        },
    )


def rejoin_competition(session: Session, *, application: Application, actor: object) -> None:
    """Bring a candidate back after a correction (a neutralised question) lifted their mark."""
    before = {"status": application.status, "stage": application.out_stage}
    application.status = ApplicationStatus.active
    application.out_stage = ""
    application.out_reason = ""
    session.add(application)
    _record(
        session,
        action="vacancy.candidate_back",
        actor=actor,
        application=application,
        before=before,
        after={"status": application.status},
    )


# --- the merit list -----------------------------------------------------------------------------


@dataclass
class MeritRow:
    application_id: int
    submitted_at: datetime
    test: float | None
    sift: float | None
    interview: float | None
    total: float | None = None
    rank: int | None = None
    out_stage: str = ""


def weighted_total(row: MeritRow, shares: dict[str, float]) -> float:
    """Return the weighted total (percent) of a candidate who has all three stage scores."""
    return round(
        shares["test"] * (row.test or 0)
        + shares["sift"] * (row.sift or 0)
        + shares["interview"] * (row.interview or 0),
        4,
    )


def rank_rows(rows: list[MeritRow], *, shares: dict[str, float], tie_break: str) -> list[MeritRow]:
    """Return `rows` ordered for the merit list, passing candidates ranked 1…n.

    Higher totals first; equal totals go by the notice's tie-break rule, then by earlier
    application (a rule stated in every notice), then by application number.
    """
    passing = [r for r in rows if not r.out_stage]
    for row in passing:
        row.total = weighted_total(row, shares)

    def tie_key(row: MeritRow):
        if tie_break == TieBreak.test_score:
            first = -(row.test or 0)
        elif tie_break == TieBreak.interview_score:
            first = -(row.interview or 0)
        elif tie_break == TieBreak.sift_score:
            first = -(row.sift or 0)
        else:
            first = 0.0
        return (-(row.total or 0), first, row.submitted_at, row.application_id)

    passing.sort(key=tie_key)
    for index, row in enumerate(passing, start=1):
        row.rank = index
    others = sorted((r for r in rows if r.out_stage), key=lambda r: r.application_id)
    return passing + others


def compute_merit(session: Session, vacancy: Vacancy) -> list[MeritRow]:
    """Return the merit list as the scores stand now (every candidate who took part)."""
    from .scoring import stage_scores

    tests = dict(
        session.exec(
            select(TestAttempt.application_id, TestAttempt.score).where(
                TestAttempt.vacancy_id == vacancy.id
            )
        ).all()
    )
    sift = stage_scores(session, vacancy, Stage.sift)
    interview = stage_scores(session, vacancy, Stage.interview)
    rows = []
    for app_id, status, out_stage, submitted_at in session.exec(
        select(
            Application.id, Application.status, Application.out_stage, Application.submitted_at
        ).where(Application.vacancy_id == vacancy.id)
    ).all():
        if status in (ApplicationStatus.withdrawn, ApplicationStatus.screened_out):
            continue
        row = MeritRow(
            app_id,
            submitted_at,
            tests.get(app_id),
            sift.get(app_id),
            interview.get(app_id),
            out_stage=out_stage if status == ApplicationStatus.out else "",
        )
        if not row.out_stage and None in (row.test, row.sift, row.interview):
            row.out_stage = "incomplete"
        rows.append(row)
    return rank_rows(rows, shares=weight_shares(vacancy), tie_break=vacancy.tie_break)


def merit_entries(
    session: Session, vacancy: Vacancy, version: int | None = None
) -> list[MeritListEntry]:
    """Return a published merit list version (the newest by default), ranked first."""
    version = version or vacancy.merit_version
    if not version:
        return []
    entries = list(
        session.exec(
            select(MeritListEntry).where(
                MeritListEntry.vacancy_id == vacancy.id, MeritListEntry.version == version
            )
        )
    )
    return sorted(entries, key=lambda e: (e.rank is None, e.rank or 0, e.application_id))


def _merit_digest(vacancy: Vacancy, rows: list[MeritRow], codes: dict[int, str]) -> str:
    body = [
        [r.rank, codes[r.application_id], r.test, r.sift, r.interview, r.total, r.out_stage]
        for r in rows
    ]
    canonical = json.dumps(
        {"vacancy": vacancy.reference, "version": vacancy.merit_version, "rows": body},
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _write_list(
    session: Session, *, vacancy: Vacancy, actor: User, moment: datetime
) -> list[MeritRow]:
    rows = compute_merit(session, vacancy)
    vacancy.merit_version += 1
    session.execute(
        insert(MeritListEntry),
        [
            {
                "vacancy_id": vacancy.id,
                "version": vacancy.merit_version,
                "application_id": row.application_id,
                "rank": row.rank,
                "test_score": row.test,
                "sift_score": row.sift,
                "interview_score": row.interview,
                "total": row.total,
                "out_stage": row.out_stage,
                "published_at": moment,
            }
            for row in rows
        ],
    )
    ranked = [r.application_id for r in rows if r.rank is not None]
    unranked = [r.application_id for r in rows if r.rank is None]
    for ids, from_status, to_status in (
        (ranked, ApplicationStatus.active, ApplicationStatus.ranked),
        (unranked, ApplicationStatus.ranked, ApplicationStatus.out),
    ):
        if ids:
            session.execute(
                update(Application)
                .where(col(Application.id).in_(ids), Application.status == from_status)
                .values(status=to_status),
                execution_options={"synchronize_session": "evaluate"},
            )
    codes = dict(
        session.exec(
            select(Application.id, Application.anonymous_code).where(
                Application.vacancy_id == vacancy.id
            )
        ).all()
    )
    vacancy.merit_sha256 = _merit_digest(vacancy, rows, codes)
    session.add(vacancy)
    audit.record(
        session,
        action="vacancy.merit_list_published",
        actor=actor,
        entity_type="vacancy",
        entity_id=vacancy.id,
        after={
            "version": vacancy.merit_version,
            "sha256": vacancy.merit_sha256,
            "ranks": {str(r.application_id): [r.rank, r.total] for r in rows},
        },
    )
    return rows


def _reject_events(session: Session, vacancy: Vacancy, applications: list[Application]) -> None:
    """Announce the rejection of each screened-out or out candidate (others are skipped)."""
    for application in applications:
        if application.status == ApplicationStatus.screened_out:
            stage, reason = "eligibility", "eligibility:" + ",".join(application.screening_failures)
        elif application.status == ApplicationStatus.out:
            stage, reason = application.out_stage, application.out_reason
        else:
            continue
        publish(
            session,
            DomainEvent(
                REJECTED,
                payload={"vacancy_id": vacancy.id, "stage": stage, "reason": reason},
                subject_employee_id=application.employee_id if application.is_internal else None,
            ),
        )


def announce_cancellation(session: Session, *, vacancy: Vacancy, status_before: str) -> int:
    """Announce every candidate's outcome of a cancelled competition; return how many.

    Outcomes are announced once, when they are final. Before the merit list, that is at its
    publication; a cancelled competition never publishes one, so here: the candidates screened
    out or out at a stage get their usual rejection (unless the list already announced it), and
    everyone still in the competition (active, or ranked and not appointed) a rejection at the
    `cancellation` stage — for an internal candidate, losing a competition to its cancellation
    is as much an exclusion as failing a stage. Withdrawals and declined offers were the
    candidate's own choice and announce nothing.
    """
    announced = 0
    applications = all_applications(session, vacancy)
    if vacancy.results_published_at is None:
        out = [
            a
            for a in applications
            if a.status in (ApplicationStatus.screened_out, ApplicationStatus.out)
        ]
        _reject_events(session, vacancy, out)
        announced += len(out)
    for application in applications:
        if application.status not in (ApplicationStatus.active, ApplicationStatus.ranked):
            continue
        publish(
            session,
            DomainEvent(
                REJECTED,
                payload={
                    "vacancy_id": vacancy.id,
                    "stage": "cancellation",
                    "reason": "competition_cancelled",
                    "competition_status": status_before,
                },
                subject_employee_id=application.employee_id if application.is_internal else None,
            ),
        )
        announced += 1
    return announced


def publish_results_blocker(session: Session, vacancy: Vacancy) -> str:
    """Return why the merit list cannot be published now (translated), or "" when it can."""
    from .scoring import incomplete

    if vacancy.status != VacancyStatus.interview:
        return _("Interviews are not open.")
    missing = incomplete(session, vacancy, Stage.interview)
    if missing:
        return _("%(n)s candidate(s) still have no consensus interview score.", n=len(missing))
    return ""


def publish_results(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    actor: User,
    now: datetime | None = None,
) -> Vacancy:
    """Lock the interview scores, publish the merit list and open the appeal window.

    Every candidate who did not make the list is told through a `vacancy.candidate_rejected`
    event (the reporting channel's HR watch listens).
    """
    from .scoring import stage_scores

    blocker = publish_results_blocker(session, vacancy)
    if blocker:
        raise VacancyError(blocker, status_code=409)
    moment = now_or(now)
    scores = stage_scores(session, vacancy, Stage.interview)
    leave_competition_many(
        session,
        applications=[
            a
            for a in active_applications(session, vacancy)
            if scores[a.id] < vacancy.pass_mark_interview
        ],
        stage="interview",
        reason="below_pass_mark",
        actor=actor,
    )
    vacancy.interview_locked_at = moment
    vacancy.results_published_at = moment
    vacancy.appeal_closes_at = workdays.deadline_after(
        moment, settings.vacancy_appeal_days, settings.time_zone
    )
    _write_list(session, vacancy=vacancy, actor=actor, moment=moment)
    set_status(
        session,
        vacancy=vacancy,
        status=VacancyStatus.results,
        actor=actor,
        extra={"appeal_closes_at": vacancy.appeal_closes_at},
    )
    session.flush()
    _reject_events(session, vacancy, all_applications(session, vacancy))
    _record_interview_levels(session, vacancy=vacancy, actor=actor)
    return vacancy


class _Assessor:
    """The person publishing the results, as the competency service expects an actor."""

    def __init__(self, session: Session, user: User) -> None:
        self.user = user
        self._session = session

    def can(self, permission: Permission) -> bool:
        return can(self._session, self.user, permission)


def _record_interview_levels(session: Session, *, vacancy: Vacancy, actor: User) -> int:
    """Add the panel's interview consensus to internal candidates' competency records.

    The structured interview scores each competency on the framework's own level descriptors,
    so its consensus is a validated rating from an assessment (source `assessment`). Returns
    how many ratings were recorded.
    """
    from competency_framework import service as competency_service
    from competency_framework.models import RatingSource
    from competency_framework.service import CompetencyError

    from .scoring import consensus_rows

    internal = {
        a.id: a for a in all_applications(session, vacancy) if a.is_internal and a.employee_id
    }
    if not internal:
        return 0
    competencies = {c.code: c for c in competency_service.list_competencies(session)}
    assessor = _Assessor(session, actor)
    recorded = 0
    for (app_id, code), row in consensus_rows(
        session, vacancy, Stage.interview, list(internal)
    ).items():
        employee = session.get(Employee, internal[app_id].employee_id)
        if employee is None or code not in competencies:
            continue
        try:
            competency_service.record_rating(
                session,
                employee=employee,
                competency=competencies[code],
                level=row.score,
                source=RatingSource.assessment,
                actor=assessor,
                note=_("Structured interview of competition %(ref)s", ref=vacancy.reference),
            )
        except CompetencyError:
            # Whoever publishes cannot rate themselves (an HR person who applied): skip them.
            continue
        recorded += 1
    return recorded


# --- what candidates and the public see ---------------------------------------------------------


@dataclass
class Distribution:
    applied: int
    screened_out: int
    out_by_stage: dict[str, int]
    ranked: int
    bins: list[tuple[int, int, int]]  # (from, to, count) of weighted totals
    test_bins: list[tuple[int, int, int]]
    median_total: float | None


def _bins(values: list[float]) -> list[tuple[int, int, int]]:
    edges = list(range(0, 100, 10))
    counts = [0] * len(edges)
    for value in values:
        counts[min(9, int(value // 10))] += 1
    return [(low, low + 10, count) for low, count in zip(edges, counts, strict=True)]


def distribution(session: Session, vacancy: Vacancy) -> Distribution | None:
    """Return the anonymised score distribution of the published merit list."""
    entries = merit_entries(session, vacancy)
    if not entries:
        return None
    applications = all_applications(session, vacancy)
    out: dict[str, int] = {}
    for entry in entries:
        if entry.rank is None:
            out[entry.out_stage] = out.get(entry.out_stage, 0) + 1
    totals = [e.total for e in entries if e.total is not None]
    tests = [e.test_score for e in entries if e.test_score is not None]
    return Distribution(
        applied=sum(1 for a in applications if a.status != ApplicationStatus.withdrawn),
        screened_out=sum(1 for a in applications if a.status == ApplicationStatus.screened_out),
        out_by_stage=out,
        ranked=len(totals),
        bins=_bins(totals),
        test_bins=_bins(tests),
        median_total=round(median(totals), 2) if totals else None,
    )


@dataclass
class OwnResult:
    entry: MeritListEntry | None
    test_score: float | None
    sift: dict[str, int]
    interview: dict[str, int]
    ranked_count: int


def own_result(session: Session, *, application: Application) -> OwnResult | None:
    """Return a candidate's own scores (per competency) once results are published."""
    from .scoring import consensus_rows

    vacancy = session.get(Vacancy, application.vacancy_id)
    if not vacancy.merit_version:
        return None
    entries = merit_entries(session, vacancy)
    entry = next((e for e in entries if e.application_id == application.id), None)
    attempt = session.exec(
        select(TestAttempt).where(TestAttempt.application_id == application.id)
    ).first()
    sift = {
        code: row.score
        for (_a, code), row in consensus_rows(
            session, vacancy, Stage.sift, [application.id]
        ).items()
    }
    interview = {
        code: row.score
        for (_a, code), row in consensus_rows(
            session, vacancy, Stage.interview, [application.id]
        ).items()
    }
    return OwnResult(
        entry,
        attempt.score if attempt else None,
        sift,
        interview,
        sum(1 for e in entries if e.rank is not None),
    )


# --- appeals ------------------------------------------------------------------------------------


def appeals_of(session: Session, vacancy: Vacancy) -> list[Appeal]:
    return list(
        session.exec(select(Appeal).where(Appeal.vacancy_id == vacancy.id).order_by(col(Appeal.id)))
    )


def appeals_by(session: Session, application: Application) -> list[Appeal]:
    return list(
        session.exec(
            select(Appeal).where(Appeal.application_id == application.id).order_by(col(Appeal.id))
        )
    )


def submit_appeal(
    session: Session,
    *,
    application: Application,
    user: User,
    grounds: str,
    now: datetime | None = None,
) -> Appeal:
    """A candidate appeals the published results, within the appeal window."""
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    vacancy = session.get(Vacancy, application.vacancy_id)
    moment = now_or(now)
    if (
        vacancy.status != VacancyStatus.results
        or vacancy.appeal_closes_at is None
        or moment > vacancy.appeal_closes_at
    ):
        raise VacancyError(_("The appeal window is closed."), status_code=409)
    if application.status == ApplicationStatus.withdrawn:
        raise VacancyError(_("This application was withdrawn."), status_code=409)
    if any(
        a.status in (AppealStatus.submitted, AppealStatus.under_review)
        for a in appeals_by(session, application)
    ):
        raise VacancyError(_("Your appeal is already being dealt with."), status_code=409)
    grounds = require_reason(grounds, field="grounds")
    appeal = Appeal(
        vacancy_id=vacancy.id,
        application_id=application.id,
        grounds=grounds[:6000],
        submitted_at=moment,
    )
    session.add(appeal)
    session.flush()
    _record(
        session,
        action="vacancy.appeal_submitted",
        actor=user,
        application=application,
        after={"appeal_id": appeal.id, "grounds": grounds},
    )
    return appeal


def _check_reviewer(session: Session, appeal: Appeal, actor: User) -> Vacancy:
    vacancy = session.get(Vacancy, appeal.vacancy_id)
    if not can(session, actor, Permission.approve_vacancies):
        raise VacancyError(_("You do not have permission to do this."), status_code=403)
    if membership(session, vacancy, actor) is not None:
        raise VacancyError(
            _("Panel members cannot review appeals against their own scores."), status_code=403
        )
    return vacancy


def start_review(session: Session, *, appeal: Appeal, actor: User) -> Appeal:
    """Take an appeal into review."""
    _check_reviewer(session, appeal, actor)
    if appeal.status != AppealStatus.submitted:
        raise VacancyError(_("This appeal is not waiting for review."), status_code=409)
    appeal.status = AppealStatus.under_review
    appeal.reviewer_id = actor.id
    appeal.review_started_at = clock.now()
    session.add(appeal)
    audit.record(
        session,
        action="vacancy.appeal_review_started",
        actor=actor,
        entity_type="vacancy_appeal",
        entity_id=appeal.id,
        before={"status": AppealStatus.submitted},
        after={"status": appeal.status},
    )
    return appeal


def decide_appeal(
    session: Session, *, appeal: Appeal, upheld: bool, reason: str, actor: User
) -> Appeal:
    """Uphold or dismiss an appeal under review, with the reasons (the candidate sees them)."""
    _check_reviewer(session, appeal, actor)
    if appeal.status != AppealStatus.under_review:
        raise VacancyError(_("Take the appeal into review first."), status_code=409)
    reason = require_reason(reason)
    appeal.status = AppealStatus.upheld if upheld else AppealStatus.dismissed
    appeal.decided_by_id = actor.id
    appeal.decided_at = clock.now()
    appeal.decision_reason = reason
    session.add(appeal)
    audit.record(
        session,
        action="vacancy.appeal_decided",
        actor=actor,
        entity_type="vacancy_appeal",
        entity_id=appeal.id,
        before={"status": AppealStatus.under_review},
        after={"status": appeal.status, "reason": reason},
    )
    return appeal


def _uncorrected(session: Session, vacancy: Vacancy) -> list[Appeal]:
    """Return upheld appeals not yet taken into account by a published merit list."""
    return [
        a
        for a in appeals_of(session, vacancy)
        if a.status == AppealStatus.upheld and a.corrected_in_version is None
    ]


def republish_merit_list(session: Session, *, vacancy: Vacancy, actor: User) -> Vacancy:
    """Publish a new version of the merit list after upheld appeals corrected scores."""
    if vacancy.status != VacancyStatus.results:
        raise VacancyError(
            _("The merit list can be republished only during the appeal stage."), status_code=409
        )
    uncorrected = _uncorrected(session, vacancy)
    if not uncorrected:
        raise VacancyError(
            _("Only an upheld appeal gives a reason to publish the merit list again."),
            status_code=409,
        )
    before = {a.id: a.status for a in all_applications(session, vacancy)}
    _write_list(session, vacancy=vacancy, actor=actor, moment=clock.now())
    for appeal in uncorrected:
        appeal.corrected_in_version = vacancy.merit_version
        session.add(appeal)
    session.flush()
    newly_out = [
        a
        for a in all_applications(session, vacancy)
        if a.status == ApplicationStatus.out and before.get(a.id) != ApplicationStatus.out
    ]
    _reject_events(session, vacancy, newly_out)
    return vacancy


def appointment_blockers(
    session: Session, vacancy: Vacancy, now: datetime | None = None
) -> list[str]:
    """Return why nobody can be appointed yet (translated), or an empty list."""
    moment = now_or(now)
    if vacancy.status == VacancyStatus.appointed:
        if vacancy.reserve_valid_until is None or moment > vacancy.reserve_valid_until:
            return [_("The reserve list has expired.")]
        return []
    if vacancy.status != VacancyStatus.results:
        return [_("The merit list has not been published.")]
    problems = []
    if vacancy.appeal_closes_at is not None and moment <= vacancy.appeal_closes_at:
        problems.append(_("The appeal window is still open."))
    open_appeals = [
        a
        for a in appeals_of(session, vacancy)
        if a.status in (AppealStatus.submitted, AppealStatus.under_review)
    ]
    if open_appeals:
        problems.append(_("%(n)s appeal(s) are still undecided.", n=len(open_appeals)))
    if _uncorrected(session, vacancy):
        problems.append(_("An appeal was upheld: publish the corrected merit list first."))
    if session.exec(
        select(Appointment.id).where(
            Appointment.vacancy_id == vacancy.id,
            Appointment.status == AppointmentStatus.pending_approval,
        )
    ).first():
        problems.append(_("An appointment is waiting for second-level approval."))
    return problems


def remaining_order(session: Session, vacancy: Vacancy) -> list[tuple[MeritListEntry, Application]]:
    """Return ranked candidates not yet appointed or declined, in merit order."""
    applications = {a.id: a for a in all_applications(session, vacancy)}
    return [
        (entry, applications[entry.application_id])
        for entry in merit_entries(session, vacancy)
        if entry.rank is not None
        and applications[entry.application_id].status == ApplicationStatus.ranked
    ]


def appointments_of(session: Session, vacancy: Vacancy) -> list[Appointment]:
    return list(
        session.exec(
            select(Appointment)
            .where(Appointment.vacancy_id == vacancy.id)
            .order_by(col(Appointment.id))
        )
    )


def _make_effective(
    session: Session, *, vacancy: Vacancy, appointment: Appointment, actor: User, moment: datetime
) -> None:
    application = session.get(Application, appointment.application_id)
    appointment.status = AppointmentStatus.effective
    appointment.effective_at = moment
    application.status = ApplicationStatus.appointed
    session.add(appointment)
    session.add(application)
    if vacancy.status == VacancyStatus.results:
        vacancy.appointed_at = moment
        vacancy.reserve_valid_until = moment + RESERVE_VALIDITY
        set_status(
            session,
            vacancy=vacancy,
            status=VacancyStatus.appointed,
            actor=actor,
            extra={"reserve_valid_until": vacancy.reserve_valid_until},
        )
    _record(
        session,
        action="vacancy.candidate_appointed",
        actor=actor,
        application=application,
        after={
            "rank": appointment.merit_rank,
            "from_reserve": appointment.from_reserve,
            "justification": appointment.justification,
        },
    )
    publish(
        session,
        DomainEvent(
            APPOINTED,
            payload={
                "vacancy_id": vacancy.id,
                "stage": "appointment",
                "reason": "justified_out_of_order"
                if appointment.justification
                else "top_of_merit_list",
            },
            subject_employee_id=application.employee_id if application.is_internal else None,
        ),
    )


def propose_appointment(
    session: Session,
    *,
    vacancy: Vacancy,
    application: Application,
    justification: str,
    actor: User,
    now: datetime | None = None,
) -> Appointment:
    """Appoint a candidate from the merit list (or, later, its reserve list).

    The top of the remaining list is appointed at once. Anyone else needs a written
    justification approved by a second person; once approved, it is published.
    """
    moment = now_or(now)
    blockers = appointment_blockers(session, vacancy, moment)
    if blockers:
        raise VacancyError(" ".join(blockers), status_code=409)
    if application.vacancy_id != vacancy.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    order = remaining_order(session, vacancy)
    position = next((i for i, (_e, a) in enumerate(order) if a.id == application.id), None)
    if position is None:
        raise VacancyError(
            _("Only candidates on the merit list, not yet appointed, can be appointed."),
            status_code=409,
        )
    entry = order[position][0]
    justification = (justification or "").strip()[:4000]
    if position > 0 and len(justification) < 20:
        top = order[0][1]
        raise VacancyError(
            _(
                "Only the top of the merit list (rank %(rank)s, %(name)s) can be appointed. "
                "Appointing anyone else needs a written justification, approved at a second "
                "level and published.",
                rank=order[0][0].rank,
                name=top.candidate_name,
            ),
            field="justification",
            status_code=409,
        )
    if position == 0:
        justification = ""
    appointment = Appointment(
        vacancy_id=vacancy.id,
        application_id=application.id,
        merit_rank=entry.rank,
        from_reserve=vacancy.status == VacancyStatus.appointed,
        justification=justification,
        status=AppointmentStatus.pending_approval if position > 0 else AppointmentStatus.effective,
        proposed_by_id=actor.id,
        proposed_at=moment,
    )
    session.add(appointment)
    session.flush()
    if position == 0:
        _make_effective(
            session, vacancy=vacancy, appointment=appointment, actor=actor, moment=moment
        )
    else:
        _record(
            session,
            action="vacancy.appointment_proposed",
            actor=actor,
            application=application,
            after={"rank": entry.rank, "justification": justification},
        )
    return appointment


def decide_appointment(
    session: Session, *, appointment: Appointment, approve: bool, note: str, actor: User
) -> Appointment:
    """Second-level decision on an out-of-order appointment (someone else than the proposer)."""
    if appointment.status != AppointmentStatus.pending_approval:
        raise VacancyError(_("This appointment is not waiting for approval."), status_code=409)
    if actor.id == appointment.proposed_by_id:
        raise VacancyError(
            _("A second person must approve: you proposed this appointment."), status_code=403
        )
    if not can(session, actor, Permission.approve_vacancies):
        raise VacancyError(_("You do not have permission to do this."), status_code=403)
    vacancy = session.get(Vacancy, appointment.vacancy_id)
    note = require_reason(note, field="note")
    appointment.approved_by_id = actor.id
    appointment.approved_at = clock.now()
    appointment.approval_note = note
    application = session.get(Application, appointment.application_id)
    if not approve:
        appointment.status = AppointmentStatus.refused
        session.add(appointment)
        _record(
            session,
            action="vacancy.appointment_refused",
            actor=actor,
            application=application,
            after={"note": note},
        )
        return appointment
    if application.status != ApplicationStatus.ranked:
        raise VacancyError(_("This candidate can no longer be appointed."), status_code=409)
    _make_effective(
        session, vacancy=vacancy, appointment=appointment, actor=actor, moment=clock.now()
    )
    return appointment


def record_declined(
    session: Session, *, application: Application, reason: str, actor: User
) -> Application:
    """Record that a ranked candidate declined the offer: the next in merit order moves up."""
    if application.status != ApplicationStatus.ranked:
        raise VacancyError(_("Only a candidate on the merit list can decline."), status_code=409)
    reason = require_reason(reason)
    application.status = ApplicationStatus.declined
    application.declined_reason = reason
    session.add(application)
    _record(
        session,
        action="vacancy.offer_declined",
        actor=actor,
        application=application,
        before={"status": ApplicationStatus.ranked},
        after={"status": application.status, "reason": reason},
    )
    return application


def reserve_list(
    session: Session, vacancy: Vacancy, now: datetime | None = None
) -> list[tuple[MeritListEntry, Application]]:
    """Return the reserve list (merit order) while valid, else an empty list."""
    if vacancy.status != VacancyStatus.appointed or vacancy.reserve_valid_until is None:
        return []
    if now_or(now) > vacancy.reserve_valid_until:
        return []
    return remaining_order(session, vacancy)


# --- rejections of one person (read only) -------------------------------------------------------


@dataclass(frozen=True)
class CompetitionRejection:
    """One internal candidate's rejection in a competition, and when it was decided."""

    vacancy_id: int
    reference: str
    title: str
    application_id: int
    on: datetime
    stage: str  # eligibility, test, sift, interview or appointment
    reason: str  # e.g. "below_pass_mark", "absent", "eligibility:q1", "passed_over"


def _out_moment(application: Application, vacancy: Vacancy) -> datetime:
    """When a candidate taken out at `out_stage` was taken out: the stage's cut."""
    cut = {
        "test": vacancy.test_closed_at,
        "sift": vacancy.sift_locked_at,
        "interview": vacancy.interview_locked_at,
    }.get(application.out_stage)
    return cut or vacancy.results_published_at or application.updated_at


def rejections_of(
    session: Session, *, employee_id: int, since: datetime
) -> list[CompetitionRejection]:
    """Return the employee's rejections decided at or after `since`, oldest first: screened out
    on eligibility (when screened, or when a review confirmed it), taken out at a stage's pass
    mark or for absence (when that stage was cut), and passed over at appointment for someone
    lower on the merit list. Read only (for the reporting channel's burden-of-proof pack)."""
    rows = session.exec(
        select(Application, Vacancy)
        .join(Vacancy, col(Vacancy.id) == Application.vacancy_id)
        .where(Application.employee_id == employee_id, col(Application.is_internal).is_(True))
        .order_by(col(Application.id))
    ).all()
    found = []
    for application, vacancy in rows:
        if application.status == ApplicationStatus.screened_out:
            on = application.review_decided_at or application.updated_at
            stage = "eligibility"
            reason = "eligibility:" + ",".join(application.screening_failures)
            if application.review_decided_at is not None:
                reason += " (review confirmed)"
        elif application.status == ApplicationStatus.out:
            on, stage = _out_moment(application, vacancy), application.out_stage
            reason = application.out_reason
        elif application.status == ApplicationStatus.ranked:
            rank = session.exec(
                select(MeritListEntry.rank).where(
                    MeritListEntry.vacancy_id == vacancy.id,
                    MeritListEntry.version == vacancy.merit_version,
                    MeritListEntry.application_id == application.id,
                )
            ).first()
            passed_over = session.exec(
                select(Appointment)
                .where(
                    Appointment.vacancy_id == vacancy.id,
                    Appointment.status == AppointmentStatus.effective,
                    col(Appointment.merit_rank) > (rank or 0),
                )
                .order_by(col(Appointment.id))
            ).first()
            if rank is None or passed_over is None:
                continue
            on = passed_over.effective_at or passed_over.proposed_at
            stage = "appointment"
            reason = f"passed_over: ranked {rank}, rank {passed_over.merit_rank} appointed"
        else:
            continue
        if on is not None and on >= since:
            found.append(
                CompetitionRejection(
                    vacancy.id,
                    vacancy.reference,
                    vacancy.title,
                    application.id,
                    on,
                    stage,
                    reason,
                )
            )
    return sorted(found, key=lambda r: (r.on, r.application_id))
