"""Templates and rendering: the whole page normally, only a named block for htmx requests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, nodes, select_autoescape
from sqlalchemy import func
from sqlmodel import Session, select

from backend import i18n
from backend.auth.permissions import ROLE_LABELS, Permission
from backend.deps import csrf_token_for
from backend.org.models import EMPLOYEE_STATUS_LABELS, JOB_FAMILY_LABELS, UNIT_KIND_LABELS

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"
TEMPLATES_DIR = FRONTEND_DIR / "templates"
STATIC_DIR = FRONTEND_DIR / "static"


@dataclass(frozen=True)
class NavItem:
    """An entry of the main navigation, shown to those holding `permission`."""

    label: str  # an N_() message id, translated when shown
    href: str
    permission: Permission | None
    order: int = 100
    # Shown only to these roles as well (empty = anyone with the permission).
    roles: frozenset[str] = field(default_factory=frozenset)


NAV: list[NavItem] = []


def register_nav(item: NavItem) -> None:
    """Add an entry to the main navigation (domains call this when their routes load)."""
    if item not in NAV:
        NAV.append(item)
        NAV.sort(key=lambda n: n.order)


def _org_tz() -> ZoneInfo:
    return ZoneInfo(getattr(_env.globals.get("settings"), "time_zone", "America/Mexico_City"))


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """Return a timestamp shown in the organisation's time zone and the current locale."""
    if value is None:
        return ""
    local = value.astimezone(_org_tz())
    return i18n.fmt().datetime(local, fmt)


def format_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_org_tz()).date()
    return i18n.fmt().date(value, fmt)


def format_number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    if digits == 0:
        return i18n.fmt().number(round(value))
    return i18n.fmt().decimal(round(value, digits), format=f"#,##0.{'0' * digits}")


def format_percent(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return i18n.fmt().percent(value, format="#,##0%" if digits == 0 else f"#,##0.{'0' * digits}%")


def _make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: a restart picks up changes. Checking every template's
        # file time on each render cost a tenth of a dashboard request (bench/RESULTS.md).
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message, **kw: i18n.gettext(message, **kw),
        lambda s, p, n, **kw: i18n.ngettext(s, p, n, **kw),
        newstyle=True,
    )
    env.globals.update(
        localized=i18n.localized,
        pick=i18n.pick,
        format_datetime=format_datetime,
        format_date=format_date,
        format_number=format_number,
        format_percent=format_percent,
        LOCALE_NAMES=i18n.LOCALE_NAMES,
        Permission=Permission,
        ROLE_LABELS=ROLE_LABELS,
        UNIT_KIND_LABELS=UNIT_KIND_LABELS,
        JOB_FAMILY_LABELS=JOB_FAMILY_LABELS,
        EMPLOYEE_STATUS_LABELS=EMPLOYEE_STATUS_LABELS,
    )
    return env


_env = _make_env()


def templates() -> Environment:
    """Return the shared Jinja environment."""
    return _env


@lru_cache(maxsize=512)
def _top_level_imports(template: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Return the `{% import %}` / `{% from … import %}` statements at a template's top level."""
    source, _filename, _uptodate = _env.loader.get_source(_env, template)
    found = []
    for node in _env.parse(source).body:
        if isinstance(node, nodes.FromImport) and isinstance(node.template, nodes.Const):
            pairs = [(n, n) if isinstance(n, str) else (n[0], n[1]) for n in node.names]
            found.append(("", node.template.value, pairs))
        elif isinstance(node, nodes.Import) and isinstance(node.template, nodes.Const):
            found.append((node.target, node.template.value, []))
    return found


def is_htmx(request: Request) -> bool:
    """True for an htmx request that wants a fragment (not a history restore)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def flash(request: Request, message: str, level: str = "success") -> None:
    """Queue a message for the next page this browser sees (needs a session)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    row = principal.session
    row.flash = [*row.flash, {"level": level, "message": message}]


def _take_flashes(request: Request) -> list[dict[str, str]]:
    principal = getattr(request.state, "principal", None)
    if principal is None or not principal.session.flash:
        return []
    messages = list(principal.session.flash)
    principal.session.flash = []
    db: Session | None = getattr(request.state, "db", None)
    if db is not None:
        db.add(principal.session)
        db.commit()
    return messages


def nav_for(principal: Any) -> list[NavItem]:
    if principal is None:
        return []
    return [
        item
        for item in NAV
        if (item.permission is None or principal.can(item.permission))
        and (not item.roles or any(r in principal.roles for r in item.roles))
    ]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `template`; for htmx requests render only `block` (when given)."""
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "user": principal.user if principal else None,
        "csrf_token": csrf_token_for(request),
        "locale": i18n.get_locale(),
        "nav": nav_for(principal),
        "settings": request.app.state.settings,
        **(context or {}),
    }
    tmpl = _env.get_template(template)
    if block is not None and is_htmx(request):
        # A block rendered alone skips the template's top-level code, so its macro imports
        # (`{% from "partials/forms.html" import field %}`) are made here first.
        for alias, name, names in _top_level_imports(template):
            module = _env.get_template(name).make_module(ctx)
            if alias:
                ctx[alias] = module
            for imported, as_name in names:
                ctx[as_name] = getattr(module, imported)
        body = "".join(tmpl.blocks[block](tmpl.new_context(ctx)))
    else:
        ctx["flashes"] = _take_flashes(request)
        body = tmpl.render(ctx)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    return response


def render_form_errors(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    errors: dict[Any, str],
    values: Any,
    block: str | None = None,
    status_code: int = 422,
) -> HTMLResponse:
    """Return a refused form's page again: `errors` by their fields, `values` as typed.

    Nothing was saved (the caller has rolled back). htmx swaps 422 responses (base.html), so
    the form (`block`, for htmx requests) is replaced in place and keeps what the person typed.
    """
    return render(
        request,
        template,
        {**context, "errors": errors, "values": values},
        block=block,
        status_code=status_code,
    )


def redirect(request: Request, url: str, *, status_code: int = 303) -> Response:
    """Redirect after a successful POST.

    An htmx request gets 200 with `HX-Redirect`: a 3xx would be followed inside the XHR and
    the browser would never see the header, leaving the old page in place.
    """
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=status_code)


def commit_and_redirect(
    request: Request, session: Session, message: str, url: str, *, level: str = "success"
) -> Response:
    """Return the redirect to `url` after a successful POST, committing the change first.

    The change is committed on its own; `message` (see `flash`) is committed after it.
    """
    session.commit()
    flash(request, message, level)
    session.commit()
    return redirect(request, url)


def safe_next(url: str | None, default: str = "/") -> str:
    """Return `url` only if it is a path on this site (no open redirects)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(session: Session, statement: Any, *, page: int, per_page: int = 50) -> Page:
    """Return one page of `statement`'s results and the total count."""
    page = max(1, page)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    items = session.exec(statement.offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), total, page, per_page)
