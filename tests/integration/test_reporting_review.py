"""The reporting channel's security review (issue #21): names re-checked on every new holder,
an exact receipt budget under concurrency, reporter sessions that keep no time of day, row ids
that do not order reporters' writes among staff actions, and safe statistics downloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend import clock
from backend.files import content_disposition
from tests.conftest import login
from tests.reporting_helpers import (
    add_holder,
    file_report,
    holder_private,
    open_as,
    ready_channel,
)
from whistleblowing import jobs as wb_jobs
from whistleblowing import service as cases
from whistleblowing import service as reporting
from whistleblowing.models import HolderKey, KeyKind, Report, ReportChannel, ReportKeyWrap
from whistleblowing.service import receipts as receipts_service
from whistleblowing.service import reporter as reporter_service
from whistleblowing.service.sealing import _add_wrap

# --- names re-checked for everyone who receives a report later (item 1) ----------------------


def _freeze(monkeypatch, moment) -> None:
    """Stand the reporter's clock and the budgets' clock still at `moment()`."""
    monkeypatch.setattr(reporter_service, "_clock", moment)
    monkeypatch.setattr(receipts_service, "_clock", moment)


def _rename(session, user, name):
    user.full_name = name
    session.add(user)
    session.commit()
    return user


def _report_naming_another_channels_investigator(session, settings, make_user):
    """Channel A's report names Marta Salinas, an investigator of channel B only: at
    submission she was nobody channel A's reports could reach, so nothing recorded her."""
    ready = ready_channel(session, settings, make_user)
    _rename(session, ready.investigator, "Pablo Ocampo")
    marta = _rename(
        session, add_holder(session, settings, make_user, "investigator"), "Marta Salinas"
    )
    channel_b = session.exec(
        select(ReportChannel).where(ReportChannel.code == "hr_misconduct")
    ).one()
    reporting.set_channel_recipients(
        session, actor=ready.investigator, channel=channel_b, user_ids=[marta.id]
    )
    report = file_report(
        session, settings, ready.channel.id, who="The approvals were signed by SALINAS, Marta."
    ).report
    return ready, marta, report


def _holds(session, user, report) -> bool:
    return (
        session.exec(
            select(ReportKeyWrap).where(
                ReportKeyWrap.report_id == report.id, ReportKeyWrap.user_id == user.id
            )
        ).first()
        is not None
    )


def test_a_report_cannot_be_granted_to_an_investigator_of_another_channel_it_names(
    session, settings, make_user
):
    ready, marta, report = _report_naming_another_channels_investigator(
        session, settings, make_user
    )
    access = open_as(session, ready.investigator, report.reference)
    barred = reporting.barred_from_case(session, access)
    assert marta.id in barred.named
    assert marta not in reporting.grant_candidates(session, report, barred=barred.everyone)
    with pytest.raises(reporting.ReportingError) as refused:
        reporting.grant_access(session, access=access, actor=ready.investigator, grantee=marta)
    assert refused.value.status_code == 409
    session.rollback()
    assert not _holds(session, marta, report)
    # Someone the report does not name can still be given it.
    other = _rename(
        session, add_holder(session, settings, make_user, "investigator"), "Luis Ferrer"
    )
    access = open_as(session, ready.investigator, report.reference)
    reporting.grant_access(session, access=access, actor=ready.investigator, grantee=other)
    assert _holds(session, other, report)


def test_a_case_cannot_be_handed_over_to_a_person_it_names(session, settings, make_user):
    ready, marta, report = _report_naming_another_channels_investigator(
        session, settings, make_user
    )
    access = open_as(session, ready.investigator, report.reference)
    with pytest.raises(reporting.ReportingError) as refused:
        cases.hand_over(
            session,
            access=access,
            actor=ready.investigator,
            reason="Going on leave for a month.",
            to_user=marta,
            today=clock.today(settings),
        )
    assert refused.value.status_code == 409
    session.rollback()
    assert not _holds(session, marta, report)


def test_a_named_holder_from_before_the_fix_is_never_made_the_handler(session, settings, make_user):
    ready, marta, report = _report_naming_another_channels_investigator(
        session, settings, make_user
    )
    access = open_as(session, ready.investigator, report.reference)
    # A wrap given before grants re-checked names (the state the review found).
    _add_wrap(
        session,
        report,
        key_kind=KeyKind.report,
        private=access.private_key,
        user_id=marta.id,
        public_key=session.get(HolderKey, marta.id).public_key,
    )
    session.commit()
    today = clock.today(settings)
    access = open_as(session, ready.investigator, report.reference)
    with pytest.raises(reporting.ReportingError):
        cases.hand_over(
            session,
            access=access,
            actor=ready.investigator,
            reason="Going on leave for a month.",
            to_user=marta,
            today=today,
        )
    session.rollback()
    access = open_as(session, ready.investigator, report.reference)
    with pytest.raises(reporting.ReportingError):
        cases.assign(session, access=access, actor=ready.investigator, assignee=marta, today=today)
    session.rollback()
    assert session.get(Report, report.id).assignee_id != marta.id


def test_a_deputy_the_report_names_never_takes_it_over(session, settings, make_user):
    ready, marta, report = _report_naming_another_channels_investigator(
        session, settings, make_user
    )
    # Marta becomes channel A's deputy after the report came in.
    cases.set_channel_roles(
        session,
        actor=ready.investigator,
        channel=ready.channel,
        lead_user_id=None,
        deputy_user_id=marta.id,
    )
    session.commit()
    today = clock.today(settings)
    access = open_as(session, ready.investigator, report.reference)
    cases.assign(
        session, access=access, actor=ready.investigator, assignee=ready.investigator, today=today
    )
    session.commit()
    access = open_as(session, ready.investigator, report.reference)
    assert marta not in cases.successor_candidates(
        session, access=access, leaving=ready.investigator.id, today=today
    )
    # The default handover (deputy first) finds nobody else.
    with pytest.raises(reporting.ReportingError) as nobody:
        cases.hand_over(
            session,
            access=access,
            actor=ready.investigator,
            reason="Away for a month.",
            today=today,
        )
    assert nobody.value.status_code == 409
    session.rollback()
    # Going away with "hand my cases over": the case stays, it never goes to Marta.
    result = cases.record_absence(
        session,
        user=ready.investigator,
        holder_private=holder_private(session, ready.investigator),
        starts_on=today,
        ends_on=today + timedelta(days=10),
        hand_over_cases=True,
        today=today,
    )
    assert result.kept == [report.reference] and result.handed_over == []
    # Stepping aside for a conflict cannot hand it to her either.
    access = open_as(session, ready.investigator, report.reference)
    with pytest.raises(reporting.ReportingError):
        cases.declare_conflict(
            session,
            access=access,
            actor=ready.investigator,
            reason="My brother supplies the warehouse.",
            today=today,
        )
    session.rollback()
    # Nor does the deadline job: it escalates and hands over only among holders.
    cases.run_deadlines(session, today=report.feedback_due_on + timedelta(days=30))
    session.commit()
    assert not _holds(session, marta, report)
    assert (
        session.exec(select(Report.assignee_id).where(Report.id == report.id)).one()
        == ready.investigator.id
    )


def test_recovery_never_restores_a_report_to_a_person_it_names_or_whose_interest_it_touches(
    session, settings, make_user
):
    ready, marta, report = _report_naming_another_channels_investigator(
        session, settings, make_user
    )
    summary = reporting.restore_access(session, passphrase=ready.passphrase, to_user=marta)
    assert summary.reports == 0 and summary.withheld == 1
    assert not _holds(session, marta, report)
    # An investigator whose declared interest the report touches: withheld too.
    declarer = _rename(
        session, add_holder(session, settings, make_user, "investigator"), "Luis Ferrer"
    )
    cases.declare_interests(
        session,
        user=declarer,
        terms=["Salinas Marta"],
        unit_codes=[],
        today=clock.today(settings),
    )
    session.commit()
    summary = reporting.restore_access(session, passphrase=ready.passphrase, to_user=declarer)
    assert summary.reports == 0 and summary.withheld == 1
    # Someone the report neither names nor touches gets it back.
    other = _rename(
        session, add_holder(session, settings, make_user, "investigator"), "Rocío Beltrán"
    )
    summary = reporting.restore_access(session, passphrase=ready.passphrase, to_user=other)
    assert summary.reports == 1 and summary.withheld == 0
    assert _holds(session, other, report)


# --- statistics downloads (item 12) -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_statistics_year_is_checked_and_the_download_named_safely(
    client, session, settings, make_user, fmt
):
    ready = ready_channel(session, settings, make_user)
    file_report(session, settings, ready.channel.id)
    login(client, make_user("auditor").email)
    good = client.get(f"/cases/statistics.{fmt}?year=2026")
    assert good.status_code == 200
    assert good.headers["content-disposition"] == content_disposition(f"reporting-2026.{fmt}")
    everything = client.get(f"/cases/statistics.{fmt}")
    assert everything.headers["content-disposition"] == content_disposition(f"reporting-all.{fmt}")
    for hostile in (
        "€",
        "2026\r\nSet-Cookie: x=1",
        "2026\x00",
        '2026"; filename="x.exe',
        "²",
        "99999",
        "0",
        "-5",
        "1e3",
    ):
        refused = client.get(f"/cases/statistics.{fmt}", params={"year": hostile, "lang": "es"})
        assert refused.status_code == 422, hostile
        assert "content-disposition" not in refused.headers
        assert "Elija un año entre 2000 y 2100" in refused.text


def test_the_statistics_page_refuses_a_year_out_of_range(client, session, settings, make_user):
    login(client, make_user("auditor").email)
    assert client.get("/cases/statistics", params={"year": "99999"}).status_code == 422
    shown = client.get("/cases/statistics", params={"year": "2026"})
    assert shown.status_code == 200 and "<h1>Reporting statistics</h1>" in shown.text
    assert 'href="/cases/statistics.csv?year=2026"' in shown.text


# --- the receipt budget holds exactly under concurrency (item 4) ------------------------------

# Twice the budget, all at once: more than the SQLite pool's 15 connections, fewer than the
# PostgreSQL pool's 30 plus overflow; every request finishes within the timeout.
SIMULTANEOUS_RECEIPTS = 2 * int(reporting.RECEIPT_BUCKET_CAPACITY)


@pytest.mark.races
def test_simultaneous_wrong_receipts_run_exactly_the_budgeted_lookups(
    app, session, settings, make_user, monkeypatch
):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from backend import crypto
    from tests.browser.conftest import LiveServer
    from tests.reporting_helpers import anon_token

    ready_channel(session, settings, make_user)
    # The budget refills at one attempt every two seconds: the clock stands still here, so the
    # budget is exactly its capacity however long the burst takes.
    frozen = time.time()
    _freeze(monkeypatch, lambda: frozen)
    lookups = []
    lock = threading.Lock()
    real_lookup = crypto.receipt_lookup

    def counted_lookup(*args, **kwargs):
        with lock:
            lookups.append(1)
        time.sleep(0.2)  # as slow as the real Argon2id: the window a race needs
        return real_lookup(*args, **kwargs)

    monkeypatch.setattr(crypto, "receipt_lookup", counted_lookup)
    client_for_token = type("C", (), {"app": app})
    csrf = anon_token(client_for_token)
    server = LiveServer(app)
    server.start()
    try:

        def attempt(_n):
            return httpx.post(
                f"{server.url}/report/follow-up?lang=en",
                # Tagged by the server but opening nothing: what the budget counts.
                data={
                    "receipt": reporting.with_tag(settings, crypto.new_receipt()),
                    "csrf_token": csrf,
                },
                timeout=60,
            ).status_code

        with ThreadPoolExecutor(max_workers=SIMULTANEOUS_RECEIPTS) as pool:
            statuses = list(pool.map(attempt, range(SIMULTANEOUS_RECEIPTS)))
    finally:
        server.stop()
    budget = int(reporting.RECEIPT_BUCKET_CAPACITY)
    assert len(lookups) == budget
    assert sorted(statuses) == [401] * budget + [429] * (SIMULTANEOUS_RECEIPTS - budget)


# --- reporters leave no time of day, and no id that orders them among staff (item 6) ---------


def test_a_reporter_session_keeps_no_time_of_day_and_ends_without_other_reporters(
    session, settings, make_user, monkeypatch
):
    import time
    from datetime import date

    from sqlalchemy import DateTime, inspect

    from whistleblowing.models import ReceiptThrottle, ReporterSession

    ready = ready_channel(session, settings, make_user)
    receipt = file_report(session, settings, ready.channel.id).receipt
    columns = inspect(session.get_bind()).get_columns("reporter_session")
    assert not [c["name"] for c in columns if isinstance(c["type"], DateTime)]
    started = time.time()
    _freeze(monkeypatch, lambda: started)
    token, _report = reporting.receipt_login(session, settings, receipt=receipt)
    session.commit()
    row = session.exec(select(ReporterSession)).one()
    assert isinstance(row.expires_on, date)
    # A right receipt gives its attempt back: the budget's row shows no moment either.
    assert session.get(ReceiptThrottle, 1).full_at == 0
    assert reporting.reporter_access(session, token=token).by_reporter
    # 30 minutes later the session is over, though the row only knows its day.
    _freeze(monkeypatch, lambda: started + 30 * 60 + 1)
    with pytest.raises(reporting.ReporterSessionExpired):
        reporting.reporter_access(session, token=token)
    assert session.exec(select(ReporterSession)).all() == []
    # A session nobody comes back to goes with the periodic job, whoever else signs in or not.
    _freeze(monkeypatch, lambda: started)
    reporting.receipt_login(session, settings, receipt=receipt)
    session.commit()
    row = session.exec(select(ReporterSession)).one()
    assert wb_jobs.reporter_sessions_job(session, settings).startswith("0 ")
    row.expires_on = row.expires_on - timedelta(days=1)
    session.add(row)
    session.commit()
    assert wb_jobs.reporter_sessions_job(session, settings).startswith("1 ")
    session.commit()
    assert session.exec(select(ReporterSession)).all() == []


def test_a_failed_receipt_leaves_its_moment_only_until_the_budget_is_whole(
    session, settings, make_user, monkeypatch
):
    import time

    from backend import crypto
    from whistleblowing.models import ReceiptThrottle

    ready_channel(session, settings, make_user)
    started = time.time()
    _freeze(monkeypatch, lambda: started)
    with pytest.raises(reporting.ReportingError):
        reporting.receipt_login(
            session, settings, receipt=reporting.with_tag(settings, crypto.new_receipt())
        )
    assert session.get(ReceiptThrottle, 1).full_at > 0
    _freeze(monkeypatch, lambda: started + 60)
    wb_jobs.reporter_sessions_job(session, settings)
    session.commit()
    session.expire_all()
    assert session.get(ReceiptThrottle, 1).full_at == 0


def test_ids_do_not_order_what_a_reporter_writes_among_what_staff_do(session, settings, make_user):
    from tests.reporting_helpers import reporter_of
    from whistleblowing.models import ItemKind, Notification, ReportAttachment, ReportItem

    ready = ready_channel(session, settings, make_user)
    result = file_report(session, settings, ready.channel.id)
    report = result.report
    steps = [
        ("staff", ItemKind.reply, "Can you send the invoices?"),
        ("reporter", ItemKind.reporter_message, "Here they are."),
        ("staff", ItemKind.note, "Invoices received."),
        ("reporter", ItemKind.reporter_message, "One more thing."),
        ("staff", ItemKind.reply, "Thank you."),
    ]
    for who, kind, text in steps:
        if who == "staff":
            access = open_as(session, ready.investigator, report.reference)
            author = ready.investigator
        else:
            access, author = reporter_of(session, settings, result.receipt), None
        files = [reporting.Upload(f"{n}.txt", f"file {n} of {text}".encode()) for n in "abc"]
        reporting.add_item(
            session, settings, access=access, kind=kind, text=text, author=author, files=files
        )
        session.commit()
    item_ids = [
        i.id
        for i in session.exec(select(ReportItem).where(ReportItem.report_id == report.id)).all()
    ]
    file_ids = [a.id for a in session.exec(select(ReportAttachment)).all()]
    wrap_ids = [w.id for w in session.exec(select(ReportKeyWrap)).all()]
    for ids in (item_ids, file_ids, wrap_ids):
        # Random 63-bit ids: no run of consecutive numbers, spread far beyond a row count.
        ordered = sorted(ids)
        assert all(b - a > 1 for a, b in zip(ordered, ordered[1:], strict=False)), ids
        assert max(ids) > 2**40
    cases.run_deadlines(session, today=report.ack_due_on + timedelta(days=3))
    session.commit()
    assert min(n.id for n in session.exec(select(Notification)).all()) > 2**20
    # The conversation keeps its order all the same, files included, for staff and reporter.
    timeline = reporting.timeline(
        session, access=open_as(session, ready.investigator, report.reference)
    )
    assert [e.content["text"] for e in timeline[1:]] == [text for _w, _k, text in steps]
    assert [[a.name for a in e.attachments] for e in timeline[1:]] == [
        ["a.txt", "b.txt", "c.txt"]
    ] * 5
    mine = reporting.timeline(session, access=reporter_of(session, settings, result.receipt))
    assert [e.content["text"] for e in mine[1:]] == [t for _w, k, t in steps if k != ItemKind.note]
