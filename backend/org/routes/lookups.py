"""What the organisation's pages share: the records a path names (404 when there is none),
the permissions, and the choices their forms offer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import id_or_none, require
from backend.i18n import _
from backend.org import service
from backend.org.models import (
    EMPLOYEE_STATUS_LABELS,
    JOB_FAMILY_LABELS,
    UNIT_KIND_LABELS,
    Employee,
    EmployeeStatus,
    JobFamily,
    Position,
    Unit,
    UnitKind,
)
from backend.org.service import EmployeeFilters
from backend.pages import employee_or_404, found_or_404, unit_or_404
from backend.web import Page

# HR planners and administrators edit (edit_org); auditors browse read-only (view_org).
VIEW = [require(Permission.view_org)]
EDIT = [require(Permission.edit_org)]
PER_PAGE = 50
INDENT = "\u2003"  # an em space: indents sub-units in select boxes, where CSS cannot


def form_id(value: str | None) -> int | None:
    """Return the record id in a query or form value; None when empty, not a number or beyond
    any id (an id like 2**63 reached the database, which refused it naming no field): the
    caller then says, by the field, that the record does not exist."""
    return id_or_none(value)


def employee_page(session: Session, filters: EmployeeFilters, page: int) -> Page:
    rows, total = service.employees_page(session, filters, page=page, per_page=PER_PAGE)
    return Page(rows, total, max(1, page), PER_PAGE)


def _position_in_path(session: SessionDep, position_id: int) -> Position:
    return found_or_404(
        service.get_position(session, position_id), _("This position does not exist.")
    )


def save_form(
    request: Request,
    session: Session,
    action: Callable[[], Any],
    *,
    values: dict[str, Any],
    template: str,
    context: Callable[[], dict[str, Any]],
    message: Any,
    to: Any,
) -> Response:
    """Run a form's action (`run_action`); refused, the form again with its `values`."""
    return run_action(
        request,
        session,
        action,
        message=message,
        to=to,
        on_error=show_form(request, template, context, values=values, block="form"),
    )


# Route parameters: the unit, position or employee the path names (404 when there is none).
UnitDep = Annotated[Unit, Depends(unit_or_404)]
PositionDep = Annotated[Position, Depends(_position_in_path)]
EmployeeDep = Annotated[Employee, Depends(employee_or_404)]


def unit_options(session: Session) -> list[tuple[int, str]]:
    """Return (id, label) for every unit, indented by depth, for select boxes."""
    return [
        (unit.id, f"{INDENT * depth}{unit.code} · {unit.name}")
        for unit, depth in service.unit_tree(session)
    ]


def kind_options() -> list[tuple[str, str]]:
    return [(kind.value, _(UNIT_KIND_LABELS[kind])) for kind in UnitKind]


def family_options() -> list[tuple[str, str]]:
    return [(family.value, _(JOB_FAMILY_LABELS[family])) for family in JobFamily]


def status_options() -> list[tuple[str, str]]:
    return [(status.value, _(EMPLOYEE_STATUS_LABELS[status])) for status in EmployeeStatus]


def role_options() -> list[tuple[str, str]]:
    return [(o.code, o.title) for o in service.role_profile_options()]
