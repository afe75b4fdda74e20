"""The inbox's statements are built once per shape of filter (whistleblowing.service.inbox):
the values bound on each call (the user, the status, the page) must still decide the answer."""

from __future__ import annotations

from datetime import timedelta

from backend import clock
from tests.reporting_helpers import file_report, ready_channel
from whistleblowing import service as reporting
from whistleblowing.models import ReportStatus


def _references(session, user, today, **kwargs) -> tuple[list[str], int]:
    page = kwargs.pop("page", 1)
    per_page = kwargs.pop("per_page", 50)
    rows, total = reporting.inbox_page(
        session,
        user=user,
        filters=reporting.InboxFilter(**kwargs),
        today=today,
        page=page,
        per_page=per_page,
    )
    return [row.report.reference for row in rows], total


def test_the_bound_status_user_and_page_decide_what_the_inbox_lists(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    today = clock.today(settings)
    old, middle, new = (
        file_report(
            session, settings, ready.channel.id, received_on=today - timedelta(days=days)
        ).report
        for days in (3, 2, 1)
    )
    old.status = ReportStatus.closed
    session.add(old)
    session.commit()
    me = ready.investigator

    assert _references(session, me, today) == ([new.reference, middle.reference], 2)
    assert _references(session, me, today, status="closed") == ([old.reference], 1)
    assert _references(session, me, today, status="received") == (
        [new.reference, middle.reference],
        2,
    )
    assert _references(session, me, today, status="all") == (
        [new.reference, middle.reference, old.reference],
        3,
    )
    assert _references(session, me, today, status="all", page=2, per_page=2) == (
        [old.reference],
        3,
    )
    assert _references(session, me, today, status="all", per_page=None)[1] == 3
    # Someone holding no key sees nothing, through the same built statements.
    assert _references(session, make_user("investigator"), today, status="all") == ([], 0)
    counts = reporting.inbox_counts(session, user=me, today=today)
    assert (counts.open, counts.new) == (2, 2)
    assert reporting.inbox_counts(session, user=make_user("investigator"), today=today).open == 0
