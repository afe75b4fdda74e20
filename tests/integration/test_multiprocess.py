"""Several app processes on one database.

These start real uvicorn processes (`backend.asgi:app`) against the test's database, as an
operator would run them behind a proxy. The crash drill, which kills them (and PostgreSQL) in
the middle of a burst of writes, is in test_crash_drill.py and uses the same processes.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from backend import audit
from backend.auth.service import anonymous_csrf_token
from backend.jobs import JobLease
from tests.conftest import TEST_PASSWORD, free_port, wait_for
from tests.reporting_helpers import ready_channel, report_form_data
from whistleblowing.models import Report

ROOT = Path(__file__).resolve().parents[2]


class AppProcess:
    """One `uvicorn backend.asgi:app` process on the test's database."""

    def __init__(self, settings, *, scheduler: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MERITO_ENVIRONMENT": "test",
            "MERITO_DATABASE_URL": settings.database_url,
            "MERITO_DATA_DIR": str(settings.data_dir),
            "MERITO_SECRET_KEY": settings.resolved_secret_key(),
            "MERITO_FAST_PASSWORD_HASHING": "true",
            "MERITO_SCHEDULER": "true" if scheduler else "false",
            "MERITO_SCHEDULER_POLL_SECONDS": "1",
            # The bursts of reports here (and in the crash drill) are deliberate floods of real
            # reports: the channel's flood question (docs/reporting.md) would stop them.
            "MERITO_REPORT_SUBMISSIONS_PER_HOUR": "1000000",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> AppProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=ROOT,
        )

        def healthy() -> bool:
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        # Generous: on the shared 2-core machine a cold start can take tens of seconds.
        if not wait_for(healthy, timeout=120):
            self.kill()  # never left running without a fixture to stop it
            raise AssertionError("app process did not start")
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def processes():
    started: list[AppProcess] = []
    yield started
    for process in started:
        process.stop()


def _sign_in(base: str, email: str, secret: str, password: str = TEST_PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=base, headers={"Accept-Language": "en"}, timeout=30)
    # A sign-in token is bound to the browser's pre-session cookie (as the sign-in page gives).
    presession = secrets.token_urlsafe(32)
    client.cookies.set("merito_presession", presession)
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "next": "/",
            "csrf_token": anonymous_csrf_token(secret, binding=presession),
        },
    )
    assert response.status_code == 303, response.text
    return client


def _submit(base: str, secret: str, channel_id: int, marker: str) -> str | None:
    """Submit a report; return the receipt shown, or None if the server did not answer."""
    data = report_form_data(channel_id, what=f"Marker {marker}: invoices paid twice")
    data["csrf_token"] = anonymous_csrf_token(secret)
    try:
        response = httpx.post(base + "/report/new", data=data, timeout=30)
    except httpx.HTTPError:
        return None
    assert response.status_code == 200, f"report refused: {response.status_code}"
    found = re.search(r'id="receipt"[^>]*>([0-9A-Z-]+)<', response.text)
    assert found, "receipt not shown"
    return found.group(1)


def test_two_processes_share_sessions_jobs_and_sequences(processes, settings, session, make_user):
    secret = settings.resolved_secret_key()
    # A role without a second step: this test is about processes, not sign-in.
    user = make_user("auditor")
    ready = ready_channel(session, settings, make_user)
    first = AppProcess(settings, scheduler=True).start()
    processes.append(first)
    second = AppProcess(settings, scheduler=True).start()
    processes.append(second)

    # A session made on one process is served by the other.
    client = _sign_in(first.url, user.email, secret)
    cookie = client.cookies.get("merito_session")
    other = httpx.get(
        second.url + "/", cookies={"merito_session": cookie}, headers={"Accept-Language": "en"}
    )
    assert other.status_code == 200 and "Welcome" in other.text

    # Concurrent submissions through both processes get distinct references.
    with ThreadPoolExecutor(max_workers=6) as pool:
        receipts = list(
            pool.map(
                lambda n: _submit((first, second)[n % 2].url, secret, ready.channel.id, f"M{n}"),
                range(12),
            )
        )
    assert all(receipts), receipts
    session.expire_all()
    references = session.exec(select(Report.reference)).all()
    assert len(references) == 12 and len(set(references)) == 12

    # Both schedulers poll every second; the hourly job still ran exactly once.
    assert wait_for(lambda: _runs(session, "purge_expired_sessions") >= 1, timeout=20)
    time.sleep(3)
    assert _runs(session, "purge_expired_sessions") == 1
    assert audit.verify(session).ok


def _runs(session: Session, name: str) -> int:
    session.expire_all()
    lease = session.get(JobLease, name)
    return lease.run_count if lease else 0
