"""The self-assessment form starts from the person's current levels, and an empty form asks
for levels instead of saying nothing changed (issue #13, defect 8)."""

from __future__ import annotations

import re

from sqlmodel import func, select

from competency_framework import service
from competency_framework.models import RatingEntry
from tests.competency.helpers import agree_all, principal_for, self_assess
from tests.conftest import login


def _checked(page: str) -> dict[str, str]:
    """Return competency code -> the level checked in the form."""
    found = re.findall(r'id="f-level_(\w+?)_(\d)" name="level_\w+" value="\d" checked', page)
    return dict(found)


def test_the_form_starts_from_the_validated_and_pending_levels(client, session, org, make_user):
    officer = make_user("employee", employee=org.officer_a)
    head = make_user("employee", employee=org.head)
    self_assess(session, org.officer_a, principal_for(session, officer), 2)
    agree_all(session, org.officer_a, principal_for(session, head))
    self_assess(session, org.officer_a, principal_for(session, officer), {"legal": 3})
    login(client, officer.email)
    checked = _checked(client.get("/competencies/me/assessment").text)
    assert checked["legal"] == "3"  # the answer awaiting validation
    assert checked["financial"] == "2"  # the current validated level
    assert len(checked) == len(service.list_competencies(session))


def test_an_empty_form_asks_for_levels_and_writes_nothing(client, session, org, make_user):
    officer = make_user("employee", employee=org.officer_a)
    csrf = login(client, officer.email)
    response = client.post("/competencies/me/assessment", data={"csrf_token": csrf})
    assert response.status_code == 422
    assert "Choose your level for at least one competency." in response.text
    assert "Nothing changed" not in response.text
    assert session.exec(select(func.count()).select_from(RatingEntry)).one() == 0
    spanish = client.post("/competencies/me/assessment?lang=es", data={"csrf_token": csrf})
    assert "Elija su nivel en al menos una competencia." in spanish.text
