"""A reporter reports anonymously (JavaScript off), an investigator answers with TOTP sign-in,
and the reporter follows up with the receipt."""

from __future__ import annotations

import pyotp
import pytest

from tests.conftest import TEST_PASSWORD
from tests.reporting_helpers import ready_channel

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_anonymous_report_reply_and_follow_up(live_server, browser, session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    base = live_server.url

    # The reporter, as in Tor Browser's safest level: no JavaScript at all.
    reporter_context = browser.new_context(locale="en-US", java_script_enabled=False)
    reporter = reporter_context.new_page()
    reporter.goto(f"{base}/report")
    assert reporter.locator("h1").inner_text() == "Report wrongdoing safely"
    reporter.click("text=Make a report")
    reporter.check(f"input[name=channel][value='{ready.channel.id}']")
    reporter.fill("#f-what", "Gloves invoiced twice by the same supplier")
    reporter.fill("#f-who", "The warehouse supplier")
    reporter.check("input[name=red_flags][value=duplicate_invoices]")
    reporter.set_input_files(
        "#f-files",
        files=[{"name": "ledger.txt", "mimeType": "text/plain", "buffer": b"line 12 paid twice"}],
    )
    reporter.check("#f-good_faith")
    reporter.click("#report-form button[type=submit]")
    reporter.wait_for_selector("#receipt")
    receipt = reporter.locator("#receipt").inner_text().strip()
    assert len(receipt.replace("-", "")) == 28  # 24 random symbols and the keyed tag
    assert reporter_context.cookies() == []

    # The investigator signs in with password and a TOTP code from the authenticator.
    staff_context = browser.new_context(locale="en-US")
    staff = staff_context.new_page()
    staff.goto(f"{base}/login")
    staff.fill("#f-email", ready.investigator.email)
    staff.fill("#f-password", TEST_PASSWORD)
    staff.click("form[action='/login'] button[type=submit]")
    staff.wait_for_selector("#totp-secret")
    secret = staff.locator("#totp-secret").inner_text().replace(" ", "")
    staff.fill("#f-code", pyotp.TOTP(secret).now())
    staff.click("form[action='/login/second-factor'] button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert staff.locator("h1").inner_text().startswith("Welcome")
    staff.goto(f"{base}/cases")
    staff.locator("#inbox td a[href^='/cases/']").first.click()  # the case, not a sort link
    staff.wait_for_selector("#case-history")
    assert "Gloves invoiced twice by the same supplier" in staff.content()
    assert staff.locator("a:has-text('ledger.txt')").count() == 1
    staff.check("input[name=kind][value=reply]")
    staff.fill("#f-text", "Thank you, we are looking into it.")
    staff.click("#item-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    staff.check("input[name=kind][value=question]")
    staff.fill("#f-text", "Which month were the invoices paid?")
    staff.click("#item-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert "Which month were the invoices paid?" in staff.content()

    # The reporter comes back with the receipt, reads the reply and answers the question.
    reporter.goto(f"{base}/report/follow-up")
    assert reporter_context.cookies() == []
    reporter.fill("#f-receipt", receipt.lower())
    reporter.click("form[action^='/report/follow-up'] button[type=submit]")
    reporter.wait_for_selector("#report-status")
    cookies = reporter_context.cookies()
    assert [c["name"] for c in cookies] == ["merito_report"]
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    assert cookies[0]["path"] == "/report/case"
    assert "Thank you, we are looking into it." in reporter.content()
    reporter.fill(".answer-form textarea", "In March.")
    reporter.click(".answer-form button[type=submit]")
    reporter.wait_for_selector("text=In March.")
    assert reporter.locator(".answer-form").count() == 0

    staff.reload()
    assert "In March." in staff.content()
    reporter_context.close()
    staff_context.close()
