"""Reading and writing roster files, without a database."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from backend.i18n import use_locale
from backend.org import spreadsheet
from backend.org.models import EmployeeStatus
from backend.org.spreadsheet import CellError

HEADER = "number,first_name,last_name,unit_code,hire_date"


def parsed(text: str | bytes, filename: str = "people.csv"):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    table = spreadsheet.read_table(raw, filename)
    assert table.problems == []
    return spreadsheet.parse_roster(table)


def test_utf8_with_bom_is_read_and_the_bom_is_not_part_of_the_first_header():
    raw = ("\ufeff" + HEADER + "\nE1,José,Núñez,DA,2020-01-02\n").encode("utf-8")
    table = spreadsheet.read_table(raw, "x.csv")
    assert table.encoding == "utf-8-sig"
    assert table.headers[0] == "number"
    roster = spreadsheet.parse_roster(table)
    assert roster.problems == []
    assert roster.rows[0].first_name == "José"


def test_windows_1252_files_are_detected_and_accents_survive():
    raw = (HEADER + "\nE1,Begoña,Ibáñez,DA,2020-01-02\n").encode("cp1252")
    table = spreadsheet.read_table(raw, "x.csv")
    assert table.encoding == "windows-1252"
    row = spreadsheet.parse_roster(table).rows[0]
    assert (row.first_name, row.last_name) == ("Begoña", "Ibáñez")


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1():
    text, encoding = spreadsheet.decode(b"a,b\n\x81x,y\n")
    assert encoding == "iso-8859-1"
    assert text.startswith("a,b")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("numero;nombre;apellidos", ";"),
        ("number,first_name,last_name", ","),
        ("number\tfirst_name\tlast_name", "\t"),
        ('"apellidos, nombre";numero;unidad', ";"),
        ("number", ","),
    ],
)
def test_the_separator_is_sniffed_from_the_header_line(line, expected):
    assert spreadsheet.sniff_delimiter(line + "\n1;2;3\n") == expected


def test_semicolon_files_with_decimal_commas_in_cells_are_read_by_column():
    text = "numero;nombre;apellidos;clave_unidad;fecha_ingreso\nE1;Ana, María;Paz;DA;02/01/2020\n"
    row = parsed(text).rows[0]
    assert row.first_name == "Ana, María"
    assert row.hire_date == date(2020, 1, 2)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Número", "number"),
        ("NÚMERO DE EMPLEADO", "number"),
        ("Nombre", "first_name"),
        ("Apellidos", "last_name"),
        ("Correo electrónico", "email"),
        ("Clave unidad", "unit_code"),
        ("clave-puesto", "position_code"),
        ("Número jefe", "supervisor_number"),
        ("Fecha de ingreso", "hire_date"),
        ("FECHA_NACIMIENTO", "birth_date"),
        ("Estatus", "status"),
        ("Certificaciones", "qualifications"),
        (" First Name ", "first_name"),
        ("hire_date", "hire_date"),
        ("shoe size", None),
    ],
)
def test_headers_are_matched_in_english_or_spanish_ignoring_case_and_accents(header, column):
    assert spreadsheet.canonical_column(header) == column


def test_unknown_missing_and_repeated_columns_are_reported_on_line_1():
    table = spreadsheet.read_table(b"numero,nombre,number,shoe size\nE1,Ana,E1,42\n", "x.csv")
    problems = spreadsheet.parse_roster(table).problems
    assert {(p.line, p.column) for p in problems} == {
        (1, "number"),  # repeats numero
        (1, "shoe size"),  # unknown
        (1, "last_name"),
        (1, "unit_code"),
        (1, "hire_date"),
    }


def test_header_problems_are_translated():
    table = spreadsheet.read_table(b"numero\nE1\n", "x.csv")
    with use_locale("es"):
        problems = spreadsheet.parse_roster(table).problems
    assert any("Falta la columna obligatoria" in p.message for p in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-31", date(2020, 1, 31)),
        ("31/01/2020", date(2020, 1, 31)),
        ("1/2/2020", date(2020, 2, 1)),
        ("", None),
        ("  ", None),
    ],
)
def test_dates_are_read_as_iso_or_day_month_year(text, expected):
    assert spreadsheet.parse_date(text) == expected


@pytest.mark.parametrize("text", ["2020-02-30", "31/02/2020", "01-31-2020", "2020/01/31", "ayer"])
def test_impossible_or_ambiguous_dates_are_refused(text):
    with pytest.raises(CellError):
        spreadsheet.parse_date(text)


def test_dates_from_spreadsheet_cells_are_taken_as_they_are():
    assert spreadsheet.parse_date(date(2021, 5, 6)) == date(2021, 5, 6)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("active", EmployeeStatus.active),
        ("Activo", EmployeeStatus.active),
        ("ON LEAVE", EmployeeStatus.on_leave),
        ("licencia", EmployeeStatus.on_leave),
        ("Baja", EmployeeStatus.left),
        ("left", EmployeeStatus.left),
        ("", None),
    ],
)
def test_statuses_are_read_in_english_or_spanish(text, status):
    assert spreadsheet.parse_status(text) == status


def test_an_unknown_status_is_refused():
    with pytest.raises(CellError):
        spreadsheet.parse_status("retired-ish")


def test_qualification_codes_are_split_on_bars_without_blanks_or_repeats():
    assert spreadsheet.parse_qualifications(" A | B||A ") == ("A", "B")


def test_bad_cells_are_reported_by_line_and_column_as_written_in_the_file():
    text = (
        "numero;nombre;apellidos;clave_unidad;fecha_ingreso;estatus\n"
        "E1;Ana;Paz;DA;2020-13-01;activo\n"
        "\n"
        "E2;;Gil;DA;01/01/2020;jubilado\n"
    )
    table = spreadsheet.read_table(text.encode(), "x.csv")
    problems = spreadsheet.parse_roster(table).problems
    assert {(p.line, p.column, p.value) for p in problems} == {
        (2, "fecha_ingreso", "2020-13-01"),
        (4, "nombre", ""),
        (4, "estatus", "jubilado"),
    }


def test_line_numbers_count_lines_of_quoted_cells_that_span_several_lines():
    text = HEADER + '\nE1,"Ana\nMaría",Paz,DA,2020-01-01\nE2,Luis,Gil,DA,nope\n'
    table = spreadsheet.read_table(text.encode(), "x.csv")
    problems = spreadsheet.parse_roster(table).problems
    assert [(p.line, p.column) for p in problems] == [(4, "hire_date")]


def test_extra_values_beyond_the_header_are_reported():
    table = spreadsheet.read_table((HEADER + "\nE1,Ana,Paz,DA,2020-01-01,surprise\n").encode())
    problems = spreadsheet.parse_roster(table).problems
    assert [(p.line, p.value) for p in problems] == [(2, "surprise")]


def test_an_empty_file_and_a_header_only_file_are_refused():
    with use_locale("en"):
        assert spreadsheet.read_table(b"", "x.csv").problems[0].message == "The file is empty."
    assert spreadsheet.read_table(b"\n\n", "x.csv").problems
    only_header = spreadsheet.read_table(HEADER.encode(), "x.csv")
    assert only_header.problems[0].line == 1


def test_more_rows_than_the_limit_are_refused_with_the_line_where_reading_stopped():
    text = HEADER + "\n" + "".join(f"E{i},A,B,DA,2020-01-01\n" for i in range(5))
    table = spreadsheet.read_table(text.encode(), "x.csv", max_rows=3)
    assert len(table.problems) == 1
    assert table.problems[0].line == 5


def test_old_binary_excel_files_are_refused_with_advice():
    table = spreadsheet.read_table(b"\xd0\xcf\x11\xe0" + b"\0" * 100, "people.xls")
    assert ".xlsx" in table.problems[0].message


def test_a_damaged_workbook_is_refused():
    table = spreadsheet.read_table(b"PK\x03\x04 not really a zip", "people.xlsx")
    assert table.problems and table.kind == "xlsx"


def _workbook(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_cells_are_read_with_numbers_as_text_and_dates_as_dates():
    raw = _workbook(
        [
            ["Número", "Nombre", "Apellidos", "Clave unidad", "Fecha de ingreso", "Estatus"],
            [1001, "Ana", "Paz", "DA", datetime(2020, 1, 2), "activo"],
            [None, None, None, None, None, None],
            [1002.0, "Luis", "Gil", "DA", "03/04/2021", "baja"],
        ]
    )
    roster = parsed(raw, "people.xlsx")
    assert roster.problems == []
    assert [(r.line, r.number, r.hire_date) for r in roster.rows] == [
        (2, "1001", date(2020, 1, 2)),
        (4, "1002", date(2021, 4, 3)),
    ]


def test_csv_export_has_a_bom_and_escapes_formulas():
    chunks = spreadsheet.csv_chunks(
        spreadsheet.header_row("es"),
        [["E1", '=HYPERLINK("x")', "Paz", "", "DA", None, None, date(2020, 1, 2), None, "", ""]],
        delimiter=";",
    )
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeffnumero;nombre;")
    assert "'=HYPERLINK" in text
    assert ";2020-01-02;" in text


def test_xlsx_export_keeps_formula_like_text_as_text():
    buffer = io.BytesIO()
    spreadsheet.write_xlsx(
        spreadsheet.header_row("en"),
        [["E1", "=1+2", "@x", "", "DA", None, None, date(2020, 1, 2), None, "active", ""]],
        buffer,
    )
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    first, last, hired = sheet["B2"], sheet["C2"], sheet["H2"]
    assert first.value == "'=1+2" and first.data_type == "s"
    assert last.value == "'@x"
    assert hired.value.date() == date(2020, 1, 2)
