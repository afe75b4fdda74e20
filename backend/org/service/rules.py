"""What every part of the organisation's service shares: its limits, its error and its day."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from backend import clock
from backend.errors import DomainError
from backend.org.models import (
    UnitKind,
)

CENTRAL_KINDS = {UnitKind.directorate, UnitKind.sub_directorate}


class OrgError(DomainError):
    """An organisation rule was broken. `field` names the offending input; message translated.

    `problems` holds every problem found ({field: message}) when several were checked at once;
    the exception's own message is the first of them.
    """


def organisation_today(session: Session) -> date:
    """Return the organisation's calendar day (its time zone, from the session's settings)."""
    return clock.today(session.info["settings"])


def raise_problems(problems: dict[str, str], status: dict[str, int] | None = None) -> None:
    """Raise OrgError with every problem; 409 only when each one is a conflict (a taken code)."""
    if problems:
        name, message = next(iter(problems.items()))
        codes = {(status or {}).get(key, 422) for key in problems}
        raise OrgError(
            message,
            field=name,
            status_code=409 if codes == {409} else 422,
            problems=problems,
        )
