"""The one rule every CSV and XLSX export follows (backend/spreadsheets.py).

tests/integration/test_hostile_input.py walks every export route with hostile values; these
pin the rule itself.
"""

from __future__ import annotations

import io
import math
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from backend.spreadsheets import csv_cell, escape_formula, unescape_formula, xlsx_cell

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe_and_imports_back(value):
    escaped = escape_formula(value)
    assert escaped == "'" + value
    assert unescape_formula(escaped) == value
    assert csv_cell(value) == escaped


@pytest.mark.parametrize("value", ["Ana", "", "a=b", "1-2", "'quoted", "'"])
def test_ordinary_text_is_left_alone_both_ways(value):
    assert escape_formula(value) == value
    assert unescape_formula(value) == value


@pytest.mark.parametrize("value", [12, -3, 0.5, -0.25, date(2026, 3, 2), True])
def test_numbers_and_dates_stay_what_they_are(value):
    assert csv_cell(value) == value
    assert xlsx_cell(value) == value


def test_blanks_are_empty_cells():
    assert csv_cell(None) == "" and csv_cell(math.nan) == ""
    assert xlsx_cell(None) is None and xlsx_cell(math.nan) is None


def test_an_escaped_cell_is_text_in_a_workbook_and_control_characters_are_dropped():
    book = Workbook()
    book.active.append([xlsx_cell(v) for v in [*HOSTILE, "bell\x07 and nul\x00", -2]])
    buffer = io.BytesIO()
    book.save(buffer)
    cells = list(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())[0]
    for cell, value in zip(cells, HOSTILE, strict=False):
        # (XML stores a carriage return as a line feed: compare what follows the first char.)
        assert cell.data_type == "s" and cell.value[0] == "'" and cell.value[2:] == value[1:]
    assert cells[len(HOSTILE)].value == "bell and nul"
    assert cells[-1].value == -2 and cells[-1].data_type == "n"
