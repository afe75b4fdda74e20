"""Several app processes on one database, and a crash in the middle of a burst of writes.

These start real uvicorn processes (`backend.asgi:app`) against the test's database, as an
operator would run them behind a proxy.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
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
from whistleblowing import service as reporting
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

        assert wait_for(healthy, timeout=60), "app process did not start"
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


def _sign_in(base: str, email: str, secret: str) -> httpx.Client:
    client = httpx.Client(base_url=base, headers={"Accept-Language": "en"})
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": TEST_PASSWORD,
            "next": "/",
            "csrf_token": anonymous_csrf_token(secret),
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
    if response.status_code != 200:
        return None
    found = re.search(r'id="receipt"[^>]*>([0-9A-Z-]+)<', response.text)
    assert found, "receipt not shown"
    return found.group(1)


def test_two_processes_share_sessions_jobs_and_sequences(processes, settings, session, make_user):
    secret = settings.resolved_secret_key()
    user = make_user("hr_planner")
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


def test_acknowledged_writes_survive_a_crash(processes, settings, session, make_user):
    secret = settings.resolved_secret_key()
    ready = ready_channel(session, settings, make_user)
    server = AppProcess(settings).start()
    processes.append(server)

    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def burst(worker: int) -> None:
        n = 0
        while not stop.is_set():
            marker = f"W{worker}N{n}"
            receipt = _submit(server.url, secret, ready.channel.id, marker)
            if receipt:
                with lock:
                    acknowledged[receipt] = marker
            n += 1

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    assert wait_for(lambda: len(acknowledged) >= 6, timeout=60)
    server.kill()  # in the middle of the burst
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    restarted = AppProcess(settings).start()
    processes.append(restarted)
    session.expire_all()
    # Every acknowledged report is there and opens with its receipt.
    for receipt, marker in acknowledged.items():
        token, report = reporting.receipt_login(session, settings, receipt=receipt)
        access = reporting.reporter_access(session, token=token)
        texts = " ".join(str(e.content) for e in reporting.timeline(session, access=access))
        assert marker in texts
    session.rollback()
    # Nothing half-written: every stored report opens for the investigator.
    investigator_key = reporting.unlock_holder_key(
        session, settings, user=ready.investigator, password=TEST_PASSWORD
    )
    for reference in session.exec(select(Report.reference)).all():
        access = reporting.open_case(
            session, user=ready.investigator, holder_private=investigator_key, reference=reference
        )
        reporting.timeline(session, access=access)
    assert audit.verify(session).ok
    # The restarted server serves the reporting channel.
    assert httpx.get(restarted.url + "/report").status_code == 200
