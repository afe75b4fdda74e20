"""The reporter's journey on the demo that `merito up` builds, on a phone, in Spanish and without
JavaScript: from the sign-in page to the reporting channel, a report with a file, the receipt;
the demo investigator signs in (enrolling TOTP as the demo does, on first sign-in), reads the
report and replies; the reporter reads the reply with the receipt.

The database is built by the commands themselves (`merito demo` at its smallest size, then
`merito recovery init`, which `merito up` does on its own in development), so the demo's own
code path gives the channel its readers and their keys.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from backend import demo
from backend.config import get_settings
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WHAT = "Se pagaron dos veces las facturas de guantes del almacén central"
REPLY = "Gracias, estamos revisando las facturas."
MEETING = "Entre semana después de las 18 h; prefiero que me propongan un horario."


@pytest.fixture
def demo_database(monkeypatch, settings, database_url):
    """Build the demo with the CLI, against the database and data folder the app serves."""
    from backend.cli import app as cli

    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("MERITO_ENVIRONMENT", "development")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        built = runner.invoke(cli, ["demo", "--employees", "1"])
        assert built.exit_code == 0, built.output
        assert demo.demo_email("investigator2") in built.output
        recovery = runner.invoke(cli, ["recovery", "init"])
        assert recovery.exit_code == 0, recovery.output
    finally:
        get_settings.cache_clear()


def test_a_report_on_the_demo_is_read_and_answered(demo_database, live_server, browser):
    base = live_server.url

    # The reporter, on a phone, with JavaScript off, finds the channel from the sign-in page.
    reporter_context = browser.new_context(
        locale="es-MX", java_script_enabled=False, viewport=PHONE, is_mobile=True
    )
    reporter = reporter_context.new_page()
    reporter.goto(f"{base}/login")
    reporter.click("#login-report-link a")
    assert reporter.locator("h1").inner_text() == "Denuncia de forma segura"
    # The competent authorities outside the institute (the demo's Mexican bodies), on a phone.
    outside = reporter.locator("#external-reporting").inner_text()
    assert "Secretaría Anticorrupción y Buen Gobierno" in outside
    assert "Órgano Interno de Control" in outside
    assert reporter.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    reporter.click("a[href^='/report/new']")
    reporter.locator("input[name=channel]").first.check()
    reporter.fill("#f-what", WHAT)
    reporter.set_input_files(
        "#f-files",
        files=[{"name": "facturas.txt", "mimeType": "text/plain", "buffer": b"factura 12 x2"}],
    )
    reporter.check("#f-good_faith")
    reporter.click("#report-form button[type=submit]")
    reporter.wait_for_selector("#receipt")  # not "Nadie recibiría tu denuncia…"
    receipt = reporter.locator("#receipt").inner_text().strip()
    # The thank-you line names the report's reference (the demo has other cases too).
    reference = re.search(
        r"\b[A-Z]{2,4}-[0-9A-Z-]+\b", reporter.locator("main p").first.inner_text()
    )
    assert reference, reporter.locator("main p").first.inner_text()
    assert [len(group) for group in receipt.split("-")] == [4] * 7  # 24 random + the tag
    # The channel set no cookie (the sign-in page's pre-session cookie is all the browser has).
    assert [c["name"] for c in reporter_context.cookies()] == ["merito_presession"]

    # The demo investigator signs in with the published password and enrols TOTP on the way.
    staff_context = browser.new_context(locale="es-MX", java_script_enabled=False)
    staff = staff_context.new_page()
    staff.goto(f"{base}/login")
    staff.fill("#f-email", demo.demo_email("investigator"))
    staff.fill("#f-password", demo.demo_password("investigator"))
    staff.click("form[action='/login'] button[type=submit]")
    staff.wait_for_selector("#totp-secret")  # first sign-in: the key and a QR code
    assert staff.locator("svg.qr").count() == 1
    sign_in(staff, base, demo.demo_email("investigator"), demo.demo_password("investigator"))
    assert "/login" not in staff.url
    staff.goto(f"{base}/cases")
    staff.click(f"#inbox a[href='/cases/{reference.group(0)}']")
    staff.wait_for_selector("#case-history")
    assert WHAT in staff.content()
    assert staff.locator("a:has-text('facturas.txt')").count() == 1
    staff.check("input[name=kind][value=reply]")
    staff.fill("#f-text", REPLY)
    staff.click("#item-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert REPLY in staff.content()

    # The reporter comes back with the receipt and reads the reply.
    reporter.goto(f"{base}/report/follow-up?lang=es")
    reporter.fill("#f-receipt", receipt)
    reporter.click("form[action^='/report/follow-up'] button[type=submit]")
    reporter.wait_for_selector("#report-status")
    assert REPLY in reporter.content()
    assert WHAT in reporter.content()

    # The reporter asks for a call (Art. 9(2)); the investigator reads the request.
    reporter.check("input[name=meeting_mode][value=phone]")
    reporter.fill("#f-meeting_text", MEETING)
    reporter.click("#meeting-form button[type=submit]")
    reporter.wait_for_selector("#report-status")
    assert MEETING in reporter.content()
    assert reporter.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    staff.reload()
    staff.wait_for_selector("#case-history")
    assert MEETING in staff.content()
    assert "Una llamada telefónica" in staff.content() or "A telephone call" in staff.content()
    reporter_context.close()
    staff_context.close()
