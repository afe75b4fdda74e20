"""What the organisation's pages share: the records a path names (404 when there is none),
the permissions, and the choices their forms offer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from sqlmodel import Session

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


def _unit_in_path(session: SessionDep, unit_id: int) -> Unit:
    unit = service.get_unit(session, unit_id)
    if unit is None:
        raise HTTPException(status_code=404, detail=_("This unit does not exist."))
    return unit


def _position_in_path(session: SessionDep, position_id: int) -> Position:
    position = service.get_position(session, position_id)
    if position is None:
        raise HTTPException(status_code=404, detail=_("This position does not exist."))
    return position


def _employee_in_path(session: SessionDep, employee_id: int) -> Employee:
    employee = service.get_employee(session, employee_id)
    if employee is None:
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    return employee


# Route parameters: the unit, position or employee the path names (404 when there is none).
UnitDep = Annotated[Unit, Depends(_unit_in_path)]
PositionDep = Annotated[Position, Depends(_position_in_path)]
EmployeeDep = Annotated[Employee, Depends(_employee_in_path)]


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
