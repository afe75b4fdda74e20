"""Server CPU per anonymous report submission, with the production Argon2id costs.

    python -m bench.submission_cpu [--reports 30] [--backend sqlite|postgresql]

Builds a fresh database with a reporting channel ready (bench.receipt_flood's preparation,
production hashing), serves the app with uvicorn in this process, and submits `--reports`
reports one after another from a separate process (the client's CPU is not the server's), each
with a 20 KiB text attachment, as a reporter does: the form (GET), then the report (POST). The
server's CPU time (this process: user + system, every thread) is read before and after a run
of form views alone and a run of form + report; their difference per report is the CPU of one
submission. Prints both, and the receipt pages' count (every POST must answer a receipt).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def _run_client(url: str, reports: int, post: bool) -> tuple[float, dict]:
    started = os.times()
    output = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "bench.submission_cpu", "client", url, str(reports), str(post)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ended = os.times()
    cpu = (ended.user - started.user) + (ended.system - started.system)
    return cpu, json.loads(output.strip().splitlines()[-1])


def run(backend: str, reports: int) -> None:
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
        views_cpu, _ = _run_client(server.url, reports, False)
        both_cpu, result = _run_client(server.url, reports, True)
        per_view = views_cpu / reports * 1000
        per_report = (both_cpu - views_cpu) / reports * 1000
        print(
            f"{backend}: {reports} reports, 20 KiB text attachment each, production Argon2id; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        )
        print(f"  server CPU per form view:  {per_view:6.1f} ms")
        print(f"  server CPU per submission: {per_report:6.1f} ms  (receipts {result['receipts']})")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "client":
        print(json.dumps(client(argv[1], int(argv[2]), argv[3] == "True")))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    run(args.backend, args.reports)


if __name__ == "__main__":
    main()
