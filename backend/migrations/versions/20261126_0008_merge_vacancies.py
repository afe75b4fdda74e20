"""merge the vacancy competitions branch into the main line

Revision ID: 0008
Revises: 0007, 0400
Create Date: 2026-11-26 07:00:00
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0007", "0400")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
