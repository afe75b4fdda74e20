"""HTTP at the edges: HEAD, the `Allow` header of a 405, the API's schema, and the words used for
errors the framework finds while reading a request (before any route of ours runs).

- HEAD is answered for every GET address: the request runs as a GET and the answer keeps its
  status and headers (Content-Type, Content-Length, the security headers) but loses its body.
- A 405 names in `Allow` every method the address accepts, gathered from all its routes (GET and
  POST of one address are often two routes), HEAD with GET.
- There are no interactive API docs: Swagger UI and ReDoc load their scripts from a CDN and
  start with inline script, which the app's Content-Security-Policy forbids. The JSON API's
  OpenAPI schema is served at /api/v1/openapi.json to signed-in users only (docs/security.md).
- Starlette and FastAPI word what they refuse while parsing a body in English ("Field exceeded
  maximum size of 1024KB", "There was an error parsing the body", pydantic's "Input should be a
  valid integer"); these functions give the person's language instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth.permissions import Permission
from backend.deps import FIELD_REFUSED, require
from backend.i18n import _

# Set on the scope of a HEAD request answered as a GET (render() then leaves flashes queued).
HEAD_REQUEST = "merito.head_request"

# FastAPI's words when a body cannot be read at all (fastapi.routing.get_request_handler).
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
_PART_TOO_LARGE = re.compile(r"^(?:Field|Part) exceeded maximum size of (\d+)KB")


class HeadAsGetMiddleware:
    """Answer HEAD by running the request as a GET and sending its answer without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server keeps its own scope, whose HEAD tells it to expect no body.
        scope = {**scope, "method": "GET", HEAD_REQUEST: True}
        finished = False

        async def without_body(message: Message) -> None:
            nonlocal finished
            if message["type"] not in ("http.response.body", "http.response.pathsend"):
                await send(message)  # the start (status and headers), anything else
            elif not finished and not message.get("more_body"):
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, without_body)


def _routes(routes: Iterable[BaseRoute]) -> Iterator[Any]:
    """Yield every route, those of included routers too (FastAPI before and after 0.16x)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def allowed_methods(request: Request) -> list[str]:
    """Return the methods the request's address accepts, for the `Allow` header of a 405."""
    # As the router first saw it: a mount (the static files) moves its prefix into root_path.
    root_path = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    scope = {**request.scope, "path_params": {}, "root_path": root_path}
    methods: set[str] = set()
    for route in _routes(request.app.router.routes):
        match, _child = route.matches(scope)
        if match is not Match.NONE:
            # A mount (the static files) has no methods of its own: it answers GET and HEAD.
            methods |= set(getattr(route, "methods", None) or {"GET", "HEAD"})
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def body_error(exc: StarletteHTTPException, *, api: bool) -> tuple[int, str] | None:
    """Return (status, message) for a 400 the framework raised reading the body, or None.

    Starlette raises it while handling a `MultiPartException` (a form field over 1 MB, too
    many fields, a malformed multipart body); FastAPI raises it from whatever failed to parse
    (a JSON body that is not UTF-8). `backend.deps.read_form` does the same for multipart
    forms it reads itself.
    """
    if exc.status_code != 400:
        return None
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, MultiPartException):
        too_large = _PART_TOO_LARGE.match(cause.message)
        if too_large:
            kilobytes = int(too_large.group(1))
            size = f"{kilobytes // 1024} MB" if kilobytes >= 1024 else f"{kilobytes} KB"
            return 413, _(
                "A field of the form is too long (at most %(size)s). Shorten it and send the "
                "form again.",
                size=size,
            )
        if cause.message.startswith("Too many"):
            return 400, _("The form has too many fields or files.")
    elif exc.detail != _FASTAPI_BODY_ERROR:
        return None
    if api:
        return 400, _("What was sent could not be read.")
    return 400, _("The form could not be read. Reload the page and try again.")


def validation_message(error: dict[str, Any]) -> str:
    """Return, in the person's language, what is wrong with one value pydantic refused."""
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == FIELD_REFUSED:
        # Refused by the app itself (backend.deps.FieldError), already in the person's words.
        return str(error.get("msg", ""))
    if kind == "missing":
        return _("This field is required.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"):
        return _("Enter a number.")
    if kind.startswith(("greater_than", "less_than")) or kind in (
        "decimal_max_digits",
        "decimal_max_places",
    ):
        return _("This number is outside the allowed range.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Choose yes or no.")
    if kind.startswith("date_") or kind == "date_type":
        return _("Enter a date (YYYY-MM-DD).")
    if kind.startswith(("datetime_", "time_")):
        return _("Enter a date and time.")
    if kind in ("enum", "literal_error"):
        return _("Choose one of the options offered.")
    if kind == "string_too_long" and "max_length" in context:
        return _("This text is too long (at most %(max)s characters).", max=context["max_length"])
    if kind == "string_too_short" and "min_length" in context:
        return _("This text is too short (at least %(min)s characters).", min=context["min_length"])
    if kind in ("string_type", "string_unicode"):
        return _("Enter text.")
    if kind in ("list_type", "tuple_type", "set_type", "too_long", "too_short"):
        return _("Send a list of values.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Send a JSON object.")
    if kind == "json_invalid":
        return _("The JSON document is not valid.")
    if kind == "value_error" and "UploadFile" in str(context.get("error", "")):
        return _("Choose a file.")
    return _("This value is not valid.")


schema_router = APIRouter()


@schema_router.get(
    "/openapi.json",
    include_in_schema=False,
    dependencies=[require(Permission.view_dashboard)],
)
def api_schema(request: Request) -> JSONResponse:
    """Return the JSON API's OpenAPI schema (signed-in users; the pages are not in it)."""
    return JSONResponse(request.app.openapi())
