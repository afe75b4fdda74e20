"""Sign-in and out, the dashboard, language, one's own account, health."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlmodel import Session

from backend import dashboard
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import (
    DEVICE_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    OptionalPrincipal,
    SettingsDep,
    delete_cookie,
    explain_hold,
    held_principal,
    on_account_hold,
    public,
    read_cookie,
    require,
    set_cookie,
)
from backend.i18n import LOCALES, N_, _, set_locale
from backend.org.models import Employee, Position, Unit
from backend.web import flash, redirect, render, safe_next

router = APIRouter()


def _set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = request.app.state.settings
    set_cookie(
        response, settings, SESSION_COOKIE, token, max_age=settings.session_absolute_hours * 3600
    )


def _set_language_cookie(response: Response, settings, lang: str) -> None:
    set_cookie(response, settings, LANG_COOKIE, lang, max_age=365 * 86400)


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
        user = auth_service.authenticate(
            session,
            settings,
            email=email,
            password=password,
            device=read_cookie(request, DEVICE_COOKIE),
        )
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
    return _signed_in(request, settings, user, token, target)


def _signed_in(request: Request, settings: Settings, user: User, token: str, target: str):
    """Return the redirect after a sign-in, with the session, language and device cookies."""
    response = redirect(request, target)
    _set_session_cookie(response, request, token)
    _set_language_cookie(response, settings, user.locale)
    # This browser now has its own budget of failed sign-ins for this account: someone
    # guessing elsewhere cannot lock its holder out of it.
    set_cookie(
        response,
        settings,
        DEVICE_COOKIE,
        auth_service.device_token(settings, user),
        max_age=auth_service.DEVICE_COOKIE_DAYS * 86400,
    )
    return response


@router.post("/logout", dependencies=[require(Permission.view_dashboard)])
def logout(request: Request, session: SessionDep, principal: OptionalPrincipal):
    if principal is not None:
        auth_service.end_session(session, principal.session)
        session.commit()
    response = redirect(request, "/login")
    delete_cookie(response, request.app.state.settings, SESSION_COOKIE)
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
    _set_language_cookie(response, settings, lang)
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


def _password_change_problems(
    session: Session, settings: Settings, principal: Principal, current: str, new: str, again: str
) -> dict[str, str]:
    """Change the principal's password, keeping their session; return problems by field.

    On a problem nothing is changed (the transaction is rolled back)."""
    errors: dict[str, str] = {}
    if new != again:
        errors["confirm_password"] = _("The two new passwords do not match.")
    else:
        try:
            auth_service.change_password(
                session,
                settings,
                user=principal.user,
                current=current,
                new=new,
                keep=principal.session,
            )
        except auth_service.AuthError as err:
            errors["new_password"] = str(err)
    if errors:
        session.rollback()
    return errors


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
    errors = _password_change_problems(
        session, settings, principal, current_password, new_password, confirm_password
    )
    if errors:
        return render(
            request,
            "auth/account.html",
            {"errors": errors, "employee": None, "unit": None, "position": None},
            status_code=422,
            block="password_form",
        )
    flash(request, _("Your password was changed. You were signed out everywhere else."))
    session.commit()
    return redirect(request, "/account")


# --- the first password ------------------------------------------------------------------------
# An account an administrator created has a password someone else knows: until its holder
# chooses their own, every route treats the session as held (backend/deps.py) and pages lead
# here, the one page it may use.

FIRST_PASSWORD_PAGE = "/account/first-password"  # noqa: S105 - a path, not a password


@on_account_hold
def _first_password(session, user) -> str | None:
    """Send an account whose password an administrator chose to FIRST_PASSWORD_PAGE."""
    return FIRST_PASSWORD_PAGE if auth_service.must_change_password(user) else None


explain_hold(
    FIRST_PASSWORD_PAGE,
    N_("Choose your own password first: change the password you were given."),
)


def _first_password_page(request: Request, errors: dict[str, str], status_code: int = 200):
    return render(request, "auth/first_password.html", {"errors": errors}, status_code=status_code)


@router.get(FIRST_PASSWORD_PAGE, dependencies=[public])
def first_password_form(request: Request, principal: OptionalPrincipal):
    if held_principal(request) is None or request.state.account_hold != FIRST_PASSWORD_PAGE:
        return redirect(request, "/" if principal is not None else "/login")
    return _first_password_page(request, {})


@router.post(FIRST_PASSWORD_PAGE, dependencies=[public])
def first_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
):
    held = held_principal(request)
    if held is None or request.state.account_hold != FIRST_PASSWORD_PAGE:
        return redirect(request, "/" if principal is not None else "/login")
    errors = _password_change_problems(
        session, settings, held, current_password, new_password, confirm_password
    )
    if errors:
        return _first_password_page(request, errors, status_code=422)
    session.commit()
    # The session was held when this request began: the message goes on it for the next page.
    held.session.flash = [
        *held.session.flash,
        {"level": "success", "message": _("Your password was changed. Welcome to Mérito.")},
    ]
    session.add(held.session)
    session.commit()
    return redirect(request, "/")


@router.post(FIRST_PASSWORD_PAGE + "/sign-out", dependencies=[public])
def first_password_sign_out(request: Request, session: SessionDep, principal: OptionalPrincipal):
    held = held_principal(request)
    response = redirect(request, "/login")
    if held is not None:
        auth_service.end_session(session, held.session)
        session.commit()
        delete_cookie(response, request.app.state.settings, SESSION_COOKIE)
    return response


@router.get("/healthz", dependencies=[public])
def healthz(session: SessionDep):
    try:
        session.execute(text("SELECT 1")).one()
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": "ok"}
