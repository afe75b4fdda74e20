"""The candidate's side: apply, follow one's own application, take the test, see scores, appeal.

A candidate only ever reaches their own applications: anyone else's answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import _
from backend.web import flash, is_htmx, redirect, render

from . import accounts, applications, merit, service, testing
from .applications import ApplicationInput
from .http import public_vacancy_or_404, raise_http
from .models import Application, VacancyStatus
from .public_routes import notice_context
from .service import VacancyError

router = APIRouter()
api_router = APIRouter(tags=["vacancies"])
APPLY = [require(Permission.apply_to_vacancies)]


def _own(session: Session, application_id: int, principal) -> Application:
    try:
        return applications.own_application(
            session, application_id=application_id, user=principal.user
        )
    except VacancyError as err:
        raise_http(err)


@router.get("/applications", dependencies=APPLY)
def my_applications(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return render(
        request,
        "vacancies/my_applications.html",
        {
            "rows": applications.my_applications(session, principal.user),
            "may_apply": accounts.may_apply(session, principal.user),
            "open": service.public_vacancies(session),
        },
    )


def _apply_context(session, vacancy, principal, values=None, errors=None) -> dict[str, Any]:
    existing = applications.application_of(session, vacancy, principal.user)
    if values is None:
        values = {"answers": {}, "evidence": {}}
        if existing is not None:
            values = {
                "answers": dict(existing.eligibility_answers),
                "evidence": applications.evidence_of(session, existing),
            }
    context = notice_context(session, vacancy)
    context.update(
        {
            "existing": existing,
            "values": values,
            "errors": errors or {},
            "may_apply": accounts.may_apply(session, principal.user),
            "open": service.window_open(vacancy),
            "internal": principal.user.employee_id is not None,
        }
    )
    return context


@router.get("/vacancies/{vacancy_id:int}/apply", dependencies=APPLY)
def apply_form(request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy_id: int):
    vacancy = public_vacancy_or_404(session, vacancy_id)
    return render(request, "vacancies/apply.html", _apply_context(session, vacancy, principal))


@router.post("/vacancies/{vacancy_id:int}/apply", dependencies=APPLY)
async def apply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy_id: int,
):
    vacancy = public_vacancy_or_404(session, vacancy_id)
    form = await request.form()
    data = ApplicationInput(
        answers={q["key"]: str(form.get(f"answer_{q['key']}", "")) for q in vacancy.eligibility},
        evidence={
            c["competency"]: str(form.get(f"evidence_{c['competency']}", ""))
            for c in vacancy.criteria
        },
    )
    try:
        application = applications.apply(
            session, settings, vacancy=vacancy, user=principal.user, data=data
        )
    except VacancyError as err:
        session.rollback()
        values = {"answers": data.answers, "evidence": data.evidence}
        errors = err.errors or {"form": str(err)}
        return render(
            request,
            "vacancies/apply.html",
            _apply_context(session, vacancy, principal, values, errors),
            status_code=err.status_code,
        )
    session.commit()
    if application.screening_failures:
        flash(
            request,
            _("Your application was received, but it does not meet the eligibility requirements."),
            "warning",
        )
    else:
        flash(request, _("Your application was received."))
    session.commit()
    return redirect(request, f"/applications/{application.id}")


def _application_context(
    session: Session, settings: Settings, application: Application, error: str = ""
) -> dict[str, Any]:
    vacancy = service.get_vacancy(session, application.vacancy_id)
    attempt = testing.attempt_of(session, application)
    context = notice_context(session, vacancy)
    context.update(
        {
            "application": application,
            "evidence": applications.evidence_of(session, application),
            "attempt": attempt,
            "time_left": testing.time_left(attempt) if attempt else 0,
            "review_closes": service.review_window_closes(settings, vacancy),
            "result": merit.own_result(session, application=application),
            "appeals": merit.appeals_by(session, application),
            "appeal_open": vacancy.status == VacancyStatus.results
            and vacancy.appeal_closes_at is not None
            and service.now_or(None) <= vacancy.appeal_closes_at,
            "error": error,
            "open": service.window_open(vacancy),
        }
    )
    return context


@router.get("/applications/{application_id:int}", dependencies=APPLY)
def application_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application_id: int,
):
    application = _own(session, application_id, principal)
    return render(
        request, "vacancies/application.html", _application_context(session, settings, application)
    )


def _action_failed(request, session, settings, application, err: VacancyError):
    session.rollback()
    return render(
        request,
        "vacancies/application.html",
        _application_context(session, settings, application, str(err)),
        status_code=err.status_code,
    )


@router.post("/applications/{application_id:int}/withdraw", dependencies=APPLY)
def withdraw(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application_id: int,
):
    application = _own(session, application_id, principal)
    try:
        applications.withdraw(session, application=application, user=principal.user)
    except VacancyError as err:
        return _action_failed(request, session, settings, application, err)
    session.commit()
    flash(request, _("Your application was withdrawn."))
    session.commit()
    return redirect(request, f"/applications/{application.id}")


@router.post("/applications/{application_id:int}/review", dependencies=APPLY)
def request_review(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application_id: int,
    grounds: Annotated[str, Form()] = "",
):
    application = _own(session, application_id, principal)
    try:
        applications.request_review(
            session, settings, application=application, user=principal.user, grounds=grounds
        )
    except VacancyError as err:
        return _action_failed(request, session, settings, application, err)
    session.commit()
    flash(request, _("Your request for a review was sent to HR."))
    session.commit()
    return redirect(request, f"/applications/{application.id}")


@router.post("/applications/{application_id:int}/appeal", dependencies=APPLY)
def appeal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application_id: int,
    grounds: Annotated[str, Form()] = "",
):
    application = _own(session, application_id, principal)
    try:
        merit.submit_appeal(session, application=application, user=principal.user, grounds=grounds)
    except VacancyError as err:
        return _action_failed(request, session, settings, application, err)
    session.commit()
    flash(request, _("Your appeal was submitted. You will see the decision and its reasons here."))
    session.commit()
    return redirect(request, f"/applications/{application.id}")


# --- the knowledge test -------------------------------------------------------------------------


@router.post("/applications/{application_id:int}/test/start", dependencies=APPLY)
def start_test(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application_id: int,
):
    application = _own(session, application_id, principal)
    try:
        testing.start_test(session, application=application, user=principal.user)
    except VacancyError as err:
        return _action_failed(request, session, settings, application, err)
    session.commit()
    return redirect(request, f"/applications/{application.id}/test")


def _test_context(session, application, attempt, error: str = "", values=None) -> dict[str, Any]:
    vacancy = service.get_vacancy(session, application.vacancy_id)
    return {
        "vacancy": vacancy,
        "application": application,
        "attempt": attempt,
        "questions": testing.questions_of(session, attempt),
        "answers": values if values is not None else testing.answers_of(session, attempt),
        "time_left": testing.time_left(attempt),
        "error": error,
    }


@router.get("/applications/{application_id:int}/test", dependencies=APPLY)
def test_page(
    request: Request, session: SessionDep, principal: CurrentPrincipal, application_id: int
):
    application = _own(session, application_id, principal)
    attempt = testing.attempt_of(session, application)
    if attempt is None:
        return redirect(request, f"/applications/{application.id}")
    return render(request, "vacancies/test.html", _test_context(session, application, attempt))


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


@router.post("/applications/{application_id:int}/test/answer", dependencies=APPLY)
def answer(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    application_id: int,
    question_id: Annotated[str, Form()] = "",
    chosen: Annotated[str, Form()] = "",
):
    application = _own(session, application_id, principal)
    attempt = testing.attempt_of(session, application)
    question, option = _int(question_id), _int(chosen)
    if attempt is None or question is None or option is None:
        raise HTTPException(status_code=422, detail=_("Choose one of the options."))
    try:
        testing.answer(session, attempt=attempt, question_id=question, chosen=option)
    except VacancyError as err:
        session.rollback()
        if is_htmx(request):
            return render(
                request,
                "vacancies/test.html",
                {"saved": False, "message": str(err), "question_id": question},
                block="saved",
                status_code=422 if err.status_code == 409 else err.status_code,
            )
        raise_http(err)
    session.commit()
    if is_htmx(request):
        return render(
            request,
            "vacancies/test.html",
            {"saved": True, "message": _("Saved"), "question_id": question},
            block="saved",
        )
    return redirect(request, f"/applications/{application.id}/test")


@router.post("/applications/{application_id:int}/test/submit", dependencies=APPLY)
async def submit_test(
    request: Request, session: SessionDep, principal: CurrentPrincipal, application_id: int
):
    application = _own(session, application_id, principal)
    attempt = testing.attempt_of(session, application)
    if attempt is None:
        raise HTTPException(status_code=409, detail=_("Start the test first."))
    form = await request.form()
    answers: dict[int, int] = {}
    for question_id in attempt.question_ids:
        chosen = _int(form.get(f"q_{question_id}"))
        if chosen is not None:
            answers[question_id] = chosen
    try:
        testing.submit(session, attempt=attempt, user=principal.user, answers=answers)
    except VacancyError as err:
        session.rollback()
        attempt = testing.attempt_of(session, application)
        return render(
            request,
            "vacancies/test.html",
            _test_context(session, application, attempt, str(err)),
            status_code=err.status_code,
        )
    session.commit()
    flash(request, _("Your test was handed in. It is marked when the test closes for everyone."))
    session.commit()
    return redirect(request, f"/applications/{application.id}")
