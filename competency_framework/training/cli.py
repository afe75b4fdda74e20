"""The training domain's `merito training …` commands, for operators.

- `nightly`: run the nightly round now (induction for recent hires, plans proposed for people
  without one this year) instead of waiting for the `training_nightly` job; it takes the job's
  lease, so it never runs beside the scheduler's run.
- `load-catalogue`: add the activities of the seeded catalogue file that are not in the
  catalogue yet (the catalogue belongs to HR once loaded: existing activities are left alone).
- `seed-demo`: the training side of the demo (catalogue, unit budgets, plans, inductions, the
  supplier learner); never in production.
"""

from __future__ import annotations

import typer
from sqlmodel import Session

from backend import jobs
from backend.config import get_settings
from backend.db import make_engine
from competency_framework.training import demo, service
from competency_framework.training.jobs import NIGHTLY

training_app = typer.Typer(
    help="Training: the nightly round, the catalogue, the demo.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add `merito training …` to the command line."""
    app.add_typer(training_app, name="training")


@training_app.command()
def nightly() -> None:
    """Run the nightly round now: inductions for recent hires, plans for people without one."""
    settings = get_settings()
    summary = jobs.run_now(make_engine(settings.database_url), settings, NIGHTLY)
    if summary is None:
        typer.echo("The nightly training round is running in another process; try later.", err=True)
        raise typer.Exit(1)
    typer.echo(summary)


@training_app.command("load-catalogue")
def load_catalogue() -> None:
    """Add the seeded catalogue's activities (and their sessions) that are not there yet."""
    settings = get_settings()
    with Session(make_engine(settings.database_url)) as session:
        session.info["settings"] = settings
        created = service.load_catalogue(session, settings=settings)
        session.commit()
    typer.echo(f"{created} catalogue activities added.")


@training_app.command("seed-demo")
def seed_demo() -> None:
    """Load the training demo (catalogue, budgets, plans, inductions); never in production."""
    settings = get_settings()
    if settings.environment == "production":
        typer.echo("The training demo is never loaded in production.", err=True)
        raise typer.Exit(1)
    typer.echo(demo.after_demo(make_engine(settings.database_url), settings))
