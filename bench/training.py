"""Benchmark: proposing training plans for everyone, and the training needs analysis.

    python -m bench.training [--employees 100000] [--backend both|sqlite|postgresql] [--runs 5]

For each backend (a SQLite file; PostgreSQL on a throwaway cluster with durable defaults, see
bench/pg.py):
1. builds the organisation with `backend.demo.generate(engine, employees=N, seed=1)`, one
   validated rating per employee × competency (random levels, bulk-inserted with the competency
   benchmark's helper), the seeded training catalogue and a budget for every unit;
2. times, in this process:
   - propose (first): `service.propose_plans` for the whole organisation with an empty gap cache
     (so it includes reading everyone's ratings), creating every plan and its items;
   - propose (again): the same with plans in place, again from an empty gap cache (only
     proposals that changed are rewritten: none here, the ratings did not move);
   - needs, cold: `service.needs_report` for the whole organisation with an empty gap cache;
   - needs, warm: the same with the gap matrices cached (the usual case: the cache is shared by
     the competency reports and refreshed incrementally after new ratings) and the report
     recomputed; median of --runs;
   - needs, cached: nothing changed since the last request, so the report comes from the
     per-process report cache (keyed on the data revisions, see backend/revisions.py).
Budgets: propose < 10 s, needs < 1 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(url: str, *, employees: int) -> dict:
    """Migrate and fill an empty database; return what was built and how long it took."""
    from sqlalchemy import func, insert, select
    from sqlmodel import Session

    from backend import demo
    from backend.clock import now as utcnow
    from backend.config import get_settings
    from backend.db import make_engine
    from backend.migrate import upgrade
    from backend.org.models import Employee, EmployeeStatus
    from bench.competency_heatmap import _insert_ratings
    from competency_framework import service as competency_service
    from competency_framework.training import service
    from competency_framework.training.models import TrainingBudget

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    summary = demo.generate(engine, employees=employees, seed=1)
    with Session(engine) as session:
        competency_ids = [c.id for c in competency_service.list_competencies(session)]
    rng = np.random.default_rng(1)
    entries = _insert_ratings(engine, url, summary.employees, competency_ids, 1, rng)
    with Session(engine) as session:
        activities = service.load_catalogue(session, settings=get_settings())
        year = service.plan_year(get_settings())
        now = utcnow()
        headcount = session.execute(
            select(Employee.unit_id, func.count())
            .where(Employee.status != EmployeeStatus.left)
            .group_by(Employee.unit_id)
        ).all()
        session.execute(
            insert(TrainingBudget.__table__),
            [
                {
                    "unit_id": u,
                    "year": year,
                    "amount": int(n) * 4000,
                    "updated_at": now,
                }
                for u, n in headcount
            ],
        )
        session.commit()
    if not url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {
        "employees": summary.employees,
        "units": summary.units,
        "rating_entries": entries,
        "activities": activities,
        "budgets": len(headcount),
        "build_s": time.perf_counter() - started,
    }


def measure(url: str, *, runs: int) -> dict:
    """Time proposals and the needs analysis on a built database."""
    from sqlmodel import Session

    from backend.config import get_settings
    from backend.db import make_engine
    from competency_framework import service as competency_service
    from competency_framework.training import service

    engine = make_engine(url)
    year = service.plan_year(get_settings())
    figures: dict = {}
    try:
        for label in ("propose_first", "propose_again"):
            competency_service.GAP_CACHE.clear()
            with Session(engine) as session:
                started = time.perf_counter()
                summary = service.propose_plans(session, year=year, actor=None)
                session.commit()
                figures[f"{label}_s"] = time.perf_counter() - started
            figures[f"{label}_summary"] = summary
        competency_service.GAP_CACHE.clear()
        with Session(engine) as session:
            started = time.perf_counter()
            report = service.needs_report(session, year=year)
            figures["needs_cold_s"] = time.perf_counter() - started
        warm, cached = [], []
        for _ in range(runs):
            # Warm: the gap matrices are cached, the report itself is recomputed (the first
            # request after any change to the catalogue, budgets or plans).
            competency_service.GAP_CACHE.clear_reports()
            with Session(engine) as session:
                started = time.perf_counter()
                report = service.needs_report(session, year=year)
                warm.append(time.perf_counter() - started)
            # Cached: nothing changed since, so the report comes from the cache.
            with Session(engine) as session:
                started = time.perf_counter()
                report = service.needs_report(session, year=year)
                cached.append(time.perf_counter() - started)
        figures["needs_warm_s"] = statistics.median(warm)
        figures["needs_warm_max_s"] = max(warm)
        figures["needs_cached_s"] = statistics.median(cached)
        figures["report"] = report
        figures["peak_rss_mib"] = _peak_rss_mib()
    finally:
        engine.dispose()
    return figures


def _print(backend: str, built: dict, figures: dict) -> None:
    first, again = figures["propose_first_summary"], figures["propose_again_summary"]
    report = figures["report"]
    print(f"\n{backend}: {built['employees']:,} employees, {built['units']} units, "
          f"{built['rating_entries']:,} ratings, {built['activities']} activities, "
          f"{built['budgets']} unit budgets (built in {built['build_s']:.0f} s)")  # fmt: skip
    print(
        f"  propose, first   {figures['propose_first_s']:6.2f} s  "
        f"({first.people:,} people, {first.plans_created:,} plans, {first.items:,} items, "
        f"{first.over_budget:,} left out for budget, {first.uncovered:,} uncovered)"
    )
    print(
        f"  propose, again   {figures['propose_again_s']:6.2f} s  "
        f"({again.items:,} proposals checked: {again.written:,} written, {again.removed:,} "
        f"removed, {again.plans_created} new plans)"
    )
    print(f"  needs, cold      {figures['needs_cold_s']:6.2f} s")
    warm, worst = figures["needs_warm_s"], figures["needs_warm_max_s"]
    print(
        f"  needs, warm      {warm:6.3f} s  (max {worst:.3f} s)"
        f"  [{len(report.activities)} activities, {report.critical_total:,} critical gaps, "
        f"{len(report.funded)} funded close {report.funded_share:.1%}]"
    )
    print(f"  needs, cached    {figures['needs_cached_s'] * 1000:6.1f} ms")
    print(f"  peak RSS         {figures['peak_rss_mib']:6.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.backend in ("sqlite", "both"):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-tr-")))
            url = f"sqlite:///{folder / 'bench.db'}"
            built = build(url, employees=args.employees)
            _print("SQLite", built, measure(url, runs=args.runs))
        if args.backend in ("postgresql", "both"):
            from bench.pg import throwaway_cluster

            url = stack.enter_context(throwaway_cluster())
            built = build(url, employees=args.employees)
            _print("PostgreSQL", built, measure(url, runs=args.runs))


if __name__ == "__main__":
    main()
