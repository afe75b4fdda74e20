"""training: catalogue, sessions, budgets, plans, enrolments, supplier learners, mentoring

Revision ID: 0600
Revises: 0002, 0100, 0200
Create Date: 2026-11-26 07:21:40.717179
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db  # noqa: F401 - custom column types

revision: str = "0600"
# Every head of the branch this was written on (the foundation, competencies, reporting).
down_revision: str | Sequence[str] | None = ("0002", "0100", "0200")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title_es", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description_es", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("description_en", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("modality", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=True),
        sa.Column("is_induction", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity >= 0", name=op.f("ck_training_activity_capacity_not_negative")
        ),
        sa.CheckConstraint("cost >= 0", name=op.f("ck_training_activity_cost_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_activity")),
    )
    with op.batch_alter_table("training_activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_activity_code"), ["code"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_training_activity_modality"), ["modality"], unique=False
        )

    op.create_table(
        "training_activity_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "from_level >= 0 AND to_level <= 4 AND from_level < to_level",
            name=op.f("ck_training_activity_target_levels_rise"),
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["training_activity.id"],
            name=op.f("fk_training_activity_target_activity_id_training_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["competency.id"],
            name=op.f("fk_training_activity_target_competency_id_competency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_activity_target")),
        sa.UniqueConstraint(
            "activity_id",
            "competency_id",
            name=op.f("uq_training_activity_target_activity_id_competency_id"),
        ),
    )
    with op.batch_alter_table("training_activity_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_activity_target_activity_id"), ["activity_id"], unique=False
        )

    op.create_table(
        "training_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["training_activity.id"],
            name=op.f("fk_training_session_activity_id_training_activity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_session")),
    )
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_session_activity_id"), ["activity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_session_starts_at"), ["starts_at"], unique=False
        )

    op.create_table(
        "training_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_training_budget_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_training_budget_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_budget_updated_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_budget")),
        sa.UniqueConstraint("unit_id", "year", name=op.f("uq_training_budget_unit_id_year")),
    )
    with op.batch_alter_table("training_budget", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_budget_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "training_external_learner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("tax_id", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_external_learner_created_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_training_external_learner_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_external_learner")),
        sa.UniqueConstraint("user_id", name=op.f("uq_training_external_learner_user_id")),
    )
    with op.batch_alter_table("training_external_learner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_external_learner_email"), ["email"], unique=True
        )

    op.create_table(
        "training_mentor_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_employee_id", sa.Integer(), nullable=False),
        sa.Column("mentee_employee_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_mentor_assignment_assigned_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["competency.id"],
            name=op.f("fk_training_mentor_assignment_competency_id_competency"),
        ),
        sa.ForeignKeyConstraint(
            ["mentee_employee_id"],
            ["employee.id"],
            name=op.f("fk_training_mentor_assignment_mentee_employee_id_employee"),
        ),
        sa.ForeignKeyConstraint(
            ["mentor_employee_id"],
            ["employee.id"],
            name=op.f("fk_training_mentor_assignment_mentor_employee_id_employee"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_mentor_assignment")),
    )
    with op.batch_alter_table("training_mentor_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_mentor_assignment_mentee_employee_id"),
            ["mentee_employee_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_training_mentor_assignment_mentor_employee_id"),
            ["mentor_employee_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_training_mentor_assignment_status"), ["status"], unique=False
        )

    op.create_table(
        "training_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("proposed_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "over_budget_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_plan_approved_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_training_plan_employee_id_employee")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_training_plan_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_plan")),
        sa.UniqueConstraint("employee_id", "year", name=op.f("uq_training_plan_employee_id_year")),
    )
    with op.batch_alter_table("training_plan", schema=None) as batch_op:
        batch_op.create_index("ix_training_plan_unit_year", ["unit_id", "year"], unique=False)

    op.create_table(
        "training_plan_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("competency_id", sa.Integer(), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("gap", sa.Integer(), nullable=False),
        sa.Column("current_level", sa.Integer(), nullable=True),
        sa.Column("target_level", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=True),
        sa.Column("development_action_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("cost >= 0", name=op.f("ck_training_plan_item_cost_not_negative")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_plan_item_decided_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["training_plan.id"],
            name=op.f("fk_training_plan_item_plan_id_training_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_plan_item")),
    )
    with op.batch_alter_table("training_plan_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_plan_item_employee_id"), ["employee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_plan_item_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "training_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("learner_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        sa.Column("promoted_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("completed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("certificate_file", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("certificate_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("certificate_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column(
            "certificate_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("evidence_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("rating_entry_ids", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "(employee_id IS NULL) <> (learner_id IS NULL)",
            name=op.f("ck_training_enrolment_one_learner"),
        ),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 100)",
            name=op.f("ck_training_enrolment_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["training_activity.id"],
            name=op.f("fk_training_enrolment_activity_id_training_activity"),
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_enrolment_cancelled_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_enrolment_completed_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employee.id"],
            name=op.f("fk_training_enrolment_employee_id_employee"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolled_by_id"],
            ["app_user.id"],
            name=op.f("fk_training_enrolment_enrolled_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["training_external_learner.id"],
            name=op.f("fk_training_enrolment_learner_id_training_external_learner"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["training_plan_item.id"],
            name=op.f("fk_training_enrolment_plan_item_id_training_plan_item"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_session.id"],
            name=op.f("fk_training_enrolment_session_id_training_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_enrolment")),
    )
    with op.batch_alter_table("training_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_enrolment_activity_id"), ["activity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_enrolment_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_enrolment_employee_id"), ["employee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_enrolment_learner_id"), ["learner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_enrolment_plan_item_id"), ["plan_item_id"], unique=False
        )
        batch_op.create_index(
            "ix_training_enrolment_session_status", ["session_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("training_enrolment", schema=None) as batch_op:
        batch_op.drop_index("ix_training_enrolment_session_status")
        batch_op.drop_index(batch_op.f("ix_training_enrolment_plan_item_id"))
        batch_op.drop_index(batch_op.f("ix_training_enrolment_learner_id"))
        batch_op.drop_index(batch_op.f("ix_training_enrolment_employee_id"))
        batch_op.drop_index(batch_op.f("ix_training_enrolment_completed_at"))
        batch_op.drop_index(batch_op.f("ix_training_enrolment_activity_id"))

    op.drop_table("training_enrolment")
    with op.batch_alter_table("training_plan_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_plan_item_plan_id"))
        batch_op.drop_index(batch_op.f("ix_training_plan_item_employee_id"))

    op.drop_table("training_plan_item")
    with op.batch_alter_table("training_plan", schema=None) as batch_op:
        batch_op.drop_index("ix_training_plan_unit_year")

    op.drop_table("training_plan")
    with op.batch_alter_table("training_mentor_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_mentor_assignment_status"))
        batch_op.drop_index(batch_op.f("ix_training_mentor_assignment_mentor_employee_id"))
        batch_op.drop_index(batch_op.f("ix_training_mentor_assignment_mentee_employee_id"))

    op.drop_table("training_mentor_assignment")
    with op.batch_alter_table("training_external_learner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_external_learner_email"))

    op.drop_table("training_external_learner")
    with op.batch_alter_table("training_budget", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_budget_unit_id"))

    op.drop_table("training_budget")
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_session_starts_at"))
        batch_op.drop_index(batch_op.f("ix_training_session_activity_id"))

    op.drop_table("training_session")
    with op.batch_alter_table("training_activity_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_activity_target_activity_id"))

    op.drop_table("training_activity_target")
    with op.batch_alter_table("training_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_activity_modality"))
        batch_op.drop_index(batch_op.f("ix_training_activity_code"))

    op.drop_table("training_activity")
