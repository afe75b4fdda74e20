"""Data revisions for the reference data (framework, scale, descriptors, catalogue, profiles)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

A `framework` counter, advanced by triggers on the competency framework's tables (the
competencies, the proficiency scale, the level descriptors and the loaded versions), keys the
per-process snapshot of the framework that pages read on every request
(competency_framework.service.framework.framework_snapshot). The catalogue and the profiles
already have theirs (`training`, `org`). On PostgreSQL the counter advances once per
transaction, as 0013 made the others do.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the part of backend.revisions.WATCHED_TABLES this migration adds.
NAME = "framework"
TABLES = ("competency", "proficiency_level", "level_descriptor", "framework_version")


def upgrade() -> None:
    op.execute(f"INSERT INTO data_revision (name, value) VALUES ('{NAME}', 0)")  # noqa: S608
    if op.get_bind().dialect.name == "postgresql":
        # Identifiers come from NAME and TABLES, never from input.
        op.execute(
            f"CREATE FUNCTION bump_{NAME}_revision() RETURNS trigger AS $$ "  # noqa: S608
            f"BEGIN "
            f"IF coalesce(current_setting('merito.bumped_{NAME}', true), '') <> 'yes' THEN "
            f"UPDATE data_revision SET value = value + 1 WHERE name = '{NAME}'; "
            f"PERFORM set_config('merito.bumped_{NAME}', 'yes', true); "
            f"END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        for watched in TABLES:
            op.execute(
                f"CREATE TRIGGER {watched}_bumps_{NAME}_revision "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {watched} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION bump_{NAME}_revision()"
            )
        return
    for watched in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {watched}_{event.lower()}_bumps_{NAME}_revision "  # noqa: S608
                f"AFTER {event} ON {watched} BEGIN "
                f"UPDATE data_revision SET value = value + 1 WHERE name = '{NAME}'; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for watched in TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {watched}_bumps_{NAME}_revision ON {watched}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {watched}_{event}_bumps_{NAME}_revision")
    if postgres:
        op.execute(f"DROP FUNCTION IF EXISTS bump_{NAME}_revision()")
    op.execute(f"DELETE FROM data_revision WHERE name = '{NAME}'")  # noqa: S608
