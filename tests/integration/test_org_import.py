"""Importing the employee roster: every bad row reported, nothing written unless all are good."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import select

from backend import audit, events
from backend.audit import AuditEntry
from backend.i18n import use_locale
from backend.org import service
from backend.org.models import Employee, EmployeeQualification, EmployeeStatusChange
from backend.org.service import roster

HEADER = (
    "number,first_name,last_name,email,unit_code,position_code,supervisor_number,"
    "hire_date,birth_date,status,qualifications"
)


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def counts(session) -> tuple[int, int, int, int]:
    """Employees, qualification links, status changes and audit entries: all that imports touch."""
    return (
        session.exec(select(func.count()).select_from(Employee)).one(),
        session.exec(select(func.count()).select_from(EmployeeQualification)).one(),
        session.exec(select(func.count()).select_from(EmployeeStatusChange)).one(),
        session.exec(select(func.count()).select_from(AuditEntry)).one(),
    )


def run_import(session, raw: bytes, filename: str = "people.csv", **limits):
    with use_locale("en"):
        check = roster.import_roster(session, raw, filename, actor="tester", **limits)
    if check.imported:
        session.commit()
    else:
        session.rollback()
    return check


def where(check) -> set[tuple[int, str]]:
    return {(p.line, p.column) for p in check.problems}


def by_number(session, number: str) -> Employee:
    session.expire_all()
    return session.exec(select(Employee).where(Employee.number == number)).one()


def test_new_numbers_are_created_and_known_numbers_updated(session, org):
    raw = csv_bytes(
        "E002,Mario,Ruiz Soto,mario@example.org,DA,P-OFF,E001,2015-03-01,1975-06-15,on_leave,"
        "CERT-PROC",
        "N100,Nora,Lima,NORA@example.org,DEL-JAL,,E004,2024-02-01,,active,",
    )
    check = run_import(session, raw)
    assert check.problems == []
    assert (check.to_create, check.to_update, check.unchanged) == (1, 1, 0)
    updated = by_number(session, "E002")
    assert (updated.last_name, updated.status, updated.email) == (
        "Ruiz Soto",
        "on_leave",
        "mario@example.org",
    )
    assert [q.code for q in service.qualifications_of(session, updated.id)] == ["CERT-PROC"]
    created = by_number(session, "N100")
    assert created.unit_id == org.delegation.id
    assert created.supervisor_id == org.outsider.id
    assert created.email == "nora@example.org"


def test_status_changes_go_to_the_history_and_are_announced(session, org):
    seen = []

    def listener(_session, event):
        seen.append((event.name, event.subject_employee_id, event.payload.get("to")))

    events.subscribe(service.EMPLOYEE_STATUS_CHANGED)(listener)
    try:
        raw = csv_bytes("E003,Ana,Torres,,DA,P-OFF,E001,2015-03-01,,baja,")
        assert run_import(session, raw).imported
    finally:
        events.unsubscribe(service.EMPLOYEE_STATUS_CHANGED, listener)
    history = service.status_history(session, org.officer_b.id)
    assert [h.status for h in history] == ["left", "active"]
    assert seen == [(service.EMPLOYEE_STATUS_CHANGED, org.officer_b.id, "left")]


def test_moves_and_changes_of_position_by_import_are_announced(session, org):
    seen = []

    def listener(_session, event):
        seen.append((event.name, event.subject_employee_id, dict(event.payload)))

    for name in (service.EMPLOYEE_MOVED, service.ORG_ROLE_CHANGED):
        events.subscribe(name)(listener)
    try:
        raw = csv_bytes(
            "E002,Mario,Ruiz,mario.ruiz@example.org,DEL-JAL,P-OFF,E001,2015-03-01,1975-06-15,,",
            "E003,Ana,Torres,ana.torres@example.org,DA,P-HEAD,E001,2015-03-01,1975-06-15,,",
        )
        assert run_import(session, raw).imported
    finally:
        for name in (service.EMPLOYEE_MOVED, service.ORG_ROLE_CHANGED):
            events.unsubscribe(name, listener)
    assert (
        service.EMPLOYEE_MOVED,
        org.officer_a.id,
        {"from_unit_id": org.central.id, "to_unit_id": org.delegation.id},
    ) in seen
    [(name, subject, payload)] = [s for s in seen if s[0] == service.ORG_ROLE_CHANGED]
    assert subject == org.officer_b.id
    assert payload["from_position_id"] == org.officer_a.position_id
    assert payload["to_position_id"] == org.head.position_id


def test_one_summary_audit_entry_plus_one_per_changed_employee_and_the_chain_holds(session, org):
    raw = csv_bytes(
        "E002,Mario,Ruiz,mario.ruiz@example.org,DA,P-OFF,E001,2015-03-01,1975-06-15,active,",
        "E003,Ana,Torres,ana.torres@example.org,DA,P-OFF,E001,2015-03-01,1975-06-15,on_leave,",
        "N1,Nuevo,Uno,,DA,,E003,2024-01-01,,,",
    )
    before = counts(session)[3]
    check = run_import(session, raw, "plantilla.csv")
    assert (check.to_create, check.to_update, check.unchanged) == (1, 1, 1)
    entries = session.exec(
        select(AuditEntry).where(AuditEntry.seq > before).order_by(AuditEntry.seq)
    ).all()
    assert [e.action for e in entries] == [
        "employee.created",
        "employee.updated",
        "employee.imported",
    ]
    summary = entries[-1].after
    assert summary["file"] == "plantilla.csv"
    assert summary["sha256"] == hashlib.sha256(raw).hexdigest()
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (1, 1, 1)
    assert entries[1].before["status"] == "active" and entries[1].after["status"] == "on_leave"
    assert audit.verify(session).ok


def test_the_audit_snapshot_of_an_import_matches_the_one_the_service_writes(session, org):
    raw = csv_bytes("N1,Nuevo,Uno,n1@example.org,DA,P-OFF,E001,2024-01-01,1990-01-01,,CERT-PROC")
    run_import(session, raw)
    created = by_number(session, "N1")
    entry = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "employee.created", AuditEntry.entity_id == str(created.id)
        )
    ).one()
    assert entry.after == service.stored_snapshot(session, created)


def test_utf8_with_bom_is_imported(session, org):
    raw = b"\xef\xbb\xbf" + csv_bytes("N1,José,Núñez,,DA,,,2024-01-01,,,")
    check = run_import(session, raw)
    assert check.imported and check.encoding == "utf-8-sig"
    assert by_number(session, "N1").last_name == "Núñez"


def test_latin_1_files_from_spanish_excel_are_imported(session, org):
    raw = csv_bytes(
        "N1;Begoña;Ibáñez;;DEL-JAL;;;15/01/2024;;activo;",
        header=HEADER.replace(",", ";"),
        encoding="cp1252",
    )
    check = run_import(session, raw)
    assert check.imported and check.encoding == "windows-1252" and check.delimiter == ";"
    assert by_number(session, "N1").first_name == "Begoña"


def test_spanish_headers_and_semicolons_are_imported(session, org):
    header = (
        "Número;Nombre;Apellidos;Correo;Clave unidad;Clave puesto;Número jefe;"
        "Fecha de ingreso;Fecha de nacimiento;Estatus;Certificaciones"
    )
    raw = csv_bytes(
        "N1;Rosa;Díaz;;DA;P-OFF;E001;01/02/2024;03/04/1990;licencia;CERT-PROC", header=header
    )
    check = run_import(session, raw)
    assert check.problems == []
    employee = by_number(session, "N1")
    assert (employee.hire_date, employee.birth_date, employee.status) == (
        date(2024, 2, 1),
        date(1990, 4, 3),
        "on_leave",
    )


def test_an_xlsx_workbook_is_imported(session, org):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["N1", "Eva", "Sol", None, "DA", None, "E001", date(2024, 1, 2), None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    check = run_import(session, buffer.getvalue(), "plantilla.xlsx")
    assert check.imported and check.kind == "xlsx"
    assert by_number(session, "N1").hire_date == date(2024, 1, 2)


def test_a_supervisor_may_be_another_row_of_the_file_even_a_later_one(session, org):
    raw = csv_bytes(
        "N2,Hija,Dos,,DA,,N1,2024-01-01,,,",
        "N1,Madre,Uno,,DA,,E001,2024-01-01,,,",
    )
    assert run_import(session, raw).imported
    mother, daughter = by_number(session, "N1"), by_number(session, "N2")
    assert daughter.supervisor_id == mother.id
    assert mother.supervisor_id == org.head.id


def test_columns_left_out_keep_the_current_values(session, org):
    raw = csv_bytes(
        "E002,Mario,Ruiz,DA,2015-03-01", header="numero,nombre,apellidos,clave_unidad,fecha_ingreso"
    )
    check = run_import(session, raw)
    assert check.unchanged == 1 and check.to_update == 0
    kept = by_number(session, "E002")
    assert kept.supervisor_id == org.head.id
    assert kept.position_id == org.officer_position.id
    assert kept.email == "mario.ruiz@example.org"


# --- every bad row is reported, and nothing is written --------------------------------------


def assert_nothing_written(session, before) -> None:
    session.expire_all()
    assert counts(session) == before


def test_duplicate_numbers_in_the_file_are_reported_on_each_repeat(session, org):
    before = counts(session)
    raw = csv_bytes(
        "N1,A,B,,DA,,,2024-01-01,,,",
        "N2,C,D,,DA,,,2024-01-01,,,",
        "N1,E,F,,DA,,,2024-01-01,,,",
        "N1,G,H,,DA,,,2024-01-01,,,",
    )
    check = run_import(session, raw)
    assert where(check) == {(4, "number"), (5, "number")}
    assert "line 2" in check.problems[0].message
    assert_nothing_written(session, before)


def test_unknown_units_positions_supervisors_and_qualifications_are_each_reported(session, org):
    before = counts(session)
    raw = csv_bytes(
        "N1,A,B,,NOPE,,,2024-01-01,,,",
        "N2,C,D,,DA,P-NOPE,,2024-01-01,,,",
        "N3,E,F,,DA,,X999,2024-01-01,,,",
        "N4,G,H,,DA,,,2024-01-01,,,CERT-PROC|CERT-NOPE",
        "N5,I,J,,DA,,N4,2024-01-01,,,",
    )
    check = run_import(session, raw)
    assert where(check) == {
        (2, "unit_code"),
        (3, "position_code"),
        (4, "supervisor_number"),
        (5, "qualifications"),
    }
    assert "CERT-NOPE" in next(p.message for p in check.problems if p.line == 5)
    assert_nothing_written(session, before)


def test_a_reporting_loop_across_rows_of_the_file_is_reported_on_every_row_in_it(session, org):
    before = counts(session)
    raw = csv_bytes(
        "N1,A,B,,DA,,N3,2024-01-01,,,",
        "N2,C,D,,DA,,N1,2024-01-01,,,",
        "N3,E,F,,DA,,N2,2024-01-01,,,",
        "N4,G,H,,DA,,N1,2024-01-01,,,",
    )
    check = run_import(session, raw)
    assert where(check) == {
        (2, "supervisor_number"),
        (3, "supervisor_number"),
        (4, "supervisor_number"),
    }
    assert {p.message for p in check.problems} == {
        "These supervisors form a reporting loop: N1 → N3 → N2 → N1."
    }
    assert_nothing_written(session, before)


def test_a_loop_formed_with_existing_reporting_lines_is_reported(session, org):
    # E001 supervises E002 in the database; the file makes E002 supervise E001.
    before = counts(session)
    raw = csv_bytes("E001,Lucia,Mendez,,DA,P-HEAD,E002,2015-03-01,,,")
    check = run_import(session, raw)
    assert where(check) == {(2, "supervisor_number")}
    assert "E001" in check.problems[0].message and "E002" in check.problems[0].message
    assert_nothing_written(session, before)


def test_an_employee_cannot_supervise_themself(session, org):
    check = run_import(session, csv_bytes("N1,A,B,,DA,,N1,2024-01-01,,,"))
    assert where(check) == {(2, "supervisor_number")}


def test_bad_dates_statuses_emails_and_missing_values_are_reported_by_line_and_column(session, org):
    before = counts(session)
    raw = csv_bytes(
        "N1,A,B,,DA,,,2024-02-30,,,",
        "N2,C,D,,DA,,,31/12/2023,01/01/2030,,",
        "N3,E,F,not-an-email,DA,,,2024-01-01,,,",
        "N4,,G,,DA,,,2024-01-01,,retired,",
        ",H,I,,DA,,,,,,",
        "N6,J,K,,DA,,,12-31-2023,,,",
    )
    check = run_import(session, raw)
    assert where(check) == {
        (2, "hire_date"),
        (3, "birth_date"),
        (4, "email"),
        (5, "first_name"),
        (5, "status"),
        (6, "number"),
        (6, "hire_date"),
        (7, "hire_date"),
    }
    assert_nothing_written(session, before)


def test_one_bad_row_among_many_good_ones_stops_the_whole_import(session, org):
    before = counts(session)
    good = [f"N{i},A{i},B{i},,DA,,E001,2024-01-01,,," for i in range(200)]
    check = run_import(session, csv_bytes(*good, "N999,X,Y,,DA,,,2024-01-01,,dunno,"))
    assert where(check) == {(202, "status")}
    assert check.to_create == 201
    assert_nothing_written(session, before)


def test_missing_and_unknown_columns_stop_the_import(session, org):
    before = counts(session)
    check = run_import(session, csv_bytes("N1,A,B", header="number,first_name,favourite_colour"))
    assert where(check) == {
        (1, "favourite_colour"),
        (1, "last_name"),
        (1, "unit_code"),
        (1, "hire_date"),
    }
    assert_nothing_written(session, before)


def test_an_empty_file_is_refused(session, org):
    assert run_import(session, b"").problems
    assert run_import(session, HEADER.encode()).problems


def test_too_many_rows_are_refused(session, org):
    before = counts(session)
    rows = [f"N{i},A,B,,DA,,,2024-01-01,,," for i in range(11)]
    check = run_import(session, csv_bytes(*rows), max_rows=10)
    assert len(check.problems) == 1 and "10" in check.problems[0].message
    assert_nothing_written(session, before)


def test_too_large_a_file_is_refused_before_it_is_read(session, org):
    check = run_import(session, csv_bytes("N1,A,B,,DA,,,2024-01-01,,,"), max_bytes=50)
    assert len(check.problems) == 1 and check.rows == 0


def test_checking_a_file_writes_nothing_even_when_it_is_correct(session, org):
    before = counts(session)
    with use_locale("en"):
        check = roster.check_roster(session, csv_bytes("N1,A,B,,DA,,,2024-01-01,,,"), "x.csv")
    session.commit()
    assert check.ok and check.to_create == 1 and not check.imported
    assert_nothing_written(session, before)


def test_problem_messages_follow_the_language_of_the_request(session, org):
    with use_locale("es"):
        check = roster.check_roster(session, csv_bytes("N1,A,B,,NOPE,,,2024-01-01,,,"), "x.csv")
    assert check.problems[0].message == "Ninguna unidad tiene esa clave o ese nombre."


def test_an_export_imports_back_unchanged(session, org):
    service.update_employee(
        session,
        employee=org.outsider,
        data=service.EmployeeInput(
            number="E004",
            first_name="=Jorge",
            last_name="-Vega",
            email="jorge@example.org",
            unit_id=org.delegation.id,
            hire_date=date(2016, 1, 1),
            qualification_codes=("CERT-PROC",),
        ),
        actor="tester",
    )
    session.commit()
    exported = b"".join(
        roster.csv_export(
            session.get_bind(), service.EmployeeFilters(), delimiter=";", language="es"
        )
    )
    assert b"'=Jorge" in exported
    check = run_import(session, exported)
    assert check.problems == []
    assert (check.to_create, check.to_update, check.unchanged) == (0, 0, 4)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_thousand_rows_with_a_chain_of_supervisors_import_in_one_go(session, org):
    rows = [
        f"N{i},Nombre{i},Apellido{i},,DA,,{f'N{i - 1}' if i else 'E001'},2024-01-01,,,"
        for i in range(1000)
    ]
    check = run_import(session, csv_bytes(*rows))
    assert check.imported and check.to_create == 1000
    last = by_number(session, "N999")
    assert len(service.supervisor_chain(session, last)) == 1000


def test_only_the_file_name_of_an_uploaded_path_is_kept(session, org):
    with use_locale("en"):
        check = roster.check_roster(
            session, csv_bytes("N1,A,B,,DA,,,2024-01-01,,,"), "C:\\Users\\ana\\plantilla.csv"
        )
    assert check.filename == "plantilla.csv"


def test_an_imported_status_change_is_dated_on_the_organisations_day(session, org):
    # 04:00 UTC on 2 March is still 1 March in Mexico City, the organisation's zone.
    from datetime import UTC, datetime

    from backend import clock

    with clock.frozen(datetime(2027, 3, 2, 4, 0, tzinfo=UTC)):
        raw = csv_bytes("E003,Ana,Torres,,DA,P-OFF,E001,2015-03-01,,baja,")
        assert run_import(session, raw).imported
    history = service.status_history(session, org.officer_b.id)
    assert (history[0].status, history[0].effective_on) == ("left", date(2027, 3, 1))
