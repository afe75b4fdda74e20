"""A real local SMTP server (aiosmtpd) for the tests that send mail, and settings pointing at it."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy

from aiosmtpd.controller import Controller

from backend.config import Settings
from tests.conftest import free_port


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@contextmanager
def local_smtp() -> Iterator[tuple[Controller, Inbox]]:
    """Run an SMTP server on a free local port; yield it and its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def use_smtp(settings: Settings, controller: Controller) -> Settings:
    """Point `settings` at the local server (no STARTTLS) and return them."""
    settings.smtp_host = controller.hostname
    settings.smtp_port = controller.port
    settings.smtp_starttls = False
    settings.smtp_from = "Mérito <no-reply@merito.example>"
    return settings
