"""An account an administrator creates must change its initial password before anything else."""

from __future__ import annotations

from sqlmodel import select

from backend.auth.models import User
from tests.conftest import TEST_PASSWORD, csrf_of, login, sign_in_form_token
from tests.reporting_helpers import totp_code

INITIAL = "Initial-password-from-admin-77"
CHOSEN = "lantern orchard velvet compass 19"
FIRST_PASSWORD_PAGE = "/account/first-password"


def _admin_creates(client, make_user, email: str = "nueva.persona@example.org") -> None:
    admin = make_user("admin")
    csrf = login(client, admin.email)
    response = client.post(
        "/admin/users/new",
        data={
            "full_name": "Nueva Persona",
            "email": email,
            "password": INITIAL,
            "roles": "hr_planner",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.cookies.clear()


def test_an_account_made_by_an_administrator_can_only_change_its_password_first(
    client, session, make_user
):
    _admin_creates(client, make_user)
    response = client.post(
        "/login",
        data={
            "email": "nueva.persona@example.org",
            "password": INITIAL,
            "csrf_token": sign_in_form_token(client),
            "next": "/competencies/gaps",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    # An HR planner passes the second step first (enrolling), then meets the password hold.
    assert response.headers["location"].startswith("/login/second-factor")
    client.get(response.headers["location"])
    passed = client.post(
        "/login/second-factor",
        data={
            "code": totp_code(client.app, "nueva.persona@example.org"),
            "next": "/competencies/gaps",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert passed.status_code == 303
    # Every page, wherever sign-in meant to go, leads to the one page it may use.
    for path in ("/", "/competencies/gaps", "/account", "/appraisals/cycles"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == FIRST_PASSWORD_PAGE, path
    api = client.get("/api/v1/appraisals/scale", headers={"Accept": "application/json"})
    assert api.status_code == 403
    assert "elija su propia contraseña" in api.json()["error"]["message"]
    page = client.get(FIRST_PASSWORD_PAGE)
    # In the account's language (Spanish, as administrators' accounts are by default).
    assert page.status_code == 200 and "Elija su propia contraseña" in page.text
    # Other actions are refused, with nothing written.
    refused = client.post(
        "/appraisals/plan/priorities",
        data={
            "year": "2026",
            "title": "x",
            "target": "y",
            "csrf_token": sign_in_form_token(client),
        },
        follow_redirects=False,
    )
    assert refused.status_code in (303, 403)
    # Keeping the password one was given is not changing it.
    same = client.post(
        FIRST_PASSWORD_PAGE,
        data={
            "current_password": INITIAL,
            "new_password": INITIAL,
            "confirm_password": INITIAL,
            "csrf_token": sign_in_form_token(client),
        },
    )
    assert same.status_code == 422 and "distinta de la que se le asignó" in same.text
    done = client.post(
        FIRST_PASSWORD_PAGE,
        data={
            "current_password": INITIAL,
            "new_password": CHOSEN,
            "confirm_password": CHOSEN,
            "csrf_token": sign_in_form_token(client),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get(FIRST_PASSWORD_PAGE, follow_redirects=False).status_code == 303
    session.expire_all()
    user = session.exec(select(User).where(User.email == "nueva.persona@example.org")).one()
    assert user.must_change_password is False


def test_the_held_account_can_sign_out_from_the_password_page(client, make_user):
    _admin_creates(client, make_user, "otra.persona@example.org")
    login(client, "otra.persona@example.org", INITIAL)
    response = client.post(
        FIRST_PASSWORD_PAGE + "/sign-out",
        data={"csrf_token": sign_in_form_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 401


def test_accounts_not_made_by_an_administrator_are_not_held(client, make_user):
    user = make_user("employee")
    login(client, user.email, TEST_PASSWORD)
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get(FIRST_PASSWORD_PAGE, follow_redirects=False).status_code == 303
