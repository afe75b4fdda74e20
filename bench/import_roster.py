"""Benchmark: checking and importing a 100,000-row HRIS export through a mapping (issue #14).

    python -m bench.import_roster [--employees 100000] [--backend sqlite|postgresql|both]

Builds the synthetic organisation of bench/org_roster.py (about 250 units, 5 positions each),
then writes the roster the way Spanish Excel saves an HRIS export: Windows-1252, ";", CRLF,
dd/mm/yyyy, one full-name column ("María José Hernández de la Cruz"), unit names instead of
codes (delegations abbreviated "Deleg."), job titles instead of position codes, the
supervisor's number under its own header. Each measurement runs in a fresh process (so its peak
RSS, `ru_maxrss`, is its own), A B A B: pandas' plain `read_csv` of the same file, then
Mérito's check (read, map, split names, match units and positions by name, every rule), twice;
then the import (all new: employees, status history, audit entries, one transaction) and a
re-import where nothing changes. PostgreSQL runs on a throwaway local cluster (bench/pg.py).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HEADER = (
    "Núm. empleado;Nombre completo;Adscripción;Puesto;Jefe inmediato;Fecha de ingreso;"
    "Correo institucional;Estatus"
)
COLUMNS = {
    "Núm. empleado": "number",
    "Nombre completo": "full_name",
    "Adscripción": "unit_code",
    "Puesto": "position_code",
    "Jefe inmediato": "supervisor_number",
    "Fecha de ingreso": "hire_date",
    "Correo institucional": "email",
    "Estatus": "status",
}
GIVEN = ["Ana", "Luis", "María José", "José Ángel", "Lucía", "Jorge", "Rosa", "Iñaki", "Elena"]
SURNAMES = ["García", "Hernández", "López", "de la Cruz", "Núñez", "del Río", "Pérez", "Zúñiga"]


def hris_file(units: list[dict], titles: dict[int, list[str]], employees: int) -> bytes:
    """Return the export: one head per unit, everyone else reporting to their unit's head."""
    rng = random.Random(1)
    head_of: dict[int, str] = {}
    lines = [HEADER]
    for i in range(employees):
        unit = units[i] if i < len(units) else units[rng.randrange(len(units))]
        number = f"E{i:06}"
        if unit["id"] not in head_of:
            head_of[unit["id"]] = number
            supervisor = head_of.get(unit["parent_id"], "")
        else:
            supervisor = head_of[unit["id"]]
        hired = date(1995, 1, 1) + timedelta(days=rng.randrange(11000))
        name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
        lines.append(
            ";".join(
                [
                    number,
                    name,
                    unit["name"].replace("Delegación", "Deleg."),
                    rng.choice(titles[unit["id"]]),
                    supervisor,
                    hired.strftime("%d/%m/%Y"),
                    f"{number.lower()}@example.org",
                    "activo",
                ]
            )
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def prepare(url: str, employees: int, path: Path) -> None:
    from sqlmodel import Session, select

    import backend.models  # noqa: F401 - every table in the metadata
    from backend.db import make_engine
    from backend.migrate import upgrade
    from backend.org.models import Position, Unit
    from bench.org_roster import build_organisation

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        build_organisation(session)
        units = [
            {"id": u.id, "name": u.name, "parent_id": u.parent_id}
            for u in session.exec(select(Unit).order_by(Unit.id)).all()
        ]
        titles: dict[int, list[str]] = {}
        for unit_id, title in session.exec(select(Position.unit_id, Position.title)).all():
            titles.setdefault(unit_id, []).append(title)
    path.write_bytes(hris_file(units, titles, employees))
    engine.dispose()


def measure(phase: str, url: str, path: Path) -> dict:
    """Run one phase in this process; return its wall time, peak RSS and what it found."""
    if phase == "pandas":
        import pandas as pd

        started = time.perf_counter()
        frame = pd.read_csv(path, sep=";", encoding="cp1252")
        found = {"rows": len(frame)}
    else:
        from sqlmodel import Session

        import backend.models  # noqa: F401
        from backend.config import get_settings
        from backend.db import make_engine
        from backend.i18n import use_locale
        from backend.org.mapping import Mapping
        from backend.org.service import roster

        engine = make_engine(url)
        raw = path.read_bytes()
        mapping = Mapping(COLUMNS, "given_first")
        started = time.perf_counter()
        with use_locale("es"), Session(engine) as session:
            session.info["settings"] = get_settings()
            if phase == "check":
                check = roster.check_roster(session, raw, path.name, mapping=mapping)
            else:
                check = roster.import_roster(
                    session, raw, path.name, actor="bench", mapping=mapping,
                    accept_close_matches=True,
                )  # fmt: skip
                session.commit()
        found = {
            "rows": check.rows, "problems": len(check.problems), "new": check.to_create,
            "unchanged": check.unchanged, "close": len(check.close_matches),
            "imported": check.imported,
        }  # fmt: skip
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"phase": phase, "seconds": round(seconds, 2), "peak_mib": round(peak), **found}


def run_phase(phase: str, url: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.import_roster", "--phase", phase, "--url", url,
         "--file", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        raise SystemExit(f"{phase} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def bench(url: str, employees: int, folder: Path) -> list[dict]:
    path = folder / "nomina.csv"
    prepare(url, employees, path)
    print(f"file: {path.stat().st_size / 1e6:.1f} MB, {employees} rows", flush=True)
    results = []
    for phase in ("pandas", "check", "pandas", "check", "import", "pandas", "import"):
        results.append(run_phase(phase, url, path))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(measure(args.phase, args.url, Path(args.file))))
        return
    with tempfile.TemporaryDirectory(prefix="merito-bench-import-") as folder:
        if args.backend in ("sqlite", "both"):
            print("== SQLite", flush=True)
            bench(f"sqlite:///{folder}/bench.db", args.employees, Path(folder))
        if args.backend in ("postgresql", "both"):
            from bench.pg import throwaway_cluster

            print("== PostgreSQL", flush=True)
            with throwaway_cluster() as url:
                bench(url, args.employees, Path(folder))


if __name__ == "__main__":
    main()
