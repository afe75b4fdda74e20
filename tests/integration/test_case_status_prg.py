"""A refused status change returns to the case page (a GET) with what was typed, which is
kept sealed under the browser's cookie meanwhile (issue #13, defect 7)."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.auth.models import AuthSession
from tests.reporting_helpers import file_report, ready_channel, staff_login

FEEDBACK = "We examined the contracts you named and found the prices in line."


def test_a_refused_closure_comes_back_on_the_case_page_as_typed(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    csrf = staff_login(client, ready.investigator.email)
    case = f"/cases/{report.reference}"
    client.post(
        f"{case}/acknowledge",
        data={"text": "We received your report.", "csrf_token": csrf},
        follow_redirects=False,
    )
    client.post(f"{case}/status", data={"status": "triage", "csrf_token": csrf})
    refused = client.post(
        f"{case}/status",
        data={
            "status": "closed",
            "outcome": "unsubstantiated",
            "reason": "",
            "feedback": FEEDBACK,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    # Back on the case page, which a reload opens again without posting anything.
    assert refused.status_code == 303
    assert refused.headers["location"] == f"{case}#status-form"
    # Meanwhile what was typed is kept sealed: the database holds none of it in clear.
    with Session(client.app.state.engine) as db:
        kept = repr([row.flash for row in db.exec(select(AuthSession)).all()])
    assert "found the prices" not in kept and "unsubstantiated" not in kept
    page = client.get(case)
    assert page.status_code == 200
    assert "Give the reason for closing the case." in page.text
    assert FEEDBACK in page.text
    assert '<option value="closed" selected' in page.text
    assert '<option value="unsubstantiated" selected' in page.text
    assert "Give the reason for closing the case." not in client.get(case).text


def test_an_out_of_order_status_comes_back_on_the_case_page_too(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    csrf = staff_login(client, ready.investigator.email)
    case = f"/cases/{report.reference}"
    refused = client.post(
        f"{case}/status?lang=es",
        data={"status": "investigating", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and refused.headers["location"].startswith(case)
    assert "Un caso avanza un paso a la vez" in client.get(f"{case}?lang=es").text
