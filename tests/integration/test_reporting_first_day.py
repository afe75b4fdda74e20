"""Issue #13, the reporting channel: what a first-day visitor meets on the demo, in Spanish.

- the SLA board speaks Spanish (its titles were never marked for translation);
- the reporter's retaliation page lets them leave and forget the session, like the case page;
- an act dated before the protected report is questioned once, and kept if the reporter says so;
- a certificate can be checked on a public page, in the reader's language, and with the command
  line in Spanish or English;
- `/report` is linked from the sign-in page, every page's footer and the dashboard, and a
  signed-in member of staff is warned that their session cookie travels with their browser.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from backend import i18n
from backend.deps import SESSION_COOKIE
from tests.conftest import login
from tests.reporting_helpers import (
    add_holder,
    anon_token,
    file_report,
    ready_channel,
    reporter_of,
    staff_login,
)
from whistleblowing import service as reporting
from whistleblowing.models import RetaliationComplaint
from whistleblowing.service import retaliation


@pytest.fixture
def filed(session, settings, make_user):
    """A report on a ready channel with a protection officer, and its receipt."""
    ready = ready_channel(session, settings, make_user)
    add_holder(session, settings, make_user, "protection_officer")
    return ready, file_report(session, settings, ready.channel.id)


def _receipt_login(client, receipt: str, lang: str = "es") -> None:
    response = client.post(
        f"/report/follow-up?lang={lang}",
        data={"receipt": receipt, "csrf_token": anon_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_sla_board_speaks_spanish(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    file_report(session, settings, ready.channel.id)
    staff_login(client, ready.investigator.email)
    client.cookies.set("merito_lang", "es")
    page = client.get("/cases/deadlines?lang=es")
    assert page.status_code == 200
    with i18n.use_locale("es"):
        for english in (
            "Acknowledgement due within 2 days",
            "Open cases nobody handles",
            "A message from the reporter waits for an answer",
        ):
            assert english not in page.text
            assert i18n._(english) in page.text


def test_the_retaliation_page_lets_the_reporter_leave_and_forget_the_session(client, filed):
    _ready, result = filed
    _receipt_login(client, result.receipt)
    page = client.get("/report/case/retaliation?lang=es")
    assert page.status_code == 200
    assert 'action="/report/case/logout?lang=es"' in page.text
    assert "Salir y olvidar esta sesión" in page.text


def _complaint_form(report, act_day, **extra) -> dict:
    return {
        "act_0": "transfer",
        "act_0_on": act_day.isoformat(),
        "act_0_text": "Moved to another unit",
        "narrative": "They moved me after I reported.",
        **extra,
    }


def test_an_act_before_the_report_is_questioned_once_and_kept_if_confirmed(client, session, filed):
    _ready, result = filed
    _receipt_login(client, result.receipt, "en")
    before = result.report.submitted_on - timedelta(days=40)
    data = _complaint_form(result.report, before, csrf_token=anon_token(client))
    warned = client.post("/report/case/retaliation?lang=en", data=data)
    assert warned.status_code == 422
    assert "before your report" in warned.text
    assert 'name="keep_early_acts"' in warned.text
    assert "Moved to another unit" in warned.text  # what they typed is kept
    assert session.exec(select(RetaliationComplaint)).first() is None

    kept = client.post(
        "/report/case/retaliation?lang=en",
        data={**data, "keep_early_acts": "yes"},
        follow_redirects=False,
    )
    assert kept.status_code == 303, kept.text
    session.expire_all()
    assert session.exec(select(RetaliationComplaint)).first() is not None


def test_an_act_on_or_after_the_report_needs_no_confirmation(session, settings, filed):
    _ready, result = filed
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=reporter_of(session, settings, result.receipt),
        data=retaliation.ComplaintInput(
            acts=[retaliation.AllegedAct("transfer", result.report.submitted_on)],
            narrative="Moved after my report.",
        ),
    )
    assert complaint.reference


def test_an_identified_complaint_questions_an_act_before_the_day_reported(
    session, settings, make_user, filed
):
    _ready, result = filed
    employee = make_user("employee")
    early = result.report.submitted_on - timedelta(days=3)
    data = retaliation.ComplaintInput(
        acts=[retaliation.AllegedAct("demotion", early)],
        narrative="Demoted.",
        report_reference=result.report.reference,
    )
    with pytest.raises(reporting.ReportingError) as refused:
        retaliation.file_identified(session, settings, user=employee, data=data)
    assert refused.value.field == "early_acts"
    session.rollback()
    data.keep_early_acts = True
    assert retaliation.file_identified(session, settings, user=employee, data=data).reference


# --- checking a certificate -------------------------------------------------------------------


def test_a_certificate_is_checked_on_a_public_page_in_the_readers_language(client, filed):
    _ready, result = filed
    raw = json.dumps(result.certificate).encode()
    form = client.get("/report/verify?lang=es")
    assert form.status_code == 200
    assert "set-cookie" not in form.headers

    def upload(data: bytes, lang: str):
        return client.post(
            f"/report/verify?lang={lang}",
            data={"csrf_token": anon_token(client)},
            files=[("certificate", ("certificado.json", data, "application/json"))],
        )

    valid = upload(raw, "es")
    assert valid.status_code == 200
    assert "Constancia de denuncia válida" in valid.text
    assert result.report.reference in valid.text
    assert "set-cookie" not in valid.headers
    english = upload(raw, "en")
    assert "Valid certificate of reporting" in english.text
    forged = upload(json.dumps(dict(result.certificate, submitted_on="2001-01-01")).encode(), "es")
    assert forged.status_code == 422
    assert "la firma no coincide" in forged.text
    assert "no es válida" in upload(b"not json", "es").text.lower()


def test_verify_certificate_speaks_spanish_by_default_and_english_on_request(
    tmp_path, monkeypatch, session, filed
):
    from typer.testing import CliRunner

    from backend.cli import app as cli
    from backend.config import get_settings

    _ready, result = filed
    monkeypatch.delenv("MERITO_DEFAULT_LOCALE", raising=False)
    get_settings.cache_clear()
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(result.certificate))
    runner = CliRunner()
    spanish = runner.invoke(cli, ["verify-certificate", str(path)])
    assert spanish.exit_code == 0, spanish.output
    assert "Constancia de denuncia válida" in spanish.output
    assert "Valid certificate" not in spanish.output
    english = runner.invoke(cli, ["verify-certificate", str(path), "--lang", "en"])
    assert "Valid certificate of reporting" in english.output
    monkeypatch.setenv("MERITO_DEFAULT_LOCALE", "en")
    get_settings.cache_clear()
    try:
        assert "Valid certificate" in runner.invoke(cli, ["verify-certificate", str(path)]).output
    finally:
        get_settings.cache_clear()


# --- finding /report --------------------------------------------------------------------------


def test_the_sign_in_page_and_every_footer_link_to_the_reporting_channel(client):
    for path in ("/login", "/report", "/report/new"):
        page = client.get(path)
        assert page.status_code == 200
        assert 'href="/report' in page.text.split("<footer", 1)[1], path
    assert 'href="/report' in client.get("/login").text.split("<footer", 1)[0]


def test_a_signed_in_employee_is_warned_before_following_the_link(client, make_user):
    make_user("employee", email="worker@example.org")
    login(client, "worker@example.org")
    dashboard = client.get("/")
    assert 'id="report-warning"' in dashboard.text
    assert "private window" in dashboard.text
    assert 'href="/report' in dashboard.text.split("<footer", 1)[0]


def test_the_report_page_warns_when_a_session_cookie_came_along_without_reading_it(client):
    quiet = client.get("/report?lang=en")
    assert 'id="session-cookie-warning"' not in quiet.text
    # Any value will do: the page notices the cookie's name and never looks the session up.
    client.cookies.set(SESSION_COOKIE, "not-a-session")
    warned = client.get("/report?lang=en")
    assert warned.status_code == 200
    assert 'id="session-cookie-warning"' in warned.text
    assert "private window" in warned.text
