"""Server CPU per anonymous report submission, with the production Argon2id costs.

    python -m bench.submission_cpu [--reports 30] [--backend sqlite|postgresql]
    python -m bench.submission_cpu --compare DIR [--rounds 3] [--reports 30]

Builds a fresh database with a reporting channel ready (bench.receipt_flood's preparation,
production hashing), serves the app with uvicorn in this process, and submits `--reports`
reports one after another from a separate process (the client's CPU is not the server's), each
with a 20 KiB text attachment, as a reporter does: the form (GET), then the report (POST). The
server's CPU time (this process: user + system, every thread) is read before and after a run
of form views alone and a run of form + report; their difference per report is the CPU of one
submission. Prints both, the kernel's share, the page faults per submission, the server's peak
memory and the receipt pages' count (every POST must answer a receipt).

`--compare DIR` measures another copy of the code (e.g. `git archive HEAD | tar -x -C DIR`)
as A against this tree as B, alternately (A B A B…, `--rounds` times each, in the same
minutes), each run in a fresh process that imports the product from its tree (this file is the
harness for both), and prints both and their ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ATTACHMENT = ("Factura duplicada del almacén central, partida 12.\n" * 420).encode()


def client(url: str, reports: int, post: bool) -> dict:
    """Run in a separate process: view the form `reports` times, posting each when `post`."""
    import httpx

    receipts = 0
    with httpx.Client(base_url=url, timeout=60) as http:
        for n in range(reports):
            page = http.get("/report/new").text
            if not post:
                continue
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            form_token = re.search(r'name="form_token" value="([^"]*)"', page).group(1)
            channel = re.search(r'name="channel" value="(\d+)"', page).group(1)
            answer = http.post(
                "/report/new",
                data={
                    "csrf_token": csrf,
                    "form_token": form_token,
                    "channel": channel,
                    "what": f"Bench report {n}: invoices paid twice for the same gloves.",
                    "when": "March",
                    "where": "Central warehouse",
                    "others_know": "unsure",
                    "good_faith": "yes",
                },
                files={"files": ("notes.txt", ATTACHMENT, "text/plain")},
            )
            receipts += int(answer.status_code == 200 and "receipt" in answer.text.lower())
    return {"receipts": receipts}


def _server_usage() -> tuple[float, float, int]:
    """Return this process's (user + system CPU seconds, system CPU seconds, minor faults)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime, usage.ru_minflt


def _run_client(url: str, reports: int, post: bool) -> tuple[tuple[float, float, int], dict]:
    started = _server_usage()
    output = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, __file__, "client", url, str(reports), str(post)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ended = _server_usage()
    spent = tuple(e - s for e, s in zip(ended, started, strict=True))
    return spent, json.loads(output.strip().splitlines()[-1])


def run(backend: str, reports: int) -> dict:
    """Measure one server; print and return its figures (milliseconds per view / report)."""
    from contextlib import ExitStack

    from backend.app import create_app
    from bench.pg import throwaway_cluster
    from bench.receipt_flood import _prepare
    from tests.browser.conftest import LiveServer

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-sub-")))
        if backend == "sqlite":
            database_url = f"sqlite:///{workdir / 'merito.db'}"
        else:
            database_url = stack.enter_context(throwaway_cluster())
        settings, _receipt = _prepare(database_url, workdir, "production", untagged=False)
        settings = settings.model_copy(update={"report_submissions_per_hour": 100_000})
        server = LiveServer(create_app(settings))
        server.start()
        stack.callback(server.stop)
        _run_client(server.url, 3, True)  # warm up
        views, _ = _run_client(server.url, reports, False)
        both, result = _run_client(server.url, reports, True)
        figures = {
            "per_view_ms": views[0] / reports * 1000,
            "per_report_ms": (both[0] - views[0]) / reports * 1000,
            "kernel_per_report_ms": (both[1] - views[1]) / reports * 1000,
            "faults_per_report": (both[2] - views[2]) / reports,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "receipts": result["receipts"],
        }
        print(
            f"{backend}: {reports} reports, 20 KiB text attachment each, production Argon2id; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        )
        print(f"  server CPU per form view:  {figures['per_view_ms']:6.1f} ms")
        print(
            f"  server CPU per submission: {figures['per_report_ms']:6.1f} ms"
            f"  (kernel {figures['kernel_per_report_ms']:.1f} ms,"
            f" {figures['faults_per_report']:.0f} page faults; receipts {result['receipts']})"
        )
        print(f"  server peak memory:        {figures['peak_rss_mib']:6.0f} MiB")
        return figures


def compare(other: Path, *, backend: str, reports: int, rounds: int) -> None:
    """Measure the code in `other` (A) and this tree (B) alternately; print both and B / A."""
    trees = (("A", other.resolve()), ("B", ROOT))
    seen: dict[str, list[dict]] = {"A": [], "B": []}
    for round_ in range(1, rounds + 1):
        for label, tree in trees:
            output = subprocess.run(  # noqa: S603 - fixed argument list
                [
                    sys.executable,
                    __file__,
                    "--reports",
                    str(reports),
                    "--backend",
                    backend,
                    "--json",
                ],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            figures = json.loads(output.strip().splitlines()[-1])
            seen[label].append(figures)
            print(
                f"round {round_} {label} ({tree}): {figures['per_report_ms']:.1f} ms per "
                f"submission (kernel {figures['kernel_per_report_ms']:.1f}), "
                f"{figures['per_view_ms']:.1f} ms per view, "
                f"{figures['peak_rss_mib']:.0f} MiB, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for key in ("per_report_ms", "kernel_per_report_ms", "per_view_ms", "peak_rss_mib"):
        a = statistics.median(f[key] for f in seen["A"])
        b = statistics.median(f[key] for f in seen["B"])
        print(f"median {key}: A {a:.1f}  B {b:.1f}  B/A {b / a if a else float('nan'):.2f}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "client":
        print(json.dumps(client(argv[1], int(argv[2]), argv[3] == "True")))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--compare", type=Path, help="another copy of the code, measured as A")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="end with the figures as JSON")
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.compare, backend=args.backend, reports=args.reports, rounds=args.rounds)
        return
    figures = run(args.backend, args.reports)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
