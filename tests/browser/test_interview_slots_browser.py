"""The demo's interview times on a phone (390 px, Spanish, by keyboard): the demo candidate
finds the interview booked for tomorrow, moves it to the free time of the day after and gets
the calendar file; HR's calendar page of the competition shows it. Nothing scrolls sideways."""

from __future__ import annotations

import icalendar
import pytest
from sqlmodel import select

from assessments.vacancies.models import Vacancy, VacancyStatus
from backend import demo
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

DEMO_EMPLOYEES = 200


@pytest.fixture
def demo_site(engine, session, settings, live_server):
    demo.generate(engine, employees=DEMO_EMPLOYEES, seed=1)
    demo.create_demo_accounts(session, settings)
    session.commit()
    [vacancy] = session.exec(select(Vacancy).where(Vacancy.status == VacancyStatus.interview))
    return live_server.url, vacancy


def _fits(page) -> None:
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth).map(e => e.tagName + '.' + e.className + ':' + "
        "(e.textContent || '').slice(0, 40))"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide


def test_the_demo_candidate_moves_the_interview_by_keyboard_on_a_phone(demo_site, browser):
    base, vacancy = demo_site
    context = browser.new_context(locale="es-MX", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, base, demo.demo_email("candidate"), demo.demo_password("candidate"))
        page.goto(f"{base}/applications")
        with page.expect_navigation():
            page.click(f"tr:has-text('{vacancy.reference}') a")
        content = page.content()
        assert "Entrevista" in content and "Sala de juntas 2" in content
        assert "Agregar a mi calendario (.ics)" in content
        _fits(page)
        # By keyboard: the free time's radio, then the button.
        radio = page.locator("form[action$='/slots/interview'] input[type=radio]").first
        radio.focus()
        page.keyboard.press("Space")
        button = page.locator("form[action$='/slots/interview'] button[type=submit]")
        button.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        content = page.content()
        assert "Su horario quedó reservado" in content
        assert "por videollamada" not in content  # the booked time is shown, not offered
        assert "videollamadas.demo.merito.mx" in content
        _fits(page)
        link = page.locator("a[href$='/slots/interview.ics']").get_attribute("href")
        ics = page.request.get(base + link)
        [event] = icalendar.Calendar.from_ical(ics.body()).walk("VEVENT")
        assert int(event["SEQUENCE"]) == 1  # the update of the invitation sent at booking

        page.context.clear_cookies()
        sign_in(page, base, demo.demo_email("hr_planner"), demo.demo_password("hr_planner"))
        page.goto(f"{base}/competitions/{vacancy.id}/calendar")
        assert "Sesiones de examen y horarios de entrevista" in page.content()
        _fits(page)
    finally:
        context.close()
