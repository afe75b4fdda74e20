"""An HR planner imports employees: a file with mistakes first, then the corrected one."""

from __future__ import annotations

import pytest

from tests.browser.conftest import follow_nav, sign_in

pytestmark = pytest.mark.browser

HEADER = "numero;nombre;apellidos;clave_unidad;numero_jefe;fecha_ingreso;estatus"
WITH_MISTAKES = "\n".join(
    [
        HEADER,
        "N100;Rosa;Díaz;DA;E001;15/01/2024;activo",
        "N101;Luis;Gil;NO-EXISTE;N100;2024-02-30;activo",
        "N100;Eva;Sol;DA;;2024-03-01;jubilada",
    ]
).encode("cp1252")
CORRECTED = "\n".join(
    [
        HEADER,
        "N100;Rosa;Díaz;DA;E001;15/01/2024;activo",
        "N101;Luis;Gil;DEL-JAL;N100;2024-02-28;activo",
        "N102;Eva;Sol;DA;;2024-03-01;licencia",
    ]
).encode("cp1252")


def choose_file(page, name: str, content: bytes) -> None:
    page.set_input_files(
        "#f-file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_an_hr_planner_sees_the_problems_then_imports_the_corrected_file(
    live_server, page, make_user, org
):
    planner = make_user("hr_planner")
    sign_in(page, live_server.url, planner.email)
    follow_nav(page, "/org/employees")
    page.click("a[href='/org/employees/import']")
    assert page.locator("h1").inner_text() == "Import employees"

    choose_file(page, "plantilla.csv", WITH_MISTAKES)
    page.click("button[value='check']")
    problems = page.locator("#import-problems tbody tr")
    problems.first.wait_for()
    rows = [
        [cell.inner_text().strip() for cell in row.locator("td").all()] for row in problems.all()
    ]
    assert [(r[0], r[1]) for r in rows] == [
        ("3", "clave_unidad"),
        ("3", "fecha_ingreso"),
        ("4", "numero"),
        ("4", "estatus"),
    ]
    assert rows[0][2] == "NO-EXISTE"
    assert "No unit has this code or name." in rows[0][3]
    assert "already appears on line 2" in rows[2][3]
    assert "Nothing was changed" in page.locator("#import-result").inner_text()

    # Nothing was written: the first, correct row is not in the list either.
    page.goto(f"{live_server.url}/org/employees?q=N100&filtered=1")
    assert "No employees match." in page.locator("#employees-table").inner_text()

    page.goto(f"{live_server.url}/org/employees/import")
    choose_file(page, "plantilla.csv", CORRECTED)
    page.click("button[value='import']")
    result = page.locator("#import-result .flash-success")
    result.wait_for()
    assert "3 added" in result.inner_text()

    page.click("#import-result a[href='/org/employees']")
    page.fill("#f-q", "Díaz")
    page.locator("#employees-table", has_text="N100").wait_for()
    page.goto(f"{live_server.url}/org/employees?q=N10&filtered=1")
    table = page.locator("#employees-table").inner_text()
    assert "Díaz, Rosa" in table and "Gil, Luis" in table and "Sol, Eva" in table
    page.click("text=Gil, Luis")
    assert "Rosa Díaz" in page.locator("ol.chain").inner_text()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_import_works_without_javascript(live_server, browser, make_user, org):
    planner = make_user("hr_planner")
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, planner.email)
    page.goto(f"{live_server.url}/org/employees/import")
    choose_file(page, "plantilla.csv", WITH_MISTAKES)
    page.click("button[value='import']")
    page.wait_for_load_state()
    assert page.locator("#import-problems tbody tr").count() == 4
    choose_file(page, "plantilla.csv", CORRECTED)
    page.click("button[value='import']")
    page.wait_for_load_state()
    assert "3 added" in page.locator("#import-result").inner_text()
    context.close()
