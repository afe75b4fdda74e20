"""Benchmark: the employee roster at 100,000 people — import, list pages, export.

    python -m bench.org_roster [--employees 100000] [--database-url URL]

Without --database-url it uses a fresh SQLite file in a temporary directory. It builds a
synthetic organisation (units in a tree, positions), then times:

  check (dry run) and import of a CSV creating every employee (supervisors are rows of the same
  file), a re-import where nothing changes, an import updating every employee, the employee
  list (first page, a deep page, a search, a unit with its sub-units) through the service and
  through the HTTP page, and CSV and XLSX exports of everyone.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import secrets
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

import backend.models  # noqa: F401 - every table in the metadata
from backend import audit
from backend.config import get_settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.org import service, spreadsheet
from backend.org.models import Employee, Unit
from backend.org.service import roster
from backend.web import Page

FIRST = ["Ana", "Luis", "María", "José", "Lucía", "Jorge", "Rosa", "Pedro", "Elena", "Raúl"]
LAST = ["García", "Hernández", "López", "Martínez", "González", "Pérez", "Sánchez", "Ramírez"]
STATES = ["Jalisco", "Nuevo León", "Puebla", "Veracruz", "Yucatán", "Sonora", "Oaxaca"]


@contextmanager
def timed(label: str, results: list[tuple[str, float]]):
    started = time.perf_counter()
    yield
    results.append((label, time.perf_counter() - started))
    print(f"{label:<58} {results[-1][1]:8.2f} s", flush=True)


def build_organisation(session: Session) -> tuple[list[Unit], dict[int, list[str]]]:
    """Return the units (about 250) and {unit_id: position codes} (about 5 per unit)."""
    root = service.create_unit(session, code="DG", name="Dirección General", kind="directorate")
    units = [root]
    for s in range(5):
        units.append(
            service.create_unit(
                session,
                code=f"SD{s}",
                name=f"Subdirección {s}",
                kind="sub_directorate",
                parent=root,
            )
        )
    for d in range(35):
        delegation = service.create_unit(
            session,
            code=f"DEL{d:02}",
            name=f"Delegación {d}",
            kind="delegation",
            parent=units[1 + d % 5],
            region=f"Región {d % 6}",
            state=STATES[d % len(STATES)],
        )
        units.append(delegation)
        for k, kind in enumerate(
            ["procurement_unit", "user_area", "user_area", "regional_hospital"]
        ):
            units.append(
                service.create_unit(
                    session,
                    code=f"DEL{d:02}-{k}",
                    name=f"Unidad {d}-{k}",
                    kind=kind,
                    parent=delegation,
                )
            )
    roles = sorted(service.role_codes())
    positions: dict[int, list[str]] = {}
    for unit in units:
        for p in range(5):
            code = f"P-{unit.code}-{p}"
            service.create_position(
                session,
                code=code,
                title=f"Puesto {p}",
                unit=unit,
                role_code=roles[p % len(roles)],
                planned_headcount=60,
            )
            positions.setdefault(unit.id, []).append(code)
    service.ensure_qualification(
        session, code="CERT", name_es="Certificación", name_en="Certification", is_procurement=True
    )
    session.commit()
    return units, positions


def roster_csv(units, positions, employees: int, seed: int, *, variant: int = 0) -> bytes:
    """Return a CSV of `employees` rows: one head per unit, everyone else reports to one."""
    rng = random.Random(seed)
    parent_of = {u.id: u.parent_id for u in units}
    head_of: dict[int, str] = {}
    lines = [",".join(spreadsheet.COLUMNS)]
    for i in range(employees):
        unit = units[i] if i < len(units) else units[rng.randrange(len(units))]
        number = f"E{i:06}"
        if unit.id not in head_of:
            head_of[unit.id] = number
            supervisor = head_of.get(parent_of[unit.id], "")
        else:
            supervisor = head_of[unit.id]
        hired = date(1995, 1, 1) + timedelta(days=rng.randrange(11000))
        born = hired - timedelta(days=rng.randrange(8000, 16000))
        status = "active" if variant == 0 else "on_leave"
        lines.append(
            ",".join(
                [
                    number,
                    rng.choice(FIRST),
                    f"{rng.choice(LAST)} {rng.choice(LAST)}",
                    f"{number.lower()}@example.org",
                    unit.code,
                    rng.choice(positions[unit.id]),
                    supervisor,
                    hired.isoformat(),
                    born.strftime("%d/%m/%Y"),
                    status,
                    "CERT" if rng.random() < 0.3 else "",
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(database_url: str, employees: int, seed: int) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    results: list[tuple[str, float]] = []
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    with Session(engine, expire_on_commit=False) as session:
        # The import dates status changes on the organisation's day (its time zone).
        session.info["settings"] = get_settings()
        with timed("build units and positions", results):
            units, positions = build_organisation(session)
        # Plain copies: imports expire the session's objects.
        units = [Unit(id=u.id, code=u.code, parent_id=u.parent_id, kind=u.kind) for u in units]
        print(f"  {len(units)} units, {sum(len(p) for p in positions.values())} positions")
        raw = roster_csv(units, positions, employees, seed)
        print(f"  CSV of {employees:,} rows: {len(raw) / 1e6:.1f} MB")

        with timed(f"check (dry run), {employees:,} new employees", results):
            check = roster.check_roster(session, raw, "roster.csv")
        session.rollback()
        assert check.ok and check.to_create == employees, check.problems[:5]
        with timed(f"import, {employees:,} new employees", results):
            check = roster.import_roster(session, raw, "roster.csv", actor="bench")
            session.commit()
        assert check.imported
        with timed("re-import of the same file (nothing changes)", results):
            check = roster.import_roster(session, raw, "roster.csv", actor="bench")
            session.commit()
        assert check.unchanged == employees
        changed = roster_csv(units, positions, employees, seed, variant=1)
        with timed(f"import updating every employee ({employees:,} status changes)", results):
            check = roster.import_roster(session, changed, "roster-2.csv", actor="bench")
            session.commit()
        assert check.to_update == employees
        total = session.exec(select(func.count()).select_from(Employee)).one()
        print(f"  employees in the database: {total:,}")

    with Session(engine) as session:
        delegation = session.exec(select(Unit).where(Unit.kind == "delegation")).first()

        def page_of(filters, page=1):
            rows, total = service.employees_page(session, filters, page=page, per_page=50)
            return Page(rows, total, page, 50)

        cases = [
            ("list: first page of everyone", service.EmployeeFilters(), 1),
            ("list: page 1,000 of everyone", service.EmployeeFilters(), 1000),
            ("list: search 'garcía lópez'", service.EmployeeFilters(q="García López"), 1),
            ("list: search by number", service.EmployeeFilters(q="E012345"), 1),
            (
                "list: a delegation with its sub-units",
                service.EmployeeFilters(unit_id=delegation.id),
                1,
            ),
            ("list: status on leave", service.EmployeeFilters(status="on_leave"), 1),
        ]
        for label, filters, page in cases:
            page_of(filters, page)  # warm the cache once
            started = time.perf_counter()
            for _ in range(5):
                found = page_of(filters, page)
            elapsed = (time.perf_counter() - started) / 5
            results.append((label, elapsed))
            print(f"{label:<58} {elapsed * 1000:8.1f} ms  ({found.total:,} matches)")

    with timed(f"CSV export of {employees:,} employees", results):
        size = sum(
            len(c)
            for c in roster.csv_export(
                engine, service.EmployeeFilters(), delimiter=",", language="en"
            )
        )
    print(f"  {size / 1e6:.1f} MB")
    with timed(f"XLSX export of {employees:,} employees", results):
        workbook = roster.xlsx_export(engine, service.EmployeeFilters(), language="en")
        workbook.seek(0, io.SEEK_END)
    print(f"  {workbook.tell() / 1e6:.1f} MB")
    workbook.close()

    _http_pages(engine, database_url, delegation.id)
    with Session(engine) as session:
        with timed("audit chain verification", results):
            outcome = audit.verify(session)
        print(f"  {outcome.checked:,} entries, intact: {outcome.ok}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")
    engine.dispose()


def _http_pages(engine, database_url: str, unit_id: int) -> None:
    """Time the employee list page through HTTP (session check, query, rendering)."""
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.auth import service as auth_service
    from backend.config import Settings

    password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            environment="test",
            database_url=database_url,
            data_dir=Path(data_dir),
            secret_key=secrets.token_urlsafe(40),
            fast_password_hashing=True,
        )
        with Session(engine) as session:
            auth_service.create_user(
                session,
                settings,
                email="bench@example.org",
                full_name="Bench",
                password=password,
                roles=["hr_planner"],
                check_password=False,
            )
            session.commit()
        app = create_app(settings)
        with TestClient(app) as client:
            # The sign-in token is bound to the browser's pre-session cookie.
            client.cookies.set("merito_presession", "bench" * 8)
            token = auth_service.anonymous_csrf_token(
                settings.resolved_secret_key(), binding="bench" * 8
            )
            client.post(
                "/login",
                data={
                    "email": "bench@example.org",
                    "password": password,
                    "csrf_token": token,
                },
            )
            for label, url in [
                ("page: /org/employees", "/org/employees"),
                ("page: /org/employees, page 1,000", "/org/employees?page=1000"),
                ("page: /org/employees?q=garcía", "/org/employees?q=garc%C3%ADa&filtered=1"),
                ("page: a delegation with sub-units", f"/org/employees?unit={unit_id}"),
                ("page: /org/units (tree with headcounts)", "/org/units"),
            ]:
                assert client.get(url).status_code == 200
                started = time.perf_counter()
                for _ in range(5):
                    client.get(url)
                elapsed = (time.perf_counter() - started) / 5
                print(f"{label:<58} {elapsed * 1000:8.1f} ms")
        app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.employees, args.seed)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.employees, args.seed)


if __name__ == "__main__":
    main()
