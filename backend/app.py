"""create_app(settings) -> FastAPI: middleware, routers, static files, error pages."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from importlib import import_module
from urllib.parse import parse_qs, quote

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import http_edges, i18n, plugins, warmup
from backend.config import Settings, get_settings
from backend.db import make_engine
from backend.deps import (
    LANG_COOKIE,
    UNSAFE_METHODS,
    cookie_name,
    csrf_protect,
    read_form,
    reload_principal,
)
from backend.errors import DomainError, error_code
from backend.jobs import Scheduler
from backend.migrate import ensure_migrated
from backend.request_limits import RequestSizeLimitMiddleware
from backend.turns import RequestTurnsMiddleware
from backend.web import STATIC_DIR, is_htmx, redirect, render

log = logging.getLogger("merito")

# The core's own route modules; the domains' come from their plugins (backend/plugins.py).
# Each exposes `router` (pages) and may expose `api_router` (JSON under /api/v1).
CORE_ROUTER_MODULES = (
    "backend.routes",
    "backend.second_factor_routes",
    "backend.admin_routes",
    "backend.org.routes",
    "backend.privacy.routes.person",
    "backend.privacy.routes.staff",
    "backend.notices.routes",
)


def router_modules() -> list[str]:
    """Every module that contributes routes: the core's, then each plugin's, in order."""
    return [*CORE_ROUTER_MODULES, *plugins.modules("routers")]


API_PREFIX = "/api/v1"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


class LocaleAndHeadersMiddleware:
    """Chooses the request's locale and adds security headers to every response.

    Locale: `?lang=` > the language cookie (set only when someone switches language) >
    Accept-Language > the configured default. Pure ASGI so the choice reaches sync endpoints.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        locale = self._locale(scope)
        token = i18n.set_locale(locale)
        https = self.settings.https

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _v in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    # Never a referrer to another site; to ourselves the browser then states
                    # its origin on form posts, which csrf_protect checks (under no-referrer
                    # it sends `Origin: null`, indistinguishable from a sandboxed attacker).
                    b"referrer-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                    b"content-language": locale.encode(),
                }
                if https:
                    extra[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
                if not scope["path"].startswith("/static/") and b"cache-control" not in names:
                    extra[b"cache-control"] = b"no-store"
                for key, value in extra.items():
                    if key not in names:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n._current_locale.reset(token)

    def _locale(self, scope: Scope) -> str:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        lang = (query.get("lang") or [""])[0]
        if lang in i18n.LOCALES:
            return lang
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if "cookie" in headers:
            cookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # noqa: BLE001 - a malformed cookie header is just ignored
                cookie = SimpleCookie()
            name = cookie_name(self.settings, LANG_COOKIE)
            if name in cookie and cookie[name].value in i18n.LOCALES:
                return cookie[name].value
        negotiated = i18n.negotiate(headers.get("accept-language"))
        return negotiated or self.settings.default_locale


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        await run_in_threadpool(reload_principal, request)
        status, detail = exc.status_code, exc.detail
        headers = dict(getattr(exc, "headers", None) or {})
        if status == 404 and detail == "Not Found":
            detail = i18n._("This page does not exist, or the record was not found.")
        elif status == 405:
            if detail == "Method Not Allowed":
                detail = i18n._("This action is not available here.")
            # Every method of the address, not only those of the route that matched first.
            headers["Allow"] = ", ".join(http_edges.allowed_methods(request)) or headers.get(
                "Allow", ""
            )
        elif (found := http_edges.body_error(exc, api=_wants_json(request))) is not None:
            status, detail = found
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": {
                        "status": status,
                        "code": error_code(status),
                        "message": detail,
                    }
                },
                status_code=status,
                headers=headers or None,
            )
        location = getattr(exc, "location", None)
        if location:
            # A refusal that says where to go instead (an account on hold: backend/deps.py).
            return redirect(request, location)
        if exc.status_code == 401:
            next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if is_htmx(request):
                current = request.headers.get("hx-current-url", "/")
                return Response(
                    status_code=401,
                    headers={"HX-Redirect": f"/login?next={quote(current, safe='')}"},
                )
            return render(
                request,
                "auth/login.html",
                {"error": detail, "next": next_url, "email": ""},
                status_code=401,
            )
        return render(
            request,
            "error.html",
            {"status": status, "message": detail},
            status_code=status,
            block="content",
            headers=headers or None,
        )

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        # A rule a service refused and no route caught (routes catch only to show a form
        # again): the error page with its status, or the API's JSON problem with its fields.
        if _wants_json(request):
            await run_in_threadpool(reload_principal, request)
            return JSONResponse(exc.as_problem(), status_code=exc.status_code)
        return await http_error(request, StarletteHTTPException(exc.status_code, str(exc)))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        await run_in_threadpool(reload_principal, request)
        problems = [
            {
                "field": ".".join(
                    str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")
                ),
                "message": http_edges.validation_message(err),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        message = i18n._("Some values are missing or not valid.")
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": {
                        "status": 422,
                        "code": "invalid",
                        "message": message,
                        "fields": problems,
                    }
                },
                status_code=422,
            )
        return render(
            request,
            "error.html",
            {"status": 422, "message": message, "problems": problems},
            status_code=422,
            block="content",
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        await run_in_threadpool(reload_principal, request)
        # A number beyond what the database stores (an id like 2**63) names no record.
        status = 404 if request.method == "GET" else 422
        message = (
            i18n._("This page does not exist, or the record was not found.")
            if status == 404
            else i18n._("Some values are missing or not valid.")
        )
        if _wants_json(request):
            return JSONResponse(
                {"error": {"status": status, "code": error_code(status), "message": message}},
                status_code=status,
            )
        return render(
            request,
            "error.html",
            {"status": status, "message": message},
            status_code=status,
            block="content",
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        await run_in_threadpool(reload_principal, request)
        message = i18n._("Something went wrong on our side. Nothing was saved; please try again.")
        if _wants_json(request):
            return JSONResponse(
                {"error": {"status": 500, "code": "server_error", "message": message}},
                status_code=500,
            )
        return render(request, "error.html", {"status": 500, "message": message}, status_code=500)


def _off_the_event_loop(endpoint: Callable) -> Callable:
    """Return `endpoint` (an `async def` route) run in a worker thread, on a loop of its own.

    Routes are `async def` only to read the request's form or files; what follows is blocking
    work: database queries and, on the reporting channel, Argon2id. Run on the server's event
    loop, that work holds up every other request, and some of its waits never end by
    themselves: a query waiting there for a pooled connection, while the requests holding the
    connections need the event loop to finish and give them back. Under the mixed load test
    the pool then timed out after 30 s, with 500s (docs/load-testing.md). So the body is read
    here, on the server's loop (the form is cached on the request), and the route then runs
    in a worker thread like every `def` route.
    """

    @functools.wraps(endpoint)
    async def in_worker_thread(**values):
        for value in values.values():
            if isinstance(value, Request) and value.method in UNSAFE_METHODS:
                content_type = value.headers.get("content-type", "")
                if content_type.startswith(("multipart/form-data", "application/x-www-form")):
                    await read_form(value)
                else:
                    await value.body()
        return await anyio.to_thread.run_sync(_run_to_completion, endpoint, values)

    in_worker_thread.off_the_event_loop = True  # type: ignore[attr-defined]
    return in_worker_thread


def _run_to_completion(endpoint: Callable, values: dict) -> object:
    return asyncio.run(endpoint(**values))


def _keep_blocking_work_off_the_loop(router) -> None:
    """Make the router's `async def` routes run in worker threads (before it is included)."""
    for route in router.routes:
        nested = getattr(route, "original_router", None)  # a router included into this one
        if nested is not None:
            _keep_blocking_work_off_the_loop(nested)
        elif (
            isinstance(route, APIRoute)
            and inspect.iscoroutinefunction(route.endpoint)
            and not getattr(route.endpoint, "off_the_event_loop", False)
        ):
            route.endpoint = _off_the_event_loop(route.endpoint)


# Objects the youngest generation of the garbage collector takes before it runs: Python's
# default is 700, which a page's rendering fills about twice (bench/RESULTS.md, "Pages
# against /healthz": the collector's share of a request).
YOUNG_GENERATION_SIZE = 7000


def settle_garbage_collector() -> None:
    """Tune the cyclic garbage collector for a serving process, once its code is loaded.

    Everything alive now (modules, the app, its routes, templates and caches: some 440,000
    objects) lives as long as the process, so it is moved out of the collector's reach
    (`gc.freeze`) instead of being walked again by every full collection. The youngest
    generation is made ten times larger, so a request's short-lived objects are mostly freed
    by reference counting before a collection, instead of surviving one while the request is
    still running and being walked again in the next generation. Both only change when
    unreachable cycles are found, never whether.
    """
    gc.collect()
    gc.freeze()
    _young, *older = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_SIZE, *older)


def create_app(settings: Settings | None = None, *, check_migrations: bool = True) -> FastAPI:
    """Build the application for `settings` (read from the environment when omitted)."""
    settings = settings or get_settings()
    settings.resolved_secret_key()
    # A connection for every route thread, the scheduler's and the warm-up's; overflow covers
    # sessions that finish after their thread is handed to the next request.
    engine = make_engine(settings.database_url, pool_size=settings.request_threads + 2)
    if check_migrations:
        ensure_migrated(engine)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        # The threads that run routes (and so touch the database) at once: bounded, the rest
        # queue, instead of twenty threads contending for the GIL around every query.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        scheduler = None
        if settings.scheduler:
            scheduler = Scheduler(engine, settings, settings.scheduler_poll_seconds)
            scheduler.start()
        if settings.warm_caches:
            warmup.start(engine, settings)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Mérito",
        version="0.1.0",
        description="Merit, competencies and a protected reporting channel for a public "
        "procurement workforce.",
        # No interactive docs (they need a CDN and inline script) and no anonymous schema:
        # signed-in users read the API's schema at /api/v1/openapi.json (backend/http_edges.py).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.engine = engine
    # Added first, so it runs inside the locale middleware: its 413 is translated.
    app.add_middleware(RequestSizeLimitMiddleware, settings=settings)
    app.add_middleware(LocaleAndHeadersMiddleware, settings=settings)
    app.add_middleware(http_edges.HeadAsGetMiddleware)
    # Outermost: a request waits for its turn before any of its work starts.
    app.add_middleware(RequestTurnsMiddleware, turn_seconds=settings.request_turn_seconds)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module_name in router_modules():
        module = import_module(module_name)
        _keep_blocking_work_off_the_loop(module.router)
        # Pages are not part of the API's schema: it describes /api/v1 only.
        app.include_router(module.router, include_in_schema=False)
        api_router = getattr(module, "api_router", None)
        if api_router is not None:
            _keep_blocking_work_off_the_loop(api_router)
            app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(http_edges.schema_router, prefix=API_PREFIX)
    _install_error_handlers(app)
    return app
