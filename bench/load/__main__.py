"""Mixed load test (issue #9): 100 people using Mérito at once, on PostgreSQL or SQLite.

    python -m bench.load --database postgresql|sqlite [--users 100] [--duration 300]
                         [--workers N] [--spawn-rate 10] [--employees 600]
                         [--p95-budget 40] [--host 127.0.0.1]
                         [--output figures.json|figures.csv]

In a fresh temporary directory: a throwaway PostgreSQL cluster (bench/pg.py, durable defaults)
or a SQLite file; `merito migrate`'s upgrade; the demo organisation of `merito demo` and the
load's own fixtures (bench/load/fixtures.py), all through the services. Then uvicorn with N
workers on 127.0.0.1 (a free port), the locust users of bench/load/locustfile.py for
`--duration` seconds (bench/load/drive.py, in a process of its own), and everything is stopped
and removed. Prints per request type the count, failures, 5xx, p50/p95/p99 and requests per
second, each type's p95 as a multiple of /healthz's p95 in the same run, and the totals;
`--output` also writes them (JSON, or CSV for a .csv name). Exits 1 if any request failed or
answered 5xx, a simulated user hit an error of its own, or a request type's p95 exceeded its
budget (`--p95-budget` times /healthz's p95; bench.load.P95_BUDGET by default).

Workers default to 2 on PostgreSQL and 1 on SQLite: SQLite admits one writer at a time, and
writers of different processes meet its busy handler instead of the in-process writer queue
(docs/architecture.md, "Data"). The load goes to loopback only and stops by itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.load import (
    BUDGET_MIN_COUNT,
    HEALTH_PROBE,
    P95_BUDGET,
    PERSON,
    WEIGHTS,
    budget_of,
    is_loopback,
    over_budget,
    p95_ratios,
)

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_SECONDS = 90


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _settings(database_url: str, data_dir: Path, secret: str):
    from backend.config import Settings

    # The production costs of password and receipt hashing: sign-ins and reports cost what
    # they cost in production. Only the demo data needs a non-production environment.
    return Settings(
        environment="development",
        database_url=database_url,
        data_dir=data_dir,
        secret_key=secret,
        fast_password_hashing=False,
        scheduler=False,
    )


def _serve(
    database_url: str, data_dir: Path, secret: str, host: str, port: int, workers: int, log: Path
) -> subprocess.Popen:
    """Start uvicorn as `merito serve` does (no access log, no Server header), and wait."""
    env = {
        **os.environ,
        "MERITO_ENVIRONMENT": "development",
        "MERITO_DATABASE_URL": database_url,
        "MERITO_DATA_DIR": str(data_dir),
        "MERITO_SECRET_KEY": secret,
        "MERITO_FAST_PASSWORD_HASHING": "false",
        # The simulated reporters are a deliberate flood of real reports: the channel's question
        # for floods (docs/reporting.md, "A channel nobody can jam") would stop the script.
        "MERITO_REPORT_SUBMISSIONS_PER_HOUR": "1000000",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.asgi:app",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--proxy-headers",
        "--no-access-log",
        "--no-server-header",
        # Idle connections stay open as long as behind nginx (keepalive_timeout 75 s), not
        # uvicorn's 5 s, which would race the pauses of the simulated people.
        "--timeout-keep-alive",
        "75",
        # As `merito serve` (backend.cli.SERVER_OPTIONS): derivations hold the event loop.
        "--timeout-worker-healthcheck",
        "30",
        # Info, not warning: the log then also says when uvicorn restarted a worker.
        "--log-level",
        "info",
    ]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    _stop(server)
    raise RuntimeError(f"uvicorn did not answer /healthz in {SERVER_START_SECONDS} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _drive(base: str, fixtures: Path, output: Path, args) -> dict:
    """Run the locust users in their own process; return the figures they wrote."""
    env = {**os.environ, "MERITO_LOAD_FIXTURES": str(fixtures)}
    command = [
        sys.executable,
        "-m",
        "bench.load.drive",
        "--host",
        base,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        str(args.duration),
        "--output",
        str(output),
    ]
    driver = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        # Locust stops itself after the duration; this only guards against a hang.
        driver.wait(timeout=args.duration + 180)
    except subprocess.TimeoutExpired:
        driver.kill()
        driver.wait()
        raise RuntimeError("the load generator did not stop by itself") from None
    if driver.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {driver.returncode})")
    return json.loads(output.read_text())


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def _server_errors(log: Path, limit: int = 120) -> str:
    """Return the tail of what the server logged (tracebacks of 5xx answers)."""
    lines = log.read_text(errors="replace").splitlines()
    return "\n".join(lines[-limit:])


def print_table(figures: dict) -> None:
    """Print the figures per request type, then the totals."""
    rows = figures["requests"]
    ratios = figures.get("p95_ratio_to_healthz", {})
    over = set(figures.get("over_budget", []))
    width = max([len("request type"), *(len(name) for name in rows)])
    header = (
        f"{'request type':<{width}} {'count':>7} {'fail':>5} {'5xx':>4} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'p95 ×hz':>8}"
    )
    print(header)
    print("-" * len(header))

    def line(name: str, row: dict) -> None:
        ratio = f"{ratios[name]:.1f}" if name in ratios else ""
        if name in over:
            ratio += " !"  # over its budget
        elif name in ratios and row["count"] < BUDGET_MIN_COUNT:
            ratio += " ~"  # too few requests to judge
        print(
            f"{name:<{width}} {row['count']:>7} {row['failures']:>5} {row['server_errors']:>4} "
            f"{row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} {row['p99_ms']:>8.0f} {row['rps']:>7.2f}"
            f" {ratio:>8}"
        )

    for name, row in rows.items():
        line(name, row)
    print("-" * len(header))
    line("all requests", figures["total"])


def write_output(path: Path, figures: dict) -> None:
    """Write the figures as JSON, or as CSV (one row per request type, then the totals)."""
    if path.suffix.lower() != ".csv":
        path.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
        return
    columns = ["count", "failures", "server_errors", "p50_ms", "p95_ms", "p99_ms", "rps"]
    ratios = figures.get("p95_ratio_to_healthz", {})
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["request_type", *columns, "p95_ratio_to_healthz"])
        for name, row in [*figures["requests"].items(), ("all requests", figures["total"])]:
            writer.writerow([name, *(row[c] for c in columns), ratios.get(name, "")])


def run(args) -> dict:
    """Build, serve, load, stop; return the figures (with the run's context)."""
    from backend.db import make_engine
    from bench.load.fixtures import accounts_needed, prepare
    from bench.pg import throwaway_cluster

    secret = secrets.token_urlsafe(32)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-load-")))
        if args.database == "sqlite":
            database_url = f"sqlite:///{tmp / 'merito.db'}"
        else:
            database_url = stack.enter_context(throwaway_cluster("merito_load"))
        data_dir = tmp / "data"
        settings = _settings(database_url, data_dir, secret)

        started = time.perf_counter()
        engine = make_engine(database_url)
        fixtures = prepare(
            engine,
            settings,
            employees=args.employees,
            accounts=accounts_needed(args.users, WEIGHTS),
            duration=args.duration,
        )
        engine.dispose()
        fixtures_path = tmp / "fixtures.json"
        fixtures.write(fixtures_path)
        setup_seconds = time.perf_counter() - started
        print(
            f"Setup in {setup_seconds:.0f} s: demo organisation of {fixtures.employees_in_demo} "
            f"employees, {fixtures.ratings} validated ratings; accounts for "
            f"{len(fixtures.employees)} employees, {len(fixtures.planners)} HR planners, "
            f"{len(fixtures.candidates)} candidates ({fixtures.competitions} open tests each), "
            f"{len(fixtures.investigators)} investigators ({fixtures.seeded_reports} reports "
            "waiting).",
            flush=True,
        )

        port = free_port(args.host)
        log = tmp / "server.log"
        server = _serve(database_url, data_dir, secret, args.host, port, args.workers, log)
        stack.callback(_stop, server)
        base = f"http://{args.host}:{port}"
        if ":" in args.host:
            base = f"http://[{args.host}]:{port}"
        load_before = os.getloadavg()
        print(
            f"Loading {base} ({args.database}, {args.workers} uvicorn worker(s)): {args.users} "
            f"users, {args.spawn_rate:g} new per second, for {args.duration} s; load average "
            f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
            flush=True,
        )
        # CPU time of finished children: the load generator once it exits, uvicorn (with its
        # workers, whose time it collects) once it is stopped. PostgreSQL runs detached.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = _drive(base, fixtures_path, tmp / "figures.json", args)
        load_after = os.getloadavg()
        driven = resource.getrusage(resource.RUSAGE_CHILDREN)
        _stop(server)
        served = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures["cpu_seconds"] = {
            "load_generator": round(_cpu(driven) - _cpu(before), 1),
            "uvicorn": round(_cpu(served) - _cpu(driven), 1),
        }
        failed = figures["total"]["failures"] or figures["total"]["server_errors"]
        figures["server_log_tail"] = _server_errors(log) if failed else ""
        server_log = log.read_text(errors="replace")
        figures["workers_restarted"] = server_log.count("died")
        if args.output:
            args.output.with_suffix(".server.log").write_text(server_log)
    figures.update(
        {
            "requests_by_person": {
                person: sum(
                    row["count"]
                    for name, row in figures["requests"].items()
                    if name.startswith(f"{person}: ")
                )
                for person in PERSON.values()
            },
            "p95_ratio_to_healthz": p95_ratios(figures["requests"]),
            "p95_budget": args.p95_budget,
            "over_budget": over_budget(figures["requests"], args.p95_budget),
            "database": args.database,
            "workers": args.workers,
            "employees": args.employees,
            "setup_seconds": round(setup_seconds, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "cpus": os.cpu_count(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--users", type=int, default=100, help="simulated people (default 100)")
    parser.add_argument("--duration", type=int, default=300, help="seconds of load (300)")
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn workers (2 on PostgreSQL, 1 on SQLite)"
    )
    parser.add_argument("--spawn-rate", type=float, default=10, help="people starting per second")
    parser.add_argument("--employees", type=int, default=600, help="demo organisation size")
    parser.add_argument(
        "--p95-budget",
        type=float,
        default=P95_BUDGET,
        help=f"largest p95 of a request type, as a multiple of /healthz's p95 ({P95_BUDGET:g}; "
        "twice that for the deliberately costly ones, bench.load.COSTLY)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to serve on")
    parser.add_argument("--output", type=Path, help="write the figures (JSON, or CSV for .csv)")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(
            f"--host {args.host} is not a loopback address: the load stays on this machine"
        )
    if args.workers is None:
        args.workers = 2 if args.database == "postgresql" else 1
    if args.users < 1 or args.duration < 1 or args.workers < 1 or args.spawn_rate <= 0:
        parser.error("--users, --duration, --workers and --spawn-rate must be positive")
    figures = run(args)
    print()
    print_table(figures)
    total = figures["total"]
    users = ", ".join(f"{count} {name}" for name, count in figures["users_by_class"].items())
    print(
        f"\n{total['count']} requests in {figures['elapsed_seconds']:.0f} s "
        f"({total['rps']:.1f} req/s) from {users}; {total['failures']} failed, "
        f"{total['server_errors']} answered 5xx, {len(figures['task_errors'])} user error(s). "
        f"Load average after: {' '.join(f'{x:.2f}' for x in figures['load_average_after'])}."
    )
    cpu = figures["cpu_seconds"]
    per_request = 1000 * cpu["uvicorn"] / max(1, total["count"])
    print(
        f"CPU time: uvicorn {cpu['uvicorn']:.0f} s ({per_request:.0f} ms per request), load "
        f"generator {cpu['load_generator']:.0f} s; PostgreSQL's is not counted."
    )
    if figures["workers_restarted"]:
        print(f"  uvicorn replaced {figures['workers_restarted']} worker(s) it found hung")
    idle = [person for person, count in figures["requests_by_person"].items() if not count]
    if idle:
        print(f"  No requests at all from: {', '.join(idle)}")
    if figures["over_budget"]:
        print(
            f"  OVER BUDGET (p95 as a multiple of /healthz's p95 of "
            f"{figures['requests'].get(HEALTH_PROBE[0], {}).get('p95_ms', 0):.0f} ms): "
            + ", ".join(
                f"{name} ({figures['p95_ratio_to_healthz'].get(name, '?')}× > "
                f"{budget_of(name, figures['p95_budget']):g}×)"
                for name in figures["over_budget"]
            )
        )
    for failure in figures["failure_messages"][:20]:
        print(f"  FAILED {failure['count']}× {failure['name']}: {failure['message']}")
    for error in figures["task_errors"][:10]:
        print(f"  USER ERROR {error['count']}×: {error['message']}\n{error['traceback']}")
    if figures["server_log_tail"]:
        print("\nServer log (tail):\n" + figures["server_log_tail"])
    if args.output:
        write_output(args.output, figures)
        print(f"\nFigures written to {args.output} (server log: .server.log beside it)")
    bad = (
        total["failures"]
        or total["server_errors"]
        or figures["task_errors"]
        or idle
        or figures["over_budget"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
