"""Assessment campaigns: who is in scope, the live counters per unit, reminders, closing."""

from __future__ import annotations

from datetime import date

import pytest

from competency_framework import service as campaigns
from competency_framework.service import CompetencyError
from tests.competency.helpers import agree_all, codes, self_assess


def _campaign(session, people, unit_ids, **kwargs):
    campaign = campaigns.create_campaign(
        session,
        name=kwargs.pop("name", "Ronda 2026"),
        deadline=kwargs.pop("deadline", date(2099, 12, 31)),
        unit_ids=unit_ids,
        role_codes=kwargs.pop("role_codes", []),
        include_subunits=kwargs.pop("include_subunits", False),
        actor=people["hr"].user,
    )
    session.commit()
    return campaign


def test_counters_follow_each_participant_through_the_four_states(session, org, people):
    # A rating written before the campaign opened does not count towards it.
    self_assess(session, org.outsider, people["outsider"], 1)
    campaign = _campaign(session, people, [org.central.id, org.delegation.id])

    self_assess(session, org.officer_a, people["a"], 2)  # all 13: awaiting validation
    self_assess(session, org.head, people["head"], 3)
    agree_all(session, org.head, people["hr"])  # HR validates the head: validated
    self_assess(session, org.officer_b, people["b"], {codes(session)[0]: 2})  # one of 13

    rows, total = campaigns.progress(session, campaign)
    by_unit = {r.unit_id: r for r in rows}
    central, delegation = by_unit[org.central.id], by_unit[org.delegation.id]
    assert (central.people, central.not_started, central.in_progress) == (3, 0, 1)
    assert (central.awaiting_validation, central.validated) == (1, 1)
    assert central.self_done == 2 and central.validated_share == pytest.approx(1 / 3)
    assert (delegation.people, delegation.not_started) == (1, 1)  # the earlier rating ignored
    assert (total.people, total.not_started, total.in_progress) == (4, 1, 1)
    assert (total.awaiting_validation, total.validated) == (1, 1)

    # The supervisor validates officer a: the counters move at once (computed, not stored).
    agree_all(session, org.officer_a, people["head"])
    _rows, total = campaigns.progress(session, campaign)
    assert (total.awaiting_validation, total.validated) == (0, 2)


def test_reminders_go_to_those_who_owe_something_and_a_closed_campaign_refuses_them(
    session, org, people
):
    campaign = _campaign(session, people, [org.central.id])
    self_assess(session, org.officer_a, people["a"], 2)  # waits for the head's validation
    reminded_people, reminded_supervisors = campaigns.remind(
        session, campaign=campaign, actor=people["hr"].user
    )
    session.commit()
    # The head and officer b have not self-assessed; the head must validate officer a.
    assert (reminded_people, reminded_supervisors) == (2, 1)
    kinds = sorted(r.kind for r in campaigns.reminders(session, campaign))
    assert len(kinds) == 3 and len(set(kinds)) == 2

    campaigns.close_campaign(session, campaign=campaign, actor=people["hr"].user)
    session.commit()
    with pytest.raises(CompetencyError) as refused:
        campaigns.remind(session, campaign=campaign, actor=people["hr"].user)
    assert refused.value.status_code == 409
    # Closed, the counters stay readable.
    _rows, total = campaigns.progress(session, campaign)
    assert total.people == 3


def test_scope_by_role_and_bad_input_write_nothing(session, org, people):
    officers = _campaign(
        session, people, [org.central.id], role_codes=["procurement_officer"], name="Oficiales"
    )
    _rows, total = campaigns.progress(session, officers)
    assert total.people == 2  # officers a and b, not the head
    before = len(campaigns.list_campaigns(session))
    for bad in (
        {"name": "", "deadline": date(2099, 1, 1), "unit_ids": [org.central.id]},
        {"name": "Vieja", "deadline": date(2000, 1, 1), "unit_ids": [org.central.id]},
        {"name": "Nadie", "deadline": date(2099, 1, 1), "unit_ids": [999_999]},
        {"name": "Rol", "deadline": date(2099, 1, 1), "unit_ids": [], "role_codes": ["nope"]},
    ):
        with pytest.raises(CompetencyError):
            campaigns.create_campaign(
                session,
                name=bad["name"],
                deadline=bad["deadline"],
                unit_ids=bad["unit_ids"],
                role_codes=bad.get("role_codes", []),
                include_subunits=False,
                actor=people["hr"].user,
            )
        session.rollback()
    assert len(campaigns.list_campaigns(session)) == before
