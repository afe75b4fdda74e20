"""The organisation as JSON under /api/v1, for other HR systems.

Employees refer to units, positions and supervisors by code and number (what other systems
know), and the responses carry both those and our ids. Errors are structured like every API
error of the application: {"error": {"status", "code", "message", "fields"?}} (a refused
change is the service's `OrgError`, answered by the app's one handler).
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse

from backend.db import SessionDep
from backend.deps import CurrentPrincipal
from backend.errors import problem
from backend.i18n import _
from backend.org import service, spreadsheet
from backend.org.models import EmployeeStatus, JobFamily, Position, Unit, UnitKind
from backend.org.routes.lookups import EDIT, VIEW
from backend.org.schemas import (
    CONFLICT,
    ERRORS,
    INVALID,
    NOT_FOUND,
    EmployeeCreate,
    EmployeeOut,
    EmployeePage,
    EmployeeUpdate,
    PositionOut,
    QualificationOut,
    UnitDetailOut,
    UnitOut,
)
from backend.org.service import EmployeeFilters
from backend.pages import employee_or_404, found_or_404, unit_or_404

api_router = APIRouter(tags=["organisation"])


def _unit_out(unit: Unit) -> UnitOut:
    return UnitOut.model_validate(unit, from_attributes=True)


def _position_out(position: Position, unit: Unit, occupants: int) -> PositionOut:
    return PositionOut(
        **position.model_dump(exclude={"unit_id"}),
        unit_id=unit.id,
        unit_code=unit.code,
        occupants=occupants,
    )


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
    unit = unit_or_404(session, unit_id)
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
        items=[service.employee_out(e, u, p, s, codes[e.id]) for e, u, p, s in rows],
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
    employee = found_or_404(
        service.employee_by_number(session, number), _("This employee does not exist.")
    )
    return service.api_employee_out(session, employee)


@api_router.get(
    "/employees/{employee_id}",
    response_model=EmployeeOut,
    dependencies=VIEW,
    responses=ERRORS | NOT_FOUND,
)
def api_employee(session: SessionDep, employee_id: int) -> EmployeeOut:
    """One employee, by id."""
    employee = employee_or_404(session, employee_id)
    return service.api_employee_out(session, employee)


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


@api_router.post(
    "/employees",
    response_model=EmployeeOut,
    status_code=201,
    dependencies=EDIT,
    responses=ERRORS | INVALID | CONFLICT,
)
def api_create_employee(
    session: SessionDep, principal: CurrentPrincipal, body: EmployeeCreate
) -> EmployeeOut:
    """Add an employee (audited)."""
    employee = service.add_employee_from_api(session, body, actor=principal.user)
    session.commit()
    return service.api_employee_out(session, employee)


@api_router.patch(
    "/employees/{employee_id}",
    response_model=EmployeeOut,
    dependencies=EDIT,
    responses=ERRORS | NOT_FOUND | INVALID | CONFLICT,
)
def api_update_employee(
    session: SessionDep, principal: CurrentPrincipal, employee_id: int, body: EmployeeUpdate
) -> EmployeeOut:
    """Change an employee: send only the fields that change (audited)."""
    employee = employee_or_404(session, employee_id)
    service.change_employee_from_api(session, employee, body, actor=principal.user)
    session.commit()
    return service.api_employee_out(session, employee)


@api_router.get("/import-mappings", dependencies=EDIT, responses=ERRORS)
def api_import_mappings(session: SessionDep) -> list[dict]:
    """The saved import mappings, each as the JSON document `/employees/import` accepts."""
    return service.import_mapping_documents(session)


@api_router.post(
    "/employees/import",
    dependencies=EDIT,
    responses=ERRORS | INVALID | CONFLICT,
)
async def api_import_employees(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="The roster: CSV or XLSX.")],
    mapping: Annotated[str, Form(description="The name of a saved mapping.")] = "",
    mapping_json: Annotated[str, Form(description="A mapping as a JSON document.")] = "",
    dry_run: Annotated[bool, Form()] = False,
    accept_close_matches: Annotated[bool, Form()] = False,
):
    """Check (dry run) or import a roster file, read with a saved mapping or one given as JSON
    (without one, the file must have Mérito's own columns). All or nothing: with any problem,
    or a unit or position matched only by a close name (unless accepted), nothing is written
    and the answer is 422 with every problem by line."""
    raw = await file.read(spreadsheet.MAX_BYTES + 1)
    chosen = service.load_import_mapping(session, name=mapping, document=mapping_json)
    check = service.unattended_import(
        session, raw, file.filename or "", mapping=chosen, dry_run=dry_run,
        accept_close_matches=accept_close_matches, actor=principal.user,
    )  # fmt: skip
    body = service.import_outcome(check, dry_run=dry_run)
    refused = service.import_refusal_message(check)
    if refused:
        session.rollback()
        return JSONResponse(problem(422, refused, extra=body), status_code=422)
    session.commit()
    return body
