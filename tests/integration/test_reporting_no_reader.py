"""A report nobody could read is never filed in silence: the reporter is told before the
receipt, and may change whom they exclude (docs/reporting.md, "Who receives and handles a case").

The readers are the channel's recipients less those the reporter excluded, those the report
names and those whose declared interests it touches, then the deputy and the lead under the same
checks. When that leaves nobody, the form is shown again with what was typed and a message that
says nothing about declared interests (who declared what is not the reporter's business)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from tests.reporting_helpers import ready_channel, report_form_data, submit_via_client
from whistleblowing import service as cases
from whistleblowing import service as reporting
from whistleblowing.models import Report

# ready_channel's investigator, named by email: make_user calls everyone "Test User N", so a
# name would name every investigator at once.
NAMED = "user2@example.org"


def _reports(session) -> int:
    return session.exec(select(func.count()).select_from(Report)).one()


def _submission(channel_id: int, **values) -> reporting.Submission:
    return reporting.Submission(
        channel_id=channel_id,
        what=values.pop("what", "Gloves invoiced twice"),
        good_faith=True,
        form_token=reporting.new_form_token(),
        **values,
    )


def test_a_report_naming_its_only_reader_is_refused_before_the_receipt(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    assert ready.investigator.email == NAMED
    naming = _submission(ready.channel.id, who=f"{NAMED} took the money")

    errors = reporting.validate_submission(session, naming)
    assert "excluded" in errors
    with pytest.raises(reporting.ReportingError):
        reporting.submit_report(session, settings, submission=naming)
    session.rollback()
    assert _reports(session) == 0
    # Someone else who can read it: the report is filed, and kept from the person it names.
    deputy = make_user("investigator")
    reporting.unlock_holder_key(session, settings, user=deputy, password="correct horse battery")
    admin = make_user("admin")
    cases.set_channel_roles(
        session, actor=admin, channel=ready.channel, lead_user_id=None, deputy_user_id=deputy.id
    )
    session.commit()
    assert reporting.validate_submission(session, naming) == {}


def test_a_report_touching_its_only_readers_declared_interest_is_refused(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    cases.declare_interests(
        session,
        user=ready.investigator,
        terms=["Guantes del Norte"],
        unit_codes=[],
        today=date.today(),
    )
    session.commit()
    errors = reporting.validate_submission(
        session, _submission(ready.channel.id, what="Guantes del Norte invoiced twice")
    )
    assert "excluded" in errors
    assert "interest" not in errors["excluded"].lower()


def test_the_form_tells_the_reporter_and_keeps_what_they_typed(
    client, session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    data = report_form_data(ready.channel.id, who=f"{NAMED}, head of purchasing")
    response = submit_via_client(client, data)
    assert response.status_code == 422
    assert "Nobody could read your report" in response.text
    assert f"{NAMED}, head of purchasing" in response.text
    assert 'id="receipt"' not in response.text
    assert _reports(session) == 0
