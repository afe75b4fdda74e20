"""Dependencies declared once and imported by every router.

`require(Permission.X)` is how a route declares what it needs; `public` is how a route declares
that it needs nothing. The route × role matrix test reads these declarations back.
"""

from __future__ import annotations

import hmac
import sys
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser

from backend.auth import service as auth_service
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.i18n import _
from backend.request_limits import RequestTooLarge

SESSION_COOKIE = "merito_session"
LANG_COOKIE = "merito_lang"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# The anonymous reporting channel. Staff sessions are never looked up on these paths, so a
# reporter's visit neither touches nor is confused with a staff session that the same browser
# may hold; forms there carry the signed anonymous CSRF token instead.
ANONYMOUS_PATH_PREFIXES = ("/report",)

# Multipart forms are parsed in memory, never spooled to temporary files: an uploaded file is
# plaintext until a domain encrypts it. What one request may send is capped by
# settings.max_request_bytes (backend/request_limits.py checks every body; read_form again).
MAX_FORM_FILES = 10


def is_anonymous_path(path: str) -> bool:
    """Return whether `path` belongs to the anonymous reporting channel."""
    return any(
        path == prefix or path.startswith(prefix + "/") for prefix in ANONYMOUS_PATH_PREFIXES
    )


class NotAuthenticated(HTTPException):
    """401: no valid session. Pages answer with the sign-in form, the API with JSON."""

    def __init__(self, *, expired: bool = False) -> None:
        detail = (
            _("Your session has expired. Please sign in again.")
            if expired
            else _("Please sign in to continue.")
        )
        super().__init__(status_code=401, detail=detail)
        self.expired = expired


# Dependencies without I/O are `async`: FastAPI runs a plain `def` dependency in the thread
# pool, and each such hop costs more than the dependency itself.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def optional_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal | None:
    """Return who is signed in, or None. Cached on the request."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    request.state.db = session
    if is_anonymous_path(request.url.path):
        request.state.principal = None
        request.state.session_expired = False
        return None
    lookup = auth_service.resolve_session(session, settings, request.cookies.get(SESSION_COOKIE))
    # End the read transaction: the connection goes back to the pool now, not after the route,
    # which runs in another worker thread. Held across that wait, connections and threads ran
    # out together under load (every thread waiting for a connection, every connection waiting
    # for a thread) until the pool timed out (tests/integration/test_concurrent_pages.py).
    session.commit()
    principal = lookup.principal
    if principal is not None and principal.session.pending_second_factor:
        # Half signed in: only the second-factor step may use this session.
        request.state.second_factor_principal = principal
        principal = None
    request.state.principal = principal
    request.state.session_expired = lookup.expired
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


# No I/O here, so no trip through the thread pool: async, run on the event loop.
async def current_principal(request: Request, principal: OptionalPrincipal) -> Principal:
    """Return the signed-in principal or raise 401."""
    if principal is None:
        raise NotAuthenticated(expired=getattr(request.state, "session_expired", False))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission):
    """Dependency: 401 without a session, 403 unless the principal holds `permission`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise HTTPException(status_code=403, detail=_("You do not have permission to do this."))
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


async def _public() -> None:
    return None


_public.public = True  # type: ignore[attr-defined]
# Declares a route that anyone may use, signed in or not.
public = Depends(_public)


async def _reporter_session() -> None:
    return None


_reporter_session.reporter = True  # type: ignore[attr-defined]
# Declares a reporting-channel route that needs no account but the reporter's own receipt
# session (checked by the route through the reporting service; 401 without it).
reporter_session = Depends(_reporter_session)


async def csrf_protect(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """Refuse unsafe requests without a valid CSRF token (form field or X-CSRF-Token header).

    Signed-in users must send their session's token. Pages shown without a session (sign-in,
    the reporting channel) carry a signed, time-limited token instead, so they need no cookie.
    Cross-site requests are also refused by Origin.
    """
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") != expected and not _forwarded_origin_ok(request, origin):
            raise HTTPException(status_code=403, detail=_("Cross-site request refused."))
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await read_form(request)
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    # The session lookup queries the database: run it off the event loop, which must stay free
    # to finish other requests meanwhile, and end its read transaction so the connection goes
    # back to the pool while this request waits for a worker thread to run its route.
    principal = await run_in_threadpool(_principal_then_release, request, session, settings)
    if principal is None:
        principal = getattr(request.state, "second_factor_principal", None)
    if principal is not None and not is_anonymous_path(request.url.path):
        valid = token is not None and _same(token, principal.session.csrf_token)
    else:
        valid = token is not None and auth_service.check_anonymous_csrf_token(
            settings.resolved_secret_key(), token
        )
    if not valid:
        raise HTTPException(
            status_code=403,
            detail=_(
                "This form has expired or was not sent from Mérito. Reload the page and try again."
            ),
        )


def _principal_then_release(request: Request, session, settings: Settings) -> Principal | None:
    principal = optional_principal(request, session, settings)
    session.commit()
    return principal


def _forwarded_origin_ok(request: Request, origin: str) -> bool:
    proto = request.headers.get("x-forwarded-proto")
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return bool(proto) and origin.rstrip("/") == f"{proto}://{host}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def reload_principal(request: Request) -> None:
    """Reload the signed-in person's rows if a rollback expired them.

    Error pages are rendered after the request's database session has closed. A route that
    rolled back before refusing (403/404/409) leaves the user and session rows expired and
    detached, and the page would fail reading them; they are reloaded here, in a session of
    their own, so every refusal renders as the refusal it is.
    """
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    principal = getattr(request.state, "principal", None) or getattr(
        request.state, "second_factor_principal", None
    )
    if principal is None:
        return
    stale = [row for row in (principal.user, principal.session) if inspect(row).expired_attributes]
    if not stale:
        return
    try:
        with Session(request.app.state.engine, expire_on_commit=False) as db:
            for row in stale:
                owner = inspect(row).session
                if owner is not None:
                    owner.refresh(row)
                else:
                    db.add(row)
                    db.refresh(row)
    except SQLAlchemyError:
        # Better a page without the person's name than no page: shown as signed out.
        request.state.principal = None
        request.state.second_factor_principal = None


def csrf_token_for(request: Request) -> str:
    """Return the CSRF token forms on this page must carry."""
    if is_anonymous_path(request.url.path):
        return auth_service.anonymous_csrf_token(request.app.state.settings.resolved_secret_key())
    principal = getattr(request.state, "principal", None) or getattr(
        request.state, "second_factor_principal", None
    )
    if principal is not None:
        return principal.session.csrf_token
    return auth_service.anonymous_csrf_token(request.app.state.settings.resolved_secret_key())


class _InMemoryMultiPartParser(MultiPartParser):
    # Larger than any body the size limit lets through, so files never roll over to disk.
    spool_max_size = sys.maxsize


async def read_form(request: Request) -> FormData:
    """Return the request's form, parsing multipart bodies in memory only (cached).

    Routes reading `await request.form()` afterwards get this same parsed form.
    """
    cached = getattr(request, "_form", None)
    if cached is not None:
        return cached
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return await request.form()
    limit = request.app.state.settings.max_request_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(limit)

    async def limited():
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise RequestTooLarge(limit)
            yield chunk

    parser = _InMemoryMultiPartParser(
        request.headers, limited(), max_files=MAX_FORM_FILES, max_fields=1000
    )
    try:
        form = await parser.parse()
    except MultiPartException:
        raise HTTPException(
            status_code=400, detail=_("The form could not be read. Reload the page and try again.")
        ) from None
    # Starlette's Request caches its parsed form here; FastAPI's Form() parameters read it.
    request._form = form  # noqa: SLF001
    return form
