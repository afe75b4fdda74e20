"""Database engine, sessions and the shared table conventions."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import psycopg
from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

# Explicit constraint names keep migrations portable between SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zone type; without this, values would come back naive and comparisons
    with aware datetimes would fail on one backend and not the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLAC")
# How long a writer waits for its turn before going ahead and leaving it to SQLite's own lock.
_WRITER_QUEUE_SECONDS = 30


def _queue_sqlite_writers(engine: Engine) -> None:
    """Let one transaction at a time write through this engine, the others queuing in order.

    SQLite admits one writer; the others sleep and retry with growing pauses (up to 100 ms
    each), so under many concurrent writers the pauses, not the writes, make the latency, and
    some writers time out. Queuing the writers of this process on a lock hands the database to
    the next one the moment the previous commits. Reads are never queued.
    """
    lock = threading.Lock()
    state: dict[str, object] = {"holder": None}

    def raw(connection: object) -> object:
        return getattr(connection, "dbapi_connection", connection)

    def before_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        current = raw(conn.connection)
        if state["holder"] is current or statement.lstrip()[:6].upper() not in _WRITE_STATEMENTS:
            return
        if lock.acquire(timeout=_WRITER_QUEUE_SECONDS):
            state["holder"] = current

    def releasing(end):
        def end_transaction(dbapi_connection) -> None:
            try:
                end(dbapi_connection)
            finally:
                if state["holder"] is not None and state["holder"] is raw(dbapi_connection):
                    state["holder"] = None
                    lock.release()

        return end_transaction

    event.listen(engine, "before_cursor_execute", before_write)
    engine.dialect.do_commit = releasing(engine.dialect.do_commit)  # type: ignore[method-assign]
    engine.dialect.do_rollback = releasing(engine.dialect.do_rollback)  # type: ignore[method-assign]


def make_engine(database_url: str, **kwargs) -> Engine:
    """Return an engine for the URL; SQLite gets WAL mode and foreign keys."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Keep as many connections as requests run at once (the route threads): opening one
            # costs four PRAGMAs, and the default pool of five made busy workers open and close
            # connections on every request.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(
            database_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        _queue_sqlite_writers(engine)
        return engine
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(database_url, **kwargs)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield a session bound to the app's engine for the duration of one request.

    The app's settings ride along in `session.info["settings"]`, for code that runs deep in a
    transaction without them (event handlers, see backend/events.py). The session is also
    `request.state.db_session`, for rendering.

    Async, so that making the session costs no trip through a worker thread: a Session does no
    I/O until its first query. Closing it gives its connection back to the pool (a rollback):
    on PostgreSQL a round trip to the server, so that runs in a worker thread, outside the
    request thread limit, as FastAPI runs a `def` dependency's exit (a close waiting for a
    thread that a request holds while it waits for a pooled connection would never end). On
    SQLite, and when no connection is held, it is a call inside this process that waits for
    nothing, made here: a trip through a thread cost more than the close itself, and handing
    the interpreter lock between threads is what slows a worker down under load.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    session.info["settings"] = request.app.state.settings
    # Pages rendered for this request read through it (the header's unread count): a second
    # session would hold a second pooled connection while the first is held, and enough such
    # requests at once would wait on each other until the pool timed out.
    request.state.db_session = session
    try:
        yield session
    finally:
        # Closed with the request's work: a page rendered after it (an error page) opens its
        # own, closed session instead of reopening this one.
        request.state.db_session = None
        if _closes_in_process(session):
            session.close()
        else:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


def _closes_in_process(session: Session) -> bool:
    """Whether closing `session` waits for no server: it holds no connection, or SQLite's."""
    bind = session.get_bind()
    return bind.dialect.name == "sqlite" or not session.in_transaction()


SessionDep = Annotated[Session, Depends(get_session)]


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the session's transaction, fast.

    PostgreSQL gets COPY, many times faster than one INSERT per row, which is what executemany
    sends; other databases get executemany. Values are written as given: datetimes must already
    be aware UTC (as backend.clock.now() returns), JSON columns take dicts or lists.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite" and _covers_defaults(table, rows[0]):
        _sqlite_executemany(connection, table, rows)
        return
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    quoted = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(value) if name in as_json and value is not None else value
                        for name, value in ((name, row[name]) for name in columns)
                    ]
                )
    except psycopg.Error as error:
        # The driver's own cursor: wrap its error as SQLAlchemy does for every other statement,
        # so callers catch the same exceptions (IntegrityError) on both databases.
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def _covers_defaults(table: Table, row: dict[str, Any]) -> bool:
    """True if the row gives every column that has a Python-side default."""
    return all(c.default is None or c.name in row for c in table.columns)


def _sqlite_executemany(connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Send the rows to the driver's executemany, each value through its type's bind processor.

    What SQLAlchemy's own executemany does, without building its parameters row by row: for
    millions of rows that costs more than SQLite spends inserting them. The processors are the
    dialect's (SQLite's timestamp format, booleans as 0/1, JSON as text), so the values stored
    are the same. Only for rows that give every column with a default (`_covers_defaults`),
    since defaults are applied by SQLAlchemy's path, not here.
    """
    dialect = connection.dialect
    columns = list(rows[0])
    values = [[row[name] for row in rows] for name in columns]
    for i, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values[i] = _processed(process, values[i])
    # Names from the table's own columns (table.c[name] above refuses anything else).
    quoted = ", ".join(f'"{table.c[name].name}"' for name in columns)
    marks = ", ".join("?" for _name in columns)
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608
    connection.exec_driver_sql(statement, list(zip(*values, strict=True)))


def _processed(process, values: list[Any]) -> list[Any]:
    """Return process(value) of each value, processing a value repeated in a row only once.

    Batches often repeat one object down a column (the same timestamp on every row of an
    event), and converting a timestamp costs more than inserting the row.
    """
    out: list[Any] = []
    last: object = _NOTHING
    converted: Any = None
    for value in values:
        if value is not last:
            last, converted = value, process(value)
        out.append(converted)
    return out


_NOTHING = object()
