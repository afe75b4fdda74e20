"""Throughput of an authenticated dashboard against a trivial route, same server, same run.

    python -m bench.dashboard [--employees 600] [--workers 2] [--seconds 15] [--backend both]

Builds a demo organisation, signs in a demo account (the HR planner sees the heaviest
dashboard), starts uvicorn with N workers and loads it with wrk (Debian's `wrk`): 20 concurrent
connections on `/healthz` (the trivial route: one `SELECT 1`) and then on `/` with the session
cookie. Prints requests per second and p50/p95/p99 latency for both, and their ratio. The load
goes only to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlmodel import Session, select

BENCH_SECRET = secrets.token_urlsafe(32)
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def _prepare(database_url: str, data_dir: Path, employees: int) -> str:
    """Migrate, build the demo organisation, sign in the HR planner; return the cookie token."""
    from backend import demo
    from backend.auth import service as auth_service
    from backend.auth.models import User
    from backend.config import Settings
    from backend.db import make_engine
    from backend.migrate import upgrade

    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=BENCH_SECRET,
    )
    engine = make_engine(database_url)
    upgrade(engine)
    demo.generate(engine, employees=employees, seed=1)
    with Session(engine) as session:
        accounts = demo.create_demo_accounts(session, settings)
        session.commit()
        email = next(a.email for a in accounts if a.role == "hr_planner")
        user = session.exec(select(User).where(User.email == email)).one()
        token, _row = auth_service.start_session(session, settings, user=user)
        session.commit()
    engine.dispose()
    return token


def _serve(
    database_url: str, data_dir: Path, port: int, workers: int, tree: Path | None = None
) -> subprocess.Popen:
    """Start uvicorn on 127.0.0.1:`port`; `tree`: serve that copy of the code instead of this
    one (run from its folder, so Python imports the product from there)."""
    env = {
        **os.environ,
        "MERITO_DATABASE_URL": database_url,
        "MERITO_DATA_DIR": str(data_dir),
        "MERITO_SECRET_KEY": BENCH_SECRET,
        "MERITO_SCHEDULER": "false",
        "MERITO_SESSION_IDLE_MINUTES": "600",
    }
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tree,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not start")


def _wrk(
    url: str, seconds: int, connections: int, headers: list[str], script: Path
) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,  # noqa: S603
        check=True,
    ).stdout
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    requests, errors, duration_us, p50, p95, p99 = line.split()[1:]
    seconds_taken = int(duration_us) / 1e6
    return {
        "requests": int(requests),
        "errors": int(errors),
        "rps": int(requests) / seconds_taken,
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
    }


def run(backend: str, employees: int, workers: int, seconds: int) -> None:
    from bench.pg import throwaway_cluster
    from tests.conftest import free_port

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-bench-")))
        if backend == "sqlite":
            database_url = f"sqlite:///{tmp / 'merito.db'}"
        else:
            database_url = stack.enter_context(throwaway_cluster())
        token = _prepare(database_url, tmp, employees)
        port = free_port()
        server = _serve(database_url, tmp, port, workers)

        def stop_server() -> None:
            server.terminate()
            server.wait(timeout=30)

        stack.callback(stop_server)
        script = tmp / "report.lua"
        script.write_text(WRK_SCRIPT)
        base = f"http://127.0.0.1:{port}"
        cookie = [f"Cookie: merito_session={token}", "Accept-Language: es"]
        check = httpx.get(base + "/", headers={"Cookie": f"merito_session={token}"})
        assert check.status_code == 200 and "Organización" in check.text, check.status_code
        # Warm up both routes, then measure.
        _wrk(base + "/healthz", 2, 20, [], script)
        _wrk(base + "/", 2, 20, cookie, script)
        trivial = _wrk(base + "/healthz", seconds, 20, [], script)
        dashboard = _wrk(base + "/", seconds, 20, cookie, script)
        print(
            f"\n{backend}: {employees} employees, {workers} uvicorn workers, 20 connections, "
            f"{seconds} s each"
        )
        print(f"{'route':<12}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, result in (("/healthz", trivial), ("/ (dashboard)", dashboard)):
            print(
                f"{name:<12}{result['rps']:>9.0f}{result['p50']:>9.1f}{result['p95']:>9.1f}"
                f"{result['p99']:>9.1f}{result['errors']:>8}"
            )
        print(f"dashboard / trivial throughput: {dashboard['rps'] / trivial['rps']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, args.employees, args.workers, args.seconds)


if __name__ == "__main__":
    main()
