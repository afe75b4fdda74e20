"""Applying: eligibility questions (screening with a review), written evidence, withdrawal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals import service as appraisal_service
from backend import audit, clock, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee

from ..events import APPLICATION_RECEIVED
from ..models import (
    Application,
    ApplicationEvidence,
    ApplicationStatus,
    Vacancy,
    VacancyStatus,
)
from ..schemas import ApplicationInput
from .accounts import account_of, may_apply
from .base import VacancyError, now_or, require_reason, review_window_closes, window_open
from .panel import membership
from .scoring import anonymous_in_sift

MAX_EVIDENCE = 6000
MIN_EVIDENCE = 20
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _record(session: Session, *, action: str, actor, application: Application, **kw) -> None:
    audit.record(
        session,
        action=action,
        actor=actor,
        entity_type="vacancy_application",
        entity_id=application.id,
        **kw,
    )


def _anonymous_code(session: Session, vacancy: Vacancy) -> str:
    while True:
        code = "C-" + crypto.random_code(_CODE_ALPHABET, 5)
        taken = session.exec(
            select(Application.id).where(
                Application.vacancy_id == vacancy.id, Application.anonymous_code == code
            )
        ).first()
        if taken is None:
            return code


def application_of(session: Session, vacancy: Vacancy, user: User) -> Application | None:
    return session.exec(
        select(Application).where(
            Application.vacancy_id == vacancy.id, Application.user_id == user.id
        )
    ).first()


def check_input(vacancy: Vacancy, data: ApplicationInput) -> tuple[dict, dict]:
    """Return (answers, evidence) checked against the notice, or raise VacancyError."""
    errors: dict[str, str] = {}
    answers: dict[str, str] = {}
    for question in vacancy.eligibility:
        value = (data.answers.get(question["key"]) or "").strip()
        if value not in ("yes", "no"):
            errors[f"answer_{question['key']}"] = _("Answer yes or no.")
        else:
            answers[question["key"]] = value
    evidence: dict[str, str] = {}
    for criterion in vacancy.criteria:
        code = criterion["competency"]
        text = (data.evidence.get(code) or "").strip()
        if len(text) < MIN_EVIDENCE:
            errors[f"evidence_{code}"] = _(
                "Describe what you did that shows this competency (at least %(n)s characters).",
                n=MIN_EVIDENCE,
            )
        elif len(text) > MAX_EVIDENCE:
            errors[f"evidence_{code}"] = _("Keep the evidence under 6,000 characters.")
        else:
            evidence[code] = text
    if errors:
        raise VacancyError(
            _("Some answers are missing or not valid."), errors=errors, field=next(iter(errors))
        )
    return answers, evidence


def apply(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    user: User,
    data: ApplicationInput,
    now: datetime | None = None,
) -> Application:
    """Submit (or, while the window is open, update) the user's application."""
    moment = now_or(now)
    if not window_open(vacancy, moment):
        raise VacancyError(
            _("Applications for this vacancy are closed."),
            status_code=409,
        )
    if not may_apply(session, user):
        raise VacancyError(
            _("Confirm your email address first: open the link we sent you."), status_code=403
        )
    if membership(session, vacancy, user) is not None:
        raise VacancyError(
            _("You sit on this competition's panel, so you cannot apply to it."), status_code=409
        )
    answers, evidence = check_input(vacancy, data)
    failures = [q["key"] for q in vacancy.eligibility if answers[q["key"]] != q["pass_answer"]]
    application = application_of(session, vacancy, user)
    created = application is None
    if application is None:
        employee = session.get(Employee, user.employee_id) if user.employee_id else None
        account = account_of(session, user)
        application = Application(
            vacancy_id=vacancy.id,
            user_id=user.id,
            employee_id=employee.id if employee else None,
            unit_id=employee.unit_id if employee else None,
            supervisor_employee_id=employee.supervisor_id if employee else None,
            is_internal=employee is not None,
            candidate_name=employee.full_name if employee else user.full_name,
            candidate_surnames=employee.last_name
            if employee
            else (account.last_names if account else ""),
            anonymous_code=_anonymous_code(session, vacancy),
            submitted_at=moment,
        )
    before = {
        "status": application.status,
        "screening_failures": list(application.screening_failures),
    }
    application.eligibility_answers = answers
    application.screening_failures = failures
    application.status = ApplicationStatus.screened_out if failures else ApplicationStatus.active
    application.updated_at = moment
    # A new screening result replaces any earlier review.
    application.review_requested_at = None
    application.review_grounds = ""
    application.review_decided_at = None
    application.review_decided_by_id = None
    application.review_reinstated = None
    application.review_reason = ""
    session.add(application)
    session.flush()
    for row in session.exec(
        select(ApplicationEvidence).where(ApplicationEvidence.application_id == application.id)
    ):
        session.delete(row)
    session.flush()
    for code, text in evidence.items():
        session.add(
            ApplicationEvidence(application_id=application.id, competency_code=code, text=text)
        )
    _record(
        session,
        action="vacancy.application_submitted" if created else "vacancy.application_updated",
        actor=user,
        application=application,
        before=None if created else before,
        after={
            "vacancy_id": vacancy.id,
            "status": application.status,
            "screening_failures": failures,
            "internal": application.is_internal,
        },
    )
    if created:
        publish(
            session,
            DomainEvent(
                APPLICATION_RECEIVED,
                payload={"vacancy_id": vacancy.id, "application_id": application.id},
            ),
        )
    return application


def withdraw(session: Session, *, application: Application, user: User) -> Application:
    """Withdraw one's own application (before the merit list is published)."""
    vacancy = session.get(Vacancy, application.vacancy_id)
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    if application.status in (
        ApplicationStatus.withdrawn,
        ApplicationStatus.appointed,
    ) or vacancy.status in (VacancyStatus.results, VacancyStatus.appointed):
        raise VacancyError(_("This application can no longer be withdrawn."), status_code=409)
    before = application.status
    application.status = ApplicationStatus.withdrawn
    session.add(application)
    _record(
        session,
        action="vacancy.application_withdrawn",
        actor=user,
        application=application,
        before={"status": before},
        after={"status": application.status},
    )
    return application


def request_review(
    session: Session,
    settings: Settings,
    *,
    application: Application,
    user: User,
    grounds: str,
    now: datetime | None = None,
) -> Application:
    """A screened-out candidate asks HR to review the screening, within the review window."""
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    if application.status != ApplicationStatus.screened_out:
        raise VacancyError(_("Only a screened-out application can be reviewed."), status_code=409)
    if application.review_requested_at is not None:
        raise VacancyError(_("You have already asked for a review."), status_code=409)
    vacancy = session.get(Vacancy, application.vacancy_id)
    closes = review_window_closes(settings, vacancy)
    moment = now_or(now)
    if vacancy.status != VacancyStatus.published or closes is None or moment > closes:
        raise VacancyError(_("The review window has closed."), status_code=409)
    grounds = require_reason(grounds, field="grounds")
    application.review_requested_at = moment
    application.review_grounds = grounds
    session.add(application)
    _record(
        session,
        action="vacancy.screening_review_requested",
        actor=user,
        application=application,
        after={"grounds": grounds},
    )
    return application


def decide_review(
    session: Session,
    *,
    application: Application,
    reinstate: bool | None,
    reason: str,
    actor: User,
) -> Application:
    """HR decides a screening review: reinstate the candidate or confirm the screening
    (`reinstate` None: no decision chosen, refused once the review is known to be waiting)."""
    if application.review_requested_at is None or application.review_decided_at is not None:
        raise VacancyError(_("There is no review waiting for a decision."), status_code=409)
    vacancy = session.get(Vacancy, application.vacancy_id)
    if vacancy.status != VacancyStatus.published:
        raise VacancyError(
            _("Reviews are decided before the knowledge test opens."), status_code=409
        )
    if reinstate is None:
        raise VacancyError(_("Choose a decision."), field="decision")
    reason = require_reason(reason)
    application.review_decided_at = clock.now()
    application.review_decided_by_id = actor.id
    application.review_reinstated = reinstate
    application.review_reason = reason
    if reinstate:
        application.status = ApplicationStatus.active
    session.add(application)
    _record(
        session,
        action="vacancy.screening_review_decided",
        actor=actor,
        application=application,
        before={"status": ApplicationStatus.screened_out},
        after={"status": application.status, "reinstated": reinstate, "reason": reason},
    )
    return application


def pending_reviews(session: Session, vacancy: Vacancy) -> list[Application]:
    return list(
        session.exec(
            select(Application).where(
                Application.vacancy_id == vacancy.id,
                col(Application.review_requested_at).is_not(None),
                col(Application.review_decided_at).is_(None),
            )
        )
    )


def my_applications(session: Session, user: User) -> list[tuple[Application, Vacancy]]:
    """Return the user's applications with their vacancies, newest first."""
    return list(
        session.exec(
            select(Application, Vacancy)
            .join(Vacancy, col(Vacancy.id) == Application.vacancy_id)
            .where(Application.user_id == user.id)
            .order_by(col(Application.id).desc())
        ).all()
    )


_APPLICATION = Application.__table__
_VACANCY = Vacancy.__table__
# Built once, read as rows: every start page asks it ("My applications").
_RECENT = (
    sa_select(
        _APPLICATION.c.id,
        _APPLICATION.c.status,
        _VACANCY.c.title,
        _VACANCY.c.status.label("vacancy_status"),
    )
    .join_from(_APPLICATION, _VACANCY, _VACANCY.c.id == _APPLICATION.c.vacancy_id)
    .where(_APPLICATION.c.user_id == bindparam("user_id"))
    .order_by(_APPLICATION.c.id.desc())
    .limit(bindparam("limit"))
)


def recent_applications(session: Session, user: User, limit: int) -> list:
    """The user's newest `limit` applications as rows of the application's `id` and `status`
    and its vacancy's `title` and `vacancy_status`: `my_applications`' first rows, cheaply."""
    return session.execute(_RECENT, {"user_id": user.id, "limit": limit}).all()


def own_application(session: Session, *, application_id: int, user: User) -> Application:
    """Return the user's own application; 404 for anyone else's (no hint that it exists)."""
    application = session.get(Application, application_id)
    if application is None or application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    return application


def evidence_of(session: Session, application: Application) -> dict[str, str]:
    return {
        row.competency_code: row.text
        for row in session.exec(
            select(ApplicationEvidence).where(ApplicationEvidence.application_id == application.id)
        )
    }


def record_read(
    session: Session,
    *,
    application: Application,
    actor: User,
    purpose: str,
    promotion_evidence: bool = False,
) -> None:
    """Audit that `actor` opened `application` (every read of an application is recorded),
    noting whether the page also showed the candidate's appraisal record."""
    after = {"purpose": purpose, "vacancy_id": application.vacancy_id}
    if promotion_evidence:
        after["promotion_evidence"] = True
    _record(
        session,
        action="vacancy.application_read",
        actor=actor,
        application=application,
        after=after,
    )


@dataclass
class CriterionLevel:
    """An internal candidate's current rating of one competency the vacancy assesses."""

    code: str
    required: int  # the level the vacancy requires
    current: int | None
    source: str
    rated_at: datetime | None

    @property
    def meets(self) -> bool:
        return self.current is not None and self.current >= self.required


@dataclass
class CandidateRecord:
    """What a competition may weigh of an internal candidate: issue 6's promotion evidence."""

    appraisals: list  # appraisal_service.AppraisalRecord, newest first (completed only)
    latest_rating: int | None
    mean_rating: float | None
    levels: list[CriterionLevel]  # in the order of the vacancy's criteria


def promotion_evidence(
    session: Session, *, vacancy: Vacancy, application: Application, for_panel: bool
) -> CandidateRecord | None:
    """Return an internal candidate's appraisal history and competency ratings, or None.

    Read through the appraisals service (never its tables). None for external candidates,
    and None for the panel while the evidence sift is anonymous: a cycle name, a unit's
    ratings or a rating history would identify the person the sift must see by code only.
    HR, who sees names throughout, sees it at every stage.
    """
    if not application.is_internal or application.employee_id is None:
        return None
    if application.vacancy_id != vacancy.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    if for_panel and anonymous_in_sift(vacancy):
        return None
    evidence = appraisal_service.promotion_evidence(session, employee_id=application.employee_id)
    ratings = {c.code: c for c in evidence.competencies}
    levels = []
    for criterion in vacancy.criteria:
        code = criterion["competency"]
        rating = ratings.get(code)
        levels.append(
            CriterionLevel(
                code=code,
                required=int(criterion["required_level"]),
                current=rating.current if rating else None,
                source=rating.source if rating else "",
                rated_at=rating.rated_at if rating else None,
            )
        )
    return CandidateRecord(
        appraisals=evidence.appraisals,
        latest_rating=evidence.latest_rating,
        mean_rating=evidence.mean_rating,
        levels=levels,
    )
