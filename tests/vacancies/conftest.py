"""Fixtures of the vacancy tests: a controllable clock, HR people, a bank, a published vacancy."""

from __future__ import annotations

import pytest

from backend.events import subscribe, unsubscribe
from tests.vacancies import helpers


@pytest.fixture
def fake_clock(monkeypatch) -> helpers.FakeClock:
    return helpers.set_clock(monkeypatch, helpers.FakeClock())


@pytest.fixture
def hr(session, settings):
    return helpers.staff_user(session, settings, "hr_planner", name="Hilda Ramos")


@pytest.fixture
def approver(session, settings):
    return helpers.staff_user(session, settings, "hr_planner", name="Arturo Pineda")


@pytest.fixture
def bank(session, hr):
    helpers.seed_bank(session, hr)


@pytest.fixture
def published(session, settings, fake_clock, org, hr, approver, bank):
    """A published vacancy for the officer position, with a seated panel of three."""
    vacancy = helpers.draft(session, settings, hr, org.officer_position)
    helpers.publish(session, settings, hr, approver, vacancy)
    panel = helpers.seat_panel(session, settings, hr, vacancy, org)
    return helpers.Competition(vacancy, hr, approver, panel)


@pytest.fixture
def events():
    """Collect the vacancy outcome events published during the test."""
    seen = []

    def handler(session, event):
        seen.append(event)

    for name in ("vacancy.candidate_rejected", "vacancy.candidate_appointed"):
        subscribe(name)(handler)
    yield seen
    for name in ("vacancy.candidate_rejected", "vacancy.candidate_appointed"):
        unsubscribe(name, handler)


@pytest.fixture(autouse=True)
def english():
    """Service messages in English, so assertions read naturally (pages choose their own)."""
    from backend.i18n import use_locale

    with use_locale("en"):
        yield
