"""Dependencies declared once and imported by every router.

`require(Permission.X)` is how a route declares what it needs; `public` is how a route declares
that it needs nothing. The route × role matrix test reads these declarations back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser

from backend import crypto
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.i18n import _
from backend.request_limits import RequestTooLarge

SESSION_COOKIE = "merito_session"
LANG_COOKIE = "merito_lang"
# Held by a browser from the first page it is shown without a session; binds the CSRF tokens
# of such pages (sign-in above all) to that browser (auth.service.anonymous_csrf_token).
PRESESSION_COOKIE = "merito_presession"
# Given at each password sign-in: this browser signed in to this account before, and has its
# own budget of failed sign-ins (auth.service.authenticate).
DEVICE_COOKIE = "merito_device"
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


class AccountOnHold(HTTPException):
    """403: the account may not act yet (an address to confirm, its own password to choose:
    the reason `explain_hold` gave for `location`); pages go to `location`."""

    def __init__(self, location: str) -> None:
        reason = _hold_reasons.get(location)
        super().__init__(
            status_code=403,
            detail=_(reason)
            if reason
            else _(
                "Confirm your email address first: open the link we sent you, or ask for a new one."
            ),
        )
        self.location = location


# --- accounts that may not act yet --------------------------------------------------------------
# A domain registers `hook(session, user) -> path | None`: the path of the one page an account
# that is not usable yet may open (a self-registered candidate who has not confirmed their
# address: assessments/vacancies/service/accounts.py). Such a session is treated as signed out
# by every route: public pages show what anyone sees, every other route refuses it
# (`AccountOnHold`), so no route can forget the rule. Hooks run on every signed-in request:
# keep them one lookup.
AccountHoldHook = Callable[[Session, User], str | None]
_account_hold_hooks: list[AccountHoldHook] = []


def on_account_hold(hook: AccountHoldHook) -> AccountHoldHook:
    """Register `hook(session, user)`, returning where an account on hold must go, or None."""
    if hook not in _account_hold_hooks:
        _account_hold_hooks.append(hook)
    return hook


# The hold page's path -> why the account is held (an N_() message id), for JSON answers.
_hold_reasons: dict[str, str] = {}


def explain_hold(page: str, reason: str) -> None:
    """Give the reason (an N_() message id) refusals name for accounts held at `page`."""
    _hold_reasons[page] = reason


def account_hold(session: Session, user: User) -> str | None:
    """Return the path of the page the account must use first, or None when it may act."""
    for hook in _account_hold_hooks:
        path = hook(session, user)
        if path:
            return path
    return None


def held_principal(request: Request) -> Principal | None:
    """Return the principal of a session on hold (see `on_account_hold`), if any."""
    return getattr(request.state, "held_principal", None)


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
    lookup = auth_service.resolve_session(session, settings, session_token(request))
    hold = account_hold(session, lookup.principal.user) if lookup.principal else None
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
    if principal is not None and hold is not None:
        # Not usable yet (an address to confirm): only the page `hold` names, and the public
        # ones, may use this session; every other route refuses it (`current_principal`).
        request.state.held_principal = principal
        request.state.account_hold = hold
        principal = None
    request.state.principal = principal
    request.state.session_expired = lookup.expired
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


# No I/O here, so no trip through the thread pool: async, run on the event loop.
async def current_principal(request: Request, principal: OptionalPrincipal) -> Principal:
    """Return the signed-in principal, or raise 401 (403 for an account on hold)."""
    if principal is None:
        hold = getattr(request.state, "account_hold", None)
        if hold is not None:
            raise AccountOnHold(hold)
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
    # `null` is what a sandboxed frame, a data: page or a cross-origin redirect say: never us.
    # (Our own pages send their origin: Referrer-Policy same-origin, backend/app.py; under
    # no-referrer, browsers sent `null` for them too.) No Origin at all: an older browser or
    # a non-browser client, left to the token.
    if origin:
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
    elif is_anonymous_path(request.url.path):
        valid = token is not None and auth_service.check_anonymous_csrf_token(
            settings.resolved_secret_key(), token
        )
    else:
        # Without a session elsewhere (signing in): the token must be bound to the
        # pre-session cookie this very browser sends.
        binding = _presession(request)
        valid = (
            token is not None
            and binding is not None
            and auth_service.check_anonymous_csrf_token(
                settings.resolved_secret_key(), token, binding=binding
            )
        )
    if not valid:
        raise HTTPException(
            status_code=403,
            detail=_(
                "This form has expired or was not sent from Mérito. Reload the page and try again."
            ),
        )
    # HTML forms only: an /api/ route reads its own body (JSON) and refuses what it cannot read.
    content_type = request.headers.get("content-type", "")
    if not request.url.path.startswith("/api/") and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        refuse_unstorable(await read_form(request))


def refuse_unstorable(form: FormData) -> None:
    """Refuse (422, naming each field) a form whose text holds a NUL byte.

    PostgreSQL cannot store one (SQLite would keep it), so without this check the same input
    was saved on one database and a generic error naming no field on the other. Checked once
    here for every form, before any route runs, so nothing is written (tests/integration/
    test_form_fuzz.py).
    """
    problems = [
        {
            "loc": ("body", name),
            "msg": _("This field holds a character that cannot be saved (NUL)."),
            "type": FIELD_REFUSED,
        }
        for name in dict.fromkeys(
            name for name, value in form.multi_items() if isinstance(value, str) and "\x00" in value
        )
    ]
    if problems:
        raise RequestValidationError(problems)


# --- numbers and ids read from forms ----------------------------------------------------------

# The largest value of PostgreSQL's `integer`, the type of every id and of most numbers stored.
# SQLite holds 64 bits, PostgreSQL 32: a larger number reached the database and came back as a
# generic error naming no field, on one database only (tests/integration/test_form_numbers.py).
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
# The `type` of a refusal whose `msg` is already worded for the person (http_edges shows it).
FIELD_REFUSED = "merito_field"
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")


class FieldError(RequestValidationError):
    """A form value refused by the field's name, with why, in the person's language.

    Not caught, it is the app's validation page (or the API's JSON error) listing the field; a
    route that shows its form again catches it and shows `message` by `field` instead.
    """

    def __init__(self, field: str, message: str, *, location: str = "body") -> None:
        super().__init__([{"loc": (location, field), "msg": message, "type": FIELD_REFUSED}])
        self.field = field
        self.message = message


def form_int(
    value: object,
    *,
    field: str,
    low: int = MIN_INT,
    high: int = MAX_INT,
    required: bool = False,
    message: str | None = None,
    location: str = "body",
) -> int | None:
    """Return the whole number a form (or query) value holds, None when it is empty.

    Only ASCII digits, with an optional minus, between `low` and `high` (by default what the
    database's integer holds) are read: `int()` alone takes "1_000", " ١٢ " and numbers of any
    size, and `str.isdigit()` takes "²", which `int()` then refuses. Anything else raises
    `FieldError` naming `field`, worded `message` or by what is wrong.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise FieldError(field, message or _("This field is required."), location=location)
        return None
    if not _WHOLE_NUMBER.fullmatch(text):
        raise FieldError(field, message or _("Enter a whole number."), location=location)
    number = int(text)
    if not low <= number <= high:
        raise FieldError(
            field, message or _("This number is outside the allowed range."), location=location
        )
    return number


def form_id(value: object, *, field: str, required: bool = False) -> int | None:
    """Return the record id a form value names (None when empty): `form_int` for ids, which
    the pages offer as choices, so a value that cannot be one is "not one of the options"."""
    return form_int(
        value,
        field=field,
        low=1,
        required=required,
        message=_("Choose one of the options offered."),
    )


def id_or_none(value: object) -> int | None:
    """Return the record id a filter or form value names; None when empty or not an id, for a
    caller that then says by the field that the record does not exist (or drops a filter)."""
    try:
        return form_id(value, field="id")
    except FieldError:
        return None


def form_ids(values: Iterable[object], *, field: str) -> list[int]:
    """Return the record ids of a multiple choice (empty values skipped), or refuse them all."""
    found = (form_id(value, field=field) for value in values)
    return [number for number in found if number is not None]


def _principal_then_release(request: Request, session, settings: Settings) -> Principal | None:
    principal = optional_principal(request, session, settings)
    session.commit()
    return principal


def _forwarded_origin_ok(request: Request, origin: str) -> bool:
    proto = request.headers.get("x-forwarded-proto")
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return bool(proto) and origin.rstrip("/") == f"{proto}://{host}"


def _same(a: str, b: str) -> bool:
    return crypto.macs_equal(a, b)


def reload_principal(request: Request) -> None:
    """Reload the signed-in person's rows if a rollback expired them.

    Error pages are rendered after the request's database session has closed. A route that
    rolled back before refusing (403/404/409) leaves the user and session rows expired and
    detached, and the page would fail reading them; they are reloaded here, in a session of
    their own, so every refusal renders as the refusal it is.
    """
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
    """Return the CSRF token forms on this page must carry.

    Without a session, outside the reporting channel, the token is bound to the browser's
    pre-session cookie; a browser without one is given one with the page (`render` sets it).
    """
    settings = request.app.state.settings
    if is_anonymous_path(request.url.path):
        return auth_service.anonymous_csrf_token(settings.resolved_secret_key())
    principal = getattr(request.state, "principal", None) or getattr(
        request.state, "second_factor_principal", None
    )
    if principal is not None:
        return principal.session.csrf_token
    binding = _presession(request) or getattr(request.state, "new_presession", None)
    if binding is None:
        binding = crypto.new_token(32)
        request.state.new_presession = binding
    return auth_service.anonymous_csrf_token(settings.resolved_secret_key(), binding=binding)


def give_presession_cookie(request: Request, response: Response) -> None:
    """Set the pre-session cookie this page's token was bound to, when it is a new one."""
    value = getattr(request.state, "new_presession", None)
    if value is not None:
        set_cookie(response, request.app.state.settings, PRESESSION_COOKIE, value)


def _presession(request: Request) -> str | None:
    value = read_cookie(request, PRESESSION_COOKIE)
    return value if value and 32 <= len(value) <= 64 else None


# --- cookies ----------------------------------------------------------------------------------


def cookie_name(settings: Settings, name: str) -> str:
    """Return the name a cookie goes by: `__Host-` and `name` over HTTPS.

    Browsers keep a `__Host-` cookie only when it is Secure, for Path=/ and without a Domain,
    so neither a sibling subdomain nor a plain-HTTP page can plant or replace it.
    """
    return f"__Host-{name}" if settings.https else name


def read_cookie(request: Request, name: str) -> str | None:
    """Return the value of Mérito's cookie `name` (SESSION_COOKIE, ...) in the request."""
    return request.cookies.get(cookie_name(request.app.state.settings, name))


def session_token(request: Request) -> str | None:
    """Return the session cookie's token, if the browser sent one."""
    return read_cookie(request, SESSION_COOKIE)


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int | None = None
) -> None:
    """Set Mérito's cookie `name`: HttpOnly, SameSite=Lax, Path=/, no Domain.

    Over HTTPS it is Secure and named `__Host-…`. Without `max_age` it lasts until the browser
    closes.
    """
    response.set_cookie(
        cookie_name(settings, name),
        value,
        max_age=max_age,
        path="/",
        secure=settings.https,
        httponly=True,
        samesite="lax",
    )


def delete_cookie(response: Response, settings: Settings, name: str) -> None:
    """Remove Mérito's cookie `name` from the browser."""
    response.delete_cookie(
        cookie_name(settings, name), path="/", secure=settings.https, httponly=True, samesite="lax"
    )


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
