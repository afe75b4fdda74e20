"""Case tracking rules (whistleblowing.cases), on SQLite and PostgreSQL: the lifecycle, routing,
handling, the deadline job, reports made by telephone, identity notices, statistics and
retention."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from backend import audit, clock, i18n
from backend.auth import service as auth_service
from tests.reporting_helpers import (
    add_holder,
    file_report,
    holder_private,
    open_as,
    ready_channel,
    reporter_of,
)
from whistleblowing import deadlines
from whistleblowing import service as cases
from whistleblowing import service as reporting
from whistleblowing.models import (
    CaseReminder,
    IdentityRequest,
    ItemKind,
    KeyKind,
    Notification,
    NotificationKind,
    Report,
    ReportAttachment,
    ReporterSession,
    ReportItem,
    ReportKeyWrap,
    ReportStatus,
)
from whistleblowing.service import retention as retention_service

TEXT = "The invoices show the same lot twice."


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the service speaks the request's locale)."""
    with i18n.use_locale("en"):
        yield


def _today(settings) -> date:
    return clock.today(settings)


def _status(session, settings, access, actor, status, **kwargs):
    cases.change_status(session, settings, access=access, actor=actor, status=status, **kwargs)
    session.commit()


# --- the lifecycle ----------------------------------------------------------------------------


def test_a_case_moves_one_step_at_a_time_with_a_day_per_state(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    for target in ("triage", "investigating", "closed", "acknowledged"):
        with pytest.raises(reporting.ReportingError) as refused:
            cases.change_status(session, settings, access=access, actor=me, status=target)
        assert refused.value.status_code == 409
    session.rollback()
    assert session.get(Report, report.id).status == "received"

    cases.acknowledge(session, settings, access=access, actor=me, text="Received, thank you.")
    session.commit()
    assert (report.status, report.acknowledged_on) == ("acknowledged", _today(settings))
    with pytest.raises(reporting.ReportingError, match="already acknowledged"):
        cases.acknowledge(session, settings, access=access, actor=me, text="Again")
    with pytest.raises(reporting.ReportingError):
        cases.change_status(session, settings, access=access, actor=me, status="investigating")
    _status(session, settings, access, me, "triage")
    _status(session, settings, access, me, "investigating", reason="Two invoices to compare.")
    assert cases.next_statuses(report) == [ReportStatus.closed]
    days = dict(cases.state_days(report))
    assert days[ReportStatus.triage] == days[ReportStatus.investigating] == _today(settings)
    assert days[ReportStatus.closed] is None
    actions = [
        (e.action, e.after.get("status"))
        for e in session.exec(
            select(audit.AuditEntry).where(audit.AuditEntry.entity_id == report.reference)
        )
    ]
    assert ("report.status_changed", "triage") in actions
    assert ("report.status_changed", "investigating") in actions


def test_closing_needs_an_outcome_for_the_stage_a_reason_and_feedback(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    cases.acknowledge(session, settings, access=access, actor=me, text="Received")
    _status(session, settings, access, me, "triage")

    def close(**kwargs):
        cases.change_status(session, settings, access=access, actor=me, status="closed", **kwargs)

    with pytest.raises(reporting.ReportingError) as no_outcome:
        close(reason="Nothing to see", feedback="Done")
    assert no_outcome.value.field == "outcome"
    with pytest.raises(reporting.ReportingError, match="Only an investigation"):
        close(outcome="substantiated", reason="Proved at triage", feedback="x")
    with pytest.raises(reporting.ReportingError) as no_reason:
        close(outcome="referred", reason="short", feedback="Sent to the authority.")
    assert no_reason.value.field == "close_reason"
    with pytest.raises(reporting.ReportingError) as no_feedback:
        close(outcome="referred", reason="It belongs to the tax authority.")
    assert no_feedback.value.field == "feedback"
    session.rollback()
    assert session.get(Report, report.id).status == "triage"
    close(outcome="referred", reason="It belongs to the tax authority.", feedback="We sent it on.")
    session.commit()
    assert (report.status, report.outcome, report.closed_on) == (
        "closed",
        "referred",
        _today(settings),
    )
    assert report.feedback_given_on == _today(settings)
    kinds = [e.kind for e in reporting.timeline(session, access=access)]
    assert ItemKind.feedback in kinds and ItemKind.decision in kinds
    mine = reporter_of_report(session, settings, access)
    assert ItemKind.decision not in [e.kind for e in reporting.timeline(session, access=mine)]
    assert cases.next_statuses(report) == []


def reporter_of_report(session, settings, access):
    """A reporter's view of the same case (what the reporter can read)."""
    return reporting.CaseAccess(access.report, access.private_key, by_reporter=True)


def test_deadline_actions_on_a_closed_case_are_refused_and_change_nothing(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    cases.acknowledge(session, settings, access=access, actor=me, text="Received")
    _status(session, settings, access, me, "triage")
    _status(
        session,
        settings,
        access,
        me,
        "closed",
        outcome="outside_scope",
        reason="Not about procurement.",
        feedback="This is outside our remit.",
    )
    before = (len(session.exec(select(ReportItem)).all()), session.exec(select(CaseReminder)).all())
    refusals = [
        lambda: cases.add_reminder(
            session,
            access=access,
            actor=me,
            remind_on=_today(settings),
            note="",
            today=_today(settings),
        ),
        lambda: reporting.add_item(
            session, settings, access=access, kind=ItemKind.feedback, text="more", author=me
        ),
        lambda: cases.acknowledge(session, settings, access=access, actor=me, text="again"),
        lambda: cases.change_status(
            session, settings, access=access, actor=me, status="investigating"
        ),
        lambda: cases.hand_over(
            session, access=access, actor=me, reason="I am leaving now", today=_today(settings)
        ),
    ]
    for refused in refusals:
        with pytest.raises(reporting.ReportingError) as err:
            refused()
        assert err.value.status_code == 409
        session.rollback()
    after = (len(session.exec(select(ReportItem)).all()), session.exec(select(CaseReminder)).all())
    assert after == before
    assert session.get(Report, report.id).status == "closed"


def test_closing_as_made_in_bad_faith_never_reveals_the_reporter(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id, identity="Rosa Ibarra, 555-0101")
    access = open_as(session, me, result.report.reference)
    wraps_before = session.exec(
        select(ReportKeyWrap).where(ReportKeyWrap.key_kind == KeyKind.identity.value)
    ).all()
    cases.acknowledge(session, settings, access=access, actor=me, text="Received")
    _status(session, settings, access, me, "triage")
    _status(
        session,
        settings,
        access,
        me,
        "closed",
        outcome="bad_faith",
        reason="The invoices do not exist; the report was invented.",
        feedback="We found no such invoices.",
    )
    access = open_as(session, me, result.report.reference)
    assert access.identity_private_key is None
    identity = next(
        e for e in reporting.timeline(session, access=access) if e.kind is ItemKind.identity
    )
    assert identity.content is None
    wraps_after = session.exec(
        select(ReportKeyWrap).where(ReportKeyWrap.key_kind == KeyKind.identity.value)
    ).all()
    assert [(w.holder_kind, w.user_id) for w in wraps_after] == [
        (w.holder_kind, w.user_id) for w in wraps_before
    ]
    assert session.exec(select(IdentityRequest)).all() == []
    log = json.dumps([e.model_dump(mode="json") for e in session.exec(select(audit.AuditEntry))])
    assert "Rosa" not in log and "555-0101" not in log and "invented" not in log


# --- routing: who receives, who is kept out ---------------------------------------------------


def _channel_with(session, settings, make_user, *, recipients, lead=None, deputy=None):
    ready = ready_channel(session, settings, make_user)
    people = [ready.investigator, *recipients]
    reporting.set_channel_recipients(
        session, actor=ready.investigator, channel=ready.channel, user_ids=[u.id for u in people]
    )
    cases.set_channel_roles(
        session,
        actor=ready.investigator,
        channel=ready.channel,
        lead_user_id=lead.id if lead else None,
        deputy_user_id=deputy.id if deputy else None,
    )
    session.commit()
    return ready


def _holders(session, report):
    return cases.holder_ids(session, report)


def _rename(session, user, name):
    user.full_name = name
    session.add(user)
    session.commit()
    return user


def test_an_investigator_named_in_a_report_never_receives_it(session, settings, make_user):
    named = _rename(
        session, add_holder(session, settings, make_user, "investigator"), "Marta Salinas"
    )
    ready = _channel_with(session, settings, make_user, recipients=[named])
    _rename(session, ready.investigator, "Pablo Ocampo")
    report = file_report(
        session,
        settings,
        ready.channel.id,
        who=f"The approvals were signed by {named.full_name.upper()} herself.",
    ).report
    assert _holders(session, report) == {ready.investigator.id}
    access = open_as(session, ready.investigator, report.reference)
    barred = reporting.barred_from_case(session, access)
    assert barred.named == {named.id} and barred.excluded == frozenset()
    assert named not in reporting.grant_candidates(session, report, barred=barred.everyone)
    with pytest.raises(reporting.ReportingError, match="names this person") as refused:
        reporting.grant_access(session, access=access, actor=ready.investigator, grantee=named)
    assert refused.value.status_code == 409
    # Nobody reading the database learns who is named: only the sealed submission says it.
    raw = b"".join(item.sealed for item in session.exec(select(ReportItem)))
    assert named.full_name.encode() not in raw


def test_when_every_recipient_is_named_or_excluded_the_deputy_receives_the_report(
    session, settings, make_user
):
    deputy = add_holder(session, settings, make_user, "investigator")
    lead = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[], lead=lead, deputy=deputy)
    _rename(session, ready.investigator, "Pablo Ocampo")
    named = file_report(
        session, settings, ready.channel.id, who=f"Ask {ready.investigator.full_name}."
    ).report
    assert _holders(session, named) == {deputy.id}
    # The reporter may exclude the deputy too: the lead is next in line.
    both = file_report(
        session,
        settings,
        ready.channel.id,
        who=f"Ask {ready.investigator.full_name}.",
        excluded_user_ids=[deputy.id],
    ).report
    assert _holders(session, both) == {lead.id}


def test_a_full_name_with_particles_or_an_initial_is_recognised():
    assert reporting.names_person("Lo firmó María de la Cruz.", full_name="María de la Cruz")
    assert reporting.names_person("Lo firmó Juan P. Pérez.", full_name="Juan Pérez")
    assert not reporting.names_person("Lo firmó Juan López.", full_name="Juan Pérez")


def _deferred_entries(session, settings, action):
    """Append the day-precision entries kept back (as the next day's job does); return those
    of `action`."""
    audit.append_deferred(
        session, today=_today(settings) + timedelta(days=1), time_zone=settings.time_zone
    )
    session.commit()
    return session.exec(select(audit.AuditEntry).where(audit.AuditEntry.action == action)).all()


def test_a_report_touching_an_investigators_declared_interest_never_reaches_them(
    session, settings, make_user, org
):
    declarer = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[declarer])
    cases.declare_interests(
        session,
        user=declarer,
        terms=["Constructora del Norte", "Juan Pérez"],
        unit_codes=["DEL-JAL"],
        today=_today(settings),
    )
    session.commit()
    # A supplier declared (other accents, other case, other words around it) …
    supplier = file_report(
        session, settings, ready.channel.id, who="The CONSTRUCTORA DEL NORTE S.A. got all lots."
    ).report
    # … a person declared, written the other way round …
    person = file_report(session, settings, ready.channel.id, who="Lo aprobó Pérez Juan.").report
    # … a unit declared, by its name …
    unit = file_report(
        session, settings, ready.channel.id, where="En la delegacion jalisco, en marzo."
    ).report
    # … and a report that touches none of them.
    other = file_report(session, settings, ready.channel.id, who="Constructora del Sur").report
    for report in (supplier, person, unit):
        assert _holders(session, report) == {ready.investigator.id}
    assert _holders(session, other) == {ready.investigator.id, declarer.id}
    access = open_as(session, ready.investigator, supplier.reference)
    barred = reporting.barred_from_case(session, access)
    assert barred.interested == {declarer.id} and barred.named == frozenset()
    assert declarer not in reporting.grant_candidates(session, supplier, barred=barred.everyone)
    with pytest.raises(reporting.ReportingError, match="interest this person declared") as no:
        reporting.grant_access(session, access=access, actor=ready.investigator, grantee=declarer)
    assert no.value.status_code == 409
    session.rollback()
    # The declarer is told nothing: no notice, nothing in their inbox, a 404 like any report.
    assert session.exec(select(Notification).where(Notification.user_id == declarer.id)).all() == []
    assert [r.report.reference for r in reporting.inbox(session, user=declarer)] == [
        other.reference
    ]
    with pytest.raises(reporting.ReportingError) as hidden:
        open_as(session, declarer, supplier.reference)
    assert hidden.value.status_code == 404
    # Audited, at day precision, saying how many were kept out and why — never who.
    withheld = _deferred_entries(session, settings, "report.recipients_withheld")
    assert {e.entity_id for e in withheld} == {supplier.reference, person.reference, unit.reference}
    assert all(e.after == {"named": 0, "declared_interest": 1} for e in withheld)
    assert all(e.actor == "reporter" and e.actor_id is None for e in withheld)
    log = json.dumps([e.model_dump(mode="json") for e in withheld])
    assert declarer.email not in log and declarer.full_name not in log
    assert all(
        deadlines.local_day(e.at, settings.time_zone) == _today(settings)
        and e.at == audit.day_stamp(_today(settings), settings.time_zone)
        for e in withheld
    )


def test_when_every_recipient_declared_the_interest_the_deputy_receives_the_report(
    session, settings, make_user
):
    deputy = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[], deputy=deputy)
    cases.declare_interests(
        session,
        user=ready.investigator,
        terms=["Farmacias Unidas"],
        unit_codes=[],
        today=_today(settings),
    )
    session.commit()
    report = file_report(
        session, settings, ready.channel.id, what="Farmacias Unidas billed twice."
    ).report
    assert _holders(session, report) == {deputy.id}


def test_an_interest_declared_after_a_report_came_in_still_bars_its_declarer(
    session, settings, make_user
):
    later = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[])
    report = file_report(
        session, settings, ready.channel.id, who="Grupo Hospitalario Tlalpan"
    ).report
    cases.declare_interests(
        session,
        user=later,
        terms=["grupo hospitalario tlalpan"],
        unit_codes=[],
        today=_today(settings),
    )
    session.commit()
    access = open_as(session, ready.investigator, report.reference)
    with pytest.raises(reporting.ReportingError, match="interest this person declared"):
        reporting.grant_access(session, access=access, actor=ready.investigator, grantee=later)
    session.rollback()
    assert _holders(session, report) == {ready.investigator.id}


def test_declared_interests_are_checked_audited_and_bad_input_writes_nothing(
    session, settings, make_user, org
):
    investigator = add_holder(session, settings, make_user, "investigator")
    today = _today(settings)
    for terms, codes, field in (
        (["de la"], [], "terms"),
        (["JP"], [], "terms"),
        (["x" * 121], [], "terms"),
        ([f"Supplier {n:03}" for n in range(51)], [], "terms"),
        (["Constructora del Norte"], ["NOPE"], "units"),
    ):
        with pytest.raises(reporting.ReportingError) as refused:
            cases.declare_interests(
                session, user=investigator, terms=terms, unit_codes=codes, today=today
            )
        assert refused.value.field == field
        session.rollback()
    assert cases.interest_register(session, user=investigator).terms == []
    terms = cases.parse_interest_terms(
        "Constructora del Norte\n\n  constructora  DEL norte \nJuan Pérez"
    )
    assert terms == ["Constructora del Norte", "Juan Pérez"]
    cases.declare_interests(session, user=investigator, terms=terms, unit_codes=["DA"], today=today)
    session.commit()
    register = cases.interest_register(session, user=investigator)
    assert register.units == [("DA", org.central.name)] and register.updated_on == today
    entry = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "investigator.interests_declared")
    ).one()
    assert entry.actor_id == investigator.id
    assert entry.after == {"terms": terms, "unit_ids": [org.central.id]}
    # Saving the same list again changes nothing and writes no second entry.
    cases.declare_interests(session, user=investigator, terms=terms, unit_codes=["DA"], today=today)
    session.commit()
    assert (
        len(
            session.exec(
                select(audit.AuditEntry).where(
                    audit.AuditEntry.action == "investigator.interests_declared"
                )
            ).all()
        )
        == 1
    )


def test_reporters_see_and_may_exclude_the_lead_and_deputy(session, settings, make_user):
    deputy = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[], deputy=deputy)
    shown = reporting.recipients_by_channel(session)[ready.channel.id]
    assert {u.id for u in shown} == {ready.investigator.id, deputy.id}
    errors = reporting.validate_submission(
        session,
        reporting.Submission(
            channel_id=ready.channel.id,
            what="x",
            good_faith=True,
            form_token="t" * 20,
            excluded_user_ids=[ready.investigator.id, deputy.id],
        ),
    )
    assert "excluded" in errors


def test_a_conflict_of_interest_hands_the_case_on_and_removes_access_for_good(
    session, settings, make_user
):
    deputy = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[], deputy=deputy)
    me = ready.investigator
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    cases.assign(session, access=access, actor=me, assignee=me, today=_today(settings))
    with pytest.raises(reporting.ReportingError):
        cases.declare_conflict(session, access=access, actor=me, reason="x", today=_today(settings))
    now_held = cases.declare_conflict(
        session,
        access=access,
        actor=me,
        reason="The supplier is my brother-in-law's company.",
        today=_today(settings),
    )
    session.commit()
    assert [u.id for u in now_held] == [deputy.id]
    assert _holders(session, report) == {deputy.id}
    assert report.assignee_id == deputy.id
    with pytest.raises(reporting.ReportingError) as gone:
        open_as(session, me, report.reference)
    assert gone.value.status_code == 404
    deputy_access = open_as(session, deputy, report.reference)
    with pytest.raises(reporting.ReportingError, match="conflict"):
        reporting.grant_access(session, access=deputy_access, actor=deputy, grantee=me)
    notice = session.exec(select(Notification).where(Notification.user_id == deputy.id)).one()
    assert notice.kind == NotificationKind.handover
    assert "brother" not in json.dumps(
        [e.model_dump(mode="json") for e in session.exec(select(audit.AuditEntry))]
    )


def test_nobody_can_step_aside_when_nobody_else_may_take_the_case(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, ready.investigator, report.reference)
    with pytest.raises(reporting.ReportingError) as refused:
        cases.declare_conflict(
            session,
            access=access,
            actor=ready.investigator,
            reason="I know the supplier personally.",
            today=_today(settings),
        )
    assert refused.value.status_code == 409
    session.rollback()
    assert _holders(session, report) == {ready.investigator.id}


def test_handover_gives_the_deputy_access_and_the_case(session, settings, make_user):
    deputy = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[], deputy=deputy)
    me = ready.investigator
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    with pytest.raises(reporting.ReportingError, match="first"):
        cases.assign(session, access=access, actor=me, assignee=deputy, today=_today(settings))
    taker = cases.hand_over(
        session, access=access, actor=me, reason="Surgery next week.", today=_today(settings)
    )
    session.commit()
    assert taker.id == deputy.id
    assert report.assignee_id == deputy.id and deputy.id in _holders(session, report)
    actions = [e.action for e in session.exec(select(audit.AuditEntry))]
    assert "report.access_granted" in actions and "report.handed_over" in actions


def test_an_absence_hands_open_cases_over_and_the_job_moves_the_rest(session, settings, make_user):
    deputy = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[deputy], deputy=deputy)
    me = ready.investigator
    today = _today(settings)
    first = file_report(session, settings, ready.channel.id).report
    second = file_report(session, settings, ready.channel.id).report
    for report in (first, second):
        cases.assign(
            session,
            access=open_as(session, me, report.reference),
            actor=me,
            assignee=me,
            today=today,
        )
    session.commit()
    # Away from tomorrow, handing over now: both cases go to the deputy at once.
    result = cases.record_absence(
        session,
        user=me,
        holder_private=holder_private(session, me),
        starts_on=today + timedelta(days=1),
        ends_on=today + timedelta(days=5),
        hand_over_cases=True,
        today=today,
    )
    session.commit()
    assert sorted(result.handed_over) == sorted([first.reference, second.reference])
    assert first.assignee_id == second.assignee_id == deputy.id
    # An absence recorded without handing over: the job reassigns, since the deputy holds it.
    third = file_report(session, settings, ready.channel.id).report
    cases.assign(
        session, access=open_as(session, me, third.reference), actor=me, assignee=me, today=today
    )
    session.commit()
    with pytest.raises(reporting.ReportingError):
        cases.record_absence(
            session,
            user=me,
            holder_private=None,
            starts_on=today,
            ends_on=today - timedelta(1),
            hand_over_cases=False,
            today=today,
        )
    session.rollback()
    run = cases.run_deadlines(session, today=today + timedelta(days=2))
    session.commit()
    session.refresh(third)
    assert run.handovers == 1 and third.assignee_id == deputy.id


# --- links and tags ---------------------------------------------------------------------------


def test_links_join_only_cases_one_holds_and_never_reveal_others(session, settings, make_user):
    other = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[other])
    me = ready.investigator
    one = file_report(session, settings, ready.channel.id).report
    two = file_report(session, settings, ready.channel.id).report
    hidden = file_report(session, settings, ready.channel.id, excluded_user_ids=[me.id]).report
    access = open_as(session, me, one.reference)
    messages = set()
    for reference in (hidden.reference, "WB-0000-0000"):
        with pytest.raises(reporting.ReportingError) as refused:
            cases.link_cases(
                session, access=access, actor=me, other_reference=reference, today=_today(settings)
            )
        messages.add(str(refused.value))
    assert len(messages) == 1  # the same answer whether it exists or not
    cases.link_cases(
        session,
        access=access,
        actor=me,
        other_reference=two.reference.lower(),
        today=_today(settings),
    )
    session.commit()
    with pytest.raises(reporting.ReportingError) as twice:
        cases.link_cases(
            session, access=access, actor=me, other_reference=two.reference, today=_today(settings)
        )
    assert twice.value.status_code == 409
    session.rollback()
    assert [r.reference for r in cases.linked_cases(session, report=two, user=me)] == [
        one.reference
    ]
    # `other` links `hidden` to `one`; I still do not see `hidden` among one's links.
    cases.link_cases(
        session,
        access=open_as(session, other, hidden.reference),
        actor=other,
        other_reference=one.reference,
        today=_today(settings),
    )
    session.commit()
    assert [r.reference for r in cases.linked_cases(session, report=one, user=me)] == [
        two.reference
    ]
    assert {r.reference for r in cases.linked_cases(session, report=one, user=other)} == {
        two.reference,
        hidden.reference,
    }


def test_tags_come_from_the_administrators_list(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    admin = make_user("admin")
    tag = cases.save_tag(
        session,
        actor=admin,
        tag=None,
        code="Medicines",
        name_es="Medicamentos",
        name_en="Medicines",
    )
    with pytest.raises(reporting.ReportingError):
        cases.save_tag(session, actor=admin, tag=None, code="medicines", name_es="x", name_en="y")
    session.rollback()
    tag = cases.save_tag(
        session,
        actor=admin,
        tag=None,
        code="medicines",
        name_es="Medicamentos",
        name_en="Medicines",
    )
    session.commit()
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, ready.investigator, report.reference)
    cases.set_tags(session, access=access, actor=ready.investigator, tag_ids=[tag.id, 999])
    session.commit()
    assert [t.code for t in cases.tags_of(session, report)] == ["medicines"]
    rows, total = reporting.inbox_page(
        session,
        user=ready.investigator,
        filters=reporting.InboxFilter(tag_id=tag.id),
        today=_today(settings),
    )
    assert total == 1 and [t.code for t in rows[0].tags] == ["medicines"]


# --- the deadline job -------------------------------------------------------------------------


def test_the_job_reminds_warns_and_escalates_to_the_lead_once(session, settings, make_user):
    lead = add_holder(session, settings, make_user, "investigator")
    ready = _channel_with(session, settings, make_user, recipients=[lead], lead=lead)
    me = ready.investigator
    received = date(2026, 3, 2)
    report = file_report(session, settings, ready.channel.id, received_on=received).report
    cases.assign(
        session,
        access=open_as(session, me, report.reference),
        actor=me,
        assignee=me,
        today=received,
    )
    session.commit()

    def notices(kind):
        return sorted(
            n.user_id
            for n in session.exec(select(Notification).where(Notification.kind == kind.value))
        )

    assert cases.run_deadlines(session, today=received + timedelta(days=1)).notices == 0
    run = cases.run_deadlines(session, today=report.ack_due_on - timedelta(days=2))
    session.commit()
    assert run.notices == 1 and notices(NotificationKind.ack_due_soon) == [me.id]
    run = cases.run_deadlines(session, today=report.ack_due_on + timedelta(days=1))
    session.commit()
    assert notices(NotificationKind.ack_overdue) == [me.id]
    assert notices(NotificationKind.escalated_ack) == [lead.id]
    assert run.escalations == 1
    again = cases.run_deadlines(session, today=report.ack_due_on + timedelta(days=3))
    session.commit()
    assert (again.notices, again.escalations) == (0, 0)
    escalated = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "report.deadline_escalated")
    ).all()
    assert len(escalated) == 1 and escalated[0].entity_id == report.reference
    # Feedback overdue escalates too; an acknowledged case no longer warns about the ack.
    access = open_as(session, me, report.reference)
    cases.acknowledge(
        session,
        settings,
        access=access,
        actor=me,
        text="Received",
        today=report.ack_due_on + timedelta(days=3),
    )
    session.commit()
    late = report.feedback_due_on + timedelta(days=1)
    cases.run_deadlines(session, today=late)
    session.commit()
    assert notices(NotificationKind.escalated_feedback) == [lead.id]
    assert audit.verify(session).ok


def test_custom_reminders_are_sent_once_to_whoever_set_them(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    today = _today(settings)
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    with pytest.raises(reporting.ReportingError):
        cases.add_reminder(
            session,
            access=access,
            actor=me,
            remind_on=today - timedelta(days=1),
            note="",
            today=today,
        )
    reminder = cases.add_reminder(
        session,
        access=access,
        actor=me,
        remind_on=today + timedelta(days=3),
        note="Call the warehouse",
        today=today,
    )
    session.commit()
    assert b"warehouse" not in reminder.sealed_note
    assert [v.note for v in cases.reminders_of(session, access=access, user=me)] == [
        "Call the warehouse"
    ]
    assert cases.run_deadlines(session, today=today + timedelta(days=2)).reminders == 0
    assert cases.run_deadlines(session, today=today + timedelta(days=3)).reminders == 1
    session.commit()
    assert cases.run_deadlines(session, today=today + timedelta(days=4)).reminders == 0
    assert session.get(CaseReminder, reminder.id).sent_on == today + timedelta(days=3)
    # The one notice list (backend.notices) holds it, named by the case's reference.
    views = cases.notifications_for(session, user=me)
    [view] = [v for v in views if v.notice.kind == "reporting.reminder"]
    assert view.notice.params["reference"] == report.reference and view.href.endswith(
        report.reference
    )
    assert cases.mark_read(session, user=me, today=today) == len(views)


def test_reports_nobody_can_read_are_flagged_to_the_administrators(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    report = file_report(session, settings, ready.channel.id).report
    # A report nobody could read is refused at submission (the reporter is told); one can still
    # become unreadable later, when everyone who held it leaves: deleting an account deletes its
    # key wraps with it (ON DELETE CASCADE).
    session.delete(session.get(auth_service.User, ready.investigator.id))
    session.commit()
    assert _holders(session, report) == set()
    admins = [
        u
        for u in session.exec(select(auth_service.User))
        if "admin" in {r.value for r in auth_service.roles_of(session, u)}
    ]
    run = cases.run_deadlines(session, today=_today(settings))
    session.commit()
    assert run.unattended == len(admins) >= 1
    assert cases.run_deadlines(session, today=_today(settings)).unattended == 0


def test_the_sla_board_counts_what_is_due_and_overdue(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    today = _today(settings)
    late = file_report(
        session, settings, ready.channel.id, received_on=today - timedelta(days=9)
    ).report
    fresh = file_report(
        session, settings, ready.channel.id, received_on=today - timedelta(days=6)
    ).report
    board = cases.sla_board(session, user=me, today=today)
    sections = {s.key: s for s in board.sections}
    assert board.open == 2
    assert [r.reference for r in sections["ack_overdue"].reports] == [late.reference]
    assert [r.reference for r in sections["ack_due_soon"].reports] == [fresh.reference]
    assert sections["unassigned"].total == 2
    counts = reporting.inbox_counts(session, user=me, today=today)
    assert (counts.open, counts.ack_overdue, counts.new) == (2, 1, 2)
    assert [r.reference for r in counts.due] == [late.reference, fresh.reference]


# --- reports made by telephone or in person ---------------------------------------------------


def test_an_investigator_enters_a_telephone_report_and_the_reporter_gets_a_receipt(
    session, settings, make_user
):
    entering = add_holder(session, settings, make_user, "investigator")
    ready = ready_channel(session, settings, make_user)
    today = _today(settings)
    made_on = today - timedelta(days=2)
    submission = reporting.Submission(
        channel_id=ready.channel.id,
        what="The caller saw boxes of insulin loaded into a private car.",
        received_via="phone",
        received_on=made_on,
        good_faith=True,
        form_token=reporting.new_form_token(),
    )
    result = cases.enter_report(session, settings, actor=entering, submission=submission)
    session.commit()
    report = result.report
    assert (report.received_via, report.submitted_on) == ("phone", made_on)
    assert report.ack_due_on == made_on + timedelta(days=7)
    assert report.assignee_id == entering.id
    assert _holders(session, report) == {entering.id, ready.investigator.id}
    assert reporting.verify_certificate(json.dumps(result.certificate)).valid
    mine = reporter_of(session, settings, result.receipt)
    submitted = reporting.timeline(session, access=mine)[0].content
    assert submitted["received_via"] == "phone" and "insulin" in submitted["what"]
    for bad in (today + timedelta(days=1), today - timedelta(days=31)):
        with pytest.raises(reporting.ReportingError) as refused:
            cases.enter_report(
                session,
                settings,
                actor=entering,
                submission=reporting.Submission(
                    channel_id=ready.channel.id,
                    what="x",
                    received_via="phone",
                    received_on=bad,
                    good_faith=True,
                    form_token=reporting.new_form_token(),
                ),
            )
        assert refused.value.field == "received_on"
    with pytest.raises(reporting.ReportingError):
        cases.enter_report(
            session,
            settings,
            actor=entering,
            submission=reporting.Submission(
                channel_id=ready.channel.id, what="x", good_faith=True, form_token="t" * 20
            ),
        )


# --- identity custody: the reporter is told (Art. 16) -----------------------------------------


def _identity_case(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    officer = add_holder(session, settings, make_user, "protection_officer")
    result = file_report(session, settings, ready.channel.id, identity="Luis Ortega, 555-0199")
    access = open_as(session, ready.investigator, result.report.reference)
    request = reporting.request_identity(
        session,
        access=access,
        actor=ready.investigator,
        reason="We need to interview the reporter about the second invoice.",
    )
    session.commit()
    return ready, officer, result, request


def test_the_reporter_is_told_of_an_approved_identity_release_with_its_reason(
    session, settings, make_user
):
    ready, officer, result, request = _identity_case(session, settings, make_user)
    reporting.decide_identity_request(
        session,
        officer=officer,
        holder_private=holder_private(session, officer),
        request_id=request.id,
        approve=True,
        note="Needed to interview a witness.",
    )
    session.commit()
    assert request.reporter_told_on is not None
    mine = reporter_of(session, settings, result.receipt)
    notice = next(
        e for e in reporting.timeline(session, access=mine) if e.kind is ItemKind.identity_notice
    )
    assert notice.content["decision"] == "approved"
    assert notice.content["reason"] == "Needed to interview a witness."


def test_a_deferred_notice_is_sent_later_and_a_refusal_at_once(session, settings, make_user):
    ready, officer, result, request = _identity_case(session, settings, make_user)
    private = holder_private(session, officer)
    with pytest.raises(reporting.ReportingError):
        reporting.decide_identity_request(
            session,
            officer=officer,
            holder_private=private,
            request_id=request.id,
            approve=False,
            note="Not needed.",
            defer_notice="Would alert the suspect.",
        )
    session.rollback()
    reporting.decide_identity_request(
        session,
        officer=officer,
        holder_private=private,
        request_id=request.id,
        approve=True,
        note="Needed for the interview.",
        defer_notice="Telling now would alert the supplier.",
    )
    session.commit()
    mine = reporter_of(session, settings, result.receipt)
    assert ItemKind.identity_notice not in [
        e.kind for e in reporting.timeline(session, access=mine)
    ]
    assert [r.id for r, _rep in reporting.identity_notices_waiting(session, officer=officer)] == [
        request.id
    ]
    reporting.notify_reporter(
        session, officer=officer, holder_private=private, request_id=request.id
    )
    session.commit()
    assert reporting.identity_notices_waiting(session, officer=officer) == []
    with pytest.raises(reporting.ReportingError) as twice:
        reporting.notify_reporter(
            session, officer=officer, holder_private=private, request_id=request.id
        )
    assert twice.value.status_code == 409
    mine = reporter_of(session, settings, result.receipt)
    assert ItemKind.identity_notice in [e.kind for e in reporting.timeline(session, access=mine)]


def test_unauthorised_identity_requests_and_decisions_are_refused(session, settings, make_user):
    ready, officer, result, request = _identity_case(session, settings, make_user)
    outsider = add_holder(session, settings, make_user, "investigator")
    with pytest.raises(reporting.ReportingError) as no_access:
        open_as(session, outsider, result.report.reference)
    assert no_access.value.status_code == 404
    both = add_holder(session, settings, make_user, "investigator", "protection_officer")
    # An officer without the identity key of this report (made officer after it was filed).
    with pytest.raises(reporting.ReportingError) as no_key:
        reporting.decide_identity_request(
            session,
            officer=both,
            holder_private=holder_private(session, both),
            request_id=request.id,
            approve=True,
            note="ok",
        )
    assert no_key.value.status_code == 404  # not told the request exists
    access = open_as(session, ready.investigator, result.report.reference)
    with pytest.raises(reporting.ReportingError) as pending:
        reporting.request_identity(
            session,
            access=access,
            actor=ready.investigator,
            reason="Asking a second time for the same reason.",
        )
    assert pending.value.status_code == 409
    session.rollback()
    assert session.get(IdentityRequest, request.id).status == "pending"


# --- statistics -------------------------------------------------------------------------------


def test_the_evaluation_suppresses_small_counts_and_exports_safely(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    ready.channel.name_en = '=HYPERLINK("http://evil")'
    session.add(ready.channel)
    session.commit()
    me = ready.investigator
    today = _today(settings)
    for index in range(7):
        report = file_report(
            session, settings, ready.channel.id, received_on=today - timedelta(days=20)
        ).report
        access = open_as(session, me, report.reference)
        cases.acknowledge(
            session,
            settings,
            access=access,
            actor=me,
            text="Received",
            today=today - timedelta(days=20 - index % 3),
        )
        session.commit()
    from backend import i18n

    with i18n.use_locale("en"):
        result = cases.evaluation(session, threshold=5)
        [figures] = result.channels
        assert (figures.received, figures.open, figures.closed) == (7, 7, 0)
        assert figures.median_days_to_ack == 1 and figures.ack_on_time == 1.0
        assert figures.median_days_to_feedback is None  # fewer than 5 with feedback
        assert dict(result.intake)["Web form"] == 7
        small = cases.evaluation(session, threshold=8)
        assert small.channels[0].received is None and small.channels[0].median_days_to_ack is None
        text = cases.evaluation_csv(result).decode("utf-8-sig")
        assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
        book = load_workbook(io.BytesIO(cases.evaluation_xlsx(result)))
        cell = book.active["A2"]
        assert cell.value.startswith("'=") and cell.data_type == "s"
    assert cases.evaluation(session, year=today.year - 5, threshold=5).channels == []


def test_the_steps_a_case_allows_are_what_its_page_offers_and_its_forms_accept(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    me = ready.investigator
    report = file_report(session, settings, ready.channel.id).report
    access = open_as(session, me, report.reference)
    Step = cases.Step
    open_steps = {Step.assign, Step.remind, Step.set_priority, Step.keep}
    assert cases.allowed_steps(access, me) == {Step.acknowledge} | open_steps
    with pytest.raises(reporting.ReportingError) as refused:
        cases.refuse_unless(access, me, Step.request_identity)
    assert refused.value.status_code == 409
    cases.acknowledge(session, settings, access=access, actor=me, text="Received")
    session.commit()
    assert cases.allowed_steps(access, me) == {Step.change_status} | open_steps
    with pytest.raises(reporting.ReportingError, match="already acknowledged"):
        cases.refuse_unless(access, me, Step.acknowledge)
    closed = _closed_case(session, settings, ready, outcome="unsubstantiated", closed_on=None)
    access = open_as(session, me, closed.reference)
    # A closed case can still be kept longer (an extension, a legal hold) and referred.
    assert cases.allowed_steps(access, me) == {Step.keep, Step.refer}
    for step in (Step.assign, Step.remind, Step.acknowledge, Step.set_priority):
        with pytest.raises(reporting.ReportingError, match="was closed on") as refused:
            cases.refuse_unless(access, me, step)
        assert refused.value.status_code == 409


# --- retention --------------------------------------------------------------------------------


def _closed_case(session, settings, ready, *, outcome, closed_on, with_file=True):
    from tests.reporting_helpers import file_report as file

    files = [reporting.Upload("ledger.txt", b"line 12 paid twice")] if with_file else []
    report = file(session, settings, ready.channel.id, files=files).report
    me = ready.investigator
    access = open_as(session, me, report.reference)
    cases.acknowledge(session, settings, access=access, actor=me, text="Received")
    cases.change_status(session, settings, access=access, actor=me, status="triage")
    cases.change_status(session, settings, access=access, actor=me, status="investigating")
    cases.change_status(
        session,
        settings,
        access=access,
        actor=me,
        status="closed",
        outcome=outcome,
        reason="Findings are in the file.",
        feedback="We finished.",
        today=closed_on,
    )
    session.commit()
    return report


def test_expired_cases_are_deleted_with_their_files_and_keys_and_the_audit_stays(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    today = _today(settings)
    months = cases.retention_months(settings)["unsubstantiated"]
    old = _closed_case(
        session,
        settings,
        ready,
        outcome="unsubstantiated",
        closed_on=deadlines.add_months(today, -months) - timedelta(days=1),
    )
    kept = _closed_case(
        session,
        settings,
        ready,
        outcome="substantiated",
        closed_on=deadlines.add_months(today, -months) - timedelta(days=1),
    )
    old_id, old_ref, kept_ref = old.id, old.reference, kept.reference
    old_files = session.exec(
        select(ReportAttachment.uid).where(ReportAttachment.report_id == old_id)
    ).all()
    assert old_files and all(
        (settings.attachments_dir / uid[:2] / uid).exists() for uid in old_files
    )
    audited_before = len(session.exec(select(audit.AuditEntry)).all())
    run = cases.apply_retention(session, settings, today=today)
    session.commit()
    cases.remove_files(settings, run.files)
    assert run.deleted == [old_ref]
    assert not any((settings.attachments_dir / uid[:2] / uid).exists() for uid in old_files)
    assert session.exec(select(Report).where(Report.reference == old_ref)).first() is None
    for model in (ReportItem, ReportKeyWrap, ReportAttachment):
        assert session.exec(select(model).where(model.report_id == old_id)).all() == []
    assert session.exec(select(Report).where(Report.reference == kept_ref)).one()
    entries = session.exec(select(audit.AuditEntry)).all()
    assert len(entries) == audited_before + 1
    assert any(e.action == "report.deleted" and e.entity_id == old_ref for e in entries)
    # What was decided about the deleted case stays in the chain (status changes among it).
    assert sum(e.entity_id == old_ref for e in entries) >= 5
    assert audit.verify(session).ok


def test_the_retention_period_follows_the_settings(session, settings, make_user):
    settings.case_retention_months = {"substantiated": 1, "made_up": 5}
    assert cases.retention_months(settings)["substantiated"] == 1
    assert "made_up" not in cases.retention_months(settings)


def test_the_receipt_stops_opening_a_closed_case_after_long_inactivity(
    session, settings, make_user
):
    ready = ready_channel(session, settings, make_user)
    today = _today(settings)
    result = file_report(session, settings, ready.channel.id)
    report = result.report
    me = ready.investigator
    access = open_as(session, me, report.reference)
    cases.acknowledge(session, settings, access=access, actor=me, text="Received")
    cases.change_status(session, settings, access=access, actor=me, status="triage")
    cases.change_status(
        session,
        settings,
        access=access,
        actor=me,
        status="closed",
        outcome="referred",
        reason="For the tax authority.",
        feedback="We sent it on.",
    )
    session.commit()
    token = reporter_of(session, settings, result.receipt)  # a session still open
    assert token.report.id == report.id
    later = deadlines.add_months(today, settings.reporter_access_months)
    assert (
        cases.apply_retention(session, settings, today=later - timedelta(days=1)).access_ended == []
    )
    run = cases.apply_retention(session, settings, today=later)
    session.commit()
    assert run.access_ended == [report.reference]
    assert session.exec(select(ReporterSession)).all() == []
    with pytest.raises(reporting.ReportingError) as ended:
        reporting.receipt_login(session, settings, receipt=result.receipt)
    assert ended.value.status_code == 410
    # The investigators still read the case.
    assert reporting.timeline(session, access=open_as(session, me, report.reference))


def test_retention_works_off_a_backlog_in_bounded_batches(
    session, settings, make_user, monkeypatch
):
    ready = ready_channel(session, settings, make_user)
    today = _today(settings)
    closed_on = deadlines.add_months(today, -30)
    first = _closed_case(
        session,
        settings,
        ready,
        outcome="unsubstantiated",
        closed_on=closed_on - timedelta(days=1),
        with_file=False,
    )
    second = _closed_case(
        session, settings, ready, outcome="unsubstantiated", closed_on=closed_on, with_file=False
    )
    references = [first.reference, second.reference]
    monkeypatch.setattr(retention_service, "RETENTION_BATCH", 1)
    monkeypatch.setattr(retention_service, "ACCESS_BATCH", 1)
    assert cases.apply_retention(session, settings, today=today).deleted == references[:1]
    session.commit()
    assert cases.apply_retention(session, settings, today=today).deleted == references[1:]
    session.commit()
    assert cases.apply_retention(session, settings, today=today).deleted == []
