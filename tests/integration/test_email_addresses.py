"""Security review #21, item 15: every place an address is typed refuses what is not one address.

Each place goes through backend/emails.py; these prove each one does, with the field named.
A line break would add mail headers (`Bcc:`), a comma a second recipient; the old checks
("@" in it, or a loose pattern) let at least one of these through everywhere.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from backend import mail
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import use_locale
from backend.org.models import Employee
from backend.org.service import roster
from tests.conftest import TEST_PASSWORD, sign_in_form_token

BAD_ADDRESSES = [
    "ana@example.org\r\nBcc: everyone@example.org",
    "ana@example.org, otro@example.org",
    "ana,otro@example.org",
    "<ana@example.org>",
    "ana@example..org",
]
MESSAGE = "Enter a valid email address, such as name@example.org."


def _users(app) -> list[str]:
    with Session(app.state.engine) as db:
        return list(db.exec(select(User.email)))


@pytest.mark.parametrize("address", BAD_ADDRESSES, ids=range(len(BAD_ADDRESSES)))
def test_account_creation_refuses_it_with_the_email_field_named(session, settings, address):
    with use_locale("en"), pytest.raises(auth_service.AuthError) as refused:
        auth_service.create_user(
            session, settings, email=address, full_name="Ana Ortiz", password=TEST_PASSWORD
        )
    assert refused.value.field == "email" and str(refused.value) == MESSAGE
    assert refused.value.status_code == 422


def test_candidate_registration_names_the_email_field(app, client):
    for address in BAD_ADDRESSES:
        response = client.post(
            "/candidates/register",
            data={
                "csrf_token": sign_in_form_token(client),
                "first_name": "Ana",
                "last_names": "Ortiz",
                "email": address,
                "password": TEST_PASSWORD,
                "password_again": TEST_PASSWORD,
            },
        )
        assert response.status_code == 422, address
        assert f'<p class="error" id="e-email">{MESSAGE}</p>' in response.text
    assert _users(app) == []


def test_an_administrator_creating_an_account_gets_the_email_field_named(app, client, signed_in):
    _admin, csrf = signed_in("admin")
    before = _users(app)
    for address in BAD_ADDRESSES:
        response = client.post(
            "/admin/users/new",
            data={
                "email": address,
                "full_name": "Ana Ortiz",
                "password": TEST_PASSWORD,
                "roles": "employee",
                "csrf_token": csrf,
            },
        )
        assert response.status_code == 422, address
        assert f'<p class="error" id="e-email">{MESSAGE}</p>' in response.text
    assert _users(app) == before


def test_hr_inviting_a_supplier_learner_gets_the_email_field_named(app, client, signed_in):
    _hr, csrf = signed_in("hr_planner")
    before = _users(app)
    for address in BAD_ADDRESSES:
        response = client.post(
            "/training/manage/learners",
            data={
                "full_name": "Ana Ortiz",
                "email": address,
                "organisation": "Proveedora S.A.",
                "password": TEST_PASSWORD,
                "csrf_token": csrf,
            },
        )
        assert response.status_code == 422, address
        assert 'id="e-email"' in response.text and MESSAGE in response.text
    assert _users(app) == before


def test_the_employee_api_names_the_email_field(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    for address in BAD_ADDRESSES:
        response = client.post(
            "/api/v1/employees",
            json={
                "number": "N1",
                "first_name": "Ana",
                "last_name": "Ortiz",
                "email": address,
                "unit_code": "DA",
                "hire_date": "2024-01-15",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 422, address
        assert {"field": "email", "message": MESSAGE} in response.json()["error"]["fields"]
    assert session.exec(select(Employee).where(Employee.number == "N1")).first() is None


def test_a_roster_import_reports_each_bad_address_by_line_and_column(session, org):
    header = (
        "number,first_name,last_name,email,unit_code,position_code,supervisor_number,"
        "hire_date,birth_date,status,qualifications"
    )
    rows = [
        f'N{i},Ana,Ortiz,"{address}",DA,,,2024-01-01,,,' for i, address in enumerate(BAD_ADDRESSES)
    ]
    raw = ("\n".join([header, *rows]) + "\n").encode()
    with use_locale("en"):
        check = roster.import_roster(session, raw, "people.csv", actor="tester")
    session.rollback()
    assert not check.imported
    # One problem per row, on the row's line (the first row's cell spans lines 2 and 3).
    found = {(p.line, p.column, p.message) for p in check.problems}
    assert found == {(line, "email", MESSAGE) for line in (2, 4, 5, 6, 7)}


@pytest.mark.parametrize("address", BAD_ADDRESSES, ids=range(len(BAD_ADDRESSES)))
def test_mail_is_never_sent_to_what_is_not_one_address(tmp_path, address):
    settings = Settings(environment="development", data_dir=tmp_path, secret_key="k" * 40)
    with pytest.raises(mail.MailError):
        mail.send(settings, to=address, subject="Hola", body="Cuerpo")
    assert not settings.outbox_dir.exists()
