"""The second step of signing in (TOTP or a recovery code) and one's own two-step settings."""

from __future__ import annotations

import io
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from markupsafe import Markup
from sqlmodel import Session

from backend.auth import second_factor
from backend.auth import service as auth_service
from backend.auth.permissions import Permission
from backend.auth.service import AuthError, Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    OptionalPrincipal,
    SettingsDep,
    delete_cookie,
    public,
    require,
)
from backend.i18n import ngettext
from backend.web import redirect, render, safe_next

router = APIRouter()


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
    enrolment = None
    if pending.user.totp_confirmed_at is None:
        settings = request.app.state.settings
        secret = second_factor.totp_draft_secret(session, settings, user=pending.user)
        session.commit()
        uri = second_factor.totp_uri(settings, pending.user)
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
def second_factor_step(
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
        how = second_factor.verify_second_factor(
            session, settings, user=pending.user, session_row=pending.session, code=code
        )
    except AuthError as err:
        if err.status_code == 429:
            return _signed_out_for_too_many_codes(request, settings, pending, err, next=next)
        return _second_factor_page(
            request, session, pending, next=next, error=str(err), status=err.status_code
        )
    _tell_how_it_went(session, pending, how)
    session.commit()
    return redirect(request, safe_next(next))


def _tell_how_it_went(session: Session, pending: Principal, how: str) -> None:
    """After a recovery code, queue how many are left for the page the person lands on (the
    session was half-open, so `web.flash` cannot see it yet). After enrolment every page asks
    for recovery codes anyway (partials/flash.html)."""
    if how == "recovery":
        left = second_factor.recovery_codes_left(session, user=pending.user)
        _queue(
            pending,
            ngettext(
                "You signed in with a recovery code. %(num)d code is left: create new codes "
                "or set up your phone again soon.",
                "You signed in with a recovery code. %(num)d codes are left: create new codes "
                "or set up your phone again soon.",
                left,
            ),
            level="warning",
        )


def _queue(pending: Principal, message: str, *, level: str = "success") -> None:
    row = pending.session
    row.flash = [*row.flash, {"level": level, "message": message}]


def _signed_out_for_too_many_codes(
    request: Request, settings: Settings, pending: Principal, err: Exception, *, next: str
):
    """Return the sign-in page (429) and end the half-open session's cookie."""
    response = render(
        request,
        "auth/login.html",
        {"error": str(err), "email": pending.user.email, "next": safe_next(next)},
        status_code=429,
    )
    delete_cookie(response, settings, SESSION_COOKIE)
    return response


@router.post("/login/second-factor/cancel", dependencies=[public])
def second_factor_cancel(request: Request, session: SessionDep, principal: OptionalPrincipal):
    pending = _half_signed_in(request)
    if pending is not None:
        auth_service.end_session(session, pending.session)
        session.commit()
    response = redirect(request, "/login")
    delete_cookie(response, request.app.state.settings, SESSION_COOKIE)
    return response


# --- one's own two-step settings --------------------------------------------------------------


@router.get("/account/two-step", dependencies=[require(Permission.manage_own_account)])
def two_step_settings(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return render(request, "auth/two_step.html", _two_step_context(session, principal))


@router.post(
    "/account/two-step/recovery-codes", dependencies=[require(Permission.manage_own_account)]
)
def create_recovery_codes(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    codes = second_factor.new_recovery_codes(session, settings, user=principal.user)
    session.commit()
    response = render(
        request, "auth/two_step.html", {**_two_step_context(session, principal), "codes": codes}
    )
    # Shown once: no copy may stay in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _two_step_context(session: Session, principal: Principal) -> dict:
    user = principal.user
    return {
        "required": auth_service.needs_second_factor(principal.roles),
        "enrolled_at": user.totp_confirmed_at,
        "codes_at": user.recovery_codes_at,
        "codes_left": second_factor.recovery_codes_left(session, user=user),
        "codes": None,
    }
