"""Benchmark: the organisation's competency heatmap at 100 000 employees.

    python -m bench.competency_heatmap [--employees 100000] [--entries 3] [--backend both]
        [--keep DIR | --reuse DIR] [--repeats 3] [--no-pages]

For each backend (SQLite file; PostgreSQL on a throwaway cluster, see bench/pg.py):
1. builds an organisation (units in 8 regions, positions following the role profiles) and a
   rating history of `--entries` validated entries per employee × competency, with bulk Core
   inserts (the log, and `current_rating` holding the newest of each);
2. in a fresh process (so peak memory is the heatmap's, not the fixture's) measures:
   - raw and cold, A B A B: *raw* is a plain DB-API cursor `fetchall()` of the columns of
     `current_rating` the heatmap needs (every row), *cold* is service.heatmap with every
     cache emptied; the ratio cold ÷ raw of each pair, and their medians;
   - fetch: reading everyone's current ratings into pandas (service.fetch_current_ratings);
   - compute: the heatmap from frames already in memory (gaps.cell_sums + rollup + totals);
   - end to end: service.heatmap with an empty cache (key, org, employees, ratings,
     requirements, computation, report) — and its ratio to the fetch, same run;
   - peak RSS of that process;
3. serves the app with uvicorn (2 worker processes) and, signed in as an HR planner through the
   real form with httpx, times the heatmap page: cold, the first request of a freshly started
   server (5 restarts); after a role profile change (through the API before each request: the
   population and requirements are re-read, the ratings carried over); after a new rating
   (only newer ratings are read); and cached (nothing changed).

`--keep DIR` builds the fixtures into DIR (the SQLite file and a PostgreSQL cluster's data
directory) and leaves them there; `--reuse DIR` measures what a `--keep` run left, without
building (the page timings write a few ratings and a profile change into it). `--no-pages`
skips the uvicorn timings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROLE_MIX = [  # (role code, share of people)
    ("procurement_officer", 0.30),
    ("technical_support", 0.18),
    ("administrative_support", 0.12),
    ("user_area_staff", 0.15),
    ("procurement_specialist", 0.10),
    ("market_research_analyst", 0.06),
    ("contract_manager", 0.06),
    ("head_of_unit", 0.03),
]
REGIONS = ["Centro", "Norte", "Noreste", "Noroeste", "Occidente", "Oriente", "Sur", "Sureste"]


# --- building the data ----------------------------------------------------------------------------


def build(url: str, *, employees: int, entries: int, seed: int = 1) -> dict:
    """Migrate an empty database and fill it; return a summary."""
    from sqlalchemy import insert
    from sqlmodel import Session

    from backend.db import make_engine
    from backend.migrate import upgrade
    from backend.org.models import Employee, Position, Unit
    from competency_framework import service

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(seed)
    with Session(engine) as session:
        competency_ids = [c.id for c in service.list_competencies(session)]
    units_per_region = max(2, employees // 3000)
    unit_rows, position_rows = [], []
    unit_id = position_id = 0
    for region in REGIONS:
        for index in range(units_per_region):
            unit_id += 1
            central = region == "Centro" and index < units_per_region // 2
            unit_rows.append(
                {
                    "id": unit_id,
                    "code": f"U{unit_id:04d}",
                    "name": f"{'Dirección' if central else 'Unidad'} {region} {index + 1}",
                    "kind": "directorate" if central else "procurement_unit",
                    "parent_id": None,
                    "region": region,
                    "state": region,
                    "is_central": central,
                }
            )
            for role, _share in ROLE_MIX:
                position_id += 1
                position_rows.append(
                    {
                        "id": position_id,
                        "code": f"P{position_id:05d}",
                        "title": role.replace("_", " ").title(),
                        "job_family": "user_area" if role == "user_area_staff" else "procurement",
                        "grade": "",
                        "unit_id": unit_id,
                        "role_code": role,
                        "planned_headcount": 0,
                    }
                )
    n_units = len(unit_rows)
    roles = rng.choice(len(ROLE_MIX), size=employees, p=[s for _r, s in ROLE_MIX])
    units = rng.integers(1, n_units + 1, size=employees)
    positions = (units - 1) * len(ROLE_MIX) + roles + 1
    counts = np.bincount(positions, minlength=position_id + 1)
    for row in position_rows:
        row["planned_headcount"] = int(counts[row["id"]] + rng.integers(0, 3))
    now = datetime.now(UTC)
    employee_rows = [
        {
            "id": i + 1,
            "number": f"E{i + 1:06d}",
            "first_name": "Nombre",
            "last_name": f"Apellido{i + 1}",
            "email": "",
            "unit_id": int(units[i]),
            "position_id": int(positions[i]),
            "supervisor_id": None,
            "hire_date": date(1990 + int(rng.integers(0, 34)), 1, 15),
            "birth_date": date(1960 + int(rng.integers(0, 40)), 6, 1),
            "status": "active",
            "updated_at": now,
        }
        for i in range(employees)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Unit.__table__), unit_rows)
        conn.execute(insert(Position.__table__), position_rows)
        for start in range(0, employees, 20_000):
            conn.execute(insert(Employee.__table__), employee_rows[start : start + 20_000])
    inserted = _insert_ratings(engine, url, employees, competency_ids, entries, rng)
    if not url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {
        "units": n_units,
        "positions": len(position_rows),
        "employees": employees,
        "rating_entries": inserted,
        "current_ratings": employees * len(competency_ids),
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def _insert_ratings(engine, url, employees, competency_ids, entries, rng) -> int:
    """Insert `entries` validated log entries per pair, and the newest into current_rating."""
    sqlite = url.startswith("sqlite")
    k = len(competency_ids)
    base = datetime.now(UTC) - timedelta(days=360)
    span_seconds = 355 * 86400
    total = 0
    entry_id = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for start in range(0, employees, 10_000):
            stop = min(employees, start + 10_000)
            people = np.arange(start + 1, stop + 1)
            n = len(people) * k
            emp = np.repeat(people, k)
            comp = np.tile(np.asarray(competency_ids), len(people))
            log_rows, current_rows = [], []
            offsets = np.sort(rng.integers(0, span_seconds, size=(entries, n)), axis=0)
            levels = rng.integers(0, 5, size=(entries, n))
            for e in range(entries):
                stamps = [base + timedelta(seconds=int(s)) for s in offsets[e]]
                for j in range(n):
                    entry_id += 1
                    at = stamps[j]
                    at_text = at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at.isoformat()
                    log_rows.append(
                        (
                            entry_id,
                            int(emp[j]),
                            int(comp[j]),
                            int(levels[e, j]),
                            "assessment",
                            True,
                            at_text,
                            "",
                            "",
                        )
                    )
                    if e == entries - 1:
                        current_rows.append(
                            (int(emp[j]), int(comp[j]), int(levels[e, j]), entry_id, "assessment",
                             at_text, 0)
                        )  # fmt: skip
            log_sql = (
                "INSERT INTO rating_entry (id, employee_id, competency_id, level, source, "
                "validated, recorded_at, note, evidence_url) VALUES "
            )
            current_sql = (
                "INSERT INTO current_rating (employee_id, competency_id, level, entry_id, source, "
                "rated_at, revision) VALUES "
            )
            if sqlite:
                cursor.executemany(log_sql + "(?,?,?,?,?,?,?,?,?)", log_rows)
                cursor.executemany(current_sql + "(?,?,?,?,?,?,?)", current_rows)
            else:
                columns = log_sql.split("(", 1)[1].split(")", 1)[0]
                with cursor.copy(f"COPY rating_entry ({columns}) FROM STDIN") as copy:
                    for row in log_rows:
                        copy.write_row(row)
                columns = current_sql.split("(", 1)[1].split(")", 1)[0]
                with cursor.copy(f"COPY current_rating ({columns}) FROM STDIN") as copy:
                    for row in current_rows:
                        copy.write_row(row)
            raw.commit()
            total += len(log_rows)
        if not sqlite:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('rating_entry', 'id'), "
                "(SELECT max(id) FROM rating_entry))"
            )
        cursor.execute("UPDATE competency_revision SET ratings = ratings + 1 WHERE id = 1")
        raw.commit()
    finally:
        raw.close()
    return total


# --- measuring in a fresh process ------------------------------------------------------------


RAW_QUERY = "SELECT employee_id, competency_id, level FROM current_rating"


def raw_fetch(engine) -> tuple[float, int]:
    """Time a plain DB-API `fetchall()` of the ratings the heatmap reads (the floor to beat)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.execute(RAW_QUERY)
        rows = cursor.fetchall()
        elapsed = time.perf_counter() - started
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    count = len(rows)
    del rows
    return elapsed, count


def cold_heatmap(engine) -> float:
    """Time service.heatmap with every cache emptied, in a new session (a worker's first)."""
    from sqlmodel import Session

    from competency_framework import service

    service.GAP_CACHE.clear()
    with Session(engine) as session:
        started = time.perf_counter()
        report = service.heatmap(session, group_by="region", details=True)
        elapsed = time.perf_counter() - started
        assert report.rows
    return elapsed


def measure(url: str, repeats: int = 3) -> dict:
    """Time raw vs cold (A B A B), fetch, compute; return the figures (run in its own process).

    First the process does what a server has done before its first report (imports the app,
    connects, loads the message catalogue and configures the ORM's mappers, as showing the
    sign-in page and signing in do); every cache the heatmap uses is cold in the first pair
    and emptied again before each of the others.
    """
    from sqlalchemy import text
    from sqlalchemy.orm import configure_mappers
    from sqlmodel import Session

    from backend import i18n
    from backend.db import make_engine
    from competency_framework import gaps, service

    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    i18n.gettext("Sign in")
    configure_mappers()
    raw, cold = [], []
    for _ in range(repeats):
        elapsed, rows = raw_fetch(engine)
        raw.append(elapsed)
        cold.append(cold_heatmap(engine))
    fetch, compute = [], []
    with Session(engine) as session:
        for _ in range(repeats):
            session.rollback()
            started = time.perf_counter()
            frame = service.fetch_current_ratings(session)
            fetch.append(time.perf_counter() - started)
            assert len(frame) == rows
            del frame

            org = service.load_org_frames(session)
            inputs, _employees = service.gap_inputs(session, org)
            started = time.perf_counter()
            cells = gaps.cell_sums(inputs)
            rolled = gaps.rollup(cells, org.units, group_by="region")
            gaps.totals_by_group(rolled)
            gaps.totals_by_group(gaps.rollup(cells, org.units, group_by="organisation"))
            compute.append(time.perf_counter() - started)
            del inputs, cells
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw_s, cold_s = statistics.median(raw), statistics.median(cold)
    return {
        "current_ratings": rows,
        "raw_runs_s": [round(v, 3) for v in raw],
        "cold_runs_s": [round(v, 3) for v in cold],
        "pair_ratios": [round(c / r, 2) for r, c in zip(raw, cold, strict=True)],
        "raw_s": round(raw_s, 3),
        "cold_s": round(cold_s, 3),
        "cold_ratio": round(cold_s / raw_s, 2),
        "fetch_s": round(statistics.median(fetch), 3),
        "compute_s": round(statistics.median(compute), 3),
        "fetch_ratio": round(statistics.median(fetch) / raw_s, 2),
        "end_to_end_ratio": round(cold_s / statistics.median(fetch), 2),
        "peak_rss_mib": round(peak),
    }


# --- the page under uvicorn ------------------------------------------------------------------


def _wait(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("uvicorn did not start")


def _signed_in_server(url: str, env: dict, email: str, password: str, workers: int):
    """Start uvicorn, sign in through the real form; return (server, client)."""
    import httpx

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        client = httpx.Client(base_url=base, timeout=120)
        login_page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
        response = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token, "next": "/x"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.status_code
    except BaseException:
        server.terminate()
        server.wait(timeout=30)
        raise
    return server, client


def page_timings(
    url: str,
    *,
    fresh: int = 5,
    full: int = 10,
    cold: int = 20,
    cached: int = 100,
    workers: int = 2,
) -> dict:
    """Serve the app and time the heatmap page cold and cached, as a signed-in HR planner."""
    from sqlmodel import Session

    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from backend.config import Settings
    from backend.db import make_engine

    data_dir = Path(tempfile.mkdtemp(prefix="merito-bench-data-"))
    env = {
        **os.environ,
        "MERITO_DATABASE_URL": url,
        "MERITO_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopq",
        "MERITO_DATA_DIR": str(data_dir),
        "MERITO_ENVIRONMENT": "development",
        "MERITO_FAST_PASSWORD_HASHING": "true",
        # Cold means cold: no worker computes the reports before the first request.
        "MERITO_WARM_CACHES": "false",
    }
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key=env["MERITO_SECRET_KEY"],
        fast_password_hashing=True,
    )
    engine = make_engine(url)
    password = "bench-password-correct-horse-42"  # noqa: S105 - a throwaway bench account
    with Session(engine) as session:
        email = f"planner{int(time.time())}@example.org"
        auth_service.create_user(
            session,
            settings,
            email=email,
            full_name="Bench Planner",
            password=password,
            roles=[Role.hr_planner],
            check_password=False,
        )
        session.commit()
    engine.dispose()

    # Cold: the first heatmap request of a freshly started server (nothing cached at all: the
    # whole organisation and every current rating are read), `fresh` times.
    fresh_times = []
    for _ in range(fresh):
        server, client = _signed_in_server(url, env, email, password, workers)
        try:
            started = time.perf_counter()
            assert client.get("/competencies/gaps").status_code == 200
            fresh_times.append(time.perf_counter() - started)
        finally:
            client.close()
            server.terminate()
            server.wait(timeout=30)

    server, client = _signed_in_server(url, env, email, password, workers)
    try:
        first = client.get("/competencies/gaps")
        assert first.status_code == 200
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', first.text).group(1)
        profile_id = client.get("/api/v1/competencies/profiles").json()[0]["id"]

        def timed_page() -> float:
            started = time.perf_counter()
            assert client.get("/competencies/gaps").status_code == 200
            return time.perf_counter() - started

        profile_times, rating_times, cached_times = [], [], []
        for i in range(full):
            # A profile change: population and requirements are re-read and everything is
            # recounted; the current ratings are carried over from the worker's copy.
            changed = client.put(
                f"/api/v1/competencies/profiles/{profile_id}",
                json={"requirements": {"legal": {"level": 2 + i % 2, "importance": "essential"}}},
                headers={"X-CSRF-Token": csrf},
            )
            assert changed.status_code == 200, changed.text
            profile_times.append(timed_page())
        for i in range(cold):
            # A new rating: the worker reads only the ratings written since.
            rated = client.post(
                f"/api/v1/competencies/people/{1 + i}/ratings",
                json={"competency": "legal", "level": i % 5, "source": "assessment"},
                headers={"X-CSRF-Token": csrf},
            )
            assert rated.status_code == 201, rated.text
            rating_times.append(timed_page())
        timed_page()
        for _ in range(cached):
            cached_times.append(timed_page())
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=30)

    def p(values, q):
        return round(float(np.percentile(values, q)), 3)

    return {
        "workers": workers,
        "fresh_p50_s": p(fresh_times, 50),
        "fresh_max_s": round(max(fresh_times), 3),
        "after_profile_p50_s": p(profile_times, 50),
        "after_profile_p95_s": p(profile_times, 95),
        "after_rating_p50_s": p(rating_times, 50),
        "after_rating_p95_s": p(rating_times, 95),
        "cached_p50_ms": round(p(cached_times, 50) * 1000, 1),
        "cached_p95_ms": round(p(cached_times, 95) * 1000, 1),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_backend(name: str, url: str, args, summary_file: Path | None = None) -> dict:
    if args.reuse:
        summary = json.loads(summary_file.read_text())
        print(f"[{name}] reusing {summary_file.parent}: {json.dumps(summary)}", flush=True)
    else:
        print(f"[{name}] building {args.employees} employees × {args.entries} entries…", flush=True)
        summary = build(url, employees=args.employees, entries=args.entries)
        print(f"[{name}] built: {json.dumps(summary)}", flush=True)
        if summary_file is not None:
            summary_file.write_text(json.dumps(summary))
    measured = subprocess.run(
        [sys.executable, "-m", "bench.competency_heatmap", "--measure", url,
         "--repeats", str(args.repeats)],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    figures = json.loads(measured.stdout.strip().splitlines()[-1])
    print(f"[{name}] heatmap: {json.dumps(figures)}", flush=True)
    pages = {} if args.no_pages else page_timings(url)
    if pages:
        print(f"[{name}] page: {json.dumps(pages)}", flush=True)
    return {"backend": name, **summary, **figures, **pages}


@contextmanager
def kept_cluster(root: Path, database: str) -> Iterator[str]:
    """Like bench.pg.throwaway_cluster, but the cluster lives in `root` and stays there.

    The first use creates it (initdb, createdb); later uses start it again on a free port.
    """
    from bench.pg import _free_port, _pg_bin

    initdb, pg_ctl, createdb = _pg_bin("initdb"), _pg_bin("pg_ctl"), _pg_bin("createdb")
    data, sockets = root / "data", root / "sock"
    fresh = not data.exists()
    sockets.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        os.chmod(root, 0o700)
    if fresh:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8"],
            check=True,
            capture_output=True,
        )  # fmt: skip
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        if fresh:
            subprocess.run(
                [*prefix, createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                 database],
                check=True,
                capture_output=True,
            )  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=3, help="raw/cold pairs, fetch, compute")
    parser.add_argument("--no-pages", action="store_true", help="skip the uvicorn page timings")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep", metavar="DIR", help="build the fixtures into DIR and keep them")
    kept.add_argument("--reuse", metavar="DIR", help="measure the fixtures a --keep run left")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, repeats=args.repeats)))
        return
    folder = Path(args.keep or args.reuse) if (args.keep or args.reuse) else None
    if args.keep:
        folder.mkdir(parents=True, exist_ok=True)
    results = []
    with ExitStack() as stack:
        if args.backend in ("sqlite", "both"):
            where = folder or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-hm-"))
            )
            url = f"sqlite:///{where / 'bench.db'}"
            results.append(run_backend("SQLite", url, args, where / "sqlite-summary.json"))
        if args.backend in ("postgresql", "both"):
            from bench.pg import throwaway_cluster

            if folder is None:
                url = stack.enter_context(throwaway_cluster("merito_heatmap"))
            else:
                url = stack.enter_context(kept_cluster(folder / "pg", "merito_heatmap"))
            summary = folder / "postgresql-summary.json" if folder else None
            results.append(run_backend("PostgreSQL", url, args, summary))
    _print_tables(results)


def _print_tables(results: list[dict]) -> None:
    print()
    print("| Backend | raw fetchall (A) | cold heatmap (B) | A B A B … pairs, cold ÷ raw "
          "| median cold ÷ raw |")  # fmt: skip
    print("| --- | ---: | ---: | --- | ---: |")
    for r in results:
        pairs = ", ".join(
            f"{a} / {b} s ({q})"
            for a, b, q in zip(r["raw_runs_s"], r["cold_runs_s"], r["pair_ratios"], strict=True)
        )
        print(f"| {r['backend']} | {r['raw_s']} s | {r['cold_s']} s | {pairs} | "
              f"**{r['cold_ratio']}** |")  # fmt: skip
    print()
    print("| Backend | fetch current ratings (÷ raw) | heatmap compute | end to end | "
          "end to end ÷ fetch | peak RSS |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['backend']} | {r['fetch_s']} s ({r['fetch_ratio']}) | {r['compute_s']} s | "
            f"{r['cold_s']} s | {r['end_to_end_ratio']} | {r['peak_rss_mib']} MiB |"
        )
    if not any("fresh_p50_s" in r for r in results):
        return
    print()
    print("| Backend | fresh server, first request p50 / max | after a profile change p50 / p95 "
          "| after a new rating p50 / p95 | nothing changed p50 / p95 |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['backend']} | {r['fresh_p50_s']} / {r['fresh_max_s']} s | "
            f"{r['after_profile_p50_s']} / {r['after_profile_p95_s']} s | "
            f"{r['after_rating_p50_s']} / {r['after_rating_p95_s']} s | "
            f"{r['cached_p50_ms']} / {r['cached_p95_ms']} ms |"
        )


if __name__ == "__main__":
    main()
