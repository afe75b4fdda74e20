"""Writing the invented organisation to an empty database (`generate`), in one transaction.

Rows are written with SQLAlchemy Core in batches, not as one ORM object (and one audit entry)
per row, so that 100 000 employees take seconds, not minutes. The domains add what they keep
about these people (the competency framework: eighteen months of ratings and two campaigns)
through the `demo.people` hook, in the same transaction.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import exists, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from backend import audit, plugins
from backend.demo.institute import AS_OF, PROCUREMENT_CERTS, QUALIFICATIONS, UnitPlan
from backend.demo.staffing import People, Person, Slot, at_noon, plan_staffing
from backend.org import service as org_service
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    JobFamily,
    Position,
    Qualification,
    Unit,
    UnitKind,
)

DEFAULT_EMPLOYEES = 600
MAX_EMPLOYEES = 1_000_000
# Rows per INSERT batch: large enough to amortise round trips, small enough to bound memory.
BATCH_SIZE = 5000


class DemoError(RuntimeError):
    """The demo cannot be created here (message for the operator, in English)."""


@dataclass(frozen=True)
class DemoSummary:
    """What `generate` created."""

    units: int
    positions: int
    employees: int
    procurement_units: int
    qualifications: int
    seed: int
    as_of: date = AS_OF
    # What the domains' `demo.people` hooks wrote, by name ("rating_entries", "campaigns"…).
    counts: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        """Return a domain's count by name (`summary.rating_entries`); 0 if none wrote it."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self.counts.get(name, 0)


class DemoPerson(NamedTuple):
    """What the generator knows about one employee, for the domains' `demo.people` hooks."""

    employee_id: int
    role_code: str
    unit_code: str
    setting: str  # "central" | "delegation" | "hospital" | "entity"
    procurement: bool  # procurement job family (otherwise a user area)
    hire: date
    left_on: date | None
    qualified: bool  # holds a formal procurement qualification
    supervised: bool  # somebody heads their unit (or the chain above it)


# --- writing ----------------------------------------------------------------------------------

PROCUREMENT_CERT_CODES = {code for code, _weight in PROCUREMENT_CERTS}
# Where a decentralised unit sits, by the kind of unit above it.
_SETTING_OF_KIND = {
    UnitKind.delegation: "delegation",
    UnitKind.regional_hospital: "hospital",
    UnitKind.national_medical_centre: "hospital",
    UnitKind.non_medical_entity: "entity",
}


def _settings(units: list[UnitPlan]) -> dict[str, str]:
    """Return {unit code: "central" | "delegation" | "hospital" | "entity"}."""
    by_code = {u.code: u for u in units}
    out: dict[str, str] = {}
    for unit in units:
        current: UnitPlan | None = unit
        setting = "central"
        while current is not None and not current.is_central:
            if current.kind in _SETTING_OF_KIND:
                setting = _SETTING_OF_KIND[current.kind]
                break
            current = by_code.get(current.parent) if current.parent else None
        out[unit.code] = setting
    return out


def _person(employee_id: int, slot: Slot, person: Person, settings: dict[str, str]) -> DemoPerson:
    row = person.row
    return DemoPerson(
        employee_id=employee_id,
        role_code=slot.position.role_code,
        unit_code=slot.position.unit.code,
        setting=settings[slot.position.unit.code],
        procurement=slot.position.job_family == JobFamily.procurement,
        hire=row["hire_date"],
        left_on=person.history[-1][1] if row["status"] == EmployeeStatus.left else None,
        qualified=any(code in PROCUREMENT_CERT_CODES for code in person.qualifications),
        supervised=slot.supervisor is not None,
    )


def has_organisation(session: Session) -> bool:
    """Return True if the database already holds units or employees."""
    return bool(
        session.execute(select(exists().where(col(Employee.id).is_not(None)))).scalar()
        or session.execute(select(exists().where(col(Unit.id).is_not(None)))).scalar()
    )


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_and_map(session: Session, model, rows: list[dict], key: str) -> dict[str, int]:
    """Insert rows with one executemany and return {row[key]: new id}.

    The ids are read back by their unique key rather than with RETURNING: SQLite cannot promise
    RETURNING's order for a multi-row insert, and SQLAlchemy then falls back to a round trip
    per row, five times slower.
    """
    if not rows:
        return {}
    table = model.__table__
    session.execute(insert(table), rows)
    keys = [row[key] for row in rows]
    column = table.c[key]
    return dict(session.execute(select(column, table.c.id).where(column.in_(keys))).all())


# SQLite's page cache while the demo loads, in KiB (its default is 2 MiB). A transaction of
# millions of rows otherwise spills pages to the WAL and reads them back (for foreign-key
# checks, say) over and over; with this the process stays far below the 2 GiB budget.
DEMO_PAGE_CACHE_KIB = 256 * 1024


@contextmanager
def _large_page_cache(session: Session) -> Iterator[None]:
    """Give the session's SQLite connection a large page cache, and restore it afterwards."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{DEMO_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def generate(engine: Engine, *, employees: int = DEFAULT_EMPLOYEES, seed: int = 1) -> DemoSummary:
    """Create the synthetic organisation in an empty database and return what was created.

    All or nothing: one transaction. Refuses (DemoError) if units or employees already exist,
    since mixing invented people into a real organisation must never happen by accident.
    """
    if not 1 <= employees <= MAX_EMPLOYEES:
        raise DemoError(f"--employees must be between 1 and {MAX_EMPLOYEES}.")
    rng = random.Random(seed)
    plan = plan_staffing(rng, employees)
    people = People(rng, len(plan.slots))
    with Session(engine) as session:
        with _large_page_cache(session):
            if has_organisation(session):
                raise DemoError(
                    "The database already has an organisation (units or employees); the demo is "
                    "only created in an empty one. Use a fresh database (MERITO_DATABASE_URL)."
                )
            for code, name_es, name_en, is_procurement in QUALIFICATIONS:
                org_service.ensure_qualification(
                    session,
                    code=code,
                    name_es=name_es,
                    name_en=name_en,
                    is_procurement=is_procurement,
                )
            qualification_ids = dict(
                session.execute(select(Qualification.code, Qualification.id)).all()
            )

            unit_ids: dict[str, int] = {}
            for rank in sorted({u.rank for u in plan.units}):
                level = [u for u in plan.units if u.rank == rank]
                rows = [
                    {
                        "code": u.code,
                        "name": u.name,
                        "kind": u.kind.value,
                        "parent_id": unit_ids[u.parent] if u.parent else None,
                        "region": u.region,
                        "state": u.state,
                        "is_central": u.is_central,
                    }
                    for u in level
                ]
                unit_ids.update(_insert_and_map(session, Unit, rows, "code"))

            position_rows = [
                {
                    "code": p.code,
                    "title": p.title,
                    "job_family": p.job_family.value,
                    "grade": p.grade,
                    "unit_id": unit_ids[p.unit.code],
                    "role_code": p.role_code,
                    "planned_headcount": p.planned,
                }
                for p in plan.positions
            ]
            position_ids = _insert_and_map(session, Position, position_rows, "code")

            # Heads go in rank by rank, so every supervisor has an id before anyone reports to
            # them; staff (who report to heads) follow in batches.
            employee_ids: list[int] = []
            heads = [s for s in plan.slots if s.kind == "head"]
            batches = [
                [s for s in heads if s.position.unit.rank == rank]
                for rank in sorted({s.position.unit.rank for s in heads})
            ]
            batches += list(_chunks([s for s in plan.slots if s.kind != "head"], BATCH_SIZE))
            qualified = 0
            settings = _settings(plan.units)
            people_with_roles: list[DemoPerson] = []
            for batch in batches:
                if not batch:
                    continue
                persons = [people.make(slot) for slot in batch]
                for slot, person in zip(batch, persons, strict=True):
                    person.row["unit_id"] = unit_ids[slot.position.unit.code]
                    person.row["position_id"] = position_ids[slot.position.code]
                    if slot.supervisor is not None:
                        person.row["supervisor_id"] = employee_ids[slot.supervisor]
                rows = [p.row for p in persons]
                by_number = _insert_and_map(session, Employee, rows, "number")
                ids = [by_number[row["number"]] for row in rows]
                employee_ids.extend(ids)
                people_with_roles.extend(
                    _person(eid, slot, person, settings)
                    for eid, slot, person in zip(ids, batch, persons, strict=True)
                    if slot.position.role_code
                )
                links = [
                    {"employee_id": eid, "qualification_id": qualification_ids[code]}
                    for eid, person in zip(ids, persons, strict=True)
                    for code in person.qualifications
                ]
                qualified += len(links)
                changes = [
                    {
                        "employee_id": eid,
                        "status": status.value if hasattr(status, "value") else status,
                        "effective_on": day,
                        "recorded_at": at_noon(day),
                    }
                    for eid, person in zip(ids, persons, strict=True)
                    for status, day in person.history
                ]
                if links:
                    session.execute(insert(EmployeeQualification.__table__), links)
                session.execute(insert(EmployeeStatusChange.__table__), changes)

            # The domains' records about these people (the competency framework: their
            # ratings and campaigns), in this transaction, from their own streams of `seed`.
            counts: dict[str, int] = {}
            for written in plugins.call_hooks(
                "demo.people", session, people_with_roles, seed=seed, as_of=AS_OF
            ):
                for name, count in (written or {}).items():
                    counts[name] = counts.get(name, 0) + count
            summary = DemoSummary(
                units=len(plan.units),
                positions=len(plan.positions),
                employees=len(employee_ids),
                procurement_units=sum(1 for u in plan.units if u.kind == UnitKind.procurement_unit),
                qualifications=len(QUALIFICATIONS),
                seed=seed,
                counts=counts,
            )
            # One audit entry for the whole generation, not one per row: these people are invented,
            # no real person's record was decided, and the seed and counts are enough to reproduce
            # every row exactly. 100 000 entries would only lengthen the chain `audit verify` walks.
            audit.record(
                session,
                action="demo.generated",
                actor="merito demo",
                entity_type="organisation",
                entity_id="demo",
                after={
                    "seed": seed,
                    "as_of": AS_OF,
                    "units": summary.units,
                    "procurement_units": summary.procurement_units,
                    "positions": summary.positions,
                    "employees": summary.employees,
                    "qualification_links": qualified,
                    **counts,
                },
            )
        session.commit()
    return summary
