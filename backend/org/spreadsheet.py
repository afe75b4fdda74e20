"""Reading and writing employee roster files (CSV and XLSX), with no database in sight.

Reading turns the bytes of an upload into rows of parsed cells and a list of problems, each
tied to a line and a column of the file. Writing escapes cells that a spreadsheet would run as
formulas. The rules that need the database (units exist, no reporting loops…) are in roster.py.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from backend.i18n import _
from backend.org.models import EmployeeStatus
from backend.spreadsheets import (
    WorkbookTooLarge,
    WorkbookUnreadable,
    csv_cell,
    unescape_formula,
    xlsx_cell,
    xlsx_rows,
)

# Canonical columns, in file order. The English names are what exports write by default.
COLUMNS: tuple[str, ...] = (
    "number",
    "first_name",
    "last_name",
    "email",
    "unit_code",
    "position_code",
    "supervisor_number",
    "hire_date",
    "birth_date",
    "status",
    "qualifications",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("number", "first_name", "last_name", "unit_code", "hire_date")

# The Spanish header of each column (exports in Spanish write these).
SPANISH_HEADERS: dict[str, str] = {
    "number": "numero",
    "first_name": "nombre",
    "last_name": "apellidos",
    "email": "correo",
    "unit_code": "clave_unidad",
    "position_code": "clave_puesto",
    "supervisor_number": "numero_jefe",
    "hire_date": "fecha_ingreso",
    "birth_date": "fecha_nacimiento",
    "status": "estatus",
    "qualifications": "certificaciones",
}

# Other headers people write, compared after normalise_header (no accents, lower case, "_").
_MORE_ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "employee_number",
        "numero_de_empleado",
        "numero_empleado",
        "num_empleado",
        "no_empleado",
    ),
    "first_name": ("nombres", "name"),
    "last_name": ("apellido", "surname", "family_name"),
    "email": ("correo_electronico", "e_mail", "mail"),
    "unit_code": ("unit", "unidad", "clave_de_unidad", "codigo_unidad", "codigo_de_unidad"),
    "position_code": (
        "position",
        "puesto",
        "clave_de_puesto",
        "codigo_puesto",
        "codigo_de_puesto",
        "plaza",
    ),
    "supervisor_number": (
        "supervisor",
        "jefe",
        "jefe_inmediato",
        "numero_de_jefe",
        "numero_del_jefe",
        "numero_jefe_inmediato",
        "numero_supervisor",
    ),
    "hire_date": ("fecha_de_ingreso", "fecha_alta", "fecha_de_alta"),
    "birth_date": ("fecha_de_nacimiento", "date_of_birth"),
    "status": ("estado", "situacion"),
    "qualifications": ("cualificaciones", "acreditaciones", "certifications"),
}

# Spellings of the statuses, after normalise_header.
_STATUS_WORDS: dict[str, EmployeeStatus] = {
    "active": EmployeeStatus.active,
    "activo": EmployeeStatus.active,
    "activa": EmployeeStatus.active,
    "alta": EmployeeStatus.active,
    "on_leave": EmployeeStatus.on_leave,
    "leave": EmployeeStatus.on_leave,
    "licencia": EmployeeStatus.on_leave,
    "de_licencia": EmployeeStatus.on_leave,
    "con_licencia": EmployeeStatus.on_leave,
    "en_licencia": EmployeeStatus.on_leave,
    "left": EmployeeStatus.left,
    "baja": EmployeeStatus.left,
    "de_baja": EmployeeStatus.left,
    "separado": EmployeeStatus.left,
    "separada": EmployeeStatus.left,
}

MAX_BYTES = 40 * 1024 * 1024
MAX_ROWS = 200_000
QUALIFICATION_SEPARATOR = "|"

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def normalise_header(text: str) -> str:
    """Return `text` without accents, in lower case, with runs of other characters as "_"."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for column in COLUMNS:
        table[column] = column
        table[SPANISH_HEADERS[column]] = column
        for alias in _MORE_ALIASES.get(column, ()):
            table[normalise_header(alias)] = column
    return table


HEADER_ALIASES = _alias_table()


def canonical_column(header: str) -> str | None:
    """Return the canonical column a header names (English, Spanish or a variant), or None."""
    return HEADER_ALIASES.get(normalise_header(header))


@dataclass(frozen=True)
class RowProblem:
    """Something wrong in an import file: where (line, column as written), what, and why."""

    line: int
    column: str
    value: str
    message: str


@dataclass
class Table:
    """A file's header and data rows, before the cells are interpreted."""

    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    # (line number in the file, cells); cells are text, or dates from spreadsheet cells.
    rows: list[tuple[int, list[str | date]]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------------


def decode(raw: bytes) -> tuple[str, str]:
    """Return the text of a CSV upload and the encoding it was read with.

    UTF-8 (with or without the BOM Excel adds) is tried first; anything else is read as
    Windows-1252, which is what Spanish-language Excel writes as "CSV".
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            # Bytes cp1252 leaves undefined (0x81, 0x8D…): Latin-1 maps every byte.
            return raw.decode("latin-1"), "iso-8859-1"
    return text, "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"


def sniff_delimiter(text: str) -> str:
    """Return the separator of a CSV text: ";" (Spanish Excel), tab or "," (the default).

    Counted on the header line, outside quotes: headers seldom contain separators.
    """
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {";": 0, ",": 0, "\t": 0}
    quoted = False
    for char in first:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda c: (counts[c], c == ","))
    return best if counts[best] else ","


def looks_like_xlsx(raw: bytes, filename: str) -> bool:
    return raw.startswith(b"PK\x03\x04") or filename.lower().endswith((".xlsx", ".xlsm"))


def read_table(raw: bytes, filename: str = "", *, max_rows: int = MAX_ROWS) -> Table:
    """Return the header and rows of a CSV or XLSX upload, or the problems that stop reading."""
    lower = filename.lower()
    if raw.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        table = Table(kind="xls")
        table.problems.append(
            RowProblem(
                0,
                "",
                filename,
                _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or CSV."),
            )
        )
        return table
    if looks_like_xlsx(raw, filename):
        table = _read_xlsx(raw, max_rows)
    else:
        table = _read_csv(raw, max_rows)
    if not table.problems:
        if not table.headers:
            table.problems.append(RowProblem(0, "", "", _("The file is empty.")))
        elif not table.rows:
            table.problems.append(
                RowProblem(1, "", "", _("The file has a header but no employee rows."))
            )
    return table


def _blank(cells: Iterable[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _too_many(table: Table, line: int, max_rows: int) -> None:
    table.problems.append(
        RowProblem(
            line,
            "",
            "",
            _(
                "The file has more than %(max)s employee rows. Split it into smaller files.",
                max=f"{max_rows:,}",
            ),
        )
    )


def _read_csv(raw: bytes, max_rows: int) -> Table:
    text, encoding = decode(raw)
    delimiter = sniff_delimiter(text)
    table = Table(kind="csv", encoding=encoding, delimiter=delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        # Line where the record starts; a quoted cell may run over several lines.
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            table.problems.append(
                RowProblem(line, "", "", _("This line cannot be read as CSV (check the quotes)."))
            )
            break
        if _blank(cells):
            continue
        if not table.headers:
            table.headers = [c.strip() for c in cells]
            continue
        if len(table.rows) >= max_rows:
            _too_many(table, line, max_rows)
            break
        table.rows.append((line, list(cells)))
    return table


def _xlsx_cell(value: Any) -> str | date:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(raw: bytes, max_rows: int) -> Table:
    table = Table(kind="xlsx")
    try:
        with closing(xlsx_rows(raw)) as rows:
            for line, values in enumerate(rows, start=1):
                if _blank(values):
                    continue
                cells = [_xlsx_cell(v) for v in values]
                if not table.headers:
                    table.headers = [str(c).strip() for c in cells]
                    continue
                if len(table.rows) >= max_rows:
                    _too_many(table, line, max_rows)
                    break
                table.rows.append((line, cells))
    except WorkbookUnreadable:
        table.rows = []
        table.problems.append(
            RowProblem(0, "", "", _("This file cannot be read as an Excel workbook (.xlsx)."))
        )
    except WorkbookTooLarge as err:
        table.rows = []
        table.problems.append(RowProblem(0, "", "", str(err)))
    return table


# --- interpreting cells -----------------------------------------------------------------------


class CellError(ValueError):
    """A cell's value cannot be used; the message is translated."""


def parse_date(value: str | date) -> date | None:
    """Return the date in a cell (yyyy-mm-dd, dd/mm/yyyy or a spreadsheet date), None if empty."""
    if isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DMY_DATE.match(text)
        if not match:
            raise CellError(_("Write dates as yyyy-mm-dd or dd/mm/yyyy."))
        day, month, year = (int(g) for g in match.groups())
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise CellError(_("This date does not exist."))
    if not 1900 <= parsed.year <= 2100:
        raise CellError(_("This date is out of range."))
    return parsed


def parse_status(value: str) -> EmployeeStatus | None:
    """Return the status a cell names (English or Spanish), None if the cell is empty."""
    key = value.strip().lower()
    if key in _STATUS_WORDS:  # the common case, without the accent folding
        return _STATUS_WORDS[key]
    key = normalise_header(value)
    if not key:
        return None
    if key not in _STATUS_WORDS:
        raise CellError(_("Unknown status. Use active, on_leave or left (activo, licencia, baja)."))
    return _STATUS_WORDS[key]


def parse_qualifications(value: str) -> tuple[str, ...]:
    """Return the qualification codes of a cell ("A|B"), without blanks or repeats."""
    codes = (c.strip() for c in value.split(QUALIFICATION_SEPARATOR))
    return tuple(dict.fromkeys(c for c in codes if c))


@dataclass(slots=True)
class RosterRow:
    """One employee row of an import file, its cells interpreted.

    Columns missing from the file are not in `given`: an existing employee keeps those values.
    An empty status cell also keeps the current status (new employees start active).
    """

    line: int
    given: frozenset[str]
    number: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    unit_code: str = ""
    position_code: str = ""
    supervisor_number: str = ""
    hire_date: date | None = None
    birth_date: date | None = None
    status: EmployeeStatus | None = None
    qualifications: tuple[str, ...] = ()
    raw: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedRoster:
    """The rows of an import file and what is wrong in them (so far)."""

    rows: list[RosterRow]
    problems: list[RowProblem]
    headers: dict[str, str]  # canonical column -> the header as written in the file


def map_headers(headers: list[str]) -> tuple[dict[str, int], dict[str, str], list[RowProblem]]:
    """Return {column: index}, {column: header as written} and the header's problems."""
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    problems: list[RowProblem] = []
    for index, header in enumerate(headers):
        if not header.strip():
            continue
        column = canonical_column(header)
        if column is None:
            problems.append(
                RowProblem(
                    1,
                    header,
                    header,
                    _(
                        "Unknown column. The columns are: %(columns)s (or their Spanish "
                        "names: %(spanish)s).",
                        columns=", ".join(COLUMNS),
                        spanish=", ".join(SPANISH_HEADERS[c] for c in COLUMNS),
                    ),
                )
            )
        elif column in positions:
            problems.append(
                RowProblem(
                    1,
                    header,
                    header,
                    _(
                        "This column repeats the column %(other)s.",
                        other=written[column],
                    ),
                )
            )
        else:
            positions[column] = index
            written[column] = header
    for column in REQUIRED_COLUMNS:
        if column not in positions:
            problems.append(
                RowProblem(
                    1,
                    column,
                    "",
                    _(
                        "The required column %(column)s (%(spanish)s) is missing.",
                        column=column,
                        spanish=SPANISH_HEADERS[column],
                    ),
                )
            )
    return positions, written, problems


def _text(cell: str | date) -> str:
    if isinstance(cell, date):
        return cell.isoformat()
    return unescape_formula(cell.strip())


def _mapped_positions(
    headers: list[str], columns: dict[str, str]
) -> tuple[dict[str, int], dict[str, str]]:
    """Return {field: index} and {field: header as written} of a confirmed mapping."""
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    for index, header in enumerate(headers):
        name = columns.get(header, "")
        if name and name not in positions:
            positions[name] = index
            written[name] = header
    return positions, written


def parse_roster(
    table: Table,
    columns: dict[str, str] | None = None,
    *,
    split_name: Callable[[str], tuple[str, str]] | None = None,
    header_problems: list[RowProblem] | None = None,
) -> ParsedRoster:
    """Return the interpreted rows of a table and every problem found in its header and cells.

    `columns` is a confirmed mapping ({header: field}); without it the headers are read as
    Mérito's own columns (English or Spanish). Header problems do not stop the rows being
    checked: every column that could be read is, so one check names everything.
    """
    if columns is None:
        positions, written, problems = map_headers(table.headers)
    else:
        positions, written = _mapped_positions(table.headers, columns)
        problems = list(header_problems or [])
    full_name = positions.pop("full_name", None)
    paternal = positions.pop("paternal_surname", None)
    maternal = positions.pop("maternal_surname", None)
    given = set(positions)
    if full_name is not None:
        given |= {"first_name", "last_name"}
        written["first_name"] = written["last_name"] = written.pop("full_name")
    if paternal is not None or maternal is not None:
        given.add("last_name")
        written["last_name"] = written.get("paternal_surname") or written["maternal_surname"]
    required = [c for c in REQUIRED_COLUMNS if c in given]
    frozen_given = frozenset(given)
    blank_columns = [
        i for i, h in enumerate(table.headers) if not h.strip() and i not in positions.values()
    ]
    rows: list[RosterRow] = []
    for line, cells in table.rows:
        row = RosterRow(line=line, given=frozen_given)
        if len(cells) > len(table.headers) and not _blank(cells[len(table.headers) :]):
            extra = next(str(c) for c in cells[len(table.headers) :] if str(c).strip())
            problems.append(
                RowProblem(line, "", extra, _("This row has more values than the header."))
            )
        for index in blank_columns:
            if index < len(cells) and not _blank([cells[index]]):
                problems.append(
                    RowProblem(
                        line, "", str(cells[index]), _("This value is in a column without a name.")
                    )
                )
        if full_name is not None:
            _split_name(row, cells, full_name, written, split_name, problems)
        if paternal is not None or maternal is not None:
            parts = [
                _text(cells[i]) if i < len(cells) else ""
                for i in (paternal, maternal)
                if i is not None
            ]
            row.last_name = row.raw["last_name"] = " ".join(p for p in parts if p)
        for column, index in positions.items():
            cell = cells[index] if index < len(cells) else ""
            text = _text(cell)
            row.raw[column] = text
            try:
                if column in ("hire_date", "birth_date"):
                    value: Any = parse_date(cell if isinstance(cell, date) else text)
                elif column == "status":
                    value = parse_status(text)
                elif column == "qualifications":
                    value = parse_qualifications(text)
                else:
                    value = text
            except CellError as err:
                problems.append(RowProblem(line, written[column], text, str(err)))
                continue
            setattr(row, column, value)
        for column in required:
            if not row.raw.get(column):
                problems.append(RowProblem(line, written[column], "", _("This value is required.")))
        rows.append(row)
    return ParsedRoster(rows, problems, written)


def _split_name(
    row: RosterRow,
    cells: list[str | date],
    index: int,
    written: dict[str, str],
    split_name: Callable[[str], tuple[str, str]] | None,
    problems: list[RowProblem],
) -> None:
    text = _text(cells[index]) if index < len(cells) else ""
    if not text or split_name is None:
        return
    try:
        row.first_name, row.last_name = split_name(text)
    except ValueError as err:
        problems.append(RowProblem(row.line, written["first_name"], text, str(err)))
        row.raw["first_name"] = row.raw["last_name"] = text
        return
    row.raw["first_name"], row.raw["last_name"] = row.first_name, row.last_name


# --- writing ----------------------------------------------------------------------------------


def header_row(language: str = "en") -> list[str]:
    """Return the header of an export: canonical English names, or the Spanish ones."""
    return [SPANISH_HEADERS[c] if language == "es" else c for c in COLUMNS]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return csv_cell(str(value))


def csv_chunks(
    header: list[str], rows: Iterable[list[Any]], *, delimiter: str = ",", batch: int = 500
) -> Iterator[bytes]:
    """Yield a UTF-8 CSV (with the BOM Excel needs to read accents) a few hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        pending += 1
        if pending >= batch:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def _xlsx_value(value: Any) -> Any:
    if value is None or isinstance(value, date | int | float) and not isinstance(value, bool):
        return value
    return xlsx_cell(str(value))


def write_xlsx(header: list[str], rows: Iterable[list[Any]], target: IO[bytes]) -> None:
    """Write an XLSX workbook of the rows to `target` (streamed, so memory stays flat).

    Text cells are escaped like CSV ones: openpyxl stores a string starting with "=" as a
    formula, so escaping is what keeps it text.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Employees")[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])
    workbook.save(target)
