"""a `people` data revision advanced by triggers on employee

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the part of backend.revisions.WATCHED_TABLES this migration adds.
NAME = "people"
TABLES = ("employee",)


def upgrade() -> None:
    op.execute(f"INSERT INTO data_revision (name, value) VALUES ('{NAME}', 0)")  # noqa: S608
    if op.get_bind().dialect.name == "postgresql":
        # One bump per statement: a bulk load of employees costs one counter update.
        op.execute(
            f"CREATE FUNCTION bump_{NAME}_revision() RETURNS trigger AS $$ "  # noqa: S608
            f"BEGIN UPDATE data_revision SET value = value + 1 WHERE name = '{NAME}'; "
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
