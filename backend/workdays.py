"""Working days in Mexico: weekends and the federal mandatory rest days are skipped.

One calendar for every domain: competition windows and appeal periods (vacancies), training
sessions that must not fall on a rest day (training), legal deadlines counted in working days.

The rest days are those of the Ley Federal del Trabajo, art. 74: 1 January, the first Monday of
February, the third Monday of March, 1 May, 16 September, the third Monday of November, 25
December, and 1 October of each year a new federal executive takes office (every six years from
2024). Election days (also rest days) are announced case by case and are not included.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


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


def next_working_day(day: date) -> date:
    """Return `day` if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
