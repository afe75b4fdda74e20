"""The demo HR planner imports an HRIS export saved by Spanish Excel, through the mapping step.

The file is built the way Spanish Excel writes "CSV": Windows-1252, ";", CRLF, dd/mm/yyyy, one
full-name column, unit names instead of codes (one abbreviated, one in capitals without
accents), job titles instead of position codes and the supervisor's number under its own
header. The planner uploads it, sees Mérito's guess for each column, checks the file (in the
background, the page refreshing itself), confirms the close matches and imports. Every accent
arrives intact.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend import demo
from backend.config import get_settings
from backend.org.models import Employee, Position, Unit
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

PLANNER = "hr_planner"


@pytest.fixture
def demo_database(monkeypatch, settings, database_url):
    from backend.cli import app as cli

    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("MERITO_ENVIRONMENT", "development")
    get_settings.cache_clear()
    try:
        built = CliRunner().invoke(cli, ["demo", "--employees", "30"])
        assert built.exit_code == 0, built.output
    finally:
        get_settings.cache_clear()


def hris_export(engine) -> bytes:
    """Three new people in a demo delegation, written as a payroll export."""
    with Session(engine) as session:
        unit = session.exec(select(Unit).where(Unit.kind == "delegation")).first()
        title = session.exec(select(Position.title).where(Position.unit_id == unit.id)).first()
        boss = session.exec(select(Employee.number).where(Employee.unit_id == unit.id)).first()
    short = unit.name.replace("Delegación", "Deleg.")
    shouting = unit.name.upper().replace("Ó", "O")
    rows = [
        "Núm. empleado;Nombre completo;Adscripción;Puesto;Jefe inmediato;Fecha de ingreso;"
        "Correo institucional",
        f"BR-001;María de la Luz Peña de la Cruz;{short};{title};{boss};15/01/2024;"
        "maria.pena@demo.merito.mx",
        f"BR-002;José Ángel Núñez Ibáñez;{unit.name};;BR-001;29/02/2024;",
        f"BR-003;Iñaki Gómez Zúñiga;{shouting};;BR-001;01/03/2024;",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_an_hris_export_is_mapped_checked_confirmed_and_imported(
    demo_database, live_server, page, engine
):
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone, as the layout rule asks
    sign_in(page, live_server.url, demo.demo_email(PLANNER), demo.demo_password(PLANNER))
    page.goto(f"{live_server.url}/org/employees/import")
    page.set_input_files(
        "#f-file",
        files=[{"name": "nómina.csv", "mimeType": "text/csv", "buffer": hris_export(engine)}],
    )
    with page.expect_navigation():
        page.click("#upload-for-mapping")

    # The mapping step: every column with its samples, accents intact, and a guess.
    columns = page.locator("#mapping-columns tbody tr")
    headers = [row.locator("th").inner_text() for row in columns.all()]
    assert headers == [
        "Núm. empleado",
        "Nombre completo",
        "Adscripción",
        "Puesto",
        "Jefe inmediato",
        "Fecha de ingreso",
        "Correo institucional",
    ]
    assert "María de la Luz Peña de la Cruz" in columns.nth(1).inner_text()
    chosen = [row.locator("select").input_value() for row in columns.all()]
    assert chosen == [
        "number",
        "full_name",
        "unit_code",
        "position_code",
        "supervisor_number",
        "hire_date",
        "email",
    ]
    assert page.locator("#f-rule-given_first").is_checked()
    assert no_sideways_scroll(page)
    page.fill("#f-save_as", "Nómina del SIAP")
    page.click("#mapping-form button[type=submit]")

    # The check runs in the background; the page refreshes itself until it is done.
    confirm = page.locator("#confirm-form")
    confirm.wait_for(timeout=30_000)
    assert no_sideways_scroll(page)
    counts = page.locator("#import-counts").inner_text()
    assert "daría de alta a 3 empleados" in counts
    names = page.locator("#name-samples tbody").inner_text()
    assert "María de la Luz\tPeña de la Cruz" in names
    boxes = confirm.locator("input[name=accept]")
    assert boxes.count() == 2  # the abbreviated name and the one in capitals
    with page.expect_navigation():
        page.click("#confirm-form button[type=submit]")  # not confirmed: refused, nothing written
    assert page.locator("#e-accept").count() == 1
    for box in confirm.locator("input[name=accept]").all():
        box.check()
    page.click("#confirm-form button[type=submit]")
    done = page.locator("#import-result .flash-success")
    done.wait_for(timeout=30_000)
    assert "3 altas" in done.inner_text()

    with Session(engine) as session:
        people = {
            e.number: e
            for e in session.exec(select(Employee).where(Employee.number.like("BR-%"))).all()
        }
    assert (people["BR-001"].first_name, people["BR-001"].last_name) == (
        "María de la Luz",
        "Peña de la Cruz",
    )
    assert (people["BR-002"].first_name, people["BR-002"].last_name) == (
        "José Ángel",
        "Núñez Ibáñez",
    )
    assert people["BR-003"].last_name == "Gómez Zúñiga"
    assert people["BR-002"].supervisor_id == people["BR-001"].id
    page.goto(f"{live_server.url}/org/employees?q=BR-00&filtered=1")
    table = page.locator("#employees-table").inner_text()
    assert "Peña de la Cruz, María de la Luz" in table and "Núñez Ibáñez, José Ángel" in table
