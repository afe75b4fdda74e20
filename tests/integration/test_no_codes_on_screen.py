"""Issue #13, defects 9 and 10: people read words, not codes.

Every demo account signs in (the key holders with their second factor), in Spanish, and walks
the main pages of `merito up`'s demo: the dashboard, every page the navigation and the dashboard
link to, and the pages those link to (a few of each kind). No visible text may hold a snake_case
identifier (`head_of_unit`), a dotted event code (`user.signed_in`), JSON, a doubled full stop
("a.m.."), two sentences glued together ("nivel 1.Su nivel") or a "(es)"/"(s)" plural.

Identifiers a person must type or match verbatim (a spreadsheet's column names, an activity's
code) are marked `translate="no"` and skipped, as are the allow-listed words below.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import Session

from backend import audit_display, demo
from tests.conftest import login

# Words of the import instructions and hints: the column names and values a spreadsheet must
# use, and examples of identifiers a form asks for.
ALLOWED = {
    # training catalogue import (frontend/templates/training/import.html)
    "title_es", "title_en", "procurement_staff", "user_areas", "certificate_or_score",
    "procurement_process", "description_es", "description_en", "pass_score", "is_induction",
    # ratings import (frontend/templates/competency/rating_import.html)
    "employee_number", "evidence_url",
    # employee import (frontend/templates/org/import.html)
    "on_leave",
    # hints of forms asking for an identifier
    "procurement_fraud", "procurement_law",
}  # fmt: skip

SNAKE = re.compile(r"(?<![\w@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])")
DOTTED = re.compile(r"(?<![\w@./:-])[a-z_]+(?:\.[a-z_]+)+(?![\w@/-])")
GLUED = re.compile(r"[a-záéíóúñ]{2}\.[A-ZÁÉÍÓÚÑ][a-záéíóúñ]")
CLUMSY = re.compile(r"\w\.\.(?!\.)|\w\((?:es|s)\)|\{\"")
PAGES_PER_ROLE = 45
PER_KIND = 2
SKIP = ("/static", "/logout", "/report/case/logout", "/api/")


class VisibleText(HTMLParser):
    """The text a person sees on a page, and the page's links."""

    HIDDEN = {"script", "style", "template", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is its content hidden?
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in self.VOID:
            return
        hidden = (self.stack and self.stack[-1]) or tag in self.HIDDEN or a.get("translate") == "no"
        self.stack.append(bool(hidden))
        if not hidden:
            self.parts += [a[k] for k in ("title", "placeholder", "aria-label") if a.get(k)]

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def problems_in(text: str) -> set[str]:
    found = {m for m in SNAKE.findall(text) if m not in ALLOWED}
    found |= {m for m in DOTTED.findall(text) if m not in ALLOWED and not m.endswith(".mx")}
    found |= {f"glued:{m}" for m in GLUED.findall(text)}
    found |= {f"clumsy:{m}" for m in CLUMSY.findall(text)}
    return found


def walk(client) -> dict[str, set[str]]:
    """Return, for each problem found, the pages showing it."""
    seen: set[str] = set()
    kinds: Counter[str] = Counter()
    queue, found = ["/"], {}
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        page = client.get(url)
        assert page.status_code < 500, url
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        parser = VisibleText()
        parser.feed(page.text)
        for problem in problems_in(" ".join(parser.parts)):
            found.setdefault(problem, set()).add(url)
        for href in parser.links:
            href = href.split("#")[0]
            if not href.startswith("/") or href.startswith(("//", *SKIP)) or href in seen:
                continue
            if any(x in href for x in ("export", "download", ".xlsx", ".csv", ".ics", "lang=")):
                continue
            kind = re.sub(r"\d+", "N", href.split("?")[0]) + ("?" if "?" in href else "")
            if kinds[kind] < PER_KIND:
                kinds[kind] += 1
                queue.append(href)
    return found


@pytest.fixture
def demo_app(engine, settings, app):
    from competency_framework.training import demo as training_demo

    demo.generate(engine, employees=60, seed=1)
    with Session(engine) as session:
        demo.create_demo_accounts(session, settings)
        session.commit()
    training_demo.seed(engine, settings)
    return app


def test_no_page_of_the_demo_shows_a_code_to_anyone(demo_app, client):
    client.headers["Accept-Language"] = "es"
    failures = {}
    for account, _role, _name in demo.DEMO_ROLES:
        client.cookies.clear()
        login(client, demo.demo_email(account), demo.demo_password(account))
        client.cookies.set("merito_lang", "es")
        for problem, urls in walk(client).items():
            failures.setdefault(problem, set()).update(f"{account}:{u}" for u in urls)
    assert not failures, "\n".join(f"{p}: {sorted(u)[:3]}" for p, u in sorted(failures.items()))


def test_the_audit_log_says_what_happened_in_words(demo_app, client):
    client.headers["Accept-Language"] = "es"
    login(client, demo.demo_email("auditor"), demo.demo_password("auditor"))
    page = client.get("/admin/audit?lang=es")
    assert page.status_code == 200
    assert "Inició sesión" in page.text and "user.signed_in" not in page.text
    assert "Actividad de capacitación" in page.text  # the record's kind, not training_activity
    main = page.text.split("<main", 1)[1]
    assert '{"' not in main and "&#34;" not in main  # no JSON
    assert "<dt>Lugares</dt>" in page.text  # "capacity", as a field of the list
    dashboard = client.get("/?lang=es")
    assert "user.signed_in" not in dashboard.text and "Inició sesión" in dashboard.text


def test_positions_and_profiles_name_the_role_not_its_code(demo_app, client):
    client.headers["Accept-Language"] = "es"
    login(client, demo.demo_email("hr_planner"), demo.demo_password("hr_planner"))
    for url in ("/org/positions", "/competencies/profiles"):
        page = client.get(url + "?lang=es")
        assert page.status_code == 200
        assert "head_of_unit" not in page.text.replace('value="head_of_unit"', "")
        assert "Jefe(a) de unidad de adquisiciones" in page.text


def test_every_audit_action_in_the_code_has_a_description():
    root = Path(__file__).resolve().parents[2]
    literal = re.compile(r"(?:action=|\"action\":\s*|_audit\(\s*session,\s*)\"([a-z_]+\.[a-z_]+)\"")
    actions = set()
    for package in ("backend", "competency_framework", "assessments", "whistleblowing"):
        for path in (root / package).rglob("*.py"):
            actions |= set(literal.findall(path.read_text(encoding="utf-8")))
    assert len(actions) > 100
    missing = sorted(a for a in actions if a not in audit_display.ACTION_LABELS)
    assert missing == []
