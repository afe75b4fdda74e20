"""The kinds of notice the domains declare (`notices.kind`), and what a notice carries."""

from __future__ import annotations

from dataclasses import dataclass

from backend.errors import DomainError


class NoticeError(DomainError):
    """The notice service refused (a delivery that is not waiting to be retried, say)."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a notice's mail (an `.ics` invitation): name, MIME type, content."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Kind:
    """One kind of notice. `subject` and `body` are message ids rendered in the recipient's
    language at delivery; `mandatory` kinds ignore the person's preferences (legal clocks);
    `confidential` kinds never put their subject or body in a mail (only a fixed "something
    needs your attention" and the sign-in link); `label` names the kind on the preferences
    page."""

    name: str
    subject: str
    body: str
    mandatory: bool = False
    confidential: bool = False
    label: str = ""


KINDS: dict[str, Kind] = {}


def kind(
    name: str,
    *,
    subject: str,
    body: str,
    mandatory: bool = False,
    confidential: bool = False,
    label: str = "",
) -> Kind:
    """Declare (or re-declare, on a module reload) a kind of notice and return it."""
    declared = Kind(name, subject, body, mandatory, confidential, label or subject)
    KINDS[name] = declared
    return declared


def get_kind(name: str) -> Kind:
    """Return a declared kind; KeyError names the undeclared one."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"notice kind {name!r} was never declared with notices.kind()") from None
