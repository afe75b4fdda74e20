"""merge the training branch into the main line

Revision ID: 0006
Revises: 0005, 0600
Create Date: 2026-11-26 07:00:00
"""

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | Sequence[str] | None = ("0005", "0600")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
