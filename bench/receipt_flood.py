"""Receipt logins during a flood of forged receipts (issue #16, "a channel nobody can jam").

    python -m bench.receipt_flood [--rate 50] [--seconds 60] [--backend sqlite|postgresql]
                                  [--hashing fast|production] [--compare]

Builds a fresh database with one report, serves the app with uvicorn on 127.0.0.1 in this
process, and fires `--rate` forged receipts a second at `/report/follow-up` from a separate
process (`flood` below: the attacker is not the server's own threads) while a real reporter
signs in every two seconds; prints the reporter's login times (median, p95, max) and what the
forged ones were answered. `--hashing production` derives receipts with the real Argon2id
costs (the default for a bench: what a reporter waits for); `--compare` runs the same flood
against the budget as it was before tags (every forged receipt charged and derived), by
patching the tag check out, A B A B.

The flood alone (used by tests/integration/test_reporting_floods.py):

    python -m bench.receipt_flood flood URL CSRF_TOKEN RATE SECONDS
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path


def _forgeries(n: int) -> str:
    """Return the `n`th forged receipt: random tagged ones, the old 24-symbol form, garbage."""
    import secrets

    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    kind = n % 3
    if kind == 0:
        symbols = "".join(secrets.choice(alphabet) for _ in range(28))
    elif kind == 1:
        symbols = "".join(secrets.choice(alphabet) for _ in range(24))
    else:
        return "0000-0000"
    return "-".join(symbols[i : i + 4] for i in range(0, len(symbols), 4))


def flood(
    url: str, csrf: str, rate: float, seconds: float, workers: int = 10, announce: bool = False
) -> dict:
    """Post forged receipts at `rate` a second for `seconds` from `workers` threads; return the
    answers' status codes counted and how many were sent (`announce`: say "flooding" on stdout
    once the threads run, for `start_flood`)."""
    import httpx

    counts: Counter[int] = Counter()
    lock = threading.Lock()
    ends = time.monotonic() + seconds

    def worker(index: int) -> None:
        interval = workers / rate
        next_at = time.monotonic() + index * interval / workers
        with httpx.Client(base_url=url, timeout=60) as http:
            n = index
            while time.monotonic() < ends:
                try:
                    answer = http.post(
                        "/report/follow-up?lang=en",
                        data={"receipt": _forgeries(n), "csrf_token": csrf},
                    )
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    counts[status] += 1
                n += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    if announce:
        print("flooding", flush=True)
    for thread in threads:
        thread.join()
    return {"sent": sum(counts.values()), "statuses": {str(k): v for k, v in counts.items()}}


def start_flood(url: str, csrf: str, rate: float, seconds: float) -> subprocess.Popen:
    """Start `flood` in a separate process and return once it is flooding; its JSON result is
    the last line of its stdout (`flood_result`)."""
    attacker = subprocess.Popen(
        [sys.executable, "-m", "bench.receipt_flood", "flood", url, csrf, str(rate), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if attacker.stdout.readline().strip() != "flooding":
        attacker.kill()
        raise RuntimeError("the flood did not start")
    return attacker


def flood_result(attacker: subprocess.Popen, timeout: float) -> dict:
    """Wait for the flood to end and return what it counted."""
    out, _err = attacker.communicate(timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def reporter_tries(url: str, csrf: str, receipt: str, seconds: float) -> tuple[list[float], int]:
    """Sign in with the real receipt every two seconds for `seconds`; return the times of the
    logins that got in and how many tries were refused."""
    import httpx

    delays, refused = [], 0
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() - started < seconds:
            began = time.monotonic()
            answer = http.post(
                "/report/follow-up?lang=en",
                data={"receipt": receipt, "csrf_token": csrf},
                follow_redirects=False,
            )
            if answer.status_code == 303:
                delays.append(time.monotonic() - began)
            else:
                refused += 1
            time.sleep(max(0.0, 2.0 - (time.monotonic() - began)))
    return delays, refused


def reporter_logins(url: str, csrf: str, receipt: str, seconds: float) -> list[float]:
    """As `reporter_tries`, but raises if any try was refused."""
    delays, refused = reporter_tries(url, csrf, receipt, seconds)
    if refused:
        raise AssertionError(f"the real receipt was refused {refused} times")
    return delays


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _prepare(database_url: str, workdir: Path, hashing: str, *, untagged: bool):
    """Return (settings, receipt): a migrated database with one report, its receipt (without
    its tag and marked as issued before tags when `untagged`)."""
    from sqlmodel import Session

    from backend import migrate
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from backend.config import Settings
    from backend.db import make_engine
    from whistleblowing import service as reporting

    settings = Settings(
        environment="test",
        database_url=database_url,
        data_dir=workdir / "data",
        secret_key="bench-secret-key-0123456789-abcdefghijklmnop",  # noqa: S106 - throwaway
        fast_password_hashing=hashing == "fast",
        scheduler=False,
        warm_caches=False,
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        session.info["settings"] = settings
        password = "benchmark-investigator-passphrase-2041"  # noqa: S105 - throwaway account
        investigator = auth_service.create_user(
            session,
            settings,
            email="investigator@bench.example",
            full_name="Bench Investigator",
            password=password,
            roles=[Role.investigator],
            check_password=False,
        )
        reporting.unlock_holder_key(session, settings, user=investigator, password=password)
        reporting.init_recovery(session, settings)
        channel = reporting.active_channels(session)[0]
        reporting.set_channel_recipients(
            session, actor=investigator, channel=channel, user_ids=[investigator.id]
        )
        session.commit()
        submission = reporting.Submission(
            channel_id=channel.id,
            what="Bench report",
            good_faith=True,
            form_token=reporting.new_form_token(),
        )
        result = reporting.submit_report(session, settings, submission=submission)
        session.commit()
        receipt = result.receipt
        if untagged:
            # As before tags: the receipt without its tag, through the budget forgeries share.
            result.report.receipt_tagged = False
            session.add(result.report)
            session.commit()
            receipt = reporting.parse_receipt(receipt).random_part
    engine.dispose()
    return settings, receipt


def _serve_and_flood(settings, receipt: str, rate: float, seconds: float) -> dict:
    from backend.app import create_app
    from backend.auth.service import anonymous_csrf_token
    from tests.browser.conftest import LiveServer

    app = create_app(settings)
    server = LiveServer(app)
    server.start()
    csrf = anonymous_csrf_token(settings.resolved_secret_key())
    try:
        # A server in service is warm: one login and one refusal before the flood (templates
        # compiled, connections open).
        reporter_logins(server.url, csrf, receipt, 0.1)
        flood(server.url, csrf, rate=20, seconds=0.5, workers=2)
        attacker = start_flood(server.url, csrf, rate, seconds)
        time.sleep(1.0)
        delays, refused = reporter_tries(server.url, csrf, receipt, seconds - 2)
        result = flood_result(attacker, seconds + 120)
    finally:
        server.stop()
        app.state.engine.dispose()
    return {"delays": delays, "refused": refused, "flood": result}


def _run(args: argparse.Namespace, *, untagged: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="receipt-flood-"))
    if args.backend == "postgresql":
        from bench.pg import throwaway_cluster

        with throwaway_cluster() as database_url:
            settings, receipt = _prepare(database_url, workdir, args.hashing, untagged=untagged)
            return _serve_and_flood(settings, receipt, args.rate, args.seconds)
    settings, receipt = _prepare(
        f"sqlite:///{workdir / 'bench.db'}", workdir, args.hashing, untagged=untagged
    )
    return _serve_and_flood(settings, receipt, args.rate, args.seconds)


def _report(label: str, run: dict) -> None:
    delays, tries = run["delays"], len(run["delays"]) + run["refused"]
    times = (
        f"median {statistics.median(delays) * 1000:.0f} ms, p95 {p95(delays) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms"
        if delays
        else "no login got in"
    )
    print(f"{label}: refused on {run['refused']} of {tries} tries; {times}; flood {run['flood']}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "flood":
        url, csrf, rate, seconds = argv[1], argv[2], float(argv[3]), float(argv[4])
        print(json.dumps(flood(url, csrf, rate, seconds, announce=True)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--hashing", choices=("fast", "production"), default="production")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args(argv)
    if not args.compare:
        _report("tagged receipts", _run(args, untagged=False))
        return
    for label, untagged in (("A tagged", False), ("B untagged", True)) * 2:
        _report(label, _run(args, untagged=untagged))


if __name__ == "__main__":
    main()
