"""Appraisals: 360-degree and upward feedback

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("opened_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["app_user.id"], name=op.f("fk_feedback_round_closed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["appraisal_cycle.id"],
            name=op.f("fk_feedback_round_cycle_id_appraisal_cycle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["app_user.id"], name=op.f("fk_feedback_round_opened_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_round")),
        sa.UniqueConstraint("cycle_id", name=op.f("uq_feedback_round_cycle_id")),
    )
    op.create_table(
        "feedback_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("relation", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_feedback_invitation_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["app_user.id"],
            name=op.f("fk_feedback_invitation_invited_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["employee.id"], name=op.f("fk_feedback_invitation_rater_id_employee")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["feedback_round.id"],
            name=op.f("fk_feedback_invitation_round_id_feedback_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_invitation")),
        sa.UniqueConstraint(
            "round_id",
            "appraisal_id",
            "rater_id",
            name=op.f("uq_feedback_invitation_round_id_appraisal_id_rater_id"),
        ),
    )
    with op.batch_alter_table("feedback_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_invitation_appraisal_id"), ["appraisal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_invitation_rater_id"), ["rater_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_invitation_round_id"), ["round_id"], unique=False
        )

    op.create_table(
        "feedback_answer",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_feedback_answer_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["feedback_round.id"],
            name=op.f("fk_feedback_answer_round_id_feedback_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_answer")),
    )
    with op.batch_alter_table("feedback_answer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_answer_appraisal_id_own", ["appraisal_id", "own"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_feedback_answer_round_id"), ["round_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_answer_round_id"))
        batch_op.drop_index("ix_feedback_answer_appraisal_id_own")
    op.drop_table("feedback_answer")
    with op.batch_alter_table("feedback_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_invitation_round_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_invitation_rater_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_invitation_appraisal_id"))
    op.drop_table("feedback_invitation")
    op.drop_table("feedback_round")
