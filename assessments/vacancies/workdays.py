"""Working days in Mexico: weekends and the federal mandatory rest days are skipped.

The rest days are those of the Ley Federal del Trabajo, art. 74: 1 January, the first Monday of
February, the third Monday of March, 1 May, 16 September, the third Monday of November, 25
December, and 1 October of each year a new federal executive takes office (every six years from
2024). Election days (also rest days) are announced case by case and are not included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (7 - first.weekday()) % 7  # days to the first Monday
    return first + timedelta(days=offset + 7 * (n - 1))


@lru_cache(maxsize=64)
def federal_rest_days(year: int) -> frozenset[date]:
    """Return the mandatory federal rest days of `year`."""
    days = {
        date(year, 1, 1),
        _nth_monday(year, 2, 1),
        _nth_monday(year, 3, 3),
        date(year, 5, 1),
        date(year, 9, 16),
        _nth_monday(year, 11, 3),
        date(year, 12, 25),
    }
    if year >= 2024 and (year - 2024) % 6 == 0:
        days.add(date(year, 10, 1))
    return frozenset(days)


def is_working_day(day: date) -> bool:
    """True for a weekday that is not a federal rest day."""
    return day.weekday() < 5 and day not in federal_rest_days(day.year)


def add_working_days(start: date, days: int) -> date:
    """Return the `days`-th working day after `start` (not counting `start` itself)."""
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Return how many working days fall after `start` up to and including `end`."""
    if end <= start:
        return 0
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n))
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
