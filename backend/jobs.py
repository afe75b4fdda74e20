"""Periodic jobs that run once across all app processes, not once per worker.

Each job has a row in `job_lease`. A worker that wants to run a due job claims the row with a
single conditional UPDATE (due and not leased by someone else); the database guarantees only one
claimant wins, whichever host it runs on. The scheduler thread in each worker wakes up every
`poll_seconds`, and `merito tick` runs the due jobs once from cron or a systemd timer.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from backend import audit, clock, plugins
from backend.auth import service as auth_service
from backend.config import Settings
from backend.db import UTCDateTime

log = logging.getLogger("merito.jobs")


class JobLease(SQLModel, table=True):
    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=60)
    holder: str = Field(default="", max_length=120)
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_result: str = Field(default="", max_length=500)
    run_count: int = 0


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Session, Settings], str]  # returns a short summary of what it did
    lease: timedelta = timedelta(minutes=10)


JOBS: dict[str, Job] = {}


# Modules that register jobs: imported before jobs run, so `merito tick` (which loads nothing
# else) sees every job, not only those of the modules it happened to import.
def register(name: str, *, every: timedelta, lease: timedelta = timedelta(minutes=10)):
    """Register the decorated function as a periodic job."""

    def decorator(
        fn: Callable[[Session, Settings], str],
    ) -> Callable[[Session, Settings], str]:
        JOBS[name] = Job(name, every, fn, lease)
        return fn

    return decorator


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(engine: Engine, job: Job, *, now: datetime | None = None, force: bool = False) -> bool:
    """Try to take the job's lease; True if this caller may run it now."""
    now = now or clock.now()
    holder = _holder()
    with Session(engine) as session:
        if session.get(JobLease, job.name) is None:
            try:
                session.add(JobLease(name=job.name))
                session.commit()
            except IntegrityError:
                session.rollback()
        not_leased = col(JobLease.leased_until).is_(None) | (col(JobLease.leased_until) < now)
        due = col(JobLease.last_started_at).is_(None) | (
            col(JobLease.last_started_at) <= now - job.every
        )
        condition = not_leased if force else (not_leased & due)
        result = session.execute(
            update(JobLease)
            .where(col(JobLease.name) == job.name, condition)
            .values(
                holder=holder,
                leased_until=now + job.lease,
                last_started_at=now,
                run_count=JobLease.run_count + 1,
            )
        )
        session.commit()
        return result.rowcount == 1


def _finish(engine: Engine, job: Job, summary: str) -> None:
    with Session(engine) as session:
        session.execute(
            update(JobLease)
            .where(col(JobLease.name) == job.name)
            .values(leased_until=None, last_finished_at=clock.now(), last_result=summary[:500])
        )
        session.commit()


# The core's own job modules beside this one (imported by name: they import this module).
CORE_JOB_MODULES = ("backend.notices.jobs", "backend.privacy.jobs")


def load_job_modules() -> None:
    """Import the core's and every plugin's job modules (`Plugin.jobs`), so that `merito tick`
    (which does not build the app) knows their jobs too."""
    for name in [*CORE_JOB_MODULES, *plugins.modules("jobs")]:
        import_module(name)


def run_now(engine: Engine, settings: Settings, name: str) -> str | None:
    """Run the job called `name` now, under its lease (for a `merito <domain>` command).

    Returns its summary, or None when another process holds the lease right now.
    """
    load_job_modules()
    job = JOBS[name]
    if not claim(engine, job, force=True):
        return None
    return _run(engine, settings, job)


def _run(engine: Engine, settings: Settings, job: Job) -> str:
    try:
        with Session(engine) as session:
            session.info["settings"] = settings
            summary = job.run(session, settings)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
        log.exception("job %s failed", job.name)
        summary = f"failed: {type(exc).__name__}"
    _finish(engine, job, summary)
    return summary


def run_due(engine: Engine, settings: Settings, *, force: bool = False) -> dict[str, str]:
    """Run every due job this process can claim; return {job name: summary}."""
    load_job_modules()
    done: dict[str, str] = {}
    for job in list(JOBS.values()):
        if not claim(engine, job, force=force):
            continue
        done[job.name] = _run(engine, settings, job)
    return done


class Scheduler:
    """A daemon thread that runs due jobs every `poll_seconds` in this worker."""

    def __init__(self, engine: Engine, settings: Settings, poll_seconds: float = 60.0) -> None:
        self.engine = engine
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="merito-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                run_due(self.engine, self.settings)
            except Exception:  # noqa: BLE001 - keep the scheduler alive through DB hiccups
                log.exception("scheduler pass failed")


@register("purge_expired_sessions", every=timedelta(hours=1))
def purge_expired_sessions(session: Session, settings: Settings) -> str:
    """Delete sign-in sessions past their idle or absolute expiry."""
    removed = auth_service.purge_expired_sessions(session, settings)
    return f"{removed} expired sessions removed"


@register("deferred_audit", every=timedelta(hours=1))
def append_deferred_audit(session: Session, settings: Settings) -> str:
    """Append the audit entries kept back for past days (reporter actions: day precision)."""
    today = clock.today(settings)
    added = audit.append_deferred(session, today=today, time_zone=settings.time_zone)
    return f"{added} day-precision audit entries appended"
