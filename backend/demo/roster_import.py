"""The roster import's demo: an HRIS export waiting in the HR planner's uploads, and a mapping.

The file is what a payroll system's export looks like once Spanish Excel has saved it: Windows
-1252, ";", CRLF, dd/mm/yyyy, one full-name column, unit names with abbreviations, job titles
instead of codes, the supervisor's number under its own header. It holds demo employees as they
are (unchanged), a few with a new e-mail (updated) or in another unit (moved), and new people,
some with surnames such as "de la Cruz". The planner opens it from "Import employees" and walks
the mapping, the check with its close matches, and the import. A saved mapping ("Nómina SIAP
(demo)") reads the same columns, as a nightly import from the command line would.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlmodel import Session

from backend.auth.models import User
from backend.config import Settings
from backend.org import mapping as mappings
from backend.org.models import Employee, EmployeeStatus, ImportRun, Position, Unit
from backend.org.service import imports

FILENAME = "nomina-siap-demo.csv"
MAPPING_NAME = "Nómina SIAP (demo)"
HEADER = [
    "Núm. empleado",
    "Nombre completo",
    "Adscripción",
    "Puesto",
    "Jefe inmediato",
    "Fecha de ingreso",
    "Correo institucional",
    "RFC",
]
COLUMNS = dict(
    zip(
        HEADER,
        ["number", "full_name", "unit_code", "position_code", "supervisor_number", "hire_date",
         "email", ""],
        strict=True,
    )
)  # fmt: skip
NEW_PEOPLE = [
    ("María de la Luz", "Peña de la Cruz"),
    ("José Ángel", "Núñez Ibáñez"),
    ("Ana Sofía", "de los Santos Ruiz"),
    ("Iñaki", "Gómez Zúñiga"),
    ("Guadalupe", "del Río Álvarez"),
    ("Jesús", "Muñoz Peña"),
]
_SHORT = (("Delegación", "Deleg."),)


def _abbreviated(name: str) -> str:
    for word, short in _SHORT:
        name = name.replace(word, short)
    return name


def _date(value) -> str:
    return value.strftime("%d/%m/%Y")


def sample_file(session: Session, *, seed: int = 7) -> bytes:
    """Return the demo export: some employees as they are, some changed, some new."""
    draw = random.Random(seed)
    units = {u.id: u for u in session.exec(select(Unit)).scalars()}
    positions = {p.id: p for p in session.exec(select(Position)).scalars()}
    people = list(
        session.exec(
            select(Employee)
            .where(Employee.status != EmployeeStatus.left)
            .where(Employee.supervisor_id.is_not(None))
            .order_by(Employee.id)
            .limit(400)
        ).scalars()
    )
    chosen = draw.sample(people, min(30, len(people)))
    numbers = {e.id: e.number for e in session.exec(select(Employee)).scalars()}
    rows: list[list[str]] = []
    for index, person in enumerate(chosen):
        unit, position = units[person.unit_id], positions.get(person.position_id)
        email = person.email
        if index % 10 == 1:
            email = email.replace("@", ".nuevo@")  # updated
        title = position.title if position else ""
        if index % 10 == 2:  # moved to another unit, post to be assigned
            unit, title = units[draw.choice(sorted(units))], ""
        rows.append(
            [person.number, f"{person.first_name} {person.last_name}", _abbreviated(unit.name),
             title, numbers.get(person.supervisor_id, ""), _date(person.hire_date), email, ""]
        )  # fmt: skip
    # New people report to the first chosen person (none in an organisation of one).
    head = chosen[0] if chosen else None
    for index, (given, surnames) in enumerate(NEW_PEOPLE if head else ()):
        rows.append(
            [f"DEMO-N{index + 1:02}", f"{given} {surnames}", _abbreviated(units[head.unit_id].name),
             "", head.number, f"0{index + 1}/12/2026", "", "XAXX010101000"]
        )  # fmt: skip
    lines = [";".join(HEADER), *(";".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252", errors="replace")


def prepare(session: Session, settings: Settings, accounts: list) -> None:
    """Give the demo HR planner an export to import, and save the mapping that reads it."""
    planner = next((a for a in accounts if a.role == "hr_planner"), None)
    if planner is None:
        return
    user = session.exec(select(User).where(User.email == planner.email)).scalars().first()
    if user is None or session.exec(select(ImportRun.id).limit(1)).first() is not None:
        return
    saved = imports.saved_mappings(session)
    if not any(m.name == MAPPING_NAME for m in saved):
        mapping = mappings.Mapping(dict(COLUMNS), "given_first", name=MAPPING_NAME)
        imports.save_mapping(session, mapping, by="merito demo")
    raw = sample_file(session)
    if raw.count(b"\r\n") > 1:
        imports.create_run(session, raw, FILENAME, user=user)
