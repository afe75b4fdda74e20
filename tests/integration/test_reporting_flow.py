"""The reporting channel end to end through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from backend import audit
from tests.reporting_helpers import (
    anon_token,
    ready_channel,
    receipt_from,
    report_form_data,
    staff_login,
    submit_via_client,
)
from whistleblowing.models import Report


def test_report_reply_and_follow_up_full_flow(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    response = submit_via_client(
        client,
        report_form_data(ready.channel.id),
        files=[("files", ("notes.txt", b"ledger line 42 paid twice", "text/plain"))],
    )
    assert response.status_code == 200, response.text
    receipt = receipt_from(response.text)
    report = session.exec(select(Report)).one()
    assert report.reference in response.text

    # The investigator signs in with TOTP, sees the report, reads it, replies and asks.
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    inbox = client.get("/cases")
    assert report.reference in inbox.text
    dashboard = client.get("/")
    assert "Reporting channel" in dashboard.text and report.reference in dashboard.text
    page = client.get(f"/cases/{report.reference}")
    assert page.status_code == 200
    assert "Invoices for gloves paid twice" in page.text
    assert "notes.txt" in page.text
    response = client.post(
        f"/cases/{report.reference}/items",
        data={"kind": "acknowledgement", "text": "We received your report.", "csrf_token": csrf},
        files=[("files", ("", b"", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    response = client.post(
        f"/cases/{report.reference}/items",
        data={"kind": "question", "text": "Which supplier was it?", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    actions = [e.action for e in session.exec(select(audit.AuditEntry)).all()]
    assert "report.read" in actions
    assert "report.acknowledgement_added" in actions

    # The reporter comes back with the receipt, reads the question and answers it.
    client.cookies.clear()
    response = client.post(
        "/report/follow-up?lang=en",
        data={"receipt": receipt.lower(), "csrf_token": anon_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "path=/report/case" in cookie.lower()
    case = client.get("/report/case?lang=en")
    assert case.status_code == 200
    assert "We received your report." in case.text
    assert "Which supplier was it?" in case.text
    question_uid = case.text.split('name="reply_to" value="')[1].split('"')[0]
    response = client.post(
        "/report/case/messages?lang=en",
        data={
            "text": "Proveedora Ejemplo SA",
            "reply_to": question_uid,
            "csrf_token": anon_token(client),
        },
        files=[("files", ("", b"", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    case = client.get("/report/case?lang=en")
    assert "Proveedora Ejemplo SA" in case.text
    assert "Acknowledged" in case.text
    certificate = client.get("/report/case/certificate")
    assert certificate.status_code == 200
    assert report.reference in certificate.text
    attachment_link = case.text.split('href="/report/case/attachments/')[1].split("?")[0]
    download = client.get(f"/report/case/attachments/{attachment_link}")
    assert download.content == b"ledger line 42 paid twice"
    assert download.headers["content-disposition"].startswith("attachment")


def test_expired_reporter_session_asks_for_the_receipt_again(
    client, session, settings, make_user, monkeypatch
):
    import time

    from whistleblowing import service as reporting
    from whistleblowing.service import reporter as reporter_service

    ready = ready_channel(session, settings, make_user)
    receipt = receipt_from(submit_via_client(client, report_form_data(ready.channel.id)).text)
    client.post("/report/follow-up", data={"receipt": receipt, "csrf_token": anon_token(client)})
    case = client.get("/report/case?lang=es")
    assert case.status_code == 200
    reference = session.exec(select(Report)).one().reference
    assert f"<h1>Tu denuncia <code>{reference}</code></h1>" in case.text
    assert '<dd id="report-status">Recibida</dd>' in case.text
    assert (
        '<dt>¿Qué pasó?</dt><dd class="message-text">Invoices for gloves paid twice</dd>'
        in case.text
    )
    later = time.time() + reporting.REPORTER_SESSION_MINUTES * 60 + 60
    monkeypatch.setattr(reporter_service, "_clock", lambda: later)
    page = client.get("/report/case?lang=en")
    assert page.status_code == 401
    assert "Your session has ended. Enter your receipt again to continue." in page.text
    assert 'merito_report=""' in page.headers["set-cookie"]
    response = client.post(
        "/report/case/messages",
        data={"text": "late message", "csrf_token": anon_token(client)},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert response.status_code == 401


def test_wrong_receipt_gets_one_translated_message(client, session, settings, make_user):
    ready_channel(session, settings, make_user)
    for receipt, lang, text in (
        ("nonsense", "en", "This receipt was not recognised. Check it and try again."),
        ("0000-0000-0000-0000-0000-0000", "es", "No se reconoció este comprobante."),
    ):
        page = client.post(
            f"/report/follow-up?lang={lang}",
            data={"receipt": receipt, "csrf_token": anon_token(client)},
        )
        assert page.status_code == 401
        assert text in page.text


def test_revoked_investigator_sees_a_clear_refusal(client, session, settings, make_user):
    from tests.reporting_helpers import add_holder
    from whistleblowing import service as reporting

    ready = ready_channel(session, settings, make_user)
    colleague = add_holder(session, settings, make_user, "investigator")
    submit_via_client(client, report_form_data(ready.channel.id))
    report = session.exec(select(Report)).one()
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    response = client.post(
        f"/cases/{report.reference}/grants",
        data={"user_id": str(colleague.id), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.cookies.clear()
    staff_login(client, colleague.email)
    granted = client.get(f"/cases/{report.reference}")
    assert granted.status_code == 200 and report.reference in granted.text
    assert "Invoices for gloves paid twice" in granted.text  # decrypted with the grant
    assert "Central warehouse" in granted.text
    reporting.revoke_access(session, report=report, actor=ready.investigator, user_id=colleague.id)
    session.commit()
    page = client.get(f"/cases/{report.reference}")
    # Withdrawn, never given or unknown: one answer, so a reference cannot be probed.
    assert page.status_code == 404
    assert "You hold no report with this reference." in page.text
    assert client.get("/cases/WB-0000-0000").status_code == 404
