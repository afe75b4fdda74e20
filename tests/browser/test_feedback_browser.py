"""360° feedback on the demo, in a real browser: the demo employee answers the pending request
for upward feedback on the demo supervisor (four colleagues already answered), and the
supervisor then sees the pooled results of five on their own appraisal. In Spanish."""

from __future__ import annotations

import pytest
from sqlmodel import select

from assessments.appraisals.models import Appraisal, FeedbackInvitation
from backend import demo
from backend.auth.models import User
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

DEMO_EMPLOYEES = 120


@pytest.fixture
def demo_site(engine, session, settings, live_server):
    demo.generate(engine, employees=DEMO_EMPLOYEES, seed=1)
    demo.create_demo_accounts(session, settings)
    session.commit()

    def employee_of(account: str) -> int:
        email = demo.demo_email(account)
        return session.exec(select(User).where(User.email == email)).one().employee_id

    supervisor = session.exec(
        select(Appraisal).where(Appraisal.employee_id == employee_of("supervisor"))
    ).one()
    request = session.exec(
        select(FeedbackInvitation).where(
            FeedbackInvitation.appraisal_id == supervisor.id,
            FeedbackInvitation.rater_id == employee_of("employee"),
        )
    ).one()
    return live_server.url, supervisor.id, request.id


def _as(page, base, account):
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "merito_lang", "value": "es", "url": base}])
    sign_in(page, base, demo.demo_email(account), demo.demo_password(account))


def test_a_colleague_answers_and_the_supervisor_sees_the_pooled_results(demo_site, page):
    base, supervisor_appraisal, request = demo_site
    _as(page, base, "supervisor")
    page.goto(f"{base}/appraisals/{supervisor_appraisal}")
    assert page.locator("#feedback").is_visible()
    assert page.locator("#feedback-results").count() == 0

    _as(page, base, "employee")
    page.goto(f"{base}/")
    assert "Retroalimentación por dar" in page.content()
    page.goto(f"{base}/appraisals/feedback")
    with page.expect_navigation():
        page.click(f"a[href='/appraisals/feedback/{request}']")
    for fieldset in page.locator("fieldset.rating-scale").all():
        fieldset.locator("input[value='4']").check()
    page.fill("#f-comment", "Nos explica con claridad las prioridades de la semana.")
    with page.expect_navigation():
        page.click("form button[type=submit].primary")
    assert "su retroalimentación se registró sin su nombre" in page.content()

    _as(page, base, "supervisor")
    page.goto(f"{base}/appraisals/{supervisor_appraisal}")
    results = page.locator("#feedback-results")
    assert results.is_visible()
    assert "Nos explica con claridad las prioridades de la semana." in page.content()
    assert results.locator("tbody tr").first.locator("td").first.inner_text() == "5"
