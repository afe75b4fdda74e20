"""investigators' declared interests; audit entries kept back until their day is over

Revision ID: 0011w
Revises: 0010
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011w"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "declared_interest",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("unit_ids", sa.JSON(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_declared_interest_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_declared_interest")),
    )
    op.create_table(
        "audit_deferred",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=60), nullable=False),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_deferred")),
    )
    with op.batch_alter_table("audit_deferred", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_deferred_on"), ["on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_deferred", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_deferred_on"))
    op.drop_table("audit_deferred")
    op.drop_table("declared_interest")
