"""Importing other systems' exports: the mapping step, close matches, one pass, runs, CLI, API."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from backend import crypto
from backend.audit import AuditEntry
from backend.cli import app as cli
from backend.config import get_settings
from backend.i18n import use_locale
from backend.org import mapping as mappings
from backend.org.models import Employee, ImportRun
from backend.org.service import imports, roster
from tests.conftest import csrf_of

# What Spanish Excel writes for an HRIS export: `;`, CRLF, dd/mm/yyyy, one full-name column,
# unit names (accents, abbreviations), job titles, the supervisor's number under its own header.
HEADER = (
    "Núm. empleado;Nombre completo;Adscripción;Puesto;Jefe inmediato;Fecha de ingreso;"
    "Correo institucional;RFC"
)
ROWS = [
    "N100;María de la Luz Peña de la Cruz;Dirección de Administración;Oficial de compras;"
    "E001;15/01/2024;mdelaluz@example.org;PECM800101",
    "N101;José Ángel Núñez Ibáñez;Deleg. Jalisco;;N100;01/02/2024;jangel@example.org;NUIJ",
    "N102;Iñaki Gómez;DIRECCION DE ADMINISTRACION;Jefe de Unidad;;28/02/2024;;",
]


def excel_csv(rows: list[str], *, encoding: str = "cp1252", header: str = HEADER) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return text.encode(encoding)


def guessed(raw: bytes, filename: str = "nomina.csv", rule: str = "given_first"):
    table = imports.preview(raw, filename)
    columns = {c["header"]: c["field"] for c in imports.columns_of(table, None)}
    return mappings.Mapping(columns, rule)


def test_the_mapping_step_guesses_every_column_of_an_hris_export():
    mapping = guessed(excel_csv(ROWS))
    assert mapping.columns == {
        "Núm. empleado": "number",
        "Nombre completo": "full_name",
        "Adscripción": "unit_code",
        "Puesto": "position_code",
        "Jefe inmediato": "supervisor_number",
        "Fecha de ingreso": "hire_date",
        "Correo institucional": "email",
        "RFC": "",
    }


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_an_excel_export_imports_with_names_split_and_close_matches_confirmed(
    session, org, encoding
):
    raw = excel_csv(ROWS, encoding=encoding)
    mapping = guessed(raw)
    with use_locale("en"):
        check = roster.import_roster(session, raw, "nomina.csv", actor="tester", mapping=mapping)
    assert check.ok and not check.imported
    # Nothing exact about "Deleg. Jalisco", the capitals or "Jefe de Unidad": each to confirm.
    assert [(c.value, c.code, c.first_line) for c in check.close_matches] == [
        ("Deleg. Jalisco", "DEL-JAL", 3),
        ("DIRECCION DE ADMINISTRACION", "DA", 4),
        ("Jefe de Unidad", "P-HEAD", 4),
    ]
    assert check.unconfirmed == check.close_matches
    session.rollback()
    accepted = {c.key for c in check.close_matches}
    check = roster.import_roster(
        session, raw, "nomina.csv", actor="tester", mapping=mapping, accepted=accepted
    )
    assert check.imported and check.to_create == 3
    session.commit()
    people = {e.number: e for e in session.exec(select(Employee)).all()}
    assert (people["N100"].first_name, people["N100"].last_name) == (
        "María de la Luz",
        "Peña de la Cruz",
    )
    assert (people["N101"].first_name, people["N101"].last_name) == ("José Ángel", "Núñez Ibáñez")
    assert people["N101"].unit_id == org.delegation.id
    assert people["N101"].supervisor_id == people["N100"].id
    assert people["N102"].position_id == org.head_position.id
    assert str(people["N102"].hire_date) == "2024-02-28"
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "employee.imported")).one()
    assert entry.after["sha256"] == crypto.sha256_hex(raw)
    assert entry.after["columns"]["Nombre completo"] == "full_name"
    assert "Deleg. Jalisco → DEL-JAL" in entry.after["confirmed_matches"]


def test_header_and_row_problems_are_all_named_in_one_check_by_line(session, org):
    header = HEADER + ";Fecha de ingreso"  # the same header twice
    rows = [
        "N1;Ana Ruiz;DA;;N3;31/02/2024;ana@;X;",  # impossible date, bad email, loop
        "N2;Luis Gil;Oficina Centrl;;;01/01/2024;;X;",  # unit matches nothing
        "N1;Eva Sol;DA;;;01/01/2024;;X;",  # the number again
        "N3;Rosa Paz;DA;;N1;01/01/2024;;X;",  # closes the loop N1 → N3 → N1
        "N4;Solo;DA;;;01/01/2024;;X;",  # a full name without a surname
    ]
    raw = excel_csv(rows, header=header)
    mapping = guessed(raw)
    mapping.columns["Fecha de ingreso"] = "hire_date"
    with use_locale("en"):
        check = roster.check_roster(session, raw, "nomina.csv", mapping=mapping)
    found = [(p.line, p.column) for p in check.problems]
    assert found == [
        (1, "Fecha de ingreso"),
        (2, "Jefe inmediato"),
        (2, "Correo institucional"),
        (2, "Fecha de ingreso"),
        (3, "Adscripción"),
        (4, "Núm. empleado"),
        (5, "Jefe inmediato"),
        (6, "Nombre completo"),
    ]
    unit = next(p for p in check.problems if p.line == 3)
    assert "Dirección de Administración (DA)" in unit.message  # the closest candidate
    assert check.problem_rows[3][:3] == ["N2", "Luis Gil", "Oficina Centrl"]


def _upload(client, raw: bytes, name: str = "nomina.csv"):
    return client.post(
        "/org/employees/import/runs",
        files={"file": (name, raw, "text/csv")},
        data={"csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


def codes_on(html: str) -> set[str]:
    """The internal codes a person would see on a page (tests/integration/test_no_codes…)."""
    from tests.integration.test_no_codes_on_screen import VisibleText, problems_in

    parser = VisibleText()
    parser.feed(html)
    return problems_in(" ".join(parser.parts))


def _wait(session, run_id: int) -> ImportRun:
    imports.wait(run_id)
    session.expire_all()
    return session.get(ImportRun, run_id)


def test_a_run_maps_checks_confirms_and_imports_in_the_background(
    client, signed_in, session, org, make_user
):
    user, csrf = signed_in("hr_planner")
    response = _upload(client, excel_csv(ROWS))
    assert response.status_code == 303
    page = response.headers["location"]
    run_id = int(page.rsplit("/", 1)[1])
    form = client.get(page).text
    assert "Nombre completo" in form and "María de la Luz Peña de la Cruz" in form
    assert codes_on(form) == set()
    fields = {f"field-{i}": f for i, f in enumerate(guessed(excel_csv(ROWS)).columns.values())}
    posted = client.post(
        f"{page}/mapping",
        data={"csrf_token": csrf, "name_rule": "given_first", "save_as": "Nómina", **fields},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    run = _wait(session, run_id)
    assert run.state == "checked"
    shown = client.get(page).text
    assert "Deleg. Jalisco" in shown and "add 3 employees" in shown
    assert codes_on(shown) == set()
    changes = client.get(f"{page}/changes?format=xlsx")
    sheet = load_workbook(io.BytesIO(changes.content)).active
    assert [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))][:4] == [
        2,
        "N100",
        "María de la Luz Peña de la Cruz",
        "Added",
    ]
    # Unconfirmed close matches: refused, nothing written.
    refused = client.post(f"{page}/import", data={"csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 422 and "Confirm each of the 3 close matches" in refused.text
    summary = json.loads(run.summary)
    accept = [m["key"] for m in summary["close_matches"]]
    done = client.post(
        f"{page}/import", data={"csrf_token": csrf, "accept": accept}, follow_redirects=False
    )
    assert done.status_code == 303
    run = _wait(session, run_id)
    assert run.state == "imported" and run.content is None
    assert "3 added" in client.get(page).text
    assert codes_on(client.get(page).text) == set()
    assert codes_on(client.get("/org/employees/import").text) == set()
    # The saved mapping now remembers the confirmed matches: the same file is exact next time.
    saved = imports.mapping_named(session, "Nómina")
    assert saved.matches["unit_code"]["Deleg. Jalisco"] == "DEL-JAL"
    again = roster.check_roster(session, excel_csv(ROWS), "nomina.csv", mapping=saved)
    assert again.close_matches == [] and again.unchanged == 3
    # A run is its uploader's alone.
    other = make_user("hr_planner")
    client.cookies.clear()
    from tests.conftest import login

    login(client, other.email)
    assert client.get(page).status_code == 404
    assert client.get(f"{page}/changes?format=csv").status_code == 404


def test_a_run_with_problems_offers_them_with_the_original_rows(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    raw = excel_csv(["N1;Ana Ruiz;Nowhere;;;31/02/2024;;X"])
    page = _upload(client, raw).headers["location"]
    fields = {f"field-{i}": f for i, f in enumerate(guessed(raw).columns.values())}
    client.post(f"{page}/mapping", data={"csrf_token": csrf, **fields})
    _wait(session, int(page.rsplit("/", 1)[1]))
    shown = client.get(page).text
    assert "2 problems were found" in shown
    assert codes_on(shown) == set()
    report = client.get(f"{page}/problems?format=csv").content.decode("utf-8-sig")
    lines = report.splitlines()
    assert lines[0].startswith("Line,Column,Problem,Núm. empleado,Nombre completo")
    assert lines[1].startswith("2,Adscripción,No unit has this code or name.")
    assert lines[1].endswith("N1,Ana Ruiz,Nowhere,,,31/02/2024,,X")
    xlsx = client.get(f"{page}/problems?format=xlsx")
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 3


def test_an_unreadable_upload_is_refused_on_the_import_page(client, signed_in, org):
    signed_in("hr_planner")
    refused = _upload(client, b"\xd0\xcf\x11\xe0old", name="viejo.xls")
    assert refused.status_code == 422
    assert "Old Excel files (.xls) cannot be read" in refused.text


def test_the_template_comes_in_csv_and_xlsx_with_spanish_or_english_headers(client, signed_in):
    signed_in("hr_planner")
    spanish = client.get("/org/employees/import/template?format=csv&lang=es")
    assert spanish.content.decode("utf-8-sig").startswith("numero,nombre,apellidos,correo")
    english = client.get("/org/employees/import/template?format=xlsx&lang=en")
    header = next(load_workbook(io.BytesIO(english.content)).active.iter_rows(values_only=True))
    assert header[:3] == ("number", "first_name", "last_name")


def test_the_api_imports_unattended_with_a_saved_mapping(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    raw = excel_csv(ROWS, encoding="utf-8-sig")
    document = guessed(raw).to_json()
    document["name"] = "SIAP"
    document["matches"] = {
        "unit_code": {"Deleg. Jalisco": "DEL-JAL", "DIRECCION DE ADMINISTRACION": "DA"}
    }
    imports.save_mapping(session, mappings.Mapping.from_json(document), by="tester")
    session.commit()
    assert client.get("/api/v1/import-mappings").json()[0]["name"] == "SIAP"

    def post(**data):
        files = {"file": ("nomina.csv", raw, "text/csv")}
        data = {"mapping": "SIAP", **data}
        headers = {"X-CSRF-Token": csrf}
        return client.post("/api/v1/employees/import", files=files, data=data, headers=headers)

    refused = post(dry_run="true")  # "Jefe de Unidad" is still only a close match
    assert refused.status_code == 422
    body = refused.json()["error"]
    assert body["code"] == "invalid" and body["added"] == 3
    assert [(m["value"], m["confirmed"]) for m in body["close_matches"]] == [
        ("Jefe de Unidad", False)
    ]
    done = post(accept_close_matches="true")
    assert done.status_code == 200 and done.json()["imported"] is True
    session.expire_all()
    assert session.exec(select(Employee).where(Employee.number == "N101")).one().last_name == (
        "Núñez Ibáñez"
    )
    unknown = post(mapping="Nope")
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "mapping"


@pytest.fixture
def cli_env(monkeypatch, settings, database_url):
    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_ENVIRONMENT", "test")
    monkeypatch.setenv("MERITO_DEFAULT_LOCALE", "en")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_cli_checks_then_imports_with_a_mapping_file(cli_env, session, org, tmp_path):
    roster_file = tmp_path / "nomina.csv"
    roster_file.write_bytes(excel_csv(ROWS))
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(guessed(excel_csv(ROWS)).to_json()), encoding="utf-8")
    args = ["import-roster", str(roster_file), "--mapping-file", str(mapping_file)]
    dry = cli_env.invoke(cli, [*args, "--dry-run", "--accept-close-matches"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["added"] == 3
    refused = cli_env.invoke(cli, args)
    assert refused.exit_code == 1 and "close name" in refused.output
    done = cli_env.invoke(cli, [*args, "--accept-close-matches", "--actor", "nightly"])
    assert done.exit_code == 0, done.output
    session.expire_all()
    assert session.exec(select(Employee).where(Employee.number == "N100")).one().first_name == (
        "María de la Luz"
    )
    bad = cli_env.invoke(cli, ["import-roster", str(roster_file), "--mapping", "Nope"])
    assert bad.exit_code == 2


def test_a_run_in_progress_refreshes_itself_and_a_dead_one_says_so(client, signed_in, session, org):
    from datetime import timedelta

    from backend import clock

    signed_in("hr_planner")
    page = _upload(client, excel_csv(ROWS)).headers["location"]
    run = session.get(ImportRun, int(page.rsplit("/", 1)[1]))
    run.state, run.phase, run.done_rows, run.total_rows = "checking", "checking", 5000, 20000
    session.commit()
    working = client.get(page)
    assert working.headers["refresh"] == "2"
    assert "Checking rows: 5,000 of 20,000." in working.text
    assert '<progress max="20000" value="5000">' in working.text
    run.updated_at = clock.now() - timedelta(hours=1)  # no thread here, long silent: it died
    session.commit()
    dead = client.get(page)
    assert "refresh" not in dead.headers
    assert "The work on this file was interrupted" in dead.text
