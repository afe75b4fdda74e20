"""`merito privacy retention --dry-run|--apply`: the retention rules from a terminal.

`--dry-run` (the default) lists what is past its retention period; `--apply` deletes or
anonymises exactly that list (the same function the daily job and the administrators' page
use), under the job's lease so it never runs beside the scheduler's run.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from backend import jobs
from backend.config import get_settings
from backend.db import make_engine
from backend.privacy import service as privacy
from backend.privacy.jobs import RETENTION_JOB

privacy_app = typer.Typer(help="Privacy: retention rules.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `merito privacy …` to the command line."""
    app.add_typer(privacy_app, name="privacy")


def _print_plan(found: privacy.RetentionPlan) -> None:
    for planned in found.rules:
        typer.echo(
            f"{planned.rule.record_type}: kept {planned.months} months "
            f"({planned.rule.action} before {planned.cutoff.isoformat()}): "
            f"{len(planned.records)} due"
        )
        for record in planned.records:
            typer.echo(f"  {record.key}\t{record.description}")
    typer.echo(f"{found.total} records in all")


@privacy_app.command()
def retention(
    apply: Annotated[
        bool, typer.Option("--apply/--dry-run", help="Act on the list (default: only list it).")
    ] = False,
) -> None:
    """List (or delete and anonymise) the records past their retention period."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if not apply:
        with Session(engine) as session:
            session.info["settings"] = settings
            _print_plan(privacy.plan(session, settings))
        return
    # The daily job's own run, under its lease: it acts on exactly what `plan` lists now.
    with Session(engine) as session:
        session.info["settings"] = settings
        _print_plan(privacy.plan(session, settings))
    summary = jobs.run_now(engine, settings, RETENTION_JOB)
    if summary is None:
        typer.echo("The retention job is running elsewhere right now; try again later.", err=True)
        raise typer.Exit(1)
    typer.echo(summary)
