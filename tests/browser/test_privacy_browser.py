"""Privacy in a real browser, from the demo as `merito up` builds it (issue #17), in Spanish:

- the demo employee downloads their data from their account and the ZIP holds their account,
  employee record, ratings and the reporting channel's constant statement, nothing else of it;
- the demo employee files an ARCO request; the demo HR planner finds it in the queue with its
  legal deadline counted in working days, answers it within the deadline, and the employee reads
  the answer.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlmodel import select

from backend import clock, demo, workdays
from backend.privacy.models import ArcoRequest
from tests.browser.conftest import follow_nav, sign_in
from tests.browser.test_layout_390 import assert_fits

pytestmark = pytest.mark.browser

DEMO_EMPLOYEES = 120
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_site(engine, session, settings, live_server):
    demo.generate(engine, employees=DEMO_EMPLOYEES, seed=1)
    demo.create_demo_accounts(session, settings)
    session.commit()
    return live_server.url


def _as(page, base, account):
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "merito_lang", "value": "es", "url": base}])
    sign_in(page, base, demo.demo_email(account), demo.demo_password(account))


def _click(page, selector):
    with page.expect_navigation():
        page.click(selector)


def test_an_employee_downloads_their_data_and_hr_answers_their_arco_request(
    demo_site, page, session, settings
):
    base = demo_site
    _as(page, base, "employee")
    page.goto(f"{base}/account")
    _click(page, "a[href='/account/privacy']")
    assert "Mis datos y privacidad" in page.content()

    with page.expect_download() as download:
        page.click("#download-my-data")
    archive = zipfile.ZipFile(download.value.path())
    names = set(archive.namelist())
    assert {"README.txt", "account.json", "organisation/employee.json"} <= names
    account = json.loads(archive.read("account.json"))
    assert account["email"] == demo.demo_email("employee")
    assert "password_hash" not in account
    employee = json.loads(archive.read("organisation/employee.json"))
    assert employee["id"] == account["employee_id"]
    # The demo puts the employee in the open appraisal cycle: their appraisal is in the file.
    appraisals = list(
        csv.DictReader(io.StringIO(archive.read("appraisals/appraisals.csv").decode("utf-8-sig")))
    )
    assert appraisals and {r["employee_id"] for r in appraisals} == {str(employee["id"])}
    assert "competencies/rating_history.csv" in names and "training/enrolments.csv" in names
    assert "privacy/arco_requests.csv" in names and "appraisals/appraisals.csv" in names
    assert [n for n in names if n.startswith("reporting_channel/")] == [
        "reporting_channel/statement.json"
    ]

    # An ARCO request, filed through the form.
    page.select_option("#f-kind", "access")
    page.fill("#f-subject", "Mis calificaciones de competencias")
    page.fill("#f-details", "Quiero saber quién las registró.")
    _click(page, "#arco-form button[type=submit]")
    assert "Su solicitud quedó registrada" in page.content()
    filed = session.exec(
        select(ArcoRequest).where(ArcoRequest.subject == "Mis calificaciones de competencias")
    ).one()
    today = clock.today(settings)
    assert filed.filed_on == today
    assert filed.due_on == workdays.add_working_days(today, 20)
    left = workdays.working_days_between(today, filed.due_on)
    assert left == 20

    # HR finds it in the queue, with the deadline in working days, and answers it.
    _as(page, base, "hr_planner")
    page.goto(f"{base}/")
    follow_nav(page, "/org/privacy-requests")
    page.wait_for_load_state("networkidle")
    row = page.locator("#arco-queue tr", has_text="Mis calificaciones de competencias")
    assert row.locator("[data-working-days-left='20']").count() == 1
    assert "quedan 20 días hábiles" in row.inner_text()
    # The demo's own pending request is there too.
    assert page.locator("#arco-queue tr", has_text="Mi segundo apellido").count() == 1
    page.set_viewport_size(PHONE)
    assert_fits(page, "/org/privacy-requests")
    _click(page, f"a[href='/org/privacy-requests/{filed.id}']")
    assert_fits(page, f"/org/privacy-requests/{filed.id}")
    page.select_option("#f-decision", "granted")
    page.fill("#f-answer", "Sus calificaciones las registró su supervisora; vea su archivo.")
    _click(page, "form[action$='/answer'] button[type=submit]")
    assert "La solicitud fue respondida" in page.content()
    session.expire_all()
    answered = session.get(ArcoRequest, filed.id)
    assert answered.status == "answered" and answered.answered_at is not None
    assert clock.today(settings) <= answered.due_on

    # The employee reads the answer.
    _as(page, base, "employee")
    page.goto(f"{base}/account/privacy/requests/{filed.id}")
    assert_fits(page, f"/account/privacy/requests/{filed.id}")
    assert page.locator("#arco-decision").inner_text() == "Procedente"
    assert "registró su supervisora" in page.content()
    page.goto(f"{base}/account/privacy")
    assert_fits(page, "/account/privacy")
    page.goto(f"{base}/privacy/notices/employees/1")
    assert_fits(page, "/privacy/notices/employees/1")
    assert "Esta versión ya no está vigente." in page.content()
