"""The roster import's pure rules: guessing columns, splitting full names, matching names."""

from __future__ import annotations

import pytest

from backend.i18n import use_locale
from backend.org.mapping import (
    Candidate,
    Mapping,
    MappingInvalid,
    Matcher,
    NameUnclear,
    guess_mapping,
    mapping_problems,
    name_key,
    split_full_name,
)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Núm. empleado", "number"),
        ("NUMERO DE EMPLEADO", "number"),
        ("Matrícula", "number"),
        ("Nombre completo", "full_name"),
        ("Nombre(s)", "first_name"),
        ("Apellido paterno", "paternal_surname"),
        ("Apellido Materno", "maternal_surname"),
        ("Adscripción", "unit_code"),
        ("Unidad de adscripción", "unit_code"),
        ("Puesto", "position_code"),
        ("Jefe inmediato", "supervisor_number"),
        ("Fecha de ingreso", "hire_date"),
        ("Correo institucional", "email"),
        ("E-mail", "email"),
        ("Estatus", "status"),
        ("RFC", ""),
    ],
)
def test_headers_are_guessed_ignoring_accents_case_and_punctuation(header, field):
    assert guess_mapping([header], {}) == {header: field}


def test_values_help_when_the_header_says_nothing():
    guessed = guess_mapping(["Col1", "Col2"], {0: ["a@b.mx", "c@d.mx"], 1: ["01/02/2020"]})
    assert guessed == {"Col1": "email", "Col2": "hire_date"}


def test_a_field_is_guessed_once_and_separate_names_win_over_a_full_name():
    guessed = guess_mapping(["Nombre completo", "Nombre", "Apellidos", "Correo", "Email"], {})
    assert guessed == {
        "Nombre completo": "",
        "Nombre": "first_name",
        "Apellidos": "last_name",
        "Correo": "email",
        "Email": "",
    }


@pytest.mark.parametrize(
    ("text", "rule", "given", "surnames"),
    [
        ("José Luis Hernández López", "given_first", "José Luis", "Hernández López"),
        ("María de la Luz Peña de la Cruz", "given_first", "María de la Luz", "Peña de la Cruz"),
        ("Juan   del Río", "given_first", "Juan", "del Río"),
        ("Ana Pérez", "given_first", "Ana", "Pérez"),
        ("Ana María de los Santos Ruiz", "given_first", "Ana María", "de los Santos Ruiz"),
        ("Hernández López José Luis", "surnames_first", "José Luis", "Hernández López"),
        ("de la Fuente Ruiz Ana Sofía", "surnames_first", "Ana Sofía", "de la Fuente Ruiz"),
        ("Pérez de la Cruz, María de la Luz", "comma", "María de la Luz", "Pérez de la Cruz"),
    ],
)
def test_full_names_are_split_by_the_rule_keeping_particles_with_the_surname(
    text, rule, given, surnames
):
    assert split_full_name(text, rule) == (given, surnames)


@pytest.mark.parametrize(("text", "rule"), [("Madonna", "given_first"), ("Ana Pérez", "comma")])
def test_a_name_the_rule_cannot_split_is_refused(text, rule):
    with use_locale("en"), pytest.raises(NameUnclear):
        split_full_name(text, rule)


def test_names_compare_without_accents_case_or_abbreviations():
    assert name_key("Deleg. Jalisco") == name_key("DELEGACIÓN JALISCO") == name_key("Del. Jalisco")
    assert name_key("Dir. Gral. de Adq.") == name_key("Dirección General de Adquisiciones")
    assert name_key("Hospital del Niño") == "hospital nino"


UNITS = [
    Candidate(1, "DEL-JAL", "Delegación Jalisco"),
    Candidate(2, "DEL-NL", "Delegación Nuevo León"),
    Candidate(3, "DA", "Dirección de Administración"),
]


def test_codes_and_exact_names_match_exactly_and_close_names_need_confirming():
    matcher = Matcher(UNITS, {"Jalisco (Deleg.)": "DEL-JAL"})
    assert matcher.match("DEL-JAL") == matcher.match("del-jal")
    assert matcher.match("DEL-JAL").exact and matcher.match("Delegación Jalisco").exact
    assert matcher.match("Jalisco (Deleg.)").exact  # remembered by the saved mapping
    close = matcher.match("deleg. nuevo leon")
    assert (close.candidate.code, close.exact) == ("DEL-NL", False)
    typo = matcher.match("Delegacion Jalsico")
    assert (typo.candidate.code, typo.exact) == ("DEL-JAL", False)


def test_an_unmatched_value_names_the_closest_candidates_and_ties_are_ambiguous():
    nothing = Matcher(UNITS).match("Delegación Sonora")
    assert nothing.candidate is None
    assert nothing.closest[:2] == ("Delegación Jalisco (DEL-JAL)", "Delegación Nuevo León (DEL-NL)")
    positions = Matcher(
        [Candidate(1, "P-1", "Analista", unit_id=10), Candidate(2, "P-2", "Analista", unit_id=20)]
    )
    assert positions.match("Analista", unit_id=20).candidate.code == "P-2"
    assert positions.match("Analista").ambiguous == ("Analista (P-1)", "Analista (P-2)")


def test_a_mapping_names_what_it_lacks_and_what_it_repeats():
    mapping = Mapping({"Num": "number", "Nombre": "full_name", "Otra": "number", "X": ""})
    with use_locale("en"):
        problems = mapping_problems(mapping, ["Num", "Nombre", "Otra", "X", "Nueva"])
    assert [header for header, _message in problems] == ["Nueva", "Otra", "", ""]
    assert "Unit (code or name)" in problems[2][1] and "Hire date" in problems[3][1]


def test_a_mapping_document_is_checked_field_by_field():
    with use_locale("en"):
        with pytest.raises(MappingInvalid):
            Mapping.from_json({"columns": {"A": "shoe_size"}})
        with pytest.raises(MappingInvalid):
            Mapping.from_json({"columns": {"A": "number"}, "name_rule": "backwards"})
    document = {"columns": {"A": "number", "B": None}, "matches": {"unit_code": {"x": "DA"}}}
    assert Mapping.from_json(document).to_json() == {
        "name": "",
        "columns": {"A": "number", "B": ""},
        "name_rule": "given_first",
        "matches": {"unit_code": {"x": "DA"}},
    }
