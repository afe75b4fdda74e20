"""The statutory clock (EU Directive 2019/1937, Art. 9), as pure functions: month ends, leap
years, time zones; and the other pure rules of case tracking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whistleblowing import deadlines
from whistleblowing.deadlines import DeadlineState
from whistleblowing.service import names_person
from whistleblowing.service.evaluation import _suppress_cells

FAST = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # February of a common year
        (date(2027, 11, 30), 3, date(2028, 2, 29)),  # ... and of a leap year
        (date(2027, 11, 29), 3, date(2028, 2, 29)),
        (date(2028, 11, 28), 3, date(2029, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 3, date(2026, 6, 30)),  # 30-day month
        (date(2026, 10, 31), 3, date(2027, 1, 31)),  # over the year end
        (date(2026, 12, 15), 3, date(2027, 3, 15)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # leap day a year on
        (date(2028, 2, 29), -12, date(2027, 2, 28)),  # and back
        (date(2027, 5, 31), -3, date(2027, 2, 28)),
    ],
)
def test_months_are_calendar_months_clamped_to_the_month_end(start, months, expected):
    assert deadlines.add_months(start, months) == expected


def test_acknowledgement_is_due_seven_days_after_receipt():
    assert deadlines.acknowledgement_due(date(2026, 12, 28)) == date(2027, 1, 4)
    assert deadlines.acknowledgement_due(date(2028, 2, 25)) == date(2028, 3, 3)  # leap February


def test_feedback_runs_from_the_acknowledgement_when_one_was_sent():
    assert deadlines.feedback_due(date(2026, 11, 20), date(2026, 11, 30)) == date(2027, 2, 28)
    assert deadlines.feedback_due(date(2027, 11, 20), date(2027, 11, 30)) == date(2028, 2, 29)


def test_without_acknowledgement_feedback_runs_from_the_end_of_the_seven_days():
    # Received 23 Nov 2026: the 7 days end on 30 Nov, and three months later is 28 Feb 2027.
    assert deadlines.feedback_due(date(2026, 11, 23)) == date(2027, 2, 28)
    assert deadlines.feedback_due(date(2027, 11, 23)) == date(2028, 2, 29)


def test_a_late_acknowledgement_moves_the_feedback_deadline_as_the_directive_reads():
    received = date(2026, 1, 5)
    assert deadlines.feedback_due(received) == date(2026, 4, 12)
    assert deadlines.feedback_due(received, date(2026, 1, 30)) == date(2026, 4, 30)


def test_the_day_of_receipt_is_the_organisations_local_day():
    # 05:30 UTC on 1 March is still 28 February in Mexico City (UTC-6, no summer time since 2022).
    moment = datetime(2026, 3, 1, 5, 30, tzinfo=UTC)
    assert deadlines.local_day(moment, "America/Mexico_City") == date(2026, 2, 28)
    assert deadlines.local_day(moment, "UTC") == date(2026, 3, 1)
    assert deadlines.local_day(moment, "Asia/Tokyo") == date(2026, 3, 1)
    received = deadlines.local_day(moment, "America/Mexico_City")
    assert deadlines.statutory_deadlines(received) == deadlines.StatutoryDeadlines(
        date(2026, 3, 7), date(2026, 6, 7)
    )


def test_local_day_follows_summer_time_where_there_is_one():
    # New York: UTC-5 in winter, UTC-4 in summer; 03:30 UTC falls on the previous local day.
    assert deadlines.local_day(
        datetime(2026, 1, 15, 3, 30, tzinfo=UTC), "America/New_York"
    ) == date(2026, 1, 14)
    assert deadlines.local_day(
        datetime(2026, 7, 15, 3, 59, tzinfo=UTC), "America/New_York"
    ) == date(2026, 7, 14)
    assert deadlines.local_day(datetime(2026, 7, 15, 4, 0, tzinfo=UTC), "America/New_York") == date(
        2026, 7, 15
    )


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        deadlines.local_day(datetime(2026, 3, 1, 5, 30), "America/Mexico_City")  # noqa: DTZ001


@pytest.mark.parametrize(
    ("today", "done", "expected"),
    [
        (date(2026, 3, 7), None, DeadlineState.due_soon),  # the due day itself is on time
        (date(2026, 3, 8), None, DeadlineState.overdue),
        (date(2026, 1, 1), None, DeadlineState.pending),
        (date(2026, 3, 20), date(2026, 3, 7), DeadlineState.met),
        (date(2026, 3, 20), date(2026, 3, 8), DeadlineState.late),
    ],
)
def test_deadline_state(today, done, expected):
    assert deadlines.deadline_state(date(2026, 3, 7), done, today) is expected


@FAST
@given(
    received=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    delay=st.integers(min_value=0, max_value=60),
)
def test_feedback_is_due_about_three_months_after_its_start(received, delay):
    acknowledged = received + timedelta(days=delay)
    due = deadlines.feedback_due(received, acknowledged)
    assert (due.year * 12 + due.month) - (acknowledged.year * 12 + acknowledged.month) == 3
    assert due.day <= acknowledged.day
    assert timedelta(days=88) <= due - acknowledged <= timedelta(days=92)
    assert deadlines.feedback_due(received) == deadlines.add_months(received + timedelta(7), 3)


@FAST
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
def test_the_local_day_is_never_more_than_a_day_from_the_utc_day(moment):
    aware = moment.replace(tzinfo=UTC)
    for zone in ("America/Mexico_City", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        assert abs((deadlines.local_day(aware, zone) - aware.date()).days) <= 1


# --- who a report names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("El jefe, Lucía Méndez Ruiz, firmó las órdenes", "Lucia Mendez", True),
        ("MÉNDEZ LUCÍA aprobó el pago", "Lucía Méndez Ruiz", True),
        ("lo vio lucia ruiz en el almacén", "Lucía Méndez Ruiz", True),
        ("Mendez firmó", "Lucía Méndez", False),  # a surname alone is not enough
        ("la cruz roja", "María de la Cruz", False),  # name particles say nothing
        ("María Cruz lo sabe", "María de la Cruz", True),
        ("write to a.torres@example.org", "Ana Torres", False),
        ("Ana Torreón", "Ana Torres", False),  # whole words only
    ],
)
def test_a_report_names_a_person_by_full_name_either_order_or_given_name_and_surname(
    text, name, expected
):
    assert names_person(text, full_name=name) is expected


def test_a_report_names_a_person_by_email():
    assert names_person(
        "write to A.Torres@example.org", full_name="Ana Torres", email="a.torres@example.org"
    )


# --- statistics and exports -------------------------------------------------------------------


def test_small_counts_are_suppressed_and_one_hidden_cell_is_not_left_alone():
    shown = _suppress_cells({"a": 12, "b": 3, "c": 7, "d": 0}, total_shown=True, threshold=5)
    # "b" alone would be total - 12 - 7 - 0: the next smallest visible count is hidden too.
    assert shown == {"a": 12, "b": None, "c": None, "d": 0}
    assert _suppress_cells({"a": 12, "b": 3}, total_shown=False, threshold=5) == {
        "a": 12,
        "b": None,
    }
    two = _suppress_cells({"a": 2, "b": 3, "c": 9}, total_shown=True, threshold=5)
    assert two == {"a": None, "b": None, "c": 9}
