"""The first day on the demo, in a real browser (issue #13): from a fresh demo database built
the way `merito up` builds it (the organisation, then the demo accounts, which bring the
competitions), with nothing set up by hand.

- The demo candidate signs in, applies to the competition accepting applications, takes the
  knowledge test that is open, and sees their result on the competition whose merit list is out.
- The demo panel member signs in and scores the interviews of the competition in interviews.

Pages are in Spanish, as a visitor from Mexico sees them.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from assessments.vacancies.models import Vacancy, VacancyStatus
from backend import demo
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

# The smallest organisation the demo competitions fit in; `merito up` makes 600 (same code).
DEMO_EMPLOYEES = 200


@pytest.fixture
def demo_site(engine, session, settings, live_server):
    demo.generate(engine, employees=DEMO_EMPLOYEES, seed=1)
    demo.create_demo_accounts(session, settings)
    session.commit()
    vacancies = {v.status: v for v in session.exec(select(Vacancy)).all()}
    return live_server.url, vacancies


def _click(page, selector):
    with page.expect_navigation():
        page.click(selector)


def _as(page, base, account):
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "merito_lang", "value": "es", "url": base}])
    sign_in(page, base, demo.demo_email(account), demo.demo_password(account))


def test_the_demo_candidate_applies_takes_the_test_and_sees_the_result(demo_site, page):
    base, vacancies = demo_site
    _as(page, base, "candidate")

    # Apply to the competition accepting applications, from the public board.
    open_vacancy = vacancies[VacancyStatus.published]
    page.goto(f"{base}/vacancies")
    _click(page, f"a[href='/vacancies/{open_vacancy.id}']")
    _click(page, f"a[href='/vacancies/{open_vacancy.id}/apply']")
    assert "Confirme su correo" not in page.content()
    for question in open_vacancy.eligibility:
        page.check(f"input[name='answer_{question['key']}'][value='{question['pass_answer']}']")
    for criterion in open_vacancy.criteria:
        page.fill(
            f"#f-evidence_{criterion['competency']}",
            "Conduje la licitación consolidada de material de curación de 2025: integré el "
            "expediente, respondí la junta de aclaraciones y el fallo no fue impugnado.",
        )
    _click(page, f"form[action='/vacancies/{open_vacancy.id}/apply'] button[type=submit]")
    assert "/applications/" in page.url
    assert "Se recibió su postulación" in page.content()

    # Take the knowledge test that is open now.
    testing_vacancy = vacancies[VacancyStatus.testing]
    page.goto(f"{base}/applications")
    _click(page, f"tr:has-text('{testing_vacancy.reference}') a")
    _click(page, "form[action$='/test/start'] button")
    assert page.locator("#test-form").count() == 1
    questions = page.locator("#test-form fieldset")
    assert questions.count() == sum(row["count"] for row in testing_vacancy.blueprint)
    for index in range(questions.count()):
        fieldset = questions.nth(index)
        fieldset.locator("input[type=radio]").first.check()
        # Each answer is saved as it is chosen (htmx): wait until the page says so.
        fieldset.locator(".saved").filter(has_text="Guardad").wait_for()
    _click(page, "#test-form button[type=submit]")
    assert "Su examen fue entregado" in page.content()

    # See the result where the merit list is published (and the appeal window is open).
    results = vacancies[VacancyStatus.results]
    page.goto(f"{base}/applications")
    _click(page, f"tr:has-text('{results.reference}') a")
    content = page.content()
    assert "Mis resultados" in content
    assert "lista de mérito" in content
    assert page.locator("form[action$='/appeal']").count() == 1


def test_the_demo_panel_member_scores_the_interviews(demo_site, page):
    base, vacancies = demo_site
    interview = vacancies[VacancyStatus.interview]
    _as(page, base, "panel_member")
    page.goto(f"{base}/panel")
    _click(page, f"a[href='/panel/{interview.id}']")
    links = page.locator(f"a[href^='/panel/{interview.id}/interview/']")
    count = links.count()
    assert count >= 2
    hrefs = [links.nth(i).get_attribute("href") for i in range(count)]
    assert page.locator("td .badge-warn").count() == count  # "Por calificar"
    for href in hrefs:
        page.goto(f"{base}{href}")
        for criterion in interview.criteria:
            page.check(f"input[name='score_{criterion['competency']}'][value='3']")
        _click(page, "#score-form button[type=submit]")
        assert "Se registraron sus calificaciones" in page.content()
        heading = page.locator("h1").inner_text()
        # The other two seats scored everyone interviewed already: now that this seat has,
        # the independent scores are revealed. The demo candidate's interview is tomorrow
        # (booked in a slot), so nobody else has scored them yet and nothing is revealed.
        revealed = 0 if "Persona candidata externa (demo)" in heading else 1
        assert page.locator("#consensus-title").count() == revealed, heading
    page.goto(f"{base}/panel/{interview.id}")
    assert page.locator("td .badge-warn").count() == 0
    assert page.locator("td .badge-ok").count() == count  # "Calificado"
