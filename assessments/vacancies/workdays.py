"""Working-day deadlines of competitions, in the institute's time zone.

The calendar itself (weekends and the federal mandatory rest days) is the core's
`backend.workdays`; this module adds what competitions need on top of it: local dates, the end
of a day and deadlines as UTC instants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from backend.workdays import (  # noqa: F401 - the vacancies' calendar, re-exported
    add_working_days,
    federal_rest_days,
    is_working_day,
    working_days_between,
)


def local_date(moment: datetime, tz: str) -> date:
    """Return the calendar date of `moment` in time zone `tz`."""
    return moment.astimezone(ZoneInfo(tz)).date()


def end_of_day(day: date, tz: str) -> datetime:
    """Return the last instant of `day` in `tz`, as an aware UTC datetime."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


def deadline_after(moment: datetime, days: int, tz: str) -> datetime:
    """Return the end of the `days`-th working day after `moment`'s local date, in UTC."""
    return end_of_day(add_working_days(local_date(moment, tz), days), tz)


def working_days_open(opened: datetime, closes: datetime, tz: str) -> int:
    """Return the working days a window opened at `opened` and closing at `closes` spans."""
    return working_days_between(local_date(opened, tz), local_date(closes, tz))
