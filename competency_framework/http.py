"""Small helpers shared by the competency routers: errors as JSON, exports, loading records."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from backend.i18n import _
from backend.org.models import Employee, Unit
from competency_framework.exports import ImportRejected, Table, download
from competency_framework.service import CompetencyError

EXPORT_FORMATS = ("csv", "xlsx")


def api_error(err: CompetencyError | ImportRejected) -> JSONResponse:
    """Return a structured JSON error (the same shape as the app's handlers)."""
    status = getattr(err, "status_code", 422)
    code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(status, "invalid")
    body: dict[str, Any] = {"status": status, "code": code, "message": str(err)}
    if isinstance(err, ImportRejected):
        body["problems"] = [p.as_params() for p in err.problems]
    elif err.errors:
        body["fields"] = [{"field": k, "message": v} for k, v in err.errors.items()]
    return JSONResponse({"error": body}, status_code=status)


def raise_http(err: CompetencyError) -> None:
    """Turn an authorization or lookup failure into the app's error page."""
    raise HTTPException(status_code=err.status_code, detail=str(err))


def employee_or_404(session: Session, employee_id: int) -> Employee:
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    return employee


def unit_or_404(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(status_code=404, detail=_("This unit does not exist."))
    return unit


def export_or_none(table_builder, fmt: str | None, filename: str) -> Response | None:
    """Return a CSV/XLSX download when `fmt` asks for one (else None: render the page)."""
    if not fmt:
        return None
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(status_code=422, detail=_("Choose CSV or XLSX."))
    table: Table = table_builder()
    return download(table, fmt=fmt, filename=filename)


def query_without(request: Request, *names: str) -> str:
    """Return the request's query string without the given parameters (for export links)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in names]
    from urllib.parse import urlencode

    return urlencode(items)
