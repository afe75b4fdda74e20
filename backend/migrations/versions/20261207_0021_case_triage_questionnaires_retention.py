"""Cases: triage priority, channel questionnaires, retention holds

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

The new columns of `report` and `report_channel` are plain numbers with a server default for
the rows already there (no foreign key: SQLite would have to rebuild `report`). Reports filed
before this migration count no red flag points until a holder opens them (the flags are sealed;
whistleblowing.service.triage recounts them then).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import backend.db  # noqa: F401 - custom column types

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "report_channel",
        sa.Column("priority_weight", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "report", sa.Column("red_flag_points", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("report", sa.Column("questionnaire_version", sa.Integer(), nullable=True))
    op.create_table(
        "channel_questionnaire",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["report_channel.id"],
            name=op.f("fk_channel_questionnaire_channel_id_report_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["app_user.id"],
            name=op.f("fk_channel_questionnaire_published_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_questionnaire")),
        sa.UniqueConstraint(
            "channel_id", "version", name=op.f("uq_channel_questionnaire_channel_id_version")
        ),
    )
    op.create_index(
        op.f("ix_channel_questionnaire_channel_id"),
        "channel_questionnaire",
        ["channel_id"],
        unique=False,
    )
    op.create_table(
        "report_priority_override",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_priority_override_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["app_user.id"],
            name=op.f("fk_report_priority_override_set_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_priority_override")),
    )
    op.create_table(
        "report_retention_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=True),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["placed_by_id"],
            ["app_user.id"],
            name=op.f("fk_report_retention_hold_placed_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["app_user.id"],
            name=op.f("fk_report_retention_hold_released_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_retention_hold_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_retention_hold")),
    )
    op.create_index(
        op.f("ix_report_retention_hold_report_id"),
        "report_retention_hold",
        ["report_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_report_retention_hold_report_id"), table_name="report_retention_hold")
    op.drop_table("report_retention_hold")
    op.drop_table("report_priority_override")
    op.drop_index(op.f("ix_channel_questionnaire_channel_id"), table_name="channel_questionnaire")
    op.drop_table("channel_questionnaire")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("questionnaire_version")
        batch_op.drop_column("red_flag_points")
    with op.batch_alter_table("report_channel", schema=None) as batch_op:
        batch_op.drop_column("priority_weight")
