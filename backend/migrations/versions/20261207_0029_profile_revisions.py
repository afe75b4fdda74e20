"""A data revision for the role profiles (profiles, their versions, their requirements)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

A `profiles` counter, advanced by triggers on the role profiles, their versions and their
requirements, keys the per-process copy of the profiles in force that every person's gap
profile reads (competency_framework.service.profile_cache). On PostgreSQL the counter advances
once per transaction, as 0013 made the others do.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the part of backend.revisions.WATCHED_TABLES this migration adds.
NAME = "profiles"
TABLES = ("role_profile", "role_profile_version", "role_requirement")


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
