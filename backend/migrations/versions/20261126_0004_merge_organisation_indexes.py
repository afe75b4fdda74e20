"""merge the organisation indexes branch into the main line

Revision ID: 0004
Revises: 0003, org01
Create Date: 2026-11-26 07:00:00
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003", "org01")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
