"""`merito vacancies …` from the command line: the competitions with their stage and deadlines,
and the integrity flags."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from backend import clock
from backend.cli import app as cli
from backend.config import get_settings
from tests.vacancies import helpers


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


def test_list_shows_each_competition_with_its_stage_and_deadlines_in_local_time(
    cli_env, session, settings, published, org, hr
):
    vacancy = published.vacancy
    draft = helpers.draft(session, settings, hr, org.officer_position)
    session.commit()
    closes = vacancy.closes_at.astimezone(clock.zone(settings.time_zone))

    shown = cli_env.invoke(cli, ["vacancies", "list"])
    assert shown.exit_code == 0, shown.output
    assert f"{vacancy.reference}\tpublished\t{vacancy.title}" in shown.output
    assert f"  applications close: {closes:%Y-%m-%d %H:%M}" in shown.output
    assert "  reviews close: " in shown.output
    assert f"{draft.reference}\tdraft" in shown.output

    only = cli_env.invoke(cli, ["vacancies", "list", "--status", "draft"])
    assert only.exit_code == 0, only.output
    assert draft.reference in only.output and vacancy.reference not in only.output

    wrong = cli_env.invoke(cli, ["vacancies", "list", "--status", "nonsense"])
    assert wrong.exit_code == 2 and "No stage called 'nonsense'" in wrong.output


def test_integrity_lists_the_published_competitions_with_their_flags(cli_env, published):
    shown = cli_env.invoke(cli, ["vacancies", "integrity"])
    assert shown.exit_code == 0, shown.output
    assert f"{published.vacancy.reference}\tpublished\t" in shown.output
