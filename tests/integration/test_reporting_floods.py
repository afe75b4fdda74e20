"""A channel nobody can jam (issue #16): tagged receipts, the submission challenge, reports held
during a flood, the reporter's meeting request and the competent authorities on the channel
page. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from backend import clock, crypto
from backend.config import Settings
from tests.reporting_helpers import (
    anon_token,
    file_report,
    open_as,
    ready_channel,
    receipt_from,
    report_form_data,
    reporter_of,
    staff_login,
    submit_via_client,
)
from whistleblowing import deadlines
from whistleblowing import service as reporting
from whistleblowing.models import (
    ExternalAuthority,
    ItemKind,
    Notification,
    ReceiptThrottle,
    Report,
    ReportItem,
)
from whistleblowing.service import receipts as receipts_service

# What docs/reporting.md promises a reporter with a right receipt while forged ones flood in.
LOGIN_DELAY_BOUND_SECONDS = 2.0


class _Statements:
    """Count the SQL statements an engine runs while the block is open."""

    def __init__(self, engine) -> None:
        self.engine, self.count = engine, 0

    def _seen(self, *_args, **_kwargs) -> None:
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _forged_from(receipt: str) -> str:
    """Return `receipt` with its last symbol changed: the tag no longer fits the random part."""
    last = "1" if receipt[-1] == "0" else "0"
    return receipt[:-1] + last


# --- receipts carry a keyed tag ---------------------------------------------------------------


def test_a_receipt_is_its_random_part_and_a_tag_typed_in_any_form(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    receipt = file_report(session, settings, ready.channel.id).receipt
    groups = receipt.split("-")
    assert [len(g) for g in groups] == [4] * 7
    parsed = reporting.parse_receipt(receipt.lower().replace("-", " ").replace("0", "o"))
    assert parsed.random_part == "-".join(groups[:6]) and parsed.tag == groups[6]
    # The tag is keyed: another installation's secret makes another tag for the same part.
    other = Settings(
        **{**settings.model_dump(), "secret_key": "another-secret-0123456789-abcdefghij"}
    )
    assert reporting.with_tag(other, parsed.random_part) != receipt
    # Typed loosely, it still opens the report.
    access = reporter_of(session, settings, receipt.lower().replace("-", " "))
    assert access.report.reference


def test_a_forged_receipt_is_refused_before_any_lookup_or_key_derivation(
    session, settings, make_user, engine, monkeypatch
):
    ready = ready_channel(session, settings, make_user)
    receipt = file_report(session, settings, ready.channel.id).receipt
    derived = []
    real_lookup = crypto.receipt_lookup
    monkeypatch.setattr(
        crypto, "receipt_lookup", lambda *a, **k: derived.append(1) or real_lookup(*a, **k)
    )
    # The old 24-symbol form: no report still uses one, which is learnt once and remembered.
    with pytest.raises(reporting.ReportingError):
        reporting.receipt_login(session, settings, receipt=crypto.new_receipt())
    session.commit()
    with _Statements(engine) as statements:
        for forged in (_forged_from(receipt), crypto.new_receipt(), "nonsense", receipt[:-2]):
            with pytest.raises(reporting.ReportingError) as refused:
                reporting.receipt_login(session, settings, receipt=forged)
            assert refused.value.status_code == 401
    assert statements.count == 0
    assert derived == []
    assert session.get(ReceiptThrottle, receipts_service.LOGIN_BUDGET).full_at == 0
    # The right receipt reaches the lookup.
    reporter_of(session, settings, receipt)
    assert derived == [1]


def test_receipts_issued_before_tags_open_through_a_budget_of_their_own(
    session, settings, make_user, monkeypatch
):
    frozen = time.time()
    monkeypatch.setattr(receipts_service, "_clock", lambda: frozen)
    ready = ready_channel(session, settings, make_user)
    old = file_report(session, settings, ready.channel.id)
    new = file_report(session, settings, ready.channel.id)
    # As migration 0020 leaves a report filed before tags: its reporter has the random part.
    old.report.receipt_tagged = False
    session.add(old.report)
    session.commit()
    untagged = reporting.parse_receipt(old.receipt).random_part
    assert reporter_of(session, settings, untagged).report.id == old.report.id
    assert reporting.tag_to_add(settings, untagged) == old.receipt.split("-")[-1]
    assert reporting.tag_to_add(settings, old.receipt) is None
    # Forgeries in the old form spend only the old form's budget...
    for _ in range(int(reporting.RECEIPT_BUCKET_CAPACITY) + 1):
        with pytest.raises(reporting.ReportingError) as refused:
            reporting.receipt_login(session, settings, receipt=crypto.new_receipt())
    assert refused.value.status_code == 429
    # ...so tagged receipts, the old report's with its tag too, still open at once.
    assert reporter_of(session, settings, new.receipt).report.id == new.report.id
    assert reporter_of(session, settings, old.receipt).report.id == old.report.id
    # Once no report is left with an untagged receipt, the old form is refused for free.
    old.report.reporter_access_ended_on = clock.today(settings)
    session.add(old.report)
    session.commit()
    assert not receipts_service.legacy_receipts_open(session)


def test_a_forged_receipt_flood_never_keeps_a_reporter_out(app, session, settings, make_user):
    """50 forged receipts a second for 60 s (MERITO_FLOOD_SECONDS), from another process,
    against a live server on loopback; a real reporter signs in every two seconds meanwhile and
    must get in every time, within LOGIN_DELAY_BOUND_SECONDS (bench/receipt_flood.py)."""
    from bench import receipt_flood
    from tests.browser.conftest import LiveServer

    seconds = float(os.environ.get("MERITO_FLOOD_SECONDS", "60"))
    rate = 50
    ready = ready_channel(session, settings, make_user)
    real = file_report(session, settings, ready.channel.id).receipt
    csrf = anon_token(type("C", (), {"app": app}))
    server = LiveServer(app)
    server.start()
    try:
        # Warm, as a server in service is: templates compiled, connections open.
        receipt_flood.reporter_logins(server.url, csrf, real, 0.1)
        receipt_flood.flood(server.url, csrf, rate=20, seconds=0.5, workers=2)
        attacker = receipt_flood.start_flood(server.url, csrf, rate, seconds)
        started = time.monotonic()
        try:
            # Raises at once if the real receipt is refused even once.
            delays = receipt_flood.reporter_logins(server.url, csrf, real, seconds - 1)
        finally:
            flood = receipt_flood.flood_result(attacker, seconds + 120)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert len(delays) >= seconds / 2 - 1
    assert max(delays) < LOGIN_DELAY_BOUND_SECONDS, sorted(delays)[-5:]
    # The flood ran at its rate, and every forgery was refused as unrecognised, for free.
    assert flood["sent"] >= 0.9 * rate * elapsed
    assert set(flood["statuses"]) == {"401"}
    session.expire_all()
    assert session.get(ReceiptThrottle, receipts_service.LOGIN_BUDGET).full_at == 0


# --- a flood of new reports -------------------------------------------------------------------


def _challenge_of(page: str) -> tuple[str, int]:
    import re

    token = re.search(r'name="challenge_token" value="([^"]+)"', page).group(1)
    first, second = (int(x) for x in re.search(r"How much is (\d+) plus (\d+)\?", page).groups())
    return token, first + second


def test_a_submission_flood_asks_the_question_and_a_real_report_still_gets_through(
    client, session, settings, make_user
):
    settings.report_submissions_per_hour = 2
    ready = ready_channel(session, settings, make_user)
    for _ in range(2):
        assert submit_via_client(client, report_form_data(ready.channel.id)).status_code == 200
    data = report_form_data(ready.channel.id, what="The tender was split to avoid review")
    asked = submit_via_client(client, data)
    assert asked.status_code == 422
    assert "Many reports are arriving right now" in asked.text
    assert "The tender was split to avoid review" in asked.text  # what was typed is kept
    token, answer = _challenge_of(asked.text)
    # A wrong answer asks again; nothing is filed.
    wrong = submit_via_client(
        client, {**data, "challenge_token": token, "challenge_answer": str(answer + 1)}
    )
    assert wrong.status_code == 422 and "That answer is not right" in wrong.text
    assert len(session.exec(select(Report)).all()) == 2
    # An answer is bound to its form: it cannot file another report.
    other = report_form_data(ready.channel.id)
    reused = submit_via_client(
        client, {**other, "challenge_token": token, "challenge_answer": str(answer)}
    )
    assert reused.status_code == 422
    # The person answers: the report is filed, its clocks wait for confirmation.
    token, answer = _challenge_of(wrong.text)
    sent = submit_via_client(
        client, {**data, "challenge_token": token, "challenge_answer": str(answer)}
    )
    assert sent.status_code == 200, sent.text[:500]
    assert "the team first confirms that yours is genuine" in sent.text
    receipt = receipt_from(sent.text)
    held = reporter_of(session, settings, receipt).report
    assert held.awaiting_confirmation
    assert held.ack_due_on == held.feedback_due_on == deadlines.CLOCK_NOT_STARTED
    # In Spanish too, the question is text.
    asked_es = client.post(
        "/report/new?lang=es",
        data={**report_form_data(ready.channel.id), "csrf_token": anon_token(client)},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert "¿Cuánto es" in asked_es.text


def test_legal_clocks_of_a_flood_report_start_only_when_an_investigator_confirms_it(
    client, session, settings, make_user
):
    settings.report_submissions_per_hour = 1
    ready = ready_channel(session, settings, make_user)
    submit_via_client(client, report_form_data(ready.channel.id))
    data = report_form_data(ready.channel.id)
    token, answer = _challenge_of(submit_via_client(client, data).text)
    sent = submit_via_client(
        client, {**data, "challenge_token": token, "challenge_answer": str(answer)}
    )
    held = reporter_of(session, settings, receipt_from(sent.text)).report
    # Weeks later nothing is overdue, no reminder goes out, and it cannot be acknowledged yet;
    # the report filed before the flood has its notices.
    later = clock.today(settings) + timedelta(days=40)
    reporting.run_deadlines(session, today=later)
    session.commit()
    notices = session.exec(select(Notification.report_id)).all()
    assert held.id not in notices
    assert [r for r in notices if r is not None]
    access = open_as(session, ready.investigator, held.reference)
    assert reporting.Step.confirm in reporting.allowed_steps(access, ready.investigator)
    assert reporting.Step.acknowledge not in reporting.allowed_steps(access, ready.investigator)
    csrf = staff_login(client, ready.investigator.email)
    page = client.get(f"/cases/{held.reference}")
    assert "Confirm as genuine" in page.text and "starts when confirmed" in page.text
    refused = client.post(
        f"/cases/{held.reference}/acknowledge",
        data={"text": "Received", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert refused.status_code in (303, 409)
    session.expire_all()
    assert session.get(Report, held.id).acknowledged_on is None
    confirmed = client.post(
        f"/cases/{held.reference}/confirm", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert confirmed.status_code == 303
    session.expire_all()
    report = session.get(Report, held.id)
    today = clock.today(settings)
    assert not report.awaiting_confirmation and report.confirmed_on == today
    assert report.ack_due_on == deadlines.acknowledgement_due(today)
    assert report.feedback_due_on == deadlines.feedback_due(today)
    again = client.post(
        f"/cases/{held.reference}/confirm", data={"csrf_token": csrf}, follow_redirects=False
    )
    session.expire_all()
    assert again.status_code in (303, 409) and session.get(Report, held.id).confirmed_on == today


# --- Art. 9(2): a meeting or a call -----------------------------------------------------------


def test_a_meeting_request_is_sealed_like_a_message_and_counted(
    client, session, settings, make_user
):
    from whistleblowing.routes.common import REPORTER_COOKIE

    ready = ready_channel(session, settings, make_user)
    receipt = file_report(session, settings, ready.channel.id).receipt
    csrf = anon_token(client)
    login = client.post(
        "/report/follow-up?lang=en",
        data={"receipt": receipt, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert login.status_code == 303 and REPORTER_COOKIE in login.cookies
    client.cookies.set(REPORTER_COOKIE, login.cookies[REPORTER_COOKIE], path="/report/case")
    page = client.get("/report/case?lang=en")
    assert "Ask for a meeting or a call" in page.text
    missing = client.post(
        "/report/case/meeting?lang=en",
        data={"meeting_mode": "", "meeting_text": "Tuesdays after six", "csrf_token": csrf},
    )
    assert missing.status_code == 422 and "Tuesdays after six" in missing.text
    asked = client.post(
        "/report/case/meeting?lang=en",
        data={"meeting_mode": "phone", "meeting_text": "Tuesdays after six", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    item = session.exec(
        select(ReportItem).where(ReportItem.kind == ItemKind.meeting_request.value)
    ).one()
    assert b"Tuesdays" not in item.sealed and b"phone" not in item.sealed
    report = session.exec(select(Report)).one()
    access = open_as(session, ready.investigator, report.reference)
    [entry] = [
        e for e in reporting.timeline(session, access=access) if e.kind is ItemKind.meeting_request
    ]
    assert entry.content["meeting_mode"] == "phone" and entry.by_reporter
    assert reporting.evaluation(session, threshold=1).meeting_requests == 1
    assert reporting.evaluation(session, threshold=5).meeting_requests is None


# --- the channel page: competent authorities --------------------------------------------------


def test_administrators_list_competent_authorities_on_the_channel_page(
    client, session, settings, make_user
):
    admin = make_user("admin")
    csrf = staff_login(client, admin.email)
    bad = client.post(
        "/cases/authorities/new",
        data={"name_es": "Fiscalía", "name_en": "", "url": "ftp://x", "csrf_token": csrf},
    )
    assert bad.status_code == 422 and 'value="Fiscalía"' in bad.text
    assert "Enter a web address that starts with https://." in bad.text
    assert session.exec(select(ExternalAuthority)).all() == []
    saved = client.post(
        "/cases/authorities/new",
        data={
            "name_es": "Órgano Interno de Control",
            "name_en": "Internal Control Body",
            "description_es": "Faltas administrativas.",
            "description_en": "Administrative misconduct.",
            "url": "https://example.gob.mx/denuncias",
            "is_active": "yes",
            "order": "10",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    client.cookies.clear()
    english = client.get("/report?lang=en").text
    spanish = client.get("/report?lang=es").text
    assert "Internal Control Body" in english and "Administrative misconduct." in english
    assert "Órgano Interno de Control" in spanish and "https://example.gob.mx/denuncias" in spanish
