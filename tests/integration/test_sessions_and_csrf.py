"""Sessions, sign-in forms and cookies (issue #21, items 9, 10, 14 and 16).

- A password change signed the other browsers of the account in for the rest of their session.
- Five wrong passwords locked anyone's account for 15 minutes, as often as one liked.
- The sign-in form's CSRF token was bound to nothing and lasted 8 hours, and `Origin: null`
  skipped the origin check: another site could sign a visitor into an account of its own.
- Over HTTPS the cookies lacked the `__Host-` prefix.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.auth.models import AuthSession
from backend.auth.service import anonymous_csrf_token
from tests.conftest import TEST_PASSWORD, csrf_of, login, sign_in_form_token

NEW_PASSWORD = "cardinal lantern obvious 42"


def _client(app, base_url: str = "http://testserver") -> TestClient:
    return TestClient(app, base_url=base_url, headers={"Accept-Language": "en"})


def _form_token(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def _post_login(client, email: str, password: str, token: str | None = None, **headers):
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": token or sign_in_form_token(client),
        },
        headers=headers,
        follow_redirects=False,
    )


def _sessions(engine, user_id: int) -> list[AuthSession]:
    with Session(engine) as db:
        return list(db.exec(select(AuthSession).where(AuthSession.user_id == user_id)).all())


# --- item 9: a password change ends the account's other sessions --------------------------------


def test_changing_the_password_signs_out_every_other_browser_but_this_one(app, client, make_user):
    user = make_user("employee")
    others = [_client(app), _client(app)]
    for other in others:
        login(other, user.email)
    token = login(client, user.email)
    assert len(_sessions(app.state.engine, user.id)) == 3
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    page = client.get("/account")
    assert page.status_code == 200
    assert "You were signed out everywhere else." in page.text
    for other in others:
        assert other.get("/").status_code == 401
    kept = _sessions(app.state.engine, user.id)
    assert [row.csrf_token for row in kept] == [csrf_of(client)]


def test_a_refused_password_change_signs_nobody_out(app, client, make_user):
    user = make_user("employee")
    other = _client(app)
    login(other, user.email)
    token = login(client, user.email)
    refused = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not the password",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 422
    assert other.get("/").status_code == 200
    assert len(_sessions(app.state.engine, user.id)) == 2


# --- item 10: guessing cannot lock the holder out of the browser they use -------------------------


def test_someone_guessing_cannot_lock_the_holder_out_of_their_own_browser(
    app, client, make_user, settings
):
    user = make_user("employee")
    decoy = make_user("employee")
    # The holder signs in from this browser and out again: it keeps its device cookie.
    token = login(client, user.email)
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert client.cookies.get("merito_device")

    attacker = _client(app)
    for _n in range(settings.login_max_failures):
        assert _post_login(attacker, user.email, "guess guess guess").status_code == 401
    assert _post_login(attacker, user.email, TEST_PASSWORD).status_code == 429
    # A device cookie of the attacker's own account, or a made-up one, opens nothing.
    decoy_browser = _client(app)
    login(decoy_browser, decoy.email)
    attacker.cookies.set("merito_device", decoy_browser.cookies.get("merito_device"))
    assert _post_login(attacker, user.email, TEST_PASSWORD).status_code == 429
    attacker.cookies.set("merito_device", f"d1.{user.id}.forged.{'0' * 40}")
    assert _post_login(attacker, user.email, TEST_PASSWORD).status_code == 429

    assert _post_login(client, user.email, TEST_PASSWORD).status_code == 303
    assert client.get("/").status_code == 200


def test_a_known_browser_has_its_own_limit_too(app, client, make_user, settings):
    user = make_user("employee")
    token = login(client, user.email)
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    for _n in range(settings.login_max_failures):
        assert _post_login(client, user.email, "guess guess guess").status_code == 401
    assert _post_login(client, user.email, TEST_PASSWORD).status_code == 429
    # Its failures did not touch the account name's budget for other browsers.
    assert _post_login(_client(app), user.email, TEST_PASSWORD).status_code == 303


# --- item 14: sign-in CSRF ----------------------------------------------------------------------


def test_the_sign_in_form_works_only_with_the_browser_cookie_it_came_with(app, client, make_user):
    user = make_user("employee")
    page = client.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("merito_presession=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = _form_token(page.text)

    # Another browser (an attacker's page posting into the victim's) cannot use it.
    stranger = _client(app)
    refused = _post_login(stranger, user.email, TEST_PASSWORD, token=token)
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    stranger.cookies.set("merito_presession", "x" * 43)
    assert _post_login(stranger, user.email, TEST_PASSWORD, token=token).status_code == 403
    # A reporting-channel token (bound to no browser) is no sign-in token.
    report_token = anonymous_csrf_token(app.state.settings.resolved_secret_key())
    assert _post_login(client, user.email, TEST_PASSWORD, token=report_token).status_code == 403
    assert _sessions(app.state.engine, user.id) == []

    assert _post_login(client, user.email, TEST_PASSWORD, token=token).status_code == 303


def test_a_sign_in_form_token_expires_after_two_hours(app, client, make_user):
    import time

    user = make_user("employee")
    client.get("/login")
    binding = client.cookies.get("merito_presession")
    secret = app.state.settings.resolved_secret_key()
    old = anonymous_csrf_token(secret, binding=binding, now=time.time() - 2 * 3600 - 60)
    assert _post_login(client, user.email, TEST_PASSWORD, token=old).status_code == 403
    recent = anonymous_csrf_token(secret, binding=binding, now=time.time() - 3600)
    assert _post_login(client, user.email, TEST_PASSWORD, token=recent).status_code == 303


def test_origin_null_is_a_cross_site_origin(client, make_user):
    user = make_user("employee")
    refused = _post_login(client, user.email, TEST_PASSWORD, Origin="null")
    assert refused.status_code == 403
    assert "Cross-site request refused." in refused.text
    token = login(client, user.email)
    logout = client.post(
        "/logout", data={"csrf_token": token}, headers={"Origin": "null"}, follow_redirects=False
    )
    assert logout.status_code == 403
    assert client.get("/").status_code == 200
    same_site = client.post(
        "/logout",
        data={"csrf_token": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same_site.status_code == 303
    # Our own pages make the browser state its origin on their form posts.
    assert client.get("/login").headers["referrer-policy"] == "same-origin"


# --- item 16: __Host- cookies over HTTPS --------------------------------------------------------


@pytest.fixture
def https_app(settings):
    from backend.app import create_app

    secure = create_app(settings.model_copy(update={"https": True}))
    yield secure
    secure.state.engine.dispose()


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def _host_prefixed(header: str) -> bool:
    parts = [p.strip() for p in header.split(";")]
    return (
        parts[0].startswith("__Host-")
        and "Secure" in parts
        and "Path=/" in parts
        and not any(p.lower().startswith("domain=") for p in parts)
    )


def test_over_https_every_cookie_is_host_prefixed(https_app, make_user):
    user = make_user("employee")
    with _client(https_app, "https://testserver") as browser:
        page = browser.get("/login")
        first = _set_cookies(page)
        assert list(first) == ["__Host-merito_presession"]
        assert all(_host_prefixed(h) for h in first.values())
        signed_in = browser.post(
            "/login",
            data={
                "email": user.email,
                "password": TEST_PASSWORD,
                "csrf_token": _form_token(page.text),
            },
            headers={"Origin": "https://testserver"},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        cookies = _set_cookies(signed_in)
        assert set(cookies) == {
            "__Host-merito_session",
            "__Host-merito_lang",
            "__Host-merito_device",
        }
        assert all(_host_prefixed(h) for h in cookies.values()), cookies
        assert browser.get("/").status_code == 200
        # A cookie without the prefix (planted from a sibling subdomain, say) is not read.
        token = browser.cookies.get("__Host-merito_session")
        with _client(https_app, "https://testserver") as planted:
            planted.cookies.set("merito_session", token)
            assert planted.get("/").status_code == 401
        logout = browser.post(
            "/logout",
            data={"csrf_token": csrf_of_https(https_app, token)},
            follow_redirects=False,
        )
        assert logout.status_code == 303
        removed = _set_cookies(logout)["__Host-merito_session"]
        assert _host_prefixed(removed) and "Max-Age=0" in removed
        assert browser.get("/").status_code == 401


def csrf_of_https(app, token: str) -> str:
    from backend.auth.service import token_hash

    with Session(app.state.engine) as db:
        row = db.exec(select(AuthSession).where(AuthSession.token_hash == token_hash(token))).one()
        return row.csrf_token
