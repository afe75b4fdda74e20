"""Mexico's public holidays (días de descanso obligatorio, Ley Federal del Trabajo, art. 74),
so that scheduled training does not fall on them.

The law's list, with its Monday rules: 1 January; the first Monday of February (Constitution
Day); the third Monday of March (Benito Juárez); 1 May; 16 September; the third Monday of
November (Revolution Day); 1 October every six years, when the federal executive power changes
hands (2024, 2030, …); and 25 December. Election days are also holidays but have no fixed date.
Small enough to keep here rather than take a dependency for it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

MONDAY, SATURDAY = 0, 5


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(MONDAY - first.weekday()) % 7 + 7 * (n - 1))


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """Return the public holidays of `year` (LFT art. 74)."""
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
    """True from Monday to Friday when the day is not a public holiday."""
    return day.weekday() < SATURDAY and day not in public_holidays(day.year)


def next_working_day(day: date) -> date:
    """Return `day` if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
