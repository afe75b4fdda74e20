"""The merit list: weighted totals, ranks and ties (`rank_rows`, a pure core), publication of the
results, the rejections it announces, and what candidates and the public see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee
from competency_framework import service as competency_service

from ..events import REJECTED
from ..models import (
    Application,
    ApplicationStatus,
    MeritListEntry,
    Stage,
    TestAttempt,
    TieBreak,
    Vacancy,
    VacancyStatus,
)
from .base import (
    VacancyError,
    active_applications,
    all_applications,
    can,
    deadline_after,
    now_or,
    set_status,
)
from .notice import weight_shares
from .scoring import consensus_rows, incomplete, stage_scores
from .standing import leave_competition_many

RESERVE_VALIDITY = timedelta(days=365)


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
    return crypto.sha256_hex(canonical)


def write_merit_list(
    session: Session, *, vacancy: Vacancy, actor: User, moment: datetime
) -> list[MeritRow]:
    """Write a new version of the merit list (its entries and fingerprint) and return its rows."""
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


def reject_events(session: Session, vacancy: Vacancy, applications: list[Application]) -> None:
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
        reject_events(session, vacancy, out)
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
    vacancy.appeal_closes_at = deadline_after(
        moment, settings.vacancy_appeal_days, settings.time_zone
    )
    write_merit_list(session, vacancy=vacancy, actor=actor, moment=moment)
    set_status(
        session,
        vacancy=vacancy,
        status=VacancyStatus.results,
        actor=actor,
        extra={"appeal_closes_at": vacancy.appeal_closes_at},
    )
    session.flush()
    reject_events(session, vacancy, all_applications(session, vacancy))
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
                source=competency_service.RatingSource.assessment,
                actor=assessor,
                note=_("Structured interview of competition %(ref)s", ref=vacancy.reference),
            )
        except competency_service.CompetencyError:
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
