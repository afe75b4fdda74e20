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

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, Column, event, text
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel

# Counter name → the tables whose every insert, update or delete advances it. Migrations 0009
# (org, training) and 0010 (people) install the triggers from frozen copies of this mapping;
# a table added here needs a new migration that installs its triggers.
WATCHED_TABLES: dict[str, tuple[str, ...]] = {
    "org": ("unit", "position", "role_profile", "competency"),
    # Who works where: the gap reports' population (unit, position, status of each employee).
    "people": ("employee",),
    # The competency framework (migration 0028): the snapshot pages read on every request.
    "framework": ("competency", "proficiency_level", "level_descriptor", "framework_version"),
    # The role profiles in force (migration 0029): every person's gap profile reads them.
    "profiles": ("role_profile", "role_profile_version", "role_requirement"),
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
    # 64 bits, as migration 0009 creates it: a counter bumped on every write must not wrap.
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


T = TypeVar("T")

_READ = text("SELECT name, value FROM data_revision")
_MEMO = "data_revisions"


def current(session: Session) -> dict[str, int]:
    """Return every counter's current value (one small query, at most once per transaction).

    A page that builds several reports reads the counters once. Data read later in the same
    transaction may be newer than this copy, never older, as when the counters were read
    afresh before each report. The copy is dropped when the transaction ends, when the session
    flushes and before any statement that is not a SELECT: a transaction's own writes, which
    may advance a counter, never sit under a key read before them.
    """
    memo = session.info.get(_MEMO)
    if memo is None:
        memo = {name: int(value) for name, value in session.connection().execute(_READ)}
        session.info[_MEMO] = memo
    return dict(memo)


def value_of(session: Session, name: str) -> int:
    """Return one counter's current value (0 if it does not exist)."""
    return current(session).get(name, 0)


_PER_TRANSACTION = "per_transaction"


def per_transaction(session: Session, key: tuple, compute: Callable[[], T]) -> T:
    """Return compute(), computed at most once per transaction of `session` for `key`.

    For what one page asks for several times (a person's gap profile, read by two dashboard
    panels): the copy is dropped exactly when the revisions' copy is (the end of the
    transaction, a flush, any statement that is not a SELECT), so it never hides a write.
    """
    if session.new or session.dirty or session.deleted:
        # Changes not flushed yet: the next query flushes them, which drops the copy.
        session.info.pop(_PER_TRANSACTION, None)
        return compute()
    memo = session.info.setdefault(_PER_TRANSACTION, {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


class RevisionCache(Generic[T]):
    """One process-wide copy per database of what `read` builds from the tables behind
    `counters`, shared by every request and thread until one of those counters moves.

    For reference data that every page reads (the framework, the role profiles, the training
    offer): `read` must return something immutable (frozen dataclasses, read-only mappings and
    arrays), never ORM objects attached to a session. The counters are read before the data, so
    a copy is never older than its key; a transaction that has just changed the data reads it
    afresh, its counter having moved.
    """

    def __init__(self, *counters: str, read: Callable[[Session], T]) -> None:
        self.counters = counters
        self.read = read
        self._lock = threading.Lock()
        self._copies: dict[str, tuple[tuple[int, ...], T]] = {}

    def get(self, session: Session) -> T:
        if session.autoflush and (session.new or session.dirty or session.deleted):
            # As any ORM query would: this transaction's own pending changes, flushed, move the
            # counters before they are read.
            session.flush()
        database = session.get_bind().url.render_as_string(hide_password=True)
        key = tuple(value_of(session, name) for name in self.counters)
        with self._lock:
            entry = self._copies.get(database)
        if entry is not None and entry[0] == key:
            return entry[1]
        value = self.read(session)
        with self._lock:
            self._copies[database] = (key, value)
        return value

    def forget(self) -> None:
        """Drop every copy (tests that rebuild a database under the same address)."""
        with self._lock:
            self._copies.clear()


def _forget(session: OrmSession, *_args) -> None:
    session.info.pop(_MEMO, None)
    session.info.pop(_PER_TRANSACTION, None)


def _forget_after_writes(state: ORMExecuteState) -> None:
    if not state.is_select:
        _forget(state.session)


# On SQLAlchemy's Session class, so every session (sqlmodel's included) drops its copy in time:
# at the end of a transaction, on a flush, and before any statement that is not a SELECT.
for _event in ("after_flush", "after_transaction_end"):
    event.listen(OrmSession, _event, _forget)
event.listen(OrmSession, "do_orm_execute", _forget_after_writes)
