"""Security review #21, items 5, 7 and 8: candidate self-registration.

- mail links come from MERITO_PUBLIC_URL, never from the request's Host header (item 7);
- registering an address that has an account, or belongs to an employee, answers exactly like
  registering a new one; its owner is told by mail (item 8, and staff addresses of item 5);
- an account whose address is not confirmed can do nothing but confirm it, ask for a new
  link and sign out: every other page, action and API route refuses it (item 5).
"""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlmodel import Session, select

from assessments.vacancies import service
from assessments.vacancies.models import CandidateAccount
from backend import mail
from backend.auth.models import AuthSession, User
from backend.config import Settings
from tests.conftest import TEST_PASSWORD, login, sign_in_form_token
from tests.integration.test_authorization_matrix import api_routes, declaration, fill
from tests.reporting_helpers import add_holder, file_report, ready_channel
from tests.smtp_helpers import local_smtp, use_smtp
from whistleblowing.models import RetaliationComplaint

LINK = re.compile(r"\S+/candidates/verify/[\w-]+")
CONFIRM_PAGE = "/candidates/confirm-email"


def outbox(settings: Settings) -> list[email.message.EmailMessage]:
    """Return the messages written to the development outbox, oldest first."""
    folder = settings.outbox_dir
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def register(client, address: str, *, password: str = TEST_PASSWORD, headers=None):
    return client.post(
        "/candidates/register",
        data={
            "csrf_token": sign_in_form_token(client),
            "first_name": "Mario",
            "last_names": "Ruiz Campos",
            "email": address,
            "password": password,
            "password_again": password,
        },
        headers=headers or {},
        follow_redirects=False,
    )


def confirm_link(message) -> str:
    return LINK.search(message.get_content()).group(0)


# --- item 7: links from MERITO_PUBLIC_URL --------------------------------------------------------


def test_a_forged_host_header_never_reaches_a_mail_link(client, settings, fake_clock):
    settings.public_url = "https://merito.example.org"
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    assert register(client, "rosa@mail.example", headers=forged).status_code == 200
    fake_clock.advance(minutes=2)
    resent = client.post(
        "/candidates/resend",
        data={"csrf_token": sign_in_form_token(client), "email": "rosa@mail.example"},
        headers=forged,
    )
    assert resent.status_code == 200
    sent = outbox(settings)
    assert len(sent) == 2
    for message in sent:
        assert confirm_link(message).startswith("https://merito.example.org/candidates/verify/")
        assert "evil.example" not in message.get_content()


def test_without_a_public_url_development_links_to_the_documented_default(client, settings):
    settings.public_url = ""
    assert (
        register(client, "rosa@mail.example", headers={"Host": "evil.example"}).status_code == 200
    )
    (message,) = outbox(settings)
    assert confirm_link(message).startswith("http://127.0.0.1:8000/candidates/verify/")


def test_production_refuses_to_send_a_link_without_the_public_url(tmp_path):
    user = User(email="rosa@mail.example", full_name="Rosa Paredes", password_hash="", locale="en")
    with local_smtp() as (controller, inbox):
        settings = use_smtp(
            Settings(environment="production", data_dir=tmp_path, secret_key="k" * 40), controller
        )
        with pytest.raises(mail.MailError, match="public address"):
            mail.link(settings, "/candidates/verify/abc")
        with pytest.raises(mail.MailError):
            service.send_verification(settings, user=user, token="abc")
        assert inbox.messages == []
        settings.public_url = "https://merito.example.org"
        service.send_verification(settings, user=user, token="abc")
        (message,) = inbox.messages
        assert confirm_link(message) == "https://merito.example.org/candidates/verify/abc"


# --- item 8 (and staff addresses, item 5): the same answer whether or not an address is taken --


def _as_seen(response, address: str) -> tuple[int, dict, str]:
    """What the person registering sees, with the address they typed and form tokens masked."""
    text = re.sub(r"\b[abr]\.\d+\.[\w-]+", "TOKEN", response.text.replace(address, "ADDRESS"))
    headers = sorted(
        (k, v.split("=", 1)[0] if k == "set-cookie" else v.replace(address, "ADDRESS"))
        for k, v in response.headers.multi_items()
        if k not in ("date", "content-length")
    )
    return response.status_code, headers, text


def test_registering_a_taken_address_looks_exactly_like_registering_a_new_one(
    client, session, settings, make_user, org
):
    investigator = make_user("investigator", email="ines.ortega@example.org")
    before = (investigator.full_name, investigator.password_hash)
    employee_without_account = org.officer_a.email  # mario.ruiz@example.org
    new = register(client, "nueva.persona@mail.example")
    taken = register(client, investigator.email)
    employee = register(client, employee_without_account)
    assert new.status_code == 200 and "Check your email" in new.text
    assert _as_seen(taken, investigator.email) == _as_seen(new, "nueva.persona@mail.example")
    assert _as_seen(employee, employee_without_account) == _as_seen(
        new, "nueva.persona@mail.example"
    )
    # A weak password is refused the same way for both, before anything else.
    weak_new = register(client, "otra.persona@mail.example", password="short")
    weak_taken = register(client, investigator.email, password="short")
    assert weak_new.status_code == 422
    assert _as_seen(weak_taken, investigator.email) == _as_seen(
        weak_new, "otra.persona@mail.example"
    )

    session.expire_all()
    assert session.exec(select(User).where(User.email == employee_without_account)).first() is None
    again = session.get(User, investigator.id)
    assert (again.full_name, again.password_hash) == before
    accounts_made = session.exec(select(CandidateAccount)).all()
    assert [session.get(User, a.user_id).email for a in accounts_made] == [
        "nueva.persona@mail.example"
    ]
    # The owner of a taken address is told by mail, without a link that creates anything.
    sent = {m["To"]: m.get_content() for m in outbox(settings)}
    assert set(sent) == {"nueva.persona@mail.example", investigator.email, employee_without_account}
    assert "/candidates/verify/" in sent["nueva.persona@mail.example"]
    for owner in (investigator.email, employee_without_account):
        assert "/candidates/verify/" not in sent[owner]
        assert "already" in sent[owner] and "http://127.0.0.1:8000/login" in sent[owner]


def test_the_staff_mail_domain_cannot_register(client, session, settings):
    settings.staff_email_domain = "institute.gob.mx"
    for address in ("ana.lopez@institute.gob.mx", "ana.lopez@Delegacion.Institute.gob.mx"):
        refused = register(client, address)
        assert refused.status_code == 422
        assert 'id="e-email"' in refused.text and "staff" in refused.text
    assert session.exec(select(User)).all() == []
    assert outbox(settings) == []


# --- item 5: an unconfirmed account can only confirm its address ----------------------------------


def _refused_to_confirm(response, path: str) -> bool:
    if path.startswith("/api/"):
        return (
            response.status_code == 403
            and "Confirm your email" in response.json()["error"]["message"]
        )
    return response.status_code == 303 and response.headers["location"] == CONFIRM_PAGE


def test_an_unconfirmed_account_can_do_nothing_but_confirm_its_address(
    app, client, session, settings, make_user, org
):
    ready = ready_channel(session, settings, make_user)
    add_holder(session, settings, make_user, "protection_officer")
    report = file_report(session, settings, ready.channel.id).report
    assert register(client, "mario.ruiz.campos@mail.example").status_code == 200
    own_token = login(client, "mario.ruiz.campos@mail.example")
    token = sign_in_form_token(client)
    complaint = {
        "act_0": "demotion",
        "narrative": "Demoted after my report.",
        "report_reference": report.reference,
    }
    for csrf in (own_token, token):
        refused = client.post(
            "/retaliation/file", data={**complaint, "csrf_token": csrf}, follow_redirects=False
        )
        assert refused.status_code in (303, 403), refused.text
    assert _refused_to_confirm(
        client.post(
            "/retaliation/file", data={**complaint, "csrf_token": token}, follow_redirects=False
        ),
        "/retaliation/file",
    )
    with Session(app.state.engine) as db:
        assert db.exec(select(RetaliationComplaint)).all() == []

    # Every page and action but the public ones answers the same way, the API included.
    failures = []
    for route in api_routes(app):
        if declaration(route) in ("public", "reporter"):
            continue
        path = fill(route.path, {"code": "legal"})
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            response = client.request(
                method, path, headers={"X-CSRF-Token": token}, follow_redirects=False
            )
            if not _refused_to_confirm(response, path):
                failures.append(f"{method} {path}: {response.status_code} {response.text[:150]}")
    assert failures == [], "\n".join(failures)
    htmx = client.get("/", headers={"HX-Request": "true"})
    assert htmx.headers.get("HX-Redirect") == CONFIRM_PAGE

    # What it may do: see the page that says so, ask for a new link, confirm, sign out.
    page = client.get(CONFIRM_PAGE)
    assert page.status_code == 200 and "mario.ruiz.campos@mail.example" in page.text
    assert 'action="/candidates/resend"' in page.text
    link = confirm_link(outbox(settings)[-1])
    path = link[link.index("/candidates/") :]
    assert client.post(path, data={"csrf_token": token}).status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 200
    # Confirmed, the same session files (the refusal above was the unconfirmed address).
    filed = client.post(
        "/retaliation/file", data={**complaint, "csrf_token": own_token}, follow_redirects=False
    )
    assert filed.status_code == 303 and filed.headers["location"] == "/retaliation/mine"


def test_an_unconfirmed_account_can_sign_out(app, client, settings):
    assert register(client, "rosa@mail.example").status_code == 200
    login(client, "rosa@mail.example")
    assert client.get("/", follow_redirects=False).headers["location"] == CONFIRM_PAGE
    out = client.post(
        f"{CONFIRM_PAGE}/sign-out",
        data={"csrf_token": sign_in_form_token(client)},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    with Session(app.state.engine) as db:
        assert db.exec(select(AuthSession)).all() == []
    assert client.get(CONFIRM_PAGE, follow_redirects=False).headers["location"] == "/login"
