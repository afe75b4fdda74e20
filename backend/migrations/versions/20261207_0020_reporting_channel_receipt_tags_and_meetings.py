"""Reporting channel: receipt tags, submission challenge, meeting requests, external authorities info

Issue #16, "a channel nobody can jam" and the channel page:

* `report.receipt_tagged`: receipts now end in a keyed tag; reports filed before keep false
  (their 24-symbol receipts go through their own budget, docs/security.md).
* `report.awaiting_confirmation` / `confirmed_on`: reports accepted during a submission flood
  start their statutory clocks only when an investigator confirms them.
* `receipt_throttle` rows 2 (receipts issued before tags) and 3 (new reports).
* `external_authority`: the competent authorities listed on the channel page.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401 - custom column types

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        # Existing reports gave out receipts without a tag.
        batch_op.add_column(
            sa.Column("receipt_tagged", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "awaiting_confirmation", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("confirmed_on", sa.Date(), nullable=True))
    op.execute(sa.text("INSERT INTO receipt_throttle (id, full_at) VALUES (2, 0.0), (3, 0.0)"))
    op.create_table(
        "external_authority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_es", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description_es", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("description_en", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_authority")),
    )


def downgrade() -> None:
    op.drop_table("external_authority")
    op.execute(sa.text("DELETE FROM receipt_throttle WHERE id IN (2, 3)"))
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("confirmed_on")
        batch_op.drop_column("awaiting_confirmation")
        batch_op.drop_column("receipt_tagged")
