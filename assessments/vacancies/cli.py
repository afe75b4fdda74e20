"""The competitions' `merito vacancies …` commands, for operators and auditors.

- `list [--status STATUS] [--all]`: the competitions with their stage and the dates that bound
  what happens next (applications close, screening reviews close, appeals close, the reserve
  list lapses), in the organisation's time zone: what HR's competitions page shows, from a
  terminal. Appointed and cancelled competitions only with `--all` (or their `--status`).
- `integrity`: every published competition's anomaly flags, as the integrity dashboard shows
  them (a reason to look, not a verdict).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from backend import clock
from backend.config import get_settings
from backend.db import make_engine

from . import service
from .models import VacancyStatus

vacancies_app = typer.Typer(
    help="Merit-based competitions: stages, deadlines, integrity flags.", no_args_is_help=True
)
CLOSED = (VacancyStatus.appointed, VacancyStatus.cancelled)


def register(app: typer.Typer) -> None:
    """Add `merito vacancies …` to the command line."""
    app.add_typer(vacancies_app, name="vacancies")


def _session() -> Session:
    settings = get_settings()
    session = Session(make_engine(settings.database_url))
    session.info["settings"] = settings
    return session


@vacancies_app.command("list")
def list_competitions(
    status: Annotated[
        str | None, typer.Option(help="Only competitions at this stage (e.g. published).")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Include appointed and cancelled competitions.")
    ] = False,
) -> None:
    """Show the competitions with their stage and next deadlines (local time)."""
    settings = get_settings()
    if status is not None and status not in set(VacancyStatus):
        choices = ", ".join(VacancyStatus)
        typer.echo(f"No stage called {status!r}; one of: {choices}.", err=True)
        raise typer.Exit(2)
    zone = clock.zone(settings.time_zone)
    now = clock.now()
    with _session() as session:
        vacancies = service.list_vacancies(session, statuses=(status,) if status else None)
        shown = [v for v in vacancies if status or everything or v.status not in CLOSED]
        if not shown:
            typer.echo("No competitions.")
        for vacancy in shown:
            typer.echo(f"{vacancy.reference}\t{vacancy.status}\t{vacancy.title}")
            for name, moment in service.deadlines(settings, vacancy).items():
                when = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                passed = " (passed)" if moment < now else ""
                typer.echo(f"  {name.replace('_', ' ')}: {when}{passed}")


@vacancies_app.command("integrity")
def integrity() -> None:
    """Show every published competition's anomaly flags."""
    settings = get_settings()
    with _session() as session:
        rows = service.overview(session, settings)
        if not rows:
            typer.echo("No published competitions.")
        for row in rows:
            vacancy = row.vacancy
            typer.echo(f"{vacancy.reference}\t{vacancy.status}\t{len(row.flags)} flag(s)")
            for flag in row.flags:
                typer.echo(f"  [{flag.severity}] {flag.code}: {flag.detail}")
