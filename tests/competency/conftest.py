"""Fixtures shared by the competency service tests."""

from __future__ import annotations

import pytest

from tests.competency.helpers import principal_for


@pytest.fixture
def people(session, org, make_user):
    """Principals for the org fixture: head supervises officers a and b; HR; the outsider."""
    return {
        "head": principal_for(session, make_user(employee=org.head)),
        "a": principal_for(session, make_user(employee=org.officer_a)),
        "b": principal_for(session, make_user(employee=org.officer_b)),
        "outsider": principal_for(session, make_user(employee=org.outsider)),
        "hr": principal_for(session, make_user("hr_planner")),
    }
