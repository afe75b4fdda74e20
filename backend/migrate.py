"""Schema migrations (alembic) and reference data, for the CLI, the app and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class NotMigratedError(RuntimeError):
    """The database schema is missing or older than this version of Mérito."""


def alembic_config(database_url: str) -> Config:
    """Return an alembic Config for `database_url` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def script_heads(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def database_heads(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def _missing_sqlite_file(engine: Engine) -> bool:
    """True for a SQLite URL whose file does not exist (connecting would create it empty)."""
    url = engine.url
    return (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not Path(url.database).exists()
    )


def ensure_migrated(engine: Engine) -> None:
    """Raise NotMigratedError unless the database is at the newest schema."""
    url = engine.url.render_as_string(hide_password=False)
    if _missing_sqlite_file(engine) or database_heads(engine) != script_heads(url):
        raise NotMigratedError(
            "The database is not up to date with this version of Mérito. "
            "Run `merito migrate` first."
        )


def upgrade(engine: Engine) -> None:
    """Upgrade the schema to the newest version, then load reference data."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    load_reference_data(engine)


def load_reference_data(engine: Engine) -> None:
    """Load or refresh the versioned data files (framework, default role profiles) idempotently."""
    from sqlmodel import Session

    from competency_framework import loader

    with Session(engine) as session:
        loader.sync_framework(session)
        session.flush()
        loader.sync_role_profiles(session)
        session.commit()
