"""Benchmark: opening an appraisal cycle for 100 000 employees, and the calibration view.

    python -m bench.appraisals [--employees 100000] [--backend sqlite|postgresql|both]

For each backend (SQLite file; PostgreSQL on a throwaway cluster with durable defaults, see
bench/pg.py):
1. builds the demo organisation (`backend.demo.generate(engine, employees=N, seed=1)`) and records
   one priority of the organisation's plan through the service;
2. times `service.open_cycle` for the whole organisation, commit included (goal: < 30 s);
3. gives every appraisal a rating in force with one UPDATE (a plausible distribution, with one
   supervisor in seventeen rating leniently), as if the cycle had reached calibration;
4. times `service.calibration` for the whole organisation (best and median of 5), and the
   calibration page end to end through the app, signed in as an HR planner (goal: < 1 s);
5. for context: reminding the whole cycle, the cycle's live counters (`service.cycle_progress`)
   and its page, and the HR planner's start page (with the cycle-progress panel).

On PostgreSQL the database is ANALYZEd after the bulk load, as autovacuum would shortly do.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

# A throwaway account on a throwaway database: a fresh random password each run.
PASSWORD = secrets.token_urlsafe(24)


def _timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def _hr_principal(session, settings):
    from backend.auth import service as auth_service
    from backend.auth.models import AuthSession
    from backend.auth.permissions import Role, permissions_for
    from backend.auth.service import Principal
    from backend.clock import now as utcnow

    user = auth_service.create_user(
        session,
        settings,
        email="bench.hr@example.org",
        full_name="Bench HR",
        password=PASSWORD,
        roles=[Role.hr_planner],
        check_password=False,
    )
    session.commit()
    roles = frozenset({Role.hr_planner})
    return Principal(
        user=user,
        # Service calls only read the user and permissions; no session row is involved.
        session=AuthSession(
            token_hash="-",  # noqa: S106
            user_id=user.id,
            csrf_token="-",  # noqa: S106
            expires_at=utcnow(),
        ),
        roles=roles,
        permissions=permissions_for(roles),
    )


# Ratings in force for the calibration measurement: most people meet expectations; supervisors
# whose id is a multiple of 17 rate everyone 4 or 5 (the leniency the view must show).
_RATE_ALL = """
UPDATE appraisal SET final_rating = CASE
    WHEN appraiser_id % 17 = 0 THEN 4 + (id % 2)
    WHEN (id * 37) % 100 < 4 THEN 1
    WHEN (id * 37) % 100 < 18 THEN 2
    WHEN (id * 37) % 100 < 72 THEN 3
    WHEN (id * 37) % 100 < 93 THEN 4
    ELSE 5 END,
  supervisor_rating = NULL, stage = 'sign_off'
WHERE cycle_id = :cycle_id
"""


def run_backend(name: str, url: str, *, employees: int, data_dir: Path) -> dict:
    from fastapi.testclient import TestClient
    from sqlalchemy import text
    from sqlmodel import Session

    from assessments.appraisals import service
    from backend import demo
    from backend.app import create_app
    from backend.auth.service import anonymous_csrf_token
    from backend.config import Settings
    from backend.db import make_engine
    from backend.migrate import upgrade

    figures: dict = {"backend": name}
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    demo.generate(engine, employees=employees, seed=1)
    figures["demo_s"] = time.perf_counter() - started
    if name == "postgresql":
        # What autovacuum does shortly after a bulk load; without statistics the planner
        # guesses the employee table at a tenth of its size.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=data_dir,
        secret_key=secrets.token_urlsafe(48),
        fast_password_hashing=True,
        scheduler=False,
    )
    with Session(engine, expire_on_commit=False) as session:
        hr = _hr_principal(session, settings)
        service.add_priority(
            session, year=2026, title="Shorter lead times", target="Median under 90 days", actor=hr
        )
        session.commit()
        started = time.perf_counter()
        cycle = service.open_cycle(
            session,
            name="2026",
            period_start="2026-01-01",
            period_end="2026-12-31",
            plan_year=2026,
            unit_ids=[],
            role_codes_chosen=[],
            include_subunits=True,
            actor=hr,
        )
        session.commit()
        figures["open_cycle_s"] = time.perf_counter() - started
        figures["appraisals"] = cycle.appraisal_count
        started = time.perf_counter()
        reminded = service.remind(session, cycle=cycle, actor=hr)
        session.commit()
        figures["remind_s"] = time.perf_counter() - started
        figures["reminders"] = sum(reminded.values())
        session.execute(text(_RATE_ALL), {"cycle_id": cycle.id})
        session.commit()
        if name == "postgresql":
            session.execute(text("ANALYZE appraisal"))
            session.commit()
        cycle_id = cycle.id

    def calibrate():
        with Session(engine) as fresh:
            report = service.calibration(fresh, cycle=service.get_cycle(fresh, cycle_id))
            figures["supervisors"] = len(report.supervisors)
            figures["units"] = len(report.units)
            figures["flagged"] = len(report.flagged_supervisors)

    def progress():
        with Session(engine) as fresh:
            service.cycle_progress(fresh, service.get_cycle(fresh, cycle_id))

    figures["calibration_service_s"] = _timed(calibrate, 5)
    figures["progress_service_s"] = _timed(progress, 5)

    app = create_app(settings)
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        # The sign-in token is bound to the browser's pre-session cookie.
        client.cookies.set("merito_presession", "bench" * 8)
        token = anonymous_csrf_token(settings.resolved_secret_key(), binding="bench" * 8)
        response = client.post(
            "/login",
            data={"email": "bench.hr@example.org", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

        def page(path: str):
            def get():
                response = client.get(path)
                assert response.status_code == 200, response.status_code

            return get

        figures["calibration_page_s"] = _timed(page(f"/appraisals/calibration?cycle={cycle_id}"), 5)
        figures["cycle_page_s"] = _timed(page(f"/appraisals/cycles/{cycle_id}"), 5)
        figures["dashboard_s"] = _timed(page("/"), 5)
    app.state.engine.dispose()
    engine.dispose()
    return figures


def _report(f: dict) -> None:
    def ms(values: list[float]) -> str:
        return (
            f"best {min(values) * 1000:7.0f} ms, median {statistics.median(values) * 1000:7.0f} ms"
        )

    print(
        f"\n== {f['backend']} ({f['appraisals']:,} appraisals; demo built in {f['demo_s']:.1f} s)"
    )
    print(f"open cycle (whole organisation, commit included): {f['open_cycle_s']:8.2f} s")
    print(
        f"calibration service: {ms(f['calibration_service_s'])}   "
        f"[{f['supervisors']:,} supervisors, {f['units']} units, {f['flagged']} flagged]"
    )
    print(f"calibration page:    {ms(f['calibration_page_s'])}")
    print(f"cycle counters:      {ms(f['progress_service_s'])}")
    print(f"cycle page:          {ms(f['cycle_page_s'])}")
    print(f"HR start page:       {ms(f['dashboard_s'])}")
    print(f"remind everyone:     {f['remind_s']:8.2f} s ({f['reminders']:,} reminders recorded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for name in backends:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-bench-")))
            if name == "sqlite":
                url = f"sqlite:///{tmp / 'appraisals.db'}"
            else:
                from bench.pg import throwaway_cluster

                url = stack.enter_context(throwaway_cluster("merito_appraisals"))
            _report(run_backend(name, url, employees=args.employees, data_dir=tmp / "data"))


if __name__ == "__main__":
    main()
