"""Importing another system's roster export: upload, map the columns, check, confirm, import.

A run belongs to the person who uploaded it (it holds a whole roster): anyone else gets 404.
Checking and importing happen in the background; the run's page refreshes itself (the HTTP
`Refresh` header, no JavaScript needed) until the result is there.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import event
from sqlmodel import Session

from backend.actions import run_action
from backend.db import SessionDep
from backend.deps import CurrentPrincipal
from backend.i18n import _
from backend.org import mapping as mappings
from backend.org import spreadsheet
from backend.org.models import ImportRun
from backend.org.routes.lookups import EDIT
from backend.org.routes.roster import import_context
from backend.org.service import imports
from backend.org.service.rules import OrgError
from backend.web import render

router = APIRouter(prefix="/org/employees/import")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REFRESH_SECONDS = 2


def run_or_404(run_id: int, session: SessionDep, principal: CurrentPrincipal) -> ImportRun:
    run = imports.run_of(session, run_id, principal.user)
    if run is None:
        raise HTTPException(status_code=404)
    return run


RunDep = Annotated[ImportRun, Depends(run_or_404)]


def _sheet(header: list[str], rows: Any, *, format: str, name: str) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    if format == "xlsx":
        target = io.BytesIO()
        spreadsheet.write_xlsx(header, rows, target)
        return Response(target.getvalue(), media_type=XLSX_TYPE, headers=disposition)
    body = b"".join(spreadsheet.csv_chunks(header, rows))
    return Response(body, media_type="text/csv; charset=utf-8", headers=disposition)


def _format(format: str) -> str:
    if format not in ("csv", "xlsx"):
        raise HTTPException(status_code=422, detail=_("Choose CSV or XLSX."))
    return format


@router.get("/template", dependencies=EDIT)
def import_template(format: str = "csv", lang: str = "es"):
    header = spreadsheet.header_row("es" if lang == "es" else "en")
    name = "plantilla-empleados" if lang == "es" else "employees-template"
    return _sheet(header, [], format=_format(format), name=name)


def _launch_after_commit(request: Request, session: Session, run: ImportRun, **kwargs) -> None:
    """Start the run's thread once this request's transaction has committed."""
    engine, settings, run_id = request.app.state.engine, request.app.state.settings, run.id

    def launch(_session: Session) -> None:
        imports.start(engine, settings, run_id, **kwargs)

    event.listen(session, "after_commit", launch, once=True)


def _upload_refused(request: Request, session: Session):
    def answer(err: OrgError) -> Response:
        context = imports_page_context(session, file_error=err.message)
        return render(request, "org/import.html", context, status_code=422)

    return answer


def imports_page_context(session: Session, **extra: Any) -> dict[str, Any]:
    return import_context(saved_mappings=imports.saved_mappings(session), **extra)


@router.post("/runs", dependencies=EDIT)
async def upload_for_mapping(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    raw = await file.read(spreadsheet.MAX_BYTES + 1) if file and file.filename else None

    def upload() -> ImportRun:
        if raw is None:
            raise OrgError(_("Choose a CSV or XLSX file."), field="file")
        return imports.create_run(session, raw, file.filename, user=principal.user)

    return run_action(
        request,
        session,
        upload,
        message=None,
        to=lambda run: f"/org/employees/import/runs/{run.id}",
        on_error=_upload_refused(request, session),
    )


def run_page_context(session: Session, run: ImportRun, *, step: str, use: str) -> dict[str, Any]:
    """The run's page: the mapping form, the progress, or what the check found."""
    context: dict[str, Any] = {"run": run, "stale": imports.is_stale(run)}
    context["summary"] = json.loads(run.summary or "{}")
    context["progress"] = imports.progress_of(run)
    showing_form = run.state == "mapping" or (step == "mapping" and run.content is not None)
    if showing_form and run.state in ("mapping", "checked", "failed"):
        mapping = imports.run_mapping(run)
        saved = {m.name: m for m in imports.saved_mappings(session)}
        if use in saved:
            mapping = imports.as_mapping(saved[use])
        table = imports.preview(run.content, run.filename)
        context |= {
            "step": "mapping",
            "columns": imports.columns_of(table, mapping),
            "mapping": mapping,
            "saved_mappings": list(saved.values()),
            "fields": mappings.FIELDS,
            "field_labels": mappings.FIELD_LABELS,
            "name_rules": mappings.NAME_RULES,
        }
    else:
        context["step"] = run.state
    return context


@router.get("/runs/{run_id}", dependencies=EDIT)
def import_run_page(
    request: Request, session: SessionDep, run: RunDep, step: str = "", use: str = ""
):
    context = run_page_context(session, run, step=step, use=use)
    working = run.state in ("checking", "importing") and not context["stale"]
    headers = {"Refresh": str(REFRESH_SECONDS)} if working else None
    return render(request, "org/import_run.html", context, headers=headers)


def mapping_from_form(form: Any, table: spreadsheet.Table) -> mappings.Mapping:
    """Return the mapping the form confirms: one field (or none) per column of the file."""
    columns: dict[str, str] = {}
    for index, header in enumerate(table.headers):
        if not header.strip():
            continue
        name = str(form.get(f"field-{index}") or mappings.IGNORE)
        if name != mappings.IGNORE and name not in mappings.FIELDS:
            raise OrgError(_("Choose one of the fields offered."), field=f"field-{index}")
        columns[header] = name
    rule = str(form.get("name_rule") or "given_first")
    if rule not in mappings.NAME_RULES:
        raise OrgError(_("Choose one of the rules offered."), field="name_rule")
    return mappings.Mapping(columns, rule)


def _mapping_refused(request: Request, session: Session, run: ImportRun, form: Any):
    def answer(err: OrgError) -> Response:
        context = run_page_context(session, run, step="mapping", use="")
        context |= {"errors": err.form_errors(), "values": dict(form)}
        return render(request, "org/import_run.html", context, status_code=422)

    return answer


@router.post("/runs/{run_id}/mapping", dependencies=EDIT)
async def confirm_mapping(
    request: Request, session: SessionDep, principal: CurrentPrincipal, run: RunDep
):
    form = await request.form()

    def confirm() -> None:
        if run.content is None:
            raise OrgError(_("This file was already imported. Upload it again."), status_code=409)
        table = imports.preview(run.content, run.filename)
        mapping = mapping_from_form(form, table)
        save_as = str(form.get("save_as") or "")
        imports.set_mapping(session, run, mapping, save_as=save_as, by=principal.user.email)
        _launch_after_commit(request, session, run)

    return run_action(
        request,
        session,
        confirm,
        message=None,
        to=f"/org/employees/import/runs/{run.id}",
        on_error=_mapping_refused(request, session, run, form),
    )


@router.post("/runs/{run_id}/import", dependencies=EDIT)
async def confirm_run_import(request: Request, session: SessionDep, run: RunDep):
    form = await request.form()
    accepted = {str(v) for v in form.getlist("accept")}

    def confirm() -> None:
        imports.confirm_import(session, run, accepted)
        _launch_after_commit(request, session, run, accepted=accepted)

    return run_action(
        request,
        session,
        confirm,
        message=None,
        to=f"/org/employees/import/runs/{run.id}",
        on_error=_import_refused(request, session, run, accepted),
    )


def _import_refused(request: Request, session: Session, run: ImportRun, accepted: set[str]):
    def answer(err: OrgError) -> Response:
        context = run_page_context(session, run, step="", use="")
        context |= {"errors": err.form_errors(), "accepted": accepted}
        return render(request, "org/import_run.html", context, status_code=422)

    return answer


@router.get("/runs/{run_id}/problems", dependencies=EDIT)
def import_run_problems(run: RunDep, format: str = "csv"):
    header, rows = imports.problems_sheet(run)
    return _sheet(header, rows, format=_format(format), name="import-problems")


@router.get("/runs/{run_id}/changes", dependencies=EDIT)
def import_run_changes(run: RunDep, format: str = "csv"):
    header, rows = imports.changes_sheet(run)
    return _sheet(header, rows, format=_format(format), name="import-changes")
