"""Privacy: notices, ARCO requests, retention rules

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db  # noqa: F401 - custom column types

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title_es", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body_es", sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
        sa.Column("body_en", sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
        sa.Column("published_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["app_user.id"],
            name=op.f("fk_privacy_notice_published_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_notice")),
        sa.UniqueConstraint("purpose", "version", name=op.f("uq_privacy_notice_purpose_version")),
    )
    with op.batch_alter_table("privacy_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_notice_purpose"), ["purpose"], unique=False)

    op.create_table(
        "arco_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("details", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("filed_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("applied", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("answered_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["app_user.id"],
            name=op.f("fk_arco_request_answered_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_arco_request_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arco_request")),
    )
    with op.batch_alter_table("arco_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arco_request_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_arco_request_user_id"), ["user_id"], unique=False)

    op.create_table(
        "privacy_retention_period",
        sa.Column("record_type", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
            name=op.f("fk_privacy_retention_period_updated_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("record_type", name=op.f("pk_privacy_retention_period")),
    )


def downgrade() -> None:
    op.drop_table("privacy_retention_period")
    with op.batch_alter_table("arco_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arco_request_user_id"))
        batch_op.drop_index(batch_op.f("ix_arco_request_status"))
    op.drop_table("arco_request")
    with op.batch_alter_table("privacy_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_notice_purpose"))
    op.drop_table("privacy_notice")
