"""What the reporting channel promises a reporter, proved: no cookie, no address, no agent,
no time of day, nothing from other hosts, and nothing readable at rest."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import Date, DateTime, func, inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.cli import SERVER_OPTIONS
from backend.jobs import append_deferred_audit
from tests.conftest import _pg_bin, free_port, missing, wait_for
from tests.reporting_helpers import (
    add_holder,
    anon_token,
    holder_private,
    open_as,
    ready_channel,
    receipt_from,
    report_form_data,
    staff_login,
    submit_via_client,
)
from whistleblowing import service as reporting
from whistleblowing.models import (
    ComplaintAttachment,
    ComplaintItem,
    ComplaintKeyWrap,
    Notification,
    ProtectedPerson,
    Report,
    ReportAttachment,
    ReportItem,
    ReportKeyWrap,
    RetaliationComplaint,
    WatchEntry,
)

CLIENT_IP = "203.0.113.77"
USER_AGENT = "Marker-Browser/9.9 (agent-7c1e)"


def test_no_cookie_is_set_before_receipt_login(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    responses = [
        client.get("/report"),
        client.get("/report?lang=es"),
        client.get("/report/new"),
        client.get("/report/follow-up"),
        submit_via_client(client, report_form_data(ready.channel.id, what="")),  # 422
    ]
    sent = submit_via_client(client, report_form_data(ready.channel.id))
    responses.append(sent)
    certificate = re.search(r'name="certificate" value="([^"]+)"', sent.text).group(1)
    import html

    responses.append(
        client.post(
            "/report/certificate",
            data={"certificate": html.unescape(certificate), "csrf_token": anon_token(client)},
        )
    )
    responses.append(
        client.post(
            "/report/follow-up",
            data={"receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", "csrf_token": anon_token(client)},
        )
    )
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 422, 200, 200, 401]
    for response in responses:
        assert "set-cookie" not in response.headers, response.request.url
    assert not client.cookies
    downloaded = responses[6]
    assert downloaded.headers["content-disposition"].startswith("attachment")
    assert reporting.verify_certificate(downloaded.content).valid


def test_reporting_pages_load_nothing_from_other_hosts(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    pages = [client.get(p) for p in ("/report", "/report/new", "/report/follow-up")]
    pages.append(submit_via_client(client, report_form_data(ready.channel.id)))
    for page in pages:
        references = re.findall(r'(?:src|href|action)="([^"]*)"', page.text)
        assert references
        for ref in references:
            assert ref.startswith(("/", "#", "?")), ref
        # No referrer to another site (same-origin: our own forms state their origin).
        assert page.headers["referrer-policy"] == "same-origin"
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_staff_session_in_the_same_browser_is_not_touched(client, session, settings, make_user):
    from backend.auth.models import AuthSession

    ready = ready_channel(session, settings, make_user)
    employee = make_user("employee")
    from tests.conftest import login

    login(client, employee.email)
    before = session.exec(select(AuthSession)).one().last_seen_at
    page = client.get("/report/new")
    assert employee.full_name not in page.text
    # The staff CSRF token is not on the page: the form works on its own signed token.
    response = submit_via_client(client, report_form_data(ready.channel.id))
    assert response.status_code == 200
    session.expire_all()
    assert session.exec(select(AuthSession)).one().last_seen_at == before


def test_report_tables_keep_days_not_times():
    # Only the short-lived reporter session (deleted at sign-out or expiry) keeps a time.
    # Complaints, their items and files, the HR watch and the audit entries kept back for
    # reporters' actions keep days too.
    for model in (
        Report,
        ReportItem,
        ReportAttachment,
        ReportKeyWrap,
        RetaliationComplaint,
        ComplaintItem,
        ComplaintAttachment,
        ComplaintKeyWrap,
        ProtectedPerson,
        WatchEntry,
        Notification,
        audit.DeferredAuditEntry,
    ):
        for column in inspect(model).columns:
            assert not isinstance(column.type, DateTime), f"{model.__name__}.{column.name}"
    assert isinstance(inspect(Report).columns["submitted_on"].type, Date)
    assert isinstance(inspect(RetaliationComplaint).columns["received_on"].type, Date)
    assert isinstance(inspect(audit.DeferredAuditEntry).columns["on"].type, Date)


def _reporter_entries(session):
    return session.exec(
        select(audit.AuditEntry).where(col(audit.AuditEntry.actor).in_(["reporter", "complainant"]))
    ).all()


def test_a_complaint_filed_with_the_receipt_is_audited_at_day_precision(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    add_holder(session, settings, make_user, "protection_officer")
    receipt = receipt_from(submit_via_client(client, report_form_data(ready.channel.id)).text)
    client.post("/report/follow-up", data={"receipt": receipt, "csrf_token": anon_token(client)})
    head_before = session.exec(select(func.max(audit.AuditEntry.seq))).one()
    sent = client.post(
        "/report/case/retaliation",
        data={
            "act_0": "transfer",
            "act_0_on": str(date.today() - timedelta(days=2)),
            "act_0_text": "Moved to the night shift",
            "narrative": "The week after my report I was moved.",
            # The report was made today: an earlier day is questioned unless kept.
            "keep_early_acts": "yes",
            "csrf_token": anon_token(client),
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    session.expire_all()
    reference = session.exec(select(RetaliationComplaint)).one().reference
    # Nothing goes into the log while the day lasts: no time of day, no place in the chain
    # between entries that have one …
    assert session.exec(select(func.max(audit.AuditEntry.seq))).one() == head_before
    assert _reporter_entries(session) == []
    [kept] = session.exec(select(audit.DeferredAuditEntry)).all()
    today = clock.today(settings)
    assert (kept.action, kept.on, kept.entity_id) == (
        "retaliation.complaint_filed",
        today,
        reference,
    )
    # … the job appends it once the day is over (not before), stamped with the day alone.
    assert audit.append_deferred(session, today=today, time_zone=settings.time_zone) == 0
    summary = append_deferred_audit(session, settings)
    session.commit()
    assert summary.startswith("0 ")  # still the same day for the job
    tomorrow = today + timedelta(days=1)
    assert audit.append_deferred(session, today=tomorrow, time_zone=settings.time_zone) == 1
    session.commit()
    [entry] = _reporter_entries(session)
    assert (entry.action, entry.entity_id, entry.actor_id) == (
        "retaliation.complaint_filed",
        reference,
        None,
    )
    assert entry.at == audit.day_stamp(today, settings.time_zone)
    local = entry.at.astimezone(ZoneInfo(settings.time_zone))
    assert (local.date(), local.time()) == (today, time.min)
    assert session.exec(select(audit.DeferredAuditEntry)).all() == []
    assert audit.verify(session).ok


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.__dict__))


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_served_reporting_keeps_no_address_or_agent_in_logs_or_database(
    app, engine, session, settings, make_user, database_url
):
    ready = ready_channel(session, settings, make_user)
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    port = free_port()
    # Exactly how `merito serve` runs, with logging turned up to everything.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="debug", lifespan="off", **SERVER_OPTIONS
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started, timeout=15)
        base = f"http://127.0.0.1:{port}"
        headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": CLIENT_IP}
        with httpx.Client(base_url=base, headers=headers) as browser:
            token = anon_token_for(settings)
            browser.get("/report")
            sent = browser.post(
                "/report/new?lang=en",
                data={**report_form_data(ready.channel.id), "csrf_token": token},
                files=[("files", ("a.txt", b"plain words", "text/plain"))],
            )
            assert sent.status_code == 200
            receipt = receipt_from(sent.text)
            browser.post("/report/follow-up", data={"receipt": "WRONG", "csrf_token": token})
            login = browser.post(
                "/report/follow-up", data={"receipt": receipt, "csrf_token": token}
            )
            assert login.status_code == 303
            assert browser.get("/report/case").status_code == 200
            browser.post(
                "/report/case/messages",
                data={"text": "more facts", "csrf_token": token},
                files=[("files", ("", b"", "application/octet-stream"))],
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        root.removeHandler(capture)
        root.setLevel(old_level)
    logged = "\n".join(capture.lines)
    assert capture.lines  # logging was really on
    assert CLIENT_IP not in logged
    assert USER_AGENT not in logged and "agent-7c1e" not in logged
    engine.dispose()
    path = make_url(database_url).database
    stored = _read_database_files(path)
    for marker in (CLIENT_IP, "agent-7c1e"):
        assert marker.encode() not in stored
        assert marker.encode().hex().encode() not in stored


def _read_database_files(path: str) -> bytes:
    """Return the bytes of a SQLite database and its write-ahead log."""
    from pathlib import Path

    return b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if os.path.exists(p))


def anon_token_for(settings) -> str:
    from backend.auth.service import anonymous_csrf_token

    return anonymous_csrf_token(settings.resolved_secret_key())


# --- nothing readable at rest -----------------------------------------------------------------

MARKERS = {
    "answer": "ANSWER-MARKER-5e8d1",
    "who": "WHO-MARKER-77aa0",
    "identity": "IDENTITY-MARKER-b21c4",
    "reporter_message": "REPORTERMSG-MARKER-0f9e2",
    "reply": "REPLY-MARKER-c4d11",
    "note": "NOTE-MARKER-9a0b3",
    "file": "FILECONTENT-MARKER-31f7e",
    "filename": "FILENAME-MARKER-e6d02",
    "staff_file": "STAFFFILE-MARKER-48cc5",
    # Case tracking and retaliation complaints
    "ack": "ACK-MARKER-1c0d7",
    "close_reason": "CLOSEREASON-MARKER-5b2e9",
    "feedback": "FEEDBACK-MARKER-a4f60",
    "reminder": "REMINDER-MARKER-e93c1",
    "complaint": "COMPLAINT-MARKER-0d7a2",
    "act": "ACT-MARKER-62bf8",
    "evidence": "EVIDENCE-MARKER-f1e35",
    "identity_reason": "IDREASON-MARKER-7e4a9",
    # Triage, questionnaires and retention
    "questionnaire": "QUESTIONNAIRE-MARKER-3d9f0",
    "priority_reason": "PRIORITY-MARKER-8c2b7",
    "hold_reason": "HOLDREASON-MARKER-61ae4",
}


def _seed_marked_case(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    # The channel's questionnaire: its answers are sealed with the report.
    reporting.add_question(
        session,
        channel=ready.channel,
        actor=ready.investigator,
        data=reporting.QuestionInput(text_es="¿Qué contrato?", text_en="Which contract?"),
        today=clock.today(settings),
    )
    session.commit()
    sent = submit_via_client(
        client,
        report_form_data(
            ready.channel.id,
            what=f"Facts {MARKERS['answer']}",
            who=MARKERS["who"],
            identity=f"My phone {MARKERS['identity']}",
            **{f"q-{ready.channel.id}-q1": MARKERS["questionnaire"]},
        ),
        files=[
            (
                "files",
                (f"{MARKERS['filename']}.txt", f"ledger {MARKERS['file']}".encode(), "text/plain"),
            )
        ],
    )
    assert sent.status_code == 200, sent.text
    receipt = receipt_from(sent.text)
    reference = session.exec(select(Report)).one().reference
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    for kind, text in (("reply", MARKERS["reply"]), ("note", MARKERS["note"])):
        response = client.post(
            f"/cases/{reference}/items",
            data={"kind": kind, "text": text, "csrf_token": csrf},
            files=[("files", ("staff.csv", f"a,{MARKERS['staff_file']}".encode(), "text/csv"))],
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    client.cookies.clear()
    client.post("/report/follow-up", data={"receipt": receipt, "csrf_token": anon_token(client)})
    response = client.post(
        "/report/case/messages",
        data={"text": MARKERS["reporter_message"], "csrf_token": anon_token(client)},
        files=[("files", ("", b"", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    # The markers really went in: the reporter reads them back decrypted.
    case = client.get("/report/case")
    assert MARKERS["reply"] in case.text and MARKERS["reporter_message"] in case.text
    assert MARKERS["note"] not in case.text  # internal notes never reach the reporter

    # A retaliation complaint through the receipt, with evidence.
    response = client.post(
        "/report/case/retaliation",
        data={
            "act_0": "transfer",
            "act_0_on": "",
            "act_0_text": MARKERS["act"],
            "narrative": MARKERS["complaint"],
            "csrf_token": anon_token(client),
        },
        files=[("files", ("memo.txt", f"memo {MARKERS['evidence']}".encode(), "text/plain"))],
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert MARKERS["complaint"] in client.get("/report/case/retaliation").text

    # The case goes through its lifecycle with a reminder, a closing reason and feedback.
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    for path, data in (
        ("priority", {"priority_level": "urgent", "priority_reason": MARKERS["priority_reason"]}),
        (
            "holds",
            {
                "hold_kind": "legal_hold",
                "hold_until": str(date.today() + timedelta(days=400)),
                "hold_reason": MARKERS["hold_reason"],
            },
        ),
    ):
        response = client.post(
            f"/cases/{reference}/{path}",
            data={**data, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    for path, data in (
        (
            "reminders",
            {"remind_on": str(date.today() + timedelta(days=30)), "note": MARKERS["reminder"]},
        ),
        ("acknowledge", {"text": MARKERS["ack"]}),
        ("status", {"status": "triage"}),
        (
            "status",
            {
                "status": "closed",
                "outcome": "referred",
                "reason": MARKERS["close_reason"],
                "feedback": MARKERS["feedback"],
            },
        ),
    ):
        response = client.post(
            f"/cases/{reference}/{path}",
            data={**data, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    page = client.get(f"/cases/{reference}").text
    assert MARKERS["close_reason"] in page and MARKERS["reminder"] in page
    for name in ("questionnaire", "priority_reason", "hold_reason"):
        assert MARKERS[name] in page, name

    # An identity request, decided with a reason the reporter is told.
    report = session.exec(select(Report)).one()
    request = reporting.request_identity(
        session,
        access=open_as(session, ready.investigator, reference),
        actor=ready.investigator,
        reason="We must interview the reporter about the invoices.",
    )
    session.commit()
    reporting.decide_identity_request(
        session,
        officer=officer,
        holder_private=holder_private(session, officer),
        request_id=request.id,
        approve=False,
        note=MARKERS["identity_reason"],
    )
    session.commit()
    assert report.status == "closed"


def _assert_no_markers(blob: bytes, where: str) -> None:
    for name, marker in MARKERS.items():
        for form in (marker.encode(), marker.encode().hex().encode(), marker.encode("utf-16-le")):
            assert form not in blob, f"{name} marker readable in {where}"


def _attachment_store(settings) -> bytes:
    files = [p for p in settings.attachments_dir.rglob("*") if p.is_file()]
    assert len(files) == 4  # the report's file, two staff files, the complaint's evidence
    return b"".join(p.read_bytes() for p in files) + "".join(p.name for p in files).encode()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_raw_sqlite_file_and_attachment_store_hold_no_plaintext(
    client, session, settings, make_user, database_url
):
    _seed_marked_case(client, session, settings, make_user)
    client.app.state.engine.dispose()
    session.close()
    path = make_url(database_url).database
    raw = _read_database_files(path)
    assert len(raw) > 10_000
    _assert_no_markers(raw, "the SQLite file")
    _assert_no_markers(_attachment_store(settings), "the attachment store")


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_pg_dump_and_attachment_store_hold_no_plaintext(
    client, session, settings, make_user, database_url
):
    pg_dump = _pg_bin("pg_dump")
    if pg_dump is None:
        missing("pg_dump not found (PostgreSQL client binaries)")
    _seed_marked_case(client, session, settings, make_user)
    url = make_url(database_url)
    command = [
        pg_dump,
        "-h",
        url.host,
        "-p",
        str(url.port),
        "-U",
        url.username or "postgres",
        "--no-password",
        url.database,
    ]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    dump = subprocess.run(command, check=True, capture_output=True, timeout=120).stdout
    assert b"CREATE TABLE public.report_item" in dump
    assert b"COPY public.report_item" in dump
    _assert_no_markers(dump, "pg_dump")
    _assert_no_markers(_attachment_store(settings), "the attachment store")


def test_admin_configures_channels_but_cannot_open_reports(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    submit_via_client(client, report_form_data(ready.channel.id))
    reference = session.exec(select(Report)).one().reference
    admin = make_user("admin")
    from tests.conftest import login

    client.cookies.clear()
    csrf = login(client, admin.email)
    channels = client.get("/cases/channels")
    assert channels.status_code == 200 and "<h1>Reporting channels</h1>" in channels.text
    assert ready.channel.name_en in channels.text and ready.investigator.full_name in channels.text
    assert client.get("/cases").status_code == 403
    assert client.get(f"/cases/{reference}").status_code == 403
    response = client.post(
        f"/cases/channels/{ready.channel.id}",
        data={
            "code": ready.channel.code,
            "name_es": "Fraude",
            "name_en": "Fraud",
            "description_es": "",
            "description_en": "",
            "is_active": "yes",
            "order": "5",
            "recipients": [str(ready.investigator.id)],
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with Session(client.app.state.engine) as db:
        assert db.get(type(ready.channel), ready.channel.id).name_en == "Fraud"


def test_uploads_are_never_spooled_to_temporary_files(
    client, session, settings, make_user, monkeypatch
):
    import tempfile

    ready = ready_channel(session, settings, make_user)

    def refuse_disk(self):
        raise AssertionError("an upload was about to be written to a temporary file")

    # Starlette spools parts above 1 MB to disk by default; ours must stay in memory.
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", refuse_disk)
    big_text = b"a plain line of evidence\n" * 150_000  # about 3.6 MB
    response = submit_via_client(
        client,
        report_form_data(ready.channel.id),
        files=[("files", ("evidence.txt", big_text, "text/plain"))],
    )
    assert response.status_code == 200, response.text[:500]
    stored = [p for p in settings.attachments_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1 and b"plain line of evidence" not in stored[0].read_bytes()


def test_an_oversized_request_is_refused_before_it_is_read(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    settings.max_request_bytes = 1024 * 1024
    response = submit_via_client(
        client,
        report_form_data(ready.channel.id),
        files=[("files", ("big.txt", b"x" * (2 * 1024 * 1024), "text/plain"))],
    )
    assert response.status_code == 413
    assert session.exec(select(Report)).all() == []


def test_admin_creates_a_channel_and_bad_input_keeps_what_was_typed(client, make_user):
    from tests.conftest import login

    admin = make_user("admin")
    investigator = make_user("investigator")
    csrf = login(client, admin.email)
    fields = {
        "code": "",
        "name_es": "Obras",
        "name_en": "",
        "description_es": "",
        "description_en": "",
        "order": "50",
        "is_active": "yes",
        "recipients": [str(investigator.id)],
        "csrf_token": csrf,
    }
    refused = client.post("/cases/channels/new", data=fields)
    assert refused.status_code == 422 and 'value="Obras"' in refused.text
    fields.update(code="public works", name_en="Public works")
    response = client.post("/cases/channels/new", data=fields, follow_redirects=False)
    assert response.status_code == 303
    listing = client.get("/cases/channels")
    assert "public_works" in listing.text and investigator.full_name in listing.text
