"""Importing and exporting the employee roster (CSV and XLSX).

An import is all or nothing: every row is checked against the file and the database first
(units, positions, supervisors — who may be other rows of the same file — qualifications and
reporting loops), every problem is reported with its line and column, and only a file without
problems is written, in one transaction. Employees are matched by number: new numbers are
created, known ones updated. Writing is batched so a 100,000-row file stays practical; the
audit log gets the same per-employee entries the single-record functions write, plus one entry
for the import itself.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.audit import PendingEntry
from backend.db import insert_rows
from backend.emails import email_problem
from backend.files import safe_filename
from backend.i18n import _
from backend.org import mapping as mappings
from backend.org import spreadsheet
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    Position,
    Qualification,
    Unit,
)
from backend.org.service.directory import (
    EmployeeFilters,
    Supervisor,
    filter_employees,
    qualification_codes_of,
)
from backend.org.service.employees import (
    announce_changes,
    employee_field_problems,
    employee_snapshot,
)
from backend.org.service.matching import CloseMatch, Resolver, resolver
from backend.org.service.rules import organisation_today
from backend.org.spreadsheet import RosterRow, RowProblem

BATCH = 5000
ACTIVE = str(EmployeeStatus.active)
_employees = Employee.__table__
_links = EmployeeQualification.__table__
_status_changes = EmployeeStatusChange.__table__
# Columns an import can change, in the order of the audit snapshot.
_EMPLOYEE_FIELDS = (
    "number",
    "first_name",
    "last_name",
    "email",
    "unit_id",
    "position_id",
    "supervisor_id",
    "hire_date",
    "birth_date",
    "status",
)


@dataclass(slots=True)
class _Change:
    """What one valid row does: create or update an employee (None for unchanged)."""

    row: RosterRow
    values: dict[str, Any]  # final column values; supervisor_id unresolved for new supervisors
    supervisor_number: str
    qualification_ids: set[int]
    existing: dict[str, Any] | None  # the employee's current columns, for updates
    existing_qualification_ids: set[int] = field(default_factory=set)
    kind: str = "create"  # create | update | unchanged
    # For new rows: the supervisor id known when the row was inserted (None if the supervisor
    # is another new row inserted later).
    inserted_supervisor_id: int | None = None
    before: dict[str, Any] | None = None  # audit snapshot of an existing employee


@dataclass
class RosterCheck:
    """The outcome of checking (and perhaps importing) a file."""

    filename: str
    sha256: str
    size: int
    kind: str = ""
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    imported: bool = False
    changes: list[_Change] = field(default_factory=list, repr=False)
    moved: int = 0  # of to_update: employees whose unit or position changes
    headers: list[str] = field(default_factory=list)
    # The cells of every line with a problem, as read, for the report beside its problems.
    problem_rows: dict[int, list[str]] = field(default_factory=dict, repr=False)
    close_matches: list[CloseMatch] = field(default_factory=list)
    unconfirmed: list[CloseMatch] = field(default_factory=list)
    mapping: mappings.Mapping | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def _problem(row: RosterRow, headers: dict[str, str], column: str, message: str) -> RowProblem:
    return RowProblem(row.line, headers.get(column, column), row.raw.get(column, ""), message)


def check_roster(
    session: Session,
    raw: bytes,
    filename: str,
    *,
    max_rows: int = spreadsheet.MAX_ROWS,
    max_bytes: int = spreadsheet.MAX_BYTES,
    mapping: mappings.Mapping | None = None,
    progress: Progress = _no_progress,
) -> RosterCheck:
    """Return what importing the file would do, and every problem that stops it. Writes nothing.

    Without a mapping the headers must be Mérito's own columns (English or Spanish names).
    """
    # Some browsers send the whole path; only a plain name is worth showing and auditing.
    filename = safe_filename(filename, default="")
    check = RosterCheck(
        filename=filename, sha256=crypto.sha256_hex(raw), size=len(raw), mapping=mapping
    )
    if len(raw) > max_bytes:
        check.problems.append(
            RowProblem(
                0,
                "",
                "",
                _(
                    "The file is larger than %(max)s MB. Split it into smaller files.",
                    max=max_bytes // (1024 * 1024),
                ),
            )
        )
        return check
    progress("reading", 0, 0)
    table = spreadsheet.read_table(raw, filename, max_rows=max_rows)
    check.kind, check.encoding, check.delimiter = table.kind, table.encoding, table.delimiter
    check.rows = len(table.rows)
    check.headers = table.headers
    if table.problems:
        check.problems = table.problems
        return check
    progress("checking", 0, check.rows)
    parsed = _parse(table, mapping)
    problems = list(parsed.problems)
    if parsed.rows:
        _plan(session, parsed, check, problems, mapping, progress)
    # Listed as the file reads (by line, then column), one message per cell: the first rule a
    # cell breaks is the one to fix.
    column_order = {header: index for index, header in enumerate(table.headers)}
    seen: set[tuple[int, str]] = set()
    unique = []
    for problem in sorted(problems, key=lambda p: (p.line, column_order.get(p.column, -1))):
        key = (problem.line, problem.column)
        if problem.column and key in seen:
            continue
        seen.add(key)
        unique.append(problem)
    check.problems = unique
    lines = {p.line for p in unique if p.line > 1}
    check.problem_rows = {
        line: [_cell_text(c) for c in cells] for line, cells in table.rows if line in lines
    }
    return check


def _cell_text(cell: str | date) -> str:
    return cell.isoformat() if isinstance(cell, date) else cell


def _parse(table: spreadsheet.Table, mapping: mappings.Mapping | None):
    if mapping is None:
        return spreadsheet.parse_roster(table)
    header_problems = [
        RowProblem(1, header, header, message)
        for header, message in mappings.mapping_problems(mapping, table.headers)
    ]

    def split(text: str) -> tuple[str, str]:
        return mappings.split_full_name(text, mapping.name_rule)

    return spreadsheet.parse_roster(
        table, mapping.columns, split_name=split, header_problems=header_problems
    )


def _plan(
    session: Session,
    parsed,
    check: RosterCheck,
    problems: list[RowProblem],
    mapping: mappings.Mapping | None,
    progress: Progress,
) -> None:
    headers = parsed.headers
    found: Resolver = resolver(session, mapping.matches if mapping else None)
    qualifications = dict(session.exec(select(Qualification.code, Qualification.id)).all())
    existing = {r.number: dict(r._mapping) for r in session.execute(select(_employees))}
    number_of = {e["id"]: number for number, e in existing.items()}
    held: dict[int, set[int]] = {}
    for employee_id, qualification_id in session.execute(
        select(_links.c.employee_id, _links.c.qualification_id)
    ):
        held.setdefault(employee_id, set()).add(qualification_id)

    first_line: dict[str, int] = {}
    rows: list[RosterRow] = []
    for row in parsed.rows:
        if not row.number:
            continue
        if row.number in first_line:
            problems.append(
                _problem(
                    row,
                    headers,
                    "number",
                    _(
                        "The employee number %(number)s already appears on line %(line)s.",
                        number=row.number,
                        line=first_line[row.number],
                    ),
                )
            )
            continue
        first_line[row.number] = row.line
        rows.append(row)

    # Who reports to whom once the file is applied, by employee number.
    supervisor_of: dict[str, str | None] = {
        number: number_of.get(e["supervisor_id"]) for number, e in existing.items()
    }
    changes: list[_Change] = []
    check_email = _EmailCheck()
    for done, row in enumerate(rows):
        if done % 5000 == 0:
            progress("checking", done, len(rows))
        row_problems: list[RowProblem] = []
        current = existing.get(row.number)
        values: dict[str, Any] = dict(current) if current else {}
        values["number"] = row.number
        for name in ("first_name", "last_name", "email", "hire_date", "birth_date"):
            if name in row.given:
                values[name] = getattr(row, name)
            elif current is None:
                values[name] = "" if name == "email" else None
        values["email"] = (values.get("email") or "").strip().lower()
        if row.status is not None:
            values["status"] = str(row.status)
        elif current is None:
            values["status"] = ACTIVE

        if row.unit_code:
            values["unit_id"], message = found.resolve("unit_code", row.unit_code, row.line)
            if message:
                row_problems.append(_problem(row, headers, "unit_code", message))
        if "position_code" in row.given:
            values["position_id"], message = (
                found.resolve(
                    "position_code", row.position_code, row.line, unit_id=values.get("unit_id")
                )
                if row.position_code
                else (None, "")
            )
            if message:
                row_problems.append(_problem(row, headers, "position_code", message))
        elif current is None:
            values["position_id"] = None

        if "supervisor_number" in row.given:
            supervisor_number = row.supervisor_number
        elif current is not None:
            supervisor_number = number_of.get(current["supervisor_id"]) or ""
        else:
            supervisor_number = ""
        if (
            supervisor_number
            and supervisor_number not in first_line
            and (supervisor_number not in existing)
        ):
            row_problems.append(
                _problem(
                    row,
                    headers,
                    "supervisor_number",
                    _(
                        "No employee has the number %(number)s, in this file or in Mérito.",
                        number=supervisor_number,
                    ),
                )
            )
        else:
            supervisor_of[row.number] = supervisor_number or None

        if "qualifications" in row.given:
            unknown = [c for c in row.qualifications if c not in qualifications]
            if unknown:
                row_problems.append(
                    _problem(
                        row,
                        headers,
                        "qualifications",
                        _("Unknown qualification: %(codes)s.", codes=", ".join(unknown)),
                    )
                )
            wanted = {qualifications[c] for c in row.qualifications if c in qualifications}
        else:
            wanted = set(held.get(current["id"], set())) if current else set()

        for name, message in employee_field_problems(
            number=values["number"],
            first_name=values.get("first_name") or "",
            last_name=values.get("last_name") or "",
            email=values["email"],
            hire_date=values.get("hire_date"),
            birth_date=values.get("birth_date"),
            status=values["status"],
            check_email=check_email,
        ).items():
            # A column the file lacks is one header problem, not one problem per row.
            if name in row.given or name == "status":
                row_problems.append(_problem(row, headers, name, message))

        problems.extend(row_problems)
        changes.append(
            _Change(
                row=row,
                values=values,
                supervisor_number=supervisor_number,
                qualification_ids=wanted,
                existing=current,
                existing_qualification_ids=set(held.get(current["id"], set()))
                if current
                else set(),
            )
        )

    row_of = {r.number: r for r in rows}
    for cycle in _reporting_loops(supervisor_of, starts=list(row_of)):
        loop = " → ".join([*cycle[:12], "…"] if len(cycle) > 12 else [*cycle, cycle[0]])
        for number in cycle:
            if number in row_of:
                row = row_of[number]
                problems.append(
                    _problem(
                        row,
                        headers,
                        "supervisor_number",
                        _("These supervisors form a reporting loop: %(loop)s.", loop=loop),
                    )
                )

    qualification_code = {v: k for k, v in qualifications.items()}
    for change in changes:
        if change.existing is None:
            change.kind = "create"
            check.to_create += 1
            continue
        before = change.before = employee_snapshot(
            change.existing,
            [qualification_code[q] for q in change.existing_qualification_ids],
        )
        after_values = dict(change.values)
        sup = change.supervisor_number
        # A supervisor who is a new row has no id yet; the number stands in for it, which is
        # enough to see that the supervisor changes.
        after_values["supervisor_id"] = existing[sup]["id"] if sup in existing else (sup or None)
        after = employee_snapshot(
            after_values, [qualification_code[q] for q in change.qualification_ids]
        )
        if before == after:
            change.kind = "unchanged"
            check.unchanged += 1
        else:
            change.kind = "update"
            check.to_update += 1
            if any(change.existing[k] != change.values.get(k) for k in ("unit_id", "position_id")):
                change.kind = "move"
                check.moved += 1
    check.changes = changes
    # Units first, then positions, each as the file first mentions them.
    check.close_matches = sorted(
        found.close.values(), key=lambda c: (c.field != "unit_code", c.first_line, c.value)
    )


# An ASCII dot-atom local part (RFC 5322 atext): what email-validator accepts as it is.
_PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


class _EmailCheck:
    """`email_problem` for many addresses of few domains, with the same answers.

    Most of a 100,000-row check went into email-validator, mostly into checking the domain of
    each address again. A plain ASCII local part (at most 64 characters, 254 in all) with a
    domain found valid once is valid; anything else gets the whole check, as before.
    """

    def __init__(self) -> None:
        self.domains: dict[str, bool] = {}

    def __call__(self, address: str) -> str | None:
        local, _at, domain = address.strip(" \t").rpartition("@")
        if local and len(local) <= 64 and len(address) <= 254 and _PLAIN_LOCAL.match(local):
            known = self.domains.get(domain)
            if known is None:
                known = self.domains[domain] = email_problem(f"a@{domain}") is None
            if known:
                return None
        return email_problem(address)


def _reporting_loops(supervisor_of: dict[str, str | None], *, starts: list[str]) -> list[list[str]]:
    """Return each loop in the reporting lines reachable from `starts` (lists of numbers)."""
    done: set[str] = set()
    loops: list[list[str]] = []
    for start in starts:
        path: list[str] = []
        on_path: dict[str, int] = {}
        current: str | None = start
        while current is not None and current not in done:
            if current in on_path:
                loops.append(path[on_path[current] :])
                break
            on_path[current] = len(path)
            path.append(current)
            current = supervisor_of.get(current)
        done.update(path)
    return loops


def import_roster(
    session: Session,
    raw: bytes,
    filename: str,
    *,
    actor: object,
    max_rows: int = spreadsheet.MAX_ROWS,
    max_bytes: int = spreadsheet.MAX_BYTES,
    mapping: mappings.Mapping | None = None,
    accepted: set[str] | None = None,
    accept_close_matches: bool = False,
    progress: Progress = _no_progress,
) -> RosterCheck:
    """Check the file and, when it has no problem at all, write it (the caller commits).

    With any problem nothing is written and the check is returned with `imported` False. Close
    matches of units and positions must each be confirmed (`accepted`, keys `field:value`), or
    all at once for an unattended import (`accept_close_matches`); else they are `unconfirmed`
    and nothing is written either.
    """
    check = check_roster(
        session,
        raw,
        filename,
        max_rows=max_rows,
        max_bytes=max_bytes,
        mapping=mapping,
        progress=progress,
    )
    if not accept_close_matches:
        check.unconfirmed = [c for c in check.close_matches if c.key not in (accepted or set())]
    if check.ok and not check.unconfirmed:
        _apply(session, check, actor=actor, progress=progress)
        check.imported = True
    return check


def _apply(
    session: Session, check: RosterCheck, *, actor: object, progress: Progress = _no_progress
) -> None:
    now = clock.now()
    today = organisation_today(session)
    qualification_code = dict(session.exec(select(Qualification.id, Qualification.code)).all())
    ids = dict(session.exec(select(Employee.number, Employee.id)).all())

    creates = [c for c in check.changes if c.kind == "create"]
    updates = [c for c in check.changes if c.kind in ("update", "move")]

    # New employees first (their supervisors may be other new rows: set in a second pass).
    total = len(creates) + len(updates)
    for start in range(0, len(creates), BATCH):
        progress("writing", start, total)
        batch = creates[start : start + BATCH]
        params = []
        for change in batch:
            values = {name: change.values.get(name) for name in _EMPLOYEE_FIELDS}
            change.inserted_supervisor_id = ids.get(change.supervisor_number)
            values["supervisor_id"] = change.inserted_supervisor_id
            values["updated_at"] = now
            params.append(values)
        # Plain executemany, then the ids read back by number: an INSERT … RETURNING of many
        # rows is sent as one huge statement that psycopg spends most of an import parsing.
        insert_rows(session, _employees, params)
        numbers = [values["number"] for values in params]
        ids.update(
            session.exec(
                select(Employee.number, Employee.id).where(col(Employee.number).in_(numbers))
            ).all()
        )
    for change in creates:
        change.values["id"] = ids[change.values["number"]]
    late_supervisors = [
        {"b_id": c.values["id"], "b_supervisor_id": ids[c.supervisor_number]}
        for c in creates
        if c.supervisor_number and c.inserted_supervisor_id is None
    ]
    for change in [*creates, *updates]:
        change.values["supervisor_id"] = (
            ids[change.supervisor_number] if change.supervisor_number else None
        )

    if updates:
        statement = (
            update(_employees)
            .where(_employees.c.id == bindparam("b_id"))
            .values(
                {name: bindparam(f"b_{name}") for name in _EMPLOYEE_FIELDS}
                | {"updated_at": bindparam("b_updated_at")}
            )
        )
        params = [
            {"b_id": c.values["id"], "b_updated_at": now}
            | {f"b_{name}": c.values.get(name) for name in _EMPLOYEE_FIELDS}
            for c in updates
        ]
        for start in range(0, len(params), BATCH):
            progress("writing", len(creates) + start, total)
            session.execute(statement, params[start : start + BATCH])
    progress("writing", total, total)
    if late_supervisors:
        statement = (
            update(_employees)
            .where(_employees.c.id == bindparam("b_id"))
            .values(supervisor_id=bindparam("b_supervisor_id"))
        )
        for start in range(0, len(late_supervisors), BATCH):
            session.execute(statement, late_supervisors[start : start + BATCH])

    removed, added, status_rows = [], [], []
    for change in [*creates, *updates]:
        employee_id = change.values["id"]
        for qid in change.existing_qualification_ids - change.qualification_ids:
            removed.append({"b_employee_id": employee_id, "b_qualification_id": qid})
        for qid in change.qualification_ids - change.existing_qualification_ids:
            added.append({"employee_id": employee_id, "qualification_id": qid})
        if change.existing is None:
            status_rows.append(
                {
                    "employee_id": employee_id,
                    "status": change.values["status"],
                    "effective_on": change.values["hire_date"],
                    "recorded_at": now,
                }
            )
        elif change.existing["status"] != change.values["status"]:
            status_rows.append(
                {
                    "employee_id": employee_id,
                    "status": change.values["status"],
                    "effective_on": today,
                    "recorded_at": now,
                }
            )
    if removed:
        statement = delete(_links).where(
            _links.c.employee_id == bindparam("b_employee_id"),
            _links.c.qualification_id == bindparam("b_qualification_id"),
        )
        for start in range(0, len(removed), BATCH):
            session.execute(statement, removed[start : start + BATCH])
    for rows, table in ((added, _links), (status_rows, _status_changes)):
        for start in range(0, len(rows), BATCH):
            insert_rows(session, table, rows[start : start + BATCH])

    def entries():
        for change in creates:
            yield PendingEntry(
                action="employee.created",
                actor=actor,
                entity_type="employee",
                entity_id=change.values["id"],
                after=employee_snapshot(
                    change.values, [qualification_code[q] for q in change.qualification_ids]
                ),
            )
        for change in updates:
            yield PendingEntry(
                action="employee.updated",
                actor=actor,
                entity_type="employee",
                entity_id=change.values["id"],
                before=change.before,
                after=employee_snapshot(
                    change.values, [qualification_code[q] for q in change.qualification_ids]
                ),
            )
        yield PendingEntry(
            action="employee.imported",
            actor=actor,
            entity_type="employee_import",
            entity_id=check.sha256[:16],
            after={
                "file": check.filename,
                "sha256": check.sha256,
                "size": check.size,
                "format": check.kind,
                "rows": check.rows,
                "created": len(creates),
                "updated": len(updates),
                "unchanged": check.unchanged,
                **_mapping_record(check),
            },
        )

    audit.record_many(session, entries(), count=len(creates) + len(updates) + 1)
    for change in updates:
        announce_changes(
            session,
            employee_id=change.values["id"],
            old_status=change.existing["status"],
            new_status=change.values["status"],
            old_unit_id=change.existing["unit_id"],
            new_unit_id=change.values["unit_id"],
            old_position_id=change.existing["position_id"],
            new_position_id=change.values["position_id"],
            effective_on=today,
        )
    # The ORM's copies of employees (if any were loaded) no longer match the rows.
    session.expire_all()


def _mapping_record(check: RosterCheck) -> dict[str, Any]:
    """What the audit keeps of the mapping an import was read with (nothing for Mérito's own)."""
    if check.mapping is None:
        return {}
    return {
        "mapping": check.mapping.name or "—",
        "columns": {h: f or "—" for h, f in check.mapping.columns.items()},
        "name_rule": check.mapping.name_rule,
        "confirmed_matches": [f"{c.value} → {c.code}" for c in check.close_matches],
    }


# --- export -----------------------------------------------------------------------------------


def roster_rows(session: Session, filters: EmployeeFilters) -> Iterator[list[Any]]:
    """Yield export rows (in COLUMNS order) for the filtered employee list, in batches."""
    supervisor = Supervisor
    statement = (
        select(
            Employee.id,
            Employee.number,
            Employee.first_name,
            Employee.last_name,
            Employee.email,
            Unit.code,
            Position.code,
            supervisor.number,
            Employee.hire_date,
            Employee.birth_date,
            Employee.status,
        )
        .join(Unit, col(Employee.unit_id) == Unit.id)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .join(supervisor, col(Employee.supervisor_id) == supervisor.id, isouter=True)
        .order_by(col(Employee.last_name), col(Employee.first_name), col(Employee.id))
    )
    statement = filter_employees(session, statement, filters)
    result = session.execute(statement.execution_options(yield_per=2000))
    for batch in result.partitions():
        codes = qualification_codes_of(session, [r[0] for r in batch])
        for r in batch:
            yield [*r[1:], spreadsheet.QUALIFICATION_SEPARATOR.join(codes[r[0]])]


def csv_export(
    engine: Engine, filters: EmployeeFilters, *, delimiter: str, language: str
) -> Iterator[bytes]:
    """Yield a CSV export chunk by chunk, reading the database as it goes (own session)."""
    with Session(engine) as session:
        yield from spreadsheet.csv_chunks(
            spreadsheet.header_row(language), roster_rows(session, filters), delimiter=delimiter
        )


def xlsx_export(
    engine: Engine, filters: EmployeeFilters, *, language: str
) -> tempfile.SpooledTemporaryFile:
    """Return a temporary file holding the XLSX export, positioned at its start."""
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    with Session(engine) as session:
        spreadsheet.write_xlsx(
            spreadsheet.header_row(language), roster_rows(session, filters), target
        )
    target.seek(0)
    return target


def export_filename(extension: str, *, on: date) -> str:
    """Return the export's file name, dated `on` (the organisation's day)."""
    return f"employees-{on.isoformat()}.{extension}"
