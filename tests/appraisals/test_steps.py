"""`allowed_steps`: what the appraisal page offers is exactly what the service accepts.

At every stage of the journey and for everyone around the appraisal, each step the data allows
is one the service carries out (or refuses only for bad input, 422), and each step it refuses
the service refuses too, with the same status. The routes guard with it; the page renders from
it; so the buttons, the guards and the rules cannot drift apart.
"""

from datetime import date

from assessments.appraisals import service
from assessments.appraisals.service import (
    AppraisalError,
    ObjectiveInput,
    Step,
)
from tests.appraisals.helpers import (
    agree,
    appraisal_of,
    assess,
    record_dialogue,
    set_objectives,
    train,
)


def _attempt(session, appraisal, actor, step: Step, priority) -> int:
    """Take `step` in a savepoint that is rolled back; return 0 if done, else the status."""
    objectives = service.objectives_of(session, appraisal)
    calls = {
        Step.edit_objectives: lambda: service.save_objectives(
            session,
            appraisal=appraisal,
            rows=[ObjectiveInput("T", "M", f"p:{priority.id}", "100")],
            actor=actor,
        ),
        Step.agree_objectives: lambda: service.agree_objectives(
            session, appraisal=appraisal, actor=actor
        ),
        Step.record_progress: lambda: service.add_progress(
            session,
            appraisal=appraisal,
            objective_id=objectives[0].id if objectives else None,
            percent=10,
            note="",
            actor=actor,
        ),
        Step.assess: lambda: service.save_assessment(
            session,
            appraisal=appraisal,
            achievements="a",
            to_improve="",
            scores=[],
            submit=False,
            actor=actor,
        ),
        Step.record_dialogue: lambda: service.save_dialogue(
            session,
            appraisal=appraisal,
            held_on=date(2026, 11, 20),
            achievements="a",
            barriers="",
            support_needed="",
            next_objectives="",
            actions=[],
            rating="3",
            reasons="r",
            actor=actor,
        ),
        Step.sign_as_supervisor: lambda: service.sign(session, appraisal=appraisal, actor=actor),
        Step.sign_as_employee: lambda: service.sign(session, appraisal=appraisal, actor=actor),
        Step.review: lambda: service.review(
            session, appraisal=appraisal, rating="3", reasons="r", actor=actor
        ),
        Step.send_back: lambda: service.send_back(
            session, appraisal=appraisal, reason="r", actor=actor
        ),
    }
    savepoint = session.begin_nested()
    try:
        calls[step]()
        status = 0
    except AppraisalError as err:
        status = err.status_code
    savepoint.rollback()
    session.refresh(appraisal)
    return status


def _check(session, appraisal, people, priority) -> set[tuple[str, Step]]:
    """Compare allowed_steps with the service for everyone; return the (who, step) allowed."""
    allowed = set()
    for who in ("a", "head", "director", "hr", "outsider"):
        actor = getattr(people, who)
        steps = service.allowed_steps(session, appraisal=appraisal, actor=actor)
        for step in Step:
            # The one sign route takes the employee's or the supervisor's step by who signs.
            if step == Step.sign_as_employee and "employee" not in steps.parts:
                continue
            if step == Step.sign_as_supervisor and "employee" in steps.parts:
                continue
            status = _attempt(session, appraisal, actor, step, priority)
            if step in steps:
                assert status in (0, 422), (who, step, status)
                allowed.add((who, step))
            else:
                assert status == steps.refused[step][1], (who, step, status, steps.refused[step])
    return allowed


def test_allowed_steps_match_the_service_through_the_journey(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    assert _check(session, appraisal, people, priority) == {("head", Step.edit_objectives)}
    set_objectives(session, appraisal, people.head, priority)
    assert ("a", Step.agree_objectives) in _check(session, appraisal, people, priority)
    agree(session, appraisal, people.a)
    found = _check(session, appraisal, people, priority)
    assert {("a", Step.assess), ("head", Step.assess), ("a", Step.record_progress)} <= found
    assess(session, appraisal, people.a, 4)
    assess(session, appraisal, people.head, 3)
    # Untrained, the supervisor may not record the dialogue (403, the gate); trained, they may.
    steps = service.allowed_steps(session, appraisal=appraisal, actor=people.head)
    assert Step.record_dialogue not in steps and steps.gate
    _check(session, appraisal, people, priority)
    train(session, org.head, people.hr)
    assert ("head", Step.record_dialogue) in _check(session, appraisal, people, priority)
    record_dialogue(session, appraisal, people.head, 3)
    assert ("head", Step.sign_as_supervisor) in _check(session, appraisal, people, priority)
    service.sign(session, appraisal=appraisal, actor=people.head)
    session.commit()
    found = _check(session, appraisal, people, priority)
    assert {("a", Step.sign_as_employee), ("hr", Step.send_back)} <= found
    service.sign(
        session, appraisal=appraisal, actor=people.a, disagree=True, disagreement="Too low"
    )
    session.commit()
    assert ("director", Step.review) in _check(session, appraisal, people, priority)


def test_a_completed_cycle_allows_nothing(session, org, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    service.complete_cycle(session, cycle=cycle, actor=people.hr)
    session.commit()
    assert _check(session, appraisal, people, priority) == set()
    steps = service.allowed_steps(session, appraisal=appraisal, actor=people.head)
    assert steps.locked and steps.refused[Step.edit_objectives][1] == 409
