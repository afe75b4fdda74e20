"""Named, table-level foreign keys on SQLite for report.assignee_id and the channel's lead and
deputy

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Migration 0300 had to add these three columns on SQLite with `ALTER TABLE … ADD COLUMN …
CONSTRAINT fk_… REFERENCES app_user (id) ON DELETE SET NULL`: SQLite cannot add a table
constraint to an existing table. The constraints work, but SQLAlchemy reads a foreign key's
name and ON DELETE rule only from table-level constraints, so autogenerate kept proposing to
drop and re-create them, and a later batch rebuild of these tables would have re-created them
without ON DELETE SET NULL.

This moves each constraint's text from the column to the table's constraint list, which SQLite
documents as a safe edit of the stored schema for a change that leaves the stored rows as they
are (https://sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
the rows, indexes and meaning are unchanged. PostgreSQL already has named table constraints:
nothing to do there.
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS = (
    ("report", "assignee_id"),
    ("report_channel", "lead_user_id"),
    ("report_channel", "deputy_user_id"),
)


def _inline(table: str, column: str) -> re.Pattern:
    return re.compile(
        rf"\b{column} INTEGER CONSTRAINT fk_{table}_{column}_app_user "
        r"REFERENCES app_user \(id\) ON DELETE SET NULL"
    )


def _table_level(table: str, column: str) -> str:
    return (
        f"CONSTRAINT fk_{table}_{column}_app_user FOREIGN KEY({column}) "
        "REFERENCES app_user (id) ON DELETE SET NULL"
    )


def _rewrite(sql: str, table: str, to_table_level: bool) -> str:
    for name, column in FOREIGN_KEYS:
        if name != table:
            continue
        constraint = _table_level(table, column)
        if to_table_level and _inline(table, column).search(sql):
            sql = _inline(table, column).sub(f"{column} INTEGER", sql)
            closing = sql.rstrip().rindex(")")
            sql = f"{sql[:closing].rstrip()}, \n\t{constraint}\n)"
        elif not to_table_level and constraint in sql:
            sql = sql.replace(f", \n\t{constraint}", "")
            sql = re.sub(
                rf"\b{column} INTEGER\b",
                f"{column} INTEGER CONSTRAINT fk_{table}_{column}_app_user "
                "REFERENCES app_user (id) ON DELETE SET NULL",
                sql,
                count=1,
            )
    return sql


def _edit_schema(to_table_level: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    changed = False
    for table in sorted({t for t, _c in FOREIGN_KEYS}):
        row = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).first()
        if row is None:
            continue
        rewritten = _rewrite(row[0], table, to_table_level)
        if rewritten == row[0]:
            continue
        if not changed:
            bind.exec_driver_sql("PRAGMA writable_schema = ON")
            changed = True
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            (rewritten, table),
        )
    if not changed:
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"SQLite integrity check failed after the schema edit: {problems}")


def upgrade() -> None:
    _edit_schema(to_table_level=True)


def downgrade() -> None:
    _edit_schema(to_table_level=False)
