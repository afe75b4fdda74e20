"""merge the appraisal reminder mail and the declared-interest / deferred-audit branches

Revision ID: 0012
Revises: 0011a, 0011w
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | Sequence[str] | None = ("0011a", "0011w")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
