"""appraisal reminders are emailed: their mail status, attempts and time

Revision ID: 0011a
Revises: 0010
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = "0011a"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reminders recorded before this version keep a NULL status: they are never emailed.
    with op.batch_alter_table("appraisal_reminder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mail_status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )
        batch_op.add_column(
            sa.Column("mail_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("mailed_at", backend.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_appraisal_reminder_mail_status"), ["mail_status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("appraisal_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_reminder_mail_status"))
        batch_op.drop_column("mailed_at")
        batch_op.drop_column("mail_attempts")
        batch_op.drop_column("mail_status")
