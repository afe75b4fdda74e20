"""The dashboard's counting reads give the answers of the lists they count."""

from __future__ import annotations

from datetime import date

from assessments.appraisals import service
from tests.appraisals.feedback_helpers import answer, world_fixture  # noqa: F401
from tests.appraisals.helpers import (
    agree,
    appraisal_of,
    assess,
    escalate_head_to_hr,
    open_cycle,
    plan,
    set_objectives,
    through_to_sign_off,
)


def _overview(session):
    overview = service.open_cycles_overview(session)
    cycles = [(c.id, c.name, counts) for c, counts in overview.cycles]
    assert service.untrained_count(session) == overview.untrained  # the cycle page's count
    return cycles, overview.untrained, overview.hr_reviews


def _overview_from_the_lists(session):
    cycles = service.open_cycles(session)
    totals = service.cycle_totals(session, cycles)
    return (
        [(c.id, c.name, totals[c.id]) for c in cycles],
        len(service.untrained_supervisors(session)),
        len(service.escalated_to_hr(session)),
    )


def _escalate_to_the_director(session, org, people, priority, cycle):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=2)
    service.sign(session, appraisal=appraisal, actor=people.head)
    service.sign(session, appraisal=appraisal, actor=people.a, disagree=True, disagreement="No")
    session.commit()


def test_the_hr_overview_counts_what_the_cycle_lists_hold(session, org, people, priority):
    assert _overview(session) == _overview_from_the_lists(session) == ([], 0, 0)
    cycle = open_cycle(session, people.hr)
    before = _overview(session)
    assert before == _overview_from_the_lists(session)
    assert before[1] > 0  # untrained supervisors while the cycle requires training
    _escalate_to_the_director(session, org, people, priority, cycle)
    escalate_head_to_hr(session, cycle, people, org, priority)
    plan(session, people.hr, 2025)
    open_cycle(session, people.hr, name="2025", start=date(2025, 1, 1), end=date(2025, 12, 31))
    both = _overview(session)
    assert both == _overview_from_the_lists(session)
    assert [name for _id, name, _counts in both[0]] == ["2025", "2026"]  # newest opened first
    assert both[0][1][2]["escalated"] == 2 and both[2] == 1
    service.complete_cycle(session, cycle=cycle, actor=people.hr)
    session.commit()
    after = _overview(session)
    assert after == _overview_from_the_lists(session)
    assert [name for _id, name, _counts in after[0]] == ["2025"]


def test_escalated_counts_match_the_escalated_lists(session, org, people, priority):
    cycle = open_cycle(session, people.hr)
    _escalate_to_the_director(session, org, people, priority, cycle)
    for employee in (people.director_employee, org.head, org.officer_a):
        listed = service.escalated_to(session, employee_id=employee.id)
        assert service.escalated_to_count(session, employee_id=employee.id) == len(listed)
    assert service.escalated_to_count(session, employee_id=people.director_employee.id) == 1


def test_the_team_summary_counts_the_team_list(session, org, people, priority):
    cycle = open_cycle(session, people.hr)
    summary = service.team_summary(session, supervisor_id=org.head.id)
    team = service.team_appraisals(session, supervisor_id=org.head.id)
    assert summary.total == len(team) == 2
    assert summary.by_stage == {"objectives": 2}
    assert summary.to_do == {"set_objectives": 2}
    assert summary.needs_training
    _escalate_to_the_director(session, org, people, priority, cycle)  # trains the head
    appraisal_b = appraisal_of(session, cycle, org.officer_b)
    set_objectives(session, appraisal_b, people.head, priority)
    agree(session, appraisal_b, people.b)
    assess(session, appraisal_b, people.b, 4)
    summary = service.team_summary(session, supervisor_id=org.head.id)
    assert summary.by_stage == {"escalated": 1, "dialogue": 1}
    assert summary.to_do == {"supervisor_assessment": 1}
    assert not summary.needs_training
    assess(session, appraisal_b, people.head, 3)
    assert service.team_summary(session, supervisor_id=org.head.id).to_do == {"dialogue": 1}


def test_reminders_read_earlier_in_a_transaction_do_not_hide_new_ones(
    session, org, people, priority
):
    cycle = open_cycle(session, people.hr)
    assert service.reminders_for(session, employee_id=org.head.id) == []
    service.remind(session, cycle=cycle, actor=people.hr)
    reminded = service.reminders_for(session, employee_id=org.head.id)
    assert [(r.kind, r.pending) for r in reminded] == [("set_objectives", 2)]


def test_pending_feedback_counts_the_open_requests(session, world):
    everyone = [*world.raters, world.head, world.director, world.outsider]

    def counts():
        found = {}
        for principal in everyone:
            own = principal.user.employee_id
            rows = service.invitations_for(session, employee_id=own)
            assert service.pending_count(session, employee_id=own) == sum(r.open for r in rows)
            found[own] = service.pending_count(session, employee_id=own)
        return found

    first = counts()
    assert first[world.raters[0].user.employee_id] == 2
    answer(session, world, world.raters[0])
    assert counts()[world.raters[0].user.employee_id] == 1
    service.close_feedback_round(session, cycle=world.cycle, actor=world.hr)
    session.commit()
    assert set(counts().values()) == {0}
    assert service.pending_count(session, employee_id=None) == 0
