"""`allowed_steps`: what each person may do with someone's competencies, for pages and POSTs."""

from __future__ import annotations

import pytest

from backend.auth.permissions import Role
from competency_framework import service
from competency_framework.service import CompetencyError, Step
from tests.conftest import login


def test_each_person_gets_the_steps_the_rules_give_them(session, org, people):
    def steps(who, employee):
        return service.allowed_steps(session, employee=employee, actor=people[who]).allowed

    assert steps("a", org.officer_a) == {Step.self_assess}
    assert steps("head", org.officer_a) == {Step.validate, Step.rate}
    assert steps("hr", org.officer_a) == {Step.validate, Step.rate, Step.see_details}
    assert steps("b", org.officer_a) == set()
    assert steps("outsider", org.officer_a) == set()
    # A supervisor records only supervisor ratings; HR every source but the person's own.
    head = service.allowed_steps(session, employee=org.officer_a, actor=people["head"])
    hr = service.allowed_steps(session, employee=org.officer_a, actor=people["hr"])
    assert head.rating_sources() == [service.RatingSource.supervisor]
    assert service.RatingSource.self not in hr.rating_sources()
    assert service.RatingSource.hr in hr.rating_sources()


def test_a_step_not_allowed_is_refused_before_the_service_runs(session, org, people):
    with pytest.raises(CompetencyError) as refused:
        service.require_step(session, employee=org.officer_a, actor=people["a"], step=Step.rate)
    assert refused.value.status_code == 403
    with pytest.raises(CompetencyError) as refused:
        service.require_step(session, employee=org.officer_a, actor=people["b"], step=Step.validate)
    assert refused.value.status_code == 403
    allowed = service.require_step(
        session, employee=org.officer_a, actor=people["head"], step=Step.validate
    )
    assert Step.validate in allowed


def test_the_person_page_offers_only_the_allowed_steps(client, session, org, make_user):
    supervisor = make_user(Role.employee, employee=org.head)
    login(client, supervisor.email)
    page = client.get(f"/competencies/people/{org.officer_a.id}").text
    assert f'action="/competencies/people/{org.officer_a.id}/ratings"' in page
    assert 'href="/competencies/me/assessment"' not in page

    client.cookies.clear()
    officer = make_user(Role.employee, employee=org.officer_a)
    login(client, officer.email)
    page = client.get("/competencies/me").text
    assert 'href="/competencies/me/assessment"' in page
    assert '/ratings"' not in page
