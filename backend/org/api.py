"""The organisation as JSON under /api/v1, for other HR systems.

Employees refer to units, positions and supervisors by code and number (what other systems
know), and the responses carry both those and our ids. Errors are structured like every API
error of the application: {"error": {"status", "code", "message", "fields"?}}.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.org import service
from backend.org.models import Employee, EmployeeStatus, JobFamily, Position, Unit, UnitKind
from backend.org.service import EmployeeFilters, EmployeeInput, OrgError

api_router = APIRouter(tags=["organisation"])

VIEW = [require(Permission.view_org)]
EDIT = [require(Permission.edit_org)]


# --- response and request models --------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    fields: list[FieldProblem] | None = None


class ErrorOut(BaseModel):
    """Every API error has this shape."""

    error: ErrorBody


ERRORS = {
    401: {"model": ErrorOut, "description": "Not signed in"},
    403: {"model": ErrorOut, "description": "Not allowed"},
}
NOT_FOUND = {404: {"model": ErrorOut, "description": "No such record"}}
INVALID = {422: {"model": ErrorOut, "description": "Invalid values, listed in `fields`"}}
CONFLICT = {409: {"model": ErrorOut, "description": "The employee number is taken"}}


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    kind: UnitKind
    parent_id: int | None
    region: str
    state: str
    is_central: bool


class PositionOut(BaseModel):
    id: int
    code: str
    title: str
    job_family: JobFamily
    grade: str
    unit_id: int
    unit_code: str
    role_code: str
    planned_headcount: int
    occupants: int = Field(description="People in the position who have not left")


class UnitDetailOut(UnitOut):
    sub_units: list[UnitOut]
    positions: list[PositionOut]
    employees: int = Field(description="People in this unit (not sub-units) who have not left")
    planned_headcount: int


class EmployeeOut(BaseModel):
    id: int
    number: str
    first_name: str
    last_name: str
    email: str
    unit_id: int
    unit_code: str
    position_id: int | None
    position_code: str | None
    supervisor_id: int | None
    supervisor_number: str | None
    hire_date: date
    birth_date: date | None
    status: EmployeeStatus
    qualifications: list[str]
    updated_at: datetime


class EmployeePage(BaseModel):
    items: list[EmployeeOut]
    total: int
    page: int
    per_page: int
    pages: int


class QualificationOut(BaseModel):
    id: int
    code: str
    name_es: str
    name_en: str
    is_procurement: bool
    holders: int = Field(description="People holding it who have not left")


class EmployeeCreate(BaseModel):
    """A new employee. Unit, position and supervisor are given by code and number."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=service.NUMBER_MAX)
    first_name: str = Field(min_length=1, max_length=service.FIRST_NAME_MAX)
    last_name: str = Field(min_length=1, max_length=service.LAST_NAME_MAX)
    email: str = Field(default="", max_length=service.EMAIL_MAX)
    unit_code: str = Field(min_length=1, max_length=32)
    position_code: str | None = Field(default=None, max_length=40)
    supervisor_number: str | None = Field(default=None, max_length=service.NUMBER_MAX)
    hire_date: date
    birth_date: date | None = None
    status: EmployeeStatus = EmployeeStatus.active
    qualifications: list[str] = Field(default_factory=list)


class EmployeeUpdate(BaseModel):
    """Changes to an employee: only the fields sent change. `null` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(default=None, min_length=1, max_length=service.NUMBER_MAX)
    first_name: str | None = Field(default=None, min_length=1, max_length=service.FIRST_NAME_MAX)
    last_name: str | None = Field(default=None, min_length=1, max_length=service.LAST_NAME_MAX)
    email: str | None = Field(default=None, max_length=service.EMAIL_MAX)
    unit_code: str | None = Field(default=None, min_length=1, max_length=32)
    position_code: str | None = Field(default=None, max_length=40)
    supervisor_number: str | None = Field(default=None, max_length=service.NUMBER_MAX)
    hire_date: date | None = None
    birth_date: date | None = None
    status: EmployeeStatus | None = None
    qualifications: list[str] | None = None
    effective_on: date | None = Field(
        default=None, description="When a status change takes effect (default: today)"
    )


# --- helpers ----------------------------------------------------------------------------------

# Service field names → the API's.
_API_FIELD = {
    "unit_id": "unit_code",
    "position_id": "position_code",
    "supervisor_id": "supervisor_number",
}


def _problem_response(problems: dict[str, str], status_code: int = 422) -> JSONResponse:
    first = next(iter(problems.values()), _("Some values are missing or not valid."))
    return JSONResponse(
        {
            "error": {
                "status": status_code,
                "code": "conflict" if status_code == 409 else "invalid",
                "message": first,
                "fields": [
                    {"field": _API_FIELD.get(name, name), "message": message}
                    for name, message in problems.items()
                ],
            }
        },
        status_code=status_code,
    )


def _unit_out(unit: Unit) -> UnitOut:
    return UnitOut.model_validate(unit, from_attributes=True)


def _position_out(position: Position, unit: Unit, occupants: int) -> PositionOut:
    return PositionOut(
        **position.model_dump(exclude={"unit_id"}),
        unit_id=unit.id,
        unit_code=unit.code,
        occupants=occupants,
    )


def _employee_out(
    employee: Employee,
    unit: Unit,
    position: Position | None,
    supervisor: Employee | None,
    qualifications: list[str],
) -> EmployeeOut:
    return EmployeeOut(
        **employee.model_dump(),
        unit_code=unit.code,
        position_code=position.code if position else None,
        supervisor_number=supervisor.number if supervisor else None,
        qualifications=qualifications,
    )


def _one_employee(session: Session, employee: Employee) -> EmployeeOut:
    unit = session.get(Unit, employee.unit_id)
    position = session.get(Position, employee.position_id) if employee.position_id else None
    supervisor = session.get(Employee, employee.supervisor_id) if employee.supervisor_id else None
    codes = service.qualification_codes_of(session, [employee.id])[employee.id]
    return _employee_out(employee, unit, position, supervisor, codes)


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=_("This employee does not exist."))


# --- reading ----------------------------------------------------------------------------------


@api_router.get("/units", response_model=list[UnitOut], dependencies=VIEW, responses=ERRORS)
def api_units(
    session: SessionDep,
    kind: UnitKind | None = None,
    region: str = "",
    central: bool | None = None,
    parent_id: int | None = None,
    q: str = "",
) -> list[UnitOut]:
    """Units, by code; filter by kind, region, central/decentralised, parent or text."""
    units = service.list_units(
        session,
        kind=kind.value if kind else "",
        region=region,
        central=central,
        parent_id=parent_id,
        q=q,
    )
    return [_unit_out(u) for u in units]


@api_router.get(
    "/units/{unit_id}",
    response_model=UnitDetailOut,
    dependencies=VIEW,
    responses=ERRORS | NOT_FOUND,
)
def api_unit(session: SessionDep, unit_id: int) -> UnitDetailOut:
    """One unit with its sub-units, its positions (planned vs in post) and its headcount."""
    unit = service.get_unit(session, unit_id)
    if unit is None:
        raise HTTPException(status_code=404, detail=_("This unit does not exist."))
    rows = session.exec(service.positions_statement(unit_ids=[unit.id])).all()
    occupied = service.occupants_count(session, [p.id for p, _u in rows])
    figures = service.unit_figures(session).get(unit.id, service.UnitFigures())
    return UnitDetailOut(
        **_unit_out(unit).model_dump(),
        sub_units=[_unit_out(u) for u in service.list_units(session, parent_id=unit.id)],
        positions=[_position_out(p, u, occupied.get(p.id, 0)) for p, u in rows],
        employees=figures.employees,
        planned_headcount=figures.planned,
    )


@api_router.get("/positions", response_model=list[PositionOut], dependencies=VIEW, responses=ERRORS)
def api_positions(
    session: SessionDep,
    unit_id: int | None = None,
    include_sub_units: bool = True,
    job_family: JobFamily | None = None,
    role_code: str = "",
    q: str = "",
) -> list[PositionOut]:
    """Positions, by code; filter by unit (with its sub-units), job family or role profile."""
    unit_ids = None
    if unit_id is not None:
        unit_ids = service.subtree_ids(session, unit_id) if include_sub_units else [unit_id]
    rows = session.exec(
        service.positions_statement(
            unit_ids=unit_ids,
            job_family=job_family.value if job_family else "",
            role_code=role_code,
            q=q,
        )
    ).all()
    occupied = service.occupants_count(session, [p.id for p, _u in rows])
    return [_position_out(p, u, occupied.get(p.id, 0)) for p, u in rows]


@api_router.get("/employees", response_model=EmployeePage, dependencies=VIEW, responses=ERRORS)
def api_employees(
    session: SessionDep,
    q: str = "",
    unit_id: int | None = None,
    include_sub_units: bool = True,
    position_id: int | None = None,
    status: EmployeeStatus | None = None,
    supervisor_id: int | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EmployeePage:
    """Employees by name, a page at a time; filter by text, unit, position, status, supervisor."""
    filters = EmployeeFilters(
        q=q,
        unit_id=unit_id,
        include_sub_units=include_sub_units,
        position_id=position_id,
        status=status.value if status else "",
        supervisor_id=supervisor_id,
    )
    rows, total = service.employees_page(session, filters, page=page, per_page=per_page)
    codes = service.qualification_codes_of(session, [e.id for e, *_rest in rows])
    return EmployeePage(
        items=[_employee_out(e, u, p, s, codes[e.id]) for e, u, p, s in rows],
        total=total,
        page=page,
        per_page=per_page,
        pages=max(1, math.ceil(total / per_page)),
    )


@api_router.get(
    "/employees/by-number/{number}",
    response_model=EmployeeOut,
    dependencies=VIEW,
    responses=ERRORS | NOT_FOUND,
)
def api_employee_by_number(session: SessionDep, number: str) -> EmployeeOut:
    """One employee, found by employee number."""
    employee = service.employee_by_number(session, number)
    if employee is None:
        raise _not_found()
    return _one_employee(session, employee)


@api_router.get(
    "/employees/{employee_id}",
    response_model=EmployeeOut,
    dependencies=VIEW,
    responses=ERRORS | NOT_FOUND,
)
def api_employee(session: SessionDep, employee_id: int) -> EmployeeOut:
    """One employee, by id."""
    employee = service.get_employee(session, employee_id)
    if employee is None:
        raise _not_found()
    return _one_employee(session, employee)


@api_router.get(
    "/qualifications",
    response_model=list[QualificationOut],
    dependencies=VIEW,
    responses=ERRORS,
)
def api_qualifications(session: SessionDep) -> list[QualificationOut]:
    """Qualifications, by code, with how many people hold each."""
    return [
        QualificationOut(**q.model_dump(), holders=n)
        for q, n in service.list_qualifications(session)
    ]


# --- writing ----------------------------------------------------------------------------------


def _input_from(
    session: Session,
    *,
    number: str,
    first_name: str,
    last_name: str,
    email: str,
    unit_code: str,
    position_code: str,
    supervisor_number: str,
    hire_date: date,
    birth_date: date | None,
    status: str,
    qualifications: list[str],
) -> EmployeeInput | JSONResponse:
    refs = service.resolve_references(
        session,
        unit_code=unit_code,
        position_code=position_code,
        supervisor_number=supervisor_number,
    )
    if refs.problems:
        return _problem_response(refs.problems)
    return EmployeeInput(
        number=number,
        first_name=first_name,
        last_name=last_name,
        email=email,
        unit_id=refs.unit_id,
        position_id=refs.position_id,
        supervisor_id=refs.supervisor_id,
        hire_date=hire_date,
        birth_date=birth_date,
        status=status,
        qualification_codes=tuple(dict.fromkeys(q.strip() for q in qualifications if q.strip())),
    )


@api_router.post(
    "/employees",
    response_model=EmployeeOut,
    status_code=201,
    dependencies=EDIT,
    responses=ERRORS | INVALID | CONFLICT,
)
def api_create_employee(
    session: SessionDep, principal: CurrentPrincipal, body: EmployeeCreate
) -> EmployeeOut | JSONResponse:
    """Add an employee (audited)."""
    data = _input_from(
        session,
        number=body.number,
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        unit_code=body.unit_code,
        position_code=body.position_code or "",
        supervisor_number=body.supervisor_number or "",
        hire_date=body.hire_date,
        birth_date=body.birth_date,
        status=body.status.value,
        qualifications=body.qualifications,
    )
    if isinstance(data, JSONResponse):
        return data
    try:
        employee = service.create_employee(session, data, actor=principal.user)
    except OrgError as err:
        session.rollback()
        return _problem_response(err.problems, err.status_code)
    session.commit()
    return _one_employee(session, employee)


@api_router.patch(
    "/employees/{employee_id}",
    response_model=EmployeeOut,
    dependencies=EDIT,
    responses=ERRORS | NOT_FOUND | INVALID | CONFLICT,
)
def api_update_employee(
    session: SessionDep, principal: CurrentPrincipal, employee_id: int, body: EmployeeUpdate
) -> EmployeeOut | JSONResponse:
    """Change an employee: send only the fields that change (audited)."""
    employee = service.get_employee(session, employee_id)
    if employee is None:
        raise _not_found()
    current = _one_employee(session, employee)
    sent = body.model_fields_set
    required = {"number", "first_name", "last_name", "unit_code", "hire_date", "status"}
    nulls = {name: _("This value cannot be empty.") for name in required & sent}
    nulls = {name: msg for name, msg in nulls.items() if getattr(body, name) is None}
    if nulls:
        return _problem_response(nulls)

    def pick(name: str):
        return getattr(body, name) if name in sent else getattr(current, name)

    data = _input_from(
        session,
        number=pick("number"),
        first_name=pick("first_name"),
        last_name=pick("last_name"),
        email=pick("email") or "",
        unit_code=pick("unit_code"),
        position_code=pick("position_code") or "",
        supervisor_number=pick("supervisor_number") or "",
        hire_date=pick("hire_date"),
        birth_date=pick("birth_date"),
        status=EmployeeStatus(pick("status")).value,
        qualifications=pick("qualifications") or [],
    )
    if isinstance(data, JSONResponse):
        return data
    try:
        service.update_employee(
            session,
            employee=employee,
            data=data,
            actor=principal.user,
            effective_on=body.effective_on,
        )
    except OrgError as err:
        session.rollback()
        return _problem_response(err.problems, err.status_code)
    session.commit()
    return _one_employee(session, employee)
