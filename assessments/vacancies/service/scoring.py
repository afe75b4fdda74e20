"""The panel's scores: the anchored scale, sealed independent scores, consensus, the sift's
lock, and what each member still has to do.

Scores use a behaviourally anchored scale per competency, 0–4, whose anchors are the framework's
level descriptors for that competency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean

from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.i18n import _
from competency_framework import service as competency_service

from ..models import (
    Appeal,
    AppealStatus,
    Application,
    ApplicationStatus,
    ConsensusScore,
    PanelMember,
    PanelScore,
    Stage,
    Vacancy,
    VacancyStatus,
)
from .base import VacancyError, active_applications, application_in, now_or, set_status
from .conflicts import conflicted_pairs, is_conflicted, pending_declarations, require_declared
from .panel import missing_interview_questions, panel_of, require_member
from .standing import leave_competition_many

# --- the anchored scale -------------------------------------------------------------------------


@dataclass
class Anchor:
    level: int
    text_es: str
    text_en: str
    required: bool


def anchored_scales(session: Session, vacancy: Vacancy) -> dict[str, list[Anchor]]:
    """Return per competency of the vacancy its 0–4 anchors (the framework's level descriptors)."""
    table = competency_service.all_descriptors(session)
    competencies = {c.code: c for c in competency_service.list_competencies(session)}
    scales = {}
    for criterion in vacancy.criteria:
        competency = competencies.get(criterion["competency"])
        if competency is None:
            continue
        levels = table.get(competency.id, {})
        scales[competency.code] = [
            Anchor(
                level,
                levels[level].text_es,
                levels[level].text_en,
                level == criterion["required_level"],
            )
            for level in sorted(levels)
        ]
    return scales


# --- independent scores ---------------------------------------------------------------------------


def criteria_codes(vacancy: Vacancy) -> list[str]:
    return [c["competency"] for c in vacancy.criteria]


def current_scores(
    session: Session, vacancy: Vacancy, stage: str, application_ids: list[int] | None = None
) -> dict[tuple[int, str, int], PanelScore]:
    """Return the score in force per (application, competency, rater): the newest row."""
    statement = select(PanelScore).where(
        PanelScore.vacancy_id == vacancy.id, PanelScore.stage == stage
    )
    if application_ids is not None:
        statement = statement.where(col(PanelScore.application_id).in_(application_ids))
    found: dict[tuple[int, str, int], PanelScore] = {}
    for row in session.exec(statement.order_by(col(PanelScore.id))):
        found[(row.application_id, row.competency_code, row.rater_id)] = row
    return found


def eligible_raters(
    session: Session, vacancy: Vacancy, application: Application, pairs: set | None = None
) -> list[int]:
    """Return the panel members who may score `application` (not conflicted with it)."""
    pairs = conflicted_pairs(session, vacancy) if pairs is None else pairs
    return [
        s.user_id for s in panel_of(session, vacancy) if (s.user_id, application.id) not in pairs
    ]


def all_scored(
    session: Session, vacancy: Vacancy, application: Application, stage: str, scores=None
) -> bool:
    """True once every eligible member has scored every competency (the seal then breaks)."""
    scores = current_scores(session, vacancy, stage, [application.id]) if scores is None else scores
    raters = eligible_raters(session, vacancy, application)
    return bool(raters) and all(
        (application.id, code, rater) in scores
        for code in criteria_codes(vacancy)
        for rater in raters
    )


def _check_stage(vacancy: Vacancy, stage: str) -> None:
    if stage not in (Stage.sift, Stage.interview):
        raise VacancyError(_("Unknown stage."), status_code=404)
    if vacancy.status != stage:
        raise VacancyError(
            _("The evidence sift is not open.")
            if stage == Stage.sift
            else _("Interviews are not open."),
            status_code=409,
        )


def _parse_score(value: object, *, field: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 0 <= int(text) <= 4:
        raise VacancyError(_("Choose a score from 0 to 4."), field=field)
    return int(text)


def record_scores(
    session: Session,
    *,
    vacancy: Vacancy,
    application: Application,
    stage: str,
    scores: dict[str, tuple[object, str]],
    rater: User,
    now: datetime | None = None,
) -> list[PanelScore]:
    """Record a member's independent scores of one candidate (every competency at once)."""
    require_member(session, vacancy, rater)
    require_declared(session, vacancy, rater)
    if application.vacancy_id != vacancy.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    _check_stage(vacancy, stage)
    if application.status != ApplicationStatus.active:
        raise VacancyError(_("This candidate is no longer in the competition."), status_code=409)
    if is_conflicted(session, vacancy, rater, application):
        raise VacancyError(
            _("You declared a conflict of interest with this candidate, so you cannot score them."),
            status_code=403,
        )
    if stage == Stage.interview and missing_interview_questions(session, vacancy):
        raise VacancyError(_("The interview questions are not complete."), status_code=409)
    existing = current_scores(session, vacancy, stage, [application.id])
    if all_scored(session, vacancy, application, stage, existing):
        raise VacancyError(
            _(
                "Every panel member has scored this candidate and the scores are revealed. "
                "Changes now go through the consensus score, with a reason."
            ),
            status_code=409,
        )
    errors: dict[str, str] = {}
    parsed: dict[str, tuple[int, str]] = {}
    for code in criteria_codes(vacancy):
        value, note = scores.get(code, ("", ""))
        try:
            parsed[code] = (_parse_score(value, field=f"score_{code}"), (note or "").strip()[:2000])
        except VacancyError as err:
            errors[err.field] = str(err)
    if errors:
        raise VacancyError(
            _("Score every competency from 0 to 4."), errors=errors, field=next(iter(errors))
        )
    moment = now_or(now)
    written = []
    for code, (value, note) in parsed.items():
        previous = existing.get((application.id, code, rater.id))
        if previous is not None and previous.score == value and previous.note == note:
            continue
        row = PanelScore(
            vacancy_id=vacancy.id,
            application_id=application.id,
            stage=stage,
            competency_code=code,
            rater_id=rater.id,
            score=value,
            note=note,
            recorded_at=moment,
        )
        session.add(row)
        written.append(row)
        audit.record(
            session,
            action="vacancy.score_recorded",
            actor=rater,
            entity_type="vacancy_application",
            entity_id=application.id,
            before={"score": previous.score} if previous else None,
            after={"stage": stage, "competency": code, "score": value, "note": note},
        )
    session.flush()
    return written


@dataclass
class ScoreSheet:
    """What a member may see of one candidate's scores at one stage."""

    stage: str
    own: dict[str, PanelScore]
    revealed: bool
    # {rater user id: {code: score}}: only once everyone eligible has scored
    others: dict[int, dict[str, int]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    consensus: dict[str, ConsensusScore] = field(default_factory=dict)
    history: list[ConsensusScore] = field(default_factory=list)
    raters: list[int] = field(default_factory=list)
    conflicted: bool = False


def consensus_rows(
    session: Session, vacancy: Vacancy, stage: str, application_ids: list[int] | None = None
) -> dict[tuple[int, str], ConsensusScore]:
    """Return the consensus in force per (application, competency): the newest row."""
    statement = select(ConsensusScore).where(
        ConsensusScore.vacancy_id == vacancy.id, ConsensusScore.stage == stage
    )
    if application_ids is not None:
        statement = statement.where(col(ConsensusScore.application_id).in_(application_ids))
    found: dict[tuple[int, str], ConsensusScore] = {}
    for row in session.exec(statement.order_by(col(ConsensusScore.id))):
        found[(row.application_id, row.competency_code)] = row
    return found


def score_sheet(
    session: Session, *, vacancy: Vacancy, application: Application, stage: str, viewer: User
) -> ScoreSheet:
    """Return the viewer's own scores, and the others' only once the seal is broken."""
    scores = current_scores(session, vacancy, stage, [application.id])
    raters = eligible_raters(session, vacancy, application)
    revealed = all_scored(session, vacancy, application, stage, scores)
    sheet = ScoreSheet(
        stage=stage,
        own={
            code: row
            for (app_id, code, rater), row in scores.items()
            if rater == viewer.id and app_id == application.id
        },
        revealed=revealed,
        raters=raters,
        conflicted=viewer.id not in raters,
    )
    if revealed:
        for (_app, code, rater), row in scores.items():
            if rater in raters:
                sheet.others.setdefault(rater, {})[code] = row.score
        for code in criteria_codes(vacancy):
            values = [sheet.others[r][code] for r in raters if code in sheet.others.get(r, {})]
            if values:
                sheet.means[code] = mean(values)
        sheet.consensus = {
            code: row
            for (_app, code), row in consensus_rows(
                session, vacancy, stage, [application.id]
            ).items()
        }
        sheet.history = list(
            session.exec(
                select(ConsensusScore)
                .where(
                    ConsensusScore.application_id == application.id, ConsensusScore.stage == stage
                )
                .order_by(col(ConsensusScore.id))
            )
        )
    return sheet


def suggested(value: float) -> int:
    """Return the panel mean rounded half up: the consensus that needs no reason."""
    return int(value + 0.5)


def _stage_locked(vacancy: Vacancy, stage: str) -> bool:
    if stage == Stage.sift:
        return vacancy.sift_locked_at is not None
    return vacancy.interview_locked_at is not None


def upheld_appeal(session: Session, application: Application) -> Appeal | None:
    return session.exec(
        select(Appeal).where(
            Appeal.application_id == application.id, Appeal.status == AppealStatus.upheld
        )
    ).first()


def record_consensus(
    session: Session,
    *,
    vacancy: Vacancy,
    application: Application,
    stage: str,
    competency_code: str,
    score: object,
    reason: str,
    actor: User,
    now: datetime | None = None,
) -> ConsensusScore:
    """Record the panel's agreed score of one competency.

    Any consensus other than the rounded mean of the independent scores, and any later change,
    needs a written reason. Once a stage is locked, only an upheld appeal reopens the
    candidate's consensus scores.
    """
    require_member(session, vacancy, actor)
    require_declared(session, vacancy, actor)
    if application.vacancy_id != vacancy.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    if stage not in (Stage.sift, Stage.interview):
        raise VacancyError(_("Unknown stage."), status_code=404)
    locked = _stage_locked(vacancy, stage)
    if locked:
        if upheld_appeal(session, application) is None or vacancy.status != VacancyStatus.results:
            raise VacancyError(
                _("These scores are locked. Only an upheld appeal reopens them."), status_code=409
            )
    else:
        _check_stage(vacancy, stage)
        if application.status != ApplicationStatus.active:
            raise VacancyError(
                _("This candidate is no longer in the competition."), status_code=409
            )
    if is_conflicted(session, vacancy, actor, application):
        raise VacancyError(
            _("You declared a conflict of interest with this candidate, so you cannot score them."),
            status_code=403,
        )
    if competency_code not in criteria_codes(vacancy):
        raise VacancyError(_("This competency is not assessed in this vacancy."), status_code=404)
    scores = current_scores(session, vacancy, stage, [application.id])
    if not all_scored(session, vacancy, application, stage, scores):
        raise VacancyError(
            _("The consensus comes after every panel member has scored this candidate."),
            status_code=409,
        )
    value = _parse_score(score, field=f"consensus_{competency_code}")
    raters = eligible_raters(session, vacancy, application)
    independent = mean(scores[(application.id, competency_code, r)].score for r in raters)
    previous = consensus_rows(session, vacancy, stage, [application.id]).get(
        (application.id, competency_code)
    )
    reason = (reason or "").strip()[:2000]
    if previous is not None and previous.score == value:
        raise VacancyError(
            _("This is already the consensus score."),
            field=f"consensus_{competency_code}",
            status_code=409,
        )
    needs_reason = previous is not None or value != suggested(independent)
    if needs_reason and len(reason) < 5:
        raise VacancyError(
            _("Write why the consensus differs from the independent scores.")
            if previous is None
            else _("Write the reason for this change."),
            field=f"reason_{competency_code}",
        )
    row = ConsensusScore(
        vacancy_id=vacancy.id,
        application_id=application.id,
        stage=stage,
        competency_code=competency_code,
        score=value,
        independent_mean=round(independent, 3),
        reason=reason,
        after_lock=locked,
        recorded_by_id=actor.id,
        recorded_at=now_or(now),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="vacancy.consensus_recorded",
        actor=actor,
        entity_type="vacancy_application",
        entity_id=application.id,
        before={"score": previous.score} if previous else None,
        after={
            "stage": stage,
            "competency": competency_code,
            "score": value,
            "independent_mean": round(independent, 3),
            "reason": reason,
            "after_lock": locked,
        },
    )
    return row


def accept_suggested(
    session: Session,
    *,
    vacancy: Vacancy,
    application: Application,
    stage: str,
    actor: User,
    now: datetime | None = None,
) -> list[ConsensusScore]:
    """Record the rounded mean as consensus for every competency that has none yet."""
    scores = current_scores(session, vacancy, stage, [application.id])
    existing = consensus_rows(session, vacancy, stage, [application.id])
    raters = eligible_raters(session, vacancy, application)
    written = []
    for code in criteria_codes(vacancy):
        if (application.id, code) in existing:
            continue
        values = [
            scores[(application.id, code, r)].score
            for r in raters
            if (application.id, code, r) in scores
        ]
        if not values:
            continue
        written.append(
            record_consensus(
                session,
                vacancy=vacancy,
                application=application,
                stage=stage,
                competency_code=code,
                score=suggested(mean(values)),
                reason="",
                actor=actor,
                now=now,
            )
        )
    return written


def stage_scores(session: Session, vacancy: Vacancy, stage: str) -> dict[int, float]:
    """Return {application id: stage score in percent} for candidates with full consensus."""
    codes = criteria_codes(vacancy)
    latest: dict[tuple[int, str], int] = {}
    # Ordered by id, so the newest consensus per (application, competency) wins.
    for app_id, code, score in session.exec(
        select(ConsensusScore.application_id, ConsensusScore.competency_code, ConsensusScore.score)
        .where(ConsensusScore.vacancy_id == vacancy.id, ConsensusScore.stage == stage)
        .order_by(col(ConsensusScore.id))
    ).all():
        latest[(app_id, code)] = score
    by_application: dict[int, dict[str, int]] = {}
    for (app_id, code), score in latest.items():
        by_application.setdefault(app_id, {})[code] = score
    return {
        app_id: round(100.0 * sum(values[c] for c in codes) / (4 * len(codes)), 2)
        for app_id, values in by_application.items()
        if all(c in values for c in codes)
    }


def incomplete(session: Session, vacancy: Vacancy, stage: str) -> list[Application]:
    """Return active candidates still lacking a consensus score at `stage`."""
    done = stage_scores(session, vacancy, stage)
    return [a for a in active_applications(session, vacancy) if a.id not in done]


def lock_sift_blocker(session: Session, vacancy: Vacancy) -> str:
    """Return why the sift cannot be locked now (translated), or "" when it can."""
    if vacancy.status != VacancyStatus.sift:
        return _("The evidence sift is not open.")
    missing = incomplete(session, vacancy, Stage.sift)
    if missing:
        return _("%(n)s candidate(s) still have no consensus sift score.", n=len(missing))
    if missing_interview_questions(session, vacancy):
        return _("Write at least one interview question for every competency first.")
    return ""


def lock_sift(
    session: Session, *, vacancy: Vacancy, actor: User, now: datetime | None = None
) -> Vacancy:
    """Lock the sift scores: apply its pass mark, reveal identities, open the interviews."""
    blocker = lock_sift_blocker(session, vacancy)
    if blocker:
        raise VacancyError(blocker, status_code=409)
    scores = stage_scores(session, vacancy, Stage.sift)
    leave_competition_many(
        session,
        applications=[
            a
            for a in active_applications(session, vacancy)
            if scores[a.id] < vacancy.pass_mark_sift
        ],
        stage="sift",
        reason="below_pass_mark",
        actor=actor,
    )
    vacancy.sift_locked_at = now_or(now)
    set_status(
        session,
        vacancy=vacancy,
        status=VacancyStatus.interview,
        actor=actor,
        extra={"sift_scores": {str(k): v for k, v in scores.items()}},
    )
    return vacancy


def anonymous_in_sift(vacancy: Vacancy) -> bool:
    """True while the panel must see sift candidates by code only."""
    return vacancy.sift_locked_at is None


def work_for(session: Session, *, vacancy: Vacancy, user: User) -> dict[str, int]:
    """Return what a member still has to do: declarations, and candidates to score now."""
    pending = pending_declarations(session, vacancy, user)
    to_score = 0
    if vacancy.status in (VacancyStatus.sift, VacancyStatus.interview) and not pending:
        stage = vacancy.status
        scores = current_scores(session, vacancy, stage)
        pairs = conflicted_pairs(session, vacancy)
        codes = criteria_codes(vacancy)
        for application in active_applications(session, vacancy):
            if (user.id, application.id) in pairs:
                continue
            if not all((application.id, c, user.id) in scores for c in codes):
                to_score += 1
    return {"declarations": pending, "to_score": to_score}


# --- the panel's pages --------------------------------------------------------------------------


def competitions_of_member(
    session: Session, user: User, *, open_only: bool = False
) -> list[tuple[Vacancy, dict[str, int]]]:
    """Return the competitions whose panel `user` sits on (newest first), with what they still
    have to do there (`work_for`); `open_only` leaves out appointed and cancelled ones."""
    statement = (
        select(Vacancy)
        .join(PanelMember, col(PanelMember.vacancy_id) == Vacancy.id)
        .where(PanelMember.user_id == user.id)
        .order_by(col(Vacancy.id).desc())
    )
    if open_only:
        statement = statement.where(
            col(Vacancy.status).not_in([VacancyStatus.appointed, VacancyStatus.cancelled])
        )
    return [(v, work_for(session, vacancy=v, user=user)) for v in session.exec(statement).all()]


def candidates_to_score(
    session: Session, vacancy: Vacancy, user: User
) -> list[tuple[Application, bool, bool]]:
    """Return the candidates a declared member scores at the current stage, as (application,
    scored by me, everyone's scores revealed); empty outside the sift and the interviews."""
    stage = vacancy.status if vacancy.status in (Stage.sift, Stage.interview) else None
    if stage is None or pending_declarations(session, vacancy, user):
        return []
    scores = current_scores(session, vacancy, stage)
    pairs = conflicted_pairs(session, vacancy)
    codes = criteria_codes(vacancy)
    candidates = active_applications(session, vacancy)
    if stage == Stage.sift and anonymous_in_sift(vacancy):
        # Codes in code order, so the list order gives nothing away either.
        candidates = sorted(candidates, key=lambda a: a.anonymous_code)
    rows = []
    for application in candidates:
        if (user.id, application.id) in pairs:
            continue
        mine = all((application.id, c, user.id) in scores for c in codes)
        rows.append((application, mine, all_scored(session, vacancy, application, stage, scores)))
    return rows


def scoring_target(
    session: Session, *, vacancy: Vacancy, stage: str, application_id: int, user: User
) -> tuple[str, Application]:
    """Return (stage, application) for a member's score sheet, or refuse: 403 off the panel,
    404 for a stage or candidate that is not there, 409 before declaring, 403 conflicted."""
    require_member(session, vacancy, user)
    if stage not in (Stage.sift, Stage.interview):
        raise VacancyError(
            _("This page does not exist, or the record was not found."), status_code=404
        )
    application = application_in(session, vacancy, application_id)
    require_declared(session, vacancy, user)
    if is_conflicted(session, vacancy, user, application):
        raise VacancyError(
            _("You declared a conflict of interest with this candidate, so you cannot score them."),
            status_code=403,
        )
    return stage, application


def decide_consensus(
    session: Session,
    *,
    vacancy: Vacancy,
    application: Application,
    stage: str,
    competency_code: str,
    score: str,
    reason: str,
    accept: bool,
    actor: User,
) -> None:
    """Record the panel's consensus on one competency, or (`accept`) the rounded mean of the
    members' scores for every competency that has none yet (`accept_suggested`)."""
    if accept:
        accept_suggested(
            session, vacancy=vacancy, application=application, stage=stage, actor=actor
        )
        return
    record_consensus(
        session,
        vacancy=vacancy,
        application=application,
        stage=stage,
        competency_code=competency_code,
        score=score,
        reason=reason,
        actor=actor,
    )


def scoring_progress(session: Session, vacancy: Vacancy) -> dict[int, tuple[int, int, bool]]:
    """Return {application id: (members who scored every criterion, members who score,
    consensus reached)} at the current stage; empty outside the sift and the interviews."""
    stage = vacancy.status if vacancy.status in (Stage.sift, Stage.interview) else None
    if stage is None:
        return {}
    scores = current_scores(session, vacancy, stage)
    consensus = stage_scores(session, vacancy, stage)
    codes = criteria_codes(vacancy)
    progress = {}
    for application in active_applications(session, vacancy):
        raters = eligible_raters(session, vacancy, application)
        done = sum(1 for r in raters if all((application.id, c, r) in scores for c in codes))
        progress[application.id] = (done, len(raters), application.id in consensus)
    return progress
