"""Case tracking and retaliation complaints over HTTP: forms, errors, exports, pages."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time

from openpyxl import load_workbook
from sqlmodel import Session, select

from backend import clock
from tests.conftest import login
from tests.reporting_helpers import (
    add_holder,
    anon_token,
    file_report,
    ready_channel,
    report_form_data,
    staff_login,
    submit_via_client,
)
from whistleblowing import service as cases
from whistleblowing import service as reporting
from whistleblowing.models import (
    DETRIMENTAL_ACT_LABELS,
    DeclaredInterest,
    DetrimentalAct,
    Report,
    RetaliationComplaint,
)
from whistleblowing.service import reporter as reporter_service


def _fresh(client, model, **where):
    with Session(client.app.state.engine) as db:
        statement = select(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return db.exec(statement).first()


def test_triage_over_http_in_order_with_translated_refusals(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    csrf = staff_login(client, ready.investigator.email)
    page = client.get(f"/cases/{report.reference}")
    assert 'id="acknowledge-form"' in page.text and 'id="status-form"' not in page.text
    # Out of order: nothing changes, and the message says why, in the reader's language.
    skipped = client.post(
        f"/cases/{report.reference}/status?lang=es",
        data={"status": "investigating", "csrf_token": csrf},
    )
    # Shown on the case page (a GET, tests/integration/test_case_status_prg.py).
    assert skipped.url.path == f"/cases/{report.reference}"
    assert "Un caso avanza un paso a la vez" in skipped.text
    assert _fresh(client, Report, id=report.id).status == "received"
    acknowledged = client.post(
        f"/cases/{report.reference}/acknowledge",
        data={"text": "We received your report.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert acknowledged.status_code == 303
    for target in ("triage", "investigating"):
        moved = client.post(
            f"/cases/{report.reference}/status",
            data={"status": target, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert moved.status_code == 303, moved.text
    closing = client.post(
        f"/cases/{report.reference}/status",
        data={"status": "closed", "outcome": "substantiated", "reason": "", "csrf_token": csrf},
    )
    assert closing.url.path == f"/cases/{report.reference}"
    assert "Give the reason for closing the case." in closing.text
    stored = _fresh(client, Report, id=report.id)
    assert (stored.status, stored.acknowledged_on, stored.triage_on) == (
        "investigating",
        stored.investigation_on,
        stored.investigation_on,
    )
    page = client.get(f"/cases/{report.reference}")
    assert "Under investigation" in page.text and "We received your report." in page.text


def test_handling_forms_assign_remind_tag_and_link(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    one = file_report(session, settings, ready.channel.id).report
    two = file_report(session, settings, ready.channel.id).report
    admin = make_user("admin")
    csrf = login(client, admin.email)
    assert (
        client.post(
            "/cases/tags",
            data={
                "code": "warehouse",
                "name_es": "Almacén",
                "name_en": "Warehouse",
                "csrf_token": csrf,
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    base = f"/cases/{one.reference}"
    tag_id = re.search(r'name="tags" value="(\d+)"', client.get(base).text).group(1)
    for path, data in (
        ("assign", {"user_id": str(ready.investigator.id)}),
        ("reminders", {"remind_on": str(date.today() + timedelta(days=3)), "note": "Ask HR"}),
        ("tags", {"tags": [tag_id]}),
        ("links", {"other": two.reference}),
    ):
        response = client.post(
            f"{base}/{path}", data={**data, "csrf_token": csrf}, follow_redirects=False
        )
        assert response.status_code == 303, (path, response.text)
    page = client.get(base).text
    assert "Ask HR" in page and two.reference in page and f'value="{tag_id}" checked' in page
    inbox = client.get("/cases?assigned=mine&tag=" + tag_id)
    assert one.reference in inbox.text and two.reference not in inbox.text
    bad = client.post(f"{base}/reminders", data={"remind_on": "tomorrow", "csrf_token": csrf})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    board = client.get("/cases/deadlines")
    assert board.status_code == 200 and "Open cases nobody handles" in board.text


def test_declared_interests_keep_a_report_away_and_nothing_shows_the_declarer_it_was_withheld(
    client, session, settings, make_user, org
):
    ready = ready_channel(session, settings, make_user)
    declarer = add_holder(session, settings, make_user, "investigator")
    reporting.set_channel_recipients(
        session,
        actor=ready.investigator,
        channel=ready.channel,
        user_ids=[ready.investigator.id, declarer.id],
    )
    cases.set_channel_roles(
        session,
        actor=ready.investigator,
        channel=ready.channel,
        lead_user_id=ready.investigator.id,
        deputy_user_id=None,
    )
    session.commit()
    csrf = staff_login(client, declarer.email)
    empty = client.get("/cases/interests")
    assert empty.status_code == 200 and "<h1>My declared interests</h1>" in empty.text
    # Nothing declared yet: an empty form, no date of change, no channel led.
    assert re.search(r'<textarea id="f-terms" name="terms"[^>]*></textarea>', empty.text)
    assert re.search(r'<input id="f-units" name="units" value=""', empty.text)
    assert "Last changed on" not in empty.text and 'id="team-title"' not in empty.text
    wrong = client.post(
        "/cases/interests?lang=es",
        data={"terms": "Constructora del Norte", "units": "NOPE", "csrf_token": csrf},
    )
    assert wrong.status_code == 422 and "Ninguna unidad tiene la clave NOPE" in wrong.text
    assert "Constructora del Norte" in wrong.text  # what was typed is kept
    assert _fresh(client, DeclaredInterest, user_id=declarer.id) is None
    saved = client.post(
        "/cases/interests",
        data={
            "terms": "Constructora del Norte\nJuan Pérez",
            "units": "DEL-JAL",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 200 and 'id="interests-saved"' in saved.text
    shown = client.get("/cases/interests").text
    assert re.search(
        r'<textarea id="f-terms" name="terms"[^>]*>Constructora del Norte\nJuan Pérez</textarea>',
        shown,
    )
    assert '<input id="f-units" name="units" value="DEL-JAL"' in shown
    assert "Last changed on" in shown
    assert _fresh(client, DeclaredInterest, user_id=declarer.id).unit_ids == [org.delegation.id]
    client.cookies.clear()
    sent = submit_via_client(
        client, report_form_data(ready.channel.id, who="Constructora del Norte, S.A. de C.V.")
    )
    assert sent.status_code == 200
    reference = _fresh(client, Report).reference
    # The declarer's pages carry no trace of the report; the lead's inbox has it.
    client.cookies.clear()
    staff_login(client, declarer.email)
    for path in ("/cases", "/cases/deadlines", "/cases/interests", "/notifications", "/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert reference not in page.text, path
    assert client.get(f"/cases/{reference}").status_code == 404
    client.cookies.clear()
    staff_login(client, ready.investigator.email)
    assert reference in client.get("/cases").text
    team = client.get("/cases/interests").text
    assert "Constructora del Norte" in team and declarer.full_name in team
    # Administrators see every register on the channels page.
    client.cookies.clear()
    login(client, make_user("admin").email)
    channels = client.get("/cases/channels").text
    assert "Constructora del Norte" in channels and "Delegación Jalisco" in channels


def test_a_telephone_report_is_entered_and_its_receipt_opens_it(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    csrf = staff_login(client, ready.investigator.email)
    form = client.get("/cases/intake").text
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    data = {
        "channel": str(ready.channel.id),
        "received_via": "phone",
        "received_on": str(date.today() - timedelta(days=1)),
        "what": "The caller saw medicines sold from the warehouse",
        "good_faith": "yes",
        "form_token": token,
        "csrf_token": csrf,
    }
    future = client.post(
        "/cases/intake", data={**data, "received_on": str(date.today() + timedelta(days=2))}
    )
    assert future.status_code == 422 and "cannot have been made in the future" in future.text
    shown = client.post("/cases/intake", data=data)
    assert shown.status_code == 200, shown.text
    receipt = re.search(r'id="receipt"[^>]*>([0-9A-Z-]+)<', shown.text).group(1)
    certificate = re.search(r'name="certificate" value="([^"]+)"', shown.text).group(1)
    import html

    download = client.post(
        "/cases/intake/certificate",
        data={"certificate": html.unescape(certificate), "csrf_token": csrf},
    )
    assert download.headers["content-disposition"].startswith("attachment")
    client.cookies.clear()
    client.post("/report/follow-up", data={"receipt": receipt, "csrf_token": anon_token(client)})
    case = client.get("/report/case")
    assert "medicines sold from the warehouse" in case.text


def test_a_reporter_files_a_retaliation_complaint_with_the_receipt(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id)
    client.post(
        "/report/follow-up", data={"receipt": result.receipt, "csrf_token": anon_token(client)}
    )
    form = client.get("/report/case/retaliation?lang=es")
    assert form.status_code == 200 and "¿Sufriste" in form.text
    empty = client.post(
        "/report/case/retaliation", data={"narrative": "", "csrf_token": anon_token(client)}
    )
    assert empty.status_code == 422
    assert _fresh(client, RetaliationComplaint) is None
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
    complaint = _fresh(client, RetaliationComplaint)
    page = client.get("/report/case/retaliation")
    assert complaint.reference in page.text and "Moved to the night shift" in page.text
    # The investigator of the report does not see it; the officer does.
    client.cookies.clear()
    staff_login(client, ready.investigator.email)
    assert client.get("/retaliation").status_code == 403
    assert client.get(f"/retaliation/{complaint.reference}").status_code == 403
    client.cookies.clear()
    csrf = staff_login(client, officer.email)
    assert complaint.reference in client.get("/retaliation").text
    page = client.get(f"/retaliation/{complaint.reference}")
    assert "Moved to the night shift" in page.text
    skipped = client.post(
        f"/retaliation/{complaint.reference}/investigate",
        data={"csrf_token": csrf},
    )
    assert skipped.status_code == 409
    assessed = client.post(
        f"/retaliation/{complaint.reference}/assess",
        data={
            "protected_report": "yes",
            "detriment": "yes",
            "timing": "yes",
            "reason": "A move a week after the report.",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert assessed.status_code == 303
    assert _fresh(client, RetaliationComplaint).status == "assessment"
    pack = client.post(f"/retaliation/{complaint.reference}/pack", data={"csrf_token": csrf})
    assert pack.status_code == 200 and pack.json()["type"] == "merito-burden-of-proof-pack"
    notices = client.get("/notifications")
    assert complaint.reference in notices.text


def test_a_complaint_through_an_expired_receipt_session_writes_nothing(
    client, session, settings, make_user, monkeypatch
):
    ready = ready_channel(session, settings, make_user)
    add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id)
    client.post(
        "/report/follow-up", data={"receipt": result.receipt, "csrf_token": anon_token(client)}
    )
    later = time.time() + reporting.REPORTER_SESSION_MINUTES * 60 + 60
    monkeypatch.setattr(reporter_service, "_clock", lambda: later)
    response = client.post(
        "/report/case/retaliation?lang=es",
        data={
            "act_0": "dismissal",
            "narrative": "Fired after reporting.",
            "csrf_token": anon_token(client),
        },
    )
    assert response.status_code == 401
    assert "Tu sesión terminó" in response.text or "sesión" in response.text
    assert _fresh(client, RetaliationComplaint) is None
    assert client.get("/report/case/retaliation").status_code == 401


def test_an_employee_files_an_identified_complaint_and_follows_it(
    client, session, settings, make_user, org
):
    ready = ready_channel(session, settings, make_user)
    add_holder(session, settings, make_user, "protection_officer")
    report = file_report(session, settings, ready.channel.id).report
    employee = make_user("employee", employee=org.officer_b)
    csrf = login(client, employee.email)
    form = client.get("/retaliation/file")
    assert form.status_code == 200
    assert "<h1>Report retaliation</h1>" in form.text
    assert '<form method="post" action="/retaliation/file"' in form.text
    # Four act lines, each offering every detrimental act by its name; then the identified
    # complaint's fields (the protected report), never the anonymous one's identity box.
    acts = re.findall(r'<select id="f-act_(\d)" name="act_\1">(.*?)</select>', form.text, re.S)
    assert [i for i, _options in acts] == ["0", "1", "2", "3"]
    offered = re.findall(r'<option value="([a-z_]+)">([^<]+)</option>', acts[0][1])
    assert offered == [(act.value, DETRIMENTAL_ACT_LABELS[act]) for act in DetrimentalAct]
    assert all(options == acts[0][1] for _i, options in acts)
    assert 'name="report_reference"' in form.text and 'name="reported_on"' in form.text
    assert 'name="identity"' not in form.text and 'name="narrative"' in form.text
    assert "Up to 5 files of at most 50 MB each." in form.text
    missing = client.post(
        "/retaliation/file",
        data={"act_0": "demotion", "narrative": "Demoted after my report.", "csrf_token": csrf},
    )
    assert missing.status_code == 422 and "reference of your report" in missing.text
    wrong = client.post(
        "/retaliation/file",
        data={
            "act_0": "demotion",
            "narrative": "Demoted after my report.",
            "report_reference": "WB-0000-0000",
            "csrf_token": csrf,
        },
    )
    assert wrong.status_code == 422
    sent = client.post(
        "/retaliation/file",
        data={
            "act_0": "demotion",
            "narrative": "Demoted after my report.",
            "report_reference": report.reference,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    complaint = _fresh(client, RetaliationComplaint)
    mine = client.get("/retaliation/mine")
    assert complaint.reference in mine.text and "Received" in mine.text
    added = client.post(
        f"/retaliation/mine/{complaint.reference}/messages",
        data={"text": "The demotion letter is dated 3 March.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    # Another employee cannot reach it.
    client.cookies.clear()
    other = make_user("employee")
    csrf = login(client, other.email)
    refused = client.post(
        f"/retaliation/mine/{complaint.reference}/messages",
        data={"text": "hello", "csrf_token": csrf},
    )
    assert refused.status_code == 404


def test_statistics_export_as_csv_and_excel(client, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    for _ in range(5):
        file_report(session, settings, ready.channel.id)
    auditor = make_user("auditor")
    login(client, auditor.email)
    page = client.get("/cases/statistics")
    assert page.status_code == 200 and 'id="evaluation"' in page.text
    csv_file = client.get("/cases/statistics.csv")
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.headers["content-disposition"].startswith("attachment")
    assert "Procurement" in csv_file.content.decode("utf-8-sig") or ready.channel.name_en in (
        csv_file.content.decode("utf-8-sig")
    )
    workbook = load_workbook(io.BytesIO(client.get("/cases/statistics.xlsx").content))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[1][1] == 5  # received in the channel


def test_notices_are_listed_and_marked_read_by_their_owner_only(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    report = file_report(
        session, settings, ready.channel.id, received_on=date.today() - timedelta(days=10)
    ).report
    from whistleblowing import service as cases

    cases.run_deadlines(session, today=date.today())
    session.commit()
    # The channel's notices are in the one notice list (backend.notices).
    from backend.notices import Notice

    notice = session.exec(select(Notice).where(Notice.kind == "reporting.ack_overdue")).first()
    assert notice.user_id == ready.investigator.id
    stranger = make_user("employee")
    csrf = login(client, stranger.email)
    client.post("/notifications/read", data={"notification_id": str(notice.id), "csrf_token": csrf})
    assert _fresh(client, Notice, id=notice.id).read_at is None
    client.cookies.clear()
    csrf = staff_login(client, ready.investigator.email)
    dashboard = client.get("/")
    assert report.reference in dashboard.text
    assert "Acknowledgement overdue since" in client.get("/notifications").text
    client.post("/notifications/read", data={"csrf_token": csrf})
    assert _fresh(client, Notice, id=notice.id).read_at is not None


def test_the_dashboard_and_the_inbox_count_deadlines_on_the_same_day(
    client, session, settings, make_user
):
    """From 18:00 in Mexico City it is already tomorrow in UTC. A report whose acknowledgement is
    due today is not overdue yet: not in the inbox, and not on the dashboard either."""
    # 01:30 UTC is 19:30 of the day before in Mexico City (UTC-6, no daylight saving).
    evening = datetime.combine(clock.now().date() + timedelta(days=1), day_time(1, 30), UTC)
    with clock.frozen(evening):
        today = clock.today(settings)
        assert today == evening.date() - timedelta(days=1)
        ready = ready_channel(session, settings, make_user)
        report = file_report(
            session, settings, ready.channel.id, received_on=today - timedelta(days=7)
        ).report
        assert report.ack_due_on == today
        staff_login(client, ready.investigator.email)
        assert report.reference not in client.get("/cases?due=overdue").text
        assert report.reference in client.get("/cases?due=soon").text
        dashboard = client.get("/").text
        assert "<dt>Acknowledgement overdue</dt><dd>0</dd>" in dashboard
