"""`backend.deps.form_int` / `form_id`: the one parser of numbers and record ids read from forms
(issue #19). It reads ASCII whole numbers within the column's range and refuses anything else by
the field's name, so no route sends the database a number it cannot hold."""

from __future__ import annotations

import pytest

from backend.deps import MAX_INT, FieldError, form_id, form_ids, form_int
from backend.http_edges import validation_message
from backend.i18n import use_locale

# Beyond PostgreSQL's integer, beyond SQLite's, digits int() cannot read, and digits it can but
# no page offers (Arabic-Indic, full-width): the forms offer ASCII digits only.
NOT_AN_ID = [
    str(MAX_INT + 1),
    str(2**63),
    "9" * 30,
    "A" * 9000,
    "\u00b2",
    "\u0661\u0662",
    "\uff11",
    "0",
    "-1",
    "1.5",
    "0x1F",
    "1_000",
    "+5",
    "1e3",
    "abc",
    "1\x00",
]


def test_form_id_reads_an_id_and_nothing_else():
    assert form_id(" 42 ", field="unit_id") == 42
    assert form_id(str(MAX_INT), field="unit_id") == MAX_INT
    assert form_id("", field="unit_id") is None
    assert form_id(None, field="unit_id") is None
    for value in NOT_AN_ID:
        with pytest.raises(FieldError) as refused:
            form_id(value, field="unit_id")
        assert refused.value.field == "unit_id", value
        assert [e["loc"] for e in refused.value.errors()] == [("body", "unit_id")]
    with pytest.raises(FieldError):
        form_id("", field="unit_id", required=True)


def test_form_ids_refuses_the_whole_list_when_one_id_is_wrong():
    assert form_ids(["1", " 2 ", ""], field="units") == [1, 2]
    with pytest.raises(FieldError) as refused:
        form_ids(["1", str(2**63)], field="units")
    assert refused.value.field == "units"


def test_form_int_keeps_to_the_bounds_it_is_given():
    assert form_int("-3", field="n", low=-5, high=5) == -3
    assert form_int("0", field="n") == 0
    assert form_int(str(-MAX_INT - 1), field="n") == -MAX_INT - 1
    for value in ("6", "-6", str(2**40)):
        with pytest.raises(FieldError):
            form_int(value, field="n", low=-5, high=5)
    with pytest.raises(FieldError):
        form_int(str(MAX_INT + 1), field="n")


def test_the_refusal_is_worded_in_the_persons_language():
    with use_locale("es"):
        with pytest.raises(FieldError) as refused:
            form_int("abc", field="n")
        with pytest.raises(FieldError) as out:
            form_int("9", field="n", low=1, high=5)
        with pytest.raises(FieldError) as unknown:
            form_id("x", field="unit_id")
    assert validation_message(refused.value.errors()[0]) == "Escriba un número entero."
    outside = "Este número está fuera del rango permitido."
    assert validation_message(out.value.errors()[0]) == outside
    assert validation_message(unknown.value.errors()[0]) == "Elija una de las opciones ofrecidas."
    assert str(refused.value.message) == "Escriba un número entero."
