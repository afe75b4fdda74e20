"""Every role's landing page and daily pages against /healthz, same server, A B A B.

    python -m bench.pages [--employees 600] [--seconds 4] [--backend both] [--threads N]
                          [--pages employee-dashboard,heatmap] [--rounds 2]
                          [--compare-threads 4,40 | --compare-tree DIR]

Builds the demo (`merito demo`, the same data as `merito up`), opens a session for each demo
account it needs, starts uvicorn with one worker on 127.0.0.1 and loads it with wrk (Debian's
`wrk`): for each page and each of `--rounds` rounds, /healthz and the page at 20 connections,
then the page at 1 connection (A B C A B C). Prints req/s, p95 and the ratio to /healthz
(the mean of the rounds), 20 connections' req/s over one's, round by round ("20/1", at
least 1: no collapse), and the server's own CPU per request (from /proc, whatever else the
machine runs) at 20 and at one connection, with /healthz's CPU per request over the page's
("cpu ratio"). `--threads`
sets MERITO_REQUEST_THREADS for the server (default: the app's default). `--compare-threads`
serves the same database from one server per thread bound, `--compare-tree DIR` from another
copy of the code (A, e.g. `git archive <rev> | tar -x -C DIR`; it must use the same migrations)
and this tree (B), and alternates between them (A B A B). The load goes only to 127.0.0.1 and
stops by itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.dashboard import BENCH_SECRET, WRK_SCRIPT, _serve, _wrk

# name → (demo account, path). Every role's landing page and the pages used every day.
PAGES: dict[str, tuple[str, str]] = {
    "hr-dashboard": ("hr_planner", "/"),
    "heatmap": ("hr_planner", "/competencies/gaps"),
    "employee-dashboard": ("employee", "/"),
    "self-assessment": ("employee", "/competencies/me/assessment"),
    "appraisal": ("employee", "/appraisals"),
    "supervisor-dashboard": ("supervisor", "/"),
    "investigator-dashboard": ("investigator", "/"),
    "inbox": ("investigator", "/cases"),
    "candidate-dashboard": ("candidate", "/"),
    "vacancy-board": ("candidate", "/vacancies"),
}


def build_demo(database_url: str, data_dir: Path, employees: int) -> None:
    """Build the demo with the CLI, as `merito up` does."""
    env = {
        **os.environ,
        "MERITO_DATABASE_URL": database_url,
        "MERITO_DATA_DIR": str(data_dir),
        "MERITO_SECRET_KEY": BENCH_SECRET,
        "MERITO_FAST_PASSWORD_HASHING": "true",
        "MERITO_ENVIRONMENT": "development",
    }
    for command in (["migrate"], ["demo", "--employees", str(employees)]):
        subprocess.run(  # noqa: S603 - fixed argument list
            [sys.executable, "-m", "backend.cli", *command],
            env=env,
            check=True,
            capture_output=True,
        )


def open_sessions(database_url: str, data_dir: Path, accounts: set[str]) -> dict[str, str]:
    """Return account → session cookie token (second factor marked done, as after the code)."""
    from sqlmodel import Session, select

    from backend import demo
    from backend.auth import service as auth_service
    from backend.auth.models import User
    from backend.config import Settings
    from backend.db import make_engine

    settings = Settings(database_url=database_url, data_dir=data_dir, secret_key=BENCH_SECRET)
    engine = make_engine(database_url)
    tokens: dict[str, str] = {}
    with Session(engine) as session:
        for account in sorted(accounts):
            email = demo.demo_email(account)
            user = session.exec(select(User).where(User.email == email)).one()
            token, row = auth_service.start_session(session, settings, user=user)
            row.pending_second_factor = False
            tokens[account] = token
        session.commit()
    engine.dispose()
    return tokens


def server_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process `pid` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    pid: int, url: str, seconds: int, connections: int, headers: list[str], script: Path
) -> dict[str, float]:
    """wrk's figures for one run, plus the server's own CPU per request in ms (`cpu`): what
    the server spent, whatever else the machine was doing (the client included)."""
    before = server_cpu(pid)
    figures = _wrk(url, seconds, connections, headers, script)
    figures["cpu"] = (server_cpu(pid) - before) * 1000 / max(1, figures["requests"])
    return figures


def measure(
    pid: int, base: str, path: str, token: str, seconds: int, rounds: int, script: Path
) -> dict:
    """Return the page's and /healthz's figures, A B A B, and the page at one connection.

    Every round loads /healthz and the page at 20 connections, then the page at one, so the
    one-connection figure is taken in the same minutes as the others (a machine whose speed
    drifts during the run would otherwise favour whichever was measured last)."""
    headers = [f"Cookie: merito_session={token}", "Accept-Language: es"]
    check = httpx.get(base + path, headers={"Cookie": f"merito_session={token}"}, timeout=30)
    if check.status_code != 200:
        raise RuntimeError(f"{path}: {check.status_code}")
    _wrk(base + path, 1, 20, headers, script)  # warm up
    trivial, page, single = [], [], []
    for _ in range(rounds):
        trivial.append(load(pid, base + "/healthz", seconds, 20, [], script))
        page.append(load(pid, base + path, seconds, 20, headers, script))
        single.append(load(pid, base + path, seconds, 1, headers, script))
    pairs = list(zip(page, trivial, strict=True))
    return {
        "healthz": sum(t["rps"] for t in trivial) / rounds,
        "rps": sum(p["rps"] for p in page) / rounds,
        "p95": max(p["p95"] for p in page),
        "errors": sum(p["errors"] for p in page),
        "ratio": sum(p["rps"] / t["rps"] for p, t in pairs) / rounds,
        "one": sum(s["rps"] for s in single) / rounds,
        # 20 connections over one, round by round (no collapse: at least 1).
        "twenty_over_one": sum(p["rps"] / s["rps"] for p, s in zip(page, single, strict=True))
        / rounds,
        # CPU per request: the page's at 20 and at 1 connection, and /healthz's over the page's.
        "cpu": sum(p["cpu"] for p in page) / rounds,
        "cpu_one": sum(s["cpu"] for s in single) / rounds,
        "cpu_ratio": sum(t["cpu"] / p["cpu"] for p, t in pairs if p["cpu"]) / rounds,
    }


def compare_servers(
    servers: dict[str, tuple[int, str]],
    tokens: dict[str, str],
    names: list[str],
    seconds: int,
    rounds: int,
    script: Path,
) -> None:
    """Serve the same database from each server at once (label → pid, address); alternate."""
    counts = list(servers)
    print("req/s at 20 and at 1 connection; server CPU ms per request at 20 and at 1")
    print(
        f"{'page':<24}"
        + "".join(f"{f'{n} 20c':>9}{'1c':>6}{'cpu20':>7}{'cpu1':>6}" for n in counts)
    )
    for name in ["/healthz", *names]:
        account, path = PAGES.get(name, ("", name))
        headers = [f"Cookie: merito_session={tokens[account]}"] if account else []
        twenty: dict[int, list[dict]] = {n: [] for n in counts}
        one: dict[int, list[dict]] = {n: [] for n in counts}
        for _ in range(rounds):
            for n in counts:  # A B A B
                pid, url = servers[n]
                twenty[n].append(load(pid, url + path, seconds, 20, headers, script))
            for n in counts:
                pid, url = servers[n]
                one[n].append(load(pid, url + path, seconds, 1, headers, script))

        def mean(runs: list[dict], key: str) -> float:
            return sum(r[key] for r in runs) / len(runs)

        print(
            f"{name:<24}"
            + "".join(
                f"{mean(twenty[n], 'rps'):>9.0f}{mean(one[n], 'rps'):>6.0f}"
                f"{mean(twenty[n], 'cpu'):>7.1f}{mean(one[n], 'cpu'):>6.1f}"
                for n in counts
            ),
            flush=True,
        )


def run(
    backend: str,
    employees: int,
    seconds: int,
    rounds: int,
    names: list[str],
    compare: list[int] | None = None,
    tree: Path | None = None,
) -> None:
    from bench.pg import throwaway_cluster
    from tests.conftest import free_port

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-pages-")))
        if backend == "sqlite":
            database_url = f"sqlite:///{tmp / 'merito.db'}"
        else:
            database_url = stack.enter_context(throwaway_cluster())
        build_demo(database_url, tmp, employees)
        tokens = open_sessions(database_url, tmp, {PAGES[name][0] for name in names})
        script = tmp / "report.lua"
        script.write_text(WRK_SCRIPT)
        if compare or tree:
            # label → (thread bound, copy of the code): the servers that take turns.
            setups = (
                {"A": (None, tree), "B": (None, None)}
                if tree
                else {f"t={n}": (n, None) for n in compare or []}
            )
            servers = {}
            for label, (count, code) in setups.items():
                if count is not None:
                    os.environ["MERITO_REQUEST_THREADS"] = str(count)
                port = free_port()
                process = _serve(database_url, tmp, port, 1, code)
                stack.callback(process.wait, 30)
                stack.callback(process.terminate)
                servers[label] = (process.pid, f"http://127.0.0.1:{port}")
            which = f"A = {tree}, B = this tree" if tree else f"thread bounds {compare}"
            print(f"\n{backend}: {employees} employees, {which}, {rounds} rounds")
            compare_servers(servers, tokens, names, seconds, rounds, script)
            return
        port = free_port()
        server = _serve(database_url, tmp, port, 1)

        def stop_server() -> None:
            server.terminate()
            server.wait(timeout=30)

        stack.callback(stop_server)
        base = f"http://127.0.0.1:{port}"
        threads = os.environ.get("MERITO_REQUEST_THREADS", "default")
        print(
            f"\n{backend}: {employees} employees, 1 uvicorn worker, request threads {threads}, "
            f"{seconds} s per run, {rounds} rounds A B"
        )
        print(
            f"{'page':<24}{'req/s':>8}{'healthz':>9}{'ratio':>7}{'p95 ms':>8}"
            f"{'1 conn':>8}{'20/1':>6}{'errors':>7}{'cpu ms':>8}{'1 conn':>8}{'cpu ratio':>10}"
        )
        for name in names:
            account, path = PAGES[name]
            r = measure(server.pid, base, path, tokens[account], seconds, rounds, script)
            print(
                f"{name:<24}{r['rps']:>8.0f}{r['healthz']:>9.0f}{r['ratio']:>7.2f}"
                f"{r['p95']:>8.1f}{r['one']:>8.0f}{r['twenty_over_one']:>6.2f}{r['errors']:>7}"
                f"{r['cpu']:>8.1f}{r['cpu_one']:>8.1f}{r['cpu_ratio']:>10.2f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=600)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument(
        "--compare-threads", default="", help="e.g. 4,40: one server per bound, A B A B"
    )
    parser.add_argument(
        "--compare-tree", type=Path, default=None, help="another copy of the code, as A"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if args.threads is not None:
        os.environ["MERITO_REQUEST_THREADS"] = str(args.threads)
    names = args.pages.split(",")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        compare = [int(n) for n in args.compare_threads.split(",") if n]
        run(backend, args.employees, args.seconds, args.rounds, names, compare, args.compare_tree)


if __name__ == "__main__":
    main()
