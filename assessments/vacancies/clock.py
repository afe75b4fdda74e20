"""The competition's clock: every time rule (windows, time limits, deadlines) reads it here.

One function, so tests that walk a competition through weeks of windows in minutes can move it
(by monkeypatching `now`). Production code never moves it; only the demo sets it, with
`running_at`, to build competitions whose earlier stages happened weeks ago (vacancies/demo.py).
The setting is a context variable, so it never leaks into another thread or request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from backend.db import utcnow

_set_to: ContextVar[datetime | None] = ContextVar("vacancy_clock", default=None)


def now() -> datetime:
    """Return the current time (aware, UTC), or the moment `running_at` set."""
    moment = _set_to.get()
    return moment if moment is not None else utcnow()


@contextmanager
def running_at(moment: datetime) -> Iterator[None]:
    """Make `now()` answer `moment` inside the block (this thread or task only)."""
    token = _set_to.set(moment)
    try:
        yield
    finally:
        _set_to.reset(token)
