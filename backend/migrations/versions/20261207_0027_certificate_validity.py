"""Qualifications and training certificates with validity dates

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401 - custom column types

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A qualification held, and a training certificate, may be valid until a day (NULL: no
    # expiry). Renewal proposals in a plan remember what they renew and its expiry day, so the
    # daily job proposes each renewal once.
    with op.batch_alter_table("employee_qualification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
    with op.batch_alter_table("training_enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_expires_on", sa.Date(), nullable=True))
    with op.batch_alter_table("training_plan_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "renewal_of",
                sqlmodel.sql.sqltypes.AutoString(length=40),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_plan_item", schema=None) as batch_op:
        batch_op.drop_column("expires_on")
        batch_op.drop_column("renewal_of")
    with op.batch_alter_table("training_enrolment", schema=None) as batch_op:
        batch_op.drop_column("certificate_expires_on")
    with op.batch_alter_table("employee_qualification", schema=None) as batch_op:
        batch_op.drop_column("expires_on")
