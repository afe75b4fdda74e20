"""The knowledge test: per-candidate draw, time limit, answers, marking, neutralisation."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, update
from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _

from ..models import (
    Application,
    ApplicationStatus,
    BankQuestion,
    KnowledgeDomain,
    NeutralisedQuestion,
    PanelScore,
    TestAnswer,
    TestAttempt,
    Vacancy,
    VacancyStatus,
)
from .adjustments import granted_minutes
from .applications import pending_reviews
from .base import (
    VacancyError,
    active_applications,
    now_or,
    require_reason,
    review_window_closes,
    set_status,
)
from .drafting import bank_shortfalls
from .panel import panel_problems
from .standing import leave_competition_many, rejoin_competition

MAX_OPTIONS = 6
# Answers may arrive this long after the deadline (time on the wire), never more.
GRACE = timedelta(seconds=5)


# --- the draw -----------------------------------------------------------------------------------


def pools(session: Session, vacancy: Vacancy) -> list[list[int]]:
    """Return, per blueprint row, the ids of the active questions it may draw (sorted)."""
    domain_ids = {d.code: d.id for d in session.exec(select(KnowledgeDomain))}
    found = []
    for row in vacancy.blueprint:
        statement = select(BankQuestion.id).where(
            BankQuestion.domain_id == domain_ids.get(row["domain"], -1),
            col(BankQuestion.is_active).is_(True),
        )
        if row.get("difficulty"):
            statement = statement.where(BankQuestion.difficulty == row["difficulty"])
        found.append(sorted(session.exec(statement).all()))
    return found


def draw(row_pools: list[list[int]], counts: list[int], seed: str) -> list[int]:
    """Return the questions drawn for `seed`: `counts[i]` from `row_pools[i]`, no repeats.

    Deterministic: the same pools and seed always give the same questions in the same order, so
    a stored seed lets anyone re-run a candidate's draw.
    """
    rng = random.Random(seed)  # noqa: S311 - fairness, not secrecy: the seed is published to HR
    chosen: list[int] = []
    taken: set[int] = set()
    for pool, count in zip(row_pools, counts, strict=True):
        available = [q for q in pool if q not in taken]
        if len(available) < count:
            raise VacancyError(
                _("The question bank cannot fill this test. Tell HR."), status_code=409
            )
        picked = rng.sample(available, count)
        chosen.extend(picked)
        taken.update(picked)
    return chosen


# --- the test window ----------------------------------------------------------------------------


def open_test_blocker(
    session: Session, settings: Settings, vacancy: Vacancy, now: datetime | None = None
) -> str:
    """Return why the knowledge test cannot open now (translated), or "" when it can."""
    moment = now_or(now)
    if vacancy.status != VacancyStatus.published:
        return _("The test can only open after publication.")
    if vacancy.closes_at is None or moment <= vacancy.closes_at:
        return _("Applications are still open: the test opens after the closing date.")
    review_closes = review_window_closes(settings, vacancy)
    if review_closes is not None and moment <= review_closes:
        return _(
            "Screened-out candidates can still ask for a review: wait until the review "
            "window closes."
        )
    if pending_reviews(session, vacancy):
        return _("Decide every screening review first.")
    problems = panel_problems(session, vacancy)
    if problems:
        return " ".join(problems)
    if not active_applications(session, vacancy):
        return _("No eligible candidate is left; cancel the competition instead.")
    if bank_shortfalls(session, vacancy):
        return _("The question bank cannot fill the test blueprint any more.")
    return ""


def open_test(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    actor: User,
    now: datetime | None = None,
) -> Vacancy:
    """Open the knowledge test for the eligible candidates once applications and reviews end."""
    moment = now_or(now)
    blocker = open_test_blocker(session, settings, vacancy, moment)
    if blocker:
        raise VacancyError(blocker, status_code=409)
    vacancy.test_opened_at = moment
    set_status(session, vacancy=vacancy, status=VacancyStatus.testing, actor=actor)
    return vacancy


def attempt_of(session: Session, application: Application) -> TestAttempt | None:
    return session.exec(
        select(TestAttempt).where(TestAttempt.application_id == application.id)
    ).first()


def require_attempt(session: Session, application: Application) -> TestAttempt:
    """Return the application's test attempt, or refuse (409) before the test was started."""
    attempt = attempt_of(session, application)
    if attempt is None:
        raise VacancyError(_("Start the test first."), status_code=409)
    return attempt


def start_test(
    session: Session, *, application: Application, user: User, now: datetime | None = None
) -> TestAttempt:
    """Start (or resume) the candidate's test: questions drawn with a stored seed, clock set."""
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    vacancy = session.get(Vacancy, application.vacancy_id)
    existing = attempt_of(session, application)
    if existing is not None:
        return existing
    if vacancy.status != VacancyStatus.testing:
        raise VacancyError(_("The knowledge test is not open."), status_code=409)
    if application.status != ApplicationStatus.active:
        raise VacancyError(
            _("Only candidates still in the competition take the test."), status_code=409
        )
    moment = now_or(now)
    seed = crypto.new_hex(16)
    extra = granted_minutes(session, application)
    question_ids = draw(pools(session, vacancy), [int(r["count"]) for r in vacancy.blueprint], seed)
    attempt = TestAttempt(
        vacancy_id=vacancy.id,
        application_id=application.id,
        seed=seed,
        question_ids=question_ids,
        started_at=moment,
        # The test's time plus any extra time HR granted this candidate (reasonable
        # adjustments): enforced here, on the server, by every answer and the hand-in.
        deadline_at=moment + timedelta(minutes=vacancy.test_minutes + extra),
    )
    session.add(attempt)
    session.flush()
    audit.record(
        session,
        action="vacancy.test_started",
        actor=user,
        entity_type="vacancy_application",
        entity_id=application.id,
        after={
            "seed": seed,
            "questions": question_ids,
            "deadline": attempt.deadline_at,
            "extra_minutes": extra,
        },
    )
    return attempt


def _check_open(attempt: TestAttempt, moment: datetime) -> None:
    if attempt.submitted_at is not None:
        raise VacancyError(_("You have already handed in this test."), status_code=409)
    if moment > attempt.deadline_at + GRACE:
        raise VacancyError(
            _(
                "The time limit has passed, so this was not accepted. The answers you gave in "
                "time are kept and will be marked."
            ),
            status_code=409,
        )


def answer(
    session: Session,
    *,
    attempt: TestAttempt,
    question_id: int,
    chosen: int,
    now: datetime | None = None,
) -> TestAnswer:
    """Record (or change) one answer, refused after the time limit."""
    _check_open(attempt, now_or(now))
    if question_id not in attempt.question_ids:
        raise VacancyError(_("This question is not part of your test."), field="question_id")
    question = session.get(BankQuestion, question_id)
    if not 0 <= chosen < len(question.options):
        raise VacancyError(_("Choose one of the options."), field="chosen")
    row = session.get(TestAnswer, (attempt.id, question_id))
    if row is None:
        row = TestAnswer(attempt_id=attempt.id, question_id=question_id, chosen=chosen)
    row.chosen = chosen
    row.answered_at = now_or(now)
    session.add(row)
    return row


def submit(
    session: Session,
    *,
    attempt: TestAttempt,
    user: User,
    answers: dict[int, int] | None = None,
    now: datetime | None = None,
) -> TestAttempt:
    """Hand in the test (saving `answers` first); refused after the time limit, nothing saved."""
    moment = now_or(now)
    _check_open(attempt, moment)
    for question_id, chosen in (answers or {}).items():
        answer(session, attempt=attempt, question_id=question_id, chosen=chosen, now=moment)
    attempt.submitted_at = moment
    session.add(attempt)
    session.flush()
    answered = session.exec(
        select(func.count()).select_from(TestAnswer).where(TestAnswer.attempt_id == attempt.id)
    ).one()
    audit.record(
        session,
        action="vacancy.test_submitted",
        actor=user,
        entity_type="vacancy_application",
        entity_id=attempt.application_id,
        after={"answered": answered, "of": len(attempt.question_ids)},
    )
    return attempt


def answers_of(session: Session, attempt: TestAttempt) -> dict[int, int]:
    return {
        a.question_id: a.chosen
        for a in session.exec(select(TestAnswer).where(TestAnswer.attempt_id == attempt.id))
    }


def questions_of(session: Session, attempt: TestAttempt) -> list[BankQuestion]:
    """Return the attempt's questions in the order drawn."""
    rows = {
        q.id: q
        for q in session.exec(
            select(BankQuestion).where(col(BankQuestion.id).in_(attempt.question_ids))
        )
    }
    return [rows[q] for q in attempt.question_ids if q in rows]


def time_left(attempt: TestAttempt, now: datetime | None = None) -> int:
    """Return the seconds left before the time limit (0 when over or handed in)."""
    if attempt.submitted_at is not None:
        return 0
    return max(0, int((attempt.deadline_at - now_or(now)).total_seconds()))


# --- marking ------------------------------------------------------------------------------------


def neutralised_ids(session: Session, vacancy: Vacancy) -> set[int]:
    return set(
        session.exec(
            select(NeutralisedQuestion.question_id).where(
                NeutralisedQuestion.vacancy_id == vacancy.id
            )
        ).all()
    )


def neutralised(session: Session, vacancy: Vacancy) -> list[NeutralisedQuestion]:
    return list(
        session.exec(
            select(NeutralisedQuestion).where(NeutralisedQuestion.vacancy_id == vacancy.id)
        )
    )


def mark_all(
    session: Session, *, vacancy: Vacancy, actor: object = None, now: datetime | None = None
) -> int:
    """Mark every attempt of the competition (neutralised questions left out); return how many.

    One aggregate query counts the correct answers of all attempts, and one bulk update writes
    the marks; one audit entry records every mark.
    """
    moment = now_or(now)
    removed = neutralised_ids(session, vacancy)
    correct_query = (
        select(TestAnswer.attempt_id, func.count())
        .join(TestAttempt, col(TestAttempt.id) == TestAnswer.attempt_id)
        .join(
            BankQuestion,
            and_(
                col(BankQuestion.id) == TestAnswer.question_id,
                col(BankQuestion.correct_option) == TestAnswer.chosen,
            ),
        )
        .where(TestAttempt.vacancy_id == vacancy.id)
        .group_by(TestAnswer.attempt_id)
    )
    if removed:
        correct_query = correct_query.where(col(TestAnswer.question_id).not_in(removed))
    correct = dict(session.exec(correct_query).all())
    attempts = session.exec(
        select(TestAttempt.id, TestAttempt.application_id, TestAttempt.question_ids).where(
            TestAttempt.vacancy_id == vacancy.id
        )
    ).all()
    rows = []
    marks = {}
    for attempt_id, application_id, question_ids in attempts:
        counted = sum(1 for q in question_ids if q not in removed)
        right = correct.get(attempt_id, 0)
        score = round(100.0 * right / counted, 2) if counted else 0.0
        rows.append(
            {
                "id": attempt_id,
                "correct": right,
                "counted": counted,
                "score": score,
                "marked_at": moment,
            }
        )
        marks[str(application_id)] = score
    if rows:
        session.execute(update(TestAttempt), rows)
    session.expire_all()
    audit.record(
        session,
        action="vacancy.test_marked",
        actor=actor,
        entity_type="vacancy",
        entity_id=vacancy.id,
        after={"neutralised": sorted(removed), "scores": marks},
    )
    return len(rows)


def _apply_cut(session: Session, *, vacancy: Vacancy, actor: object) -> None:
    """Put test results into effect: below the cut score or absent leaves the competition."""
    scores = dict(
        session.exec(
            select(TestAttempt.application_id, TestAttempt.score).where(
                TestAttempt.vacancy_id == vacancy.id
            )
        ).all()
    )
    candidates = session.exec(
        select(Application).where(
            Application.vacancy_id == vacancy.id,
            col(Application.status).in_([ApplicationStatus.active, ApplicationStatus.out]),
        )
    ).all()
    absent, below = [], []
    for application in candidates:
        if application.status == ApplicationStatus.out and application.out_stage != "test":
            continue
        if application.id not in scores:
            if application.status == ApplicationStatus.active:
                absent.append(application)
            continue
        passed = (scores[application.id] or 0) >= vacancy.pass_mark_test
        if not passed and application.status == ApplicationStatus.active:
            below.append(application)
        elif passed and application.status == ApplicationStatus.out:
            rejoin_competition(session, application=application, actor=actor)
    leave_competition_many(session, applications=absent, stage="test", reason="absent", actor=actor)
    leave_competition_many(
        session, applications=below, stage="test", reason="below_pass_mark", actor=actor
    )


def close_test_blocker(session: Session, vacancy: Vacancy, now: datetime | None = None) -> str:
    """Return why the knowledge test cannot close now (translated), or "" when it can."""
    moment = now_or(now)
    if vacancy.status != VacancyStatus.testing:
        return _("The knowledge test is not open.")
    running = session.exec(
        select(func.count())
        .select_from(TestAttempt)
        .where(
            TestAttempt.vacancy_id == vacancy.id,
            col(TestAttempt.submitted_at).is_(None),
            col(TestAttempt.deadline_at) > moment - GRACE,
        )
    ).one()
    if running:
        return _("%(n)s candidate(s) are still taking the test.", n=running)
    return ""


def close_test(
    session: Session, *, vacancy: Vacancy, actor: User, now: datetime | None = None
) -> Vacancy:
    """Close the test: mark every attempt, apply the cut score, open the evidence sift."""
    moment = now_or(now)
    blocker = close_test_blocker(session, vacancy, moment)
    if blocker:
        raise VacancyError(blocker, status_code=409)
    mark_all(session, vacancy=vacancy, actor=actor, now=moment)
    _apply_cut(session, vacancy=vacancy, actor=actor)
    vacancy.test_closed_at = moment
    set_status(session, vacancy=vacancy, status=VacancyStatus.sift, actor=actor)
    return vacancy


def neutralise(
    session: Session, *, vacancy: Vacancy, question_id: int | None, reason: str, actor: User
) -> NeutralisedQuestion:
    """Remove a faulty question from everyone's mark in this competition, with the reason."""
    if question_id is None:
        raise VacancyError(_("Choose a question."), field="question_id")
    if vacancy.status not in (VacancyStatus.testing, VacancyStatus.sift):
        raise VacancyError(
            _("Questions can be neutralised while the test runs or before the sift is scored."),
            status_code=409,
        )
    if (
        vacancy.status == VacancyStatus.sift
        and session.exec(select(PanelScore.id).where(PanelScore.vacancy_id == vacancy.id)).first()
    ):
        raise VacancyError(
            _("The sift has started: test results can no longer change."), status_code=409
        )
    drawn = session.exec(
        select(TestAttempt.question_ids).where(TestAttempt.vacancy_id == vacancy.id)
    ).all()
    if not any(question_id in ids for ids in drawn):
        raise VacancyError(_("No candidate was given this question."), field="question_id")
    if session.get(NeutralisedQuestion, (vacancy.id, question_id)) is not None:
        raise VacancyError(_("This question is already neutralised."), status_code=409)
    reason = require_reason(reason)
    row = NeutralisedQuestion(
        vacancy_id=vacancy.id,
        question_id=question_id,
        reason=reason,
        neutralised_by_id=actor.id,
        neutralised_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="vacancy.question_neutralised",
        actor=actor,
        entity_type="vacancy",
        entity_id=vacancy.id,
        after={"question_id": question_id, "reason": reason},
    )
    if vacancy.status == VacancyStatus.sift:
        # Already marked: mark again for everyone and let the cut score decide afresh.
        mark_all(session, vacancy=vacancy, actor=actor)
        _apply_cut(session, vacancy=vacancy, actor=actor)
    return row


@dataclass
class QuestionStat:
    question: BankQuestion
    drawn: int
    answered: int
    correct: int
    neutralised: bool

    @property
    def correct_rate(self) -> float | None:
        return self.correct / self.answered if self.answered else None


def question_stats(session: Session, vacancy: Vacancy) -> list[QuestionStat]:
    """Return, per question drawn in this competition, how often it was answered correctly.

    A question almost nobody gets right, or whose best candidates pick another option, is the
    usual sign of a faulty key.
    """
    drawn: dict[int, int] = {}
    for ids in session.exec(
        select(TestAttempt.question_ids).where(TestAttempt.vacancy_id == vacancy.id)
    ).all():
        for q in ids:
            drawn[q] = drawn.get(q, 0) + 1
    if not drawn:
        return []
    answered = dict(
        session.exec(
            select(TestAnswer.question_id, func.count())
            .join(TestAttempt, col(TestAttempt.id) == TestAnswer.attempt_id)
            .where(TestAttempt.vacancy_id == vacancy.id)
            .group_by(TestAnswer.question_id)
        ).all()
    )
    correct = dict(
        session.exec(
            select(TestAnswer.question_id, func.count())
            .join(TestAttempt, col(TestAttempt.id) == TestAnswer.attempt_id)
            .join(
                BankQuestion,
                and_(
                    col(BankQuestion.id) == TestAnswer.question_id,
                    col(BankQuestion.correct_option) == TestAnswer.chosen,
                ),
            )
            .where(TestAttempt.vacancy_id == vacancy.id)
            .group_by(TestAnswer.question_id)
        ).all()
    )
    removed = neutralised_ids(session, vacancy)
    questions = {
        q.id: q
        for q in session.exec(select(BankQuestion).where(col(BankQuestion.id).in_(list(drawn))))
    }
    stats = [
        QuestionStat(questions[q], n, answered.get(q, 0), correct.get(q, 0), q in removed)
        for q, n in drawn.items()
        if q in questions
    ]
    return sorted(
        stats, key=lambda s: (s.correct_rate if s.correct_rate is not None else 2, s.question.id)
    )
