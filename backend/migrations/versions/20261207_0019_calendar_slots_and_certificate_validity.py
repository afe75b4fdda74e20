"""Calendar slots for interviews and test sittings; certificate validity

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401 - custom column types

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_calendar_slots()


def downgrade() -> None:
    downgrade_calendar_slots()


# --- calendar slots for interviews and test sittings (assessments/vacancies) ------------------


def upgrade_calendar_slots() -> None:
    op.create_table(
        "vacancy_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("starts_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("video_link", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity",
            name=op.f("ck_vacancy_slot_booked_within_capacity"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_vacancy_slot_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"], ["vacancy.id"], name=op.f("fk_vacancy_slot_vacancy_id_vacancy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancy_slot")),
    )
    with op.batch_alter_table("vacancy_slot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vacancy_slot_list", ["vacancy_id", "kind", "starts_at"], unique=False
        )
    op.create_table(
        "vacancy_slot_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("booked_by_id", sa.Integer(), nullable=True),
        sa.Column("booked_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["vacancy_application.id"],
            name=op.f("fk_vacancy_slot_booking_application_id_vacancy_application"),
        ),
        sa.ForeignKeyConstraint(
            ["booked_by_id"],
            ["app_user.id"],
            name=op.f("fk_vacancy_slot_booking_booked_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["vacancy_slot.id"],
            name=op.f("fk_vacancy_slot_booking_slot_id_vacancy_slot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancy_slot_booking")),
        sa.UniqueConstraint(
            "application_id", "kind", name=op.f("uq_vacancy_slot_booking_application_id_kind")
        ),
    )
    with op.batch_alter_table("vacancy_slot_booking", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vacancy_slot_booking_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vacancy_slot_booking_slot_id"), ["slot_id"], unique=False
        )


def downgrade_calendar_slots() -> None:
    op.drop_table("vacancy_slot_booking")
    op.drop_table("vacancy_slot")
