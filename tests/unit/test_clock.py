"""`backend.clock`: one "now", and "today" in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from backend import clock

MEXICO = SimpleNamespace(time_zone="America/Mexico_City")


def test_today_is_the_organisations_day_not_utcs():
    # 19:30 in Mexico City on 7 December is already 8 December in UTC.
    with clock.frozen(datetime(2026, 12, 8, 1, 30, tzinfo=UTC)):
        assert clock.today(MEXICO) == date(2026, 12, 7)
        assert clock.now().date() == date(2026, 12, 8)
        assert clock.local_today("UTC") == date(2026, 12, 8)


def test_now_is_aware_utc_and_moves_when_not_frozen():
    first = clock.now()
    assert first.tzinfo is UTC
    assert clock.now() >= first


def test_frozen_clocks_nest_advance_and_come_back():
    with clock.frozen(date(2026, 1, 1)):
        assert clock.now() == datetime(2026, 1, 1, 12, tzinfo=UTC)
        with clock.frozen(datetime(2026, 6, 1, 8, 0)):  # naive means UTC
            assert clock.now() == datetime(2026, 6, 1, 8, tzinfo=UTC)
        assert clock.now() == datetime(2026, 1, 1, 12, tzinfo=UTC)
        clock.advance(timedelta(days=2))
        assert clock.today(MEXICO) == date(2026, 1, 3)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(RuntimeError):
        clock.advance(timedelta(days=1))
