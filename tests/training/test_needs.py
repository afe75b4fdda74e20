"""Training needs analysis, the funding ranking and the effect measure (difference in
differences); the pure proposal engine without a database."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from backend.clock import now as utcnow
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from competency_framework import service as competency_service
from competency_framework.training import service
from competency_framework.training.models import TrainingActivity
from competency_framework.training.service import needs
from tests.training.helpers import (
    activity,
    principal_for,
    rate,
    session_of,
    small_catalogue,
    train_and_validate,
)
from tests.training.test_service import OFFICER_LEVELS, YEAR


@pytest.fixture
def hr(session, make_user):
    return principal_for(session, make_user("hr_planner"))


# --- the pure engine ----------------------------------------------------------------------


def _table(entries):
    """An offer table from (id, code, cost, {competency index: (from, to)}) entries."""
    acts, targets = [], {}
    for activity_id, code, cost, spec in entries:
        act = TrainingActivity(
            id=activity_id,
            code=code,
            title_es=code,
            title_en=code,
            modality="classroom",
            cost=cost,
            audience=["procurement_staff"],
        )
        acts.append(act)
        targets[activity_id] = [
            type("T", (), {"competency_id": c, "from_level": a, "to_level": b})()
            for c, (a, b) in spec.items()
        ]
    return service.build_offer_table(acts, targets, [0, 1, 2])


def test_the_engine_ranks_needs_by_gap_times_importance_and_respects_budget_rounds():
    table = _table(
        [
            (10, "a", 100, {0: (0, 2)}),
            (11, "b", 300, {1: (0, 3)}),
            (12, "c", 0, {2: (1, 2)}),
        ]
    )
    needs_ = service.PeopleNeeds(
        employee_ids=np.array([1, 2]),
        unit_ids=np.array([7, 7]),
        audience=np.array([0, 0]),
        current=np.array([[0, 0, 1], [1, 0, 1]]),
        required=np.array([[1, 3, 2], [2, 2, 2]]),
        essential=np.array([[True, False, True], [True, True, False]]),
    )
    result = service.propose_needs(needs_, table, max_items=3, remaining={7: 350})
    chosen = sorted(
        (int(needs_.employee_ids[p]), int(table.activity_id[o]), int(pr))
        for p, o, pr in zip(result.person, result.offer, result.priority, strict=True)
    )
    # Person 1 wants b (gap 3, desirable: score 3), then a and c (gap 1, essential: score 2,
    # by column). Person 2 wants b (gap 2, essential: 4), a (2), c (gap 1, desirable: 1).
    # The unit has 350: round 1 gives person 2's b (higher score) 300; person 1's b no longer
    # fits, nor do the two a's (100 each) with 50 left. The free c always fits.
    assert chosen == [(1, 12, 1), (2, 11, 1), (2, 12, 2)]
    assert result.over_budget.tolist() == [2, 1]
    assert result.uncovered.tolist() == [0, 0]
    unlimited = service.propose_needs(needs_, table, max_items=2, remaining={})
    assert sorted(
        (int(needs_.employee_ids[p]), int(table.activity_id[o]))
        for p, o in zip(unlimited.person, unlimited.offer, strict=True)
    ) == [(1, 10), (1, 11), (2, 10), (2, 11)]


def test_the_greedy_ranking_funds_free_then_best_value_within_budget():
    def need(code, cost, closes, people):
        return service.ActivityNeed(
            activity=TrainingActivity(code=code, title_es=code, title_en=code, modality="x"),
            people=people,
            needs=people,
            critical=closes,
            closes=closes,
            cost=cost,
            sessions=None,
        )

    items = [
        need("dear", 100_000, 10, 10),
        need("cheap", 10_000, 10, 10),
        need("free", 0, 3, 3),
        need("useless", 5_000, 0, 8),
        need("medium", 60_000, 30, 30),
    ]
    needs._rank(items, budget=80_000, critical_total=100)
    assert [a.activity.code for a in items] == ["free", "cheap", "medium", "dear", "useless"]
    assert [a.funded for a in items] == [True, True, True, False, False]
    assert items[2].cumulative_cost == 70_000
    assert items[2].cumulative_share == pytest.approx(0.43)


# --- the needs report ---------------------------------------------------------------------


def test_needs_report_counts_demand_per_activity_and_region_and_costs_it(
    session, org, make_user, hr
):
    small_catalogue(session)
    rate(session, org.officer_a, hr, OFFICER_LEVELS)
    rate(session, org.officer_b, hr, dict(OFFICER_LEVELS, legal=2))
    service.set_budget(session, unit=org.central, year=YEAR, amount=30000, actor=hr)
    session.commit()
    report = service.needs_report(session, year=YEAR)
    by_code = {a.activity.code: a for a in report.activities}
    # officer_a: legal 1→3 (critical) → legal_basics; procurement 2→3 → sfp_cert;
    # negotiation 1→2 → negotiation; inventory 0→2 (critical) → supply_chain.
    # officer_b: legal 2→3 and procurement 2→3 → sfp_cert (one person, two gaps); the rest as a.
    # The head (never rated, all at 0) needs legal_basics and supply_chain.
    assert by_code["sfp_cert"].people == 2 and by_code["sfp_cert"].needs == 3
    assert by_code["sfp_cert"].cost == 36000
    assert by_code["legal_basics"].people == 2
    assert by_code["legal_basics"].by_region == {"Centro": 2, "Occidente": 0}
    # legal_basics closes the officer's critical legal gap (1→2, required 3: within one level).
    assert by_code["legal_basics"].closes >= 1
    assert report.budget == 30000 and not report.budget_given
    assert report.critical_total >= 3
    funded_codes = [a.activity.code for a in report.funded]
    assert funded_codes[0] in ("legal_basics", "supply_chain")  # free first
    assert report.funded_share == pytest.approx(
        sum(a.closes for a in report.funded) / report.critical_total
    )
    unit = next(u for u in report.units if u.unit_id == org.central.id)
    assert unit.budget == 30000 and unit.cost == sum(a.cost for a in report.activities)
    only_delegation = service.needs_report(session, year=YEAR, region="Occidente")
    assert only_delegation.activities == [] and only_delegation.people == 0


def test_needs_report_with_an_explicit_budget_funds_only_what_fits(session, org, hr):
    small_catalogue(session)
    rate(session, org.officer_a, hr, OFFICER_LEVELS)
    report = service.needs_report(session, year=YEAR, budget=0)
    assert report.budget_given
    assert all(a.cost == 0 for a in report.funded)


# --- the effect of training ---------------------------------------------------------------


def test_trained_people_are_compared_with_similar_untrained_colleagues(
    session, settings, org, make_user, hr
):
    course = activity(session, "legal_fin", {"legal": (0, 2), "financial": (1, 2)})
    seat = session_of(session, course)
    session.commit()
    head = principal_for(session, make_user(employee=org.head))
    people = []
    for i in range(12):
        people.append(
            org_service.create_employee(
                session,
                EmployeeInput(
                    number=f"T{i:03d}",
                    first_name="Persona",
                    last_name=f"Prueba{i}",
                    email=f"p{i}@example.org",
                    unit_id=org.central.id,
                    position_id=org.officer_position.id,
                    supervisor_id=org.head.id,
                    hire_date=date(2010, 1, 1),
                ),
            )
        )
    session.commit()
    for i, person in enumerate(people):
        levels = {"legal": 1}
        if i in (0, 1, 2, 6):
            levels["financial"] = 1
        rate(session, person, hr, levels)
    start = utcnow()
    for person in people[:6]:
        train_and_validate(
            session, settings, person=person, course=course, seat=seat, hr=hr, head=head, year=YEAR
        )
        session.commit()
    for person in people[6:8]:
        competency_service.record_rating(
            session,
            employee=person,
            competency=competency_service.get_competency(session, "legal"),
            level=2,
            source="supervisor",
            actor=head,
        )
    session.commit()
    report = service.training_effect(session, start=start, end=utcnow())
    legal = next(s for s in report.strata if s.competency.code == "legal")
    assert (legal.start_level, legal.trained, legal.others) == (1, 6, 6)
    assert legal.trained_change == pytest.approx(1.0)
    assert legal.others_change == pytest.approx(2 / 6)
    assert legal.difference == pytest.approx(1 - 2 / 6)
    assert legal.trained_rose == pytest.approx(1.0) and legal.others_rose == pytest.approx(2 / 6)
    financial = next(s for s in report.strata if s.competency.code == "financial")
    # Three trained and one untrained colleague started at 1: too few to show.
    assert financial.suppressed and financial.difference is None
    assert (financial.trained, financial.others) == (3, 1)
    assert report.left_out == 3  # trained, but no financial rating before the period
    assert report.trained_pairs == 12
    summary = {s.competency.code: s for s in report.summaries}
    assert summary["legal"].difference == pytest.approx(1 - 2 / 6)
    assert summary["financial"].difference is None and summary["financial"].strata_suppressed == 1
    assert report.overall == pytest.approx(1 - 2 / 6)
    # Another period, before the training: nobody trained.
    earlier = service.training_effect(session, start=start.replace(year=2020), end=start)
    assert earlier.strata == [] and earlier.trained_pairs == 0
