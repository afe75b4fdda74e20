"""The organisation pages: who may see and change what, forms, import and export."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from backend.audit import AuditEntry
from backend.org import service
from backend.org.models import Employee, EmployeeStatusChange

READ_PAGES = [
    "/org/units",
    "/org/units/{central}",
    "/org/positions",
    "/org/positions/{position}",
    "/org/employees",
    "/org/employees/{employee}",
    "/org/qualifications",
    "/org/employees/export?format=csv",
]
EDIT_PAGES = [
    "/org/units/new",
    "/org/units/{central}/edit",
    "/org/positions/new",
    "/org/positions/{position}/edit",
    "/org/employees/new",
    "/org/employees/{employee}/edit",
    "/org/employees/import",
]
EDIT_POSTS = [
    "/org/units/new",
    "/org/units/{central}/edit",
    "/org/positions/new",
    "/org/positions/{position}/edit",
    "/org/employees/new",
    "/org/employees/{employee}/edit",
    "/org/employees/import",
    "/org/qualifications",
]


def urls(paths, org):
    return [
        p.format(central=org.central.id, position=org.officer_position.id, employee=org.head.id)
        for p in paths
    ]


# What each page must show of the `org` fixture's organisation.
PAGE_CONTENT = {
    "/org/units": ["<h1>Organisational units</h1>", "Dirección de Administración", "DEL-JAL"],
    "/org/units/{central}": ["<code>DA</code> Dirección de Administración</h1>", "Mendez, Lucia"],
    "/org/positions": ["<h1>Positions</h1>", "Jefe de unidad", "Oficial de compras"],
    "/org/positions/{position}": ["<code>P-OFF</code> Oficial de compras</h1>", "Ruiz, Mario"],
    "/org/employees": ["<h1>Employees</h1>", "E001", "Ruiz", "Torres", "Vega"],
    "/org/employees/{employee}": ["Lucia Mendez <span", "E001", "Dirección de Administración"],
    "/org/qualifications": ["<h1>Qualifications</h1>", "Public procurement certification"],
    "/org/employees/export?format=csv": ["number,first_name", "E001,Lucia,Mendez", "E004,Jorge"],
    "/org/units/new": ["<h1>New unit</h1>", 'name="code"'],
    "/org/units/{central}/edit": ["<h1>Edit unit DA</h1>", 'value="Dirección de Administración"'],
    "/org/positions/new": ["<h1>New position</h1>", 'name="title"'],
    "/org/positions/{position}/edit": ["Edit position P-OFF</h1>", 'value="Oficial de compras"'],
    "/org/employees/new": ["<h1>New employee</h1>", 'name="first_name"'],
    "/org/employees/{employee}/edit": ["Edit the record of Lucia Mendez</h1>", 'value="E001"'],
    "/org/employees/import": ["<h1>Import employees</h1>", 'type="file"'],
}


def assert_page_shows_its_content(client, org, paths) -> None:
    for path in paths:
        (url,) = urls([path], org)
        response = client.get(url)
        assert response.status_code == 200, url
        for needle in PAGE_CONTENT[path]:
            assert needle in response.text, (url, needle)


def test_anonymous_visitors_must_sign_in(client, org):
    for url in urls(READ_PAGES + EDIT_PAGES, org):
        assert client.get(url).status_code == 401, url
    assert client.get("/api/v1/employees").status_code == 401


def test_employees_without_hr_roles_are_refused(client, signed_in, org):
    _user, csrf = signed_in("employee", employee=org.officer_a)
    for url in urls(READ_PAGES + EDIT_PAGES, org):
        assert client.get(url).status_code == 403, url
    for url in urls(EDIT_POSTS, org):
        assert client.post(url, data={"csrf_token": csrf}).status_code == 403, url


@pytest.mark.parametrize("role", ["hr_planner", "admin"])
def test_hr_planners_and_admins_may_browse_and_edit(client, signed_in, org, role):
    signed_in(role)
    assert_page_shows_its_content(client, org, READ_PAGES + EDIT_PAGES)


def test_auditors_browse_read_only(client, signed_in, org):
    _user, csrf = signed_in("auditor")
    assert_page_shows_its_content(client, org, READ_PAGES)
    page = client.get(f"/org/employees/{org.head.id}").text
    assert "/edit" not in page
    assert "/org/employees/import" not in client.get("/org/employees").text
    for url in urls(EDIT_PAGES, org):
        assert client.get(url).status_code == 403, url
    for url in urls(EDIT_POSTS, org):
        assert client.post(url, data={"csrf_token": csrf}).status_code == 403, url


def test_navigation_shows_organisation_and_employees_to_those_who_may_see_them(
    client, signed_in, org
):
    signed_in("hr_planner")
    home = client.get("/").text
    assert 'href="/org/units"' in home and 'href="/org/employees"' in home
    signed_in("employee", employee=org.officer_a)
    assert 'href="/org/units"' not in client.get("/").text


def test_unit_page_shows_planned_against_actual_headcount(client, signed_in, org):
    signed_in("hr_planner")
    page = client.get(f"/org/units/{org.central.id}").text
    row = re.search(r"P-OFF</code>.*?</tr>", page, re.S).group(0)
    cells = re.findall(r'<td class="num">(\d+)</td>', row)
    assert cells == ["3", "2"]
    assert "1 vacant" in row


def test_units_can_be_filtered_by_kind_region_and_scope(client, signed_in, org):
    signed_in("hr_planner")
    page = client.get("/org/units?scope=decentralised").text
    assert "DEL-JAL" in page and "Dirección de Administración" not in page
    page = client.get("/org/units?region=Centro").text
    assert "DA</code>" in page and "DEL-JAL" not in page
    page = client.get("/org/units?kind=delegation", headers={"HX-Request": "true"}).text
    assert "<html" not in page and "DEL-JAL" in page


def test_the_employee_list_is_searched_filtered_and_paginated(client, signed_in, session, org):
    for i in range(60):
        service.create_employee(
            session,
            service.EmployeeInput(
                number=f"X{i:03}",
                first_name="Extra",
                last_name=f"Persona{i:03}",
                email="",
                unit_id=org.delegation.id,
                hire_date=org.head.hire_date,
            ),
        )
    session.commit()
    signed_in("hr_planner")
    first = client.get("/org/employees").text
    assert "64 results" in first and "Page 1 of 2" in first
    second = client.get("/org/employees?filtered=1&sub_units=1&page=2").text
    assert second.count('href="/org/employees/') >= 14
    found = client.get("/org/employees?q=Persona007&filtered=1").text
    assert "X007" in found and "X008" not in found
    mine = client.get("/org/employees?supervisor=E001&filtered=1").text
    assert "Ruiz" in mine and "Torres" in mine and "Vega" not in mine
    unknown = client.get("/org/employees?position=NOPE&filtered=1").text
    assert "No employees match." in unknown


def test_creating_an_employee_with_errors_keeps_what_was_typed(client, signed_in, org, session):
    _user, csrf = signed_in("hr_planner")
    form = {
        "csrf_token": csrf,
        "number": "E001",
        "first_name": "Rosa María",
        "last_name": "",
        "email": "rosa@example.org",
        "unit_id": str(org.central.id),
        "position_code": "P-NOPE",
        "supervisor_number": "E002",
        "hire_date": "31/02/2024",
        "status": "active",
        "qualifications": "CERT-PROC",
    }
    response = client.post("/org/employees/new", data=form)
    assert response.status_code == 422
    assert 'value="Rosa María"' in response.text
    assert 'value="P-NOPE"' in response.text
    assert 'value="CERT-PROC" checked' in response.text
    assert "No position has the code P-NOPE." in response.text
    assert "This date does not exist." in response.text
    assert "Enter the last name." in response.text
    assert session.exec(select(Employee).where(Employee.first_name == "Rosa María")).first() is None


def test_a_taken_number_is_reported_on_the_form(client, signed_in, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        "/org/employees/new",
        data={
            "csrf_token": csrf,
            "number": "E001",
            "first_name": "Otra",
            "last_name": "Persona",
            "unit_id": str(org.central.id),
            "hire_date": "2024-01-01",
            "status": "active",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Another employee already has this number." in response.text
    assert "<html" not in response.text


def test_an_employee_is_created_and_shown_with_supervisor_chain(client, signed_in, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        "/org/employees/new",
        data={
            "csrf_token": csrf,
            "number": "N1",
            "first_name": "Rosa",
            "last_name": "Díaz",
            "unit_id": str(org.central.id),
            "position_code": "P-OFF",
            "supervisor_number": "E002",
            "hire_date": "2024-01-15",
            "status": "active",
            "qualifications": "CERT-PROC",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "Rosa Díaz" in page
    chain = re.search(r'<ol class="chain">(.*?)</ol>', page, re.S).group(1)
    assert chain.index("Mario Ruiz") < chain.index("Lucia Mendez")
    assert "CERT-PROC" in page


def test_a_status_change_on_the_form_goes_to_the_history(client, signed_in, org, session):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        f"/org/employees/{org.officer_b.id}/edit",
        data={
            "csrf_token": csrf,
            "number": "E003",
            "first_name": "Ana",
            "last_name": "Torres",
            "email": "ana.torres@example.org",
            "unit_id": str(org.central.id),
            "position_code": "P-OFF",
            "supervisor_number": "E001",
            "hire_date": "2015-03-01",
            "birth_date": "1975-06-15",
            "status": "left",
            "effective_on": "2026-06-30",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    changes = session.exec(
        select(EmployeeStatusChange).where(EmployeeStatusChange.employee_id == org.officer_b.id)
    ).all()
    assert sorted((c.status, c.effective_on.isoformat()) for c in changes) == [
        ("active", "2015-03-01"),
        ("left", "2026-06-30"),
    ]
    page = client.get(f"/org/employees/{org.officer_b.id}").text
    assert "employee.updated" in page


def test_a_loop_in_the_reporting_line_is_refused_on_the_form(client, signed_in, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        f"/org/employees/{org.head.id}/edit",
        data={
            "csrf_token": csrf,
            "number": "E001",
            "first_name": "Lucia",
            "last_name": "Mendez",
            "unit_id": str(org.central.id),
            "supervisor_number": "E003",
            "hire_date": "2015-03-01",
            "status": "active",
        },
    )
    assert response.status_code == 422
    assert "loop in the reporting lines" in response.text
    assert 'value="E003"' in response.text


def test_units_and_positions_are_created_and_edited_through_forms(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        "/org/units/new",
        data={
            "csrf_token": csrf,
            "code": "UA-1",
            "name": "Área usuaria 1",
            "kind": "user_area",
            "parent_id": str(org.delegation.id),
            "scope": "auto",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    unit = service.unit_by_code(session, "UA-1")
    assert (unit.parent_id, unit.region, unit.is_central) == (org.delegation.id, "Occidente", False)
    # The confirmation reaches the next page the planner sees.
    assert "Unit UA-1 created." in client.get(response.headers["location"]).text
    duplicate = client.post(
        "/org/units/new",
        data={"csrf_token": csrf, "code": "UA-1", "name": "Otra", "kind": "user_area"},
    )
    assert duplicate.status_code == 422
    assert "Another unit already has this code." in duplicate.text
    moved = client.post(
        f"/org/units/{org.delegation.id}/edit",
        data={
            "csrf_token": csrf,
            "name": "Delegación Jalisco",
            "kind": "delegation",
            "parent_id": str(unit.id),
            "scope": "decentralised",
        },
    )
    assert moved.status_code == 422 and "inside itself" in moved.text

    response = client.post(
        "/org/positions/new",
        data={
            "csrf_token": csrf,
            "code": "P-UA",
            "title": "Enlace",
            "unit_id": str(unit.id),
            "job_family": "user_area",
            "role_code": "astronaut",
            "planned_headcount": "2",
        },
    )
    assert response.status_code == 422 and "Unknown role profile." in response.text
    assert 'value="Enlace"' in response.text
    response = client.post(
        "/org/positions/new",
        data={
            "csrf_token": csrf,
            "code": "P-UA",
            "title": "Enlace",
            "unit_id": str(unit.id),
            "job_family": "user_area",
            "role_code": "procurement_officer",
            "planned_headcount": "2",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    position = service.position_by_code(session, "P-UA")
    response = client.post(
        f"/org/positions/{position.id}/edit",
        data={
            "csrf_token": csrf,
            "title": "Enlace de compras",
            "unit_id": str(unit.id),
            "job_family": "user_area",
            "role_code": "",
            "planned_headcount": "3",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(position)
    assert (position.title, position.role_code, position.planned_headcount) == (
        "Enlace de compras",
        "",
        3,
    )


def test_the_position_form_offers_the_role_profiles_of_the_framework_file(client, signed_in):
    signed_in("hr_planner")
    page = client.get("/org/positions/new").text
    for code in service.role_codes():
        assert f'value="{code}"' in page


def test_qualifications_are_listed_and_created(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        "/org/qualifications",
        data={"csrf_token": csrf, "code": "", "name_es": "Maestría", "name_en": ""},
    )
    assert response.status_code == 422 and 'value="Maestría"' in response.text
    response = client.post(
        "/org/qualifications",
        data={
            "csrf_token": csrf,
            "code": "MBA",
            "name_es": "Maestría",
            "name_en": "Master's degree",
            "is_procurement": "1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/org/qualifications").text
    assert "MBA" in page and "Master&#39;s degree" in page


def test_pages_are_translated_into_spanish(client, signed_in, org):
    signed_in("hr_planner", locale="es")
    page = client.get("/org/units?lang=es").text
    assert "Unidades administrativas" in page


# --- import through the page ------------------------------------------------------------------

HEADER = "number,first_name,last_name,unit_code,supervisor_number,hire_date"


def upload(client, csrf, content: bytes, action: str, name: str = "people.csv", **headers):
    return client.post(
        "/org/employees/import",
        data={"csrf_token": csrf, "action": action},
        files={"file": (name, content, "text/csv")},
        headers=headers,
    )


def test_the_import_page_checks_then_imports(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    good = f"{HEADER}\nN1,Rosa,Díaz,DA,E001,2024-01-01\n".encode()
    checked = upload(client, csrf, good, "check")
    assert checked.status_code == 200
    assert "would add 1 employees" in checked.text
    assert service.employee_by_number(session, "N1") is None
    imported = upload(client, csrf, good, "import", **{"HX-Request": "true"})
    assert imported.status_code == 200 and "<html" not in imported.text
    assert "1 added" in imported.text
    assert service.employee_by_number(session, "N1") is not None
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "employee.imported")).one()


def test_the_import_page_lists_problems_by_line_and_column(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    bad = f"{HEADER}\nN1,Rosa,Díaz,NOPE,E001,2024-01-01\nN2,Luis,Gil,DA,N1,2024-99-01\n".encode()
    response = upload(client, csrf, bad, "import")
    assert response.status_code == 422
    table = re.search(
        r'<table class="table compact" id="import-problems">(.*?)</table>', response.text, re.S
    )
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td><code>(\w+)</code>", table.group(1))
    assert rows == [("2", "unit_code"), ("3", "hire_date")]
    assert service.employee_by_number(session, "N1") is None


def test_the_list_of_every_problem_can_be_downloaded(client, signed_in, org):
    _user, csrf = signed_in("hr_planner")
    bad = f"{HEADER}\n" + "".join(f"N{i},A,B,NOPE,,2024-01-01\n" for i in range(1500))
    response = upload(client, csrf, bad.encode(), "report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1501 and lines[1].startswith("2,unit_code,NOPE,")


def test_an_import_without_a_file_asks_for_one(client, signed_in, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        "/org/employees/import",
        data={"csrf_token": csrf, "action": "check"},
        files={"file": ("", b"", "text/csv")},
    )
    assert response.status_code == 422
    assert "Choose a CSV or XLSX file." in response.text


# --- export -----------------------------------------------------------------------------------


def make_formula_names(session, org):
    service.update_employee(
        session,
        employee=org.outsider,
        data=service.EmployeeInput(
            number="E004",
            first_name="=cmd|' /C calc'!A0",
            last_name="@SUM(1+1)",
            email="+jorge@example.org",
            unit_id=org.delegation.id,
            hire_date=org.outsider.hire_date,
        ),
        actor="tester",
    )
    session.commit()


def test_csv_export_escapes_formulas_and_opens_in_excel(client, signed_in, session, org):
    make_formula_names(session, org)
    signed_in("hr_planner")
    response = client.get("/org/employees/export?format=csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbfnumber,first_name")
    text = response.content.decode("utf-8-sig")
    assert "E004,'=cmd|' /C calc'!A0,'@SUM(1+1),'+jorge@example.org,DEL-JAL" in text
    for line in text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "-", "@"))


def test_xlsx_export_escapes_formulas(client, signed_in, session, org):
    make_formula_names(session, org)
    signed_in("auditor")
    response = client.get("/org/employees/export?format=xlsx&lang=es")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("numero", "nombre", "apellidos")
    outsider = next(r for r in rows if r[0] == "E004")
    assert outsider[1] == "'=cmd|' /C calc'!A0" and outsider[2] == "'@SUM(1+1)"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_export_follows_the_filters_of_the_list_and_is_audited(client, signed_in, session, org):
    signed_in("hr_planner")
    response = client.get(
        f"/org/employees/export?format=csv-semicolon&filtered=1&unit={org.central.id}&sub_units=1"
        "&supervisor=E001"
    )
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert [line.split(";")[0] for line in lines] == ["number", "E002", "E003"]
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "employee.exported")).one()
    assert entry.after["filters"]["supervisor"] == "E001"


def test_a_clash_with_a_concurrent_change_is_reported_and_nothing_is_written(
    client, signed_in, session, org, monkeypatch
):
    from datetime import date

    from sqlmodel import Session

    from backend.org.service import roster

    check_roster = roster.check_roster

    def check_then_someone_else_saves_n3(db, *args, **kwargs):
        check = check_roster(db, *args, **kwargs)
        # Between the check and the write, someone else saves an employee numbered N3.
        with Session(client.app.state.engine) as other:
            # As every session of the app does (event handlers read the settings from it).
            other.info["settings"] = client.app.state.settings
            service.create_employee(
                other,
                service.EmployeeInput(
                    number="N3",
                    first_name="Eva",
                    last_name="Solis",
                    email="eva.solis@example.org",
                    unit_id=org.delegation.id,
                    hire_date=date(2020, 1, 1),
                ),
            )
            other.commit()
        return check

    monkeypatch.setattr(roster, "check_roster", check_then_someone_else_saves_n3)
    # One row per batch, so the real importer writes N1 and N2 before it reaches N3.
    monkeypatch.setattr(roster, "BATCH", 1)
    _user, csrf = signed_in("hr_planner")
    rows = "".join(f"N{i},Rosa{i},Díaz,DA,,2024-01-01\n" for i in (1, 2, 3))
    response = upload(client, csrf, f"{HEADER}\n{rows}".encode(), "import")
    assert response.status_code == 422, response.text
    assert "nothing was written" in response.text
    session.expire_all()
    assert service.employee_by_number(session, "N1") is None
    assert service.employee_by_number(session, "N2") is None
    assert service.employee_by_number(session, "N3").first_name == "Eva"
    actions = session.exec(select(AuditEntry.action)).all()
    assert "employee.imported" not in actions
    # One creation entry per employee that exists: none for the rows that were rolled back.
    assert actions.count("employee.created") == len(session.exec(select(Employee.id)).all())


def test_the_edit_form_and_the_export_are_dated_on_the_organisations_day(
    client, signed_in, session, org
):
    # 04:00 UTC on 2 March is still 1 March in Mexico City, the organisation's zone.
    from datetime import UTC, datetime

    from backend import clock

    with clock.frozen(datetime(2027, 3, 2, 4, 0, tzinfo=UTC)):
        signed_in("hr_planner")  # at the frozen time: a session from now would have expired
        form = client.get(f"/org/employees/{org.officer_a.id}/edit")
        export = client.get("/org/employees/export?format=csv")
    assert 'name="effective_on"' in form.text and 'value="2027-03-01"' in form.text
    assert "employees-2027-03-01.csv" in export.headers["content-disposition"]
