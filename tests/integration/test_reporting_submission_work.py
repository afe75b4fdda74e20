"""A report filed on the public form does each part of its work once (issue #20, server CPU
per anonymous submission), on SQLite and PostgreSQL.

The form's check finds the channel, the people who would receive the report (and whom it
names or whose declared interests it touches) and the questionnaire; filing the report uses
what the check found instead of asking the database again after the submission budget's
commit, and the report row is written once, with its content hash.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import event
from sqlmodel import select

from tests.reporting_helpers import (
    ready_channel,
    receipt_from,
    report_form_data,
    submit_via_client,
)
from whistleblowing import service as reporting
from whistleblowing.models import Report, ReportAttachment, ReportItem, ReportKeyWrap

# Each read once by the check, never again by the filing (they were read two or three times).
READ_ONCE = (
    "report_channel",
    "holder_key",
    "declared_interest",
    "channel_questionnaire",
    "reporting_installation",
)


def _statements_of(engine, action) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def _submit_with_a_file(client, data) -> list[str]:
    """Submit the public form with a small text file; return the statements it sent."""
    answers = []
    statements = _statements_of(
        client.app.state.engine,
        lambda: answers.append(
            submit_via_client(
                client, data, files=[("files", ("notes.txt", b"ledger line 42", "text/plain"))]
            )
        ),
    )
    assert answers[0].status_code == 200, answers[0].text
    assert receipt_from(answers[0].text)
    return statements


def _tables_read(statements: list[str]) -> Counter:
    reads = Counter()
    for statement in statements:
        found = re.match(r"SELECT .*? FROM (\w+)", statement)
        if found:
            reads[found.group(1)] += 1
    return reads


def test_a_submission_reads_its_channel_people_and_questionnaire_once(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    other = make_user("investigator")
    reporting.unlock_holder_key(session, settings, user=other, password="correct horse battery")
    reporting.set_channel_recipients(
        session, actor=other, channel=ready.channel, user_ids=[ready.investigator.id, other.id]
    )
    # The text touches the first investigator's declared interest: only the other receives it.
    reporting.declare_interests(
        session,
        user=ready.investigator,
        terms=["Guantes del Norte"],
        unit_codes=[],
        today=date.today(),
    )
    session.commit()
    data = report_form_data(ready.channel.id, what="Guantes del Norte invoiced twice")
    statements = _submit_with_a_file(client, data)
    reads = _tables_read(statements)
    for table in READ_ONCE:
        assert reads[table] == 1, (table, reads)
    # The report row is inserted once, complete: no second write of its content hash.
    assert sum(s.startswith("INSERT INTO report ") for s in statements) == 1
    assert not [s for s in statements if s.startswith("UPDATE report ")]
    # Thirty-seven statements before.
    assert len(statements) <= 20, statements
    # What the check found is what was filed: the interest kept the first investigator out.
    report = session.exec(select(Report)).one()
    holders = session.exec(
        select(ReportKeyWrap.user_id).where(ReportKeyWrap.report_id == report.id)
    ).all()
    assert set(holders) == {other.id, None}


def test_filing_refuses_the_check_of_another_submission(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)

    def submission() -> reporting.Submission:
        return reporting.Submission(
            channel_id=ready.channel.id,
            what="Gloves invoiced twice",
            good_faith=True,
            form_token=reporting.new_form_token(),
        )

    vetted = reporting.check_submission(session, submission())
    with pytest.raises(ValueError):
        reporting.submit_report(session, settings, submission=submission(), vetted=vetted)
    assert session.exec(select(Report)).all() == []


def test_a_submissions_rows_are_written_at_once_with_random_ids(
    client, session, settings, make_user
):
    """The new report's files, items and key wraps go in one INSERT per table, each row with
    a random id (ids from a sequence would order them against staff actions)."""
    ready = ready_channel(session, settings, make_user)
    data = report_form_data(ready.channel.id, identity="Ana, warehouse, ext. 4411")
    statements = _submit_with_a_file(client, data)
    for table in ("report_attachment", "report_item", "report_key_wrap"):
        assert sum(s.startswith(f"INSERT INTO {table} ") for s in statements) == 1, table
    report = session.exec(select(Report)).one()
    rows = [
        *session.exec(select(ReportAttachment).where(ReportAttachment.report_id == report.id)),
        *session.exec(select(ReportItem).where(ReportItem.report_id == report.id)),
        *session.exec(select(ReportKeyWrap).where(ReportKeyWrap.report_id == report.id)),
    ]
    # One file, the submission and the identity; the report's key and the identity's key
    # wrapped for the investigator (no protection officer here) and the recovery key.
    assert sorted(type(row).__name__ for row in rows) == [
        "ReportAttachment",
        "ReportItem",
        "ReportItem",
        "ReportKeyWrap",
        "ReportKeyWrap",
        "ReportKeyWrap",
    ]
    # Random 63-bit ids: below 2**32 only by a chance of one in two thousand million.
    assert all(row.id >= 2**32 for row in rows), [row.id for row in rows]
