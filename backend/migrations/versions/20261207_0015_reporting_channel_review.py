"""reporting channel review

Issue #21, the reporting channel's part:

* `receipt_throttle` keeps one number, `full_at` (when the budget of receipt attempts is whole
  again), charged by one conditional UPDATE before any key derivation; `tokens` and
  `refilled_at` (the moment of the latest failure) are gone. The row starts whole.
* `reporter_session` keeps the day a session ends (`expires_on`) instead of its exact end (a
  time of day, sign-in + 30 minutes); the exact end is now sealed with the session's key.
  Sessions open now are deleted: their reporters enter their receipt again.
* The tables where reporters' and staff's rows sit side by side take random 63-bit ids instead
  of a sequence (BIGINT on PostgreSQL; SQLite's INTEGER key is 64-bit already), so an id no
  longer orders a reporter's message between two timed staff actions. Rows kept keep their ids.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_ID_TABLES = (
    "report_item",
    "report_attachment",
    "report_key_wrap",
    "reporter_session",
    "notification",
    "complaint_item",
    "complaint_attachment",
    "complaint_key_wrap",
)


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM receipt_throttle"))
    with op.batch_alter_table("receipt_throttle", recreate="always") as batch_op:
        batch_op.drop_column("tokens")
        batch_op.drop_column("refilled_at")
        batch_op.add_column(sa.Column("full_at", sa.Float(), nullable=False))
    op.execute(sa.text("INSERT INTO receipt_throttle (id, full_at) VALUES (1, 0)"))

    op.execute(sa.text("DELETE FROM reporter_session"))
    with op.batch_alter_table("reporter_session", recreate="always") as batch_op:
        batch_op.drop_index("ix_reporter_session_expires_at")
        batch_op.drop_column("expires_at")
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=False))
        batch_op.create_index("ix_reporter_session_expires_on", ["expires_on"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in RANDOM_ID_TABLES:
            op.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT"))
            op.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN id TYPE BIGINT"))
            op.execute(sa.text(f"DROP SEQUENCE IF EXISTS {table}_id_seq"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Random ids do not fit the old INTEGER: the columns stay BIGINT, numbered again from
        # a sequence that starts above every id in use.
        for table in RANDOM_ID_TABLES:
            op.execute(sa.text(f"CREATE SEQUENCE {table}_id_seq OWNED BY {table}.id"))
            next_id = f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table})"  # noqa: S608 (constant)
            op.execute(sa.text(f"SELECT setval('{table}_id_seq', {next_id}, false)"))
            op.execute(
                sa.text(
                    f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')"
                )
            )

    op.execute(sa.text("DELETE FROM reporter_session"))
    with op.batch_alter_table("reporter_session", recreate="always") as batch_op:
        batch_op.drop_index("ix_reporter_session_expires_on")
        batch_op.drop_column("expires_on")
        batch_op.add_column(
            sa.Column("expires_at", backend.db.UTCDateTime(timezone=True), nullable=False)
        )
        batch_op.create_index("ix_reporter_session_expires_at", ["expires_at"], unique=False)

    op.execute(sa.text("DELETE FROM receipt_throttle"))
    with op.batch_alter_table("receipt_throttle", recreate="always") as batch_op:
        batch_op.drop_column("full_at")
        batch_op.add_column(sa.Column("tokens", sa.Float(), nullable=False))
        batch_op.add_column(
            sa.Column("refilled_at", backend.db.UTCDateTime(timezone=True), nullable=False)
        )
