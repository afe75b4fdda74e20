"""Layout on a phone (390 px wide) and a laptop (1366 px), in Spanish: no page is wider than the
screen, the main navigation has at most seven entries by task and opens without JavaScript, the
gap chart shows whole competency names, and no page breaks the Content-Security-Policy.

Measured in headless Chromium: `document.documentElement.scrollWidth <= innerWidth` is what a
person sees as "the page scrolls sideways".
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from assessments.appraisals.models import Appraisal
from backend.auth.permissions import ASSIGNABLE_ROLES
from competency_framework import service as competency_service
from tests.appraisals.helpers import appraisal_of, open_cycle, plan, set_objectives, train
from tests.browser.conftest import follow_nav, sign_in
from tests.competency.helpers import principal_for
from tests.vacancies import helpers as vacancy_helpers
from whistleblowing import service as cases
from whistleblowing.models import NotificationKind

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
MAX_TOP_LEVEL = 7


@contextmanager
def browsing(browser, viewport, *, javascript: bool = True):
    """A fresh Spanish-speaking browser window of `viewport`'s size; yields (page, console
    errors seen so far)."""
    context = browser.new_context(locale="es-MX", viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield page, errors
    finally:
        context.close()


def overflow(page) -> int:
    """Return how many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def assert_fits(page, path: str) -> None:
    wider = overflow(page)
    assert wider <= 0, f"{path} is {wider}px wider than the {page.viewport_size['width']}px screen"


def visit(page, base: str, path: str) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")


def top_level_entries(page) -> int:
    return page.locator("nav.main-nav > ul > li").count()


def _published_vacancy(session, settings, org):
    hr = vacancy_helpers.staff_user(session, settings, "hr_planner")
    approver = vacancy_helpers.staff_user(session, settings, "hr_planner")
    vacancy_helpers.seed_bank(session, hr)
    vacancy = vacancy_helpers.draft(
        session,
        settings,
        hr,
        org.officer_position,
        title="Jefatura de departamento de adquisiciones de bienes de consumo e inversión",
    )
    return vacancy_helpers.publish(session, settings, hr, approver, vacancy)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_public_pages_fit_a_phone(live_server, browser, session, settings, org):
    _published_vacancy(session, settings, org)
    with browsing(browser, PHONE) as (page, errors):
        for path in ("/", "/login", "/report", "/vacancies", "/candidates/register"):
            visit(page, live_server.url, path)
            assert_fits(page, path)
        visit(page, live_server.url, "/vacancies")
        assert "Jefatura de departamento" in page.locator("main").inner_text()
        # The language toggle is whole, inside the screen.
        for option in page.locator(".lang-switch button, .lang-switch a").all():
            box = option.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert not [e for e in errors if "Content Security Policy" in e]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_every_dashboard_fits_a_phone_with_at_most_seven_menu_entries(
    live_server, browser, make_user, org
):
    people = [(role, make_user(role, locale="es")) for role in ASSIGNABLE_ROLES]
    # The HR planner who also leads a team (the demo's): the longest navigation there is.
    people.append(
        ("hr_planner+supervisor", make_user("hr_planner", employee=org.head, locale="es"))
    )
    for who, user in people:
        with browsing(browser, PHONE) as (page, errors):
            sign_in(page, live_server.url, user.email)
            assert page.url.rstrip("/") == live_server.url, who
            assert_fits(page, f"the dashboard of {who}")
            assert top_level_entries(page) <= MAX_TOP_LEVEL, who
            # The content starts within the first screen's top half, not after the menu.
            assert page.locator("main h1").bounding_box()["y"] < PHONE["height"] / 2, who
            for option in page.locator(".lang-switch button").all():
                box = option.bounding_box()
                assert box and box["x"] + box["width"] <= PHONE["width"], who
            assert not [e for e in errors if "Content Security Policy" in e], who


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_appraisal_page_fits_a_phone(live_server, browser, session, make_user, org):
    hr = principal_for(session, make_user("hr_planner"))
    head = make_user("employee", employee=org.head, locale="es")
    officer = make_user("employee", employee=org.officer_a, locale="es")
    priority = plan(session, hr)
    cycle = open_cycle(session, hr)
    train(session, org.head, hr)
    appraisal: Appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, principal_for(session, head), priority, weights=(70, 30))
    for user in (head, officer):
        with browsing(browser, PHONE) as (page, _errors):
            sign_in(page, live_server.url, user.email)
            for path in ("/appraisals", f"/appraisals/{appraisal.id}"):
                visit(page, live_server.url, path)
                assert_fits(page, path)
            assert page.locator("#objectives table").count() == 1


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_menus_open_with_the_keyboard_and_without_javascript(live_server, browser, make_user, org):
    planner = make_user("hr_planner", employee=org.head, locale="es")
    for viewport, javascript in ((PHONE, False), (LAPTOP, True)):
        with browsing(browser, viewport, javascript=javascript) as (page, _errors):
            sign_in(page, live_server.url, planner.email)
            link = page.locator("nav.main-nav a[href='/org/employees']")
            assert not link.is_visible()  # closed: the menu takes one line
            group = page.locator(
                "nav.main-nav details", has=page.locator("a[href='/org/employees']")
            )
            summary = group.locator("summary")
            summary.focus()
            page.keyboard.press("Enter")
            assert link.is_visible()
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            assert_fits(page, "the dashboard with a menu open")
            link.focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{live_server.url}/org/employees")
            # The group of the page being shown is marked, and so is the page in it.
            current = page.locator("nav.main-nav details.current summary")
            assert current.inner_text().strip() == "Organización"
            follow_nav(page, "/competencies/gaps")
            page.wait_for_url(f"{live_server.url}/competencies/gaps")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1366px"])
def test_the_gap_chart_shows_whole_competency_names(
    live_server, browser, session, make_user, org, viewport
):
    officer = make_user("employee", employee=org.officer_a, locale="es")
    hr = principal_for(session, make_user("hr_planner"))
    for level, competency in enumerate(competency_service.list_competencies(session)[:5]):
        competency_service.record_rating(
            session,
            employee=org.officer_a,
            competency=competency,
            level=level % 5,
            source="hr",
            actor=hr,
        )
    session.commit()
    with browsing(browser, viewport) as (page, _errors):
        sign_in(page, live_server.url, officer.email)
        visit(page, live_server.url, "/competencies/me")
        assert_fits(page, "/competencies/me")
        chart = page.locator(".gap-chart")
        assert chart.count() == 1
        frame = chart.bounding_box()
        labels = chart.locator(".label")
        assert labels.count() == 13
        names = {c.name_es for c in competency_service.list_competencies(session)}
        for label in labels.all():
            box = label.bounding_box()
            text = label.text_content().strip()
            assert text in names
            # Inside the chart (nothing cut at either side) and readable (not shrunk to fit).
            assert frame["x"] - 0.5 <= box["x"], text
            assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5, text
            assert box["height"] >= 12, f"{text} is {box['height']:.1f}px high"


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_pages_that_had_inline_styles_raise_no_csp_error(
    live_server, browser, session, settings, make_user
):
    from tests.reporting_helpers import add_holder, file_report, ready_channel

    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    officer = add_holder(session, settings, make_user, "protection_officer")
    today = date.today()
    cases.notify(
        session,
        user_id=officer.id,
        kind=NotificationKind.complaint_received,
        dedupe="layout-test",
        today=today,
    )
    away = today + timedelta(days=2)
    cases.record_absence(
        session,
        user=ready.investigator,
        holder_private=None,
        starts_on=away,
        ends_on=away,
        hand_over_cases=False,
        today=today,
    )
    session.commit()
    with browsing(browser, LAPTOP) as (page, errors):
        sign_in(page, live_server.url, officer.email)
        assert page.locator("form[action='/notifications/read']").count() >= 1
        visit(page, live_server.url, "/cases/identity-requests")
        assert not [e for e in errors if "Content Security Policy" in e], errors
    with browsing(browser, LAPTOP) as (page, errors):
        sign_in(page, live_server.url, ready.investigator.email)
        visit(page, live_server.url, "/cases/absence")
        assert page.locator("form[action$='/end']").count() == 1
        visit(page, live_server.url, f"/cases/{report.reference}")
        assert not [e for e in errors if "Content Security Policy" in e], errors
