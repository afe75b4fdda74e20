"""The audit chain, events, migrations and settings."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from backend import audit, events
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import NotMigratedError, ensure_migrated


def test_audit_chain_verifies_and_detects_tampering(session, engine, db_backend):
    for n in range(5):
        audit.record(
            session,
            action="test.action",
            actor="tester",
            entity_type="thing",
            entity_id=n,
            before={"n": n},
            after={"n": n + 1},
        )
    session.commit()
    outcome = audit.verify(session)
    assert outcome.ok and outcome.checked >= 5

    # The database refuses edits and deletions of entries.
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 2"))
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 3"))

    # Someone with the power to drop the triggers can edit, but the chain shows it.
    with engine.begin() as conn:
        if db_backend == "postgresql":
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
        conn.execute(text("UPDATE audit_entry SET after = '{\"n\": 99}' WHERE seq = 3"))
    session.expire_all()
    broken = audit.verify(session)
    assert not broken.ok
    assert broken.seq == 3
    assert broken.problem == "entry content altered"


def test_audit_chain_detects_a_removed_tail(session, engine, db_backend):
    for n in range(3):
        audit.record(session, action="test.action", actor="tester", entity_id=n)
    session.commit()
    head = session.get(audit.AuditHead, 1).seq
    with engine.begin() as conn:
        if db_backend == "postgresql":
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_entry_no_delete"))
        conn.execute(text("DELETE FROM audit_entry WHERE seq = :s"), {"s": head})
    session.expire_all()
    outcome = audit.verify(session)
    assert not outcome.ok
    assert "end of the chain" in outcome.problem


def test_concurrent_appends_keep_one_chain(engine):
    import threading

    def append(n: int) -> None:
        with Session(engine) as db:
            for i in range(10):
                audit.record(db, action="concurrent", actor=f"worker{n}", entity_id=i)
                db.commit()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as db:
        outcome = audit.verify(db)
    assert outcome.ok, outcome
    assert outcome.checked >= 40


def test_events_reach_subscribers_in_the_publishers_session(session):
    seen = []

    def handler(db, event):
        seen.append((db is session, event.name, event.subject_employee_id))

    # The reporting channel's HR watch listens to this event too (whistleblowing.events).
    events.publish(session, events.DomainEvent("warm.up"))  # loads every plugin's subscribers
    others = len(events._handlers["appraisal.rating_dropped"])
    events.subscribe("appraisal.rating_dropped")(handler)
    try:
        delivered = events.publish(
            session, events.DomainEvent("appraisal.rating_dropped", {"from": 4, "to": 2}, 7)
        )
        events.publish(session, events.DomainEvent("something.else"))
    finally:
        events.unsubscribe("appraisal.rating_dropped", handler)
    assert delivered == others + 1
    assert seen == [(True, "appraisal.rating_dropped", 7)]


def test_app_refuses_an_unmigrated_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NotMigratedError, match="merito migrate"):
        ensure_migrated(engine)
    # Checking did not leave an empty database file behind.
    assert not (tmp_path / "empty.db").exists()
    from backend.app import create_app

    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        secret_key="s" * 40,
        database_url=f"sqlite:///{tmp_path / 'empty.db'}",
    )
    with pytest.raises(NotMigratedError):
        create_app(settings)


@pytest.mark.parametrize("environment", ["production", "test"])
def test_weak_secret_is_refused_outside_development(tmp_path, environment):
    for secret in ("changeme", "short-but-not-listed"):
        weak = Settings(environment=environment, data_dir=tmp_path, secret_key=secret)
        with pytest.raises(ValueError, match="too weak"):
            weak.resolved_secret_key()
    fine = Settings(environment="development", data_dir=tmp_path, secret_key="changeme")
    assert fine.resolved_secret_key() == "changeme"


def test_serve_refuses_an_unmigrated_database_in_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from backend import cli
    from backend.config import get_settings

    monkeypatch.setenv("MERITO_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.setenv("MERITO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MERITO_ENVIRONMENT", "development")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "merito migrate" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "never.db").exists()


def test_secret_key_is_generated_once_into_the_data_directory(tmp_path):
    first = Settings(environment="production", data_dir=tmp_path).resolved_secret_key()
    second = Settings(environment="production", data_dir=tmp_path).resolved_secret_key()
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_framework_is_loaded_with_13_competencies(client, make_user):
    from tests.conftest import login

    user = make_user("candidate")
    login(client, user.email)
    data = client.get("/api/v1/framework").json()
    assert len(data["competencies"]) == 13
    assert [lv["level"] for lv in data["scale"]] == [0, 1, 2, 3, 4]
    legal = next(c for c in data["competencies"] if c["code"] == "legal")
    assert len(legal["levels"]) == 5 and legal["name"]["es"]
    page = client.get("/framework/legal?lang=es")
    assert "<h1>Marco jurídico</h1>" in page.text


def test_entries_appended_in_bulk_continue_the_chain(session):
    from datetime import date

    audit.record(session, action="test.one", actor="system", entity_type="x", entity_id=1)
    appended = audit.record_many(
        session,
        [
            {
                "action": "test.many",
                "entity_type": "x",
                "entity_id": n,
                "after": {"on": date(2026, 2, 28)},
            }
            for n in range(5)
        ],
    )
    audit.record(session, action="test.last", actor="system")
    session.commit()
    assert appended == 5 and audit.record_many(session, []) == 0
    entries = session.exec(select(audit.AuditEntry).order_by(audit.AuditEntry.seq)).all()
    mine = [e for e in entries if e.action.startswith("test.")]
    assert [e.action for e in mine] == ["test.one", *["test.many"] * 5, "test.last"]
    assert [e.seq for e in mine] == list(range(mine[0].seq, mine[0].seq + 7))
    assert mine[1].after == {"on": "2026-02-28"} and mine[1].actor == "system"
    assert audit.verify(session).ok
