"""Sign-in, sessions, throttling, CSRF, accounts and roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from backend.auth import service as auth_service
from backend.auth.models import AuthSession, User
from backend.auth.service import anonymous_csrf_token, check_anonymous_csrf_token
from backend.clock import now as utcnow
from tests.conftest import TEST_PASSWORD, csrf_of, login, sign_in_form_token


def anon_token(client) -> str:
    return sign_in_form_token(client)


def post_login(client, email, password, **extra):
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": anon_token(client), **extra},
        follow_redirects=False,
    )


def test_wrong_password_is_refused_with_a_translated_message(client, make_user):
    user = make_user("employee")
    response = post_login(client, user.email, "wrong password entirely")
    assert response.status_code == 401
    assert "Email or password is not correct." in response.text
    response = client.post(
        "/login?lang=es",
        data={"email": user.email, "password": "nope", "csrf_token": anon_token(client)},
    )
    assert "El correo electrónico o la contraseña no son correctos." in response.text
    assert "merito_session" not in client.cookies


def test_unknown_and_known_accounts_get_the_same_answer_and_throttle(client, make_user):
    user = make_user("employee")
    known = post_login(client, user.email, "bad password here")
    unknown = post_login(client, "nobody@example.org", "bad password here")
    assert known.status_code == unknown.status_code == 401
    for _ in range(4):
        post_login(client, "nobody@example.org", "bad password here")
        post_login(client, user.email, "bad password here")
    assert post_login(client, "nobody@example.org", "x").status_code == 429
    # Locked even with the right password, until the lockout passes.
    locked = post_login(client, user.email, TEST_PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text


def test_successful_login_clears_failures_and_rotates_nothing_from_before(client, make_user):
    user = make_user("employee")
    post_login(client, user.email, "bad password here")
    client.cookies.set("merito_session", "attacker-chosen-token", domain="testserver.local")
    response = post_login(client, user.email, TEST_PASSWORD)
    assert response.status_code == 303
    # Session fixation: the server issues its own token, never the one the browser had.
    cookie = response.headers["set-cookie"]
    assert "attacker-chosen-token" not in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_open_redirect_after_login_is_refused(client, make_user):
    user = make_user("employee")
    response = post_login(client, user.email, TEST_PASSWORD, next="//evil.example/")
    assert response.headers["location"] == "/"


def test_idle_session_expires_with_a_clear_message(client, make_user, engine):
    user = make_user("employee")
    login(client, user.email)
    assert client.get("/").status_code == 200
    with Session(engine) as db:
        row = db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one()
        row.last_seen_at = utcnow() - timedelta(hours=2)
        db.add(row)
        db.commit()
    response = client.get("/")
    assert response.status_code == 401
    assert "Your session has expired" in response.text
    with Session(engine) as db:
        assert db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).first() is None


def test_absolute_session_expiry(client, make_user, engine):
    user = make_user("employee")
    login(client, user.email)
    with Session(engine) as db:
        row = db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.add(row)
        db.commit()
    assert client.get("/").status_code == 401


def test_unsafe_requests_need_a_csrf_token(client, make_user):
    user = make_user("employee")
    token = login(client, user.email)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    cross = client.post(
        "/logout",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    ok = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_login_form_without_token_is_refused(client, make_user):
    user = make_user("employee")
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in response.text


def test_anonymous_csrf_tokens_expire_and_cannot_be_forged():
    secret = "k" * 40
    token = anonymous_csrf_token(secret, now=1_000_000)
    assert check_anonymous_csrf_token(secret, token, now=1_000_100)
    assert not check_anonymous_csrf_token(secret, token, now=1_000_000 + 5 * 3600)
    assert not check_anonymous_csrf_token("other-secret" * 4, token, now=1_000_100)
    assert not check_anonymous_csrf_token(secret, token[:-1] + "0", now=1_000_100)
    assert not check_anonymous_csrf_token(secret, "garbage", now=1_000_100)
    # Sign-in tokens: bound to one pre-session cookie, for two hours.
    bound = anonymous_csrf_token(secret, binding="p" * 43, now=1_000_000)
    assert check_anonymous_csrf_token(secret, bound, binding="p" * 43, now=1_000_100)
    assert not check_anonymous_csrf_token(secret, bound, binding="q" * 43, now=1_000_100)
    assert not check_anonymous_csrf_token(secret, bound, now=1_000_100)
    assert not check_anonymous_csrf_token(secret, token, binding="p" * 43, now=1_000_100)
    assert not check_anonymous_csrf_token(secret, bound, binding="p" * 43, now=1_000_000 + 3 * 3600)


def test_role_without_permission_gets_403_and_api_errors_are_structured(client, make_user):
    user = make_user("employee")
    login(client, user.email)
    page = client.get("/admin/users")
    assert page.status_code == 403
    assert "You do not have permission" in page.text
    assert client.get("/framework/no-such-thing").status_code == 404
    api = client.get("/api/v1/framework/competencies/no-such-thing")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    client.cookies.clear()
    anonymous = client.get("/api/v1/framework")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == {
        "status": 401,
        "code": "not_authenticated",
        "message": "Please sign in to continue.",
    }


def test_password_policy(settings):
    assert auth_service.password_problems("short")
    assert auth_service.password_problems("password1234")
    assert auth_service.password_problems("Merito123456")
    assert auth_service.password_problems("adquisiciones2026")
    assert auth_service.password_problems(
        "ana.torres@example.org1", user_inputs=["ana.torres@example.org"]
    )
    assert auth_service.password_problems("cardinal lantern obvious 42") == []


def test_change_password_checks_the_current_one(client, make_user, session):
    user = make_user("employee")
    token = login(client, user.email)
    bad = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "wrong",
            "new_password": "x" * 12,
            "confirm_password": "x" * 12,
        },
    )
    assert bad.status_code == 422
    assert "The current password is not correct." in bad.text
    good = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": TEST_PASSWORD,
            "new_password": "cardinal lantern obvious 42",
            "confirm_password": "cardinal lantern obvious 42",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303
    client.cookies.clear()
    login(client, user.email, "cardinal lantern obvious 42")


def test_admin_manages_accounts_and_roles(client, make_user, session, org):
    admin = make_user("admin")
    token = login(client, admin.email)
    created = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "full_name": "Rosa Camacho",
            "email": "rosa@example.org",
            "password": "cardinal lantern obvious 42",
            "employee_number": org.officer_a.number,
            "roles": ["employee", "panel_member"],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    session.expire_all()
    rosa = session.exec(select(User).where(User.email == "rosa@example.org")).one()
    assert rosa.employee_id == org.officer_a.id
    assert auth_service.roles_of(session, rosa) == {"employee", "panel_member"}

    client.post(
        f"/admin/users/{rosa.id}/roles",
        data={"csrf_token": token, "roles": ["employee", "auditor"]},
    )
    session.expire_all()
    assert auth_service.roles_of(session, rosa) == {"employee", "auditor"}

    # Rosa signs in, then is deactivated: her session ends.
    other = client.__class__(
        client.app, base_url="http://testserver", headers={"Accept-Language": "en"}
    )
    login(other, "rosa@example.org", "cardinal lantern obvious 42")
    client.post(f"/admin/users/{rosa.id}/active", data={"csrf_token": token, "active": "0"})
    assert other.get("/").status_code == 401
    assert post_login(other, "rosa@example.org", "cardinal lantern obvious 42").status_code == 401

    # An admin cannot lock themselves out.
    client.post(f"/admin/users/{admin.id}/active", data={"csrf_token": token, "active": "0"})
    session.expire_all()
    assert session.get(User, admin.id).is_active


def test_new_account_form_keeps_input_and_reports_errors(client, make_user, org):
    admin = make_user("admin")
    token = login(client, admin.email)
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "full_name": "Rosa Camacho",
            "email": "rosa@example.org",
            "password": "short",
            "employee_number": "NOPE",
            "roles": ["employee"],
        },
    )
    assert response.status_code == 422
    assert "No employee has this number." in response.text
    assert 'value="rosa@example.org"' in response.text
    duplicate = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "full_name": "Again",
            "email": admin.email,
            "password": "cardinal lantern obvious 42",
        },
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.text


def test_supervisor_role_is_derived_from_reporting_lines(session, make_user, org):
    head = make_user(employee=org.head)
    officer = make_user(employee=org.officer_a)
    assert "supervisor" in auth_service.roles_of(session, head)
    assert "supervisor" not in auth_service.roles_of(session, officer)


def test_htmx_requests_get_the_fragment_with_vary(client, make_user):
    admin = make_user("admin")
    login(client, admin.email)
    full = client.get("/admin/users")
    fragment = client.get("/admin/users", headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in fragment.text
    assert "<table" in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    restore = client.get(
        "/admin/users", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


def test_language_follows_accept_language_then_the_switch(client):
    assert 'lang="es"' in client.get("/login", headers={"Accept-Language": ""}).text
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in to Mérito" in page.text
    client.post("/language", data={"lang": "en", "csrf_token": anon_token(client)})
    assert "Sign in to Mérito" in client.get("/login").text


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_healthz_reports_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_csrf_of_helper_matches_session(client, make_user):
    user = make_user("employee")
    token = login(client, user.email)
    assert token == csrf_of(client)


def test_htmx_posts_redirect_with_a_header_not_a_3xx(client, make_user):
    user = make_user("employee")
    token = login(client, user.email)
    response = client.post(
        "/logout", headers={"X-CSRF-Token": token, "HX-Request": "true"}, follow_redirects=False
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/login"


def test_htmx_form_errors_render_the_block_with_its_macros(client, make_user):
    admin = make_user("admin")
    token = login(client, admin.email)
    response = client.post(
        "/admin/users/new",
        headers={"HX-Request": "true"},
        data={
            "csrf_token": token,
            "full_name": "",
            "email": "someone@example.org",
            "password": "x",
        },
    )
    assert response.status_code == 422
    assert "<html" not in response.text
    assert 'value="someone@example.org"' in response.text
    assert "Please correct the following:" in response.text


def test_hsts_only_behind_https(client, settings):
    assert "strict-transport-security" not in client.get("/login").headers
    from fastapi.testclient import TestClient

    from backend.app import create_app

    secure = create_app(settings.model_copy(update={"https": True}))
    with TestClient(secure, base_url="https://testserver") as https_client:
        response = https_client.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    secure.state.engine.dispose()


def test_a_new_account_is_announced_on_the_page_that_follows(client, make_user, org):
    # The change and its message are committed together: the message is never lost.
    admin = make_user("admin")
    token = login(client, admin.email)
    created = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "full_name": "Rosa Camacho",
            "email": "rosa.camacho@example.org",
            "password": "cardinal lantern obvious 42",
            "roles": ["employee"],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = client.get(created.headers["location"])
    assert "Account created for Rosa Camacho." in page.text
