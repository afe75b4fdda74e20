"""The appraisals' `merito appraisals …` commands, for operators.

- `progress [CYCLE_ID]`: a cycle's appraisals per stage, in total and per unit (every open
  cycle when no id is given): what HR's cycle page shows, from a terminal.
- `mail-reminders`: email the reminders HR recorded now, instead of waiting for the
  `appraisal_reminder_mail` job's next run; it takes the job's lease, so it never runs beside
  the scheduler's run (no reminder is emailed twice).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from assessments.appraisals import service
from backend import jobs
from backend.config import get_settings
from backend.db import make_engine

MAIL_JOB = "appraisal_reminder_mail"

appraisals_app = typer.Typer(help="Appraisal cycles: progress and reminders.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `merito appraisals …` to the command line."""
    app.add_typer(appraisals_app, name="appraisals")


def _session(engine) -> Session:
    session = Session(engine)
    session.info["settings"] = get_settings()
    return session


@appraisals_app.command()
def progress(
    cycle_id: Annotated[
        int | None, typer.Argument(help="The cycle (default: every open one).")
    ] = None,
) -> None:
    """Show a cycle's appraisals per stage, in total and per unit."""
    with _session(make_engine(get_settings().database_url)) as session:
        if cycle_id is not None:
            cycle = service.get_cycle(session, cycle_id)
            if cycle is None:
                typer.echo(f"No appraisal cycle {cycle_id}.", err=True)
                raise typer.Exit(1)
            cycles = [cycle]
        else:
            cycles = service.open_cycles(session)
        if not cycles:
            typer.echo("No open appraisal cycle.")
        stages = [str(stage) for stage in service.STAGES]
        for cycle in cycles:
            rows, total = service.cycle_progress(session, cycle)
            state = "completed" if cycle.completed_at is not None else "open"
            typer.echo(f"Cycle {cycle.id}: {cycle.name} ({state})")
            typer.echo("  " + "\t".join(["unit", *stages]))
            for row in [*rows, total]:
                counts = [str(row.counts.get(stage, 0)) for stage in service.STAGES]
                typer.echo("  " + "\t".join([row.unit, *counts]))


@appraisals_app.command("mail-reminders")
def mail_reminders() -> None:
    """Email the pending appraisal reminders now (under the mail job's lease)."""
    settings = get_settings()
    summary = jobs.run_now(make_engine(settings.database_url), settings, MAIL_JOB)
    if summary is None:
        typer.echo("The reminder mail is being sent by another run; try again in a minute.")
        raise typer.Exit(1)
    typer.echo(summary)
