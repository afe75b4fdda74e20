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
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parseaddr, parsedate_to_datetime
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


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> EmailMessage:
    """Return the message as it will be sent (headers set, UTF-8 plain text).

    `message_id` (the part before the @) makes the Message-ID stable, so a message sent twice
    is recognised as one by mail systems; `attachment` is (file name, MIME type, content).
    """
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.smtp_from)[1].partition("@")[2] or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>" if message_id else make_msgid(domain=domain)
    message.set_content(body)
    if attachment is not None:
        filename, content_type, content = attachment
        maintype, _slash, subtype = content_type.partition(";")[0].strip().partition("/")
        params = dict(
            part.strip().split("=", 1) for part in content_type.split(";")[1:] if "=" in part
        )
        message.add_attachment(
            content, maintype=maintype, subtype=subtype, filename=filename, params=params
        )
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


class MessageRefused(MailError):
    """The server refused this one message (its recipient, its sender or its content), while
    the connection is fine: the next message may still go. `code` is the SMTP reply code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Connection:
    """One connection for many messages (`with mail.connect(settings) as out: out.send(m)`):
    a batch pays for the handshake, STARTTLS and login once. Without an SMTP host, messages go
    to the outbox (never in production, as `send`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        settings = self.settings
        if not settings.smtp_host:
            if settings.environment == "production":
                raise MailError(
                    _("Mail is not configured on this installation. Tell the administrator.")
                )
            return self
        try:
            self.client = smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
            )
            self.client.ehlo()
            if settings.smtp_starttls:
                self.client.starttls(context=ssl.create_default_context())
                self.client.ehlo()
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                self.client.login(settings.smtp_user, password)
        except (OSError, smtplib.SMTPException) as err:
            self._close()
            raise MailError(_("The email could not be sent. Please try again later.")) from err
        return self

    def send(self, message: EmailMessage) -> Path | None:
        """Send one message; MessageRefused if the server refused only it, MailError if the
        connection failed (the caller stops the batch). Returns the outbox file, if any."""
        if self.client is None:
            return _write_outbox(self.settings, message)
        try:
            self.client.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:
            code = next(iter(err.recipients.values()), (550, b""))[0]
            self._reset()
            raise MessageRefused(_("The email could not be sent."), code) from err
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
            self._reset()
            raise MessageRefused(_("The email could not be sent."), err.smtp_code) from err
        except (OSError, smtplib.SMTPException) as err:
            raise MailError(_("The email could not be sent. Please try again later.")) from err
        return None

    def _reset(self) -> None:
        try:
            if self.client is not None:
                self.client.rset()
        except (OSError, smtplib.SMTPException):
            pass

    def _close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def __exit__(self, *exc_info: object) -> None:
        self._close()


def connect(settings: Settings) -> Connection:
    """Return a connection to use in a `with` block (see `Connection`)."""
    return Connection(settings)


@dataclass(frozen=True)
class OutboxMessage:
    """A message in the development outbox, as the administrator's outbox page lists it."""

    name: str
    date: datetime | None
    to: str
    subject: str
    body: str


def outbox_messages(settings: Settings, *, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages in the outbox (development and test installations), newest first."""
    folder = settings.outbox_dir
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime, reverse=True)
    messages = []
    for path in files[:limit]:
        with path.open("rb") as fh:
            parsed = BytesParser(policy=policy.default).parse(fh)
        part = parsed.get_body(preferencelist=("plain",))
        try:
            date = parsedate_to_datetime(str(parsed["Date"])) if parsed["Date"] else None
        except (TypeError, ValueError):
            date = None
        messages.append(
            OutboxMessage(
                name=path.name,
                date=date,
                to=str(parsed["To"] or ""),
                subject=str(parsed["Subject"] or ""),
                body=part.get_content() if part is not None else "",
            )
        )
    return messages


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
