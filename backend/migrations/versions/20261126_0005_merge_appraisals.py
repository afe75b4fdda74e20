"""merge the appraisal dialogues branch into the main line

Revision ID: 0005
Revises: 0004, 0500
Create Date: 2026-11-26 07:00:00
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0004", "0500")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
