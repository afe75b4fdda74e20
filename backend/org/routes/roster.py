"""The employee roster as a file: export the list (as filtered) and import a spreadsheet.

Registered before the employee record's routes, so `/org/employees/export` is not read as an
employee's id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend import clock
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep
from backend.i18n import _
from backend.org import service, spreadsheet
from backend.org.models import IMPORT_RUN_STATES
from backend.org.routes.employees import EmployeeQuery
from backend.org.routes.lookups import EDIT, VIEW
from backend.org.service import EmployeeFilters, imports, roster
from backend.web import render

router = APIRouter(prefix="/org")

EXPORT_FORMATS = ("csv", "csv-semicolon", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(
    request: Request, filters: EmployeeFilters, *, format: str, language: str, filename: str
) -> StreamingResponse:
    """Stream the export, read from the database as it is sent (its own session)."""
    engine = request.app.state.engine
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "xlsx":
        workbook = roster.xlsx_export(engine, filters, language=language)

        def chunks():
            with workbook:
                while block := workbook.read(64 * 1024):
                    yield block

        return StreamingResponse(chunks(), media_type=XLSX_TYPE, headers=disposition)
    delimiter = ";" if format == "csv-semicolon" else ","
    return StreamingResponse(
        roster.csv_export(engine, filters, delimiter=delimiter, language=language),
        media_type="text/csv; charset=utf-8",
        headers=disposition,
    )


@router.get("/employees/export", dependencies=VIEW)
def export_employees(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    query: EmployeeQuery,
    format: str = "csv",
    lang: str = "en",
):
    filters, raw = query
    if format not in EXPORT_FORMATS:
        raise HTTPException(status_code=422, detail=_("Choose CSV or XLSX."))
    language = "es" if lang == "es" else "en"
    # Personal data leaving the system is worth a line in the audit log.
    service.record_export(
        session, actor=principal.user, format=format, language=language, filters=raw
    )
    session.commit()
    extension = "xlsx" if format == "xlsx" else "csv"
    filename = roster.export_filename(extension, on=clock.today(settings))
    return _download(request, filters, format=format, language=language, filename=filename)


def import_context(**extra: Any) -> dict[str, Any]:
    """The import page's context (also the mapping step's, backend/org/routes/imports.py)."""
    return {
        "saved_mappings": [],
        "runs": [],
        "run_states": IMPORT_RUN_STATES,
        "columns": spreadsheet.COLUMNS,
        "required": spreadsheet.REQUIRED_COLUMNS,
        "spanish": spreadsheet.SPANISH_HEADERS,
        "max_rows": spreadsheet.MAX_ROWS,
        "max_mb": spreadsheet.MAX_BYTES // (1024 * 1024),
        "check": None,
        "file_error": "",
        "shown": 1000,
        **extra,
    }


def _import_refused(request: Request, **extra: Any) -> Response:
    # 422: htmx swaps only 422 error responses into the page.
    return render(
        request, "org/import.html", import_context(**extra), status_code=422, block="result"
    )


def _problems_report(check: roster.RosterCheck) -> Response:
    """The check's problems as a CSV file, one per line."""
    body = b"".join(
        spreadsheet.csv_chunks(
            [_("Line"), _("Column"), _("Value"), _("Problem")],
            ([p.line, p.column, p.value, p.message] for p in check.problems),
        )
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="import-problems.csv"'},
    )


async def _check_or_import(
    session: Session, raw: bytes, filename: str, *, action: str, actor: object
) -> roster.RosterCheck:
    # A large file takes seconds to check and write: off the event loop, so other requests
    # keep being served meanwhile.
    if action == "import":
        return await run_in_threadpool(roster.import_roster, session, raw, filename, actor=actor)
    return await run_in_threadpool(roster.check_roster, session, raw, filename)


@router.get("/employees/import", dependencies=EDIT)
def import_form(request: Request, session: SessionDep, principal: CurrentPrincipal):
    context = import_context(
        saved_mappings=imports.saved_mappings(session),
        runs=imports.recent_runs(session, principal.user),
    )
    return render(request, "org/import.html", context)


async def _import_answer(
    request: Request, session: Session, check: roster.RosterCheck, *, action: str
) -> Response:
    """Commit a successful import (else roll back) and show the check, or its problems' CSV."""
    if not check.imported:
        session.rollback()
        if action == "report":
            return _problems_report(check)
    else:
        await run_in_threadpool(session.commit)
    context = import_context(check=check, action=action)
    status_code = 200 if check.ok else 422
    return render(request, "org/import.html", context, status_code=status_code, block="result")


@router.post("/employees/import", dependencies=EDIT)
async def import_employees(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
    action: Annotated[str, Form()] = "check",
):
    if file is None or not file.filename:
        return _import_refused(request, file_error=_("Choose a CSV or XLSX file."))
    # Reading one byte past the limit is enough to know the file is too large.
    raw = await file.read(spreadsheet.MAX_BYTES + 1)
    try:
        check = await _check_or_import(
            session, raw, file.filename, action=action, actor=principal.user
        )
    except IntegrityError:
        # Someone else saved an employee with one of the file's numbers in the meantime.
        session.rollback()
        message = _(
            "Employees changed while the file was being imported, so nothing was written. "
            "Import the file again."
        )
        return _import_refused(request, error=message)
    return await _import_answer(request, session, check, action=action)
