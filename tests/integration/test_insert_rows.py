"""backend.db.insert_rows stores exactly what an ordinary SQLAlchemy insert stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlmodel import select

from backend.audit import AuditEntry
from backend.db import insert_rows

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _row(seq: int, *, at: datetime, after: dict | None) -> dict:
    return {
        "seq": 1000 + seq,
        "at": at,
        "actor_id": None,
        "actor": "test",
        "action": "test.written",
        "entity_type": "thing",
        "entity_id": str(seq),
        "before": None,
        "after": after,
        "prev_hash": "p",
        "hash": f"h{seq}",
    }


def test_bulk_rows_are_stored_as_an_ordinary_insert_stores_them(session):
    other_zone = AT + timedelta(hours=1)
    # Two rows share one timestamp object (converted once), the third has its own.
    rows = [
        _row(1, at=AT, after={"level": 3, "text": "Sí"}),
        _row(2, at=AT, after=None),
        _row(3, at=other_zone, after={"b": [1, 2]}),
    ]
    insert_rows(session, AuditEntry.__table__, rows)
    session.execute(
        insert(AuditEntry.__table__),
        [row | {"seq": row["seq"] + 100, "hash": row["hash"] + "x"} for row in rows],
    )
    session.flush()
    table = AuditEntry.__table__
    raw = session.execute(
        text("SELECT seq, at, before, after FROM audit_entry WHERE seq >= 1000 ORDER BY seq")
    ).all()
    bulk, ordinary = raw[:3], raw[3:]
    # Byte for byte the same stored values (timestamp format, JSON text, NULLs).
    assert [r[1:] for r in bulk] == [r[1:] for r in ordinary]
    read = session.exec(
        select(table.c.at, table.c.after).where(table.c.seq.in_([1001, 1002, 1003]))
    ).all()
    assert [r[0] for r in read] == [AT, AT, other_zone]
    assert read[0][1] == {"level": 3, "text": "Sí"} and read[2][1] == {"b": [1, 2]}


# SQLite only: PostgreSQL's COPY writes the values as given (documented in insert_rows).
@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_rows_that_leave_out_a_defaulted_column_still_get_the_default_on_sqlite(session):
    row = _row(9, at=AT, after=None)
    del row["actor"]  # has a Python-side default ("")
    insert_rows(session, AuditEntry.__table__, [row])
    session.flush()
    stored = session.exec(select(AuditEntry).where(AuditEntry.seq == 1009)).one()
    assert stored.actor == ""
