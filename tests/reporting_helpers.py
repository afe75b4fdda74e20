"""Builders for reporting-channel tests: a ready channel, investigators with keys, TOTP."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp
from sqlmodel import Session, select

from backend.auth.models import User
from backend.auth.second_factor import totp_secret_of
from backend.auth.service import anonymous_csrf_token
from tests.conftest import TEST_PASSWORD, csrf_of, sign_in_form_token
from whistleblowing import service as reporting
from whistleblowing.models import ReportChannel
from whistleblowing.service.common import _aad


@dataclass
class Channel:
    channel: ReportChannel
    investigator: User
    passphrase: str


def ready_channel(session: Session, settings, make_user, *, code: str = "procurement_fraud"):
    """Create the recovery key and an investigator (with a key pair) receiving `code`."""
    admin = make_user("admin")
    investigator = make_user("investigator")
    reporting.unlock_holder_key(session, settings, user=investigator, password=TEST_PASSWORD)
    passphrase = reporting.init_recovery(session, settings)
    channel = session.exec(select(ReportChannel).where(ReportChannel.code == code)).one()
    reporting.set_channel_recipients(
        session, actor=admin, channel=channel, user_ids=[investigator.id]
    )
    session.commit()
    return Channel(channel, investigator, passphrase)


def add_holder(session: Session, settings, make_user, *roles: str) -> User:
    user = make_user(*roles)
    reporting.unlock_holder_key(session, settings, user=user, password=TEST_PASSWORD)
    session.commit()
    return user


def anon_token(client) -> str:
    return anonymous_csrf_token(client.app.state.settings.resolved_secret_key())


def totp_code(app, email: str) -> str:
    """Return a TOTP code the server will accept now for `email` (never a replayed step)."""
    with Session(app.state.engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        secret, last = totp_secret_of(app.state.settings, user), user.totp_last_step
    step = int(time.time() // 30)
    if last is not None and step <= last:
        step = last + 1
        # The server takes one step ahead of its clock, no more: a third sign-in within one
        # 30-second step waits for the next, as a person would.
        while step > int(time.time() // 30) + 1:
            time.sleep(0.5)
    return pyotp.TOTP(secret).at(step * 30)


def staff_login(client, email: str, password: str = TEST_PASSWORD) -> str:
    """Sign in with password and TOTP (enrolling on first use); return the CSRF token."""
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": sign_in_form_token(client),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login/second-factor")
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    response = client.post(
        "/login/second-factor",
        data={
            "code": totp_code(client.app, email),
            "next": "/",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client)


def report_form_data(channel_id: int, **overrides) -> dict:
    data = {
        "channel": str(channel_id),
        "what": "Invoices for gloves paid twice",
        "when": "March",
        "where": "Central warehouse",
        "who": "A supplier",
        "how_known": "I saw the invoices",
        "red_flags": ["duplicate_invoices", "round_sum_invoices"],
        "others_know": "no",
        "good_faith": "yes",
        "form_token": reporting.new_form_token(),
    }
    data.update(overrides)
    return data


def submit_via_client(client, data: dict, files=None):
    """POST the report form as a browser would (multipart); return the response."""
    payload = {**data, "csrf_token": anon_token(client)}
    return client.post(
        "/report/new?lang=en",
        data=payload,
        files=files or [("files", ("", b"", "application/octet-stream"))],
    )


def receipt_from(page_text: str) -> str:
    import re

    match = re.search(r'id="receipt"[^>]*>([0-9A-Z-]+)<', page_text)
    assert match, "no receipt on the page"
    return match.group(1)


def holder_private(session: Session, user: User) -> bytes:
    """Return a holder's private key, as their sign-in would unlock it."""
    from backend import crypto
    from whistleblowing.models import HolderKey

    return crypto.unwrap_private_key(
        session.get(HolderKey, user.id).wrapped_private,
        TEST_PASSWORD,
        aad=_aad("holder", user.id),
    )


def open_as(session: Session, user: User, reference: str, *, audit_read: bool = False):
    return reporting.open_case(
        session,
        user=user,
        holder_private=holder_private(session, user),
        reference=reference,
        audit_read=audit_read,
    )


def file_report(session: Session, settings, channel_id: int, **overrides):
    """File a report through the service (committed); return the SubmissionResult."""
    values = dict(
        channel_id=channel_id,
        what="Gloves invoiced twice by the same supplier",
        red_flags=["duplicate_invoices"],
        others_know="unsure",
        good_faith=True,
        form_token=reporting.new_form_token(),
    )
    values.update(overrides)
    result = reporting.submit_report(session, settings, submission=reporting.Submission(**values))
    session.commit()
    return result


def reporter_of(session: Session, settings, receipt: str):
    """Return the reporter's CaseAccess after a receipt login."""
    token, _report = reporting.receipt_login(session, settings, receipt=receipt)
    session.commit()
    return reporting.reporter_access(session, token=token)
