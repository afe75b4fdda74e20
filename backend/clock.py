"""The one clock: what time it is, and what day it is for the organisation.

Every "now" and "today" in Mérito comes from here, so a test can move time for the whole
application at once (`frozen`) and no service quietly counts days in UTC while another counts
them in Mexico City. `tests/unit/test_architecture.py` refuses `date.today()`,
`datetime.now()` and `datetime.utcnow()` anywhere else.

* `now()` is an aware UTC datetime: what is stored (`backend.db.UTCDateTime`).
* `today(settings)` is the organisation's calendar day (`MERITO_TIME_ZONE`): what deadlines,
  due dates and "overdue" are counted in. There is deliberately no default: a caller names the
  settings whose time zone it means.
* `local_today(zone)` is the same for a zone name, for code that holds only the name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["advance", "frozen", "local_today", "now", "today", "zone"]


class HasTimeZone(Protocol):
    time_zone: str


# The instant tests have frozen the clock at, or None.
_frozen_at: datetime | None = None


def now() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    if _frozen_at is not None:
        return _frozen_at
    return datetime.now(UTC)


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    """Return the time zone called `name` (cached: ZoneInfo reads the zone file once)."""
    return ZoneInfo(name)


def local_today(zone_name: str) -> date:
    """Return today's date in the time zone called `zone_name`."""
    return now().astimezone(zone(zone_name)).date()


def today(settings: HasTimeZone) -> date:
    """Return today's date in the organisation's time zone (`settings.time_zone`)."""
    return local_today(settings.time_zone)


@contextmanager
def frozen(at: datetime | date) -> Iterator[None]:
    """Stop the clock at `at` (a date means that day at noon UTC) until the block ends.

    For tests: every `now()` and `today()` in the application sees the same instant.
    """
    global _frozen_at
    if isinstance(at, datetime):
        instant = at if at.tzinfo else at.replace(tzinfo=UTC)
    else:
        instant = datetime(at.year, at.month, at.day, 12, tzinfo=UTC)
    previous, _frozen_at = _frozen_at, instant.astimezone(UTC)
    try:
        yield
    finally:
        _frozen_at = previous


def advance(delta: timedelta) -> None:
    """Move a frozen clock on by `delta` (for tests inside `frozen`)."""
    global _frozen_at
    if _frozen_at is None:
        raise RuntimeError("the clock is not frozen")
    _frozen_at += delta
