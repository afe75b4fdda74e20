"""Backups hold the database and the data directory, and restore both."""

from __future__ import annotations

import tarfile

import pytest
from sqlmodel import Session, select

from backend import audit, backup
from backend.auth.models import User


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


def test_restore_drill_reports_decrypt_and_the_chain_verifies(
    settings, engine, session, make_user, tmp_path
):
    from tests.conftest import TEST_PASSWORD
    from tests.reporting_helpers import ready_channel
    from whistleblowing import service as reporting

    ready = ready_channel(session, settings, make_user)
    submission = reporting.Submission(
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
        files=[reporting.Upload("ledger.txt", b"Drill attachment: invoice 4471 paid twice\n")],
    )
    result = reporting.submit_report(session, settings, submission=submission)
    reporting.commit(session, settings)
    reference = result.report.reference
    archive = tmp_path / "drill.tar.gz"
    backup.backup(settings, archive)
    session.close()
    engine.dispose()

    backup.restore(settings, archive)
    with Session(engine) as db:
        investigator = db.get(type(ready.investigator), ready.investigator.id)
        key = reporting.unlock_holder_key(db, settings, user=investigator, password=TEST_PASSWORD)
        access = reporting.open_case(db, user=investigator, holder_private=key, reference=reference)
        entries = reporting.timeline(db, access=access)
        assert "Drill marker" in " ".join(str(e.content) for e in entries)
        attached = [a for e in entries for a in e.attachments]
        _view, data = reporting.read_attachment(db, settings, access=access, uid=attached[0].uid)
        assert data == b"Drill attachment: invoice 4471 paid twice\n"
        token, _report = reporting.receipt_login(db, settings, receipt=result.receipt)
        assert token
        assert audit.verify(db).ok
