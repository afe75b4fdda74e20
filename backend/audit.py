"""The append-only, hash-chained audit log.

Every entry stores the SHA-256 of its predecessor's hash and its own canonical content, so that
changing, removing or reordering any entry breaks the chain from that point on; `merito audit
verify` recomputes it. Database triggers (see the migration) refuse UPDATE and DELETE on entries.

Appends are serialised through the single `audit_head` row: the UPDATE that bumps the sequence
takes the row lock on PostgreSQL and the write lock on SQLite, so concurrent workers cannot fork
the chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Column, delete, text
from sqlmodel import Field, Session, SQLModel, col, select

from backend import clock, crypto
from backend.db import UTCDateTime, insert_rows

GENESIS = "0" * 64


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, index=True)
    actor: str = Field(default="", max_length=200)
    action: str = Field(max_length=80, index=True)
    entity_type: str = Field(default="", max_length=60, index=True)
    entity_id: str = Field(default="", max_length=60)
    before: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = Field(default=GENESIS, max_length=64)


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    # Exact types only: a StrEnum is a str but is stored as its value.
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """Return `value` with dates, enums and decimals turned into JSON-safe values."""
    return _plain(value)


_HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "prev_hash",
)


def _digest_of(row: dict[str, Any]) -> str:
    body = {name: row[name] for name in _HASHED_FIELDS}
    body["at"] = row["at"].isoformat()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return crypto.sha256_hex(canonical)


def _digest(entry: AuditEntry) -> str:
    return _digest_of({name: getattr(entry, name) for name in _HASHED_FIELDS})


def snapshot(obj: SQLModel, *fields: str) -> dict[str, Any]:
    """Return the named fields of a model (or all of them) as JSON-safe values."""
    data = obj.model_dump()
    if fields:
        data = {k: data.get(k) for k in fields}
    return _plain(data)


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.id, getattr(actor, "email", str(actor.id))


def record(
    session: Session,
    *,
    action: str,
    actor: Any = None,
    entity_type: str = "",
    entity_id: Any = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Append an entry to the chain in the caller's transaction and return it.

    `actor` is a User (or anything with `id` and `email`), a string such as "system", or None.
    The caller commits; the entry is written with the rest of the change or not at all.
    """
    actor_id, actor_label = _actor(actor)
    # Bump the head first: this takes the lock that serialises concurrent appenders.
    bumped = session.execute(
        text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
    ).one_or_none()
    if bumped is None:
        session.add(AuditHead(id=1, seq=1, last_hash=GENESIS))
        session.flush()
        seq, prev = 1, GENESIS
    else:
        seq, prev = bumped
    entry = AuditEntry(
        seq=seq,
        actor_id=actor_id,
        actor=actor_label,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else "",
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        prev_hash=prev,
    )
    # Round-trip the timestamp precision both databases keep (microseconds).
    entry.hash = _digest(entry)
    session.add(entry)
    session.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": entry.hash})
    return entry


@dataclass
class PendingEntry:
    """One entry for `record_many`: the same fields `record` takes, less the session."""

    action: str
    actor: Any = None
    entity_type: str = ""
    entity_id: Any = ""
    before: dict | None = None
    after: dict | None = None


def record_many(
    session: Session,
    pending: Iterable[PendingEntry | dict[str, Any]],
    *,
    count: int | None = None,
    at: datetime | None = None,
) -> int:
    """Append several entries to the chain in one go (caller commits); return how many.

    Entries are PendingEntry objects or dicts of `record`'s keyword arguments.

    The chain is the same as that many calls of `record`, but the head is bumped once and the
    rows are inserted in batches: bulk imports write tens of thousands of entries. `pending` may
    be a generator (so the entries are never all in memory) when `count` says how many it yields.
    """
    if count is None:
        pending = list(pending)
        count = len(pending)
    if count == 0:
        return 0
    bumped = session.execute(
        text("UPDATE audit_head SET seq = seq + :n WHERE id = 1 RETURNING seq, last_hash"),
        {"n": count},
    ).one_or_none()
    if bumped is None:
        session.add(AuditHead(id=1, seq=count, last_hash=GENESIS))
        session.flush()
        first, prev = 1, GENESIS
    else:
        first, prev = bumped[0] - count + 1, bumped[1]
    # One timestamp for the batch: the entries are written in the same transaction (or the
    # day-precision stamp of deferred entries, see `append_deferred`).
    at = at or clock.now()
    written = 0
    rows: list[dict[str, Any]] = []
    for item in pending:
        if isinstance(item, dict):
            item = PendingEntry(**item)
        actor_id, actor_label = _actor(item.actor)
        row = {
            "seq": first + written,
            "at": at,
            "actor_id": actor_id,
            "actor": actor_label,
            "action": item.action,
            "entity_type": item.entity_type,
            "entity_id": str(item.entity_id) if item.entity_id is not None else "",
            "before": _plain(item.before) if item.before is not None else None,
            "after": _plain(item.after) if item.after is not None else None,
            "prev_hash": prev,
        }
        row["hash"] = prev = _digest_of(row)
        rows.append(row)
        written += 1
        if len(rows) == 5000:
            insert_rows(session, AuditEntry.__table__, rows)
            rows = []
    insert_rows(session, AuditEntry.__table__, rows)
    if written != count:
        raise ValueError(f"record_many was promised {count} entries and given {written}")
    session.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})
    return count


# --- entries kept back until their day is over (day precision) --------------------------------


class DeferredAuditEntry(SQLModel, table=True):
    """An audit entry kept back until its day is over, then appended at day precision.

    For what anonymous reporters and complainants do: the reporting channel keeps their actions
    at day precision (docs/security.md), and an entry appended at once would give away the time
    of day twice — in its timestamp and in its place in the chain, between staff entries that
    carry theirs (an identified complainant's own sign-in, say). Kept back, an entry's place
    says only that its day was over.
    """

    __tablename__ = "audit_deferred"

    id: int | None = Field(default=None, primary_key=True)
    on: date = Field(index=True)
    actor: str = Field(default="", max_length=200)
    action: str = Field(max_length=80)
    entity_type: str = Field(default="", max_length=60)
    entity_id: str = Field(default="", max_length=60)
    after: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


def record_on_day(
    session: Session,
    *,
    on: date,
    action: str,
    actor: str,
    entity_type: str = "",
    entity_id: Any = "",
    after: dict | None = None,
) -> DeferredAuditEntry:
    """Keep an entry back until day `on` is over; `append_deferred` then adds it to the chain
    stamped with the day alone. `actor` is a label ("reporter", "complainant"), never an
    account: these entries are for people who must not be named. The caller commits."""
    entry = DeferredAuditEntry(
        on=on,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else "",
        after=_plain(after) if after is not None else None,
    )
    session.add(entry)
    return entry


def day_stamp(day: date, time_zone: str) -> datetime:
    """Return the first moment of `day` in `time_zone`, in UTC: how a day-precision entry's
    time reads (midnight of its day wherever the log is shown in that zone)."""
    return datetime.combine(day, time.min, tzinfo=clock.zone(time_zone)).astimezone(UTC)


def append_deferred(session: Session, *, today: date, time_zone: str) -> int:
    """Append the entries kept back for days before `today` to the chain, stamped at the
    first moment of their day, each day's in random order, and delete them. Return how many
    were appended; the caller commits."""
    rows = session.exec(
        select(DeferredAuditEntry)
        .where(col(DeferredAuditEntry.on) < today)
        .order_by(col(DeferredAuditEntry.on), col(DeferredAuditEntry.id))
    ).all()
    by_day: dict[date, list[DeferredAuditEntry]] = {}
    for row in rows:
        by_day.setdefault(row.on, []).append(row)
    for day, entries in sorted(by_day.items()):
        # The order rows were written in is the order things happened: not kept.
        crypto.shuffle(entries)
        record_many(
            session,
            [
                PendingEntry(
                    action=e.action,
                    actor=e.actor,
                    entity_type=e.entity_type,
                    entity_id=e.entity_id,
                    after=e.after,
                )
                for e in entries
            ],
            at=day_stamp(day, time_zone),
        )
    if rows:
        session.execute(
            delete(DeferredAuditEntry).where(
                col(DeferredAuditEntry.id).in_([row.id for row in rows])
            )
        )
    return len(rows)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    seq: int | None = None


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Recompute the whole chain; return where it first breaks, if it does."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.seq) > last_seq)
            .order_by(col(AuditEntry.seq))
            .limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return VerifyResult(False, checked, f"missing entry before {entry.seq}", entry.seq)
            if entry.prev_hash != prev:
                return VerifyResult(False, checked, "link to previous entry broken", entry.seq)
            if _digest(entry) != entry.hash:
                return VerifyResult(False, checked, "entry content altered", entry.seq)
            prev = entry.hash
            expected_seq += 1
            checked += 1
            last_seq = entry.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.last_hash != prev):
        return VerifyResult(False, checked, "entries missing at the end of the chain", head.seq)
    return VerifyResult(True, checked)


def entries(*, action: str = "", entity_type: str = "", entity_id: str = ""):
    """Return the statement of the log's entries, newest first, narrowed to an action prefix
    ("user." for every account action) or to one record."""
    statement = select(AuditEntry).order_by(col(AuditEntry.seq).desc())
    if action:
        statement = statement.where(col(AuditEntry.action).startswith(action))
    if entity_type:
        statement = statement.where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id
        )
    return statement
