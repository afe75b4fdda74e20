"""Roster imports as runs: upload, map the columns, check, confirm, import — in the background.

A run (`ImportRun`) keeps the uploaded file until it is imported, the mapping it is read with,
and what its check found. Checking and importing run in a thread of the worker that received
the request, each in its own database session; the page polls the run. The check writes its
progress to the run's row as it goes; the import writes nothing but the roster until it commits
(its progress is shown from this process's memory), so the import stays one transaction: all
or nothing. Saved mappings (`ImportMapping`) are offered for the next file and used by the CLI
and the JSON API for unattended imports.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend import clock, crypto
from backend.auth.models import User
from backend.files import safe_filename
from backend.i18n import N_, _, get_locale, ngettext, use_locale
from backend.org import mapping as mappings
from backend.org import spreadsheet
from backend.org.models import ImportMapping, ImportRun, Position, Unit
from backend.org.service import roster
from backend.org.service.rules import OrgError

log = logging.getLogger("merito.org.imports")

SHOWN_PROBLEMS = 1000
SAMPLES = 3
# A run still "checking" or "importing" after this long, with no thread for it here, has died.
STALE_AFTER = timedelta(minutes=15)
FINAL = ("checked", "imported", "failed")

_threads: dict[int, threading.Thread] = {}
_live: dict[int, tuple[str, int, int]] = {}


# --- saved mappings ---------------------------------------------------------------------------


def saved_mappings(session: Session) -> list[ImportMapping]:
    return list(session.exec(select(ImportMapping).order_by(col(ImportMapping.name))).all())


def mapping_documents(session: Session) -> list[dict]:
    """Every saved mapping as the JSON document the CLI and the API accept."""
    return [as_mapping(record).to_json() for record in saved_mappings(session)]


def as_mapping(record: ImportMapping) -> mappings.Mapping:
    return mappings.Mapping(
        columns=json.loads(record.columns),
        name_rule=record.name_rule,
        matches=json.loads(record.matches),
        name=record.name,
    )


def mapping_named(session: Session, name: str) -> mappings.Mapping:
    record = session.exec(select(ImportMapping).where(ImportMapping.name == name)).first()
    if record is None:
        raise OrgError(_("No saved mapping is called %(name)s.", name=name), field="mapping")
    return as_mapping(record)


def save_mapping(session: Session, mapping: mappings.Mapping, *, by: str) -> ImportMapping:
    """Save (or replace) a named mapping; confirmed matches add to those it remembered."""
    name = " ".join(mapping.name.split())
    if not name or len(name) > 80:
        raise OrgError(_("Name the mapping (at most 80 characters)."), field="mapping_name")
    record = session.exec(select(ImportMapping).where(ImportMapping.name == name)).first()
    matches = mapping.matches
    if record is not None:
        old = json.loads(record.matches)
        matches = {k: {**old.get(k, {}), **mapping.matches.get(k, {})} for k in old | matches}
    else:
        record = ImportMapping(name=name, columns="{}")
    record.columns = json.dumps(mapping.columns, ensure_ascii=False)
    record.name_rule = mapping.name_rule
    record.matches = json.dumps(matches, ensure_ascii=False)
    record.updated_by = by
    record.updated_at = clock.now()
    session.add(record)
    session.flush()
    return record


# --- a file's columns -------------------------------------------------------------------------


def preview(raw: bytes, filename: str) -> spreadsheet.Table:
    """Return the header and first rows of a file (enough to map it), or why it cannot be read."""
    table = spreadsheet.read_table(raw, filename, max_rows=SAMPLES)
    if len(table.rows) >= SAMPLES and table.problems and table.problems[-1].line > 1:
        table.problems.pop()  # "more rows than the limit": only the preview's limit
    return table


def columns_of(table: spreadsheet.Table, mapping: mappings.Mapping | None) -> list[dict]:
    """Return each column: its header, a few values, and the field it is read as (or guessed)."""
    samples = {
        i: [str(cells[i]) if i < len(cells) else "" for _line, cells in table.rows]
        for i in range(len(table.headers))
    }
    guessed = mappings.guess_mapping(table.headers, samples)
    known = mapping.columns if mapping else {}
    return [
        {
            "index": i,
            "header": header,
            "samples": [s for s in samples[i] if s.strip()][:SAMPLES],
            "field": known.get(header, guessed.get(header, mappings.IGNORE)),
        }
        for i, header in enumerate(table.headers)
        if header.strip()
    ]


def best_saved_mapping(session: Session, headers: list[str]) -> ImportMapping | None:
    """Return the saved mapping whose columns are exactly the file's headers, if any."""
    present = {h for h in headers if h.strip()}
    for record in saved_mappings(session):
        if set(json.loads(record.columns)) == present:
            return record
    return None


# --- runs -------------------------------------------------------------------------------------


def create_run(session: Session, raw: bytes, filename: str, *, user: User) -> ImportRun:
    """Keep an uploaded file for mapping; refuse what cannot be read as a table at all."""
    if len(raw) > spreadsheet.MAX_BYTES:
        raise OrgError(
            _(
                "The file is larger than %(max)s MB. Split it into smaller files.",
                max=spreadsheet.MAX_BYTES // (1024 * 1024),
            ),
            field="file",
        )
    name = safe_filename(filename, default="")
    table = preview(raw, name)
    if table.problems:
        raise OrgError(table.problems[0].message, field="file")
    run = ImportRun(
        created_by_id=user.id,
        filename=name,
        sha256=crypto.sha256_hex(raw),
        size=len(raw),
        locale=get_locale(),
        content=raw,
    )
    best = best_saved_mapping(session, table.headers)
    if best is not None:
        run.mapping = as_mapping(best).dumps()
        run.mapping_name = best.name
    session.add(run)
    session.flush()
    return run


def recent_runs(session: Session, user: User, *, limit: int = 10) -> list[ImportRun]:
    """The person's latest uploads, newest first (to come back to one)."""
    statement = (
        select(ImportRun)
        .where(ImportRun.created_by_id == user.id)
        .order_by(col(ImportRun.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def run_of(session: Session, run_id: int, user: User) -> ImportRun | None:
    """Return the run if it is this user's (a run holds a whole roster: only its uploader)."""
    run = session.get(ImportRun, run_id)
    return run if run is not None and run.created_by_id == user.id else None


def run_mapping(run: ImportRun) -> mappings.Mapping | None:
    data = json.loads(run.mapping or "{}")
    return mappings.Mapping.from_json(data) if data.get("columns") else None


def set_mapping(
    session: Session, run: ImportRun, mapping: mappings.Mapping, *, save_as: str, by: str
) -> None:
    """Record the confirmed mapping of a run (and save it under a name, if one is given)."""
    if run.state not in ("mapping", "checked", "failed"):
        raise OrgError(_("This file is being checked or imported."), status_code=409)
    if run.content is None:
        raise OrgError(_("This file was already imported. Upload it again."), status_code=409)
    if save_as.strip():
        mapping.name = save_as
        saved = save_mapping(session, mapping, by=by)
        mapping = as_mapping(saved)
    run.mapping = mapping.dumps()
    run.mapping_name = mapping.name
    run.state, run.phase, run.done_rows, run.error = "checking", "reading", 0, ""
    run.updated_at = clock.now()
    session.add(run)


def confirm_import(session: Session, run: ImportRun, accepted: set[str]) -> None:
    """Move a checked run without problems to importing (its thread does the work).

    Every close match of a unit or position must be confirmed (`accepted`), else 422.
    """
    summary = json.loads(run.summary or "{}")
    if run.state != "checked" or summary.get("problem_count", 1) or run.content is None:
        raise OrgError(_("Only a checked file without problems can be imported."), status_code=409)
    missing = [c for c in summary.get("close_matches", []) if c["key"] not in accepted]
    if missing:
        raise OrgError(
            ngettext(
                "Confirm the close match below, or correct the file, before importing.",
                "Confirm each of the %(num)s close matches below, or correct the file, "
                "before importing.",
                len(missing),
            ),
            field="accept",
        )
    run.state, run.phase, run.done_rows = "importing", "reading", 0
    run.updated_at = clock.now()
    session.add(run)


def is_stale(run: ImportRun) -> bool:
    if run.state not in ("checking", "importing"):
        return False
    thread = _threads.get(run.id)
    alive = thread is not None and thread.is_alive()
    return not alive and clock.now() - run.updated_at > STALE_AFTER


def progress_of(run: ImportRun) -> tuple[str, int, int]:
    """Return (phase, done, total) of a run in progress, from this process if it runs here."""
    return _live.get(run.id) or (run.phase, run.done_rows, run.total_rows)


def start(engine: Engine, settings: Any, run_id: int, *, accepted: set[str] | None = None):
    """Check (state "checking") or import (state "importing") a run in a background thread."""
    thread = threading.Thread(
        target=_work,
        args=(engine, settings, run_id, accepted),
        daemon=True,
        name=f"import-{run_id}",
    )
    _threads[run_id] = thread
    thread.start()
    return thread


def wait(run_id: int, timeout: float = 120) -> None:
    """Wait for a run's thread in this process (tests, the CLI)."""
    thread = _threads.get(run_id)
    if thread is not None:
        thread.join(timeout)


def _save_progress(engine: Engine, run_id: int, phase: str, done: int, total: int) -> None:
    with Session(engine) as session:
        run = session.get(ImportRun, run_id)
        run.phase, run.done_rows, run.total_rows = phase, done, total or run.total_rows
        run.updated_at = clock.now()
        session.commit()


def _work(engine: Engine, settings: Any, run_id: int, accepted: set[str] | None) -> None:
    with Session(engine) as session:
        run = session.get(ImportRun, run_id)
        importing = run.state == "importing"
        locale, raw, filename = run.locale, run.content, run.filename
        mapping = run_mapping(run)
        user = session.get(User, run.created_by_id)
    session_info = {"settings": settings}

    def progress(phase: str, done: int, total: int) -> None:
        _live[run_id] = (phase, done, total)
        # The check only reads, so its progress can be written as it goes; an import's
        # transaction must be the only writer until it commits.
        if not importing and (done == 0 or phase == "checking"):
            _save_progress(engine, run_id, phase, done, total)

    try:
        with use_locale(locale), Session(engine, expire_on_commit=False) as session:
            session.info.update(session_info)
            if importing:
                check = roster.import_roster(
                    session, raw, filename, actor=user, mapping=mapping,
                    accepted=accepted, progress=progress,
                )  # fmt: skip
            else:
                check = roster.check_roster(
                    session, raw, filename, mapping=mapping, progress=progress
                )
            fields = _results(session, check)
            if check.imported:
                _remember_matches(session, mapping, check, by=user.email)
                run = session.get(ImportRun, run_id)
                _finish(run, fields, state="imported")
                session.commit()
                return
            session.rollback()
        with Session(engine) as session:
            _finish(session.get(ImportRun, run_id), fields, state="checked")
            session.commit()
    except Exception:  # noqa: BLE001 - the run says it failed; the log has why
        log.exception("import run %s failed", run_id)
        with Session(engine) as session:
            run = session.get(ImportRun, run_id)
            run.state, run.updated_at = "failed", clock.now()
            with use_locale(locale):
                run.error = _("The file could not be processed. Nothing was changed.")
            session.commit()
    finally:
        _live.pop(run_id, None)


def _remember_matches(
    session: Session, mapping: mappings.Mapping | None, check: roster.RosterCheck, *, by: str
) -> None:
    """Add the close matches someone confirmed to the saved mapping the file was read with."""
    if mapping is None or not mapping.name or not check.close_matches:
        return
    for close in check.close_matches:
        mapping.matches.setdefault(close.field, {})[close.value] = close.code
    save_mapping(session, mapping, by=by)


def _finish(run: ImportRun, fields: dict[str, Any], *, state: str) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    run.state, run.phase, run.updated_at = state, "", clock.now()
    if state == "imported":
        run.content = None  # the roster is in the database now; the file need not stay


def _pack(data: Any) -> bytes:
    return gzip.compress(json.dumps(data, ensure_ascii=False, default=str).encode(), 5)


def unpack(data: bytes | None) -> Any:
    return json.loads(gzip.decompress(data)) if data else None


def _results(session: Session, check: roster.RosterCheck) -> dict[str, Any]:
    """Return the run's columns that keep what a check (or import) found."""
    summary = {
        "rows": check.rows,
        "kind": check.kind,
        "encoding": check.encoding,
        "delimiter": check.delimiter,
        "to_create": check.to_create,
        "to_update": check.to_update - check.moved,
        "moved": check.moved,
        "unchanged": check.unchanged,
        "problem_count": len(check.problems),
        "problems": [asdict(p) for p in check.problems[:SHOWN_PROBLEMS]],
        "close_matches": [asdict(c) | {"key": c.key} for c in check.close_matches],
        "unconfirmed": [c.key for c in check.unconfirmed],
        "names": [
            [c.row.first_name, c.row.last_name]
            for c in check.changes[:5]
            if check.mapping and "full_name" in check.mapping.columns.values()
        ],
    }
    report = {
        "headers": check.headers,
        "problems": [[p.line, p.column, p.value, p.message] for p in check.problems],
        "rows": check.problem_rows,
    }
    return {
        "summary": json.dumps(summary, ensure_ascii=False, default=str),
        "total_rows": check.rows,
        "done_rows": check.rows,
        "report": _pack(report),
        "changes": _pack(_change_list(session, check)),
    }


def _change_list(session: Session, check: roster.RosterCheck) -> list[list[Any]]:
    units = dict(session.exec(select(Unit.id, Unit.name)).all())
    positions = dict(session.exec(select(Position.id, Position.title)).all())
    rows = []
    for c in check.changes:
        old = c.existing or {}
        rows.append(
            [
                c.row.line,
                c.values.get("number"),
                f"{c.values.get('first_name') or ''} {c.values.get('last_name') or ''}".strip(),
                c.kind,
                units.get(old.get("unit_id"), ""),
                units.get(c.values.get("unit_id"), ""),
                positions.get(old.get("position_id"), ""),
                positions.get(c.values.get("position_id"), ""),
            ]
        )
    return rows


# --- downloads --------------------------------------------------------------------------------

OUTCOMES = {
    "create": N_("Added"),
    "update": N_("Updated"),
    "move": N_("Moved"),
    "unchanged": N_("Unchanged"),
}


def problems_sheet(run: ImportRun) -> tuple[list[str], list[list[Any]]]:
    """Every problem of a run's check, by line, with the original row beside it."""
    report = unpack(run.report) or {"headers": [], "problems": [], "rows": {}}
    header = [_("Line"), _("Column"), _("Problem"), *report["headers"]]
    rows = [
        [line or "", column, message, *report["rows"].get(str(line), [])]
        for line, column, _value, message in report["problems"]
    ]
    return header, rows


def changes_sheet(run: ImportRun) -> tuple[list[str], list[list[Any]]]:
    """What the import does (or did) to each row: added, updated, moved or unchanged."""
    changes = unpack(run.changes) or []
    header = [
        _("Line"), _("Employee number"), _("Name"), _("Outcome"), _("Unit before"),
        _("Unit after"), _("Position before"), _("Position after"),
    ]  # fmt: skip
    rows = [[*c[:3], _(OUTCOMES[c[3]]), *c[4:]] for c in changes]
    return header, rows


# --- unattended imports (the CLI and the JSON API) --------------------------------------------


def load_mapping(
    session: Session, *, name: str = "", document: str = ""
) -> mappings.Mapping | None:
    """Return the mapping named (saved) or given as a JSON document; None for Mérito's columns."""
    if name:
        return mapping_named(session, name)
    if not document:
        return None
    try:
        return mappings.Mapping.from_json(json.loads(document))
    except json.JSONDecodeError:
        raise OrgError(_("The mapping is not valid JSON."), field="mapping") from None
    except mappings.MappingInvalid as err:
        raise OrgError(str(err), field="mapping") from None


def unattended_import(
    session: Session,
    raw: bytes,
    filename: str,
    *,
    mapping: mappings.Mapping | None,
    dry_run: bool,
    accept_close_matches: bool,
    actor: object,
) -> roster.RosterCheck:
    """Check (dry run) or import a file with a known mapping; the caller commits if imported.

    Close matches are refused unless `accept_close_matches`: a nightly import should rely on
    codes, exact names and the matches its saved mapping remembers.
    """
    if not dry_run:
        return roster.import_roster(
            session, raw, filename, actor=actor, mapping=mapping,
            accept_close_matches=accept_close_matches,
        )  # fmt: skip
    check = roster.check_roster(session, raw, filename, mapping=mapping)
    if not accept_close_matches:
        check.unconfirmed = list(check.close_matches)
    return check


def outcome(check: roster.RosterCheck, *, dry_run: bool) -> dict[str, Any]:
    """Return what a check or import found, as the API answers it (and the CLI prints it)."""
    return {
        "file": check.filename,
        "sha256": check.sha256,
        "dry_run": dry_run,
        "imported": check.imported,
        "rows": check.rows,
        "added": check.to_create,
        "moved": check.moved,
        "updated": check.to_update - check.moved,
        "unchanged": check.unchanged,
        "close_matches": [
            {
                "field": c.field,
                "value": c.value,
                "code": c.code,
                "rows": c.rows,
                "first_line": c.first_line,
                "confirmed": c not in check.unconfirmed,
            }
            for c in check.close_matches
        ],  # fmt: skip
        "problems": [asdict(p) for p in check.problems],
    }


def refusal_message(check: roster.RosterCheck) -> str:
    """Why a check or import cannot go ahead, in one sentence ("" when it can)."""
    if check.problems:
        return ngettext(
            "%(num)s problem was found. Nothing was changed.",
            "%(num)s problems were found. Nothing was changed.",
            len(check.problems),
        )
    if check.unconfirmed:
        return ngettext(
            "%(num)s unit or position matched only by a close name; nothing was changed. "
            "Confirm it in the import page (a saved mapping then remembers it), or accept "
            "close matches.",
            "%(num)s units or positions matched only by a close name; nothing was changed. "
            "Confirm them in the import page (a saved mapping then remembers them), or accept "
            "close matches.",
            len(check.unconfirmed),
        )
    return ""
