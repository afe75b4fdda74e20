"""Training rules: plan proposal, budgets, approval, capacity and the waiting list, completion
with evidence, the rating loop, development actions, induction and mentoring."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from backend import audit, clock
from backend.events import DomainEvent, publish, subscribe, unsubscribe
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from competency_framework import service as competency_service
from competency_framework.training import service
from competency_framework.training.models import (
    EnrolmentStatus,
    ItemOrigin,
    ItemStatus,
    PlanStatus,
    TrainingActivity,
    TrainingPlanItem,
)
from competency_framework.training.service import Certificate, TrainingError
from tests.training.helpers import activity, principal_for, rate, session_of, small_catalogue

YEAR = 2026
OFFICER_LEVELS = {
    "procurement_process": 2,  # required 3, essential: gap 1
    "negotiation": 1,  # required 2, essential: gap 1
    "strategy_market_analysis": 2,
    "financial": 2,
    "legal": 1,  # required 3, essential: gap 2 (the largest)
    "results_focus": 3,
    "systems_capability": 3,
    "inventory_logistics_supply_chain": 0,  # required 2, desirable: gap 2
    "organisational_awareness": 2,
    "self_management": 3,
    "leadership": 1,
    "communication": 3,
    "relationship_management": 2,
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def people(session, org, make_user):
    return {
        "head": principal_for(session, make_user(employee=org.head)),
        "a": principal_for(session, make_user(employee=org.officer_a)),
        "b": principal_for(session, make_user(employee=org.officer_b)),
        "outsider": principal_for(session, make_user(employee=org.outsider)),
        "hr": principal_for(session, make_user("hr_planner")),
    }


@pytest.fixture
def catalogue(session):
    return small_catalogue(session)


def codes_of(session, items):
    ids = {i.activity_id for i in items}
    return [
        next(a.code for a in service.list_activities(session, active_only=False) if a.id == i)
        for i in [item.activity_id for item in items]
        if i in ids
    ]


# --- proposal -----------------------------------------------------------------------------


def test_known_gaps_give_a_known_plan_largest_and_most_important_first(
    session, org, people, catalogue
):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    proposal = service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    session.commit()
    # legal (gap 2, essential) first; then the essential gaps of 1 in framework order;
    # inventory (gap 2 but desirable, score 2) comes fourth and is beyond the three proposed.
    assert codes_of(session, proposal.items) == ["legal_basics", "sfp_cert", "negotiation"]
    first = proposal.items[0]
    legal = competency_service.get_competency(session, "legal")
    assert (first.competency_id, first.gap, first.current_level, first.target_level) == (
        legal.id,
        2,
        1,
        2,
    )
    assert [i.priority for i in proposal.items] == [1, 2, 3]
    assert [i.cost for i in proposal.items] == [0, 18000, 5200]
    assert proposal.plan.status == PlanStatus.proposed
    assert proposal.uncovered == 0 and proposal.over_budget == 0


def test_an_activity_covering_two_gaps_is_proposed_once(session, org, people, catalogue):
    levels = dict(OFFICER_LEVELS, legal=2)  # now sfp_cert suits both legal and procurement
    rate(session, org.officer_a, people["hr"], levels)
    proposal = service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    assert codes_of(session, proposal.items) == ["sfp_cert", "negotiation", "supply_chain"]


def test_gaps_without_a_catalogue_activity_are_counted_not_proposed(session, org, people):
    activity(session, "negotiation", {"negotiation": (1, 3)}, cost=5200)
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    proposal = service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    assert codes_of(session, proposal.items) == ["negotiation"]
    assert proposal.uncovered == 3
    uncovered = service.uncovered_needs(session, employee=org.officer_a)
    assert [u.competency.code for u in uncovered] == [
        "legal",
        "procurement_process",
        "inventory_logistics_supply_chain",
    ]


def test_proposal_stays_within_the_unit_budget_and_free_activities_always_fit(
    session, org, people, catalogue
):
    service.set_budget(session, unit=org.central, year=YEAR, amount=20000, actor=people["hr"])
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    proposal = service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    # 0 + 18 000 fit in 20 000; the 5 200 negotiation course does not.
    assert codes_of(session, proposal.items) == ["legal_basics", "sfp_cert"]
    assert proposal.over_budget == 1


def test_budget_is_shared_in_rounds_between_the_people_of_a_unit(session, org, people, catalogue):
    service.set_budget(session, unit=org.central, year=YEAR, amount=23200, actor=people["hr"])
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    rate(session, org.officer_b, people["hr"], dict(OFFICER_LEVELS, legal=3))
    session.commit()
    summary = service.propose_plans(
        session, year=YEAR, actor=people["hr"], unit_ids=[org.central.id]
    )
    session.commit()
    a = service.plan_view(session, employee=org.officer_a, year=YEAR)
    b = service.plan_view(session, employee=org.officer_b, year=YEAR)
    # a wants legal_basics (free), sfp_cert, negotiation; b wants sfp_cert, negotiation,
    # supply_chain (free). Round 1: b's sfp_cert (18 000) fits, 5 200 left. Round 2: a's sfp_cert
    # no longer fits, b's negotiation (5 200) does. Round 3: a's negotiation does not.
    assert [line.activity.code for line in a.lines] == ["legal_basics"]
    assert [line.activity.code for line in b.lines] == ["sfp_cert", "negotiation", "supply_chain"]
    assert summary.over_budget == 2
    assert a.budget.pending == 18000 + 5200


def test_bulk_and_single_proposals_agree(session, org, people, catalogue):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    rate(session, org.officer_b, people["hr"], dict(OFFICER_LEVELS, legal=2, negotiation=2))
    single = {
        e.id: codes_of(
            session,
            service.propose_plan(session, employee=e, actor=people["hr"], year=YEAR).items,
        )
        for e in (org.officer_a, org.officer_b, org.head)
    }
    session.commit()
    summary = service.propose_plans(session, year=YEAR, actor=people["hr"])
    session.commit()
    bulk = {
        e.id: [
            line.activity.code
            for line in service.plan_view(session, employee=e, year=YEAR).lines
            if line.item.status == ItemStatus.proposed
        ]
        for e in (org.officer_a, org.officer_b, org.head)
    }
    assert bulk == single
    assert summary.plans_created == 0  # plans existed; their proposals were replaced
    assert summary.items == sum(len(v) for v in single.values())


def test_reproposal_keeps_decisions_and_does_not_propose_removed_activities(
    session, org, people, catalogue
):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    proposal = service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    service.remove_item(session, item=proposal.items[2], actor=people["a"])  # negotiation
    again = service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    session.commit()
    assert codes_of(session, again.items) == ["legal_basics", "sfp_cert", "supply_chain"]
    view = service.plan_view(session, employee=org.officer_a, year=YEAR)
    removed = [line for line in view.lines if line.item.status == ItemStatus.removed]
    assert [line.activity.code for line in removed] == ["negotiation"]


def test_only_the_person_their_supervisor_or_hr_may_propose(session, org, people, catalogue):
    with pytest.raises(TrainingError) as refused:
        service.propose_plan(session, employee=org.officer_a, actor=people["outsider"], year=YEAR)
    assert refused.value.status_code == 403


def test_only_the_employee_removes_their_plan_items(session, org, people, catalogue):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    items = service.propose_plan(
        session, employee=org.officer_a, actor=people["a"], year=YEAR
    ).items
    session.commit()
    with pytest.raises(TrainingError) as refused:
        service.remove_item(session, item=items[0], actor=people["head"])
    assert refused.value.status_code == 403
    removed = service.remove_item(session, item=items[0], actor=people["a"])
    assert removed.status == ItemStatus.removed
    with pytest.raises(TrainingError) as again:
        service.remove_item(session, item=removed, actor=people["a"])
    assert again.value.status_code == 409


# --- approval and budget ------------------------------------------------------------------


def test_supervisor_approves_and_the_employee_cannot_approve_their_own(
    session, org, people, catalogue
):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    with pytest.raises(TrainingError) as own:
        service.approve_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    assert own.value.status_code == 403
    with pytest.raises(TrainingError) as other:
        service.approve_plan(session, employee=org.officer_a, actor=people["outsider"], year=YEAR)
    assert other.value.status_code == 403
    approved = service.approve_plan(
        session, employee=org.officer_a, actor=people["head"], year=YEAR
    )
    session.commit()
    assert len(approved) == 3 and {i.status for i in approved} == {ItemStatus.approved}
    view = service.plan_view(session, employee=org.officer_a, year=YEAR)
    assert view.plan.status == PlanStatus.approved
    assert view.budget.committed == 23200
    entry = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "training.plan_approved")
    ).one()
    assert entry.after["over_budget"] is False


def test_approving_over_budget_needs_a_reason_which_is_kept(session, org, people, catalogue):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    session.commit()
    # The budget is cut after the proposal: approving now would overspend.
    service.set_budget(session, unit=org.central, year=YEAR, amount=10000, actor=people["hr"])
    session.commit()
    view = service.plan_view(session, employee=org.officer_a, year=YEAR)
    assert view.over_budget
    with pytest.raises(TrainingError) as refused:
        service.approve_plan(session, employee=org.officer_a, actor=people["head"], year=YEAR)
    assert refused.value.field == "reason"
    assert "over its training budget" in str(refused.value)
    session.rollback()
    assert {
        line.item.status
        for line in service.plan_view(session, employee=org.officer_a, year=YEAR).lines
    } == {ItemStatus.proposed}
    service.approve_plan(
        session,
        employee=org.officer_a,
        actor=people["head"],
        year=YEAR,
        reason="The certification is a legal requirement for the post",
    )
    session.commit()
    plan = service.get_plan(session, employee_id=org.officer_a.id, year=YEAR)
    assert plan.over_budget_reason == "The certification is a legal requirement for the post"


def _collect(*names):
    """Subscribe a recorder to `names`; return (events seen, a function that unsubscribes)."""
    seen: list[DomainEvent] = []

    def record(_session, event):
        seen.append(event)

    for name in names:
        subscribe(name)(record)

    def stop():
        for name in names:
            unsubscribe(name, record)

    return seen, stop


def test_every_refusal_of_an_approved_training_is_announced_and_says_if_it_had_a_reason(
    session, org, people, catalogue
):
    seen, stop = _collect(service.REQUEST_REFUSED, service.ENROLMENT_CANCELLED)
    try:
        rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
        service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
        items = service.approve_plan(
            session, employee=org.officer_a, actor=people["head"], year=YEAR
        )
        first_activity = session.get(TrainingActivity, items[0].activity_id)
        seat = session_of(session, first_activity)
        service.enrol_employee(
            session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
        )
        # A reason does not hide a refusal from the HR watch any more …
        service.decline_item(
            session, item=items[0], actor=people["head"], reason="Postponed to next year"
        )
        # … and one without a reason is still the HR event issue 7 asked for.
        service.decline_item(session, item=items[1], actor=people["hr"])
        session.commit()
    finally:
        stop()
    # One event per refusal: the seat cancelled with the first item is not a second decision.
    assert [e.name for e in seen] == [service.REQUEST_REFUSED, service.REQUEST_REFUSED]
    first, second = (e.payload for e in seen)
    assert all(e.subject_employee_id == org.officer_a.id for e in seen)
    assert (first["activity_code"], first["has_reason"], first["by"]) == (
        first_activity.code,
        True,
        "supervisor",
    )
    assert second["activity_code"] == "sfp_cert"
    assert first["reason"] == "Postponed to next year"
    assert first["previous_status"] == ItemStatus.approved
    assert (second["has_reason"], second["reason"], second["by"]) == (False, "", "hr")
    assert service.active_enrolment(session, employee_id=org.officer_a.id) is None


def test_declining_a_proposal_nobody_asked_for_is_not_a_refusal(session, org, people, catalogue):
    seen, stop = _collect(service.REQUEST_REFUSED)
    try:
        rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
        [first, *rest] = service.propose_plan(
            session, employee=org.officer_a, actor=people["head"], year=YEAR
        ).items
        # The supervisor trims the gap proposals before the employee sent the plan …
        service.decline_item(session, item=first, actor=people["head"], reason="Not this year")
        assert seen == []
        # … but once the employee sends it, declining what they asked for is a refusal.
        service.submit_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
        service.decline_item(session, item=rest[0], actor=people["head"], reason="No budget")
        session.commit()
    finally:
        stop()
    assert [(e.payload["previous_status"], e.payload["has_reason"]) for e in seen] == [
        (ItemStatus.proposed, True)
    ]


def test_the_supervisor_cancelling_a_seat_is_announced_the_employee_cancelling_is_not(
    session, org, people, catalogue
):
    seat = session_of(session, catalogue["legal_basics"])
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], catalogue["legal_basics"])
    seen, stop = _collect(service.ENROLMENT_CANCELLED, service.REQUEST_REFUSED)
    try:
        own = service.enrol_employee(
            session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
        )
        service.cancel(session, enrolment=own, actor=people["a"], reason="")
        assert seen == []
        again = service.enrol_employee(
            session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
        )
        service.cancel(session, enrolment=again, actor=people["head"], reason="")
        session.commit()
    finally:
        stop()
    [event] = seen
    assert event.name == service.ENROLMENT_CANCELLED
    assert event.subject_employee_id == org.officer_a.id
    assert event.payload["enrolment_id"] == again.id
    assert (event.payload["by"], event.payload["has_reason"]) == ("supervisor", False)
    assert event.payload["activity_code"] == "legal_basics"


def test_withdrawing_an_approved_training_without_a_reason_is_an_hr_event_not_a_refusal(
    session, org, people, catalogue
):
    seen, stop = _collect(service.WITHDRAWN_WITHOUT_REASON, service.REQUEST_REFUSED)
    try:
        rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
        service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
        items = service.approve_plan(
            session, employee=org.officer_a, actor=people["head"], year=YEAR
        )
        service.remove_item(session, item=items[0], actor=people["a"], reason="Changed my mind")
        assert seen == []  # a reason was given
        service.remove_item(session, item=items[1], actor=people["a"])
        session.commit()
    finally:
        stop()
    [event] = seen
    assert event.name == service.WITHDRAWN_WITHOUT_REASON
    assert (event.payload["by"], event.payload["has_reason"]) == ("employee", False)
    assert event.payload["previous_status"] == ItemStatus.approved
    assert event.subject_employee_id == org.officer_a.id
    # The person's own choice is not an adverse decision: the HR watch does not listen to it.
    from whistleblowing.service.retaliation import WATCHED_EVENTS

    assert service.WITHDRAWN_WITHOUT_REASON not in WATCHED_EVENTS
    assert {service.REQUEST_REFUSED, service.ENROLMENT_CANCELLED} <= set(WATCHED_EVENTS)


def test_added_activity_waits_for_approval_again(session, org, people, catalogue):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    service.propose_plan(session, employee=org.officer_a, actor=people["a"], year=YEAR)
    service.approve_plan(session, employee=org.officer_a, actor=people["head"], year=YEAR)
    item = service.add_item(
        session,
        employee=org.officer_a,
        activity=catalogue["supply_chain"],
        actor=people["a"],
        year=YEAR,
    )
    session.commit()
    assert item.origin == ItemOrigin.employee and item.status == ItemStatus.proposed
    assert service.get_plan(session, employee_id=org.officer_a.id, year=YEAR).status == "proposed"
    with pytest.raises(TrainingError):
        service.add_item(
            session,
            employee=org.officer_a,
            activity=catalogue["supply_chain"],
            actor=people["a"],
            year=YEAR,
        )


# --- enrolment, capacity and the waiting list -------------------------------------------------


def approved_for(session, employee, actor_employee, supervisor, act):
    service.add_item(session, employee=employee, activity=act, actor=actor_employee, year=YEAR)
    service.approve_plan(session, employee=employee, actor=supervisor, year=YEAR)
    session.commit()


def test_a_full_session_puts_people_on_the_waiting_list_and_a_cancellation_promotes(
    session, org, people, catalogue
):
    course = activity(session, "one_seat", {"legal": (0, 2)}, capacity=1)
    seat = session_of(session, course)
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], course)
    approved_for(session, org.officer_b, people["b"], people["head"], course)
    first = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    second = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_b, actor=people["b"]
    )
    session.commit()
    assert (first.status, second.status) == (EnrolmentStatus.enrolled, EnrolmentStatus.waitlisted)
    promoted = service.cancel(session, enrolment=first, actor=people["a"], reason="Clash")
    session.commit()
    assert promoted.id == second.id
    session.refresh(second)
    assert second.status == EnrolmentStatus.enrolled and second.promoted_at is not None
    assert first.status == EnrolmentStatus.cancelled


def test_enrolment_needs_an_approved_activity(session, org, people, catalogue):
    seat = session_of(session, catalogue["legal_basics"])
    session.commit()
    with pytest.raises(TrainingError) as refused:
        service.enrol_employee(
            session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
        )
    assert refused.value.status_code == 409


def test_nobody_else_may_cancel_a_colleagues_seat(session, org, people, catalogue):
    seat = session_of(session, catalogue["legal_basics"])
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], catalogue["legal_basics"])
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    with pytest.raises(TrainingError) as refused:
        service.cancel(session, enrolment=enrolment, actor=people["b"])
    assert refused.value.status_code == 403


# --- completion and the rating loop -------------------------------------------------------


def test_completion_asks_the_supervisor_to_confirm_the_new_level_and_publishes(
    session, settings, org, people, catalogue
):
    completed: list[DomainEvent] = []

    def watch(_session, event):
        completed.append(event)

    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    seat = session_of(session, catalogue["legal_basics"])
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], catalogue["legal_basics"])
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    subscribe("training.completed")(watch)
    try:
        result = service.complete(
            session, settings, enrolment=enrolment, actor=people["a"], score=92
        )
        session.commit()
    finally:
        unsubscribe("training.completed", watch)
    legal = competency_service.get_competency(session, "legal")
    assert result.passed and len(result.rating_entries) == 1
    entry = result.rating_entries[0]
    assert (entry.source, entry.level, entry.validated) == ("training", 2, False)
    # Not the current level until the supervisor confirms it …
    assert (
        competency_service.current_levels(session, employee_id=org.officer_a.id)[legal.id].level
        == 1
    )
    queue = competency_service.validation_queue(session, actor=people["head"])
    assert [i.employee.id for i in queue] == [org.officer_a.id]
    assert service.levels_to_confirm(session, supervisor_employee_id=org.head.id)
    competency_service.validate_ratings(
        session,
        employee=org.officer_a,
        decisions=[competency_service.ValidationDecision(entry.id, 2)],
        actor=people["head"],
    )
    session.commit()
    # … and then it is.
    assert (
        competency_service.current_levels(session, employee_id=org.officer_a.id)[legal.id].level
        == 2
    )
    assert service.levels_to_confirm(session, supervisor_employee_id=org.head.id) == []
    assert [(e.name, e.payload["activity_code"], e.payload["employee_id"]) for e in completed] == [
        ("training.completed", "legal_basics", org.officer_a.id)
    ]
    item = session.get(TrainingPlanItem, enrolment.plan_item_id)
    assert item.status == ItemStatus.completed


def test_completion_without_the_required_evidence_is_refused(
    session, settings, org, people, catalogue
):
    seat = session_of(session, catalogue["sfp_cert"])
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], catalogue["sfp_cert"])
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    session.commit()
    with pytest.raises(TrainingError) as missing:
        service.complete(session, settings, enrolment=enrolment, actor=people["a"], score=95)
    assert missing.value.errors == {
        "certificate": "This activity needs the certificate to record completion."
    }
    session.rollback()
    disguised = Certificate("certificate.pdf", "application/pdf", b"MZ\x90\x00 not a pdf")
    with pytest.raises(TrainingError) as wrong:
        service.complete(
            session, settings, enrolment=enrolment, actor=people["a"], certificate=disguised
        )
    assert "PDF, PNG or JPEG" in wrong.value.errors["certificate"]
    session.rollback()
    lying = Certificate("certificate.png", "image/png", PDF)
    with pytest.raises(TrainingError) as mismatch:
        service.complete(
            session, settings, enrolment=enrolment, actor=people["a"], certificate=lying
        )
    assert "does not match" in mismatch.value.errors["certificate"]
    session.rollback()
    session.refresh(enrolment)
    assert enrolment.status == EnrolmentStatus.enrolled
    assert not service.evidence_dir(settings).exists() or not any(
        service.evidence_dir(settings).iterdir()
    )


def test_a_certificate_is_stored_outside_the_web_root_with_its_hash(
    session, settings, org, people, catalogue
):
    import hashlib

    from backend.web import FRONTEND_DIR

    seat = session_of(session, catalogue["sfp_cert"])
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], catalogue["sfp_cert"])
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    service.complete(
        session,
        settings,
        enrolment=enrolment,
        actor=people["a"],
        certificate=Certificate("../../etc/Constancia SFP.pdf", "application/pdf", PDF),
    )
    session.commit()
    path = service.certificate_path(settings, enrolment)
    assert path.read_bytes() == PDF
    assert path.parent == settings.data_dir / "training_evidence"
    assert FRONTEND_DIR not in path.resolve().parents
    assert enrolment.certificate_name == "Constancia SFP.pdf"
    assert enrolment.certificate_sha256 == hashlib.sha256(PDF).hexdigest()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_score_below_the_pass_mark_is_not_passed_and_writes_no_rating(
    session, settings, org, people
):
    course = activity(session, "exam", {"legal": (0, 2)}, evidence="score", pass_score=80)
    seat = session_of(session, course)
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], course)
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    result = service.complete(session, settings, enrolment=enrolment, actor=people["a"], score=60)
    session.commit()
    assert not result.passed and enrolment.status == EnrolmentStatus.not_passed
    assert result.rating_entries == []
    assert session.get(TrainingPlanItem, enrolment.plan_item_id).status == ItemStatus.approved
    with pytest.raises(TrainingError):
        service.complete(session, settings, enrolment=enrolment, actor=people["a"], score="ninety")


def test_a_session_not_yet_started_cannot_be_completed(session, settings, org, people, catalogue):
    seat = session_of(session, catalogue["legal_basics"], days_from_now=5)
    session.commit()
    approved_for(session, org.officer_a, people["a"], people["head"], catalogue["legal_basics"])
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    with pytest.raises(TrainingError) as early:
        service.complete(session, settings, enrolment=enrolment, actor=people["a"])
    assert early.value.status_code == 409


# --- development actions, induction, mentoring ------------------------------------------------


def test_an_agreed_development_action_becomes_a_proposed_item_once(session, org, people, catalogue):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    event = DomainEvent(
        "appraisal.development_action_agreed",
        {
            "appraisal_id": 7,
            "competency_code": "negotiation",
            "description": "Lead the negotiation of the cleaning services contract",
            "action_id": 31,
        },
        subject_employee_id=org.officer_a.id,
    )
    publish(session, event)
    publish(session, event)  # delivered twice: still one item
    publish(
        session,
        DomainEvent(
            "appraisal.development_action_agreed",
            {
                "appraisal_id": 7,
                "competency_code": None,
                "description": "Shadow the head in a tender",
                "action_id": 32,
            },
            subject_employee_id=org.officer_a.id,
        ),
    )
    session.commit()
    items = session.exec(
        select(TrainingPlanItem)
        .where(TrainingPlanItem.employee_id == org.officer_a.id)
        .order_by(TrainingPlanItem.id)
    ).all()
    assert [(i.origin, i.development_action_id, i.status) for i in items] == [
        (ItemOrigin.development_action, 31, ItemStatus.proposed),
        (ItemOrigin.development_action, 32, ItemStatus.proposed),
    ]
    assert items[0].activity_id == catalogue["negotiation"].id
    assert items[0].description == "Lead the negotiation of the cleaning services contract"
    assert items[1].activity_id is None and items[1].description == "Shadow the head in a tender"


def test_new_staff_get_the_induction_programme_on_creation(session, settings, org, people):
    programme = activity(
        session,
        "induction",
        {"organisational_awareness": (0, 1)},
        modality="e_learning",
        audience=("procurement_staff", "user_areas"),
        induction=True,
    )
    seat = session_of(session, programme, days_from_now=-2, length_days=60)
    session.commit()
    newcomer = org_service.create_employee(
        session,
        EmployeeInput(
            number="E900",
            first_name="Rosa",
            last_name="Nava",
            email="rosa.nava@example.org",
            unit_id=org.central.id,
            position_id=org.officer_position.id,
            supervisor_id=org.head.id,
            hire_date=clock.today(settings),  # the organisation's day, not the machine's
        ),
    )
    session.commit()
    items = session.exec(
        select(TrainingPlanItem).where(TrainingPlanItem.employee_id == newcomer.id)
    ).all()
    assert [(i.origin, i.status, i.activity_id) for i in items] == [
        (ItemOrigin.induction, ItemStatus.approved, programme.id)
    ]
    seats = service.my_enrolments(session, employee_id=newcomer.id)
    assert [(e.session_id, e.status) for e, _s, _a in seats] == [(seat.id, "enrolled")]
    rows = service.induction_status(session)
    assert [(r.employee.id, r.status) for r in rows] == [(newcomer.id, "enrolled")]
    # Long-standing staff (hired 2015) are not given it by the nightly sweep.
    assert service.assign_to_new_staff(session, actor=None) == 0


def test_mentors_are_practitioners_or_experts_of_any_unit_within_their_mentee_limit(
    session, org, people, monkeypatch
):
    monkeypatch.setenv("MERITO_TRAINING_MAX_MENTEES", "1")
    rate(session, org.officer_a, people["hr"], {"legal": 1})
    rate(session, org.outsider, people["hr"], {"legal": 4})  # another unit, Expert
    rate(session, org.officer_b, people["hr"], {"legal": 3})  # Practitioner
    rate(session, org.head, people["hr"], {"legal": 2})  # below Practitioner: never
    legal = competency_service.get_competency(session, "legal")
    suggested = service.suggest_mentors(session, employee=org.officer_a, competency=legal)
    assert [(s.employee.id, s.level) for s in suggested] == [
        (org.outsider.id, 4),
        (org.officer_b.id, 3),
    ]
    service.assign_mentor(
        session, mentee=org.officer_a, mentor=org.outsider, competency=legal, actor=people["head"]
    )
    session.commit()
    # The outsider has reached the limit of one mentee: no longer suggested, nor assignable.
    assert [
        s.employee.id for s in service.suggest_mentors(session, employee=org.head, competency=legal)
    ] == [org.officer_b.id]
    with pytest.raises(TrainingError) as full:
        service.assign_mentor(
            session, mentee=org.head, mentor=org.outsider, competency=legal, actor=people["hr"]
        )
    assert full.value.status_code == 409
    with pytest.raises(TrainingError):
        service.assign_mentor(
            session, mentee=org.officer_b, mentor=org.head, competency=legal, actor=people["hr"]
        )


def test_the_nightly_run_proposes_for_people_whose_plan_holds_only_other_items(
    session, org, people, catalogue
):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    service.add_item(
        session,
        employee=org.officer_a,
        activity=catalogue["supply_chain"],
        actor=people["a"],
        year=YEAR,
    )
    service.propose_plan(session, employee=org.officer_b, actor=people["b"], year=YEAR)
    session.commit()
    before_b = {
        i.id
        for i in session.exec(
            select(TrainingPlanItem).where(TrainingPlanItem.employee_id == org.officer_b.id)
        )
    }
    summary = service.propose_plans(session, year=YEAR, actor=None, only_missing=True)
    session.commit()
    a = service.plan_view(session, employee=org.officer_a, year=YEAR)
    assert [line.activity.code for line in a.lines if line.item.origin == ItemOrigin.gap] == [
        "legal_basics",
        "sfp_cert",
        "negotiation",
    ]
    after_b = {
        i.id
        for i in session.exec(
            select(TrainingPlanItem).where(TrainingPlanItem.employee_id == org.officer_b.id)
        )
    }
    assert after_b == before_b  # already proposed: left alone
    assert summary.plans_created == 1  # the head (never rated) had no plan


def test_a_bulk_rerun_rewrites_only_the_proposals_that_changed(session, org, people, catalogue):
    rate(session, org.officer_a, people["hr"], OFFICER_LEVELS)
    rate(session, org.officer_b, people["hr"], OFFICER_LEVELS)
    first = service.propose_plans(session, year=YEAR, actor=people["hr"])
    session.commit()
    ids_before = {
        i.id: (i.employee_id, i.activity_id) for i in session.exec(select(TrainingPlanItem))
    }
    again = service.propose_plans(session, year=YEAR, actor=people["hr"])
    session.commit()
    assert (again.written, again.removed, again.items) == (0, 0, first.items)
    # The officer's legal level rises: legal_basics no longer suits her; sfp_cert now covers
    # both legal and procurement (one item), so her proposals change — nobody else's.
    rate(session, org.officer_a, people["hr"], {"legal": 2})
    changed = service.propose_plans(session, year=YEAR, actor=people["hr"])
    session.commit()
    after = {i.id: (i.employee_id, i.activity_id) for i in session.exec(select(TrainingPlanItem))}
    assert changed.removed >= 1 and changed.written >= 1
    untouched = {k: v for k, v in ids_before.items() if v[0] != org.officer_a.id}
    assert all(after.get(k) == v for k, v in untouched.items())
    a = service.plan_view(session, employee=org.officer_a, year=YEAR)
    assert [line.activity.code for line in a.lines] == ["sfp_cert", "negotiation", "supply_chain"]


def test_new_staff_are_counted_in_the_organisations_day_not_in_utc(session, org, people):
    """At 21:00 in Mexico City it is already tomorrow in UTC: the induction window (90 days) is
    counted from the organisation's day, so someone hired exactly 90 days ago still gets it."""
    programme = activity(
        session,
        "induction",
        {"organisational_awareness": (0, 1)},
        modality="e_learning",
        audience=("procurement_staff", "user_areas"),
        induction=True,
    )
    session.commit()
    hired = {}
    # 2026-03-01 03:00 UTC is 2026-02-28 21:00 in Mexico City; 90 days before that day: 30 Nov.
    with clock.frozen(datetime(2026, 3, 1, 3, 0, tzinfo=UTC)):
        for number, day in (("E901", date(2025, 11, 30)), ("E902", date(2025, 11, 29))):
            hired[number] = org_service.create_employee(
                session,
                EmployeeInput(
                    number=number,
                    first_name="Rosa",
                    last_name=f"Nava {number}",
                    email=f"{number.lower()}@example.org",
                    unit_id=org.central.id,
                    position_id=org.officer_position.id,
                    supervisor_id=org.head.id,
                    hire_date=day,
                ),
            )
            session.commit()
        # Nobody else is new on that day: the sweep finds nothing more to assign.
        assert service.assign_to_new_staff(session, actor=None) == 0

    def induction_of(employee):
        return session.exec(
            select(TrainingPlanItem.activity_id).where(
                TrainingPlanItem.employee_id == employee.id,
                TrainingPlanItem.origin == ItemOrigin.induction,
            )
        ).all()

    assert induction_of(hired["E901"]) == [programme.id]
    assert induction_of(hired["E902"]) == []


def test_the_plan_steps_say_what_each_person_may_do_and_nobody_approves_their_own(
    session, org, people
):
    steps = service.plan_steps
    assert steps(people["a"], org.officer_a) == service.PLAN_STEPS_SELF
    assert steps(people["head"], org.officer_a) == service.PLAN_STEPS_APPROVER
    assert steps(people["hr"], org.officer_a) == service.PLAN_STEPS_APPROVER
    assert steps(people["b"], org.officer_a) == frozenset()  # a colleague sees nothing
    assert steps(people["outsider"], org.officer_a) == frozenset()
    assert "approve" not in steps(people["head"], org.head)  # the head's own plan
    with pytest.raises(TrainingError) as refused:
        service.require_step(people["a"], org.officer_a, "approve")
    assert refused.value.status_code == 403
    service.require_step(people["head"], org.officer_a, "approve")  # allowed: no error
