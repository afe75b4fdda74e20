"""Tables to CSV and XLSX (safe against formula injection), and XLSX imports with row numbers.

Every domain's exports go through here: a page builds a `Table` (the same columns and numbers
it shows), `download` answers it as CSV or XLSX. Imports read an XLSX sheet with `read_sheet`
and refuse it as a whole with `ImportRejected` (a `DomainError`, 422) listing each problem with
the row and column a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from openpyxl import Workbook

from backend.errors import DomainError, problem
from backend.files import content_disposition
from backend.i18n import _
from backend.spreadsheets import (
    WorkbookTooLarge,
    WorkbookUnreadable,
    csv_cell,
    xlsx_cell,
    xlsx_rows,
)

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000


@dataclass
class Table:
    """A table as shown on a page: column headers (translated) and rows of plain values."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def to_csv(table: Table) -> bytes:
    """Return the table as UTF-8 CSV with a BOM (so spreadsheet programs detect the encoding)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """Return the table as an XLSX workbook with one sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(table.title))
    sheet.append([xlsx_cell(c) for c in table.columns])
    for row in table.rows:
        sheet.append([xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def local_time(value: datetime | None, zone: str) -> datetime | None:
    """Return a stored (UTC) timestamp as the organisation's wall-clock time, for a sheet cell.

    Spreadsheets have no time zones (openpyxl refuses aware datetimes): the time is written as
    it reads in `zone`, as the pages show it.
    """
    if value is None:
        return None
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\").strip()
    return (cleaned or "Sheet")[:31]


def download(table: Table, *, fmt: str, filename: str) -> Response:
    """Return the table as a CSV or XLSX download."""
    if fmt == "xlsx":
        return Response(
            to_xlsx(table),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": content_disposition(f"{filename}.xlsx")},
        )
    return Response(
        to_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(f"{filename}.csv")},
    )


# --- imports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an uploaded sheet; row and column as a spreadsheet shows them."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row and self.column:
            return _("Row %(row)s, column %(column)s: %(problem)s", **self._params())
        if self.row:
            return _("Row %(row)s: %(problem)s", **self._params())
        return self.message

    def _params(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "problem": self.message}

    def as_params(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(DomainError):
    """The uploaded sheet has problems; nothing was written.

    `problems` lists them (`ImportProblem`s, not the {field: message} of other errors); the
    JSON API answers them as `problems: [{row, column, message}]`.
    """

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        super().__init__(_("The file was not imported: nothing was saved."))
        self.rows = list(problems)

    @property
    def problems(self) -> list[ImportProblem]:  # type: ignore[override]
        return self.rows

    def as_problem(self) -> dict[str, Any]:
        return problem(
            self.status_code,
            self.message,
            extra={"problems": [p.as_params() for p in self.rows]},
        )


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 → A)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class SheetRow:
    number: int  # row number as the spreadsheet shows it (header is row 1)
    values: dict[str, Any]
    letters: dict[str, str]  # column name -> letter, for messages


def read_sheet(
    content: bytes, *, required: Iterable[str], optional: Iterable[str] = ()
) -> list[SheetRow]:
    """Return the rows of the first sheet of an XLSX file, keyed by header name.

    Raises ImportRejected when the file is not an XLSX workbook, is too large, or lacks a
    required column.
    """
    if len(content) > MAX_IMPORT_BYTES:
        raise ImportRejected([ImportProblem(0, "", _("The file is larger than 5 MB."))])
    try:
        with closing(xlsx_rows(content)) as rows:
            return _sheet_rows(rows, required=required, optional=optional)
    except WorkbookUnreadable:
        raise ImportRejected(
            [ImportProblem(0, "", _("The file is not an Excel workbook (.xlsx)."))]
        ) from None
    except WorkbookTooLarge as err:
        raise ImportRejected([ImportProblem(0, "", str(err))]) from None


def _sheet_rows(
    rows: Iterator[tuple[Any, ...]], *, required: Iterable[str], optional: Iterable[str]
) -> list[SheetRow]:
    header = next(rows, None)
    if header is None:
        raise ImportRejected([ImportProblem(0, "", _("The sheet is empty."))])
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    wanted = list(required)
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ImportRejected(
            [ImportProblem(1, "", _("Missing column: %(name)s.", name=name)) for name in missing]
        )
    keep = set(wanted) | set(optional)
    positions = {name: i for i, name in enumerate(names) if name in keep}
    letters = {name: column_letter(i) for name, i in positions.items()}
    result: list[SheetRow] = []
    for number, raw in enumerate(rows, start=2):
        if raw is None or all(v is None or str(v).strip() == "" for v in raw):
            continue
        if len(result) >= MAX_IMPORT_ROWS:
            raise ImportRejected([ImportProblem(number, "", _("Too many rows (at most 50,000)."))])
        values = {name: (raw[i] if i < len(raw) else None) for name, i in positions.items()}
        result.append(SheetRow(number, values, letters))
    return result


def template_xlsx(columns: Sequence[str], title: str) -> bytes:
    """Return an empty import sheet with just its header row."""
    return to_xlsx(Table(title=title, columns=list(columns), rows=[]))
