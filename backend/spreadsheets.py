"""Cells for CSV and XLSX files that spreadsheet programs will not run as formulas.

Every export of the application (the employee roster, competency and training tables, the
reporting channel's statistics, import problem reports) writes its cells through `csv_cell` or
`xlsx_cell`, so the escaping rule lives in one place and tests/integration/test_hostile_input.py
can hold every export to it.

The rule (OWASP, "CSV injection"): text that a spreadsheet would read as a formula — starting
with = + - @, a tab, a carriage return or a line feed — gets a leading apostrophe, so
`=HYPERLINK("http://evil","x")` arrives as the text it is. Numbers and dates stay what they
are: a negative amount is a number, not text starting with "-". Importers undo the apostrophe
(`unescape_formula`), so an exported file imports back unchanged.

Every XLSX import (the roster, role profiles, ratings, the training catalogue) reads its sheet
through `xlsx_rows`, which holds the limits that keep a small hostile file from holding a worker
for minutes: an XLSX file is a zip of XML, and 430 KB of it can hold three million rows.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from backend.i18n import _

# Text starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# Control characters an XLSX file cannot hold (openpyxl refuses them).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def escape_formula(text: str) -> str:
    """Return `text` with a leading apostrophe when a spreadsheet would run it."""
    if text and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """Undo `escape_formula` (for importers reading back what we exported)."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def csv_cell(value: Any) -> Any:
    """Return `value` ready for a CSV cell: blanks as "", formula-like text escaped."""
    if _blank(value):
        return ""
    if isinstance(value, str):
        return escape_formula(value)
    return value


def xlsx_cell(value: Any) -> Any:
    """Return `value` ready for an XLSX cell: text escaped and without the control characters
    the format cannot hold (openpyxl would store unescaped "=…" text as a formula)."""
    if _blank(value):
        return None
    if isinstance(value, str):
        return escape_formula(_XLSX_ILLEGAL.sub("", value))
    return value


# --- reading XLSX within limits ---------------------------------------------------------------

# The members of the zip, once uncompressed, together. Our own export of the largest roster
# allowed (200,000 rows) is 131 MB uncompressed; deflate packs up to ~1,000:1, so a 5 MB upload
# could otherwise unpack to gigabytes.
MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_XLSX_MEMBERS = 5_000
# Rows and cells the sheets' XML may hold (counted in the raw XML before any parsing: openpyxl
# parses a whole sheet once just to learn its size when the sheet does not state it), and cells
# read from the first sheet (counting the empty ones up to each row's last cell). The largest
# roster, 200,000 rows of 11 columns, is 2.2 million cells.
MAX_XLSX_ROWS = 250_000
MAX_XLSX_CELLS = 3_000_000
# Empty rows, between and after the filled ones (rows the file leaves out count too). Reading a
# row costs the same filled or not: three million formatted, empty rows held a worker 203 s.
MAX_XLSX_BLANK_ROWS = 10_000
_READ_CHUNK = 1024 * 1024


class WorkbookUnreadable(ValueError):
    """The upload is not an XLSX workbook that can be read (each importer says so its way)."""


class WorkbookTooLarge(ValueError):
    """The workbook breaks one of the limits above; `str(err)` is a translated message naming it."""


def _megabytes(size: int) -> int:
    return size // (1024 * 1024)


def _too_many_rows() -> WorkbookTooLarge:
    return WorkbookTooLarge(
        _(
            "The sheet has more than %(max)s rows, counting empty rows that still hold "
            "formatting. Delete the rows below your data (or copy the data into a new sheet) "
            "and upload it again.",
            max=f"{MAX_XLSX_ROWS:,}",
        )
    )


def _too_many_cells() -> WorkbookTooLarge:
    return WorkbookTooLarge(
        _(
            "The sheet has more than %(max)s cells. Split it into smaller files.",
            max=f"{MAX_XLSX_CELLS:,}",
        )
    )


def check_xlsx_archive(raw: bytes) -> None:
    """Raise unless the zip's members are few and small enough, by declaration and in fact.

    The declared sizes are checked first (free); then every member is decompressed, a chunk at
    a time and never past its declared size, so a member that lies about its size fails its
    checksum instead of unpacking without end, and its row and cell tags are counted. Nothing
    is kept.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise WorkbookUnreadable(str(err)) from None
    too_large = WorkbookTooLarge(
        _(
            "The workbook is too large once uncompressed (more than %(mb)s MB). Split it into "
            "smaller files.",
            mb=_megabytes(MAX_XLSX_UNCOMPRESSED),
        )
    )
    with archive:
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise WorkbookTooLarge(
                _(
                    "The workbook has more than %(max)s parts. Save it again as a plain .xlsx "
                    "workbook.",
                    max=f"{MAX_XLSX_MEMBERS:,}",
                )
            )
        if sum(member.file_size for member in members) > MAX_XLSX_UNCOMPRESSED:
            raise too_large
        total = rows = cells = 0
        for member in members:
            tail = b""
            try:
                with archive.open(member) as source:
                    while chunk := source.read(_READ_CHUNK):
                        total += len(chunk)
                        if total > MAX_XLSX_UNCOMPRESSED:
                            raise too_large
                        # A tag may straddle two chunks: count over the previous chunk's
                        # tail, one byte shorter than the tag, so none is counted twice.
                        rows += (tail + chunk).count(b"<row")
                        text = tail[-2:] + chunk
                        cells += text.count(b"<c ") + text.count(b"<c>") + text.count(b"<c/")
                        tail = chunk[-3:]
            except WorkbookTooLarge:
                raise
            except Exception as err:  # noqa: BLE001 - bad checksums, methods, headers, zlib
                raise WorkbookUnreadable(str(err)) from None
            if rows > MAX_XLSX_ROWS:
                raise _too_many_rows()
            if cells > MAX_XLSX_CELLS:
                raise _too_many_cells()


def _blank_row(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def xlsx_rows(raw: bytes) -> Iterator[tuple[Any, ...]]:
    """Yield the rows of the first sheet of an XLSX file, one per line from line 1, as values.

    Empty rows are yielded too (as empty tuples or tuples of None), so a row's place is its
    line. Raises WorkbookUnreadable for a file that is not a readable workbook and
    WorkbookTooLarge past a limit (checked as the rows are read: a caller stopping early, at
    its own row limit, never pays for the rest). Rows are streamed (openpyxl's read-only mode)
    and only as wide as their last cell: the sheet's own claim of its size (`<dimension>`) is
    ignored, since a file claiming A1:XFD1048576 would have every row padded to 16,384 cells.
    """
    from openpyxl import load_workbook

    check_xlsx_archive(raw)
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - a damaged workbook raises many kinds of errors
        raise WorkbookUnreadable(str(err)) from None
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        cells = blank = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as err:  # noqa: BLE001 - as above, found while reading on
                raise WorkbookUnreadable(str(err)) from None
            cells += len(values)
            if cells > MAX_XLSX_CELLS:
                raise _too_many_cells()
            if _blank_row(values):
                blank += 1
                if blank > MAX_XLSX_BLANK_ROWS:
                    raise WorkbookTooLarge(
                        _(
                            "The sheet has more than %(max)s empty rows. Delete the empty rows "
                            "(or copy the filled ones into a new sheet) and upload it again.",
                            max=f"{MAX_XLSX_BLANK_ROWS:,}",
                        )
                    )
            yield values
    finally:
        workbook.close()
