"""Backups hold the database and the data directory, and restore both.

`test_restore_into_an_empty_server` is the restore drill of docs/deployment.md: the archive of
one server restored on a new installation (a new data directory and, for PostgreSQL, a new
cluster), through the `merito` command as an operator runs it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backend import audit, backup
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.db import make_engine
from tests.conftest import TEST_PASSWORD, login
from tests.pg_clusters import DurableCluster
from tests.reporting_helpers import ready_channel
from whistleblowing import service as reporting

ROOT = Path(__file__).resolve().parents[2]


def test_backup_and_restore_round_trip(settings, engine, make_user, tmp_path):
    make_user("admin", email="keeper@example.org")
    attachment = settings.data_dir / "attachments" / "ab" / "blob.bin"
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(b"\x00encrypted-bytes\xff")
    archive = tmp_path / "out" / "backup.tar.gz"

    result = backup.backup(settings, archive)
    assert archive.exists() and result.size > 0
    assert "data/attachments/ab/blob.bin" in result.members

    # Disaster: the account is deleted and the attachment lost; a stray file appears.
    make_user("employee", email="after@example.org")
    with Session(engine) as db:
        db.delete(db.exec(select(User).where(User.email == "keeper@example.org")).one())
        db.commit()
    attachment.unlink()
    (settings.data_dir / "stray.txt").write_text("not in the backup")
    engine.dispose()

    manifest = backup.restore(settings, archive)
    assert manifest["schema_heads"]
    with Session(engine) as db:
        emails = set(db.exec(select(User.email)).all())
        assert "keeper@example.org" in emails and "after@example.org" not in emails
        assert audit.verify(db).ok
    assert attachment.read_bytes() == b"\x00encrypted-bytes\xff"
    assert not (settings.data_dir / "stray.txt").exists()


def test_a_damaged_archive_changes_nothing(settings, engine, make_user, tmp_path):
    make_user("admin", email="keeper@example.org")
    archive = tmp_path / "backup.tar.gz"
    backup.backup(settings, archive)
    # Rewrite the archive with one member altered.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.startswith("database"):
                data = data[:-10] + b"0123456789"
            if data is not None:
                import io

                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
    make_user("employee", email="after@example.org")
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.restore(settings, damaged)
    with Session(engine) as db:
        assert db.exec(select(User).where(User.email == "after@example.org")).first()


def test_restore_refuses_path_traversal(settings, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as dst:
        dst.add(payload, arcname="../../escaped.txt")
    with pytest.raises(backup.BackupError, match="unsafe"):
        backup.restore(settings, evil)
    assert not (tmp_path.parent / "escaped.txt").exists()


def _merito(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """Run the `merito` command as an operator would on the server `settings` describe.

    No MERITO_SECRET_KEY: the secret key is the one in the data directory, as on an
    installation that let Mérito generate it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERITO_")}
    env |= {
        "MERITO_ENVIRONMENT": "test",
        "MERITO_DATABASE_URL": settings.database_url,
        "MERITO_DATA_DIR": str(settings.data_dir),
        "MERITO_FAST_PASSWORD_HASHING": "true",
    }
    return subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def fresh_server(db_backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Yield the settings of a new installation: a new data directory and, for PostgreSQL, a
    new cluster (durable settings, tests/pg_clusters.py) with an empty database."""
    cluster = None
    if db_backend == "postgresql":
        cluster = DurableCluster().start()
        database_url = cluster.create_database("merito")
    else:
        database_url = f"sqlite:///{tmp_path / 'new-server' / 'merito.db'}"
    try:
        yield Settings(
            environment="test",
            database_url=database_url,
            data_dir=tmp_path / "new-server" / "data",
            fast_password_hashing=True,
            scheduler=False,
            warm_caches=False,
        )
    finally:
        if cluster is not None:
            cluster.remove()


def _files(directory: Path) -> dict[str, str]:
    """Return {relative path: SHA-256} of every file under `directory`."""
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in directory.rglob("*")
        if p.is_file()
    }


def test_restore_into_an_empty_server(
    db_backend, settings, engine, session, make_user, fresh_server, tmp_path
):
    """`merito backup` on one server, `merito restore` on a new one with nothing of the old.

    Reports decrypt with the recovery key, attachments come back byte for byte, the audit
    chain verifies, and no session from before the backup opens anything. The new SQLite
    server has no database file at all; the new PostgreSQL server was installed as
    docs/deployment.md says (an empty database, `merito migrate`), so the restore replaces a
    schema that is already there. (Both ways work on both; one each keeps the drill short.)
    """
    # The old server keeps its secret key in its data directory (nothing in the environment).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "secret_key").write_text(settings.resolved_secret_key())
    ready = ready_channel(session, settings, make_user)
    evidence = b"Drill attachment: invoice 4471 paid twice\n"
    result = reporting.submit_report(
        session,
        settings,
        submission=reporting.Submission(
            channel_id=ready.channel.id,
            what="Drill marker: duplicated invoices",
            when="",
            where="",
            who="",
            how_known="",
            red_flags=[],
            others_know="unsure",
            identity="",
            excluded_user_ids=[],
            good_faith=True,
            form_token=reporting.new_form_token(),
            files=[reporting.Upload("ledger.txt", evidence)],
        ),
    )
    session.commit()
    reference, receipt = result.report.reference, result.receipt
    # Sessions open when the backup is taken: a member of staff's and a reporter's.
    staff = make_user("employee", email="staff@example.org")
    staff_token, _row = auth_service.start_session(session, settings, user=staff)
    reporter_token, _report = reporting.receipt_login(session, settings, receipt=receipt)
    session.commit()
    old_files = _files(settings.data_dir)
    assert any(name.startswith("attachments/") for name in old_files)
    with _client(settings, staff_token, reporter_token) as old:
        assert old.get("/account").status_code == 200
        assert "Drill marker" in old.get("/report/case").text
    archive = tmp_path / "offsite" / "merito.tar.gz"
    backed_up = _merito(settings, "backup", str(archive))
    assert backed_up.returncode == 0, backed_up.stderr
    session.close()
    engine.dispose()

    new = fresh_server
    if db_backend == "postgresql":
        migrated = _merito(new, "migrate")
        assert migrated.returncode == 0, migrated.stderr
    restored = _merito(new, "restore", "--yes", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Audit chain: intact" in restored.stdout

    # The attachment store came back byte for byte, with the secret key.
    assert _files(new.data_dir) == old_files
    with _client(new, staff_token, reporter_token) as client:
        # No session from before the backup opens anything on the restored server.
        assert client.get("/account", follow_redirects=False).status_code in (303, 401)
        case = client.get("/report/case")
        assert "Drill marker" not in case.text
        # People sign in again: a password and a receipt still work.
        assert client.get("/healthz").status_code == 200
        client.cookies.clear()
        login(client, "staff@example.org")
        assert client.get("/account").status_code == 200

    # Every holder of the report is gone: the recovery key gives a new investigator access.
    new_engine = make_engine(new.database_url)
    with Session(new_engine) as db:
        db.info["settings"] = new
        newcomer = auth_service.create_user(
            db,
            new,
            email="newcomer@example.org",
            full_name="Nueva Investigadora",
            password=TEST_PASSWORD,
            roles=[Role.investigator],
            check_password=False,
        )
        reporting.unlock_holder_key(db, new, user=newcomer, password=TEST_PASSWORD)
        db.commit()
    recovered = _merito(
        new, "recovery", "restore", "--to", "newcomer@example.org", "--passphrase", ready.passphrase
    )
    assert recovered.returncode == 0, recovered.stderr
    with Session(new_engine) as db:
        db.info["settings"] = new
        newcomer = db.exec(select(User).where(User.email == "newcomer@example.org")).one()
        key = reporting.unlock_holder_key(db, new, user=newcomer, password=TEST_PASSWORD)
        access = reporting.open_case(db, user=newcomer, holder_private=key, reference=reference)
        entries = reporting.timeline(db, access=access)
        assert "Drill marker" in " ".join(str(e.content) for e in entries)
        attached = [a for e in entries for a in e.attachments]
        _view, data = reporting.read_attachment(db, new, access=access, uid=attached[0].uid)
        assert data == evidence
        # The reporter's receipt still opens the report.
        token, _report = reporting.receipt_login(db, new, receipt=receipt)
        assert token
        db.commit()
        assert audit.verify(db).ok
    new_engine.dispose()


def _client(settings: Settings, staff_token: str, reporter_token: str):
    """Return a test client of the app on `settings` carrying the two sessions' cookies."""
    from fastapi.testclient import TestClient

    from backend.app import create_app

    client = TestClient(create_app(settings), headers={"Accept-Language": "en"})
    client.cookies.set("merito_session", staff_token)
    client.cookies.set("merito_report", reporter_token, path="/report/case")
    return client
