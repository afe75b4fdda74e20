"""auth accounts and login failures

Sign-in attempts are counted by one conditional upsert before they are checked (issue #21):
`locked_until` is gone (a key is locked while its window holds the limit). Keys become keyed
hashes (HMAC with the installation secret) instead of a plain SHA-256 of the email, so the rows
kept until now, which named accounts to anyone hashing a list of addresses, are deleted; they
were at most 15 minutes of throttling. `app_user.must_change_password` marks an account whose
password an administrator chose: its holder must choose their own before anything else.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_throttle"))
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    op.execute(sa.text("DELETE FROM login_throttle"))
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", backend.db.UTCDateTime(timezone=True), nullable=True)
        )
