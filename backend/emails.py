"""Email addresses as people type them: the one check every form, import and setting uses.

An address becomes a mail header (`To:`) and a sign-in name, so "contains an @" is not enough:
a line break would add headers (`Bcc:`), a comma a second recipient. The check is
email-validator's syntax check (RFC 5322/6531, without DNS lookups, which would make a form
wait on the network and fail offline): one plain address, no display name, no quoted local
part, no IP literal, a domain a message can reach (with a dot, not a reserved name such as
`localhost`, unless `local_domains` is asked for: the sender of a development installation).
Addresses are stored in lower case, as accounts have always been looked up.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from backend.i18n import _

# RFC 5321's limit on a path, which email-validator also enforces.
EMAIL_MAX = 254


class InvalidEmail(ValueError):
    """Not one valid address; `str(err)` is a translated message for the person who typed it."""


def normalise_email(value: str, *, local_domains: bool = False) -> str:
    """Return the address as Mérito stores it (trimmed, lower case); InvalidEmail otherwise."""
    # Only spaces and tabs around it are forgiven: a line break is never part of an address.
    typed = (value or "").strip(" \t")
    local, _at, domain = typed.rpartition("@")
    # `localhost` is a reserved name email-validator always refuses; where it is allowed, the
    # part before it still gets the whole check, against a stand-in public domain.
    on_localhost = local_domains and domain.lower() == "localhost"
    try:
        checked = validate_email(
            f"{local}@example.org" if on_localhost else typed,
            check_deliverability=False,
            allow_smtputf8=False,
            globally_deliverable=not local_domains,
        )
    except EmailNotValidError:
        raise InvalidEmail(_("Enter a valid email address, such as name@example.org.")) from None
    address = checked.normalized.lower()
    return address.rpartition("@")[0] + "@localhost" if on_localhost else address


def email_problem(value: str, *, local_domains: bool = False) -> str | None:
    """Return why `value` is not a valid address (translated), or None when it is one."""
    try:
        normalise_email(value, local_domains=local_domains)
    except InvalidEmail as err:
        return str(err)
    return None
