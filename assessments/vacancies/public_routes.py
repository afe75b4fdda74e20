"""The public side: the vacancy board, each notice with its SHA-256, candidate registration."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel

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
from backend.i18n import _, get_locale
from backend.mail import MailError
from backend.web import redirect, render
from competency_framework import service as competency_service

from . import accounts, merit, service, testing
from .http import public_vacancy_or_404, user_names
from .models import AppointmentStatus, VacancyStatus
from .service import VacancyError

router = APIRouter()
api_router = APIRouter(tags=["vacancies"])

# The one page a signed-in candidate who has not confirmed their address may open (besides the
# public ones): it offers a new link and signing out.
CONFIRM_PAGE = "/candidates/confirm-email"


def notice_context(session, vacancy) -> dict[str, Any]:
    """Return what the notice page (and HR's copy of it) shows."""
    competencies = service.competency_names(session)
    domains = {d.code: d for d in service.domains(session)}
    return {
        "vacancy": vacancy,
        "competencies": competencies,
        "domains": domains,
        "shares": service.weight_shares(vacancy),
        "unit": service.hiring_unit(session, vacancy),
        "position": service.position_of(session, vacancy),
        "levels": {level.level: level for level in competency_service.scale(session)},
    }


@router.get("/vacancies", dependencies=[public])
def board(request: Request, session: SessionDep, principal: OptionalPrincipal):
    vacancies = service.public_vacancies(session)
    return render(
        request,
        "vacancies/board.html",
        {
            "vacancies": vacancies,
            "open": {v.id: service.window_open(v) for v in vacancies},
            "units": {v.id: service.hiring_unit(session, v) for v in vacancies},
        },
    )


@router.get("/vacancies/{vacancy_id:int}", dependencies=[public])
def notice(request: Request, session: SessionDep, principal: OptionalPrincipal, vacancy_id: int):
    vacancy = public_vacancy_or_404(session, vacancy_id)
    context = notice_context(session, vacancy)
    appointments = [
        a
        for a in merit.appointments_of(session, vacancy)
        if a.status == AppointmentStatus.effective
    ]
    context.update(
        {
            "amendments": service.amendments(session, vacancy),
            "open": service.window_open(vacancy),
            "distribution": merit.distribution(session, vacancy),
            "appointments": appointments,
            "neutralised": testing.neutralised(session, vacancy)
            if vacancy.status not in (VacancyStatus.published, VacancyStatus.testing)
            else [],
            "approvers": user_names(session, [a.approved_by_id for a in appointments]),
        }
    )
    return render(request, "vacancies/notice.html", context)


@router.get("/vacancies/{vacancy_id:int}/notice.json", dependencies=[public])
def notice_file(session: SessionDep, vacancy_id: int):
    """The notice exactly as hashed: its SHA-256 is the one shown on the notice page."""
    vacancy = public_vacancy_or_404(session, vacancy_id)
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
    first_name: Annotated[str, Form()] = "",
    last_names: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
):
    values = {"first_name": first_name, "last_names": last_names, "email": email}
    if password != password_again:
        return render(
            request,
            "vacancies/register.html",
            _register_context(values, {"password_again": _("The two passwords are not the same.")}),
            status_code=422,
        )
    try:
        registration = accounts.register(
            session,
            settings,
            email=email,
            first_name=first_name,
            last_names=last_names,
            password=password,
            locale=get_locale(),
        )
    except VacancyError as err:
        session.rollback()
        return render(
            request,
            "vacancies/register.html",
            _register_context(values, err.errors or {"email": str(err)}),
            status_code=err.status_code,
        )
    session.commit()
    # A taken address gets the same page as a new one; its owner is told by mail instead.
    sent = True
    try:
        if registration.user is not None:
            accounts.send_verification(settings, user=registration.user, token=registration.token)
        else:
            accounts.send_taken_notice(
                settings, email=registration.email, locale=registration.locale
            )
    except MailError:
        sent = False
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
    found = accounts.new_link(session, email=email)
    session.commit()
    if found is not None:
        user, token = found
        # The answer is the same either way: it must not reveal who has an account.
        with contextlib.suppress(MailError):
            accounts.send_verification(settings, user=user, token=token)
    return render(request, "vacancies/register_done.html", {"email": email, "sent": True})


@on_account_hold
def _confirm_first(session, user) -> str | None:
    """Send a signed-in candidate who has not confirmed their address to CONFIRM_PAGE."""
    return CONFIRM_PAGE if accounts.awaiting_confirmation(session, user) else None


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
        user = accounts.verify(session, token=token)
    except VacancyError as err:
        session.rollback()
        return render(
            request,
            "vacancies/verify.html",
            {"token": token, "done": False, "error": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    return render(request, "vacancies/verify.html", {"done": True, "email": user.email})


# --- JSON ---------------------------------------------------------------------------------------


class VacancySummaryOut(BaseModel):
    id: int
    reference: str
    title: str
    status: str
    open: bool
    closes_at: str | None
    notice_sha256: str


class NoticeOut(BaseModel):
    reference: str
    status: str
    notice_sha256: str
    notice: dict
    amendments: list[dict]


@api_router.get("/vacancies", response_model=list[VacancySummaryOut], dependencies=[public])
def vacancies_json(session: SessionDep) -> list[VacancySummaryOut]:
    """The public vacancy board."""
    return [
        VacancySummaryOut(
            id=v.id,
            reference=v.reference,
            title=v.title,
            status=v.status,
            open=service.window_open(v),
            closes_at=v.closes_at.isoformat() if v.closes_at else None,
            notice_sha256=v.notice_sha256,
        )
        for v in service.public_vacancies(session)
    ]


@api_router.get("/vacancies/{vacancy_id:int}", response_model=NoticeOut, dependencies=[public])
def notice_json(session: SessionDep, vacancy_id: int) -> NoticeOut:
    """One published notice, its SHA-256 and its amendments."""
    vacancy = public_vacancy_or_404(session, vacancy_id)
    return NoticeOut(
        reference=vacancy.reference,
        status=vacancy.status,
        notice_sha256=vacancy.notice_sha256,
        notice=vacancy.notice or {},
        amendments=[
            {
                "number": a.number,
                "reason": a.reason,
                "published_at": a.published_at.isoformat(),
                "previous_sha256": a.previous_sha256,
                "notice_sha256": a.notice_sha256,
                "changed": sorted(a.changes),
            }
            for a in service.amendments(session, vacancy)
        ],
    )
