"""The reporting channel's part of a person's data export (`privacy.export`): nothing that
links them to a report or a complaint.

A data export is a file the person carries away and may be made to show; anything in it about
reports (as reporter, witness, person concerned or protected person) or retaliation complaints
could identify a reporter or a protected person. So the channel exports the same constant
statement for everyone, whether or not they ever used it: its presence says nothing. A person
who reported follows their report with their receipt; what is kept and for how long is in the
reporters' privacy notice (/report/privacy) and docs/reporting.md. The channel's own retention
runs in its `case_retention` job.
"""

from __future__ import annotations

from sqlmodel import Session

from backend.i18n import N_, _
from backend.privacy.contracts import ExportPart, ExportSubject

# The same words for everyone (in the reader's language): nothing is looked up.
STATEMENT = N_(
    "The reporting channel exports nothing about any person: whether someone made a report or "
    "a complaint, or is named in one, is never part of a data export. A reporter follows their "
    "report with their receipt on the reporting channel."
)


def export(session: Session, person: ExportSubject) -> list[ExportPart]:
    """The same statement for every person (never a query about them)."""
    del session, person  # deliberately unused: nothing is looked up about the person
    return [ExportPart("reporting_channel/statement.json", {"statement": _(STATEMENT)})]
