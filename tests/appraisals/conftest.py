"""Service errors are read in English in these tests (Spanish is checked over HTTP); the
organisation's people, its plan and an open cycle, for the service tests (the route tests
sign the same people in, `test_routes.py`)."""

import pytest

from backend import i18n
from tests.appraisals.helpers import open_cycle, people_for, plan


@pytest.fixture(autouse=True)
def english():
    with i18n.use_locale("en"):
        yield


@pytest.fixture
def people(session, org, make_user):
    return people_for(session, org, make_user)


@pytest.fixture
def priority(session, people):
    return plan(session, people.hr)


@pytest.fixture
def cycle(session, people, priority):
    return open_cycle(session, people.hr)
