"""Appending audit entries in a batch keeps the same hash chain as one at a time."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend import audit
from backend.audit import AuditEntry, PendingEntry


def test_a_batch_between_single_entries_keeps_the_chain_intact(session):
    # The migrated database already holds entries (loading the framework is audited).
    start = len(session.exec(select(AuditEntry.seq)).all())
    audit.record(session, action="first", actor="tester", after={"n": 1})
    written = audit.record_many(
        session,
        (PendingEntry(action="batch", entity_id=i, after={"i": i}) for i in range(12_000)),
        count=12_000,
    )
    audit.record(session, action="last", actor="tester")
    session.commit()
    assert written == 12_000
    assert audit.verify(session).ok
    seqs = session.exec(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs == list(range(1, start + 12_003))


def test_a_batch_that_breaks_its_promised_count_is_refused(session):
    with pytest.raises(ValueError):
        audit.record_many(session, iter([PendingEntry(action="one")]), count=2)
    session.rollback()
    assert audit.record_many(session, []) == 0
