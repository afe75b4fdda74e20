"""The competent authorities listed on the channel's page (Directive 2019/1937, Art. 9(1)(g)):
clear information on reporting outside the institute, kept by administrators, in both
languages. Reporters are free to report to them directly, instead of or after this channel.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.i18n import _
from whistleblowing.models import ExternalAuthority
from whistleblowing.service.common import ReportingError

EXTERNAL_AUTHORITY_TEXTS = (
    "name_es",
    "name_en",
    "description_es",
    "description_en",
    "url",
    "phone",
    "email",
)
_LIMITS = {
    "name_es": 200,
    "name_en": 200,
    "description_es": 2000,
    "description_en": 2000,
    "url": 300,
    "phone": 60,
    "email": 200,
}


def all_external_authorities(session: Session) -> list[ExternalAuthority]:
    """Return every authority, in the order the channel page lists them."""
    return list(
        session.exec(
            select(ExternalAuthority).order_by(
                col(ExternalAuthority.order), col(ExternalAuthority.id)
            )
        )
    )


def active_external_authorities(session: Session) -> list[ExternalAuthority]:
    """Return the authorities shown on the channel page."""
    return [a for a in all_external_authorities(session) if a.is_active]


def authority_problems(values: dict[str, Any]) -> dict[str, str]:
    """Return field -> translated problem (empty when the authority can be saved)."""
    problems: dict[str, str] = {}
    for name in ("name_es", "name_en"):
        if not str(values.get(name, "")).strip():
            problems[name] = _("Enter the name in both languages.")
    for name, limit in _LIMITS.items():
        if len(str(values.get(name, ""))) > limit:
            problems[name] = _("This text is too long (at most %(n)s characters).", n=limit)
    url = str(values.get("url", "")).strip()
    if url and not url.startswith(("https://", "http://")):
        problems["url"] = _("Enter a web address that starts with https://.")
    email = str(values.get("email", "")).strip()
    if email and ("@" not in email or " " in email or email.startswith("@")):
        problems["email"] = _("Enter an email address such as denuncias@example.gob.mx.")
    return problems


def save_external_authority(
    session: Session, *, actor: User, authority: ExternalAuthority | None, values: dict[str, Any]
) -> ExternalAuthority:
    """Create or update an authority (audited); ReportingError names every problem by field."""
    problems = authority_problems(values)
    if problems:
        first = next(iter(problems))
        raise ReportingError(problems[first], field=first, errors=problems)
    before = audit.snapshot(authority) if authority is not None else None
    authority = authority or ExternalAuthority(name_es="", name_en="")
    for name in EXTERNAL_AUTHORITY_TEXTS:
        setattr(authority, name, str(values.get(name, "")).strip())
    authority.order = int(values.get("order", 100))
    authority.is_active = bool(values.get("is_active", True))
    session.add(authority)
    session.flush()
    audit.record(
        session,
        action="reporting.authority_saved",
        actor=actor,
        entity_type="external_authority",
        entity_id=authority.id,
        before=before,
        after=audit.snapshot(authority),
    )
    return authority


def delete_external_authority(
    session: Session, *, actor: User, authority: ExternalAuthority
) -> None:
    """Remove an authority from the channel page (audited)."""
    audit.record(
        session,
        action="reporting.authority_deleted",
        actor=actor,
        entity_type="external_authority",
        entity_id=authority.id,
        before=audit.snapshot(authority),
    )
    session.delete(authority)
