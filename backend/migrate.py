"""Schema migrations (alembic) and reference data, for the CLI, the app and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend import plugins

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class NotMigratedError(RuntimeError):
    """The database schema is missing or older than this version of Mérito."""


# New migration files: YYYYMMDD_NNNN_what_it_does.py, revision "NNNN", one after another.
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(database_url: str, *, script_location: Path = MIGRATIONS_DIR) -> Config:
    """Return an alembic Config for `database_url` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("truncate_slug_length", "48")
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def next_revision(script_location: Path = MIGRATIONS_DIR) -> str:
    """Return the next sequence number ("0016") after the newest numbered revision."""
    scripts = ScriptDirectory.from_config(
        alembic_config("sqlite://", script_location=script_location)
    )
    numbers = [int(s.revision) for s in scripts.walk_revisions() if s.revision.isdigit()]
    # The first migrations numbered their domains' chains 0100-0600 in parallel; the shared
    # sequence is the one below 0100.
    return f"{max(n for n in numbers if n < 100) + 1:04d}"


def new_migration(engine: Engine, message: str, *, script_location: Path = MIGRATIONS_DIR) -> Path:
    """Write a migration from the difference between the models and the database at `engine`
    (which must be migrated to the newest revision), named by today's date and the next
    sequence number; return its path. Review it before committing: autogenerate misses
    renames and data changes."""
    config = alembic_config(
        engine.url.render_as_string(hide_password=False), script_location=script_location
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        script = command.revision(
            config, message=message, autogenerate=True, rev_id=next_revision(script_location)
        )
    return Path(script.path)


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
    """Load or refresh every plugin's versioned reference data (the competency framework, the
    default role profiles…) idempotently: the plugins' `reference_data` hooks, in order."""
    with Session(engine) as session:
        plugins.call_hooks("reference_data", session)
        session.commit()
