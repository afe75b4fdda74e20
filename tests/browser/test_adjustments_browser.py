"""Reasonable adjustments in a real browser, from the demo (issue #17).

The demo candidate applies to the competition accepting applications and asks for extra time;
the demo HR planner grants it with a reason; when the knowledge test opens, the candidate's test
runs with the longer limit — an answer after the ordinary limit is saved — while another
candidate's test, started at the same moment, refuses it. The competition clock is moved
forward instead of waiting for the closing date (setup that is not the point: opening the test,
the other candidate's test, through the services).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.models import Vacancy, VacancyStatus
from backend import clock, demo
from backend.auth.models import User
from tests.browser.conftest import sign_in
from tests.vacancies import helpers

pytestmark = pytest.mark.browser

DEMO_EMPLOYEES = 200
REASON = "Dictamen médico presentado; 15 minutos son proporcionales a un examen de 30."


def _fits_a_phone(page) -> None:
    """The page, at 390 px wide, does not scroll sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, page.url
    page.set_viewport_size({"width": 1280, "height": 900})


def _click(page, selector):
    with page.expect_navigation():
        page.click(selector)


def _as(page, base, account):
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "merito_lang", "value": "es", "url": base}])
    sign_in(page, base, demo.demo_email(account), demo.demo_password(account))


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_extra_time_is_asked_granted_and_enforced_per_candidate(
    engine, session, settings, live_server, page, monkeypatch
):
    demo.generate(engine, employees=DEMO_EMPLOYEES, seed=1)
    demo.create_demo_accounts(session, settings)
    session.commit()
    base = live_server.url
    vacancy = session.exec(select(Vacancy).where(Vacancy.status == VacancyStatus.published)).one()
    fake = helpers.set_clock(monkeypatch, helpers.FakeClock(start=clock.now()))

    # The demo candidate applies, then asks for 15 extra minutes from the application page.
    _as(page, base, "candidate")
    page.goto(f"{base}/vacancies/{vacancy.id}/apply")
    for question in vacancy.eligibility:
        page.check(f"input[name='answer_{question['key']}'][value='{question['pass_answer']}']")
    for criterion in vacancy.criteria:
        page.fill(
            f"#f-evidence_{criterion['competency']}",
            "Conduje la licitación consolidada de material de curación de 2025 de principio a fin.",
        )
    _click(page, f"form[action='/vacancies/{vacancy.id}/apply'] button[type=submit]")
    application_url = page.url
    _click(page, "a[href$='/adjustments']")
    _fits_a_phone(page)
    page.check("#f-kind-extra_time")
    page.fill("#f-extra_minutes", "15")
    page.fill("#f-details", "Tengo dislexia y leo más despacio.")
    _click(page, "form[action$='/adjustments'] button[type=submit]")
    assert "Su solicitud de ajustes se envió a RR. HH." in page.content()

    # HR grants it, with a reason the candidate reads.
    candidate = session.exec(select(User).where(User.email == demo.demo_email("candidate"))).one()
    session.expire_all()
    mine = service.application_of(session, vacancy, candidate)
    request = service.adjustment_of(session, mine)
    _as(page, base, "hr_planner")
    page.goto(f"{base}/competitions/{vacancy.id}/adjustments")
    _fits_a_phone(page)
    form = f"form[action='/competitions/{vacancy.id}/adjustments/{request.id}/decide']"
    page.check(f"{form} input[name=decision][value=granted]")
    page.fill(f"{form} textarea[name=reason]", REASON)
    _click(page, f"{form} button[type=submit]")
    assert "La decisión quedó registrada" in page.content()
    page.goto(f"{base}/competitions/{vacancy.id}/statistics")
    assert "Concedida por completo" in page.content()
    _fits_a_phone(page)

    # The test opens after the closing date; the candidate sees the decision and starts it.
    fake.moment = service.review_window_closes(settings, vacancy) + timedelta(minutes=1)
    session.expire_all()
    vacancy = session.get(Vacancy, vacancy.id)
    service.open_test(session, settings, vacancy=vacancy, actor=_hr(session))
    session.commit()
    _as(page, base, "candidate")
    page.goto(application_url)
    assert REASON in page.content() and page.locator("#granted-time").count() == 1
    _click(page, "form[action$='/test/start'] button")
    assert page.locator("#extra-time").count() == 1
    _fits_a_phone(page)
    # Another candidate starts at the same moment, without adjustments.
    other_app = next(
        a for a in service.active_applications(session, vacancy) if a.user_id != candidate.id
    )
    other = session.get(User, other_app.user_id)
    other_attempt = service.start_test(session, application=other_app, user=other)
    session.commit()

    # 35 minutes in: past the ordinary 30, within the candidate's 45.
    fake.advance(minutes=35)
    first = page.locator("#test-form fieldset").first
    first.locator("input[type=radio]").first.check()
    first.locator(".saved").filter(has_text="Guardad").wait_for()
    with pytest.raises(service.VacancyError, match="time limit has passed|tiempo"):
        service.answer(
            session,
            attempt=other_attempt,
            question_id=other_attempt.question_ids[0],
            chosen=0,
        )
    session.rollback()
    session.expire_all()
    attempt = service.attempt_of(session, mine)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=45)
    assert other_attempt.deadline_at - other_attempt.started_at == timedelta(minutes=30)
    assert service.answers_of(session, attempt)  # the late answer was saved

    # After 45 minutes the candidate is refused too.
    fake.advance(minutes=11)
    second = page.locator("#test-form fieldset").nth(1)
    second.locator("input[type=radio]").first.check()
    second.locator(".saved .error").wait_for()


def _hr(session) -> User:
    return session.exec(select(User).where(User.email == demo.demo_email("hr_planner"))).one()
