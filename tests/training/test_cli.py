"""`merito training …`: the nightly round now (under the job's lease) and the seeded catalogue."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend import jobs
from backend.cli import app as cli
from competency_framework.training import service
from competency_framework.training.models import TrainingActivity, TrainingPlanItem
from tests.training.helpers import principal_for, rate, small_catalogue
from tests.training.test_service import OFFICER_LEVELS


@pytest.fixture
def cli_env(monkeypatch, settings, database_url):
    from typer.testing import CliRunner

    from backend.config import get_settings

    monkeypatch.setenv("MERITO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERITO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MERITO_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("MERITO_ENVIRONMENT", "test")
    monkeypatch.setenv("MERITO_TIME_ZONE", settings.time_zone)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_merito_training_nightly_proposes_missing_plans_now_under_the_jobs_lease(
    cli_env, session, org, make_user
):
    small_catalogue(session)
    rate(session, org.officer_a, principal_for(session, make_user("hr_planner")), OFFICER_LEVELS)
    session.commit()
    done = cli_env.invoke(cli, ["training", "nightly"])
    assert done.exit_code == 0, done.output
    assert "0 inductions assigned" in done.output and "plans proposed" in done.output
    session.expire_all()
    proposed = session.exec(
        select(TrainingPlanItem).where(TrainingPlanItem.employee_id == org.officer_a.id)
    ).all()
    assert proposed  # the officer's gaps gave a plan
    # While the scheduler's run holds the lease, the command refuses instead of running beside it.
    assert jobs.claim(session.get_bind(), jobs.JOBS["training_nightly"], force=True)
    busy = cli_env.invoke(cli, ["training", "nightly"])
    assert busy.exit_code == 1 and "another process" in busy.output


def test_merito_training_load_catalogue_adds_only_what_is_missing(cli_env, session):
    before = len(service.list_activities(session, active_only=False))
    first = cli_env.invoke(cli, ["training", "load-catalogue"])
    assert first.exit_code == 0, first.output
    added = int(first.output.split()[0])
    session.expire_all()
    assert added > 0
    assert len(session.exec(select(TrainingActivity)).all()) == before + added
    again = cli_env.invoke(cli, ["training", "load-catalogue"])
    assert again.exit_code == 0 and again.output.startswith("0 catalogue activities added")


def test_merito_training_seed_demo_prints_the_demo_line_once_and_never_in_production(
    cli_env, monkeypatch, session, org
):
    first = cli_env.invoke(cli, ["training", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Training: ") and "unit budgets" in first.output
    again = cli_env.invoke(cli, ["training", "seed-demo"])
    assert again.exit_code == 0 and "Training: 0 catalogue activities added" in again.output
    from backend.config import get_settings

    monkeypatch.setenv("MERITO_ENVIRONMENT", "production")
    get_settings.cache_clear()
    refused = cli_env.invoke(cli, ["training", "seed-demo"])
    assert refused.exit_code == 1 and "never loaded in production" in refused.output
