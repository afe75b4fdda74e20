"""Hostile workbooks: every XLSX importer refuses zip bombs, blank-row floods and cell floods
quickly, with a message naming the limit (backend/spreadsheets.py holds the limits).

The workbooks are written by hand (the sheet's XML straight into a zip), so a file of three
million rows costs a second to build, as it costs an attacker nothing to send.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
from collections.abc import Iterable

import pytest

from backend import spreadsheets
from backend import tables as exports
from backend.i18n import use_locale
from backend.org import spreadsheet

# What one of the importers may take on a shared two-core test machine when it refuses a file
# early; the unbounded reader took over three minutes on the reviewer's file.
SECONDS = 30

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)

ROSTER_HEADER = ("number", "first_name", "last_name", "unit_code", "hire_date")
ROSTER_ROW = ("E1", "Ana", "Ruiz", "DA", "2020-01-02")


def _cell(column: str, line: int, value: str) -> str:
    return f'<c r="{column}{line}" t="inlineStr"><is><t>{value}</t></is></c>'


def _row(line: int, values: Iterable[str]) -> str:
    cells = "".join(_cell(chr(65 + i), line, v) for i, v in enumerate(values))
    return f'<row r="{line}">{cells}</row>'


def workbook(sheet_chunks: Iterable[str], *, dimension: str = "") -> bytes:
    """Return an XLSX file whose first sheet's rows are `sheet_chunks` (XML), streamed in."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(_SHEET_HEAD.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for chunk in sheet_chunks:
                sheet.write(chunk.encode())
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def blank_rows(count: int, *, batch: int = 50_000) -> Iterable[str]:
    """Rows with a styled, empty cell, numbered by their place (as the format allows)."""
    for start in range(0, count, batch):
        yield '<row><c s="0"/></row>' * min(batch, count - start)


def roster_problems(raw: bytes) -> list[str]:
    with use_locale("en"):
        table = spreadsheet.read_table(raw, "people.xlsx")
    return [p.message for p in table.problems]


def sheet_problems(raw: bytes) -> list[str]:
    with use_locale("en"), pytest.raises(exports.ImportRejected) as refused:
        exports.read_sheet(raw, required=("number",))
    return [p.message for p in refused.value.problems]


def test_three_million_blank_rows_are_refused_quickly_by_every_importer():
    raw = workbook(
        [_row(1, ROSTER_HEADER), _row(2, ROSTER_ROW), *blank_rows(3_000_000)],
    )
    assert len(raw) < 2 * 1024 * 1024  # a small upload, as the reviewer's 430 KB
    for read in (roster_problems, sheet_problems):
        started = time.monotonic()
        problems = read(raw)
        assert time.monotonic() - started < SECONDS, read
        assert problems == [
            f"The sheet has more than {spreadsheets.MAX_XLSX_ROWS:,} rows, counting empty rows "
            "that still hold formatting. Delete the rows below your data (or copy the data into "
            "a new sheet) and upload it again."
        ]


def test_more_blank_rows_than_the_limit_are_refused():
    raw = workbook(
        [_row(1, ROSTER_HEADER), *blank_rows(spreadsheets.MAX_XLSX_BLANK_ROWS + 1)]
        + [_row(spreadsheets.MAX_XLSX_BLANK_ROWS + 2, ROSTER_ROW)]
    )
    expected = [
        f"The sheet has more than {spreadsheets.MAX_XLSX_BLANK_ROWS:,} empty rows. Delete "
        "the empty rows (or copy the filled ones into a new sheet) and upload it again."
    ]
    assert roster_problems(raw) == expected
    assert sheet_problems(raw) == expected


def test_blank_rows_below_the_limit_are_skipped_as_before():
    raw = workbook([_row(1, ROSTER_HEADER), *blank_rows(500), _row(502, ROSTER_ROW)])
    table = spreadsheet.read_table(raw, "people.xlsx")
    assert table.problems == []
    assert [line for line, _cells in table.rows] == [502]
    assert [r.number for r in spreadsheet.parse_roster(table).rows] == ["E1"]


def test_a_missing_row_range_counts_as_blank_rows():
    # Rows left out of the XML are blank rows too: a row at the bottom of the sheet is enough.
    raw = workbook([_row(1, ROSTER_HEADER), _row(1_048_576, ROSTER_ROW)])
    started = time.monotonic()
    assert roster_problems(raw) == [
        f"The sheet has more than {spreadsheets.MAX_XLSX_BLANK_ROWS:,} empty rows. Delete "
        "the empty rows (or copy the filled ones into a new sheet) and upload it again."
    ]
    assert time.monotonic() - started < SECONDS


def test_a_sheet_that_claims_to_be_the_whole_grid_is_read_by_its_cells():
    # The <dimension> element is the file's own claim: trusted, it made the reader pad every row
    # to 16,384 columns and add a million empty rows after the last one.
    raw = workbook([_row(1, ROSTER_HEADER), _row(2, ROSTER_ROW)], dimension="A1:XFD1048576")
    started = time.monotonic()
    table = spreadsheet.read_table(raw, "people.xlsx")
    assert time.monotonic() - started < SECONDS
    assert table.problems == []
    assert table.headers == list(ROSTER_HEADER)
    assert [r.number for r in spreadsheet.parse_roster(table).rows] == ["E1"]
    rows = exports.read_sheet(raw, required=("number",), optional=("last_name",))
    assert [(r.number, r.values) for r in rows] == [(2, {"number": "E1", "last_name": "Ruiz"})]


def test_too_many_cells_are_refused():
    # A value in the last column makes every row 16,384 cells wide.
    far = "".join(
        f'<row r="{n}">{_cell("A", n, "x")}{_cell("XFD", n, "x")}</row>' for n in range(2, 400)
    )
    raw = workbook([_row(1, ROSTER_HEADER), far])
    expected = [
        f"The sheet has more than {spreadsheets.MAX_XLSX_CELLS:,} cells. Split it into "
        "smaller files."
    ]
    started = time.monotonic()
    assert roster_problems(raw) == expected
    assert sheet_problems(raw) == expected
    assert time.monotonic() - started < SECONDS


def _bomb_member(size: int) -> Iterable[str]:
    """Whitespace inside the sheet's data: valid XML, compresses a thousand to one."""
    chunk = " " * (1024 * 1024)
    for _ in range(size // len(chunk) + 1):
        yield chunk


def test_a_member_too_large_once_uncompressed_is_refused_before_it_is_parsed():
    raw = workbook([_row(1, ROSTER_HEADER), *_bomb_member(spreadsheets.MAX_XLSX_UNCOMPRESSED)])
    assert len(raw) < 2 * 1024 * 1024
    expected = [
        "The workbook is too large once uncompressed (more than "
        f"{spreadsheets.MAX_XLSX_UNCOMPRESSED // (1024 * 1024)} MB). Split it into smaller "
        "files."
    ]
    started = time.monotonic()
    assert roster_problems(raw) == expected
    assert sheet_problems(raw) == expected
    assert time.monotonic() - started < SECONDS


def _lie_about_sizes(raw: bytes, member: str, size: int) -> bytes:
    """Return the zip with `member`'s uncompressed size declared as `size` in both headers."""
    data = bytearray(raw)
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def test_a_member_that_declares_less_than_it_holds_is_refused():
    honest = workbook([_row(1, ROSTER_HEADER), _row(2, ROSTER_ROW), *_bomb_member(8 << 20)])
    with zipfile.ZipFile(io.BytesIO(honest)) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > 8 << 20
    lying = _lie_about_sizes(honest, "xl/worksheets/sheet1.xml", 1024)
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 1024
    assert roster_problems(lying) == ["This file cannot be read as an Excel workbook (.xlsx)."]
    assert sheet_problems(lying) == ["The file is not an Excel workbook (.xlsx)."]


def test_the_archive_check_reads_each_member_only_up_to_its_declared_size():
    honest = workbook([_row(1, ROSTER_HEADER), _row(2, ROSTER_ROW)])
    spreadsheets.check_xlsx_archive(honest)  # within every limit: no exception
    lying = _lie_about_sizes(honest, "xl/worksheets/sheet1.xml", 10)
    with pytest.raises(spreadsheets.WorkbookUnreadable):
        spreadsheets.check_xlsx_archive(lying)
    with pytest.raises(spreadsheets.WorkbookUnreadable):
        spreadsheets.check_xlsx_archive(b"PK\x03\x04 not a zip at all")


def test_too_many_members_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(spreadsheets.MAX_XLSX_MEMBERS + 1):
            archive.writestr(f"xl/media/{n}.bin", b"")
    with use_locale("en"), pytest.raises(spreadsheets.WorkbookTooLarge) as refused:
        spreadsheets.check_xlsx_archive(buffer.getvalue())
    assert f"{spreadsheets.MAX_XLSX_MEMBERS:,}" in str(refused.value)


def test_limit_messages_are_translated():
    raw = workbook([_row(1, ROSTER_HEADER), *blank_rows(spreadsheets.MAX_XLSX_BLANK_ROWS + 5)])
    with use_locale("es"):
        table = spreadsheet.read_table(raw, "personas.xlsx")
    [problem] = table.problems
    assert "filas vacías" in problem.message
    assert f"{spreadsheets.MAX_XLSX_BLANK_ROWS:,}" in problem.message
