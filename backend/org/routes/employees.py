"""The organisation's employees: the list, the record, and (edit_org) adding and changing one.

The list's filters are also those of the export (`backend.org.routes.roster`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from backend import clock
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep
from backend.i18n import N_, _
from backend.org import service
from backend.org.models import Employee, EmployeeStatus
from backend.org.routes.lookups import (
    EDIT,
    VIEW,
    EmployeeDep,
    employee_page,
    form_id,
    save_form,
    status_options,
    unit_options,
)
from backend.org.schemas import EMPLOYEE_FORM_FIELDS, EmployeeForm
from backend.org.service import EmployeeFilters
from backend.web import NavItem, kept_form, register_nav, render

router = APIRouter(prefix="/org")

register_nav(NavItem(N_("Employees"), "/org/employees", Permission.view_org, order=31))


# --- the list -----------------------------------------------------------------------------------


def _employee_filters(
    session: Session,
    *,
    q: str,
    unit: str,
    sub_units: str,
    position: str,
    status: str,
    supervisor: str,
) -> tuple[EmployeeFilters, dict[str, str]]:
    """Return the service filters and the raw values (to refill the form and build links)."""
    raw = {
        "q": q.strip(),
        "unit": unit,
        "sub_units": "1" if sub_units else "",
        "position": position.strip(),
        "status": status if status in EmployeeStatus.__members__ else "",
        "supervisor": supervisor.strip(),
    }
    filters = EmployeeFilters(
        q=raw["q"],
        unit_id=form_id(unit),
        include_sub_units=bool(sub_units),
        status=raw["status"],
    )
    if raw["position"]:
        found = service.position_by_code(session, raw["position"])
        # An unknown code must match nobody, not everybody.
        filters.position_id = found.id if found else -1
    if raw["supervisor"]:
        found = service.employee_by_number(session, raw["supervisor"])
        filters.supervisor_id = found.id if found else -1
    return filters, raw


def _employee_query(
    session: SessionDep,
    q: str = "",
    unit: str = "",
    sub_units: str = "",
    position: str = "",
    status: str = "",
    supervisor: str = "",
    filtered: str = "",
) -> tuple[EmployeeFilters, dict[str, str]]:
    # The checkbox "include sub-units" is on by default: absent on a first visit, it stays on.
    if not filtered:
        sub_units = "1"
    return _employee_filters(
        session,
        q=q,
        unit=unit,
        sub_units=sub_units,
        position=position,
        status=status,
        supervisor=supervisor,
    )


# Route parameters: the employee list's filters in the query string (see _employee_filters).
EmployeeQuery = Annotated[tuple[EmployeeFilters, dict[str, str]], Depends(_employee_query)]


@router.get("/employees", dependencies=VIEW)
def list_employees(request: Request, session: SessionDep, query: EmployeeQuery, page: int = 1):
    filters, raw = query
    return render(
        request,
        "org/employees.html",
        {
            "page": employee_page(session, filters, page),
            "filters": raw,
            "base_query": urlencode({**raw, "filtered": "1"}),
            "units": unit_options(session),
            "statuses": status_options(),
        },
        block="results",
    )


# --- the record and its forms ------------------------------------------------------------------


def _employee_form_context(
    session: Session, settings: Any, values: Any = None, employee: Employee | None = None
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": {},
        "employee": employee,
        "units": unit_options(session),
        "statuses": status_options(),
        "qualifications": [q for q, _n in service.list_qualifications(session)],
        "today": clock.today(settings).isoformat(),
    }


@router.get("/employees/new", dependencies=EDIT)
def new_employee_form(request: Request, session: SessionDep, settings: SettingsDep, unit: str = ""):
    values = {key: "" for key in EMPLOYEE_FORM_FIELDS}
    values |= {"unit_id": form_id(unit) or "", "status": "active", "qualifications": []}
    context = _employee_form_context(session, settings, values)
    return render(request, "org/employee_form.html", context)


@router.post("/employees/new", dependencies=EDIT)
async def create_employee(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    form = EmployeeForm.parse(await request.form())
    return save_form(
        request,
        session,
        lambda: service.add_employee(session, form, actor=principal.user),
        values=form.values(),
        template="org/employee_form.html",
        context=lambda: _employee_form_context(session, settings),
        message=lambda employee: _("%(name)s was added.", name=employee.full_name),
        to=lambda employee: f"/org/employees/{employee.id}",
    )


@router.get("/employees/{employee_id}", dependencies=VIEW)
def employee_detail(request: Request, session: SessionDep, employee: EmployeeDep):
    position_id = employee.position_id
    return render(
        request,
        "org/employee.html",
        {
            "employee": employee,
            "unit": service.get_unit(session, employee.unit_id),
            "position": service.get_position(session, position_id) if position_id else None,
            "chain": service.supervisor_chain(session, employee),
            "reports": service.direct_reports(session, employee.id),
            "qualifications": service.held_qualifications(session, employee.id),
            "today": service.organisation_today(session),
            "expiry_form": kept_form(request, f"/org/employees/{employee.id}"),
            "statuses": service.status_history(session, employee.id),
            "changes": service.recent_changes(session, employee.id),
        },
    )


def _record_values(session: Session, employee: Employee, *, today: str) -> dict[str, Any]:
    """The employee's record as the edit form shows it."""
    position = service.get_position(session, employee.position_id) if employee.position_id else None
    supervisor = (
        service.get_employee(session, employee.supervisor_id) if employee.supervisor_id else None
    )
    return {
        "number": employee.number,
        "first_name": employee.first_name,
        "last_name": employee.last_name,
        "email": employee.email,
        "unit_id": employee.unit_id,
        "position_code": position.code if position else "",
        "supervisor_number": supervisor.number if supervisor else "",
        "hire_date": employee.hire_date.isoformat(),
        "birth_date": employee.birth_date.isoformat() if employee.birth_date else "",
        "status": employee.status,
        "effective_on": today,
        "qualifications": [q.code for q in service.qualifications_of(session, employee.id)],
    }


@router.get("/employees/{employee_id}/edit", dependencies=EDIT)
def edit_employee_form(
    request: Request, session: SessionDep, settings: SettingsDep, employee: EmployeeDep
):
    values = _record_values(session, employee, today=clock.today(settings).isoformat())
    context = _employee_form_context(session, settings, values, employee=employee)
    return render(request, "org/employee_form.html", context)


@router.post("/employees/{employee_id}/edit", dependencies=EDIT)
async def update_employee(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    employee: EmployeeDep,
):
    form = EmployeeForm.parse(await request.form())
    return save_form(
        request,
        session,
        lambda: service.save_employee(session, employee, form, actor=principal.user),
        values=form.values(),
        template="org/employee_form.html",
        context=lambda: _employee_form_context(session, settings, employee=employee),
        message=lambda saved: _("The record of %(name)s was saved.", name=saved.full_name),
        to=f"/org/employees/{employee.id}",
    )
