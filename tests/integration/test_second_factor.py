"""Investigators and protection officers sign in with a TOTP second factor."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlmodel import Session, select

from backend.auth import service as auth_service
from backend.auth.models import AuthSession, User
from backend.auth.permissions import Role
from tests.conftest import csrf_of, login, sign_in_form_token
from tests.reporting_helpers import staff_login, totp_code


def _password_step(client, email):
    return client.post(
        "/login",
        data={
            "email": email,
            "password": "correct-horse-battery-staple-42",
            "csrf_token": sign_in_form_token(client),
            "next": "/cases",
        },
        follow_redirects=False,
    )


def test_investigator_enrols_then_must_pass_totp_every_time(client, make_user):
    user = make_user("investigator")
    response = _password_step(client, user.email)
    assert response.headers["location"] == "/login/second-factor?next=%2Fcases"
    # Half signed in: nothing else is reachable.
    assert client.get("/cases").status_code == 401
    assert client.get("/").status_code == 401
    page = client.get("/login/second-factor?next=/cases")
    assert "otpauth://totp/" in page.text and "<svg" in page.text
    wrong = client.post(
        "/login/second-factor",
        data={"code": "000000", "next": "/cases", "csrf_token": csrf_of(client)},
    )
    assert wrong.status_code == 422
    assert "This code is not correct" in wrong.text
    ok = client.post(
        "/login/second-factor",
        data={
            "code": totp_code(client.app, user.email),
            "next": "/cases",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/cases"
    assert client.get("/cases").status_code == 200
    with Session(client.app.state.engine) as db:
        enrolled = db.get(User, user.id)
        assert enrolled.totp_confirmed_at is not None
        row = db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one()
        # The unlocked key is in the session, sealed under the cookie.
        assert row.sealed_key and not row.pending_second_factor
    # Next sign-in: no enrolment page, the code is asked again.
    client.cookies.clear()
    _password_step(client, user.email)
    page = client.get("/login/second-factor")
    assert "otpauth://" not in page.text


def test_a_totp_code_cannot_be_replayed(client, session, make_user):
    user = make_user("protection_officer")
    staff_login(client, user.email)
    session.expire_all()
    used_step = session.get(User, user.id).totp_last_step
    client.cookies.clear()
    _password_step(client, user.email)
    secret = auth_service.totp_secret_of(client.app.state.settings, session.get(User, user.id))
    replay = pyotp.TOTP(secret).at(used_step * 30)
    response = client.post(
        "/login/second-factor",
        data={"code": replay, "next": "/", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 422


def test_too_many_wrong_codes_end_the_half_session(client, make_user, settings):
    user = make_user("investigator")
    _password_step(client, user.email)
    statuses = []
    for _ in range(settings.login_max_failures):
        token = csrf_of(client)
        statuses.append(
            client.post(
                "/login/second-factor", data={"code": "123456", "next": "/", "csrf_token": token}
            ).status_code
        )
    assert statuses[-1] == 429
    with Session(client.app.state.engine) as db:
        assert db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).first() is None


def test_cancel_ends_the_half_session(client, make_user):
    user = make_user("investigator")
    _password_step(client, user.email)
    response = client.post(
        "/login/second-factor/cancel", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert response.status_code == 303
    with Session(client.app.state.engine) as db:
        assert db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).first() is None


ROLES_WITHOUT_SECOND_FACTOR = [
    "employee",
    "hr_planner",
    "panel_member",
    "candidate",
    "admin",
    "auditor",
    "supplier",
]


@pytest.mark.parametrize("role", ROLES_WITHOUT_SECOND_FACTOR)
def test_other_roles_sign_in_without_a_second_factor(client, make_user, role):
    user = make_user(role)
    # The password alone: straight to the page asked for, never to the second-factor step.
    response = _password_step(client, user.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/cases"
    home = client.get("/")
    assert home.status_code == 200 and user.full_name in home.text
    with Session(client.app.state.engine) as db:
        row = db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one()
        assert row.pending_second_factor is False
        assert db.get(User, user.id).totp_secret is None  # nothing was enrolled on the way


def test_granting_the_investigator_role_ends_open_sessions(client, session, make_user):
    admin = make_user("admin")
    user = make_user("employee")
    login(client, user.email)
    auth_service.set_roles(
        session, user=user, roles={Role.employee, Role.investigator}, actor=admin
    )
    session.commit()
    assert client.get("/").status_code == 401


def test_verify_second_factor_accepts_adjacent_steps_only(session, settings, make_user):
    user = make_user("investigator")
    secret = auth_service.totp_draft_secret(session, settings, user=user)
    token, row = auth_service.start_session(session, settings, user=user)
    session.commit()
    now = time.time()
    far = pyotp.TOTP(secret).at(now - 120)
    try:
        auth_service.verify_second_factor(
            session, settings, user=user, session_row=row, code=far, now=now
        )
        raise AssertionError("a two-minute-old code was accepted")
    except auth_service.AuthError as err:
        assert err.status_code == 422
    near = pyotp.TOTP(secret).at(now - 30)
    auth_service.verify_second_factor(
        session, settings, user=user, session_row=row, code=near, now=now
    )
    assert row.pending_second_factor is False


def test_totp_secrets_are_encrypted_at_rest(session, settings, make_user):
    user = make_user("investigator")
    secret = auth_service.totp_draft_secret(session, settings, user=user)
    session.commit()
    session.expire_all()
    stored = session.get(User, user.id).totp_secret
    assert secret not in stored and stored.startswith("v1:")
    assert auth_service.totp_secret_of(settings, session.get(User, user.id)) == secret
    # Another installation's key (a stolen database alone) cannot open it.
    other = settings.model_copy(update={"secret_key": None})
    other._secret = "another-installation-secret-key-0123456789"
    with pytest.raises(auth_service.AuthError):
        auth_service.totp_secret_of(other, session.get(User, user.id))


def test_an_admin_resets_a_lost_second_factor(client, session, settings, make_user):
    user = make_user("investigator")
    staff_login(client, user.email)
    admin = make_user("admin")
    client.cookies.clear()
    token = login(client, admin.email)
    response = client.post(
        f"/admin/users/{user.id}/second-factor/reset",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.expire_all()
    reset = session.get(User, user.id)
    assert reset.totp_secret is None and reset.totp_confirmed_at is None
    client.cookies.clear()
    staff_login(client, user.email)  # enrols again
