"""The privacy package's pure rules: retention cut-offs in calendar months, the ARCO deadline
and the working days left (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from backend.privacy.models import ArcoRequest
from backend.privacy.service import deadline_for, months_before, working_days_left


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 12, 7), 24, date(2024, 12, 7)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),  # the shorter month's last day
        (date(2024, 3, 31), 1, date(2024, 2, 29)),  # a leap year
        (date(2026, 1, 15), 13, date(2024, 12, 15)),  # across two year ends
    ],
)
def test_months_before_counts_calendar_months(day, months, expected):
    assert months_before(day, months) == expected


def test_the_arco_deadline_is_the_twentieth_working_day_after_filing():
    # Filed on Friday 18 December 2026: 25 December and 1 January are rest days.
    assert deadline_for(date(2026, 12, 18)) == date(2027, 1, 19)
    # Filed on a Saturday: counting starts on Monday.
    assert deadline_for(date(2026, 11, 7)) == date(2026, 12, 7)  # 16 November is a rest day


def test_working_days_left_is_zero_on_the_last_day_and_negative_after():
    request = ArcoRequest(
        user_id=1, kind="access", subject="x", filed_on=date(2026, 11, 9), due_on=date(2026, 12, 7)
    )
    assert working_days_left(request, date(2026, 12, 4)) == 1  # Friday before a Monday deadline
    assert working_days_left(request, date(2026, 12, 7)) == 0
    assert working_days_left(request, date(2026, 12, 9)) == -2
