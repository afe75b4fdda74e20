"""Triage, questionnaires and retention in a browser, on a phone (390 px), in Spanish: the
channel's questions swap in when a reporter chooses it (htmx) and are decided on the server
without JavaScript; an investigator sorts the inbox by priority, sets one by hand and puts a
case under a legal hold; every page fits the screen."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlmodel import select

from backend import clock
from tests.browser.conftest import sign_in
from tests.reporting_helpers import file_report, ready_channel
from whistleblowing import service as reporting
from whistleblowing.models import Report, ReportChannel

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@contextmanager
def phone(browser, *, javascript: bool = True):
    context = browser.new_context(locale="es-MX", viewport=PHONE, java_script_enabled=javascript)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_questionnaire_priority_and_legal_hold_on_a_phone(
    live_server, browser, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    today = clock.today(settings)
    for data in (
        reporting.QuestionInput(kind="yes_no", text_es="¿Hubo pagos?", text_en="Payments?"),
        reporting.QuestionInput(
            text_es="¿A quién se pagó?", text_en="Who was paid?", required=True, show_if="q1=yes"
        ),
    ):
        reporting.add_question(
            session, channel=ready.channel, actor=ready.investigator, data=data, today=today
        )
    session.commit()
    other = session.exec(select(ReportChannel).where(ReportChannel.code == "other")).one()
    file_report(session, settings, ready.channel.id, red_flags=[])

    with phone(browser) as page:
        page.goto(f"{live_server.url}/report/new?lang=es")
        assert page.locator(f"#questions-{ready.channel.id}").count() == 1
        page.check(f"input[name=channel][value='{other.id}']")
        # (A selector wait: the page's CSP forbids evaluating a string as script.)
        page.wait_for_selector(f"#questions-{ready.channel.id}", state="detached")
        page.check(f"input[name=channel][value='{ready.channel.id}']")
        page.wait_for_selector(f"#questions-{ready.channel.id}")
        assert "Responda estas preguntas solo si" not in page.inner_text("#questions")
        assert fits(page)

    # Without JavaScript the server decides: "yes" makes the second question required.
    with phone(browser, javascript=False) as page:
        page.goto(f"{live_server.url}/report/new?lang=es&channel={ready.channel.id}")
        page.fill("#f-what", "Pagos dobles de guantes")
        page.check(f"input[name='q-{ready.channel.id}-q1'][value='yes']")
        page.check("#f-good_faith")
        page.click("#report-form button[type=submit]")
        assert "Responda esta pregunta." in page.inner_text("main")
        page.fill(f"#f-q-{ready.channel.id}-q2", "Proveedora Médica del Centro")
        page.click("#report-form button[type=submit]")
        assert page.locator("#receipt").count() == 1
    reference = session.exec(select(Report.reference).order_by(Report.id.desc())).first()

    with phone(browser) as page:
        sign_in(page, live_server.url, ready.investigator.email)
        page.goto(f"{live_server.url}/cases?sort=priority")
        assert fits(page)
        page.goto(f"{live_server.url}/cases/{reference}")
        assert "Proveedora Médica del Centro" in page.inner_text("main")
        page.click("#priority summary")
        page.select_option("#f-priority_level", "urgent")
        page.fill("#f-priority_reason", "Se adjudica otro contrato la próxima semana.")
        page.click("#priority-form button[type=submit]")
        assert "priority-urgent" in page.get_attribute("#priority-level", "class")
        page.click("#retention summary")
        page.fill("#f-hold_until", (today.replace(year=today.year + 1)).isoformat())
        page.fill("#f-hold_reason", "Orden del juez para conservar el expediente.")
        page.click("#hold-form button[type=submit]")
        assert "Orden del juez para conservar el expediente." in page.inner_text("#holds")
        assert fits(page)
        page.goto(f"{live_server.url}/cases/retention")
        assert fits(page)
