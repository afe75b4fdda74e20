"""Organisation: indexes for the employee list, headcounts, position filters, qualification holders.

Revision ID: org01
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

import backend.db  # noqa: F401 - custom column types

revision: str = "org01"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.create_index(
            "ix_employee_last_name_first_name_id", ["last_name", "first_name", "id"], unique=False
        )
        # (unit_id, status) and (position_id, status) replace the single-column indexes: they
        # serve the same lookups and let headcounts be counted from the index alone.
        batch_op.create_index("ix_employee_unit_id_status", ["unit_id", "status"], unique=False)
        batch_op.create_index(
            "ix_employee_position_id_status", ["position_id", "status"], unique=False
        )
        batch_op.drop_index("ix_employee_unit_id")
        batch_op.drop_index("ix_employee_position_id")
    with op.batch_alter_table("employee_qualification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employee_qualification_qualification_id"),
            ["qualification_id"],
            unique=False,
        )
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_position_job_family"), ["job_family"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_position_job_family"))
    with op.batch_alter_table("employee_qualification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employee_qualification_qualification_id"))
    with op.batch_alter_table("employee", schema=None) as batch_op:
        batch_op.create_index("ix_employee_position_id", ["position_id"], unique=False)
        batch_op.create_index("ix_employee_unit_id", ["unit_id"], unique=False)
        batch_op.drop_index("ix_employee_position_id_status")
        batch_op.drop_index("ix_employee_unit_id_status")
        batch_op.drop_index("ix_employee_last_name_first_name_id")
