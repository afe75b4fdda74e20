"""A whole appraisal dialogue in a real browser: objectives, both blind assessments, the dialogue,
sign-off, and the employee's disagreement reaching the second-level manager."""

from __future__ import annotations

import pytest
from sqlmodel import select

from assessments.appraisals import service
from assessments.appraisals.models import DevelopmentAction, Stage
from tests.appraisals.helpers import add_director, appraisal_of, open_cycle, plan, train
from tests.browser.conftest import follow_nav, sign_in
from tests.competency.helpers import principal_for

pytestmark = pytest.mark.browser


def sign_out(page) -> None:
    page.click("form[action='/logout'] button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_whole_appraisal_dialogue_with_disagreement(live_server, page, session, make_user, org):
    director = add_director(session, org)
    hr = make_user("hr_planner")
    head = make_user("employee", employee=org.head)
    officer = make_user("employee", employee=org.officer_a)
    director_user = make_user("employee", employee=director)
    hr_principal = principal_for(session, hr)
    priority = plan(session, hr_principal)
    cycle = open_cycle(session, hr_principal)
    train(session, org.head, hr_principal)
    appraisal = appraisal_of(session, cycle, org.officer_a)
    url = f"{live_server.url}/appraisals/{appraisal.id}"

    # 1. The supervisor proposes the objectives; a first try totals 90 and is refused.
    sign_in(page, live_server.url, head.email)
    assert "My team's appraisals" in page.content()
    follow_nav(page, "/appraisals")
    page.click(f"a[href='/appraisals/{appraisal.id}']")
    page.fill("#f-title_0", "Tenders within the legal terms")
    page.fill("#f-measure_0", "90 % of tenders awarded within the legal terms")
    page.select_option("#f-link_0", f"p:{priority.id}")
    page.fill("#f-weight_0", "70")
    page.fill("#f-title_1", "Market research for every purchase")
    page.fill("#f-measure_1", "Three quotations on file per purchase")
    page.select_option("#f-link_1", f"p:{priority.id}")
    page.fill("#f-weight_1", "20")
    page.click("#objectives-form button[type=submit]")
    assert (
        "The weights must total 100; they total 90." in page.locator(".error-summary").inner_text()
    )
    assert page.input_value("#f-title_1") == "Market research for every purchase"
    page.fill("#f-weight_1", "30")
    page.click("#objectives-form button[type=submit]")
    page.wait_for_url(url)
    assert "The objectives were proposed" in page.locator(".flashes").inner_text()
    sign_out(page)

    # 2. The employee agrees and writes the self-assessment blind.
    sign_in(page, live_server.url, officer.email)
    assert "Read the proposed objectives and agree to them." in page.content()
    page.goto(url)
    page.click("#agree-objectives")
    page.wait_for_url(url)
    objectives = service.objectives_of(session, appraisal)
    for objective in objectives:
        page.check(f"#f-rating_{objective.id}_4")
    page.fill("#f-achievements", "Awarded all tenders on time despite the platform outage")
    page.click("#submit-assessment")
    page.wait_for_url(f"{url}#assessment")
    assert "Your assessment was submitted" in page.locator(".flashes").inner_text()
    assert "Both assessments, side by side" not in page.content()
    sign_out(page)

    # 3. The supervisor writes theirs, then sees both side by side and records the dialogue.
    sign_in(page, live_server.url, head.email)
    page.goto(url)
    assert "Awarded all tenders on time" not in page.content()  # still blind
    for objective in objectives:
        page.check(f"#f-rating_{objective.id}_3")
    page.fill("#f-achievements", "Reliable year; market research sometimes late")
    page.click("#submit-assessment")
    page.wait_for_url(f"{url}#assessment")
    assert "Both assessments, side by side" in page.content()
    assert "Awarded all tenders on time" in page.locator("#both-assessments").inner_text()
    page.fill("#f-achievements", "All tenders awarded within the legal terms")
    page.fill("#f-barriers", "The e-procurement platform was down for three weeks")
    page.fill("#f-support_needed", "Earlier access to the legal team")
    page.fill("#f-next_objectives", "Lead the consolidated medicine purchase")
    page.fill("#f-action_0", "Course on public procurement law")
    page.select_option("#f-action_competency_0", "legal")
    page.check("#f-rating_3")
    page.fill("#f-reasons", "Objectives met; market research needs to start earlier")
    page.click("#save-dialogue")
    page.wait_for_url(f"{url}#dialogue")
    page.click("#sign-supervisor")
    page.wait_for_url(url)
    assert "The employee is asked to sign it too" in page.locator(".flashes").inner_text()
    sign_out(page)

    # 4. The employee signs with disagreement: the appraisal goes to the director.
    sign_in(page, live_server.url, officer.email)
    page.goto(url)
    assert "The e-procurement platform was down" in page.locator("#dialogue-record").inner_text()
    page.check("#f-decision-disagree")
    page.click("#sign-employee")
    assert "Say what you disagree with." in page.locator(".error-summary").inner_text()
    page.check("#f-decision-disagree")
    page.fill("#f-disagreement", "The outage, not my planning, delayed the market research")
    page.click("#sign-employee")
    page.wait_for_url(url)
    assert "sent to the second-level manager" in page.locator(".flashes").inner_text()
    sign_out(page)

    # 5. The director reviews and decides the final rating.
    sign_in(page, live_server.url, director_user.email)
    follow_nav(page, "/appraisals")
    assert "Escalated to me" in page.content()
    page.click(f"a[href='/appraisals/{appraisal.id}']")
    assert "The outage, not my planning" in page.locator("#disagreement").inner_text()
    page.check("#f-rating_4")
    page.fill("#f-reasons", "The outage explains the late research")
    page.click("#review-form button[type=submit]")
    page.wait_for_url(url)
    assert "Exceeds expectations" in page.locator("#final-rating").inner_text()

    session.expire_all()
    done = session.get(type(appraisal), appraisal.id)
    assert done.stage == Stage.completed
    assert (done.supervisor_rating, done.final_rating) == (3, 4)
    action = session.exec(select(DevelopmentAction)).one()
    assert action.published_at is not None and action.competency_code == "legal"
