"""Rules of the reporting channel's service: keys, access, faults (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlmodel import select

from backend import audit, clock, crypto
from backend.auth import service as auth_service
from tests.conftest import TEST_PASSWORD
from tests.reporting_helpers import add_holder, ready_channel
from whistleblowing import attachments, deadlines
from whistleblowing import service as reporting
from whistleblowing.models import (
    HolderKey,
    ItemKind,
    Report,
    ReportAttachment,
    ReportItem,
    ReportKeyWrap,
)
from whistleblowing.service import reporter as reporter_service
from whistleblowing.service.common import _aad
from whistleblowing.service.sealing import keep_with_transaction


def _submission(channel_id: int, **overrides) -> reporting.Submission:
    values = dict(
        channel_id=channel_id,
        what="Stock of insulin sold privately",
        red_flags=["physical_losses"],
        others_know="unsure",
        good_faith=True,
        form_token=reporting.new_form_token(),
    )
    values.update(overrides)
    return reporting.Submission(**values)


def _file(session, settings, submission):
    result = reporting.submit_report(session, settings, submission=submission)
    session.commit()
    return result


def _open(session, user, reference):
    private = crypto.unwrap_private_key(
        session.get(HolderKey, user.id).wrapped_private,
        TEST_PASSWORD,
        aad=_aad("holder", user.id),
    )
    return reporting.open_case(session, user=user, holder_private=private, reference=reference)


def test_submission_is_sealed_and_opens_for_holders_and_reporter(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id, identity="Ana, 555-0100"))
    report = result.report
    assert report.submitted_on == clock.today(settings)  # the organisation's day
    wraps = session.exec(select(ReportKeyWrap).where(ReportKeyWrap.report_id == report.id)).all()
    kinds = sorted((w.key_kind, w.holder_kind) for w in wraps)
    # Investigator + recovery hold the report key; only recovery the identity (no officer yet).
    assert kinds == [("identity", "recovery"), ("report", "recovery"), ("report", "user")]
    access = _open(session, ready.investigator, report.reference)
    entries = reporting.timeline(session, access=access)
    assert entries[0].content["what"] == "Stock of insulin sold privately"
    identity = next(e for e in entries if e.kind is ItemKind.identity)
    assert identity.content is None  # sealed to the identity key, which investigators lack
    token, _ = reporting.receipt_login(session, settings, receipt=result.receipt)
    session.commit()
    mine = reporting.reporter_access(session, token=token)
    texts = {e.kind: e.content for e in reporting.timeline(session, access=mine)}
    assert texts[ItemKind.identity]["text"] == "Ana, 555-0100"
    assert reporting.verify_certificate(json.dumps(result.certificate)).valid


def test_deadlines_follow_acknowledgement(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id))
    report = result.report
    assert (report.ack_due_on - report.submitted_on).days == 7
    assert report.feedback_due_on == deadlines.add_months(report.ack_due_on, 3)
    access = _open(session, ready.investigator, report.reference)
    reporting.add_item(
        session,
        settings,
        access=access,
        kind=ItemKind.acknowledgement,
        text="Received",
        author=ready.investigator,
        today=date(2030, 1, 31),
    )
    session.commit()
    assert report.acknowledged_on == date(2030, 1, 31)
    assert report.feedback_due_on == date(2030, 4, 30)
    assert report.status == "acknowledged"


def test_excluded_recipient_gets_no_key_and_cannot_be_granted(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    distrusted = add_holder(session, settings, make_user, "investigator")
    reporting.set_channel_recipients(
        session,
        actor=ready.investigator,
        channel=ready.channel,
        user_ids=[ready.investigator.id, distrusted.id],
    )
    result = _file(
        session, settings, _submission(ready.channel.id, excluded_user_ids=[distrusted.id])
    )
    assert reporting.inbox(session, user=distrusted) == []
    access = _open(session, ready.investigator, result.report.reference)
    with pytest.raises(reporting.ReportingError) as refused:
        reporting.grant_access(session, access=access, actor=ready.investigator, grantee=distrusted)
    assert refused.value.status_code == 409


def test_excluding_every_recipient_is_refused(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    errors = reporting.validate_submission(
        session, _submission(ready.channel.id, excluded_user_ids=[ready.investigator.id])
    )
    assert "excluded" in errors


def test_grant_and_revoke_are_audited_and_revoked_investigator_is_refused(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    colleague = add_holder(session, settings, make_user, "investigator")
    result = _file(session, settings, _submission(ready.channel.id))
    reference = result.report.reference
    with pytest.raises(reporting.ReportingError) as denied:
        _open(session, colleague, reference)
    assert denied.value.status_code == 404
    access = _open(session, ready.investigator, reference)
    reporting.grant_access(session, access=access, actor=ready.investigator, grantee=colleague)
    session.commit()
    shared = _open(session, colleague, reference)
    assert reporting.timeline(session, access=shared)[0].content["what"]
    reporting.revoke_access(
        session, report=result.report, actor=ready.investigator, user_id=colleague.id
    )
    session.commit()
    with pytest.raises(reporting.ReportingError) as revoked:
        _open(session, colleague, reference)
    assert revoked.value.status_code == 404
    actions = [e.action for e in session.exec(select(audit.AuditEntry)).all()]
    assert {"report.access_granted", "report.access_revoked", "report.read"} <= set(actions)
    with pytest.raises(reporting.ReportingError):
        reporting.revoke_access(
            session, report=result.report, actor=ready.investigator, user_id=ready.investigator.id
        )


def test_password_change_rewraps_the_holder_key(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id))
    new_password = "a much longer new passphrase 2041"
    auth_service.change_password(
        session, settings, user=ready.investigator, current=TEST_PASSWORD, new=new_password
    )
    session.commit()
    private = reporting.unlock_holder_key(
        session, settings, user=ready.investigator, password=new_password
    )
    access = reporting.open_case(
        session, user=ready.investigator, holder_private=private, reference=result.report.reference
    )
    assert reporting.timeline(session, access=access)
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(
            session.get(HolderKey, ready.investigator.id).wrapped_private,
            TEST_PASSWORD,
            aad=_aad("holder", ready.investigator.id),
        )


def test_recovery_restores_access_after_every_holder_lost_their_password(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id, identity="Contact: 555"))
    # The only investigator's password was reset by an administrator: their key is replaced.
    reporting.unlock_holder_key(
        session, settings, user=ready.investigator, password="reset by admin 12345"
    )
    session.commit()
    assert session.exec(select(ReportKeyWrap).where(ReportKeyWrap.user_id.is_not(None))).all() == []
    newcomer = add_holder(session, settings, make_user, "investigator")
    with pytest.raises(reporting.ReportingError):
        reporting.restore_access(session, passphrase="WRONG-PASS", to_user=newcomer)
    summary = reporting.restore_access(session, passphrase=ready.passphrase, to_user=newcomer)
    session.commit()
    assert summary.reports == 1
    access = _open(session, newcomer, result.report.reference)
    assert reporting.timeline(session, access=access)[0].content["what"]
    officer = add_holder(session, settings, make_user, "protection_officer")
    summary = reporting.restore_access(
        session,
        passphrase=ready.passphrase.lower(),
        to_user=officer,
        include_identities=True,
    )
    assert summary.identities == 1
    assert "report.access_restored" in [
        e.action for e in session.exec(select(audit.AuditEntry)).all()
    ]


def test_missing_recovery_key_refuses_reports_without_writing(session, settings, make_user):
    investigator = add_holder(session, settings, make_user, "investigator")
    channel = reporting.active_channels(session)[0]
    reporting.set_channel_recipients(
        session, actor=investigator, channel=channel, user_ids=[investigator.id]
    )
    session.commit()
    with pytest.raises(reporting.ReportingError) as refused:
        reporting.submit_report(session, settings, submission=_submission(channel.id))
    assert refused.value.status_code == 503
    session.rollback()
    assert session.exec(select(Report)).all() == []
    with pytest.raises(reporting.ReportingError):
        reporting.unlock_recovery(session, passphrase="anything")


def test_recovery_key_is_created_once(session, settings, make_user):
    ready_channel(session, settings, make_user)
    with pytest.raises(reporting.ReportingError) as again:
        reporting.init_recovery(session, settings)
    assert again.value.status_code == 409


def test_tampered_or_swapped_ciphertext_is_detected(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    first = _file(session, settings, _submission(ready.channel.id, what="first report"))
    second = _file(session, settings, _submission(ready.channel.id, what="second report"))
    item = session.exec(select(ReportItem).where(ReportItem.report_id == first.report.id)).first()
    sealed = bytearray(item.sealed)
    sealed[-1] ^= 1
    item.sealed = bytes(sealed)
    session.add(item)
    session.commit()
    access = _open(session, ready.investigator, first.report.reference)
    with pytest.raises(reporting.TamperedCase):
        reporting.timeline(session, access=access)
    # A ciphertext moved from another report (same key holder) fails its associated data.
    other = session.exec(select(ReportItem).where(ReportItem.report_id == second.report.id)).first()
    item.sealed = other.sealed
    session.add(item)
    session.commit()
    with pytest.raises(reporting.TamperedCase):
        reporting.timeline(session, access=access)


def test_wrong_receipts_are_generic_and_throttled_globally(
    session, settings, make_user, monkeypatch
):
    import time

    from whistleblowing.service import receipts as receipts_service

    # The budget refills one attempt every two seconds: the clock stands still here.
    frozen = time.time()
    monkeypatch.setattr(receipts_service, "_clock", lambda: frozen)
    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id))
    messages = set()
    last = "1" if result.receipt[-1] == "0" else "0"
    issued_elsewhere = reporting.with_tag(settings, crypto.new_receipt())  # tagged, no report
    for attempt in [
        "nonsense",
        crypto.new_receipt(),
        result.receipt[:-1] + last,
        issued_elsewhere,
    ]:
        with pytest.raises(reporting.ReportingError) as wrong:
            reporting.receipt_login(session, settings, receipt=attempt)
        messages.add((wrong.value.status_code, str(wrong.value)))
    assert len(messages) == 1
    # Forged receipts (a wrong tag, or the old form when no report still uses it) cost nothing:
    # however many, the budget stays whole.
    for _ in range(3 * int(reporting.RECEIPT_BUCKET_CAPACITY)):
        with pytest.raises(reporting.ReportingError) as forged:
            reporting.receipt_login(session, settings, receipt=result.receipt[:-1] + last)
        assert forged.value.status_code == 401
    # Receipts the server tagged but that open nothing are what the global budget counts.
    for _ in range(int(reporting.RECEIPT_BUCKET_CAPACITY)):
        try:
            reporting.receipt_login(
                session, settings, receipt=reporting.with_tag(settings, crypto.new_receipt())
            )
        except reporting.ReportingError as err:
            last = err
    assert last.status_code == 429
    # Even the right receipt waits: the budget is global, nobody is identified.
    with pytest.raises(reporting.ReportingError) as throttled:
        reporting.receipt_login(session, settings, receipt=result.receipt)
    assert throttled.value.status_code == 429


def test_expired_reporter_session_is_refused_and_deleted(session, settings, make_user, monkeypatch):
    import time

    from whistleblowing.models import ReporterSession

    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id))
    token, _ = reporting.receipt_login(session, settings, receipt=result.receipt)
    session.commit()
    assert session.exec(select(ReporterSession)).one()
    # The exact end is sealed in the row: only the clock moving on ends the session.
    later = time.time() + reporting.REPORTER_SESSION_MINUTES * 60 + 1
    monkeypatch.setattr(reporter_service, "_clock", lambda: later)
    with pytest.raises(reporting.ReporterSessionExpired):
        reporting.reporter_access(session, token=token)
    assert session.exec(select(ReporterSession)).all() == []
    with pytest.raises(reporting.ReporterSessionExpired):
        reporting.reporter_access(session, token="forged-token-value-1234567890")


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (10, 200, 30))
    exif = Image.Exif()
    exif[0x013B] = "EXIF-ARTIST-MARKER"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def test_files_are_cleaned_encrypted_and_refused_when_disguised_or_oversized(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    with pytest.raises(reporting.ReportingError) as disguised:
        _file(
            session,
            settings,
            _submission(
                ready.channel.id, files=[reporting.Upload("invoice.pdf", b"MZ\x90\x00binary")]
            ),
        )
    assert "invoice.pdf" in str(disguised.value)
    session.rollback()
    big = b"%PDF-1.4\n" + b"0" * (50 * 1024 * 1024)
    with pytest.raises(reporting.ReportingError) as oversized:
        _file(
            session,
            settings,
            _submission(ready.channel.id, files=[reporting.Upload("a.pdf", big)]),
        )
    assert "50 MB" in str(oversized.value)
    session.rollback()
    assert session.exec(select(Report)).all() == []
    assert [p for p in settings.attachments_dir.rglob("*") if p.is_file()] == []

    result = _file(
        session,
        settings,
        _submission(ready.channel.id, files=[reporting.Upload("photo.jpg", _jpeg_with_gps())]),
    )
    stored = list(p for p in settings.attachments_dir.rglob("*") if p.is_file())
    assert len(stored) == 1 and b"EXIF-ARTIST" not in stored[0].read_bytes()
    access = _open(session, ready.investigator, result.report.reference)
    row = session.exec(select(ReportAttachment)).one()
    view, data = reporting.read_attachment(session, settings, access=access, uid=row.uid)
    assert view.name == "photo.jpg" and data.startswith(b"\xff\xd8\xff")
    assert b"EXIF-ARTIST-MARKER" not in data
    # A byte changed in the store is detected, and nothing is returned.
    blob = bytearray(stored[0].read_bytes())
    blob[40] ^= 1
    stored[0].write_bytes(bytes(blob))
    with pytest.raises(reporting.TamperedCase):
        reporting.read_attachment(session, settings, access=access, uid=row.uid)


def test_resent_form_files_nothing_twice(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    submission = _submission(ready.channel.id)
    _file(session, settings, submission)
    with pytest.raises(reporting.ReportingError) as again:
        _file(session, settings, submission)
    assert again.value.status_code == 409
    session.rollback()
    assert len(session.exec(select(Report)).all()) == 1


def test_identity_release_needs_a_protection_officer_decision(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    result = _file(session, settings, _submission(ready.channel.id, identity="Luis, 555-0199"))
    access = _open(session, ready.investigator, result.report.reference)
    with pytest.raises(reporting.ReportingError):
        reporting.request_identity(session, access=access, actor=ready.investigator, reason="x")
    request = reporting.request_identity(
        session,
        access=access,
        actor=ready.investigator,
        reason="We need to interview the witness about the invoices in person.",
    )
    session.commit()
    officer_private = reporting.unlock_holder_key(
        session, settings, user=officer, password=TEST_PASSWORD
    )
    views = reporting.identity_requests(session, officer=officer, holder_private=officer_private)
    assert views[0].reason.startswith("We need to interview")
    reporting.decide_identity_request(
        session,
        officer=officer,
        holder_private=officer_private,
        request_id=request.id,
        approve=True,
        note="Justified: needed for the interview.",
    )
    session.commit()
    access = _open(session, ready.investigator, result.report.reference)
    identity = next(
        e for e in reporting.timeline(session, access=access) if e.kind is ItemKind.identity
    )
    assert identity.content["text"] == "Luis, 555-0199"
    actions = [e.action for e in session.exec(select(audit.AuditEntry)).all()]
    assert {"report.identity_requested", "report.identity_released"} <= set(actions)


def test_statistics_suppress_small_counts(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    for _ in range(2):
        _file(session, settings, _submission(ready.channel.id))
    rows = reporting.statistics(session, threshold=5)
    assert [(r["status"], r["count"]) for r in rows] == [("received", None)]
    rows = reporting.statistics(session, threshold=2)
    assert [(r["status"], r["count"]) for r in rows] == [("received", 2)]


def test_inbox_counts_deadlines(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = _file(session, settings, _submission(ready.channel.id))
    today = result.report.submitted_on
    counts = reporting.inbox_counts(session, user=ready.investigator, today=today)
    assert (counts.open, counts.new, counts.ack_overdue) == (1, 1, 0)
    later = reporting.inbox_counts(
        session, user=ready.investigator, today=today + timedelta(days=8)
    )
    assert later.ack_overdue == 1 and later.due


def test_encrypted_files_stay_only_when_their_transaction_commits(session, settings):
    """Files are written to the store before the rows that name them are committed: a refused
    action (rolled back by run_action), a failed commit or a session closed without committing
    removes them, whoever commits (there is no reporting-specific commit to forget)."""

    def written() -> object:
        session.exec(select(Report.id)).all()  # inside a transaction, as in every service
        uid = attachments.new_uid()
        key = crypto.new_session_key()
        attachments.store(settings.attachments_dir, uid, key=key, data=b"ledger", aad=b"t")
        keep_with_transaction(session, settings, [uid])
        return settings.attachments_dir / uid[:2] / uid

    rolled_back = written()
    assert rolled_back.exists()
    session.rollback()
    assert not rolled_back.exists()
    committed = written()
    session.commit()
    assert committed.exists()
    session.rollback()
    assert committed.exists()
    abandoned = written()
    session.close()
    assert not abandoned.exists()
