"""The candidate's side: apply, follow one's own application, take the test, see scores, appeal.

A candidate only ever reaches their own applications: anyone else's answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, FieldError, SettingsDep, form_id, form_int, require
from backend.errors import DomainError
from backend.i18n import _
from backend.web import is_htmx, kept_form, redirect, render

from .. import service
from ..models import Application
from ..schemas import ApplicationInput, test_answers_from_form
from .common import PublicVacancyDep, act_on_page, notice_context

router = APIRouter()
APPLY = [require(Permission.apply_to_vacancies)]


def _own_in_path(
    session: SessionDep, principal: CurrentPrincipal, application_id: int
) -> Application:
    return service.own_application(session, application_id=application_id, user=principal.user)


# A route parameter: the signed-in person's own application named by the path (404 otherwise).
OwnApplication = Annotated[Application, Depends(_own_in_path)]


@router.get("/applications", dependencies=APPLY)
def my_applications(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return render(
        request,
        "vacancies/my_applications.html",
        {
            "rows": service.my_applications(session, principal.user),
            "may_apply": service.may_apply(session, principal.user),
            "open": service.public_vacancies(session),
        },
    )


def _apply_context(session, vacancy, principal, values=None, errors=None) -> dict[str, Any]:
    existing = service.application_of(session, vacancy, principal.user)
    if values is None:
        values = {"answers": {}, "evidence": {}}
        if existing is not None:
            values = {
                "answers": dict(existing.eligibility_answers),
                "evidence": service.evidence_of(session, existing),
            }
    context = notice_context(session, vacancy)
    context.update(
        {
            "existing": existing,
            "values": values,
            "errors": errors or {},
            "may_apply": service.may_apply(session, principal.user),
            "open": service.window_open(vacancy),
            "internal": principal.user.employee_id is not None,
        }
    )
    return context


@router.get("/vacancies/{vacancy_id:int}/apply", dependencies=APPLY)
def apply_form(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy: PublicVacancyDep
):
    return render(request, "vacancies/apply.html", _apply_context(session, vacancy, principal))


def _received(application: Application) -> str:
    """What became of an application: a warning when it fails the screening."""
    if application.screening_failures:
        return _(
            "Your application was received, but it does not meet the eligibility requirements."
        )
    return _("Your application was received.")


@router.post("/vacancies/{vacancy_id:int}/apply", dependencies=APPLY)
async def apply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: PublicVacancyDep,
):
    data = ApplicationInput.from_form(
        await request.form(), eligibility=vacancy.eligibility, criteria=vacancy.criteria
    )
    values = {"answers": data.answers, "evidence": data.evidence}
    return run_action(
        request,
        session,
        lambda: service.apply(session, settings, vacancy=vacancy, user=principal.user, data=data),
        message=_received,
        level=lambda application: "warning" if application.screening_failures else "success",
        to=lambda application: f"/applications/{application.id}",
        on_error=lambda err: render(
            request,
            "vacancies/apply.html",
            _apply_context(session, vacancy, principal, values, err.form_errors()),
            status_code=err.status_code,
        ),
        refusals="all",
    )


def _application_context(
    session: Session,
    settings: Settings,
    application: Application,
    *,
    form: str = "",
    errors: dict | None = None,
    values: dict | None = None,
) -> dict[str, Any]:
    vacancy = service.get_vacancy(session, application.vacancy_id)
    attempt = service.attempt_of(session, application)
    context = notice_context(session, vacancy)
    context.update(
        {
            "application": application,
            "evidence": service.evidence_of(session, application),
            "attempt": attempt,
            "time_left": service.time_left(attempt) if attempt else 0,
            "review_closes": service.review_window_closes(settings, vacancy),
            "result": service.own_result(session, application=application),
            "appeals": service.appeals_by(session, application),
            "appeal_open": service.appeal_open(vacancy),
            "adjustment": service.adjustment_of(session, application),
            "may_request_adjustment": service.may_request(session, vacancy, application),
            "monitoring_open": service.questionnaire_open(vacancy),
            "monitoring_answered": service.answered(session, settings, application),
            "my_slots": service.candidate_slots(session, vacancy, application),
            "error": "",
            "open": service.window_open(vacancy),
            "form": form,
            "errors": errors or {},
            "values": values or {},
        }
    )
    return context


@router.get("/applications/{application_id:int}", dependencies=APPLY)
def application_page(
    request: Request, session: SessionDep, settings: SettingsDep, application: OwnApplication
):
    kept = kept_form(request, f"/applications/{application.id}")
    return render(
        request,
        "vacancies/application.html",
        _application_context(session, settings, application, **kept),
    )


@router.post("/applications/{application_id:int}/withdraw", dependencies=APPLY)
def withdraw(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
):
    return act_on_page(
        request,
        session,
        lambda: service.withdraw(session, application=application, user=principal.user),
        message=_("Your application was withdrawn."),
        page=f"/applications/{application.id}",
    )


@router.post("/applications/{application_id:int}/review", dependencies=APPLY)
def request_review(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
    grounds: Annotated[str, Form()] = "",
):
    return act_on_page(
        request,
        session,
        lambda: service.request_review(
            session, settings, application=application, user=principal.user, grounds=grounds
        ),
        message=_("Your request for a review was sent to HR."),
        page=f"/applications/{application.id}",
        form="review",
        values={"grounds": grounds},
    )


@router.post("/applications/{application_id:int}/appeal", dependencies=APPLY)
def appeal(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
    grounds: Annotated[str, Form()] = "",
):
    return act_on_page(
        request,
        session,
        lambda: service.submit_appeal(
            session, application=application, user=principal.user, grounds=grounds
        ),
        message=_("Your appeal was submitted. You will see the decision and its reasons here."),
        page=f"/applications/{application.id}",
        form="appeal",
        values={"grounds": grounds},
    )


# --- the knowledge test -------------------------------------------------------------------------


@router.post("/applications/{application_id:int}/test/start", dependencies=APPLY)
def start_test(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
):
    return act_on_page(
        request,
        session,
        lambda: service.start_test(session, application=application, user=principal.user),
        message=None,
        page=f"/applications/{application.id}",
        to=f"/applications/{application.id}/test",
    )


@router.get("/applications/{application_id:int}/test", dependencies=APPLY)
def test_page(request: Request, session: SessionDep, application: OwnApplication):
    attempt = service.attempt_of(session, application)
    if attempt is None:
        return redirect(request, f"/applications/{application.id}")
    context = {
        "vacancy": service.get_vacancy(session, application.vacancy_id),
        "application": application,
        "attempt": attempt,
        "questions": service.questions_of(session, attempt),
        "answers": service.answers_of(session, attempt),
        "time_left": service.time_left(attempt),
        "error": "",
        "formats": service.test_format(session, application),
        "extra_minutes": service.granted_minutes(session, application),
    }
    return render(request, "vacancies/test.html", context)


def _answer_refused(request: Request, err: FieldError | DomainError, question: int | None):
    """Say by the answer why it was not saved (htmx), or refuse the form (no script)."""
    # A refusal without a field (the time is up) refuses the answer chosen.
    field = err.field or "chosen"
    status_code = 422 if isinstance(err, FieldError) else err.status_code
    if is_htmx(request):
        return render(
            request,
            "vacancies/test.html",
            {"saved": False, "message": err.message, "question_id": question, "field": field},
            block="saved",
            status_code=422 if status_code == 409 else status_code,
        )
    if status_code == 422:
        raise FieldError(field, err.message) from None
    raise err


@router.post("/applications/{application_id:int}/test/answer", dependencies=APPLY)
def answer(
    request: Request,
    session: SessionDep,
    application: OwnApplication,
    question_id: Annotated[str, Form()] = "",
    chosen: Annotated[str, Form()] = "",
):
    attempt = service.require_attempt(session, application)
    question = None
    try:
        question = form_id(question_id, field="question_id", required=True)
        message = _("Choose one of the options.")
        option = form_int(chosen, field="chosen", low=0, required=True, message=message)
        service.answer(session, attempt=attempt, question_id=question, chosen=option)
    except (FieldError, DomainError) as err:
        session.rollback()
        return _answer_refused(request, err, question)
    session.commit()
    if is_htmx(request):
        saved = {"saved": True, "message": _("Saved"), "question_id": question}
        return render(request, "vacancies/test.html", saved, block="saved")
    return redirect(request, f"/applications/{application.id}/test")


@router.post("/applications/{application_id:int}/test/submit", dependencies=APPLY)
async def submit_test(
    request: Request, session: SessionDep, principal: CurrentPrincipal, application: OwnApplication
):
    attempt = service.require_attempt(session, application)
    answers = test_answers_from_form(await request.form(), attempt.question_ids)
    return act_on_page(
        request,
        session,
        lambda: service.submit(session, attempt=attempt, user=principal.user, answers=answers),
        message=_("Your test was handed in. It is marked when the test closes for everyone."),
        # Refused: back to the test page, which says why (a page at this POST-only URL would
        # hand the test in again on reload).
        page=f"/applications/{application.id}/test",
        to=f"/applications/{application.id}",
    )
