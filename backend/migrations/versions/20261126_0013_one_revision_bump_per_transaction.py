"""data revisions on PostgreSQL: one bump per transaction, not one per statement

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 13:40:00

The triggers of 0009/0010 advanced a counter once per statement. A transaction that inserts
employees one statement at a time (psycopg's executemany sends one INSERT per row) therefore
updated the same counter row 100,000 times; PostgreSQL keeps every version of that row until the
transaction ends and walks them all on each update, so the cost grew with the square of the
rows (`merito demo --employees 100000`: 13 s became 250 s). One bump per transaction is all a
cache key needs: the value at commit differs from every earlier committed value. A
transaction-local setting remembers the bump; it is undone with the transaction (or the
savepoint) that made it, like the update itself. SQLite is unchanged (its triggers update the
row in place).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES = ("org", "training", "people")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in NAMES:
        # Identifiers come from NAMES, never from input.
        op.execute(
            f"CREATE OR REPLACE FUNCTION bump_{name}_revision() RETURNS trigger AS $$ "  # noqa: S608
            f"BEGIN "
            f"IF coalesce(current_setting('merito.bumped_{name}', true), '') <> 'yes' THEN "
            f"UPDATE data_revision SET value = value + 1 WHERE name = '{name}'; "
            f"PERFORM set_config('merito.bumped_{name}', 'yes', true); "
            f"END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in NAMES:
        op.execute(
            f"CREATE OR REPLACE FUNCTION bump_{name}_revision() RETURNS trigger AS $$ "  # noqa: S608
            f"BEGIN UPDATE data_revision SET value = value + 1 WHERE name = '{name}'; "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )
