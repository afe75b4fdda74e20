"""The competency framework's `merito competencies …` commands, for operators.

- `reload-framework`: load the versioned framework file and the default role profiles now
  (`competency_framework/data/`), as every `merito migrate` does — after deploying a new
  wording of the framework without a migration, say. Idempotent: a file already loaded is
  left alone, and role profiles HR has edited are never overwritten.
- `campaigns [--all]`: the assessment campaigns with their deadline and how far people are
  (not started, in progress, awaiting validation, validated): what HR's campaign pages show,
  from a terminal. Closed campaigns only with `--all`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from backend.config import get_settings
from backend.db import make_engine
from competency_framework import loader, service

competencies_app = typer.Typer(
    help="The competency framework: reference data, assessment campaigns.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add `merito competencies …` to the command line."""
    app.add_typer(competencies_app, name="competencies")


def _session() -> Session:
    settings = get_settings()
    session = Session(make_engine(settings.database_url))
    session.info["settings"] = settings
    return session


@competencies_app.command("reload-framework")
def reload_framework() -> None:
    """Load the framework file and the default role profiles into the database now."""
    with _session() as session:
        changed = loader.sync_framework(session)
        session.flush()
        created = loader.sync_role_profiles(session)
        session.commit()
        version = service.current_version(session)
    name = version.version if version else "?"
    typer.echo(
        f"Framework {name}: {'loaded' if changed else 'already up to date'}; "
        f"{created} default role profile(s) created."
    )


@competencies_app.command("campaigns")
def campaigns(
    everything: Annotated[bool, typer.Option("--all", help="Include closed campaigns.")] = False,
) -> None:
    """Show the assessment campaigns and how far their participants are."""
    with _session() as session:
        shown = [c for c in service.list_campaigns(session) if everything or c.closed_at is None]
        if not shown:
            typer.echo("No open campaign." if not everything else "No campaign.")
            return
        for campaign in shown:
            _rows, total = service.progress(session, campaign)
            state = f"closed {campaign.closed_at:%Y-%m-%d}" if campaign.closed_at else "open"
            typer.echo(
                f"{campaign.id}\t{campaign.name}\t{state}\tdeadline {campaign.deadline}\t"
                f"{total.people} people: {total.not_started} not started, "
                f"{total.in_progress} in progress, {total.awaiting_validation} awaiting "
                f"validation, {total.validated} validated"
            )
