"""Small helpers every domain's pages use: exports of a page's table, export links, lookups.

A page that offers its table as a spreadsheet calls `export_or_none(builder, format, name)`:
with `?format=csv|xlsx` it answers the download, otherwise None and the page renders (its export
links keep the other query parameters: `query_without(request, "format")`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import Response

from backend.db import SessionDep
from backend.i18n import _
from backend.org.models import Employee, Unit
from backend.tables import Table, download

__all__ = [
    "EXPORT_FORMATS",
    "employee_or_404",
    "export_or_none",
    "found_or_404",
    "query_without",
    "unit_or_404",
]

EXPORT_FORMATS = ("csv", "xlsx")

T = TypeVar("T")


def export_or_none(
    table_builder: Callable[[], Table], fmt: str | None, filename: str
) -> Response | None:
    """Return a CSV/XLSX download when `fmt` asks for one (else None: render the page)."""
    if not fmt:
        return None
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(status_code=422, detail=_("Choose CSV or XLSX."))
    return download(table_builder(), fmt=fmt, filename=filename)


def query_without(request: Request, *names: str) -> str:
    """Return the request's query string without the given parameters (for export links)."""
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in names])


def found_or_404(record: T | None, detail: str) -> T:
    """Return the record, or answer 404 with `detail` when there is none."""
    if record is None:
        raise HTTPException(status_code=404, detail=detail)
    return record


# Also route dependencies (`Depends(unit_or_404)`): the path's `unit_id` / `employee_id`.
def employee_or_404(session: SessionDep, employee_id: int) -> Employee:
    """Return the employee, or answer 404."""
    return found_or_404(session.get(Employee, employee_id), _("This employee does not exist."))


def unit_or_404(session: SessionDep, unit_id: int) -> Unit:
    """Return the unit, or answer 404."""
    return found_or_404(session.get(Unit, unit_id), _("This unit does not exist."))
