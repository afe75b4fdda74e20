"""`merito competencies …`: reloading the framework's reference data, campaigns from a terminal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from backend.cli import app as cli
from backend.config import get_settings
from competency_framework import service
from competency_framework.models import FrameworkVersion
from tests.competency.helpers import self_assess


@pytest.fixture
def cli_env(monkeypatch, settings, database_url):
    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_ENVIRONMENT", "test")
    monkeypatch.setenv("MERITO_TIME_ZONE", settings.time_zone)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_reload_framework_loads_a_changed_file_and_leaves_a_loaded_one_alone(cli_env, session):
    version = service.current_version(session)
    shown = cli_env.invoke(cli, ["competencies", "reload-framework"])
    assert shown.exit_code == 0, shown.output
    assert f"Framework {version.version}: already up to date" in shown.output
    assert "0 default role profile(s) created" in shown.output

    # The file on disk is not the one the database holds (a new wording deployed): it loads.
    stored = session.exec(select(FrameworkVersion)).one()
    stored.content_sha256 = "0" * 64
    session.add(stored)
    session.commit()
    shown = cli_env.invoke(cli, ["competencies", "reload-framework"])
    assert shown.exit_code == 0, shown.output
    assert f"Framework {version.version}: loaded" in shown.output
    session.expire_all()
    assert session.exec(select(FrameworkVersion)).one().content_sha256 != "0" * 64


def test_campaigns_lists_the_open_ones_with_their_counters(cli_env, session, org, people):
    campaign = service.create_campaign(
        session,
        name="Ronda 2026",
        deadline=date(2099, 12, 31),
        unit_ids=[org.central.id],
        role_codes=[],
        include_subunits=False,
        actor=people["hr"].user,
    )
    session.commit()
    self_assess(session, org.officer_a, people["a"], 2)
    session.commit()
    _rows, total = service.progress(session, campaign)

    shown = cli_env.invoke(cli, ["competencies", "campaigns"])
    assert shown.exit_code == 0, shown.output
    assert "Ronda 2026\topen\tdeadline 2099-12-31" in shown.output
    assert f"{total.people} people: {total.not_started} not started" in shown.output
    assert "1 awaiting validation" in shown.output

    service.close_campaign(session, campaign=campaign, actor=people["hr"].user)
    session.commit()
    assert "No open campaign." in cli_env.invoke(cli, ["competencies", "campaigns"]).output
    everything = cli_env.invoke(cli, ["competencies", "campaigns", "--all"]).output
    assert "Ronda 2026\tclosed" in everything
