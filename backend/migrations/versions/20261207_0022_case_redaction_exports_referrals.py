"""Cases: redactions, signed exports, authorities and referrals

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401 - custom column types

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    random_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "case_redaction",
        sa.Column("id", random_id, autoincrement=False, nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("item_uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("attachment_uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_case_redaction_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_case_redaction_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_redaction")),
        sa.UniqueConstraint("uid", name=op.f("uq_case_redaction_uid")),
    )
    op.create_index("ix_case_redaction_report_id", "case_redaction", ["report_id"])
    op.create_table(
        "case_redaction_key",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_case_redaction_key_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_case_redaction_key")),
    )
    op.create_table(
        "case_redacted_copy",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("prepared_on", sa.Date(), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["prepared_by_id"],
            ["app_user.id"],
            name=op.f("fk_case_redacted_copy_prepared_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_case_redacted_copy_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_case_redacted_copy")),
    )
    op.create_table(
        "case_viewer",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["app_user.id"],
            name=op.f("fk_case_viewer_granted_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_case_viewer_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_case_viewer_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "user_id", name=op.f("pk_case_viewer")),
    )
    op.create_index("ix_case_viewer_user_id", "case_viewer", ["user_id"])
    op.create_table(
        "referral_authority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_authority")),
        sa.UniqueConstraint("recipient", name=op.f("uq_referral_authority_recipient")),
    )
    op.create_table(
        "case_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("referred_by_id", sa.Integer(), nullable=True),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["referral_authority.id"],
            name=op.f("fk_case_referral_authority_id_referral_authority"),
        ),
        sa.ForeignKeyConstraint(
            ["referred_by_id"],
            ["app_user.id"],
            name=op.f("fk_case_referral_referred_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_case_referral_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_referral")),
        sa.UniqueConstraint("uid", name=op.f("uq_case_referral_uid")),
    )
    op.create_index("ix_case_referral_authority_id", "case_referral", ["authority_id"])
    op.create_index("ix_case_referral_report_id", "case_referral", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_case_referral_report_id", table_name="case_referral")
    op.drop_index("ix_case_referral_authority_id", table_name="case_referral")
    op.drop_table("case_referral")
    op.drop_table("referral_authority")
    op.drop_index("ix_case_viewer_user_id", table_name="case_viewer")
    op.drop_table("case_viewer")
    op.drop_table("case_redacted_copy")
    op.drop_table("case_redaction_key")
    op.drop_index("ix_case_redaction_report_id", table_name="case_redaction")
    op.drop_table("case_redaction")
