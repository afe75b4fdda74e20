"""A plan item's reason adds up: the level, the level required and the gap between them, and
the level the activity develops to only as that (never a "—" target) (issue #13, defect 11)."""

from __future__ import annotations

import re

from backend.config import get_settings
from competency_framework.training import service
from tests.conftest import login
from tests.training.helpers import principal_for, rate, small_catalogue
from tests.training.test_service import OFFICER_LEVELS

YEAR = service.plan_year(get_settings())


def _reasons(page: str) -> list[str]:
    cells = re.findall(r'<td class="plan-item-why">(.*?)</td>', page, flags=re.S)
    return [re.sub(r"<[^>]+>", "", cell) for cell in cells]


def test_every_reason_adds_up_and_names_no_missing_target(client, session, org, make_user):
    small_catalogue(session)
    hr = principal_for(session, make_user("hr_planner"))
    officer = make_user("employee", employee=org.officer_a)
    rate(session, org.officer_a, hr, OFFICER_LEVELS)
    service.propose_plan(session, employee=org.officer_a, actor=hr, year=YEAR)
    # An appraisal's development action for a competency no activity develops.
    service.add_development_action(
        session,
        employee_id=org.officer_a.id,
        action_id=1,
        competency_code="results_focus",
        description="Lead the consolidated purchase",
    )
    session.commit()
    login(client, officer.email)
    reasons = _reasons(client.get("/training/me").text)
    assert len(reasons) >= 3
    checked = 0
    for reason in reasons:
        assert "—" not in reason and "aims at" not in reason, reason
        for current, required, gap in re.findall(r"level (\d), required (\d) \(gap (\d)\)", reason):
            assert int(required) - int(current) == int(gap), reason
            checked += 1
    assert checked >= 3
    # Negotiation: level 1 of the 2 required; the course takes people on to 3.
    negotiation = next(r for r in reasons if "Negotiation" in r)
    assert "level 1, required 2 (gap 1)" in negotiation
    assert "the activity develops it to level 3" in negotiation
    action = next(r for r in reasons if "Results" in r)
    assert "level 3" in action and "develops it to" not in action
    spanish = _reasons(client.get("/training/me?lang=es").text)
    assert any("nivel 1, se requiere 2 (brecha 1)" in r for r in spanish)
