"""The migrations produce exactly the schema the models describe, on SQLite and PostgreSQL;
migration files are named by date and sequence (docs/architecture.md, "Migrations")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import backend.models  # noqa: F401 - every table on the metadata
from backend.migrate import MIGRATIONS_DIR

VERSIONS = MIGRATIONS_DIR / "versions"
# The first migrations, all written on one day, predate the naming rule.
LEGACY_DATE = "20261126"
NAME = re.compile(r"^(?P<date>20\d{6})_(?P<seq>\d{4})_(?P<slug>[a-z0-9_]+)\.py$")


def _describe(diff) -> str:
    lines = []
    for item in diff:
        entries = item if isinstance(item, list) else [item]
        for entry in entries:
            kind, *rest = entry
            table = next((getattr(x, "table", None) for x in rest if hasattr(x, "table")), None)
            where = getattr(table, "name", "") or " ".join(str(x) for x in rest[:3] if x)
            lines.append(f"{kind}: {where}")
    return "\n".join(lines)


def test_the_migrated_schema_is_exactly_the_models_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], _describe(diff)


def _revision_of(path: Path) -> tuple[str, object]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    found[target.id] = ast.literal_eval(node.value)
    return found["revision"], found["down_revision"]


def test_new_migrations_are_named_by_date_and_sequence_and_chained_in_order():
    named = []
    for path in sorted(VERSIONS.glob("*.py")):
        if path.name.startswith(LEGACY_DATE + "_"):
            continue
        revision, down = _revision_of(path)
        match = NAME.match(path.name)
        assert match, f"{path.name}: name it YYYYMMDD_NNNN_what_it_does.py"
        assert match["seq"] == revision, f"{path.name}: revision {revision!r}"
        named.append((int(revision), path.name, down))
    named.sort()
    assert named, "no migration follows the naming rule"
    for (seq, name, down), (previous, previous_name, _) in zip(named[1:], named, strict=False):
        assert seq == previous + 1, f"{name}: the sequence skips after {previous_name}"
        assert down == f"{previous:04d}", f"{name}: down_revision must be {previous:04d}"
    dates = [NAME.match(name)["date"] for _seq, name, _down in named]
    assert dates == sorted(dates), "a later migration carries an earlier date"


def test_a_new_migration_gets_the_date_and_the_next_number(engine, tmp_path):
    import shutil

    from backend import clock
    from backend.migrate import MIGRATIONS_DIR, new_migration, next_revision

    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    expected = f"{int(next_revision()):04d}"
    path = new_migration(engine, "Add the example table", script_location=location)
    match = NAME.match(path.name)
    assert match, path.name
    assert match["seq"] == expected and match["slug"] == "add_the_example_table"
    assert match["date"] == clock.now().strftime("%Y%m%d")
    revision, down = _revision_of(path)
    assert (revision, down) == (expected, f"{int(expected) - 1:04d}")
    # The models and the migrated database agree, so there is nothing to do in it.
    assert "op." not in path.read_text(encoding="utf-8")


def test_moving_sqlites_foreign_keys_to_the_table_keeps_rows_and_on_delete(tmp_path):
    """Migration 0016 edits SQLite's stored schema: the rows and SET NULL must survive it."""
    from alembic import command

    from backend.db import make_engine
    from backend.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0015")
        connection.exec_driver_sql(
            "INSERT INTO app_user (id, email, full_name, password_hash, locale, is_active,"
            " created_at, password_changed_at, must_change_password) VALUES (7, 'a@x.mx', 'A',"
            " 'h', 'es', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO report_channel (id, code, name_es, name_en, description_es,"
            " description_en, is_active, \"order\", lead_user_id) VALUES (99, 'test', 'C', 'C',"
            " '', '', 1, 1, 7)"
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0016")
    engine.dispose()
    engine = make_engine(url)
    lead = "SELECT lead_user_id FROM report_channel WHERE id = 99"
    with engine.begin() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'report_channel'"
        ).scalar()
        assert "CONSTRAINT fk_report_channel_lead_user_id_app_user FOREIGN KEY" in sql
        assert connection.exec_driver_sql(lead).scalar() == 7
        connection.exec_driver_sql("DELETE FROM app_user WHERE id = 7")
        assert (
            connection.exec_driver_sql("SELECT lead_user_id FROM report_channel").scalar() is None
        )
    engine.dispose()
