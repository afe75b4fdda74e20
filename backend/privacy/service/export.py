"""A person's data export: everything Mérito holds about them, as a ZIP of JSON and CSV files.

The core writes the account, the employee record and the privacy requests; every domain adds
its own tables through the `privacy.export` hook (`backend.privacy.contracts`). Nothing that
would identify a reporter or a protected person is exported: the reporting channel contributes
no link between a person and a report or complaint (docs/privacy.md).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock, plugins
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.i18n import _, get_locale
from backend.org.models import Employee, EmployeeStatusChange
from backend.privacy.contracts import ExportPart, ExportSubject
from backend.privacy.models import ArcoRequest
from backend.privacy.service import notices

EXPORT_MOMENT = "privacy.export"
_SAFE_PATH = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*\.(json|csv)$")
# Never exported, whatever the table: secrets and what only protects the account.
_SECRET_FIELDS = ("password_hash", "totp_secret", "totp_last_step", "token_hash")


def plain(value: Any) -> Any:
    """A JSON- and CSV-friendly copy of a value (dates as ISO text, enums as their value)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record_rows(records: list[Any], *, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of SQLModel records for an export part, without secrets and the `drop` fields."""
    rows = []
    for record in records:
        row = record.model_dump()
        rows.append({k: plain(v) for k, v in row.items() if k not in _SECRET_FIELDS + drop})
    return rows


def subject_of(user: User) -> ExportSubject:
    return ExportSubject(user_id=user.id, employee_id=user.employee_id, email=user.email)


def _core_parts(session: Session, user: User) -> list[ExportPart]:
    account = record_rows([user])[0]
    account["roles"] = sorted(r.value for r in auth_service.roles_of(session, user))
    parts = [ExportPart("account.json", account)]
    if user.employee_id:
        employee = session.get(Employee, user.employee_id)
        if employee is not None:
            parts.append(ExportPart("organisation/employee.json", record_rows([employee])[0]))
            history = session.exec(
                select(EmployeeStatusChange)
                .where(EmployeeStatusChange.employee_id == employee.id)
                .order_by(col(EmployeeStatusChange.id))
            ).all()
            parts.append(ExportPart("organisation/status_history.csv", record_rows(list(history))))
    requests = session.exec(
        select(ArcoRequest).where(ArcoRequest.user_id == user.id).order_by(col(ArcoRequest.id))
    ).all()
    parts.append(ExportPart("privacy/arco_requests.csv", record_rows(list(requests))))
    in_force = [n for n in notices.current_notices(session).values() if n is not None]
    parts.append(
        ExportPart(
            "privacy/notices_in_force.json",
            record_rows(in_force, drop=("published_by_id",)),
        )
    )
    return parts


def export_parts(session: Session, user: User) -> list[ExportPart]:
    """Every part of a person's export: the core's, then each domain's, in plugin order."""
    parts = _core_parts(session, user)
    subject = subject_of(user)
    for contribute in plugins.hooks(EXPORT_MOMENT):
        parts.extend(contribute(session, subject))
    seen: set[str] = set()
    for part in parts:
        if not _SAFE_PATH.match(part.path) or part.path in seen:
            raise ValueError(f"export part {part.path!r}: not a safe, unique file name")
        seen.add(part.path)
    return parts


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    # A BOM so that spreadsheet programs read the accents right.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _readme(user: User, parts: list[ExportPart], made: datetime) -> str:
    lines = [
        _("Your data in Mérito"),
        "",
        _(
            "Prepared for %(name)s (%(email)s) on %(when)s UTC.",
            name=user.full_name,
            email=user.email,
            when=made.strftime("%Y-%m-%d %H:%M"),
        ),
        "",
        _("Every file is JSON or CSV (UTF-8). Dates are written as YYYY-MM-DD."),
        _(
            "Reports and complaints made through the reporting channel are never included, so that"
            " no export can link a person to a report."
        ),
        "",
    ]
    for part in parts:
        note = part.note.get(get_locale(), "")
        lines.append(f"- {part.path}" + (f": {note}" if note else ""))
    return "\n".join(lines) + "\n"


def build_export(session: Session, *, user: User, actor: User) -> tuple[str, bytes]:
    """Return the ZIP's file name and bytes, and record that the data left (audited)."""
    made = clock.now()
    parts = export_parts(session, user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(user, parts, made))
        for part in parts:
            if part.path.endswith(".csv"):
                archive.writestr(part.path, _csv_bytes(list(part.rows)))
            else:
                data = json.dumps(plain(part.rows), ensure_ascii=False, indent=2, sort_keys=True)
                archive.writestr(part.path, data.encode("utf-8"))
    audit.record(
        session,
        action="privacy.data_exported",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        after={"files": [p.path for p in parts]},
    )
    return f"merito-my-data-{made.strftime('%Y%m%d')}.zip", buffer.getvalue()
