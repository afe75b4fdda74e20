"""Data revisions: counters that database triggers advance whenever a watched table changes.

Per-process caches (the organisation frames behind every gap report, the training needs
analysis) key their entries on these counters, so every worker of every process agrees on
whether a cached copy is current without reading the data itself. Triggers rather than
application code advance them, so bulk loads, imports and manual SQL are all seen.

A counter is bumped in the writing transaction: readers see the new value exactly when the
new data becomes visible. Read the counter *before* the data, so a cached copy is never
older than its key says.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Field, Session, SQLModel

# Counter name → the tables whose every insert, update or delete advances it. The migration
# that installs the triggers (0009) reads this mapping; a later migration must re-run
# `install_triggers` for any table added here.
WATCHED_TABLES: dict[str, tuple[str, ...]] = {
    "org": ("unit", "position", "role_profile", "competency"),
    "training": (
        "training_activity",
        "training_activity_target",
        "training_budget",
        "training_plan",
        "training_plan_item",
    ),
}


class DataRevision(SQLModel, table=True):
    """One named counter; see WATCHED_TABLES for what advances it."""

    __tablename__ = "data_revision"

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0


_READ = text("SELECT name, value FROM data_revision")


def current(session: Session) -> dict[str, int]:
    """Return every counter's current value (one small query)."""
    return {name: int(value) for name, value in session.connection().execute(_READ)}


def value_of(session: Session, name: str) -> int:
    """Return one counter's current value (0 if it does not exist)."""
    return current(session).get(name, 0)
