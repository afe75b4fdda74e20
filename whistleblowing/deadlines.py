"""The statutory clock of a report, as pure functions (no database, no settings object).

EU Directive 2019/1937, Art. 9(1)(b) and (f): the report is acknowledged within seven days of
its receipt, and the reporter gets feedback within a reasonable time "not exceeding three months
from the acknowledgement of receipt or, if no acknowledgement was sent to the reporting person,
three months from the expiry of the seven-day period after the report was made".

Every day here is a calendar day in the organisation's time zone (`Settings.time_zone`): a report
sent at 23:30 in Mexico City was received on that local day, even though it is already the next
day in UTC. Months are calendar months clamped to the month's end (30 November + 3 months is
28 or 29 February), the reading courts give to "three months" when the later month is shorter.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

ACK_DAYS = 7
FEEDBACK_MONTHS = 3
# Reminders before a statutory deadline, in days (sent once each).
ACK_REMINDER_DAYS = 2
FEEDBACK_REMINDER_DAYS = 14
# What the dashboards call "due soon".
DUE_SOON_DAYS = 14


def add_months(day: date, months: int) -> date:
    """Return `day` moved by whole calendar months, clamped to the last day of the month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_day(moment: datetime, time_zone: str) -> date:
    """Return the calendar day `moment` (an aware datetime) falls on in `time_zone`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the day depends on the time zone")
    return moment.astimezone(ZoneInfo(time_zone)).date()


def acknowledgement_due(received_on: date) -> date:
    """Return the last day on which the acknowledgement of receipt is on time."""
    return received_on + timedelta(days=ACK_DAYS)


def feedback_due(received_on: date, acknowledged_on: date | None = None) -> date:
    """Return the last day for feedback: three months from the acknowledgement, or from the
    end of the seven-day period when no acknowledgement was sent."""
    start = acknowledged_on if acknowledged_on is not None else acknowledgement_due(received_on)
    return add_months(start, FEEDBACK_MONTHS)


@dataclass(frozen=True)
class StatutoryDeadlines:
    ack_due_on: date
    feedback_due_on: date


def statutory_deadlines(
    received_on: date, acknowledged_on: date | None = None
) -> StatutoryDeadlines:
    """Return both statutory deadlines of a report received on `received_on`."""
    return StatutoryDeadlines(
        acknowledgement_due(received_on), feedback_due(received_on, acknowledged_on)
    )


class DeadlineState(StrEnum):
    met = "met"  # done on or before the due day
    late = "late"  # done, after the due day
    overdue = "overdue"  # not done and the due day has passed
    due_soon = "due_soon"  # not done, due within `soon_days`
    pending = "pending"  # not done, further away


def deadline_state(
    due_on: date, done_on: date | None, today: date, *, soon_days: int = DUE_SOON_DAYS
) -> DeadlineState:
    """Return where a deadline stands on `today`. The due day itself is still on time."""
    if done_on is not None:
        return DeadlineState.met if done_on <= due_on else DeadlineState.late
    if today > due_on:
        return DeadlineState.overdue
    if (due_on - today).days <= soon_days:
        return DeadlineState.due_soon
    return DeadlineState.pending


def reminder_day(due_on: date, lead_days: int) -> date:
    """Return the day a reminder `lead_days` before `due_on` is sent."""
    return due_on - timedelta(days=lead_days)


def days_between(start: date, end: date | None) -> int | None:
    """Return the number of calendar days from `start` to `end`, or None without an end."""
    return None if end is None else (end - start).days


# The due day of a report whose clocks have not started: accepted during a submission flood,
# it waits for an investigator to confirm it is genuine (whistleblowing.service.flood). No
# check of "overdue" or "due soon" ever reaches it; confirming sets the real days.
CLOCK_NOT_STARTED = date(9999, 12, 31)
