"""Service rules of appraisals: cycles, objectives, blindness, dialogue, sign-off, calibration."""

from datetime import date

import pytest
from sqlmodel import func, select

from assessments.appraisals import service
from assessments.appraisals.models import (
    Appraisal,
    AppraisalAssessment,
    DevelopmentAction,
    ManagerTraining,
    Objective,
    Stage,
)
from assessments.appraisals.service import (
    ActionInput,
    AppraisalError,
    ObjectiveInput,
    ObjectiveScore,
)
from backend import audit
from backend.events import DomainEvent, publish, subscribe, unsubscribe
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from competency_framework import service as competency_service
from tests.appraisals.helpers import (
    agree,
    appraisal_of,
    assess,
    escalate_head_to_hr,
    open_cycle,
    plan,
    record_dialogue,
    set_objectives,
    through_to_sign_off,
    train,
)
from tests.competency.helpers import agree_all, principal_for, self_assess


@pytest.fixture
def events():
    """Collect the appraisal events published during the test."""
    seen: list[DomainEvent] = []

    def collect(_session, event):
        seen.append(event)

    names = [
        "appraisal.development_action_agreed",
        "appraisal.rating_dropped",
        "appraisal.does_not_meet",
    ]
    for name in names:
        subscribe(name)(collect)
    yield seen
    for name in names:
        unsubscribe(name, collect)


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# --- cycles ---------------------------------------------------------------------------------------


def test_opening_a_cycle_creates_an_appraisal_for_everyone_in_scope(session, org, people, cycle):
    rows = session.exec(select(Appraisal).where(Appraisal.cycle_id == cycle.id)).all()
    # The org fixture's four people and the director; nobody has left.
    assert len(rows) == 5 == cycle.appraisal_count
    assert {r.stage for r in rows} == {Stage.objectives}
    officer = appraisal_of(session, cycle, org.officer_a)
    assert officer.appraiser_id == org.head.id and officer.unit_id == org.central.id
    entry = session.exec(
        select(audit.AuditEntry).where(audit.AuditEntry.action == "appraisal.cycle_opened")
    ).one()
    assert entry.after["appraisals"] == 5


def test_a_cycle_for_one_unit_leaves_other_units_out(session, org, people, priority):
    cycle = open_cycle(session, people.hr, units=[org.delegation.id])
    rows = session.exec(select(Appraisal).where(Appraisal.cycle_id == cycle.id)).all()
    assert [r.employee_id for r in rows] == [org.outsider.id]


def test_a_cycle_needs_the_organisations_plan_first(session, org, people):
    with pytest.raises(AppraisalError) as err:
        open_cycle(session, people.hr)
    assert "plan_year" in err.value.errors
    session.rollback()
    assert count(session, Appraisal) == 0


def test_overlapping_open_cycles_are_refused_and_nothing_is_written(session, people, cycle):
    with pytest.raises(AppraisalError) as err:
        open_cycle(session, people.hr, name="again", start=date(2026, 6, 1), end=date(2027, 5, 31))
    assert err.value.status_code == 409
    session.rollback()
    assert count(session, Appraisal) == 5


def test_only_hr_opens_cycles(session, people, priority):
    with pytest.raises(AppraisalError) as err:
        open_cycle(session, people.head)
    assert err.value.status_code == 403


def test_live_counters_per_unit_follow_each_stage(session, org, people, priority, cycle):
    through_to_sign_off(session, cycle, people, org, priority)
    units, total = service.cycle_progress(session, cycle)
    central = next(u for u in units if u.unit_id == org.central.id)
    assert central.counts[Stage.sign_off] == 1
    assert central.counts[Stage.objectives] == 3  # director, head, officer b
    assert total.people == 5 and total.counts[Stage.completed] == 0


def test_reminders_go_to_whoever_owes_the_next_step(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    counts = service.remind(session, cycle=cycle, actor=people.hr)
    session.commit()
    # Officer a must agree; the head must propose officer b's; the director the head's.
    assert counts == {"agree_objectives": 1, "set_objectives": 2}
    mine = service.reminders_for(session, employee_id=org.officer_a.id)
    assert [r.kind for r in mine] == ["agree_objectives"]
    heads = service.reminders_for(session, employee_id=org.head.id)
    assert heads[0].kind == "set_objectives" and heads[0].pending == 1


def test_a_completed_cycle_is_locked(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    unfinished = service.complete_cycle(session, cycle=cycle, actor=people.hr)
    session.commit()
    assert unfinished == 5
    with pytest.raises(AppraisalError) as err:
        set_objectives(session, appraisal, people.head, priority)
    assert err.value.status_code == 409
    session.rollback()
    assert count(session, Objective) == 0
    with pytest.raises(AppraisalError):
        service.remind(session, cycle=cycle, actor=people.hr)


# --- objectives -----------------------------------------------------------------------------------


def test_weights_must_total_100_and_nothing_is_saved_otherwise(
    session, org, people, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    with pytest.raises(AppraisalError) as err:
        set_objectives(session, appraisal, people.head, priority, weights=(60, 30))
    assert err.value.status_code == 422
    assert "total 90" in err.value.errors["weights"]
    session.rollback()
    assert count(session, Objective) == 0
    assert session.get(Appraisal, appraisal.id).objectives_proposed_at is None


def test_every_objective_is_measurable_and_linked_to_the_plan(session, org, people, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    with pytest.raises(AppraisalError) as err:
        service.save_objectives(
            session,
            appraisal=appraisal,
            rows=[ObjectiveInput(title="Do well", measure="", link="", weight=100)],
            actor=people.head,
        )
    assert set(err.value.errors) == {"measure_0", "link_0"}


def test_a_supervisor_sets_objectives_only_for_their_own_reports(
    session, org, people, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    for stranger in (people.director, people.b, people.a, people.hr):
        with pytest.raises(AppraisalError) as err:
            set_objectives(session, appraisal, stranger, priority)
        assert err.value.status_code == 403
        session.rollback()
    assert count(session, Objective) == 0


def test_agreed_objectives_can_no_longer_change(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    assert appraisal.stage == Stage.self_assessment
    with pytest.raises(AppraisalError) as err:
        set_objectives(session, appraisal, people.head, priority, weights=(50, 50))
    assert err.value.status_code == 409
    session.rollback()
    weights = [o.weight for o in service.objectives_of(session, appraisal)]
    assert weights == [60, 40]


def test_objectives_may_serve_a_unit_objective(session, org, people, priority, cycle):
    unit_objective = service.add_unit_objective(
        session,
        unit_id=org.central.id,
        priority_id=priority.id,
        title="Consolidate medicine purchases",
        target="80 % of medicines bought through framework agreements",
        actor=people.head,
    )
    session.commit()
    appraisal = appraisal_of(session, cycle, org.officer_a)
    choices = service.link_choices(session, cycle=cycle, unit_id=org.central.id)
    assert f"u:{unit_objective.id}" in [c.value for c in choices]
    service.save_objectives(
        session,
        appraisal=appraisal,
        rows=[ObjectiveInput("Framework agreements", "Two signed", f"u:{unit_objective.id}", 100)],
        actor=people.head,
    )
    session.commit()
    objective = service.objectives_of(session, appraisal)[0]
    assert objective.unit_objective_id == unit_objective.id
    assert "Consolidate medicine purchases" in service.link_label(session, objective)
    # A supervisor elsewhere cannot set this unit's objectives.
    with pytest.raises(AppraisalError) as err:
        service.add_unit_objective(
            session,
            unit_id=org.central.id,
            priority_id=priority.id,
            title="x",
            target="y",
            actor=people.outsider,
        )
    assert err.value.status_code == 403


def test_a_team_objective_joins_every_open_set_in_the_unit(session, org, people, priority, cycle):
    first = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, first, people.head, priority, weights=(80, 20))
    shared, joined = service.add_team_objective(
        session,
        cycle=cycle,
        unit_id=org.central.id,
        link=f"p:{priority.id}",
        title="Publish the annual procurement plan on time",
        measure="Published by 31 January",
        weight=20,
        actor=people.head,
    )
    session.commit()
    assert joined == 4  # everyone in the central unit: director, head, officers a and b
    # Officer a's proposal now totals 120: it must be proposed again.
    assert session.get(Appraisal, first.id).objectives_proposed_at is None
    with pytest.raises(AppraisalError):
        agree(session, first, people.a)
    session.rollback()
    rows = [
        ObjectiveInput(objective_id=o.id, team_objective_id=o.team_objective_id, weight=20)
        if o.team_objective_id
        else ObjectiveInput(o.title, o.measure, f"p:{priority.id}", 40, objective_id=o.id)
        for o in service.objectives_of(session, first)
    ]
    service.save_objectives(session, appraisal=first, rows=rows, actor=people.head)
    session.commit()
    agree(session, first, people.a)
    second = appraisal_of(session, cycle, org.officer_b)
    set_objectives(session, second, people.head, priority, weights=(50, 30))
    agree(session, second, people.b)
    # Progress on the team objective is recorded once and seen in both sets.
    team_row = next(o for o in service.objectives_of(session, first) if o.team_objective_id)
    service.add_progress(
        session, appraisal=first, objective_id=team_row.id, percent=50, note="Draft", actor=people.a
    )
    session.commit()
    other = next(o for o in service.objectives_of(session, second) if o.team_objective_id)
    progress = service.progress_of(session, service.objectives_of(session, second))
    assert [p.percent for p in progress[other.id]] == [50]
    assert shared.id == other.team_objective_id


def test_progress_needs_a_percentage_between_0_and_100(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    objective = service.objectives_of(session, appraisal)[0]
    with pytest.raises(AppraisalError) as err:
        service.add_progress(
            session,
            appraisal=appraisal,
            objective_id=objective.id,
            percent=140,
            note="",
            actor=people.a,
        )
    assert "percent" in err.value.errors


# --- the blind dual assessment --------------------------------------------------------------------


def test_neither_side_reads_the_other_until_both_are_submitted(
    session, org, people, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    assess(session, appraisal, people.head, 2)  # the supervisor submits first
    assess(session, appraisal, people.a, 5, submit=False)  # the employee keeps a draft
    for actor, side in (
        (people.a, "supervisor"),
        (people.head, "self"),
        (people.hr, "self"),
        (people.hr, "supervisor"),
    ):
        with pytest.raises(AppraisalError) as err:
            service.read_assessment(session, appraisal=appraisal, side=side, actor=actor)
        assert err.value.status_code == 403
    # Each reads their own side.
    own = service.read_assessment(session, appraisal=appraisal, side="self", actor=people.a)
    assert {r.rating for r in own.ratings.values()} == {5}
    assess(session, appraisal, people.a, 5)
    for actor in (people.a, people.head, people.hr):
        theirs = service.read_assessment(
            session, appraisal=appraisal, side="supervisor", actor=actor
        )
        assert {r.rating for r in theirs.ratings.values()} == {2}
    assert appraisal.stage == Stage.dialogue


def test_people_outside_the_appraisal_cannot_find_it(session, org, people, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    for stranger in (people.b, people.outsider):
        with pytest.raises(AppraisalError) as err:
            service.get_appraisal(session, appraisal_id=appraisal.id, actor=stranger)
        assert err.value.status_code == 404
    # The director is only the second-level manager: nothing is escalated yet.
    with pytest.raises(AppraisalError):
        service.get_appraisal(session, appraisal_id=appraisal.id, actor=people.director)
    assert service.get_appraisal(session, appraisal_id=appraisal.id, actor=people.head)


def test_a_submitted_assessment_cannot_change(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    assess(session, appraisal, people.a, 3)
    with pytest.raises(AppraisalError) as err:
        assess(session, appraisal, people.a, 5)
    assert err.value.status_code == 409
    session.rollback()
    view = service.read_assessment(session, appraisal=appraisal, side="self", actor=people.a)
    assert {r.rating for r in view.ratings.values()} == {3}


def test_submitting_needs_every_objective_rated(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    first = service.objectives_of(session, appraisal)[0]
    with pytest.raises(AppraisalError) as err:
        service.save_assessment(
            session,
            appraisal=appraisal,
            achievements="x",
            to_improve="",
            scores=[ObjectiveScore(first.id, 9)],
            submit=True,
            actor=people.a,
        )
    assert len(err.value.errors) == 2
    session.rollback()
    assert count(session, AppraisalAssessment) == 0


# --- trained managers -----------------------------------------------------------------------------


def _both_assessed(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    assess(session, appraisal, people.a, 4)
    assess(session, appraisal, people.head, 3)
    return appraisal


def test_an_untrained_supervisor_cannot_open_the_dialogue(session, org, people, priority, cycle):
    appraisal = _both_assessed(session, org, people, priority, cycle)
    listed = service.untrained_supervisors(session)
    assert org.head.id in [s.employee_id for s in listed]
    with pytest.raises(AppraisalError) as err:
        record_dialogue(session, appraisal, people.head)
    assert err.value.status_code == 403 and "training" in str(err.value)
    session.rollback()
    assert service.dialogue_of(session, appraisal) is None
    train(session, org.head, people.hr)
    assert org.head.id not in [s.employee_id for s in service.untrained_supervisors(session)]
    record_dialogue(session, appraisal, people.head)
    assert appraisal.stage == Stage.sign_off


def test_the_training_rule_can_be_turned_off_for_a_cycle(session, org, people, priority, cycle):
    appraisal = _both_assessed(session, org, people, priority, cycle)
    service.set_training_requirement(session, cycle=cycle, required=False, actor=people.hr)
    session.commit()
    assert service.untrained_supervisors(session) == []
    record_dialogue(session, appraisal, people.head)
    assert appraisal.stage == Stage.sign_off


def test_completing_the_training_activity_records_the_training(session, org, people):
    publish(
        session,
        DomainEvent(
            "training.completed",
            {"activity_code": "appraisal_dialogue", "employee_id": org.head.id},
        ),
    )
    publish(
        session,
        DomainEvent("training.completed", {"activity_code": "excel", "employee_id": org.head.id}),
    )
    session.commit()
    records = session.exec(select(ManagerTraining)).all()
    assert [(r.employee_id, r.source) for r in records] == [(org.head.id, "training")]
    assert service.is_trained(session, employee_id=org.head.id)
    # The same completion announced twice is recorded once.
    publish(
        session,
        DomainEvent(
            "training.completed",
            {"activity_code": "appraisal_dialogue", "employee_id": org.head.id},
        ),
    )
    assert count(session, ManagerTraining) == 1


def test_training_recorded_by_hr_needs_evidence(session, org, people):
    with pytest.raises(AppraisalError) as err:
        service.record_manager_training(
            session,
            employee_id=org.head.id,
            completed_on=date(2026, 2, 1),
            evidence="",
            actor=people.hr,
        )
    assert "evidence" in err.value.errors
    with pytest.raises(AppraisalError) as err:
        service.record_manager_training(
            session,
            employee_id=org.head.id,
            completed_on=date(2026, 2, 1),
            evidence="Cert",
            actor=people.head,
        )
    assert err.value.status_code == 403


# --- the dialogue and sign-off --------------------------------------------------------------------


def test_the_dialogue_needs_both_assessments(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    assess(session, appraisal, people.a, 4)
    train(session, org.head, people.hr)
    with pytest.raises(AppraisalError) as err:
        record_dialogue(session, appraisal, people.head)
    assert err.value.status_code == 409


def test_the_rating_needs_reasons_and_a_value_on_the_scale(session, org, people, priority, cycle):
    appraisal = _both_assessed(session, org, people, priority, cycle)
    train(session, org.head, people.hr)
    with pytest.raises(AppraisalError) as err:
        service.save_dialogue(
            session,
            appraisal=appraisal,
            held_on="2026-11-20",
            achievements="x",
            barriers="",
            support_needed="",
            next_objectives="",
            actions=[ActionInput("Mentoring", "not-a-competency")],
            rating=6,
            reasons="",
            actor=people.head,
        )
    assert set(err.value.errors) == {"rating", "reasons", "action_competency_0"}


def test_signing_locks_the_record_and_announces_each_development_action(
    session, org, people, priority, cycle, events
):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=4)
    service.sign(session, appraisal=appraisal, actor=people.head)
    session.commit()
    assert appraisal.weighted_score is not None
    # Signed: the supervisor can no longer edit the record, nor anyone add progress.
    with pytest.raises(AppraisalError) as err:
        record_dialogue(session, appraisal, people.head, 5)
    assert err.value.status_code == 409
    session.rollback()
    objective = service.objectives_of(session, appraisal)[0]
    with pytest.raises(AppraisalError) as err:
        service.add_progress(
            session,
            appraisal=appraisal,
            objective_id=objective.id,
            percent=100,
            note="",
            actor=people.a,
        )
    assert err.value.status_code == 409
    session.rollback()
    assert events == []  # actions are announced once both have signed
    service.sign(session, appraisal=appraisal, actor=people.a)
    session.commit()
    assert appraisal.stage == Stage.completed and appraisal.final_rating == 4
    action = session.exec(select(DevelopmentAction)).one()
    assert [(e.name, e.payload, e.subject_employee_id) for e in events] == [
        (
            "appraisal.development_action_agreed",
            {
                "appraisal_id": appraisal.id,
                "competency_code": "legal",
                "description": "Course on contract law",
                "action_id": action.id,
            },
            org.officer_a.id,
        )
    ]
    assert action.published_at is not None
    with pytest.raises(AppraisalError) as err:
        service.sign(session, appraisal=appraisal, actor=people.a)
    assert err.value.status_code == 409


def test_the_employee_signs_after_the_supervisor(session, org, people, priority, cycle):
    appraisal = through_to_sign_off(session, cycle, people, org, priority)
    with pytest.raises(AppraisalError) as err:
        service.sign(session, appraisal=appraisal, actor=people.a)
    assert err.value.status_code == 409


def test_disagreement_sends_the_appraisal_to_the_second_level_manager(
    session, org, people, priority, cycle, events
):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=2)
    service.sign(session, appraisal=appraisal, actor=people.head)
    with pytest.raises(AppraisalError) as err:
        service.sign(session, appraisal=appraisal, actor=people.a, disagree=True)
    assert "disagreement" in err.value.errors
    service.sign(
        session,
        appraisal=appraisal,
        actor=people.a,
        disagree=True,
        disagreement="The platform outage was not taken into account",
    )
    session.commit()
    assert appraisal.stage == Stage.escalated
    assert appraisal.reviewer_id == people.director_employee.id
    # Agreed actions are announced even though the rating is disputed.
    assert [e.name for e in events] == ["appraisal.development_action_agreed"]
    # The director now sees it; the head cannot review their own rating.
    assert service.get_appraisal(session, appraisal_id=appraisal.id, actor=people.director)
    escalated = service.escalated_to(session, employee_id=people.director_employee.id)
    assert appraisal in [a for a, _e in escalated]
    with pytest.raises(AppraisalError) as err:
        service.review(session, appraisal=appraisal, rating=3, reasons="ok", actor=people.head)
    assert err.value.status_code == 403
    service.review(
        session,
        appraisal=appraisal,
        rating=3,
        reasons="The outage explains the delays",
        actor=people.director,
    )
    session.commit()
    assert appraisal.stage == Stage.completed
    assert (appraisal.supervisor_rating, appraisal.final_rating) == (2, 3)


def test_without_a_second_level_manager_hr_reviews(session, org, people, priority):
    # The head reports to the director, who reports to nobody: the head's appraisal has no
    # second-level manager, so a disagreement goes to HR.
    cycle = open_cycle(session, people.hr)
    appraisal = escalate_head_to_hr(session, cycle, people, org, priority)
    assert appraisal.reviewer_id is None
    assert appraisal in [a for a, _e in service.escalated_to_hr(session)]
    service.review(session, appraisal=appraisal, rating=3, reasons="Confirmed", actor=people.hr)
    assert appraisal.stage == Stage.completed


# --- rating events --------------------------------------------------------------------------------


def test_a_drop_of_two_and_a_does_not_meet_rating_are_announced(
    session, org, people, priority, events
):
    earlier_priority = plan(session, people.hr, year=2025)
    earlier = open_cycle(
        session, people.hr, name="2025", start=date(2025, 1, 1), end=date(2025, 12, 31)
    )
    first = through_to_sign_off(session, earlier, people, org, earlier_priority, rating=4)
    service.sign(session, appraisal=first, actor=people.head)
    service.sign(session, appraisal=first, actor=people.a)
    session.commit()
    assert [e.name for e in events] == ["appraisal.development_action_agreed"]
    service.complete_cycle(session, cycle=earlier, actor=people.hr)
    session.commit()
    events.clear()
    cycle = open_cycle(session, people.hr)
    second = through_to_sign_off(session, cycle, people, org, priority, rating=1)
    service.sign(session, appraisal=second, actor=people.head)
    service.sign(session, appraisal=second, actor=people.a)
    session.commit()
    by_name = {e.name: e for e in events}
    assert by_name["appraisal.rating_dropped"].payload == {
        "appraisal_id": second.id,
        "from": 4,
        "to": 1,
    }
    assert by_name["appraisal.rating_dropped"].subject_employee_id == org.officer_a.id
    assert by_name["appraisal.does_not_meet"].payload["appraisal_id"] == second.id


def test_a_one_point_drop_is_not_announced(session, org, people, priority, cycle, events):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=3)
    service.sign(session, appraisal=appraisal, actor=people.head)
    service.sign(session, appraisal=appraisal, actor=people.a)
    assert [e.name for e in events] == ["appraisal.development_action_agreed"]


# --- the score ------------------------------------------------------------------------------------


def test_the_weighted_score_combines_objectives_and_competencies(
    session, org, people, priority, cycle
):
    # Officer a holds every required competency exactly at the required level: 3 points each.
    profile = competency_service.person_gap_profile(session, employee=org.officer_a)
    levels = {r.competency.code: r.required for r in profile.rows}
    self_assess(session, org.officer_a, people.a, levels)
    agree_all(session, org.officer_a, people.head)
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority, weights=(60, 40))
    agree(session, appraisal, people.a)
    objectives = service.objectives_of(session, appraisal)
    service.save_assessment(
        session,
        appraisal=appraisal,
        achievements="Done",
        to_improve="",
        scores=[ObjectiveScore(objectives[0].id, 5), ObjectiveScore(objectives[1].id, 2)],
        submit=True,
        actor=people.head,
    )
    breakdown = service.score(session, appraisal=appraisal)
    assert breakdown.objectives_score == pytest.approx(0.6 * 5 + 0.4 * 2)  # 3.8
    assert breakdown.competency_score == pytest.approx(3.0)
    assert breakdown.weighted_score == pytest.approx(0.7 * 3.8 + 0.3 * 3.0)  # 3.56
    assert breakdown.suggested_rating == 4


def test_competency_points_are_three_at_the_required_level():
    assert service.competency_points(3, 3) == 3
    assert service.competency_points(3, 4) == 4
    assert service.competency_points(2, 4) == 5
    assert service.competency_points(3, 2) == 2
    assert service.competency_points(3, None) == 1


# --- calibration ----------------------------------------------------------------------------------


def test_calibration_flags_a_lenient_supervisor(session, org, people, priority, make_user):
    # A second team of six in the delegation, all rated 5 by the outsider; the head rates 3.
    team = [
        org_service.create_employee(
            session,
            EmployeeInput(
                number=f"T{n}",
                first_name="Team",
                last_name=f"Member {n}",
                email=f"t{n}@example.org",
                unit_id=org.delegation.id,
                supervisor_id=org.outsider.id,
                hire_date=date(2020, 1, 1),
            ),
        )
        for n in range(6)
    ]
    session.commit()
    cycle = open_cycle(session, people.hr, trained=False)
    for member in team:
        member_principal = principal_for(session, make_user(employee=member))
        appraisal = appraisal_of(session, cycle, member)
        set_objectives(session, appraisal, people.outsider, priority)
        agree(session, appraisal, member_principal)
        assess(session, appraisal, member_principal, 5)
        assess(session, appraisal, people.outsider, 5)
        record_dialogue(session, appraisal, people.outsider, 5)
    for letter in ("a", "b"):
        through_to_sign_off(session, cycle, people, org, priority, rating=3, employee=letter)
    report = service.calibration(session, cycle=cycle)
    assert report.organisation.n == 8 and report.organisation.mean == pytest.approx(4.5)
    lenient = next(s for s in report.supervisors if s.key == org.outsider.id)
    assert lenient.flag == "lenient" and lenient.top_share == 1.0
    assert report.supervisors[0] is lenient  # flagged groups come first
    head = next(s for s in report.supervisors if s.key == org.head.id)
    assert head.flag == ""  # two ratings: too few to judge
    delegation = next(u for u in report.units if u.key == org.delegation.id)
    assert delegation.flag == "lenient"


def test_calibration_flags_groups_against_the_organisation():
    org = service.Distribution(None, "org", {1: 5, 2: 10, 3: 60, 4: 20, 5: 5})
    lenient = service.Distribution(1, "lenient", {1: 0, 2: 0, 3: 2, 4: 4, 5: 4})
    severe = service.Distribution(2, "severe", {1: 3, 2: 4, 3: 3, 4: 0, 5: 0})
    typical = service.Distribution(3, "typical", {1: 0, 2: 1, 3: 6, 4: 2, 5: 1})
    small = service.Distribution(4, "small", {1: 0, 2: 0, 3: 0, 4: 0, 5: 4})
    assert service.calibration_flag(lenient, org) == "lenient"
    assert service.calibration_flag(severe, org) == "severe"
    assert service.calibration_flag(typical, org) == ""
    assert service.calibration_flag(small, org) == ""  # fewer than CALIBRATION_MIN_GROUP ratings


def test_hr_sends_an_appraisal_back_with_a_reason(session, org, people, priority, cycle):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=5)
    service.sign(session, appraisal=appraisal, actor=people.head)
    service.sign(session, appraisal=appraisal, actor=people.a)
    session.commit()
    with pytest.raises(AppraisalError) as err:
        service.send_back(session, appraisal=appraisal, reason=" ", actor=people.hr)
    assert "reason" in err.value.errors
    with pytest.raises(AppraisalError) as err:
        service.send_back(session, appraisal=appraisal, reason="Too lenient", actor=people.head)
    assert err.value.status_code == 403
    session.rollback()
    service.send_back(
        session,
        appraisal=appraisal,
        reason="Five needs evidence beyond the objectives",
        actor=people.hr,
    )
    session.commit()
    assert appraisal.stage == Stage.sign_off
    assert appraisal.supervisor_signed_at is None and appraisal.employee_signed_at is None
    assert appraisal.sent_back_reason.startswith("Five needs")
    assert "sent_back" in [s.step for s, _u in service.steps_of(session, appraisal)]
    # The supervisor reconsiders and both sign again.
    record_dialogue(session, appraisal, people.head, 4, actions=[])
    service.sign(session, appraisal=appraisal, actor=people.head)
    service.sign(session, appraisal=appraisal, actor=people.a)
    assert appraisal.final_rating == 4 and appraisal.stage == Stage.completed
    # The action announced the first time was kept, and not announced again.
    assert count(session, DevelopmentAction) == 1


def test_calibration_counts_per_supervisor_and_unit(session, org, people, priority, cycle):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=4)
    other = through_to_sign_off(session, cycle, people, org, priority, rating=2, employee="b")
    report = service.calibration(session, cycle=cycle)
    assert report.organisation.counts == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    head = next(s for s in report.supervisors if s.key == org.head.id)
    assert head.n == 2 and head.mean == 3 and head.label == org.head.full_name
    unit = next(u for u in report.units if u.key == org.central.id)
    assert unit.n == 2
    rated = service.appraisals_for_calibration(session, cycle=cycle, appraiser_id=org.head.id)
    assert {a.id for a, _e in rated} == {appraisal.id, other.id}


# --- promotion evidence ---------------------------------------------------------------------------


def test_promotion_evidence_gives_completed_appraisals_and_competency_ratings(
    session, org, people, priority, cycle
):
    self_assess(session, org.officer_a, people.a, 2)
    agree_all(session, org.officer_a, people.head)
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=4)
    evidence = service.promotion_evidence(session, employee_id=org.officer_a.id)
    assert evidence.appraisals == []  # not completed yet
    service.sign(session, appraisal=appraisal, actor=people.head)
    service.sign(session, appraisal=appraisal, actor=people.a)
    session.commit()
    evidence = service.promotion_evidence(session, employee_id=org.officer_a.id)
    assert [(a.cycle, a.final_rating) for a in evidence.appraisals] == [("2026", 4)]
    assert evidence.latest_rating == 4 and evidence.mean_rating == 4
    assert len(evidence.competencies) == 13
    assert {c.current for c in evidence.competencies} == {2}
    with pytest.raises(AppraisalError) as err:
        service.promotion_evidence(session, employee_id=999999)
    assert err.value.status_code == 404
