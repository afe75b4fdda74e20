"""Equal-opportunity monitoring, kept apart from selection.

After applying, a candidate may answer four optional questions (sex, age band, disability,
indigenous language). The answers go to `monitoring_response`, which has no column naming the
application or the person: its key is a MAC of the application's id under a key derived from
the installation's secret for this purpose only, so no query joins answers to applications
without this module, and no timestamp or sequence orders the rows. Only this module reads the
table (`tests/vacancies/test_fairness_boundary.py`); HR sees aggregates by stage with cells
under five people suppressed, plus a second cell in any row with exactly one suppressed, so no
cell can be recovered from the row's total. The answers are deleted `RETENTION_DAYS` after the
competition ends (`purge_expired`, the daily `vacancy_monitoring_retention` job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, or_, select

from backend import audit, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import N_, _

from ..models import (
    Application,
    ApplicationStatus,
    ConsensusScore,
    MonitoringResponse,
    PanelScore,
    TestAttempt,
    Vacancy,
    VacancyStatus,
)
from .base import VacancyError, now_or

# Cells of fewer people than this are not shown (the project's rule, as in the gap reports).
MIN_CELL = 5
# Answers are kept this long after the competition ends (appointment or cancellation).
RETENTION_DAYS = 365
NOT_SAID = "not_said"

QUESTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "sex": (
        N_("Sex"),
        {
            "woman": N_("Woman"),
            "man": N_("Man"),
            "other": N_("Other"),
            NOT_SAID: N_("Prefer not to say"),
        },
    ),
    "age_band": (
        N_("Age"),
        {
            "under_30": N_("Under 30"),
            "from_30": N_("30 to 39"),
            "from_40": N_("40 to 49"),
            "from_50": N_("50 to 59"),
            "from_60": N_("60 or over"),
            NOT_SAID: N_("Prefer not to say"),
        },
    ),
    "disability": (
        N_("Do you have a disability?"),
        {"yes": N_("Yes"), "no": N_("No"), NOT_SAID: N_("Prefer not to say")},
    ),
    "indigenous_language": (
        N_("Do you speak an indigenous language?"),
        {"yes": N_("Yes"), "no": N_("No"), NOT_SAID: N_("Prefer not to say")},
    ),
}
STAGES = ("applied", "tested", "sifted", "interviewed", "appointed")
STAGE_NAMES = {
    "applied": N_("Applied"),
    "tested": N_("Took the knowledge test"),
    "sifted": N_("Assessed in the evidence sift"),
    "interviewed": N_("Interviewed"),
    "appointed": N_("Appointed"),
}
NO_ANSWER = "no_answer"
NO_ANSWER_LABEL = N_("Did not answer the questionnaire")
_ENDED = (VacancyStatus.appointed, VacancyStatus.cancelled)


def _token(settings: Settings, application_id: int) -> str:
    key = crypto.installation_key(settings.resolved_secret_key(), "vacancy-monitoring")
    return crypto.mac_hex(key, f"application:{application_id}")


def questionnaire_open(vacancy: Vacancy) -> bool:
    return vacancy.status not in _ENDED


def answered(session: Session, settings: Settings, application: Application) -> bool:
    """Whether this application's questionnaire was answered (only its candidate is told)."""
    return session.get(MonitoringResponse, _token(settings, application.id)) is not None


def answer_questionnaire(
    session: Session,
    settings: Settings,
    *,
    application: Application,
    user: User,
    answers: dict[str, str],
) -> None:
    """Store (or replace) the candidate's optional answers, apart from the application.

    Nothing is audited about the answers themselves: an entry naming the application would link
    them again. Unanswered questions count as "prefer not to say".
    """
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    vacancy = session.get(Vacancy, application.vacancy_id)
    if not questionnaire_open(vacancy):
        raise VacancyError(_("This competition has finished."), status_code=409)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, (_label, options) in QUESTIONS.items():
        value = (answers.get(key) or NOT_SAID).strip()
        if value not in options:
            errors[key] = _("Choose one of the options.")
        values[key] = value
    if errors:
        raise VacancyError(_("Some answers need changes."), errors=errors, field=next(iter(errors)))
    token = _token(settings, application.id)
    row = session.get(MonitoringResponse, token) or MonitoringResponse(
        token=token, vacancy_id=vacancy.id
    )
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()


def _stage_members(session: Session, vacancy: Vacancy) -> dict[str, set[int]]:
    """Return, per stage, the ids of the applications that reached it."""
    applications = session.exec(
        select(Application.id, Application.status).where(Application.vacancy_id == vacancy.id)
    ).all()
    tested = set(
        session.exec(
            select(TestAttempt.application_id).where(TestAttempt.vacancy_id == vacancy.id)
        ).all()
    )

    def scored(stage: str) -> set[int]:
        found = set()
        for model in (PanelScore, ConsensusScore):
            found |= set(
                session.exec(
                    select(model.application_id).where(
                        model.vacancy_id == vacancy.id, model.stage == stage
                    )
                ).all()
            )
        return found

    return {
        "applied": {a for a, _s in applications},
        "tested": tested,
        "sifted": scored("sift"),
        "interviewed": scored("interview"),
        "appointed": {a for a, s in applications if s == ApplicationStatus.appointed},
    }


@dataclass
class Cell:
    count: int | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.count is None


@dataclass
class StageRow:
    stage: str
    total: int | None  # None: the whole row is suppressed
    cells: dict[str, Cell]


@dataclass
class QuestionTable:
    key: str
    label: str
    options: dict[str, str]  # code -> label (message id), the "no answer" column last
    rows: list[StageRow]


def suppress(counts: dict[str, int], minimum: int = MIN_CELL) -> tuple[int | None, dict]:
    """Return a row's total and its cells with small counts suppressed.

    A row of fewer than `minimum` people is suppressed whole. Otherwise every cell of 1 to
    `minimum - 1` is suppressed; if exactly one is, the smallest other cell is suppressed too
    (complementary suppression), so no suppressed cell equals the total minus the cells shown.
    """
    total = sum(counts.values())
    if total < minimum:
        return None, {k: Cell(None) for k in counts}
    hidden = {k for k, n in counts.items() if 0 < n < minimum}
    if len(hidden) == 1:
        others = sorted((n, k) for k, n in counts.items() if k not in hidden)
        if others:
            hidden.add(others[0][1])
    return total, {k: Cell(None if k in hidden else n) for k, n in counts.items()}


def monitoring_statistics(
    session: Session, settings: Settings, vacancy: Vacancy
) -> list[QuestionTable]:
    """Return, per question, how many people at each stage gave each answer (suppressed)."""
    members = _stage_members(session, vacancy)
    answers = {
        r.token: r
        for r in session.exec(
            select(MonitoringResponse).where(MonitoringResponse.vacancy_id == vacancy.id)
        )
    }
    by_application = {a: answers.get(_token(settings, a)) for a in members["applied"]}
    tables = []
    for key, (label, options) in QUESTIONS.items():
        columns = {**options, NO_ANSWER: NO_ANSWER_LABEL}
        rows = []
        for stage in STAGES:
            counts = dict.fromkeys(columns, 0)
            for application_id in members[stage]:
                row = by_application.get(application_id)
                counts[getattr(row, key) if row is not None else NO_ANSWER] += 1
            total, cells = suppress(counts)
            rows.append(StageRow(stage, total, cells))
        tables.append(QuestionTable(key, label, columns, rows))
    return tables


def response_count(session: Session, vacancy: Vacancy) -> int:
    return len(
        session.exec(
            select(MonitoringResponse.token).where(MonitoringResponse.vacancy_id == vacancy.id)
        ).all()
    )


def expiring_competitions(session: Session, now: datetime | None = None) -> list[Vacancy]:
    """Return the ended competitions whose monitoring answers are past their retention."""
    cutoff = now_or(now) - timedelta(days=RETENTION_DAYS)
    with_answers = select(MonitoringResponse.vacancy_id).distinct()
    return list(
        session.exec(
            select(Vacancy).where(
                col(Vacancy.id).in_(with_answers),
                or_(
                    col(Vacancy.appointed_at) < cutoff,
                    col(Vacancy.cancelled_at) < cutoff,
                ),
            )
        )
    )


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete the monitoring answers of competitions ended more than `RETENTION_DAYS` ago;
    return how many were deleted (one audit entry per competition, counting them)."""
    deleted = 0
    for vacancy in expiring_competitions(session, now):
        count = response_count(session, vacancy)
        session.execute(
            delete(MonitoringResponse).where(col(MonitoringResponse.vacancy_id) == vacancy.id)
        )
        audit.record(
            session,
            action="vacancy.monitoring_purged",
            actor=None,
            entity_type="vacancy",
            entity_id=vacancy.id,
            after={"count": count},
        )
        deleted += count
    return deleted
