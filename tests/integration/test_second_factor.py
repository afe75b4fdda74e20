"""Investigators, protection officers, HR planners and administrators sign in with a TOTP
second factor, and can fall back on single-use recovery codes."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlmodel import Session, select

from backend.auth import second_factor
from backend.auth import service as auth_service
from backend.auth.models import AuthSession, RecoveryCode, User
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
    secret = second_factor.totp_secret_of(client.app.state.settings, session.get(User, user.id))
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
    "panel_member",
    "candidate",
    "auditor",
    "supplier",
]


@pytest.mark.parametrize("role", ["hr_planner", "admin"])
def test_hr_planners_and_administrators_must_pass_totp(client, make_user, role):
    user = make_user(role)
    response = _password_step(client, user.email)
    assert response.headers["location"] == "/login/second-factor?next=%2Fcases"
    assert client.get("/").status_code == 401
    page = client.get("/login/second-factor?next=/cases")
    assert "otpauth://totp/" in page.text
    ok = client.post(
        "/login/second-factor",
        data={
            "code": totp_code(client.app, user.email),
            "next": "/",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    home = client.get("/")
    assert home.status_code == 200
    # Enrolled, without recovery codes yet: every page says so until they are created.
    assert "recovery-codes-reminder" in home.text


def _recovery_codes(client) -> list[str]:
    page = client.post("/account/two-step/recovery-codes", data={"csrf_token": csrf_of(client)})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    codes = re.findall(r"<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>", page.text)
    assert len(codes) == second_factor.RECOVERY_COUNT == len(set(codes))
    return codes


def _recovery_step(client, user, code: str):
    client.cookies.clear()
    _password_step(client, user.email)
    client.get("/login/second-factor")
    return client.post(
        "/login/second-factor",
        data={"code": code, "next": "/", "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


def test_a_recovery_code_signs_in_once_and_only_its_digest_is_kept(client, session, make_user):
    user = make_user("admin")
    staff_login(client, user.email)
    assert "recovery-codes-reminder" in client.get("/account").text
    codes = _recovery_codes(client)
    assert "recovery-codes-reminder" not in client.get("/account").text
    stored = session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    dump = " ".join(row.code_digest for row in stored)
    assert not any(code.replace("-", "") in dump or code in dump for code in codes)
    # Typed in capitals, with spaces, and an O for a 0: still the code.
    typed = codes[3].upper().replace("-", " ").replace("0", "O")
    used = _recovery_step(client, user, typed)
    assert used.status_code == 303
    landing = client.get("/")
    assert landing.status_code == 200 and "9 codes are left" in landing.text
    again = _recovery_step(client, user, codes[3])
    assert again.status_code == 422 and "This code is not correct" in again.text
    page = client.get("/login/second-factor")
    assert "Use a recovery code" in page.text


def test_new_recovery_codes_replace_the_old_ones(client, make_user):
    user = make_user("hr_planner")
    staff_login(client, user.email)
    old = _recovery_codes(client)
    new = _recovery_codes(client)
    assert not set(old) & set(new)
    assert _recovery_step(client, user, old[0]).status_code == 422
    assert _recovery_step(client, user, new[0]).status_code == 303
    page = client.get("/account/two-step")
    assert "9 are still unused" in page.text


def test_wrong_recovery_codes_spend_the_same_budget_as_wrong_totp_codes(client, make_user):
    user = make_user("admin")
    staff_login(client, user.email)
    _recovery_codes(client)
    client.cookies.clear()
    _password_step(client, user.email)
    client.get("/login/second-factor")
    statuses = [
        client.post(
            "/login/second-factor",
            data={"code": f"zzzzz-zzzz{n}", "next": "/", "csrf_token": csrf_of(client)},
        ).status_code
        for n in range(2, 7)
    ]
    # The fifth wrong code fills the window and ends the half-open session.
    assert statuses == [422, 422, 422, 422, 429]


def test_recovery_codes_need_an_enrolled_second_factor(client, make_user):
    user = make_user("employee")
    login(client, user.email)
    page = client.get("/account/two-step")
    assert page.status_code == 200 and "does not require a second step" in page.text
    refused = client.post("/account/two-step/recovery-codes", data={"csrf_token": csrf_of(client)})
    assert refused.status_code == 409


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
    secret = second_factor.totp_draft_secret(session, settings, user=user)
    token, row = auth_service.start_session(session, settings, user=user)
    session.commit()
    now = time.time()
    far = pyotp.TOTP(secret).at(now - 120)
    try:
        second_factor.verify_second_factor(
            session, settings, user=user, session_row=row, code=far, now=now
        )
        raise AssertionError("a two-minute-old code was accepted")
    except auth_service.AuthError as err:
        assert err.status_code == 422
    near = pyotp.TOTP(secret).at(now - 30)
    second_factor.verify_second_factor(
        session, settings, user=user, session_row=row, code=near, now=now
    )
    assert row.pending_second_factor is False


def test_totp_secrets_are_encrypted_at_rest(session, settings, make_user):
    user = make_user("investigator")
    secret = second_factor.totp_draft_secret(session, settings, user=user)
    session.commit()
    session.expire_all()
    stored = session.get(User, user.id).totp_secret
    assert secret not in stored and stored.startswith("v1:")
    assert second_factor.totp_secret_of(settings, session.get(User, user.id)) == secret
    # Another installation's key (a stolen database alone) cannot open it.
    other = settings.model_copy(update={"secret_key": None})
    other._secret = "another-installation-secret-key-0123456789"
    with pytest.raises(auth_service.AuthError):
        second_factor.totp_secret_of(other, session.get(User, user.id))


def test_an_admin_resets_a_lost_second_factor(client, session, settings, make_user):
    user = make_user("investigator")
    staff_login(client, user.email)
    _recovery_codes(client)
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
    assert reset.recovery_codes_at is None
    assert not session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    client.cookies.clear()
    staff_login(client, user.email)  # enrols again
