"""Outgoing mail: one small function any domain calls to send a plain-text message.

With `MERITO_SMTP_HOST` set, messages go through that server (STARTTLS and login when
configured). Without it, development and test installations write each message as an `.eml` file
under `<data_dir>/outbox`, where a developer can open it; production refuses, because a message
silently written to disk would never reach the person waiting for it.

Links in mail are built by `link`, on `MERITO_PUBLIC_URL` only: never on the request's Host
header, which whoever sends the request chooses (a forged one would point a confirmation link
at another site). Production without it refuses, as it refuses without an SMTP host.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from backend.config import Settings
from backend.emails import InvalidEmail, normalise_email
from backend.i18n import _


class MailError(RuntimeError):
    """The message could not be sent; `str(err)` is a translated message for the person."""


@dataclass(frozen=True)
class SentMail:
    """What was sent: the message, and the outbox file when it went to the outbox."""

    message: EmailMessage
    outbox_path: Path | None = None


def build_message(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    """Return the message as it will be sent (headers set, UTF-8 plain text)."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.smtp_from)[1].partition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def link(settings: Settings, path: str) -> str:
    """Return the absolute link to `path` for a message; MailError without a public address."""
    base = settings.public_base_url()
    if base is None:
        raise MailError(
            _(
                "Mail with links cannot be sent: the public address of this installation is "
                "not configured. Tell the administrator."
            )
        )
    return base + "/" + path.lstrip("/")


def send(settings: Settings, *, to: str, subject: str, body: str) -> SentMail:
    """Send a plain-text message to `to` and return what was sent; MailError on failure."""
    try:
        to = normalise_email(to)
    except InvalidEmail:
        raise MailError(_("The email address is not valid.")) from None
    message = build_message(settings, to=to, subject=subject, body=body)
    if settings.smtp_host:
        _send_smtp(settings, message)
        return SentMail(message)
    if settings.environment == "production":
        raise MailError(_("Mail is not configured on this installation. Tell the administrator."))
    return SentMail(message, _write_outbox(settings, message))


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as client:
            client.ehlo()
            if settings.smtp_starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                client.login(settings.smtp_user, password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as err:
        raise MailError(_("The email could not be sent. Please try again later.")) from err


def _write_outbox(settings: Settings, message: EmailMessage) -> Path:
    folder = settings.outbox_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    # Owner-only: messages may carry one-time links.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(message.as_bytes())
    return path
