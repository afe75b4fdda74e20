"""merge the case tracking branch into the main line

Revision ID: 0007
Revises: 0006, 0300
Create Date: 2026-11-26 07:00:00
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = ("0006", "0300")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
