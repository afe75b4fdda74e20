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
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, nodes, select_autoescape
from sqlalchemy import func
from sqlmodel import Session, select

from backend import audit_display, i18n, plugins
from backend.auth.permissions import ROLE_LABELS, Permission
from backend.deps import csrf_token_for, give_presession_cookie
from backend.notices import service as notice_service
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


@dataclass(frozen=True)
class NavGroup:
    """A top-level entry of the main navigation: one task, and the pages under it."""

    label: str  # an N_() message id, translated when shown
    prefixes: tuple[str, ...]  # a page belongs here when its path is or starts with one

    def holds(self, href: str) -> bool:
        return any(href == p or href.startswith(p + "/") for p in self.prefixes)


# The main navigation by task, in the order shown. Every page registered with `register_nav`
# falls in one group, so nobody sees more than seven top-level entries however many roles they
# hold (tests/unit/test_navigation.py); a new page needs a group here.
NAV_GROUPS: tuple[NavGroup, ...] = (
    NavGroup(i18n.N_("Competencies"), ("/framework", "/competencies")),
    NavGroup(i18n.N_("Training"), ("/training",)),
    NavGroup(i18n.N_("Performance"), ("/appraisals",)),
    NavGroup(
        i18n.N_("Recruitment"),
        ("/vacancies", "/applications", "/competitions", "/panel", "/integrity"),
    ),
    NavGroup(i18n.N_("Organisation"), ("/org",)),
    NavGroup(i18n.N_("Reporting channel"), ("/cases", "/retaliation")),
    NavGroup(i18n.N_("Administration"), ("/admin",)),
)


@dataclass(frozen=True)
class NavEntry:
    """A top-level entry as shown to one person: a menu of pages, or a plain link to its one."""

    label: str
    items: tuple[NavItem, ...]
    current: str | None  # the href of the entry's page being shown, if any

    @property
    def is_menu(self) -> bool:
        return len(self.items) > 1


def _org_tz() -> ZoneInfo:
    return ZoneInfo(getattr(_env.globals.get("settings"), "time_zone", "America/Mexico_City"))


def format_datetime(value: datetime | None, fmt: str = "table") -> str:
    """Return a timestamp in the organisation's time zone and the current locale, to the
    minute: `table` ("7 dic 2026, 00:51") or `sentence` ("7 de diciembre de 2026, 00:51");
    see `i18n.DATE_STYLES`."""
    if value is None:
        return ""
    return i18n.datetime_text(value.astimezone(_org_tz()), fmt)


def format_date(value: date | datetime | str | None, fmt: str = "table") -> str:
    """Return a day (a timestamp's day in the organisation): `table` or `sentence` style.
    A string is a day as YYYY-MM-DD (as sealed JSON keeps days)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(_org_tz()).date()
    return i18n.date_text(value, fmt)


def format_time(value: datetime | None) -> str:
    """Return a timestamp's time of day in the organisation, to the minute."""
    if value is None:
        return ""
    return i18n.time_text(value.astimezone(_org_tz()))


format_file_size = i18n.file_size_text


def role_title(code: str | None) -> str:
    """Return the name of a position's role profile ("Jefe(a) de unidad de adquisiciones") for
    its code (`head_of_unit`), or the code itself when the profiles file does not list it."""
    if not code:
        return ""
    from backend.org.service import role_profile_options

    for option in role_profile_options():
        if option.code == code:
            return option.title
    return code


def profile_title(key: str | None) -> str:
    """Return the name of the competency profile a key names: `role:<code>` by the role's
    name, `position:<id>` as the position's own profile."""
    kind, _sep, rest = (key or "").partition(":")
    if kind == "role":
        return role_title(rest)
    if kind == "position":
        return i18n.gettext("the position's own profile")
    return key or ""


def format_number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    if digits == 0:
        return i18n.integer_text(round(value))
    return i18n.fmt().decimal(round(value, digits), format=i18n.number_pattern(digits))


def format_percent(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return i18n.fmt().percent(value, format=i18n.number_pattern(digits, percent=True))


def _make_env() -> Environment:
    # The shared templates, then any folder a plugin ships its own in (`Plugin.templates`).
    folders = [str(TEMPLATES_DIR), *(str(folder) for folder in plugins.template_folders())]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
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
        lambda s, p, n: i18n.plural_form(s, p, n),
        newstyle=True,
    )
    env.globals.update(
        localized=i18n.localized,
        pick=i18n.pick,
        format_datetime=format_datetime,
        format_date=format_date,
        format_time=format_time,
        format_file_size=format_file_size,
        audit_action=audit_display.action_label,
        audit_entity=audit_display.entity_label,
        audit_changes=audit_display.changes,
        ACTION_GROUPS=audit_display.ACTION_GROUPS,
        role_title=role_title,
        profile_title=profile_title,
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


@lru_cache(maxsize=512)
def _top_level_sets(template: str) -> tuple[Any, tuple[str, ...]]:
    """Return a template of the `{% set %}` statements at a template's top level and the names
    they set (None and () when there are none).

    A block rendered alone skips the template's top-level code: a name set there (`{% set p =
    profile %}`) would be undefined in the block. The returned template runs those statements
    (and the imports they may use) so `render` can give the block the same names.
    """
    source, _filename, _uptodate = _env.loader.get_source(_env, template)
    kept, names = [], []
    for node in _env.parse(source).body:
        if isinstance(node, (nodes.Import, nodes.FromImport)):
            kept.append(node)
        elif isinstance(node, (nodes.Assign, nodes.AssignBlock)):
            kept.append(node)
            targets = [node.target, *node.target.find_all(nodes.Name)]
            names += [t.name for t in targets if isinstance(t, nodes.Name)]
    if not names:
        return None, ()
    tree = nodes.Template(kept, lineno=1).set_environment(_env)
    code = _env.compile(tree, name=template, filename=template)
    return _env.template_class.from_code(_env, code, _env.make_globals(None)), tuple(names)


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


def keep_form(
    request: Request, *, page: str, form: str, errors: dict[Any, str], values: dict[str, Any]
) -> None:
    """Keep a refused form (its errors and what was typed) for `page`, which the caller then
    redirects to: a reload of the page shows it again, it never posts the form a second time.

    The page takes it with `kept_form`; any other page drops it. The caller commits.
    """
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    kept = {"form": form, "page": page, "errors": {str(k): v for k, v in errors.items()}}
    row = principal.session
    row.flash = [*row.flash, {**kept, "values": values}]


def kept_form(request: Request, page: str) -> dict[str, Any]:
    """Return (and forget) the form kept for `page` by `keep_form`: `form`, `errors`, `values`
    as keyword arguments for the page's context; empty when there is none."""
    principal = getattr(request.state, "principal", None)
    if principal is None or not principal.session.flash:
        return {}
    found = [m for m in principal.session.flash if m.get("form") and m.get("page") == page]
    if not found:
        return {}
    principal.session.flash = [m for m in principal.session.flash if m not in found]
    db: Session | None = getattr(request.state, "db", None)
    if db is not None:
        db.add(principal.session)
        db.commit()
    return {k: found[-1][k] for k in ("form", "errors", "values")}


def _take_flashes(request: Request) -> list[dict[str, str]]:
    principal = getattr(request.state, "principal", None)
    if principal is None or not principal.session.flash:
        return []
    # Forms kept for another page (`keep_form`) are dropped: they are not messages.
    messages = [m for m in principal.session.flash if not m.get("form")]
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


def nav_menu(principal: Any, path: str) -> list[NavEntry]:
    """Return the main navigation `principal` sees, grouped by task, with the page at `path`
    marked (the longest matching entry, so a cycle's page is not also "my appraisals")."""
    items = nav_for(principal)
    current = max(
        (i.href for i in items if path == i.href or path.startswith(i.href.rstrip("/") + "/")),
        key=len,
        default=None,
    )
    return [
        NavEntry(label, mine, current if current in hrefs else None)
        for label, mine, hrefs in _grouped(tuple(items))
    ]


@lru_cache(maxsize=256)
def _grouped(
    items: tuple[NavItem, ...],
) -> tuple[tuple[str, tuple[NavItem, ...], frozenset[str]], ...]:
    """The non-empty groups of a menu of `items` (label, entries, their hrefs): the same for
    everyone who sees the same entries, so built once per combination of roles, not per page
    (matching every entry against every group cost a third of a millisecond)."""
    groups = [(g.label, tuple(i for i in items if g.holds(i.href))) for g in NAV_GROUPS]
    # A page in no group still shows (on its own) rather than vanish; the test refuses it.
    groups += [(i.label, (i,)) for i in items if not any(g.holds(i.href) for g in NAV_GROUPS)]
    return tuple((label, mine, frozenset(i.href for i in mine)) for label, mine in groups if mine)


def _unread_notices(request: Request, principal: Any) -> int:
    """The signed-in person's unread notices, for the header: through the request's own
    session (backend.db.get_session), never a second connection while it holds one."""
    if principal is None:
        return 0
    session = getattr(request.state, "db_session", None)
    if session is not None:
        return notice_service.unread_count(session, user_id=principal.user.id)
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return 0
    with Session(engine) as fresh:  # a page rendered without one (an error page)
        return notice_service.unread_count(fresh, user_id=principal.user.id)


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
        "nav": nav_menu(principal, request.url.path),
        "settings": request.app.state.settings,
        # Called by base.html's header (not by htmx fragments): one small indexed count.
        "unread_notices": lambda: _unread_notices(request, principal),
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
        sets, set_names = _top_level_sets(template)
        if sets is not None:
            module = sets.make_module(ctx)
            ctx.update({name: getattr(module, name) for name in set_names if hasattr(module, name)})
        body = "".join(tmpl.blocks[block](tmpl.new_context(ctx)))
    else:
        # A HEAD (answered as a GET, backend/http_edges.py) shows nothing: flashes stay queued.
        ctx["flashes"] = [] if request.scope.get("merito.head_request") else _take_flashes(request)
        body = tmpl.render(ctx)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    give_presession_cookie(request, response)
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
