"""Case tracking in a browser: an investigator triages a report; a reporter, JavaScript off,
files a retaliation complaint with their receipt and a protection officer reads it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.reporting_helpers import add_holder, file_report, ready_channel

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_an_investigator_acknowledges_and_moves_a_report_to_investigation(
    live_server, page, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    sign_in(page, live_server.url, ready.investigator.email)
    page.goto(f"{live_server.url}/cases")
    page.click(f"#inbox a:has-text('{report.reference}')")
    page.wait_for_selector("#acknowledge-form")
    assert page.locator("#case-status").inner_text() == "Received"
    assert "We received your report" in page.locator("#f-ack").input_value()
    page.click("#acknowledge-form button[type=submit]")
    page.wait_for_selector("#status-form")
    assert page.locator("#case-status").inner_text() == "Acknowledged"
    assert "sent on" in page.locator("#ack-deadline").inner_text()
    page.select_option("#f-status", "triage")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#case-status").inner_text() == "In triage"
    page.select_option("#f-status", "investigating")
    page.fill("#f-reason", "Two invoices to compare with the warehouse log.")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#case-status").inner_text() == "Under investigation"
    lifecycle = page.locator("#lifecycle").inner_text()
    assert lifecycle.count("—") == 1  # only "Closed" has no day yet
    page.select_option("#f-assign", str(ready.investigator.id))
    page.click("#assign-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert ready.investigator.full_name in page.locator("#assignee").inner_text()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_reporter_files_a_retaliation_complaint_with_the_receipt(
    live_server, browser, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id)
    base = live_server.url

    reporter_context = browser.new_context(locale="en-US", java_script_enabled=False)
    reporter = reporter_context.new_page()
    reporter.goto(f"{base}/report/follow-up")
    reporter.fill("#f-receipt", result.receipt)
    reporter.click("form[action^='/report/follow-up'] button[type=submit]")
    reporter.wait_for_selector("#report-status")
    reporter.click("#retaliation-link")
    reporter.wait_for_selector("#complaint-form")
    reporter.select_option("#f-act_0", "transfer")
    reporter.fill("#f-act_0_text", "Sent to the night shift at another warehouse")
    reporter.select_option("#f-act_1", "harassment")
    reporter.fill(
        "#f-narrative", "The week after my report my supervisor moved me and shouts at me."
    )
    reporter.set_input_files(
        "#f-files",
        files=[{"name": "memo.txt", "mimeType": "text/plain", "buffer": b"Transfer order 77"}],
    )
    reporter.click("#complaint-form button[type=submit]")
    reporter.wait_for_selector("#complaints")
    complaints = reporter.locator("#complaints").inner_text()
    assert "Received" in complaints and "Sent to the night shift" in complaints
    reference = reporter.locator("#complaints h3 code").first.inner_text()
    assert reference.startswith("RC-")
    assert [c["name"] for c in reporter_context.cookies()] == ["merito_report"]
    reporter_context.close()

    # The protection officer, not the investigator of the report, reads it.
    staff_context = browser.new_context(locale="en-US")
    staff = staff_context.new_page()
    sign_in(staff, base, officer.email)
    staff.goto(f"{base}/retaliation")
    staff.click(f"#complaints a:has-text('{reference}')")
    staff.wait_for_selector("#assess-form")
    assert "Sent to the night shift" in staff.content()
    assert staff.locator("a:has-text('memo.txt')").count() == 1
    staff_context.close()
