"""Privacy pages end to end (SQLite and PostgreSQL): the data export leaves out every link to
the reporting channel, ARCO requests are answered within a deadline counted in working days
and a granted rectification acts through the organisation's service, notices are versioned and
the reporters' notice leaves no cookie."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime

import pytest
from sqlmodel import select

from backend import audit, clock, i18n, workdays
from backend.auth.models import User
from backend.org.models import Employee
from backend.privacy.models import ArcoRequest, PrivacyNotice
from tests.conftest import login
from tests.reporting_helpers import add_holder, file_report, ready_channel
from whistleblowing.service import retaliation
from whistleblowing.service.retaliation import AllegedAct, ComplaintInput

MARKER = "Zanahoria-7781 me degradaron"


@pytest.fixture(autouse=True)
def english():
    with i18n.use_locale("en"):
        yield


def _zip(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_export_holds_the_person_and_nothing_that_links_them_to_a_report(
    client, session, settings, make_user, org
):
    ready = ready_channel(session, settings, make_user)
    add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id, what=f"Facturas dobles {MARKER}")
    person = make_user("employee", employee=org.officer_a)
    complaint = retaliation.file_identified(
        session,
        settings,
        user=person,
        data=ComplaintInput(
            acts=[AllegedAct("negative_appraisal", None, MARKER)],
            narrative=f"After my report {MARKER}",
            report_reference=result.report.reference,
        ),
    )
    session.commit()
    other = make_user("employee", employee=org.officer_b)

    csrf = login(client, person.email)
    files = _zip(client.post("/account/privacy/export", data={"csrf_token": csrf}))
    assert {"README.txt", "account.json", "organisation/employee.json"} <= set(files)
    assert json.loads(files["account.json"])["email"] == person.email
    assert "password_hash" not in files["account.json"].decode()
    assert json.loads(files["organisation/employee.json"])["number"] == "E002"
    assert {"training/enrolments.csv", "appraisals/appraisals.csv"} <= set(files)
    # Nothing from the channel but its constant statement.
    channel_files = [n for n in files if n.startswith("reporting_channel/")]
    assert channel_files == ["reporting_channel/statement.json"]
    everything = b"\n".join(files.values()).decode("utf-8")
    for secret in (MARKER, complaint.reference, result.report.reference, result.receipt):
        assert secret not in everything
    for word in ("retaliation", "complaint_id", "protected", "report_id"):
        assert word not in everything.lower()

    client.cookies.clear()
    csrf = login(client, other.email)
    other_files = _zip(client.post("/account/privacy/export", data={"csrf_token": csrf}))
    # The statement is byte for byte the same for someone who never used the channel.
    assert (
        other_files["reporting_channel/statement.json"]
        == (files["reporting_channel/statement.json"])
    )
    exported = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "privacy.data_exported")
    ).all()
    assert [e.entity_id for e in exported] == [str(person.id), str(other.id)]


def test_an_arco_request_is_answered_within_twenty_working_days_and_rectifies_the_name(
    client, session, settings, make_user, org
):
    person = make_user("employee", employee=org.officer_a)
    stranger = make_user("employee", employee=org.officer_b)
    hr = make_user("hr_planner")
    filed_on = date(2026, 12, 7)  # a Monday; 25 December is a rest day
    with clock.frozen(datetime(2026, 12, 7, 18, 0, tzinfo=clock.now().tzinfo)):
        csrf = login(client, person.email)
        refused = client.post(
            "/account/privacy/requests",
            data={"csrf_token": csrf, "kind": "rectification", "subject": "", "details": "Typo"},
        )
        assert refused.status_code == 422
        assert "Say which data the request is about." in refused.text
        assert "Typo" in refused.text  # what was typed is kept
        filed = client.post(
            "/account/privacy/requests",
            data={
                "csrf_token": csrf,
                "kind": "rectification",
                "subject": "My surname",
                "details": "It is Ruiz-Gómez",
            },
            follow_redirects=False,
        )
        assert filed.status_code == 303
    request = session.exec(select(ArcoRequest)).one()
    # 20 working days after Monday 7 December 2026, skipping weekends and 25 December and
    # 1 January: Wednesday 6 January 2027.
    assert request.due_on == date(2027, 1, 6)
    assert request.due_on == workdays.add_working_days(filed_on, 20)

    client.cookies.clear()
    csrf = login(client, stranger.email)
    assert client.get(f"/account/privacy/requests/{request.id}").status_code == 404
    client.cookies.clear()

    with clock.frozen(date(2026, 12, 21)):
        csrf = login(client, hr.email)
        queue = client.get("/org/privacy-requests")
        assert "My surname" in queue.text
        # From Monday 21 December: 22, 23, 24, 28, 29, 30, 31 December, 4, 5, 6 January.
        assert 'data-working-days-left="10"' in queue.text
        page = client.get(f"/org/privacy-requests/{request.id}")
        assert "Send the answer" in page.text
        missing_reason = client.post(
            f"/org/privacy-requests/{request.id}/answer",
            data={"csrf_token": csrf, "decision": "granted", "answer": "", "last_name": "X"},
        )
        assert "Give the reason for the decision." in missing_reason.text
        answered = client.post(
            f"/org/privacy-requests/{request.id}/answer",
            data={
                "csrf_token": csrf,
                "decision": "granted",
                "answer": "Corrected in your record.",
                "last_name": "Ruiz-Gómez",
            },
            follow_redirects=False,
        )
        assert answered.status_code == 303
        again = client.post(
            f"/org/privacy-requests/{request.id}/answer",
            data={"csrf_token": csrf, "decision": "refused", "answer": "No"},
        )
        assert "This request has already been answered." in again.text
    session.expire_all()
    request = session.get(ArcoRequest, request.id)
    assert (request.status, request.decision) == ("answered", "granted")
    assert session.get(Employee, org.officer_a.id).last_name == "Ruiz-Gómez"
    assert session.get(User, person.id).full_name == "Mario Ruiz-Gómez"
    actions = session.exec(
        select(audit.AuditEntry.action).where(
            audit.AuditEntry.action.in_(
                ["privacy.arco_filed", "privacy.arco_answered", "employee.updated"]
            )
        )
    ).all()
    assert sorted(actions) == ["employee.updated", "privacy.arco_answered", "privacy.arco_filed"]
    answer = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "privacy.arco_answered")
    ).one()
    assert answer.after["on_time"] is True

    client.cookies.clear()
    login(client, person.email)
    mine = client.get(f"/account/privacy/requests/{request.id}")
    assert "Corrected in your record." in mine.text and "Granted" in mine.text


def test_notices_are_versioned_and_the_reporters_one_sets_no_cookie(client, session, make_user):
    admin = make_user("admin")
    csrf = login(client, admin.email)
    form = {
        "csrf_token": csrf,
        "purpose": "reporters",
        "title_es": "Aviso",
        "title_en": "Notice",
        "body_es": "Primera versión.",
        "body_en": "",
    }
    refused = client.post("/admin/privacy/notices", data=form)
    assert refused.status_code == 422 and "Primera versión." in refused.text
    assert session.exec(select(PrivacyNotice)).all() == []
    for n in (1, 2):
        form |= {"body_en": f"Version {n} text.", "body_es": f"Versión {n}."}
        assert client.post("/admin/privacy/notices", data=form).status_code == 200
    client.cookies.clear()
    current = client.get("/report/privacy?lang=en")
    assert "Version 2 text." in current.text and "/report/privacy/1" in current.text
    assert "set-cookie" not in current.headers
    older = client.get("/report/privacy/1?lang=en")
    assert "Version 1 text." in older.text and "no longer in force" in older.text
    moved = client.get("/privacy/notices/reporters", follow_redirects=False)
    assert moved.headers["location"] == "/report/privacy"
    assert client.get("/privacy/notices/nobody").status_code == 404


def test_the_retention_page_lists_the_dry_run_and_its_button_acts_on_that_list(
    client, session, make_user
):
    admin = make_user("admin")
    person = make_user("candidate")
    old = ArcoRequest(
        user_id=person.id,
        kind="access",
        subject="2019",
        filed_on=date(2019, 5, 6),
        due_on=date(2019, 6, 3),
        status="answered",
        decision="granted",
    )
    session.add(old)
    session.commit()
    old_id = old.id
    csrf = login(client, admin.email)
    page = client.get("/admin/privacy/retention")
    assert f'data-key="{old_id}"' in page.text and "ARCO request #" in page.text
    fingerprint = page.text.split('name="fingerprint" value="')[1].split('"')[0]
    stale = client.post(
        "/admin/privacy/retention/run", data={"csrf_token": csrf, "fingerprint": "0" * 64}
    )
    assert "The list changed since you looked at it." in stale.text
    session.expire_all()
    assert session.get(ArcoRequest, old_id) is not None
    done = client.post(
        "/admin/privacy/retention/run", data={"csrf_token": csrf, "fingerprint": fingerprint}
    )
    assert "1 record was deleted or anonymised." in done.text
    assert "Nothing is past its retention period." in done.text
    session.expire_all()
    assert session.get(ArcoRequest, old_id) is None
    # A period an administrator cannot set is refused with the form kept.
    refused = client.post(
        "/admin/privacy/retention/periods",
        data={"csrf_token": csrf, "record_type": "privacy.arco_requests", "months": "0"},
    )
    assert "Give a period between 1 and 1200 months." in refused.text
    assert client.get("/admin/privacy/retention").status_code == 200
    shortened = client.post(
        "/admin/privacy/retention/periods",
        data={"csrf_token": csrf, "record_type": "privacy.arco_requests", "months": "12"},
    )
    assert "The retention period was changed." in shortened.text
    assert 'value="12"' in shortened.text
