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
from backend.deps import CurrentPrincipal, FieldError, SettingsDep, form_id, form_int, require
from backend.i18n import _
from backend.web import flash, is_htmx, keep_form, kept_form, redirect, render

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
    session: Session,
    settings: Settings,
    application: Application,
    error: str = "",
    *,
    form: str = "",
    errors: dict | None = None,
    values: dict | None = None,
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
            "form": form,
            "errors": errors or {},
            "values": values or {},
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
    kept = kept_form(request, f"/applications/{application.id}")
    return render(
        request,
        "vacancies/application.html",
        _application_context(session, settings, application, **kept),
    )


def _action_failed(
    request, session, application, err: VacancyError, *, form: str = "", values=None
):
    """Return to the application page, which says why and shows `form` again as typed.

    A redirect, not the page itself: a page shown at the action's POST-only URL would post it
    again on reload (issue #13).
    """
    session.rollback()
    page = f"/applications/{application.id}"
    if form:
        keep_form(request, page=page, form=form, errors=err.errors, values=values or {})
        session.commit()
    flash(request, str(err), "error")
    session.commit()
    return redirect(request, page)


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
        return _action_failed(request, session, application, err)
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
        return _action_failed(
            request, session, application, err, form="review", values={"grounds": grounds}
        )
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
        return _action_failed(
            request, session, application, err, form="appeal", values={"grounds": grounds}
        )
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
        return _action_failed(request, session, application, err)
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
    # ASCII only: str.isdigit() takes "²", which int() refuses.
    return int(text) if text.isascii() and text.isdigit() else None


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
    if attempt is None:
        raise HTTPException(status_code=409, detail=_("Start the test first."))
    question = None
    try:
        question = form_id(question_id, field="question_id", required=True)
        option = form_int(
            chosen, field="chosen", low=0, required=True, message=_("Choose one of the options.")
        )
        testing.answer(session, attempt=attempt, question_id=question, chosen=option)
    except (FieldError, VacancyError) as err:
        session.rollback()
        # A refusal without a field (the time is up) refuses the answer chosen.
        field = err.field or "chosen"
        message = err.message if isinstance(err, FieldError) else str(err)
        status_code = 422 if isinstance(err, FieldError) else err.status_code
        if is_htmx(request):
            return render(
                request,
                "vacancies/test.html",
                {"saved": False, "message": message, "question_id": question, "field": field},
                block="saved",
                status_code=422 if status_code == 409 else status_code,
            )
        if status_code == 422:
            raise FieldError(field, message) from None
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
        # Back to the test page, which says why (a page at this POST-only URL would hand the
        # test in again on reload).
        session.rollback()
        flash(request, str(err), "error")
        session.commit()
        return redirect(request, f"/applications/{application.id}/test")
    session.commit()
    flash(request, _("Your test was handed in. It is marked when the test closes for everyone."))
    session.commit()
    return redirect(request, f"/applications/{application.id}")
