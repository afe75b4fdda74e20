"""Reading other systems' roster exports: which column is which, names, and close matches.

Pure functions, no database: guessing the field of each column of a file from its header (and,
failing that, its values), splitting a full-name column into given names and surnames by a
stated rule, and comparing unit and position names the way people write them (accents, case,
abbreviations such as "Deleg." for "Delegación"). roster.py and the import service use them.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field

from backend.i18n import N_, _
from backend.org.spreadsheet import COLUMNS, SPANISH_HEADERS, normalise_header

IGNORE = ""
# Fields a column can be read as, in the order the mapping form offers them. The canonical
# columns keep their names (unit_code reads a code or a name; position_code a code or a title).
FIELDS: tuple[str, ...] = (
    "number",
    "full_name",
    "first_name",
    "last_name",
    "paternal_surname",
    "maternal_surname",
    "email",
    "unit_code",
    "position_code",
    "supervisor_number",
    "hire_date",
    "birth_date",
    "status",
    "qualifications",
)
FIELD_LABELS: dict[str, str] = {
    "number": N_("Employee number"),
    "full_name": N_("Full name"),
    "first_name": N_("Given names"),
    "last_name": N_("Surnames"),
    "paternal_surname": N_("First surname (paternal)"),
    "maternal_surname": N_("Second surname (maternal)"),
    "email": N_("Email address"),
    "unit_code": N_("Unit (code or name)"),
    "position_code": N_("Position (code or title)"),
    "supervisor_number": N_("Supervisor's employee number"),
    "hire_date": N_("Hire date"),
    "birth_date": N_("Date of birth"),
    "status": N_("Employment status"),
    "qualifications": N_("Qualifications"),
}
NAME_FIELDS = ("full_name", "first_name", "last_name", "paternal_surname", "maternal_surname")

# Rules for a full-name column.
NAME_RULES: dict[str, str] = {
    "given_first": N_("Given names, then paternal and maternal surnames (Mexican order)"),
    "surnames_first": N_("Paternal and maternal surnames, then given names"),
    "comma": N_("Surnames, a comma, then given names"),
}

# Headers people write for each field, compared after normalise_header.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": (
        "employee_number", "numero_de_empleado", "numero_empleado", "num_empleado",
        "num_emp", "no_empleado", "no_emp", "n_empleado", "numero", "number", "matricula",
        "clave_empleado", "clave_de_empleado", "id_empleado", "employee_id", "ficha",
    ),
    "full_name": (
        "nombre_completo", "full_name", "nombre_del_empleado", "nombre_empleado", "empleado",
        "employee_name", "nombre_y_apellidos", "apellidos_y_nombre", "name",
    ),
    "first_name": ("first_name", "nombre", "nombres", "nombre_s", "given_names", "given_name"),
    "last_name": ("last_name", "apellidos", "surnames", "surname", "family_name"),
    "paternal_surname": (
        "apellido_paterno", "primer_apellido", "paterno", "ap_paterno", "a_paterno",
        "paternal_surname", "first_surname",
    ),
    "maternal_surname": (
        "apellido_materno", "segundo_apellido", "materno", "ap_materno", "a_materno",
        "maternal_surname", "second_surname",
    ),
    "email": (
        "email", "correo", "correo_electronico", "correo_institucional", "e_mail", "mail",
        "email_address", "work_email",
    ),
    "unit_code": (
        "unit_code", "unit", "unidad", "clave_unidad", "clave_de_unidad", "codigo_unidad",
        "adscripcion", "unidad_de_adscripcion", "area", "area_de_adscripcion", "departamento",
        "department", "centro_de_trabajo", "unidad_administrativa",
    ),
    "position_code": (
        "position_code", "position", "puesto", "clave_puesto", "clave_de_puesto",
        "codigo_puesto", "plaza", "cargo", "job_title", "title", "nombre_del_puesto",
        "denominacion_del_puesto",
    ),
    "supervisor_number": (
        "supervisor_number", "supervisor", "jefe", "jefe_inmediato", "numero_jefe",
        "numero_de_jefe", "num_jefe", "no_jefe", "numero_jefe_inmediato", "manager",
        "manager_number", "reports_to", "superior_inmediato",
    ),
    "hire_date": (
        "hire_date", "fecha_ingreso", "fecha_de_ingreso", "fecha_alta", "fecha_de_alta",
        "ingreso", "start_date", "date_hired", "antiguedad", "fecha_de_antiguedad",
    ),
    "birth_date": (
        "birth_date", "fecha_nacimiento", "fecha_de_nacimiento", "date_of_birth", "nacimiento",
    ),
    "status": ("status", "estatus", "estado", "situacion", "situacion_laboral"),
    "qualifications": (
        "qualifications", "certificaciones", "cualificaciones", "acreditaciones",
        "certifications",
    ),
}  # fmt: skip

_SYNONYM_FIELD: dict[str, str] = {
    normalise_header(word): name for name, words in SYNONYMS.items() for word in words
}
for _column in COLUMNS:
    _SYNONYM_FIELD.setdefault(normalise_header(SPANISH_HEADERS[_column]), _column)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})$")


@dataclass
class Mapping:
    """How to read a file: {header as written: field or IGNORE}, the name rule, known matches."""

    columns: dict[str, str]
    name_rule: str = "given_first"
    # {"unit_code" | "position_code": {value as written: code}}: confirmed close matches.
    matches: dict[str, dict[str, str]] = field(default_factory=dict)
    name: str = ""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "columns": dict(self.columns),
            "name_rule": self.name_rule,
            "matches": {k: dict(v) for k, v in self.matches.items() if v},
        }

    @classmethod
    def from_json(cls, data: dict) -> Mapping:
        """Return the mapping a JSON document describes; MappingInvalid says what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise MappingInvalid(_("A mapping needs “columns”: each header and its field."))
        columns: dict[str, str] = {}
        for header, name in data["columns"].items():
            name = name or IGNORE
            if name != IGNORE and name not in FIELDS:
                raise MappingInvalid(
                    _("The mapping reads %(header)s as an unknown field.", header=str(header))
                )
            columns[str(header)] = name
        rule = data.get("name_rule") or "given_first"
        if rule not in NAME_RULES:
            raise MappingInvalid(_("Unknown rule for full names."))
        matches = data.get("matches") or {}
        clean = {
            kind: {str(k): str(v) for k, v in (matches.get(kind) or {}).items()}
            for kind in ("unit_code", "position_code")
            if isinstance(matches, dict) and isinstance(matches.get(kind) or {}, dict)
        }
        return cls(columns, rule, clean, str(data.get("name") or ""))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)


class MappingInvalid(ValueError):
    """A mapping document cannot be used; the message is translated."""


def guess_field(header: str, samples: list[str]) -> str:
    """Return the field a column most likely holds (IGNORE when nothing fits)."""
    key = normalise_header(header)
    if key in _SYNONYM_FIELD:
        return _SYNONYM_FIELD[key]
    # "Núm. de empleado (SIAP)": the known words inside a longer header.
    close = difflib.get_close_matches(key, list(_SYNONYM_FIELD), n=1, cutoff=0.85)
    if close:
        return _SYNONYM_FIELD[close[0]]
    for word, name in sorted(_SYNONYM_FIELD.items(), key=lambda item: -len(item[0])):
        if len(word) >= 6 and word in key:
            return name
    filled = [s for s in samples if s.strip()]
    if filled and all(_EMAIL.match(s.strip()) for s in filled):
        return "email"
    if filled and all(_DATE.match(s.strip()) for s in filled):
        return "hire_date"
    return IGNORE


def guess_mapping(headers: list[str], samples: dict[int, list[str]]) -> dict[str, str]:
    """Return {header: field} for a file's headers, each field guessed at most once."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for index, header in enumerate(headers):
        if not header.strip() or header in mapping:
            continue
        name = guess_field(header, samples.get(index, []))
        if name in taken:
            name = IGNORE
        if name == "hire_date" and "hire_date" in taken:
            name = IGNORE
        taken.add(name)
        mapping[header] = name
    # A file with both a full name and separate name columns: the separate ones win.
    if "full_name" in taken and "first_name" in taken:
        for header, name in mapping.items():
            if name == "full_name":
                mapping[header] = IGNORE
    return mapping


def mapping_problems(mapping: Mapping, headers: list[str]) -> list[tuple[str, str]]:
    """Return (header, message) for what makes a mapping unusable with a file's headers."""
    problems: list[tuple[str, str]] = []
    present = [h for h in headers if h.strip()]
    seen: dict[str, str] = {}
    counts: dict[str, int] = {}
    for header in present:
        counts[header] = counts.get(header, 0) + 1
    for header, count in counts.items():
        if count > 1:
            problems.append((header, _("Two columns of the file have this header.")))
    for header in present:
        if header not in mapping.columns:
            problems.append(
                (header, _("The mapping does not say what this column is: map it or ignore it."))
            )
    for header, name in mapping.columns.items():
        if header not in present:
            if name != IGNORE:
                problems.append(
                    (header, _("The mapping reads this column, but the file does not have it."))
                )
            continue
        if name == IGNORE:
            continue
        if name in seen:
            problems.append(
                (
                    header,
                    _("This column repeats the field of the column %(other)s.", other=seen[name]),
                )
            )
        else:
            seen[name] = header
    chosen = set(seen)
    for name in ("number", "unit_code", "hire_date"):
        if name not in chosen:
            problems.append(
                ("", _("No column is read as “%(field)s”.", field=_(FIELD_LABELS[name])))
            )
    has_full = "full_name" in chosen
    has_given = "first_name" in chosen
    has_surname = bool({"last_name", "paternal_surname"} & chosen)
    if has_full and (has_given or has_surname):
        problems.append(
            ("", _("Read the names from a full-name column or from separate ones, not both."))
        )
    elif not has_full and not (has_given and has_surname):
        problems.append(
            (
                "",
                _(
                    "No column gives the names: choose a full-name column, or given names "
                    "and surnames."
                ),
            )
        )
    if "last_name" in chosen and ({"paternal_surname", "maternal_surname"} & chosen):
        problems.append(
            ("", _("Read surnames from one column or from paternal and maternal ones, not both."))
        )
    return problems


# --- names ------------------------------------------------------------------------------------

# Words that belong to the surname (or given name) that follows them.
PARTICLES = frozenset(
    {"de", "del", "la", "las", "los", "y", "da", "das", "do", "dos", "van", "von", "di", "san"}
)


class NameUnclear(ValueError):
    """A full name cannot be split by the chosen rule; the message is translated."""


def _units(words: list[str]) -> list[list[str]]:
    """Group words into name units: particles stay with the word that follows them."""
    units: list[list[str]] = []
    pending: list[str] = []
    for word in words:
        pending.append(word)
        if word.lower() not in PARTICLES:
            units.append(pending)
            pending = []
    if pending:
        if units:
            units[-1].extend(pending)
        else:
            units.append(pending)
    return units


def split_full_name(text: str, rule: str) -> tuple[str, str]:
    """Return (given names, surnames) of a full name written by `rule`.

    Particles ("de la", "del", "de los"…) are kept with the surname they introduce: "María de
    la Luz Pérez de la Cruz" by the Mexican order gives "María de la Luz" and "Pérez de la Cruz".
    """
    clean = " ".join(text.split())
    if rule == "comma":
        if "," not in clean:
            raise NameUnclear(_("The name has no comma between surnames and given names."))
        surnames, given = (part.strip() for part in clean.split(",", 1))
        if not surnames or not given:
            raise NameUnclear(_("Both surnames and given names are needed."))
        return given, surnames
    units = _units(clean.split(" ")) if clean else []
    if len(units) < 2:
        raise NameUnclear(_("Write at least a given name and a surname."))
    # Two surnames when a given name is left over, else one.
    count = 2 if len(units) >= 3 else 1
    if rule == "surnames_first":
        surnames, given = units[:count], units[count:]
    else:
        given, surnames = units[: len(units) - count], units[len(units) - count :]
    return " ".join(w for u in given for w in u), " ".join(w for u in surnames for w in u)


# --- unit and position names ------------------------------------------------------------------

# Abbreviations in unit and position names, after normalise_header (no accents, lower case).
ABBREVIATIONS: dict[str, str] = {
    "deleg": "delegacion", "dir": "direccion", "dir_gral": "direccion_general",
    "subdir": "subdireccion", "coord": "coordinacion",
    "depto": "departamento", "dpto": "departamento", "dep": "departamento", "hosp": "hospital",
    "gral": "general", "reg": "regional", "adq": "adquisiciones", "abast": "abastecimiento",
    "jef": "jefatura", "jefa": "jefatura", "div": "division", "of": "oficina", "ofna": "oficina",
    "admva": "administrativa", "adtva": "administrativa", "admin": "administracion",
    "adm": "administracion", "edo": "estado", "nal": "nacional", "ctro": "centro",
    "med": "medico", "esp": "especialidades", "unid": "unidad", "uma": "unidad_medica",
    "aux": "auxiliar", "asist": "asistente", "anal": "analista", "espec": "especialista",
    "tec": "tecnico", "ing": "ingeniero", "lic": "licenciado", "enc": "encargado",
    "mpal": "municipal", "sria": "secretaria", "ssa": "secretaria_de_salud",
}  # fmt: skip
_STOPWORDS = frozenset({"de", "del", "la", "las", "los", "el", "y", "en"})


def name_key(text: str) -> str:
    """Return a name as compared: no accents, case, punctuation, abbreviations or "de/la/del"."""
    words = normalise_header(text).split("_")
    if len(words) > 1 and words[0] == "del":  # "Del. Jalisco": a delegation, not "of the"
        words[0] = "deleg"
    expanded: list[str] = []
    for word in words:
        expanded.extend(ABBREVIATIONS.get(word, word).split("_"))
    return " ".join(w for w in expanded if w and w not in _STOPWORDS)


@dataclass(frozen=True)
class Candidate:
    """A unit or position one can match a value to."""

    id: int
    code: str
    name: str
    unit_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


@dataclass(frozen=True)
class Match:
    """How a value of the file matched: exact (code, name, remembered), close, or not at all."""

    candidate: Candidate | None
    exact: bool
    closest: tuple[str, ...] = ()  # labels of the nearest candidates, when nothing matched
    ambiguous: tuple[str, ...] = ()  # labels of equally good candidates


class Matcher:
    """Matches the values of a column to units or positions, remembering each value's answer."""

    def __init__(self, candidates: list[Candidate], remembered: dict[str, str] | None = None):
        self.candidates = candidates
        self.by_code = {c.code: c for c in candidates}
        self.by_code_folded: dict[str, Candidate] = {}
        for c in candidates:
            self.by_code_folded.setdefault(c.code.casefold(), c)
        self.by_name: dict[str, list[Candidate]] = {}
        self.by_key: dict[str, list[Candidate]] = {}
        for c in candidates:
            self.by_name.setdefault(" ".join(c.name.split()), []).append(c)
            self.by_key.setdefault(name_key(c.name), []).append(c)
        self.keys = list(self.by_key)
        self.remembered = {" ".join(k.split()): v for k, v in (remembered or {}).items()}
        self._cache: dict[tuple[str, int | None], Match] = {}

    def match(self, value: str, *, unit_id: int | None = None) -> Match:
        key = (value, unit_id)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._match(value, unit_id)
        return found

    def _pick(self, found: list[Candidate], unit_id: int | None, exact: bool) -> Match:
        if len(found) > 1 and unit_id is not None:
            in_unit = [c for c in found if c.unit_id == unit_id]
            found = in_unit or found
        if len(found) == 1:
            return Match(found[0], exact)
        return Match(None, False, ambiguous=tuple(c.label for c in found[:5]))

    def _match(self, value: str, unit_id: int | None) -> Match:
        text = " ".join(value.split())
        code = self.by_code.get(text) or self.by_code_folded.get(text.casefold())
        if code is not None:
            return Match(code, True)
        if text in self.by_name:
            return self._pick(self.by_name[text], unit_id, True)
        if text in self.remembered:
            remembered = self.by_code.get(self.remembered[text])
            if remembered is not None:
                return Match(remembered, True)
        key = name_key(text)
        if key in self.by_key:
            return self._pick(self.by_key[key], unit_id, False)
        scored = sorted(
            ((difflib.SequenceMatcher(None, key, k).ratio(), k) for k in self.keys), reverse=True
        )
        if scored and scored[0][0] >= 0.88 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            return self._pick(self.by_key[scored[0][1]], unit_id, False)
        closest = tuple(self.by_key[k][0].label for score, k in scored[:3] if score >= 0.4)
        return Match(None, False, closest=closest)
