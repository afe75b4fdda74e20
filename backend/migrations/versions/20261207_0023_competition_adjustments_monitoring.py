"""Competitions: reasonable adjustments, equal-opportunity monitoring, rater relations

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401 - custom column types

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adjustment_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("extra_minutes", sa.Integer(), nullable=False),
        sa.Column("extra_percent", sa.Integer(), nullable=False),
        sa.Column("details", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("requested_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("granted_kinds", sa.JSON(), nullable=False),
        sa.Column("granted_minutes", sa.Integer(), nullable=False),
        sa.Column("decision_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "extra_minutes >= 0 AND extra_minutes <= 600",
            name=op.f("ck_adjustment_request_extra_minutes_range"),
        ),
        sa.CheckConstraint(
            "granted_minutes >= 0 AND granted_minutes <= 600",
            name=op.f("ck_adjustment_request_granted_minutes_range"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["vacancy_application.id"],
            name=op.f("fk_adjustment_request_application_id_vacancy_application"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_adjustment_request_decided_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"], ["vacancy.id"], name=op.f("fk_adjustment_request_vacancy_id_vacancy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustment_request")),
        sa.UniqueConstraint("application_id", name=op.f("uq_adjustment_request_application_id")),
    )
    with op.batch_alter_table("adjustment_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adjustment_request_vacancy_id"), ["vacancy_id"], unique=False
        )

    op.create_table(
        "monitoring_response",
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=False),
        sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("age_band", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("disability", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "indigenous_language", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"], ["vacancy.id"], name=op.f("fk_monitoring_response_vacancy_id_vacancy")
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_monitoring_response")),
    )
    with op.batch_alter_table("monitoring_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_response_vacancy_id"), ["vacancy_id"], unique=False
        )

    with op.batch_alter_table("conflict_declaration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "relation",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("conflict_declaration", schema=None) as batch_op:
        batch_op.drop_column("relation")
    with op.batch_alter_table("monitoring_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_response_vacancy_id"))
    op.drop_table("monitoring_response")
    with op.batch_alter_table("adjustment_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adjustment_request_vacancy_id"))
    op.drop_table("adjustment_request")
