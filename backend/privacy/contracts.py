"""What domains hand to the privacy package through its two hook moments.

`privacy.export` — `fn(session, person) -> list[ExportPart]`: the tables a domain holds about
one person (`person` is an `ExportSubject`: the account and, for staff, the employee record).
A domain leaves out whatever would identify a reporter or a protected person.

`privacy.retention` — `fn() -> list[RetentionRule]`: the domain's record types with their
documented default period, and for each the function that lists the records past the period
(`due(session, cutoff)`) and the one that deletes or anonymises exactly the keys it is given
(`act(session, keys)`). The dry run and the real run call the same `due`; the real run then
hands exactly the listed keys to `act` (`backend.privacy.service.retention`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal


@dataclass(frozen=True)
class ExportSubject:
    """The person an export is about."""

    user_id: int
    employee_id: int | None
    email: str


@dataclass
class ExportPart:
    """One file of the export: `path` inside the ZIP ("training/enrolments.csv" or ".json").

    `rows` are flat dicts for a CSV (every row the same keys) or any JSON-able value for JSON.
    """

    path: str
    rows: Any
    # Why the part holds what it holds (written to the export's README), in English and Spanish.
    note: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DueRecord:
    """A record past its retention period: `key` is what `act` receives back."""

    key: str
    description: str
    since: date | datetime | None = None


@dataclass(frozen=True)
class RetentionRule:
    """A record type's retention rule, declared by the domain that owns the records."""

    record_type: str
    # A message id (marked with N_) naming the record type, and one saying what ends its period.
    label: str
    counted_from: str
    default_months: int
    action: Literal["delete", "anonymise"]
    due: Callable[[Any, date], Sequence[DueRecord]]
    act: Callable[[Any, Sequence[str]], int]
