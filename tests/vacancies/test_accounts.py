"""Candidate accounts and mail: a real local SMTP server (aiosmtpd), the development outbox."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlmodel import select

from assessments.vacancies.models import CandidateAccount
from backend import mail
from backend.auth.permissions import Role
from backend.auth.service import roles_of
from backend.config import Settings
from tests.conftest import TEST_PASSWORD, free_port, login, sign_in_form_token
from tests.smtp_helpers import local_smtp, use_smtp


@pytest.fixture
def smtp_server():
    with local_smtp() as server:
        yield server


def test_mail_goes_through_the_configured_smtp_server(tmp_path, smtp_server):
    controller, inbox = smtp_server
    settings = use_smtp(
        Settings(environment="test", data_dir=tmp_path, secret_key="k" * 40), controller
    )
    sent = mail.send(settings, to="rosa@mail.example", subject="Hola", body="Línea uno\nDos")
    assert sent.outbox_path is None
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "rosa@mail.example" and message["Subject"] == "Hola"
    assert message.get_content().strip().splitlines() == ["Línea uno", "Dos"]
    assert not (tmp_path / "outbox").exists()


def test_without_an_smtp_host_development_writes_to_the_outbox(tmp_path):
    settings = Settings(environment="development", data_dir=tmp_path, secret_key="k" * 40)
    sent = mail.send(settings, to="rosa@mail.example", subject="Prueba", body="Cuerpo")
    assert sent.outbox_path.parent == tmp_path / "outbox"
    parsed = email.message_from_bytes(sent.outbox_path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Prueba" and parsed.get_content().strip() == "Cuerpo"


def test_production_without_an_smtp_host_refuses_to_pretend(tmp_path):
    settings = Settings(environment="production", data_dir=tmp_path, secret_key="k" * 40)
    with pytest.raises(mail.MailError):
        mail.send(settings, to="rosa@mail.example", subject="x", body="y")


def test_an_unreachable_smtp_server_is_a_mail_error(tmp_path):
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        secret_key="k" * 40,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_timeout_seconds=2,
    )
    with pytest.raises(mail.MailError):
        mail.send(settings, to="rosa@mail.example", subject="x", body="y")
    with pytest.raises(mail.MailError):
        mail.send(settings, to="bad\naddress@x", subject="x", body="y")


@pytest.fixture
def smtp_client(settings, smtp_server, app):
    controller, inbox = smtp_server
    use_smtp(settings, controller)
    from fastapi.testclient import TestClient

    with TestClient(app, headers={"Accept-Language": "en"}) as test_client:
        yield test_client, inbox


def test_an_external_candidate_registers_confirms_by_mail_and_can_apply(
    smtp_client, session, published
):
    client, inbox = smtp_client
    token = sign_in_form_token(client)
    form = {
        "csrf_token": token,
        "first_name": "Rosa",
        "last_names": "Paredes Luna",
        "email": "Rosa.Paredes@mail.example",
        "password": TEST_PASSWORD,
        "password_again": TEST_PASSWORD,
    }
    done = client.post("/candidates/register", data=form)
    assert done.status_code == 200 and "Check your email" in done.text
    again = client.post("/candidates/register", data=form)
    # The same address twice: the same answer (it reveals no account); the owner is told by mail.
    assert again.status_code == 200 and "Check your email" in again.text
    assert len(inbox.messages) == 2
    assert "/candidates/verify/" not in inbox.messages[1].get_content()
    body = inbox.messages[0].get_content()
    # Links are built on MERITO_PUBLIC_URL (its development default here), not on the request.
    link = re.search(r"http://127\.0\.0\.1:8000(/candidates/verify/[\w-]+)", body).group(1)
    account = session.exec(select(CandidateAccount)).one()
    assert account.email_verified_at is None and account.last_names == "Paredes Luna"
    assert link.rsplit("/", 1)[1] not in account.token_hash  # only the hash is stored
    assert "Confirm my email address" in client.get(link).text
    confirmed = client.post(link, data={"csrf_token": token})
    assert confirmed.status_code == 200 and "is confirmed" in confirmed.text
    assert client.post(link, data={"csrf_token": token}).status_code == 404  # used once
    session.expire_all()
    from backend.auth.models import User

    user = session.exec(select(User).where(User.email == "rosa.paredes@mail.example")).one()
    assert roles_of(session, user) == {Role.candidate}
    login(client, user.email)
    page = client.get(f"/vacancies/{published.vacancy.id}/apply")
    assert "You apply as an external candidate." in page.text


def test_a_weak_password_or_mismatch_is_refused_and_nothing_is_created(smtp_client, session):
    client, inbox = smtp_client
    token = sign_in_form_token(client)
    base = {
        "csrf_token": token,
        "first_name": "Rosa",
        "last_names": "Paredes",
        "email": "rosa@mail.example",
    }
    weak = client.post(
        "/candidates/register", data={**base, "password": "short", "password_again": "short"}
    )
    assert weak.status_code == 422 and "Use at least 12 characters." in weak.text
    mismatch = client.post(
        "/candidates/register",
        data={**base, "password": TEST_PASSWORD, "password_again": TEST_PASSWORD + "!"},
    )
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    assert session.exec(select(CandidateAccount)).all() == []
    assert inbox.messages == []
