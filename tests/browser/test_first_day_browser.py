"""The first day (issue #13): on a demo database built the way `merito up` builds it, on a
phone-sized screen, in Spanish (the demo accounts' language), the demo supervisor and employee
walk a whole appraisal dialogue, and the HR planner downloads the gap heatmap."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from assessments.appraisals import demo as appraisal_demo
from assessments.appraisals import service
from assessments.appraisals.models import Appraisal, AppraisalCycle, Stage
from backend import demo, plugins
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_accounts(engine, session, settings) -> dict:
    """A fresh demo database, as `merito up` fills it (at a small size): role -> account."""
    demo.generate(engine, employees=120, seed=1)
    accounts = demo.create_demo_accounts(session, settings)
    session.commit()
    plugins.call_hooks("demo.after", engine, settings)  # as `merito up` does
    return {a.role: a for a in accounts}


def _as(page, base: str, account) -> None:
    page.context.clear_cookies()
    sign_in(page, base, account.email, account.password)
    assert "/login" not in page.url and "/account/first-password" not in page.url


def _appraisal(session, employee_id: int) -> Appraisal:
    session.expire_all()
    cycle = session.exec(
        select(AppraisalCycle).where(
            AppraisalCycle.name == appraisal_demo.cycle_name(demo.AS_OF.year)
        )
    ).one()
    return session.exec(
        select(Appraisal).where(
            Appraisal.cycle_id == cycle.id, Appraisal.employee_id == employee_id
        )
    ).one()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_demo_supervisor_and_employee_complete_an_appraisal_on_a_phone(
    live_server, page, session, demo_accounts
):
    page.set_viewport_size(PHONE)
    supervisor, employee = demo_accounts["supervisor"], demo_accounts["employee"]
    appraisal = _appraisal(session, employee.employee_id)
    url = f"{live_server.url}/appraisals/{appraisal.id}"

    # 1. The supervisor finds the appraisal in their team's list and proposes the objectives.
    _as(page, live_server.url, supervisor)
    page.goto(f"{live_server.url}/appraisals")
    assert page.locator("html").get_attribute("lang") == "es"
    page.click(f"a[href='/appraisals/{appraisal.id}']")
    priority = page.locator("#f-link_0 option[value^='p:']").first.get_attribute("value")
    for index, (title, weight) in enumerate(
        [("Licitaciones en plazo", "60"), ("Investigación de mercado", "30")]
    ):
        page.fill(f"#f-title_{index}", title)
        page.fill(f"#f-measure_{index}", f"Indicador de {title.lower()}")
        page.select_option(f"#f-link_{index}", priority)
        page.fill(f"#f-weight_{index}", weight)
    page.click("#objectives-form button[type=submit]")
    # Refused (90, not 100): back on the page a reload opens again, the rows as typed.
    page.wait_for_url(f"{url}#objectives")
    assert page.input_value("#f-title_1") == "Investigación de mercado"
    assert "90" in page.locator(".error-summary").inner_text()
    page.reload()  # a GET: nothing is posted again
    assert service.objectives_of(session, _appraisal(session, employee.employee_id)) == []
    page.fill("#f-title_0", "Licitaciones en plazo")
    page.fill("#f-measure_0", "Indicador de licitaciones en plazo")
    page.select_option("#f-link_0", priority)
    page.fill("#f-weight_0", "60")
    page.fill("#f-title_1", "Investigación de mercado")
    page.fill("#f-measure_1", "Tres cotizaciones por compra")
    page.select_option("#f-link_1", priority)
    page.fill("#f-weight_1", "40")
    page.click("#objectives-form button[type=submit]")
    page.wait_for_url(url)
    assert "Objetivos por aceptar" in page.locator(".page-head").inner_text()

    # 2. The employee agrees and writes the self-assessment.
    _as(page, live_server.url, employee)
    page.goto(url)
    page.click("#agree-objectives")
    page.wait_for_url(url)
    objectives = service.objectives_of(session, _appraisal(session, employee.employee_id))
    assert len(objectives) == 2
    for objective in objectives:
        page.check(f"#f-rating_{objective.id}_4")
    page.fill("#f-achievements", "Todas las licitaciones adjudicadas en plazo")
    page.click("#submit-assessment")
    page.wait_for_url(f"{url}#assessment")

    # 3. The supervisor assesses, records the dialogue (trained: the demo recorded it) and signs.
    _as(page, live_server.url, supervisor)
    page.goto(url)
    for objective in objectives:
        page.check(f"#f-rating_{objective.id}_3")
    page.fill("#f-achievements", "Buen año; la investigación de mercado llegó tarde a veces")
    page.click("#submit-assessment")
    page.wait_for_url(f"{url}#assessment")
    assert page.locator("#dialogue-gate").count() == 0
    page.fill("#f-achievements", "Licitaciones en plazo")
    page.fill("#f-barriers", "La plataforma de compras falló tres semanas")
    page.check("#f-rating_3")
    page.fill("#f-reasons", "Cumplió los objetivos; conviene iniciar antes la investigación")
    page.click("#save-dialogue")
    page.wait_for_url(f"{url}#dialogue")
    page.click("#sign-supervisor")
    page.wait_for_url(url)

    # 4. The employee signs in agreement: signed by both, the appraisal is completed.
    _as(page, live_server.url, employee)
    page.goto(url)
    page.check("#f-decision-agree")
    page.click("#sign-employee")
    page.wait_for_url(url)
    assert page.locator("#final-rating").count() == 1
    done = _appraisal(session, employee.employee_id)
    assert done.stage == Stage.completed
    assert done.supervisor_signed_at is not None and done.employee_signed_at is not None
    assert done.final_rating == 3


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_demo_hr_planner_downloads_the_gap_heatmap(live_server, page, demo_accounts):
    page.set_viewport_size(PHONE)
    _as(page, live_server.url, demo_accounts["hr_planner"])
    page.goto(f"{live_server.url}/competencies/gaps")
    heatmap = page.locator("table").first.inner_text()
    with page.expect_download() as download_info:
        page.click("p.exports a[href$='format=xlsx']")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as saved:  # saved without a suffix: read the bytes
        book = load_workbook(io.BytesIO(saved.read()), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert len(rows) > 2
    # The same rows as the page: every row label of the file is on the heatmap.
    labels = [str(r[0]) for r in rows[1:] if r and r[0]]
    assert labels and all(label in heatmap for label in labels[:5])
