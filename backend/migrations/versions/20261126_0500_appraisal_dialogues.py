"""appraisal dialogues: plan, cycles, appraisals, objectives, blind assessments, dialogues,
development actions, manager training, reminders

Revision ID: 0500
Revises: 0002, 0100, 0200 (all heads of the appraisals branch)
Create Date: 2026-11-26 06:29:18.998325
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db  # noqa: F401 - custom column types

revision: str = "0500"
down_revision: str | Sequence[str] | None = ("0002", "0100", "0200")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appraisal_cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("plan_year", sa.Integer(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("require_trained_managers", sa.Boolean(), nullable=False),
        sa.Column("appraisal_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["app_user.id"],
            name=op.f("fk_appraisal_cycle_completed_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["app_user.id"], name=op.f("fk_appraisal_cycle_opened_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_cycle")),
    )
    op.create_table(
        "manager_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_manager_training_employee_id_employee")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f("fk_manager_training_recorded_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manager_training")),
    )
    with op.batch_alter_table("manager_training", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_training_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "plan_priority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_plan_priority_created_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_priority")),
        sa.UniqueConstraint("year", "title", name=op.f("uq_plan_priority_year_title")),
    )
    with op.batch_alter_table("plan_priority", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_priority_year"), ["year"], unique=False)

    op.create_table(
        "appraisal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("appraiser_id", sa.Integer(), nullable=True),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("objectives_proposed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("objectives_agreed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("self_submitted_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("supervisor_submitted_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("objectives_score", sa.Float(), nullable=True),
        sa.Column("competency_score", sa.Float(), nullable=True),
        sa.Column("weighted_score", sa.Float(), nullable=True),
        sa.Column("supervisor_rating", sa.Integer(), nullable=True),
        sa.Column(
            "supervisor_reasons", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False
        ),
        sa.Column("supervisor_signed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("employee_signed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disagreement", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("escalated_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_rating", sa.Integer(), nullable=True),
        sa.Column("review_reasons", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("reviewed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("final_rating", sa.Integer(), nullable=True),
        sa.Column("completed_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_back_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "sent_back_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False
        ),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "final_rating BETWEEN 1 AND 5", name=op.f("ck_appraisal_final_rating_on_scale")
        ),
        sa.CheckConstraint(
            "review_rating BETWEEN 1 AND 5", name=op.f("ck_appraisal_review_rating_on_scale")
        ),
        sa.CheckConstraint(
            "supervisor_rating BETWEEN 1 AND 5",
            name=op.f("ck_appraisal_supervisor_rating_on_scale"),
        ),
        sa.ForeignKeyConstraint(
            ["appraiser_id"], ["employee.id"], name=op.f("fk_appraisal_appraiser_id_employee")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["appraisal_cycle.id"],
            name=op.f("fk_appraisal_cycle_id_appraisal_cycle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employee.id"], name=op.f("fk_appraisal_employee_id_employee")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"], ["position.id"], name=op.f("fk_appraisal_position_id_position")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["app_user.id"], name=op.f("fk_appraisal_reviewed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["employee.id"], name=op.f("fk_appraisal_reviewer_id_employee")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_appraisal_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal")),
        sa.UniqueConstraint(
            "cycle_id", "employee_id", name=op.f("uq_appraisal_cycle_id_employee_id")
        ),
    )
    with op.batch_alter_table("appraisal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appraisal_cycle_id_appraiser_id", ["cycle_id", "appraiser_id"], unique=False
        )
        batch_op.create_index(
            "ix_appraisal_cycle_id_unit_id_stage", ["cycle_id", "unit_id", "stage"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appraisal_employee_id"), ["employee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appraisal_reviewer_id"), ["reviewer_id"], unique=False)

    op.create_table(
        "appraisal_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("recipient_employee_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("sent_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["appraisal_cycle.id"],
            name=op.f("fk_appraisal_reminder_cycle_id_appraisal_cycle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_employee_id"],
            ["employee.id"],
            name=op.f("fk_appraisal_reminder_recipient_employee_id_employee"),
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"], ["app_user.id"], name=op.f("fk_appraisal_reminder_sent_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_reminder")),
    )
    with op.batch_alter_table("appraisal_reminder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appraisal_reminder_cycle_id"), ["cycle_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appraisal_reminder_recipient_employee_id"),
            ["recipient_employee_id"],
            unique=False,
        )

    op.create_table(
        "unit_objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("priority_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_unit_objective_created_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["plan_priority.id"],
            name=op.f("fk_unit_objective_priority_id_plan_priority"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_unit_objective_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_objective")),
    )
    with op.batch_alter_table("unit_objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_objective_priority_id"), ["priority_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_unit_objective_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_objective_year"), ["year"], unique=False)

    op.create_table(
        "appraisal_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("side", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("achievements", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("to_improve", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_appraisal_assessment_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"],
            ["app_user.id"],
            name=op.f("fk_appraisal_assessment_written_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_assessment")),
        sa.UniqueConstraint(
            "appraisal_id", "side", name=op.f("uq_appraisal_assessment_appraisal_id_side")
        ),
    )
    with op.batch_alter_table("appraisal_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appraisal_assessment_appraisal_id"), ["appraisal_id"], unique=False
        )

    op.create_table(
        "appraisal_dialogue",
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("achievements", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("barriers", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("support_needed", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("next_objectives", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_appraisal_dialogue_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f("fk_appraisal_dialogue_recorded_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("appraisal_id", name=op.f("pk_appraisal_dialogue")),
    )
    op.create_table(
        "appraisal_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_appraisal_step_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["app_user.id"], name=op.f("fk_appraisal_step_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_step")),
    )
    with op.batch_alter_table("appraisal_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appraisal_step_appraisal_id"), ["appraisal_id"], unique=False
        )

    op.create_table(
        "development_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("due_by", sa.Date(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_development_action_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employee.id"],
            name=op.f("fk_development_action_employee_id_employee"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_development_action")),
    )
    with op.batch_alter_table("development_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_development_action_appraisal_id"), ["appraisal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_development_action_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "team_objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_objective_id", sa.Integer(), nullable=True),
        sa.Column("priority_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(unit_objective_id IS NULL) <> (priority_id IS NULL)",
            name=op.f("ck_team_objective_one_link"),
        ),
        sa.CheckConstraint("weight BETWEEN 1 AND 100", name=op.f("ck_team_objective_weight_range")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_team_objective_created_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["appraisal_cycle.id"],
            name=op.f("fk_team_objective_cycle_id_appraisal_cycle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["plan_priority.id"],
            name=op.f("fk_team_objective_priority_id_plan_priority"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_team_objective_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["unit_objective_id"],
            ["unit_objective.id"],
            name=op.f("fk_team_objective_unit_objective_id_unit_objective"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_objective")),
    )
    with op.batch_alter_table("team_objective", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_objective_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_objective_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("team_objective_id", sa.Integer(), nullable=True),
        sa.Column("unit_objective_id", sa.Integer(), nullable=True),
        sa.Column("priority_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(unit_objective_id IS NULL) <> (priority_id IS NULL)",
            name=op.f("ck_objective_one_link"),
        ),
        sa.CheckConstraint("weight BETWEEN 1 AND 100", name=op.f("ck_objective_weight_range")),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisal.id"],
            name=op.f("fk_objective_appraisal_id_appraisal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["plan_priority.id"],
            name=op.f("fk_objective_priority_id_plan_priority"),
        ),
        sa.ForeignKeyConstraint(
            ["team_objective_id"],
            ["team_objective.id"],
            name=op.f("fk_objective_team_objective_id_team_objective"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_objective_id"],
            ["unit_objective.id"],
            name=op.f("fk_objective_unit_objective_id_unit_objective"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective")),
    )
    with op.batch_alter_table("objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_objective_appraisal_id"), ["appraisal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_objective_team_objective_id"), ["team_objective_id"], unique=False
        )

    op.create_table(
        "objective_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=True),
        sa.Column("team_objective_id", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(objective_id IS NULL) <> (team_objective_id IS NULL)",
            name=op.f("ck_objective_progress_one_target"),
        ),
        sa.CheckConstraint(
            "percent BETWEEN 0 AND 100", name=op.f("ck_objective_progress_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["objective.id"],
            name=op.f("fk_objective_progress_objective_id_objective"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f("fk_objective_progress_recorded_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["team_objective_id"],
            ["team_objective.id"],
            name=op.f("fk_objective_progress_team_objective_id_team_objective"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_progress")),
    )
    with op.batch_alter_table("objective_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_objective_progress_objective_id"), ["objective_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_objective_progress_team_objective_id"),
            ["team_objective_id"],
            unique=False,
        )

    op.create_table(
        "objective_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.CheckConstraint(
            "rating BETWEEN 1 AND 5", name=op.f("ck_objective_rating_rating_on_scale")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["appraisal_assessment.id"],
            name=op.f("fk_objective_rating_assessment_id_appraisal_assessment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["objective.id"],
            name=op.f("fk_objective_rating_objective_id_objective"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_rating")),
        sa.UniqueConstraint(
            "assessment_id",
            "objective_id",
            name=op.f("uq_objective_rating_assessment_id_objective_id"),
        ),
    )
    with op.batch_alter_table("objective_rating", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_objective_rating_assessment_id"), ["assessment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_objective_rating_objective_id"), ["objective_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("objective_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objective_rating_objective_id"))
        batch_op.drop_index(batch_op.f("ix_objective_rating_assessment_id"))

    op.drop_table("objective_rating")
    with op.batch_alter_table("objective_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objective_progress_team_objective_id"))
        batch_op.drop_index(batch_op.f("ix_objective_progress_objective_id"))

    op.drop_table("objective_progress")
    with op.batch_alter_table("objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objective_team_objective_id"))
        batch_op.drop_index(batch_op.f("ix_objective_appraisal_id"))

    op.drop_table("objective")
    with op.batch_alter_table("team_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_objective_unit_id"))
        batch_op.drop_index(batch_op.f("ix_team_objective_cycle_id"))

    op.drop_table("team_objective")
    with op.batch_alter_table("development_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_development_action_employee_id"))
        batch_op.drop_index(batch_op.f("ix_development_action_appraisal_id"))

    op.drop_table("development_action")
    with op.batch_alter_table("appraisal_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_step_appraisal_id"))

    op.drop_table("appraisal_step")
    op.drop_table("appraisal_dialogue")
    with op.batch_alter_table("appraisal_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_assessment_appraisal_id"))

    op.drop_table("appraisal_assessment")
    with op.batch_alter_table("unit_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_objective_year"))
        batch_op.drop_index(batch_op.f("ix_unit_objective_unit_id"))
        batch_op.drop_index(batch_op.f("ix_unit_objective_priority_id"))

    op.drop_table("unit_objective")
    with op.batch_alter_table("appraisal_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_reminder_recipient_employee_id"))
        batch_op.drop_index(batch_op.f("ix_appraisal_reminder_cycle_id"))

    op.drop_table("appraisal_reminder")
    with op.batch_alter_table("appraisal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_appraisal_employee_id"))
        batch_op.drop_index("ix_appraisal_cycle_id_unit_id_stage")
        batch_op.drop_index("ix_appraisal_cycle_id_appraiser_id")

    op.drop_table("appraisal")
    with op.batch_alter_table("plan_priority", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_priority_year"))

    op.drop_table("plan_priority")
    with op.batch_alter_table("manager_training", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_training_employee_id"))

    op.drop_table("manager_training")
    op.drop_table("appraisal_cycle")
