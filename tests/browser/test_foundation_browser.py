"""A person signs in with each role, sees their dashboard, switches language, signs out."""

from __future__ import annotations

import pytest

from backend.auth.permissions import ASSIGNABLE_ROLES
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_each_role_signs_in_and_sees_its_dashboard(live_server, page, make_user, org):
    for role in ASSIGNABLE_ROLES:
        employee = org.head if role == "employee" else None
        user = make_user(role, employee=employee)
        sign_in(page, live_server.url, user.email)
        assert page.locator("h1").inner_text().startswith("Welcome")
        assert user.full_name in page.locator(".site-header").inner_text()
        if role == "admin":
            assert page.locator("nav.main-nav a[href='/admin/users']").count() == 1
        else:
            assert page.locator("nav.main-nav a[href='/admin/users']").count() == 0
        if role == "employee":
            # The head of unit is also a supervisor by reporting lines.
            assert page.get_by_role("heading", name="My team").count() == 1
        page.click("form[action='/logout'] button")
        page.wait_for_url(f"{live_server.url}/login")


def test_language_switch_and_default(live_server, browser, make_user):
    user = make_user("hr_planner")
    context = browser.new_context(locale="es-MX")
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    assert page.locator("h1").inner_text() == "Iniciar sesión en Mérito"
    assert page.locator("html").get_attribute("lang") == "es"
    page.click("form.lang-switch button[value='en']")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Sign in to Mérito"
    sign_in(page, live_server.url, user.email)
    page.click("form.lang-switch button[value='es']")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Bienvenido")
    context.close()


def test_wrong_password_shows_a_translated_error(live_server, page, make_user):
    user = make_user("employee")
    page.goto(f"{live_server.url}/login")
    page.fill("#f-email", user.email)
    page.fill("#f-password", "not the password at all")
    page.click("form[action='/login'] button[type=submit]")
    assert "Email or password is not correct." in page.locator("[role=alert]").inner_text()
    assert page.input_value("#f-email") == user.email
