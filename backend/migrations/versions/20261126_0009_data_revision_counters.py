"""data revision counters advanced by triggers (cache keys for reports)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of backend.revisions.WATCHED_TABLES as of this migration.
WATCHED = {
    "org": ("unit", "position", "role_profile", "competency"),
    "training": (
        "training_activity",
        "training_activity_target",
        "training_budget",
        "training_plan",
        "training_plan_item",
    ),
}


def upgrade() -> None:
    table = op.create_table(
        "data_revision",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_revision")),
    )
    op.bulk_insert(table, [{"name": name, "value": 0} for name in WATCHED])
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, tables in WATCHED.items():
        if postgres:
            # One bump per statement: bulk loads cost one counter update, not one per row.
            # Identifiers below come from WATCHED, never from input.
            op.execute(
                f"CREATE FUNCTION bump_{name}_revision() RETURNS trigger AS $$ "  # noqa: S608
                f"BEGIN UPDATE data_revision SET value = value + 1 WHERE name = '{name}'; "
                "RETURN NULL; END $$ LANGUAGE plpgsql"
            )
            for watched in tables:
                op.execute(
                    f"CREATE TRIGGER {watched}_bumps_{name}_revision "
                    f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {watched} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION bump_{name}_revision()"
                )
        else:
            for watched in tables:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    op.execute(
                        f"CREATE TRIGGER {watched}_{event.lower()}_bumps_{name}_revision "  # noqa: S608
                        f"AFTER {event} ON {watched} BEGIN "
                        f"UPDATE data_revision SET value = value + 1 WHERE name = '{name}'; END"
                    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, tables in WATCHED.items():
        for watched in tables:
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS {watched}_bumps_{name}_revision ON {watched}")
            else:
                for event in ("insert", "update", "delete"):
                    op.execute(f"DROP TRIGGER IF EXISTS {watched}_{event}_bumps_{name}_revision")
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS bump_{name}_revision()")
    op.drop_table("data_revision")
