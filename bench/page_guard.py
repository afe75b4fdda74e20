"""The CI-sized page benchmark: what the server spends on each page, against /healthz.

    python -m bench.page_guard [--backend both] [--employees 40] [--seconds 0.2]
                               [--rounds 3] [--pages heatmap,inbox] [--runs 1] [--record]

Builds the demo (`merito demo`, as bench.pages does, small: 40 employees), opens a session for
each demo account of bench.pages.PAGES, serves it with one uvicorn worker on 127.0.0.1 and, for
every page, sends bursts at 20 concurrent keep-alive connections (client threads in this
process), `/healthz` and the page alternately (A B A B), `--rounds` times, `--seconds` each.

The measure is the **server's CPU time per request**, read from /proc around each burst (the
server process's threads, to the nanosecond; the process's utime + stime when a thread ended
in between): the page's ratio is /healthz's CPU per request ÷ the page's, the throughput ratio a
CPU-bound server would show, without the client's share of the 2 cores or other processes'.
GIL hand-offs and kernel time among the 20 connections count, since they are the server's.
The database server's own CPU (PostgreSQL's backends) is not counted. The ratio of a page is the
median of its rounds; the throughput ratio (page req/s ÷ /healthz req/s) is reported too, for
information only: it moves with how the OS shares the cores.

The check: a page whose ratio falls below half the ratio recorded in bench/page_ratios.json for
its database fails, named with its recorded and measured ratios (exit code 1); so does a page
that answered anything but 200 or has no recorded ratio. `--runs N` measures N times on the
same server, checks every run and prints each page's spread (min / median / max). `--record`
instead writes the median of `--runs` runs (3 unless given) into the JSON (the backends run;
the others' entries are kept). Re-record after a change that makes pages cheaper, or the check
only catches a page falling back below half its old cost. The suite runs
the check on both databases: tests/integration/test_page_guard.py (docs/load-testing.md). The
load goes only to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.dashboard import BENCH_SECRET
from bench.pages import PAGES, build_demo, open_sessions

CONNECTIONS = 20
ROOT = Path(__file__).resolve().parents[1]
RATIOS = ROOT / "bench" / "page_ratios.json"
EMPLOYEES = 40
SECONDS = 0.2
ROUNDS = 3
FLOOR = 0.5  # a page fails below this fraction of its recorded ratio
HEALTHZ = "/healthz"


# --- the server's CPU time --------------------------------------------------------------------


@dataclass(frozen=True)
class CpuReading:
    threads: dict[int, int]  # thread id → nanoseconds on a CPU (/proc/PID/task/TID/schedstat)
    ticks: float  # the process's utime + stime in seconds (includes threads that ended)


def read_cpu(pid: int) -> CpuReading:
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            threads[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # the thread ended while we looked
            continue
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return CpuReading(threads, ticks)


def cpu_between(before: CpuReading, after: CpuReading) -> float:
    """Seconds of CPU the process used between two readings.

    The threads' own clocks, to the nanosecond; but a thread that ended in between took its
    time with it, and then the process's utime + stime (in ticks of 10 ms, threads that ended
    included) is the answer.
    """
    coarse = after.ticks - before.ticks
    if not before.threads or not set(before.threads) <= set(after.threads):
        return coarse
    exact = sum(ns - before.threads.get(tid, 0) for tid, ns in after.threads.items()) / 1e9
    tick = 1 / os.sysconf("SC_CLK_TCK")
    return coarse if coarse > exact + 2 * tick else exact  # a thread came and went


def wait_idle(pid: int, timeout: float = 30.0) -> None:
    """Wait until the server stops working on its own (the start-up warm-up of caches)."""
    deadline = time.monotonic() + timeout
    previous = read_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        current = read_cpu(pid)
        if cpu_between(previous, current) < 0.01:
            return
        previous = current


# --- bursts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    requests: int  # answers of any status
    ok: int  # answers 200
    errors: int  # answers other than 200, and failed connections
    seconds: float
    cpu: float  # server CPU seconds

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.requests if self.requests else float("inf")


def connections(url: str) -> list[http.client.HTTPConnection]:
    """CONNECTIONS keep-alive connections to the server, opened once and reused by every burst."""
    host, port = url.removeprefix("http://").split(":")
    pool = [http.client.HTTPConnection(host, int(port), timeout=30) for _ in range(CONNECTIONS)]
    for connection in pool:
        connection.connect()
    return pool


def burst(pool: list, pid: int, path: str, cookie: str, seconds: float) -> Burst:
    """Load `path` on every connection of `pool` for `seconds`; the server's CPU around it."""
    headers = {"Cookie": f"merito_session={cookie}"} if cookie else {}
    answers = [0] * len(pool)
    ok = [0] * len(pool)
    errors = [0] * len(pool)
    start = threading.Barrier(len(pool) + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        connection = pool[index]
        start.wait()
        while time.monotonic() < deadline[0]:
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                answers[index] += 1
                ok[index] += response.status == 200
                errors[index] += response.status != 200
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()  # http.client opens it again on the next request

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(pool))]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    before = read_cpu(pid)
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    cpu = cpu_between(before, read_cpu(pid))
    return Burst(sum(answers), sum(ok), sum(errors), elapsed, cpu)


def measure_page(pool: list, pid: int, path: str, cookie: str, seconds: float, rounds: int) -> dict:
    """One page against /healthz, A B A B: the median ratios and the figures behind them.

    `measure` has asked for the page once: its first queries and caches are warm.
    """
    trivial, page = [], []
    for _ in range(rounds):
        trivial.append(burst(pool, pid, HEALTHZ, "", seconds))
        page.append(burst(pool, pid, path, cookie, seconds))
    pairs = list(zip(trivial, page, strict=True))
    return {
        "ratio": round(
            statistics.median(t.cpu_per_request / p.cpu_per_request for t, p in pairs), 4
        ),
        "throughput_ratio": round(
            statistics.median(p.rps / t.rps if t.rps else 0.0 for t, p in pairs), 4
        ),
        "cpu_ms": round(statistics.median(p.cpu_per_request for p in page) * 1000, 2),
        "healthz_cpu_ms": round(statistics.median(t.cpu_per_request for t in trivial) * 1000, 2),
        "rps": round(statistics.median(p.rps for p in page), 1),
        "healthz_rps": round(statistics.median(t.rps for t in trivial), 1),
        "errors": sum(p.errors for p in page) + sum(t.errors for t in trivial),
    }


def measure(
    url: str,
    pid: int,
    cookies: dict[str, str],
    seconds: float,
    rounds: int,
    paths: dict[str, str] | None = None,
) -> dict:
    """Return page → figures, for each page of `cookies` (page name → its session cookie).

    `paths` replaces a page's path (the proof that the check fails, which loads a page four
    times as costly at another address of the same server).
    """
    figures = {}
    pool = connections(url)
    for name, cookie in cookies.items():
        path = (paths or {}).get(name, PAGES[name][1])
        answer = httpx.get(url + path, headers={"Cookie": f"merito_session={cookie}"}, timeout=30)
        if answer.status_code != 200:
            figures[name] = {"ratio": 0.0, "errors": 1, "status": answer.status_code}
            continue
        figures[name] = measure_page(pool, pid, path, cookie, seconds, rounds)
    for connection in pool:
        connection.close()
    return figures


# --- the check --------------------------------------------------------------------------------


def regressions(figures: dict, recorded: dict[str, float]) -> list[str]:
    """What fails: every page below half its recorded ratio, that answered an error, or new."""
    problems = []
    for name, figure in figures.items():
        if figure.get("errors"):
            status = figure.get("status")
            what = f"answered {status}" if status else f"{figure['errors']} failed requests"
            problems.append(f"{name}: {what}")
        elif name not in recorded:
            problems.append(f"{name}: no recorded ratio (python -m bench.page_guard --record)")
        elif figure["ratio"] < FLOOR * recorded[name]:
            problems.append(
                f"{name}: ratio {figure['ratio']:.4f} < half the recorded {recorded[name]:.4f} "
                f"(server CPU per request {figure['cpu_ms']} ms, /healthz "
                f"{figure['healthz_cpu_ms']} ms)"
            )
    return problems


def recorded_ratios(backend: str, path: Path = RATIOS) -> dict[str, float]:
    return json.loads(path.read_text()).get(backend, {})


def record(backend: str, runs: list[dict], path: Path = RATIOS) -> dict[str, float]:
    """Write each page's median ratio over `runs` for `backend`; keep the other backends'."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data[backend] = {
        name: round(statistics.median(run[name]["ratio"] for run in runs), 4)
        for name in sorted(runs[0])
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data[backend]


# --- the demo and its server ------------------------------------------------------------------


def demo_cookies(
    database_url: str, data_dir: Path, employees: int, names: list[str], migrated: bool = False
) -> dict:
    """Build the demo on a fresh database and return page name → a signed-in session cookie.

    `migrated`: the database is already migrated (the test suite's template), so only
    `merito demo` runs, as bench.pages.build_demo runs it.
    """
    if migrated:  # in this process: the test process has imported the application already
        from typer.testing import CliRunner

        from backend.cli import app
        from backend.config import get_settings

        env = {
            "MERITO_DATABASE_URL": database_url,
            "MERITO_DATA_DIR": str(data_dir),
            "MERITO_SECRET_KEY": BENCH_SECRET,
            "MERITO_FAST_PASSWORD_HASHING": "true",
            "MERITO_ENVIRONMENT": "development",
        }
        get_settings.cache_clear()  # the settings of `env`, then of the process again
        try:
            result = CliRunner().invoke(app, ["demo", "--employees", str(employees)], env=env)
        finally:
            get_settings.cache_clear()
        if result.exit_code != 0:
            raise RuntimeError(f"merito demo failed: {result.output}") from result.exception
    else:
        build_demo(database_url, data_dir, employees)
    tokens = open_sessions(database_url, data_dir, {PAGES[name][0] for name in names})
    return {name: tokens[PAGES[name][0]] for name in names}


REAL_APP = ("backend.asgi:app", {})


@contextmanager
def servers(
    database_url: str, data_dir: Path, apps: list[tuple[str, dict]]
) -> Iterator[list[tuple[str, int]]]:
    """Run one uvicorn per (app, environment), one worker each, started side by side.

    One worker is one process, so its pid is the server's. Yields [(url, pid)], once every
    server answers /healthz and has finished its start-up work (the warm-up of caches).
    """
    from tests.conftest import free_port

    running = []
    try:
        for app, env in apps:
            port = free_port()
            environment = {
                **os.environ,
                "MERITO_DATABASE_URL": database_url,
                "MERITO_DATA_DIR": str(data_dir),
                "MERITO_SECRET_KEY": BENCH_SECRET,
                "MERITO_SCHEDULER": "false",
                "MERITO_SESSION_IDLE_MINUTES": "600",
                **env,
            }
            command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1"]
            command += ["--port", str(port), "--workers", "1", "--no-access-log"]
            command += ["--log-level", "warning"]
            process = subprocess.Popen(command, env=environment, cwd=ROOT)  # noqa: S603
            running.append((process, f"http://127.0.0.1:{port}"))
        for process, url in running:
            _wait_ready(process, url)
        yield [(url, process.pid) for process, url in running]
    finally:
        for process, _url in running:
            process.terminate()
        for process, _url in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + HEALTHZ, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the server at {url} did not start")
        time.sleep(0.2)
    wait_idle(process.pid)


# --- the command ------------------------------------------------------------------------------


def print_figures(figures: dict, recorded: dict[str, float]) -> None:
    print(
        f"{'page':<24}{'ratio':>7}{'recorded':>9}{'CPU ms':>8}{'hz ms':>7}"
        f"{'req/s':>7}{'hz req/s':>9}{'tput ratio':>11}{'errors':>7}"
    )
    for name, f in figures.items():
        if "cpu_ms" not in f:
            print(f"{name:<24} answered {f.get('status')}")
            continue
        print(
            f"{name:<24}{f['ratio']:>7.3f}{recorded.get(name, 0):>9.3f}{f['cpu_ms']:>8.2f}"
            f"{f['healthz_cpu_ms']:>7.2f}{f['rps']:>7.0f}{f['healthz_rps']:>9.0f}"
            f"{f['throughput_ratio']:>11.3f}{f['errors']:>7}",
            flush=True,
        )


def print_spread(backend: str, runs: list[dict], recorded: dict[str, float]) -> None:
    """Each page's ratio over the runs (min / median / max), the throughput ratio's beside."""
    print(f"\n{backend}: {len(runs)} runs, ratio min / median / max (lowest ÷ recorded)")
    for name in runs[0]:
        cpu = [run[name]["ratio"] for run in runs]
        tput = [run[name].get("throughput_ratio", 0.0) for run in runs]
        lowest = f"{min(cpu) / recorded[name]:.2f}" if recorded.get(name) else "-"
        print(
            f"{name:<24}{min(cpu):.3f} / {statistics.median(cpu):.3f} / {max(cpu):.3f}  "
            f"({lowest})   throughput ratio {min(tput):.3f} / {statistics.median(tput):.3f} / "
            f"{max(tput):.3f}",
            flush=True,
        )


def run(backend: str, args: argparse.Namespace) -> list[str]:
    """Measure one database `--runs` times on one server; return what fails (or record)."""
    from tests.conftest import _admin_engine, _start_cluster

    names = args.pages.split(",")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-guard-")))
        if backend == "sqlite":
            database_url = f"sqlite:///{tmp / 'merito.db'}"
        else:  # a throwaway cluster with the test suite's settings
            cluster = _start_cluster()
            stack.callback(cluster.stop)
            admin = _admin_engine(cluster.base_url)
            with admin.connect() as connection:
                connection.exec_driver_sql('CREATE DATABASE "merito_guard"')
            admin.dispose()
            database_url = cluster.base_url + "merito_guard"
        cookies = demo_cookies(database_url, tmp, args.employees, names)
        [(url, pid)] = stack.enter_context(servers(database_url, tmp, [REAL_APP]))
        recorded = recorded_ratios(backend)
        runs = []
        for number in range(args.runs):
            print(f"\n{backend}: {args.employees} employees, run {number + 1}", flush=True)
            runs.append(measure(url, pid, cookies, args.seconds, args.rounds))
            print_figures(runs[-1], recorded)
    if len(runs) > 1:
        print_spread(backend, runs, recorded)
    if args.record:
        failed = sorted({name for run in runs for name, f in run.items() if "cpu_ms" not in f})
        if failed:
            return [f"{name}: not recorded, it answered an error" for name in failed]
        print(f"recorded for {backend}: {record(backend, runs)}")
        return []
    return [f"run {n + 1} {p}" for n, run in enumerate(runs) for p in regressions(run, recorded)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--employees", type=int, default=EMPLOYEES)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--record", action="store_true", help="write bench/page_ratios.json")
    parser.add_argument(
        "--runs", type=int, default=1, help="runs on the same server (--record: 3, the median)"
    )
    args = parser.parse_args()
    if args.record and args.runs == 1:
        args.runs = 3
    if not Path("/proc/self/stat").exists():
        sys.exit("the server's CPU time is read from /proc: Linux only")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    problems = [f"{backend} {p}" for backend in backends for p in run(backend, args)]
    for problem in problems:
        print(f"REGRESSION {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
