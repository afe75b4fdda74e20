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
"""

from __future__ import annotations

import math
import re
from typing import Any

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
