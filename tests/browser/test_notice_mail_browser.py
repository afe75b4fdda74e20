"""A report is filed on /report; the investigator's mailbox (a real SMTP server, aiosmtpd)
receives a mail that says nothing about it, whose link leads to sign-in and then the notice
list, and from there to the case."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlmodel import select

from backend import mail, notices
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.reporting_helpers import ready_channel
from tests.smtp_helpers import local_smtp, use_smtp
from whistleblowing.models import Report

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WHAT = "Fuel vouchers signed by the same driver for two trucks"


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_new_report_mails_the_investigator_a_contentless_link_to_sign_in(
    live_server, browser, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    administrator = make_user("admin")
    base = live_server.url
    settings.public_url = base
    with local_smtp() as (controller, inbox):
        use_smtp(settings, controller)
        reporter_context = browser.new_context(locale="en-US", java_script_enabled=False)
        reporter = reporter_context.new_page()
        reporter.goto(f"{base}/report")
        reporter.click("text=Make a report")
        reporter.check(f"input[name=channel][value='{ready.channel.id}']")
        reporter.fill("#f-what", WHAT)
        reporter.check("#f-good_faith")
        reporter.click("#report-form button[type=submit]")
        reporter.wait_for_selector("#receipt")
        reporter_context.close()

        # The `notices.deliver` job's run.
        assert notices.deliver(session, settings).sent == 1
        [message] = inbox.messages
    assert str(message["To"]) == ready.investigator.email
    assert message["Subject"] == "Something in Mérito needs your attention"
    body = message.get_content()
    reference = session.exec(select(Report.reference)).one()
    for secret in (WHAT, "Fuel", reference, ready.channel.code, ready.channel.name_en):
        assert secret not in message.as_string()
    [link] = re.findall(r"https?://\S+", body)
    assert link == f"{base}/login?next=/notifications"

    staff_context = browser.new_context(locale="en-US")
    staff = staff_context.new_page()
    staff.goto(link)
    staff.fill("#f-email", ready.investigator.email)
    staff.fill("#f-password", TEST_PASSWORD)
    staff.click("form[action='/login'] button[type=submit]")
    staff.wait_for_selector("#totp-secret")
    secret = staff.locator("#totp-secret").inner_text().replace(" ", "")
    staff.fill("#f-code", pyotp.TOTP(secret).now())
    staff.click("form[action='/login/second-factor'] button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert staff.url == f"{base}/notifications"
    assert staff.locator("#header-notices .badge").inner_text().startswith("1")
    notice = staff.locator("ul.notices li.unread").first
    assert "A new report arrived" in notice.inner_text()
    notice.locator("a").first.click()
    staff.wait_for_selector("#case-history")
    assert WHAT in staff.content()
    # The notice pages fit a phone, in Spanish too.
    staff.set_viewport_size(PHONE)
    for path in ("/notifications", "/notifications?lang=es", "/account/notices"):
        staff.goto(base + path)
        assert _overflow(staff) <= 0, path
    staff_context.close()

    # The administrator's delivery status and the development outbox, on a phone.
    settings.smtp_host = ""
    mail.send(settings, to="someone@example.org", subject="Aviso", body="x" * 300)
    admin_context = browser.new_context(locale="es-MX", viewport=PHONE)
    admin = admin_context.new_page()
    sign_in(admin, base, administrator.email)
    for path in ("/admin/notices", "/admin/outbox"):
        admin.goto(base + path)
        assert admin.locator("main h1").count() == 1, path
        assert _overflow(admin) <= 0, path
    admin_context.close()


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
