"""The public side: the vacancy board, each notice with its SHA-256, candidate registration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from backend.auth import service as auth_service
from backend.db import SessionDep
from backend.deps import (
    SESSION_COOKIE,
    OptionalPrincipal,
    SettingsDep,
    delete_cookie,
    held_principal,
    on_account_hold,
    public,
)
from backend.i18n import get_locale
from backend.web import redirect, render

from .. import service
from ..models import AppointmentStatus, VacancyStatus
from ..schemas import RegistrationForm
from .common import PublicVacancyDep, notice_context

router = APIRouter()

# The one page a signed-in candidate who has not confirmed their address may open (besides the
# public ones): it offers a new link and signing out.
CONFIRM_PAGE = "/candidates/confirm-email"


@router.get("/vacancies", dependencies=[public])
def board(request: Request, session: SessionDep, principal: OptionalPrincipal):
    vacancies = service.board_rows(session)
    return render(
        request,
        "vacancies/board.html",
        {"vacancies": vacancies, "open": {v.id: service.window_open(v) for v in vacancies}},
    )


def _notice_page(session, vacancy) -> dict:
    context = notice_context(session, vacancy)
    appointments = [
        a
        for a in service.appointments_of(session, vacancy)
        if a.status == AppointmentStatus.effective
    ]
    context.update(
        {
            "amendments": service.amendments(session, vacancy),
            "open": service.window_open(vacancy),
            "distribution": service.distribution(session, vacancy),
            "appointments": appointments,
            "neutralised": service.neutralised(session, vacancy)
            if vacancy.status not in (VacancyStatus.published, VacancyStatus.testing)
            else [],
            "approvers": service.user_names(session, [a.approved_by_id for a in appointments]),
        }
    )
    return context


@router.get("/vacancies/{vacancy_id:int}", dependencies=[public])
def notice(
    request: Request, session: SessionDep, principal: OptionalPrincipal, vacancy: PublicVacancyDep
):
    return render(request, "vacancies/notice.html", _notice_page(session, vacancy))


@router.get("/vacancies/{vacancy_id:int}/notice.json", dependencies=[public])
def notice_file(vacancy: PublicVacancyDep):
    """The notice exactly as hashed: its SHA-256 is the one shown on the notice page."""
    return Response(
        service.canonical_notice(vacancy.notice or {}),
        media_type="application/json",
        headers={
            "Content-Disposition": f'inline; filename="{vacancy.reference}-notice.json"',
            "X-Notice-SHA256": vacancy.notice_sha256,
        },
    )


# --- candidate accounts -------------------------------------------------------------------------


def _register_context(values: dict | None = None, errors: dict | None = None) -> dict:
    return {
        "values": values or {"first_name": "", "last_names": "", "email": ""},
        "errors": errors or {},
    }


@router.get("/candidates/register", dependencies=[public])
def register_form(request: Request, principal: OptionalPrincipal):
    return render(request, "vacancies/register.html", _register_context())


@router.post("/candidates/register", dependencies=[public])
def register(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
    form: Annotated[RegistrationForm, Form()],
):
    try:
        registration = service.register(session, settings, **form.model_dump(), locale=get_locale())
    except service.VacancyError as err:
        session.rollback()
        return render(
            request,
            "vacancies/register.html",
            _register_context(form.values(), err.errors or {"email": str(err)}),
            status_code=err.status_code,
        )
    session.commit()
    # A taken address gets the same page as a new one; its owner is told by mail instead.
    sent = service.send_registration_mail(settings, registration)
    return render(
        request, "vacancies/register_done.html", {"email": registration.email, "sent": sent}
    )


@router.post("/candidates/resend", dependencies=[public])
def resend(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
    email: Annotated[str, Form()] = "",
):
    found = service.new_link(session, email=email)
    session.commit()
    service.send_new_link(settings, found)
    return render(request, "vacancies/register_done.html", {"email": email, "sent": True})


@on_account_hold
def _confirm_first(session, user) -> str | None:
    """Send a signed-in candidate who has not confirmed their address to CONFIRM_PAGE."""
    return CONFIRM_PAGE if service.awaiting_confirmation(session, user) else None


@router.get(CONFIRM_PAGE, dependencies=[public])
def confirm_email_page(request: Request, principal: OptionalPrincipal):
    held = held_principal(request)
    if held is None:
        return redirect(request, "/" if principal is not None else "/login")
    return render(request, "vacancies/confirm_email.html", {"email": held.user.email})


@router.post(CONFIRM_PAGE + "/sign-out", dependencies=[public])
def confirm_email_sign_out(request: Request, session: SessionDep, principal: OptionalPrincipal):
    held = held_principal(request)
    response = redirect(request, "/login")
    if held is not None:
        auth_service.end_session(session, held.session)
        session.commit()
        delete_cookie(response, request.app.state.settings, SESSION_COOKIE)
    return response


@router.get("/candidates/verify/{token}", dependencies=[public])
def verify_form(request: Request, principal: OptionalPrincipal, token: str):
    # Confirming takes a button press (POST): link scanners that open mail links do not confirm.
    return render(request, "vacancies/verify.html", {"token": token, "done": False})


@router.post("/candidates/verify/{token}", dependencies=[public])
def verify(request: Request, session: SessionDep, principal: OptionalPrincipal, token: str):
    try:
        user = service.verify(session, token=token)
    except service.VacancyError as err:
        session.rollback()
        return render(
            request,
            "vacancies/verify.html",
            {"token": token, "done": False, "error": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    return render(request, "vacancies/verify.html", {"done": True, "email": user.email})
