"""Sign-in and out, the dashboard, language, one's own account, health."""

from __future__ import annotations

import io
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlmodel import select

from backend import dashboard
from backend.auth import service as auth_service
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep
from backend.deps import (
    LANG_COOKIE,
    SESSION_COOKIE,
    OptionalPrincipal,
    SettingsDep,
    public,
    require,
)
from backend.i18n import LOCALES, _, set_locale
from backend.org.models import Employee, Position, Unit
from backend.web import flash, redirect, render, safe_next

router = APIRouter()


def _set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=settings.https,
        samesite="lax",
        max_age=settings.session_absolute_hours * 3600,
        path="/",
    )


@router.get("/login", dependencies=[public])
def login_form(request: Request, principal: OptionalPrincipal, next: str = "/"):
    if principal is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", dependencies=[public])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    try:
        user = auth_service.authenticate(session, settings, email=email, password=password)
    except auth_service.AuthError as err:
        return render(
            request,
            "auth/login.html",
            {"error": str(err), "email": email, "next": safe_next(next)},
            status_code=err.status_code,
        )
    token, row = auth_service.start_session(session, settings, user=user, password=password)
    session.commit()
    target = safe_next(next)
    if row.pending_second_factor:
        target = f"/login/second-factor?next={quote(target, safe='')}"
    response = redirect(request, target)
    _set_session_cookie(response, request, token)
    response.set_cookie(
        LANG_COOKIE, user.locale, samesite="lax", secure=settings.https, max_age=365 * 86400
    )
    return response


def _half_signed_in(request: Request) -> Principal | None:
    """Return the principal of a session that still owes its second factor, if any."""
    return getattr(request.state, "second_factor_principal", None)


def _qr_svg(text: str) -> str:
    """Return an inline SVG QR code of `text`, drawn on the server (no script, no other host)."""
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=4, border=2, xmldecl=False, svgclass="qr", lineclass=None
    )
    return buffer.getvalue().decode("utf-8")


def _second_factor_page(
    request: Request, session, pending: Principal, *, next: str, error: str = "", status=200
):
    from markupsafe import Markup

    enrolment = None
    if pending.user.totp_confirmed_at is None:
        secret = auth_service.totp_draft_secret(session, user=pending.user)
        session.commit()
        uri = auth_service.totp_uri(pending.user)
        enrolment = {
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": uri,
            # segno's output is markup we generated from our own URI, not user input.
            "qr": Markup(_qr_svg(uri)),  # noqa: S704
        }
    return render(
        request,
        "auth/second_factor.html",
        {"next": safe_next(next), "enrolment": enrolment, "error": error},
        status_code=status,
    )


@router.get("/login/second-factor", dependencies=[public])
def second_factor_form(
    request: Request, session: SessionDep, principal: OptionalPrincipal, next: str = "/"
):
    if principal is not None:
        return redirect(request, safe_next(next))
    pending = _half_signed_in(request)
    if pending is None:
        return redirect(request, f"/login?next={quote(safe_next(next), safe='')}")
    return _second_factor_page(request, session, pending, next=next)


@router.post("/login/second-factor", dependencies=[public])
def second_factor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    if principal is not None:
        return redirect(request, safe_next(next))
    pending = _half_signed_in(request)
    if pending is None:
        return redirect(request, f"/login?next={quote(safe_next(next), safe='')}")
    try:
        auth_service.verify_second_factor(
            session, settings, user=pending.user, session_row=pending.session, code=code
        )
    except auth_service.AuthError as err:
        if err.status_code == 429:
            response = render(
                request,
                "auth/login.html",
                {"error": str(err), "email": pending.user.email, "next": safe_next(next)},
                status_code=429,
            )
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return _second_factor_page(
            request, session, pending, next=next, error=str(err), status=err.status_code
        )
    session.commit()
    return redirect(request, safe_next(next))


@router.post("/login/second-factor/cancel", dependencies=[public])
def second_factor_cancel(request: Request, session: SessionDep, principal: OptionalPrincipal):
    pending = _half_signed_in(request)
    if pending is not None:
        auth_service.end_session(session, pending.session)
        session.commit()
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout", dependencies=[require(Permission.view_dashboard)])
def logout(request: Request, session: SessionDep, principal: OptionalPrincipal):
    if principal is not None:
        auth_service.end_session(session, principal.session)
        session.commit()
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", dependencies=[require(Permission.view_dashboard)])
def home(request: Request, session: SessionDep, principal: OptionalPrincipal):
    panels = dashboard.panels_for(session, principal)
    return render(request, "dashboard.html", {"panels": panels})


@router.post("/language", dependencies=[public])
def switch_language(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    settings: SettingsDep,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
):
    if lang not in LOCALES:
        lang = settings.default_locale
    if principal is not None:
        principal.user.locale = lang
        session.add(principal.user)
        session.commit()
    set_locale(lang)
    response = redirect(request, safe_next(next))
    response.set_cookie(
        LANG_COOKIE, lang, samesite="lax", secure=settings.https, max_age=365 * 86400
    )
    return response


@router.get("/account", dependencies=[require(Permission.manage_own_account)])
def account(request: Request, session: SessionDep, principal: OptionalPrincipal):
    employee = (
        session.get(Employee, principal.user.employee_id) if principal.user.employee_id else None
    )
    unit = session.get(Unit, employee.unit_id) if employee else None
    position = (
        session.get(Position, employee.position_id) if employee and employee.position_id else None
    )
    return render(
        request,
        "auth/account.html",
        {"employee": employee, "unit": unit, "position": position, "errors": {}},
    )


@router.post("/account/password", dependencies=[require(Permission.manage_own_account)])
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
):
    errors: dict[str, str] = {}
    if new_password != confirm_password:
        errors["confirm_password"] = _("The two new passwords do not match.")
    else:
        try:
            auth_service.change_password(
                session,
                settings,
                user=principal.user,
                current=current_password,
                new=new_password,
            )
        except auth_service.AuthError as err:
            errors["new_password"] = str(err)
    if errors:
        session.rollback()
        return render(
            request,
            "auth/account.html",
            {"errors": errors, "employee": None, "unit": None, "position": None},
            status_code=422,
            block="password_form",
        )
    flash(request, _("Your password was changed."))
    session.commit()
    return redirect(request, "/account")


@router.get("/healthz", dependencies=[public])
def healthz(session: SessionDep):
    try:
        session.exec(select(text("1"))).one()
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": "ok"}
