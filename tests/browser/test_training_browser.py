"""The training journey in a real browser: a gap becomes a proposed plan, the supervisor approves
it, the employee enrols and completes, and the supervisor confirms the new level."""

from __future__ import annotations

import pytest
from sqlmodel import select

from competency_framework import service as competency_service
from competency_framework.training.models import TrainingEnrolment
from tests.browser.conftest import follow_nav, sign_in
from tests.training.helpers import principal_for, rate, session_of, small_catalogue
from tests.training.test_service import OFFICER_LEVELS

pytestmark = pytest.mark.browser


def sign_out(page, base_url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/login")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_gap_becomes_training_and_a_confirmed_level(live_server, page, session, make_user, org):
    catalogue = small_catalogue(session)
    hr = principal_for(session, make_user("hr_planner"))
    rate(session, org.officer_a, hr, OFFICER_LEVELS)  # legal 1, required 3: the largest gap
    seat = session_of(session, catalogue["legal_basics"], place="Aula 4, Ciudad de México")
    session.commit()
    employee = make_user("employee", employee=org.officer_a)
    supervisor = make_user("employee", employee=org.head)
    legal = competency_service.get_competency(session, "legal")

    # 1. The employee asks for a plan from their gaps.
    sign_in(page, live_server.url, employee.email)
    follow_nav(page, "/training/me")
    page.click("#propose-plan")
    page.wait_for_url(f"{live_server.url}/training/me")
    items = page.locator("#plan-items").inner_text()
    assert "Course legal_basics" in items and "level 1, required 3 (gap 2)" in items
    page.click("#submit-plan")
    page.wait_for_load_state("networkidle")
    assert "sent to your supervisor" in page.locator(".flashes").inner_text()

    # 2. The supervisor approves it from the dashboard.
    sign_out(page, live_server.url)
    sign_in(page, live_server.url, supervisor.email)
    page.click(f"a[href='/training/people/{org.officer_a.id}']")
    page.click("#approve-plan")
    page.wait_for_url(f"{live_server.url}/training/people/{org.officer_a.id}")
    assert "3 activities approved" in page.locator(".flashes").inner_text()

    # 3. The employee enrols in the session and records completion with a score.
    sign_out(page, live_server.url)
    sign_in(page, live_server.url, employee.email)
    page.goto(f"{live_server.url}/training/me")
    page.click(f"#enrol-{seat.id}")
    page.wait_for_url(f"{live_server.url}/training/me")
    assert "Enrolled." in page.locator(".flashes").inner_text()
    enrolment = session.exec(select(TrainingEnrolment)).one()
    page.click(f"#complete-{enrolment.id}")
    page.fill("#f-score", "92")
    page.click("#record-completion")
    page.wait_for_url(f"{live_server.url}/training/me")
    assert "confirm the new level" in page.locator(".flashes").inner_text()
    assert (
        competency_service.current_levels(session, employee_id=org.officer_a.id)[legal.id].level
        == 1
    )

    # 4. The supervisor confirms the level reached in training.
    sign_out(page, live_server.url)
    sign_in(page, live_server.url, supervisor.email)
    assert "Levels to confirm after training" in page.content()
    page.click(f"a[href='/competencies/validation/{org.officer_a.id}']")
    assert "Level reached in training" in page.content()
    page.click(f"form[action='/competencies/validation/{org.officer_a.id}'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/competencies/validation")
    # A new transaction sees what the server committed (a person's levels are read once per
    # transaction: backend.revisions.per_transaction).
    session.commit()
    session.expire_all()
    current = competency_service.current_levels(session, employee_id=org.officer_a.id)
    assert current[legal.id].level == 2 and current[legal.id].source == "supervisor"
