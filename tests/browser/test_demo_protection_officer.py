"""The protection officer's journey on the demo that `merito up` builds, in Spanish (issue #13).

A complaint of retaliation reaches the demo protection officer both ways the demo allows:

- a reporter makes a report and, with its receipt, complains of retaliation (on a phone, without
  JavaScript), then comes back with the receipt and sees where the complaint stands and the
  officer's message;
- the demo employee, signed in, files an identified complaint from the menu and follows it at
  "My complaints".

Each time the officer signs in (enrolling TOTP on the first sign-in, as the demo does), sees the
complaint on the dashboard, opens it, records the prima facie assessment and orders an interim
protective measure.

The database is built by the commands themselves (`merito demo`, then `merito recovery init`,
which `merito up` does on its own in development), so the demo's own code path gives the
protection officer the key pair complaints are sealed to. Nothing else is set up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from backend import clock, demo
from backend.config import get_settings
from tests.browser.conftest import follow_nav, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WHAT = "El jefe de almacén pidió dinero a un proveedor para adelantar sus pagos"
ACT = "Me cambiaron al turno nocturno sin explicación"
STORY = (
    "Dos semanas después de mi denuncia me quitaron las compras y me mandaron al turno nocturno."
)
ASSESSMENT = "Hay una denuncia protegida, un cambio de funciones y tres semanas entre ambos."
MEASURE = "Se suspende el cambio de turno; obliga a la jefatura de almacén."
MEASURES = "Medidas de protección provisionales"  # the complaint's status once a measure is out
MESSAGE = "Suspendimos el cambio de turno mientras revisamos tu queja."
OFFICER = "protection_officer"
# Large enough for the demo supervisor to have reports, so the demo employee is a real employee.
DEMO_EMPLOYEES = 30


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
        built = runner.invoke(cli, ["demo", "--employees", str(DEMO_EMPLOYEES)])
        assert built.exit_code == 0, built.output
        assert demo.demo_email(OFFICER) in built.output
        recovery = runner.invoke(cli, ["recovery", "init"])
        assert recovery.exit_code == 0, recovery.output
    finally:
        get_settings.cache_clear()


def _click(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _follow_up(reporter, base: str, receipt: str) -> None:
    """Come back to the report with the receipt and open the retaliation page."""
    reporter.goto(f"{base}/report/follow-up?lang=es")
    reporter.fill("#f-receipt", receipt)
    _click(reporter, "form[action^='/report/follow-up'] button[type=submit]")
    _click(reporter, "#retaliation-link")


def _fill_act(page, *, kind: str, on: str, text: str, story: str) -> None:
    page.select_option("#f-act_0", kind)
    page.fill("#f-act_0_on", on)
    page.fill("#f-act_0_text", text)
    page.fill("#f-narrative", story)


def _officer(browser, base: str):
    """Sign the demo protection officer in with the published password, enrolling TOTP."""
    context = browser.new_context(locale="es-MX")
    staff = context.new_page()
    staff.goto(f"{base}/login")
    staff.fill("#f-email", demo.demo_email(OFFICER))
    staff.fill("#f-password", demo.demo_password(OFFICER))
    _click(staff, "form[action='/login'] button[type=submit]")
    assert staff.locator("#totp-secret").count() == 1  # first sign-in: the key and a QR code
    sign_in(staff, base, demo.demo_email(OFFICER), demo.demo_password(OFFICER))
    assert "/login" not in staff.url
    return staff


def _open_from_dashboard(staff, base: str, reference: str) -> None:
    """The dashboard's panel counts the complaint and names it among the unread notices (the
    notice says "Complaint <reference>" and links to it)."""
    staff.goto(f"{base}/")
    panel = staff.locator(
        "section.panel", has=staff.locator("h2", has_text="Quejas por represalias")
    )
    assert panel.locator("dl.facts dd").first.inner_text() == "1"
    _click(staff, f"ul.notices li:has-text('{reference}') a[href='/retaliation/{reference}']")
    assert staff.url.endswith(f"/retaliation/{reference}")
    assert STORY in staff.content()
    assert ACT in staff.content()


def _assess_and_protect(staff) -> None:
    """Record a prima facie case and order an interim protective measure from today."""
    staff.check("#assess-form input[name=protected_report]")
    staff.check("#assess-form input[name=detriment]")
    staff.check("#assess-form input[name=timing]")
    staff.fill("#f-reason", ASSESSMENT)
    _click(staff, "#assess-form button[type=submit]")
    assert "Se registró la evaluación." in staff.content()
    assert "Hay indicios suficientes (prima facie)" in staff.content()
    assert ASSESSMENT in staff.content()

    staff.select_option("#f-measure", "suspend_decision")
    staff.fill("#f-measure-details", MEASURE)
    _click(staff, "#measure-form button[type=submit]")
    assert "Se registró la medida provisional." in staff.content()
    assert staff.locator("#complaint-status").inner_text() == MEASURES
    assert MEASURE in staff.content()


def test_a_receipt_complaint_on_the_demo_is_assessed_and_the_complainant_sees_it(
    demo_database, live_server, browser, settings
):
    base = live_server.url
    today = clock.today(settings)

    # A reporter, on a phone without JavaScript, makes a report and keeps the receipt.
    reporter_context = browser.new_context(
        locale="es-MX", java_script_enabled=False, viewport=PHONE, is_mobile=True
    )
    reporter = reporter_context.new_page()
    reporter.goto(f"{base}/report/new?lang=es")
    reporter.locator("input[name=channel]").first.check()
    reporter.fill("#f-what", WHAT)
    reporter.check("#f-good_faith")
    _click(reporter, "#report-form button[type=submit]")
    receipt = reporter.locator("#receipt").inner_text().strip()

    # They suffer for it, and tell the protection officers with the same receipt.
    _follow_up(reporter, base, receipt)
    assert reporter.locator("h1").inner_text() == "¿Sufriste consecuencias por haber denunciado?"
    _fill_act(reporter, kind="change_of_duties", on=today.isoformat(), text=ACT, story=STORY)
    _click(reporter, "#complaint-form button[type=submit]")
    filed = reporter.locator("#complaints section.card")
    assert filed.count() == 1
    reference = filed.locator("h3 code").inner_text().strip()
    assert filed.locator(".tag").inner_text() == "Recibida"

    staff = _officer(browser, base)
    _open_from_dashboard(staff, base, reference)
    _assess_and_protect(staff)
    # A message to the complainant, who has no account to be told through.
    staff.check("input[name=kind][value=officer_message]")
    staff.fill("#f-text", MESSAGE)
    _click(staff, "form[action$='/items'] button[type=submit]")
    assert MESSAGE in staff.content()

    # The complainant comes back with the receipt: the complaint has moved on, and the officer's
    # message is there; the officers' internal assessment and measure wording are not.
    _follow_up(reporter, base, receipt)
    mine = reporter.locator("#complaints section.card")
    assert mine.locator("h3 code").inner_text().strip() == reference
    assert mine.locator(".tag").inner_text() == MEASURES
    assert MESSAGE in mine.inner_text()
    assert ASSESSMENT not in reporter.content()
    assert MEASURE not in reporter.content()
    reporter_context.close()
    staff.context.close()


def test_the_demo_employee_files_an_identified_complaint_and_follows_it(
    demo_database, live_server, browser, settings
):
    base = live_server.url
    today = clock.today(settings)

    # The demo employee reported to an external authority three weeks ago; now they complain,
    # signed in, from the menu.
    employee_context = browser.new_context(locale="es-MX")
    employee = employee_context.new_page()
    sign_in(employee, base, demo.demo_email("employee"), demo.demo_password("employee"))
    assert "/login" not in employee.url
    follow_nav(employee, "/retaliation/file")
    employee.wait_for_selector("#complaint-form")
    _fill_act(employee, kind="change_of_duties", on=today.isoformat(), text=ACT, story=STORY)
    employee.fill("#f-reported_on", (today - timedelta(days=21)).isoformat())
    _click(employee, "#complaint-form button[type=submit]")
    assert employee.url.endswith("/retaliation/mine")
    filed = employee.locator("main section.card")
    assert filed.count() == 1
    reference = filed.locator("h2 code").inner_text().strip()
    assert filed.locator(".tag").inner_text() == "Recibida"

    staff = _officer(browser, base)
    _open_from_dashboard(staff, base, reference)
    # Filed with a name: the officer sees who, and the complainant is under HR watch already.
    assert demo.demo_email("employee") in staff.content()
    assert staff.locator("#facts-title ~ dl .badge-ok").count() == 1
    _assess_and_protect(staff)

    # The employee sees where the complaint stands.
    employee.goto(f"{base}/retaliation/mine")
    assert employee.locator("main section.card .tag").inner_text() == MEASURES
    assert ASSESSMENT not in employee.content()
    employee_context.close()
    staff.context.close()
