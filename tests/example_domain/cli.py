"""`merito example count`."""

from __future__ import annotations

import typer
from sqlmodel import Session

from backend.config import get_settings
from backend.db import make_engine
from tests.example_domain import service

example_app = typer.Typer(help="The example domain's notes.", no_args_is_help=True)


@example_app.command("count")
def count() -> None:
    """Say how many notes there are."""
    with Session(make_engine(get_settings().database_url)) as session:
        typer.echo(f"{service.count_notes(session)} notes")


def register(app: typer.Typer) -> None:
    app.add_typer(example_app, name="example")
