"""Benchmark `merito demo`: wall time and peak memory to generate the synthetic organisation.

    python -m bench.demo_generate --employees 100000
    python -m bench.demo_generate --employees 100000 --database-url postgresql://…/empty_db

Without --database-url it measures SQLite (a temporary file) and PostgreSQL (a throwaway
cluster, see bench/pg.py), one after the other in this process. The generation runs in-process,
as `merito demo` does; migrating the empty database is timed separately. Peak RSS is the
process's high-water mark (ru_maxrss), so the second backend's figure covers both runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(database_url: str, *, employees: int, seed: int) -> dict:
    """Migrate the empty database at `database_url`, generate the demo; return the figures."""
    from backend import demo
    from backend.db import make_engine
    from backend.migrate import upgrade

    engine = make_engine(database_url)
    try:
        started = time.perf_counter()
        upgrade(engine)
        migrated = time.perf_counter() - started
        rss_before = _peak_rss_mib()
        started = time.perf_counter()
        summary = demo.generate(engine, employees=employees, seed=seed)
        wall = time.perf_counter() - started
    finally:
        engine.dispose()
    return {
        "migrate_s": migrated,
        "wall_s": wall,
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": rss_before,
        "summary": summary,
    }


def _report(backend: str, figures: dict) -> None:
    summary = figures["summary"]
    print(
        f"{backend:<11} generate {figures['wall_s']:6.1f} s   "
        f"peak RSS {figures['peak_rss_mib']:6.0f} MiB (before: {figures['rss_before_mib']:.0f})   "
        f"{summary.employees / figures['wall_s']:8.0f} employees/s   "
        f"[{summary.units} units, {summary.procurement_units} procurement units, "
        f"{summary.positions} positions, {summary.employees} employees, "
        f"{summary.rating_entries} rating entries ({summary.people_rated} people rated); "
        f"migrate {figures['migrate_s']:.1f} s]",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url", help="an EMPTY database to use instead of SQLite + a throwaway cluster"
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="without --database-url: which backends to measure",
    )
    args = parser.parse_args()
    print(
        f"merito demo: {args.employees} employees, seed {args.seed}; "
        f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}",
        flush=True,
    )
    if args.database_url:
        backend = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
        _report(backend, measure(args.database_url, employees=args.employees, seed=args.seed))
        return
    with ExitStack() as stack:
        if args.backend in ("sqlite", "both"):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-bench-")))
            url = f"sqlite:///{folder / 'demo.db'}"
            _report("sqlite", measure(url, employees=args.employees, seed=args.seed))
        if args.backend in ("postgresql", "both"):
            from bench.pg import throwaway_cluster

            url = stack.enter_context(throwaway_cluster())
            _report("postgresql", measure(url, employees=args.employees, seed=args.seed))


if __name__ == "__main__":
    main()
