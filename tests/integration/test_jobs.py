"""Periodic jobs run once across workers."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import Session, select

from backend import jobs
from backend.auth.models import AuthSession
from backend.clock import now as utcnow
from backend.db import make_engine
from tests.conftest import login


def test_only_one_worker_claims_a_due_job(database_url):
    job = jobs.Job("test_once", timedelta(minutes=5), lambda s, st: "ran")
    engines = [make_engine(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    wins: list[bool] = []

    def contend(engine):
        barrier.wait()
        wins.append(jobs.claim(engine, job))

    threads = [threading.Thread(target=contend, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
    # Not due again until `every` has passed, even after the lease is released.
    jobs._finish(engines[0], job, "ok")
    assert not jobs.claim(engines[0], job)
    assert jobs.claim(engines[0], job, now=utcnow() + timedelta(minutes=6))
    for engine in engines:
        engine.dispose()


def test_run_due_purges_expired_sessions_once(client, make_user, engine, settings):
    user = make_user("employee")
    login(client, user.email)
    with Session(engine) as db:
        row = db.exec(select(AuthSession)).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.add(row)
        db.commit()
    first = jobs.run_due(engine, settings)
    assert first["purge_expired_sessions"] == "1 expired sessions removed"
    second = jobs.run_due(engine, settings)
    assert "purge_expired_sessions" not in second
    with Session(engine) as db:
        assert db.exec(select(AuthSession)).first() is None
