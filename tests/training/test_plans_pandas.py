"""Proposing plans for one unit through the route, on the newest pandas and numpy the
dependency ranges allow (pandas 3 hands out read-only arrays: copy-on-write)."""

from __future__ import annotations

from backend.config import get_settings
from competency_framework.training import service
from tests.conftest import login
from tests.training.helpers import principal_for, rate, small_catalogue
from tests.training.test_service import OFFICER_LEVELS

YEAR = service.plan_year(get_settings())


def test_hr_proposes_plans_for_one_unit_through_the_route(client, session, org, make_user):
    small_catalogue(session)
    hr_user = make_user("hr_planner")
    hr = principal_for(session, hr_user)
    rate(session, org.officer_a, hr, OFFICER_LEVELS)
    rate(session, org.officer_b, hr, dict(OFFICER_LEVELS, legal=3))
    service.set_budget(session, unit=org.central, year=YEAR, amount=23200, actor=hr)
    session.commit()
    csrf = login(client, hr_user.email)
    response = client.post(
        "/training/manage/plans/propose",
        data={"csrf_token": csrf, "year": YEAR, "unit": "DA"},
        follow_redirects=True,
    )
    assert response.status_code == 200, response.text
    assert "Plans proposed for 3 people" in response.text
    session.expire_all()
    a = service.plan_view(session, employee=org.officer_a, year=YEAR)
    b = service.plan_view(session, employee=org.officer_b, year=YEAR)
    # The same rounds as the service test: b's sfp_cert and negotiation fit the budget.
    assert [line.activity.code for line in a.lines] == ["legal_basics"]
    assert [line.activity.code for line in b.lines] == ["sfp_cert", "negotiation", "supply_chain"]
    # Only the unit's people: the delegation's outsider gets nothing.
    assert not service.plan_view(session, employee=org.outsider, year=YEAR).lines
    # A second run over unchanged gaps (replacing the unit's undecided proposals) also works.
    again = client.post(
        "/training/manage/plans/propose",
        data={"csrf_token": csrf, "year": YEAR, "unit": "DA"},
        follow_redirects=True,
    )
    assert again.status_code == 200 and "Plans proposed for 3 people" in again.text
