"""The competition's clock: every time rule (windows, time limits, deadlines) reads it here.

One function, so tests that walk a competition through weeks of windows in minutes can move it
(by monkeypatching `now`); production code never changes it.
"""

from __future__ import annotations

from datetime import datetime

from backend.db import utcnow


def now() -> datetime:
    """Return the current time (aware, UTC)."""
    return utcnow()
