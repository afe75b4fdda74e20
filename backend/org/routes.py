"""The organisation's pages (units, positions, employees, qualifications, import/export).

Thin: parse the request, check the permission, call the service, render. HR planners and
administrators edit (edit_org); auditors browse read-only (view_org).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from backend import audit
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, FieldError, form_int, id_or_none, require
from backend.i18n import N_, _
from backend.org import roster, service, spreadsheet
from backend.org.api import api_router
from backend.org.models import (
    EMPLOYEE_STATUS_LABELS,
    Employee,
    EmployeeStatus,
    JobFamily,
    Position,
    Unit,
    UnitKind,
)
from backend.org.service import EmployeeFilters, EmployeeInput, OrgError
from backend.org.spreadsheet import CellError
from backend.web import (
    NavItem,
    Page,
    commit_and_redirect,
    paginate,
    register_nav,
    render,
)

__all__ = ["api_router", "router"]

router = APIRouter(prefix="/org")

register_nav(NavItem(N_("Organisation"), "/org/units", Permission.view_org, order=30))
register_nav(NavItem(N_("Employees"), "/org/employees", Permission.view_org, order=31))

VIEW = [require(Permission.view_org)]
EDIT = [require(Permission.edit_org)]
PER_PAGE = 50
INDENT = "\u2003"  # an em space: indents sub-units in select boxes, where CSS cannot


# --- helpers ----------------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    """Return the record id in a query or form value; None when empty, not a number or beyond
    any id (an id like 2**63 reached the database, which refused it naming no field): the
    caller then says, by the field, that the record does not exist."""
    return id_or_none(value)


def _date(value: str, name: str, errors: dict[str, str], *, required: bool = False) -> date | None:
    try:
        parsed = spreadsheet.parse_date(value or "")
    except CellError as err:
        errors[name] = str(err)
        return None
    if parsed is None and required:
        errors[name] = _("Enter a date.")
    return parsed


def _employee_page(session: Session, filters: EmployeeFilters, page: int) -> Page:
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


def _form_again(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    """Return a refused form's page at 422 (only the form for htmx), with the errors and what
    was typed in `context`. The caller has rolled back (a row it loaded reloads when read)."""
    return render(request, template, context, status_code=422, block="form")


def _unit_options(session: Session) -> list[tuple[int, str]]:
    """Return (id, label) for every unit, indented by depth, for select boxes."""
    return [
        (unit.id, f"{INDENT * depth}{unit.code} · {unit.name}")
        for unit, depth in service.unit_tree(session)
    ]


def _kind_options() -> list[tuple[str, str]]:
    from backend.org.models import UNIT_KIND_LABELS

    return [(kind.value, _(UNIT_KIND_LABELS[kind])) for kind in UnitKind]


def _family_options() -> list[tuple[str, str]]:
    from backend.org.models import JOB_FAMILY_LABELS

    return [(family.value, _(JOB_FAMILY_LABELS[family])) for family in JobFamily]


def _status_options() -> list[tuple[str, str]]:
    return [(status.value, _(EMPLOYEE_STATUS_LABELS[status])) for status in EmployeeStatus]


def _role_options() -> list[tuple[str, str]]:
    return [(o.code, o.title) for o in service.role_profile_options()]


# --- units ------------------------------------------------------------------------------------


@router.get("/units", dependencies=VIEW)
def list_units(
    request: Request,
    session: SessionDep,
    kind: str = "",
    region: str = "",
    scope: str = "",
    q: str = "",
):
    central = {"central": True, "decentralised": False}.get(scope)
    units = service.list_units(
        session,
        kind=kind if kind in UnitKind.__members__ else "",
        region=region,
        central=central,
        q=q,
    )
    return render(
        request,
        "org/units.html",
        {
            "tree": service.unit_tree(session, units),
            "figures": service.unit_figures(session),
            "filters": {"kind": kind, "region": region, "scope": scope, "q": q},
            "filtered": bool(kind or region or scope or q),
            "kinds": _kind_options(),
            "regions": service.regions(session),
        },
        block="results",
    )


def _unit_form_context(
    session: Session, values: dict, errors: dict | None = None, unit: Unit | None = None
) -> dict:
    options = _unit_options(session)
    if unit is not None:
        # A unit cannot move inside itself or its own sub-units.
        below = set(service.subtree_ids(session, unit.id))
        options = [(uid, label) for uid, label in options if uid not in below]
    return {
        "values": values,
        "errors": errors or {},
        "unit": unit,
        "kinds": _kind_options(),
        "parents": options,
    }


@router.get("/units/new", dependencies=EDIT)
def new_unit_form(request: Request, session: SessionDep, parent: str = ""):
    values = {
        "code": "",
        "name": "",
        "kind": "",
        "parent_id": _int(parent) or "",
        "region": "",
        "state": "",
        "scope": "auto",
    }
    return render(request, "org/unit_form.html", _unit_form_context(session, values))


def _unit_values(form: Any) -> dict[str, Any]:
    return {
        key: str(form.get(key, "")).strip()
        for key in ("code", "name", "kind", "parent_id", "region", "state", "scope")
    }


@router.post("/units/new", dependencies=EDIT)
async def create_unit(request: Request, session: SessionDep, principal: CurrentPrincipal):
    values = _unit_values(await request.form())
    errors: dict[str, str] = {}
    parent = None
    if values["parent_id"]:
        parent = service.get_unit(session, _int(values["parent_id"]) or 0)
        if parent is None:
            errors["parent_id"] = _("The parent unit does not exist.")
    if not errors:
        try:
            unit = service.create_unit(
                session,
                code=values["code"],
                name=values["name"],
                kind=values["kind"],
                parent=parent,
                region=values["region"],
                state=values["state"],
                is_central={"central": True, "decentralised": False}.get(values["scope"]),
                actor=principal.user,
            )
        except OrgError as err:
            errors = err.problems
    if errors:
        session.rollback()
        return _form_again(
            request, "org/unit_form.html", _unit_form_context(session, values, errors)
        )
    return commit_and_redirect(
        request, session, _("Unit %(code)s created.", code=unit.code), f"/org/units/{unit.id}"
    )


@router.get("/units/{unit_id}", dependencies=VIEW)
def unit_detail(request: Request, session: SessionDep, unit: UnitDep, page: int = 1):
    positions = session.exec(service.positions_statement(unit_ids=[unit.id])).all()
    occupied = service.occupants_count(session, [p.id for p, _u in positions])
    sub_units = service.list_units(session, parent_id=unit.id)
    people = _employee_page(
        session, EmployeeFilters(unit_id=unit.id, include_sub_units=False), page
    )
    return render(
        request,
        "org/unit.html",
        {
            "unit": unit,
            "ancestors": service.unit_ancestors(session, unit),
            "sub_units": sub_units,
            "figures": service.unit_figures(session),
            "positions": positions,
            "occupied": occupied,
            "planned_total": sum(p.planned_headcount for p, _u in positions),
            "occupied_total": sum(occupied.values()),
            "people": people,
        },
        block="people",
    )


@router.get("/units/{unit_id}/edit", dependencies=EDIT)
def edit_unit_form(request: Request, session: SessionDep, unit: UnitDep):
    values = {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "parent_id": unit.parent_id or "",
        "region": unit.region,
        "state": unit.state,
        "scope": "central" if unit.is_central else "decentralised",
    }
    return render(request, "org/unit_form.html", _unit_form_context(session, values, unit=unit))


@router.post("/units/{unit_id}/edit", dependencies=EDIT)
async def update_unit(
    request: Request, session: SessionDep, principal: CurrentPrincipal, unit: UnitDep
):
    values = _unit_values(await request.form())
    values["code"] = unit.code
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {
        "name": values["name"],
        "kind": values["kind"],
        "parent_id": _int(values["parent_id"]),
        "region": values["region"],
        "state": values["state"],
        "is_central": values["scope"] == "central",
    }
    if values["parent_id"] and changes["parent_id"] is None:
        errors["parent_id"] = _("The parent unit does not exist.")
    if not errors:
        try:
            service.update_unit(session, unit=unit, changes=changes, actor=principal.user)
        except OrgError as err:
            errors = err.problems
    if errors:
        session.rollback()
        return _form_again(
            request, "org/unit_form.html", _unit_form_context(session, values, errors, unit=unit)
        )
    return commit_and_redirect(
        request, session, _("Unit %(code)s saved.", code=unit.code), f"/org/units/{unit.id}"
    )


# --- positions --------------------------------------------------------------------------------


@router.get("/positions", dependencies=VIEW)
def list_positions(
    request: Request,
    session: SessionDep,
    unit: str = "",
    job_family: str = "",
    role_code: str = "",
    q: str = "",
    page: int = 1,
):
    unit_id = _int(unit)
    statement = service.positions_statement(
        unit_ids=service.subtree_ids(session, unit_id) if unit_id else None,
        job_family=job_family if job_family in JobFamily.__members__ else "",
        role_code=role_code,
        q=q,
    )
    result = paginate(session, statement, page=page, per_page=PER_PAGE)
    filters = {"unit": unit, "job_family": job_family, "role_code": role_code, "q": q}
    return render(
        request,
        "org/positions.html",
        {
            "page": result,
            "occupied": service.occupants_count(session, [p.id for p, _u in result.items]),
            "filters": filters,
            "base_query": urlencode(filters),
            "units": _unit_options(session),
            "families": _family_options(),
            "roles": _role_options(),
            "role_titles": {o.code: o.title for o in service.role_profile_options()},
        },
        block="results",
    )


def _position_form_context(
    session: Session, values: dict, errors: dict | None = None, position: Position | None = None
) -> dict:
    return {
        "values": values,
        "errors": errors or {},
        "position": position,
        "units": _unit_options(session),
        "families": _family_options(),
        "roles": _role_options(),
    }


def _position_values(form: Any) -> dict[str, str]:
    return {
        key: str(form.get(key, "")).strip()
        for key in (
            "code",
            "title",
            "job_family",
            "grade",
            "unit_id",
            "role_code",
            "planned_headcount",
        )
    }


def _headcount(value: str, errors: dict[str, str]) -> int:
    try:
        return form_int(value, field="planned_headcount", required=True) or 0
    except FieldError as err:
        errors[err.field] = err.message
        return 0


@router.get("/positions/new", dependencies=EDIT)
def new_position_form(request: Request, session: SessionDep, unit: str = ""):
    values = {
        "code": "",
        "title": "",
        "job_family": JobFamily.procurement.value,
        "grade": "",
        "unit_id": _int(unit) or "",
        "role_code": "",
        "planned_headcount": "1",
    }
    return render(request, "org/position_form.html", _position_form_context(session, values))


@router.post("/positions/new", dependencies=EDIT)
async def create_position(request: Request, session: SessionDep, principal: CurrentPrincipal):
    values = _position_values(await request.form())
    errors: dict[str, str] = {}
    headcount = _headcount(values["planned_headcount"], errors)
    unit = service.get_unit(session, _int(values["unit_id"]) or 0)
    if unit is None:
        errors["unit_id"] = _("Choose a unit.")
    if not errors:
        try:
            position = service.create_position(
                session,
                code=values["code"],
                title=values["title"],
                unit=unit,
                job_family=values["job_family"],
                grade=values["grade"],
                role_code=values["role_code"],
                planned_headcount=headcount,
                actor=principal.user,
            )
        except OrgError as err:
            errors = err.problems
    if errors:
        session.rollback()
        return _form_again(
            request, "org/position_form.html", _position_form_context(session, values, errors)
        )
    return commit_and_redirect(
        request,
        session,
        _("Position %(code)s created.", code=position.code),
        f"/org/positions/{position.id}",
    )


@router.get("/positions/{position_id}", dependencies=VIEW)
def position_detail(request: Request, session: SessionDep, position: PositionDep):
    occupants = session.exec(
        select(Employee)
        .where(Employee.position_id == position.id)
        .order_by(col(Employee.last_name), col(Employee.first_name))
    ).all()
    active = [e for e in occupants if e.status != EmployeeStatus.left]
    roles = {o.code: o for o in service.role_profile_options()}
    return render(
        request,
        "org/position.html",
        {
            "position": position,
            "unit": service.get_unit(session, position.unit_id),
            "occupants": occupants,
            "active_count": len(active),
            "role": roles.get(position.role_code),
        },
    )


@router.get("/positions/{position_id}/edit", dependencies=EDIT)
def edit_position_form(request: Request, session: SessionDep, position: PositionDep):
    values = {
        "code": position.code,
        "title": position.title,
        "job_family": position.job_family,
        "grade": position.grade,
        "unit_id": position.unit_id,
        "role_code": position.role_code,
        "planned_headcount": str(position.planned_headcount),
    }
    return render(
        request,
        "org/position_form.html",
        _position_form_context(session, values, position=position),
    )


@router.post("/positions/{position_id}/edit", dependencies=EDIT)
async def update_position(
    request: Request, session: SessionDep, principal: CurrentPrincipal, position: PositionDep
):
    values = _position_values(await request.form())
    values["code"] = position.code
    errors: dict[str, str] = {}
    headcount = _headcount(values["planned_headcount"], errors)
    if not errors:
        try:
            service.update_position(
                session,
                position=position,
                changes={
                    "title": values["title"],
                    "job_family": values["job_family"],
                    "grade": values["grade"],
                    "unit_id": _int(values["unit_id"]),
                    "role_code": values["role_code"],
                    "planned_headcount": headcount,
                },
                actor=principal.user,
            )
        except OrgError as err:
            errors = err.problems
    if errors:
        session.rollback()
        return _form_again(
            request,
            "org/position_form.html",
            _position_form_context(session, values, errors, position=position),
        )
    return commit_and_redirect(
        request,
        session,
        _("Position %(code)s saved.", code=position.code),
        f"/org/positions/{position.id}",
    )


# --- employees: list, export, import ----------------------------------------------------------


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
        unit_id=_int(unit),
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
    result = _employee_page(session, filters, page)
    query = urlencode({**raw, "filtered": "1"})
    return render(
        request,
        "org/employees.html",
        {
            "page": result,
            "filters": raw,
            "base_query": query,
            "units": _unit_options(session),
            "statuses": _status_options(),
        },
        block="results",
    )


@router.get("/employees/export", dependencies=VIEW)
def export_employees(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    query: EmployeeQuery,
    format: str = "csv",
    lang: str = "en",
):
    filters, raw = query
    if format not in ("csv", "csv-semicolon", "xlsx"):
        raise HTTPException(status_code=422, detail=_("Choose CSV or XLSX."))
    language = "es" if lang == "es" else "en"
    # Personal data leaving the system is worth a line in the audit log.
    audit.record(
        session,
        action="employee.exported",
        actor=principal.user,
        entity_type="employee",
        after={"format": format, "headers": language, "filters": raw},
    )
    session.commit()
    engine = request.app.state.engine
    if format == "xlsx":
        workbook = roster.xlsx_export(engine, filters, language=language)

        def chunks():
            with workbook:
                while block := workbook.read(64 * 1024):
                    yield block

        return StreamingResponse(
            chunks(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={
                "Content-Disposition": f'attachment; filename="{roster.export_filename("xlsx")}"'
            },
        )
    delimiter = ";" if format == "csv-semicolon" else ","
    return StreamingResponse(
        roster.csv_export(engine, filters, delimiter=delimiter, language=language),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{roster.export_filename("csv")}"'},
    )


def _import_context(**extra: Any) -> dict[str, Any]:
    return {
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


@router.get("/employees/import", dependencies=EDIT)
def import_form(request: Request):
    return render(request, "org/import.html", _import_context())


@router.post("/employees/import", dependencies=EDIT)
async def import_employees(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
    action: Annotated[str, Form()] = "check",
):
    if file is None or not file.filename:
        return render(
            request,
            "org/import.html",
            _import_context(file_error=_("Choose a CSV or XLSX file.")),
            status_code=422,
            block="result",
        )
    # Reading one byte past the limit is enough to know the file is too large.
    raw = await file.read(spreadsheet.MAX_BYTES + 1)
    filename = file.filename
    # A large file takes seconds to check and write: off the event loop, so other requests
    # keep being served meanwhile.
    if action == "import":
        try:
            check = await run_in_threadpool(
                roster.import_roster, session, raw, filename, actor=principal.user
            )
        except IntegrityError:
            # Someone else saved an employee with one of the file's numbers in the meantime.
            session.rollback()
            return render(
                request,
                "org/import.html",
                _import_context(
                    error=_(
                        "Employees changed while the file was being imported, so nothing was "
                        "written. Import the file again."
                    )
                ),
                # 422, not 409: htmx swaps only 422 error responses into the page.
                status_code=422,
                block="result",
            )
    else:
        check = await run_in_threadpool(roster.check_roster, session, raw, filename)
    if action == "report":
        session.rollback()
        return Response(
            b"".join(
                spreadsheet.csv_chunks(
                    [_("Line"), _("Column"), _("Value"), _("Problem")],
                    ([p.line, p.column, p.value, p.message] for p in check.problems),
                )
            ),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="import-problems.csv"'},
        )
    if check.imported:
        await run_in_threadpool(session.commit)
    else:
        session.rollback()
    return render(
        request,
        "org/import.html",
        _import_context(check=check, action=action),
        status_code=200 if check.ok else 422,
        block="result",
    )


# --- employees: record and forms --------------------------------------------------------------

_EMPLOYEE_FIELDS = (
    "number",
    "first_name",
    "last_name",
    "email",
    "unit_id",
    "position_code",
    "supervisor_number",
    "hire_date",
    "birth_date",
    "status",
    "effective_on",
)
# Service field names → the form's inputs.
_FORM_FIELD = {"position_id": "position_code", "supervisor_id": "supervisor_number"}


def _employee_form_context(
    session: Session, values: dict, errors: dict | None = None, employee: Employee | None = None
) -> dict:
    return {
        "values": values,
        "errors": errors or {},
        "employee": employee,
        "units": _unit_options(session),
        "statuses": _status_options(),
        "qualifications": [q for q, _n in service.list_qualifications(session)],
        "today": date.today().isoformat(),
    }


def _employee_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {key: str(form.get(key, "")).strip() for key in _EMPLOYEE_FIELDS}
    values["qualifications"] = [str(q) for q in form.getlist("qualifications")]
    return values


def _employee_input(
    session: Session, values: dict[str, Any], errors: dict[str, str]
) -> EmployeeInput | None:
    hire_date = _date(values["hire_date"], "hire_date", errors, required=True)
    birth_date = _date(values["birth_date"], "birth_date", errors)
    refs = service.resolve_references(
        session,
        unit_id=_int(values["unit_id"]),
        position_code=values["position_code"],
        supervisor_number=values["supervisor_number"],
    )
    errors.update(refs.problems)
    # Report the rules that need no database together with the rest, not one at a time.
    for name, message in service.employee_field_problems(
        number=values["number"],
        first_name=values["first_name"],
        last_name=values["last_name"],
        email=values["email"],
        hire_date=hire_date,
        birth_date=birth_date,
        status=values["status"] or EmployeeStatus.active.value,
    ).items():
        errors.setdefault(name, message)
    if errors:
        return None
    return EmployeeInput(
        number=values["number"],
        first_name=values["first_name"],
        last_name=values["last_name"],
        email=values["email"],
        unit_id=refs.unit_id,
        position_id=refs.position_id,
        supervisor_id=refs.supervisor_id,
        hire_date=hire_date,
        birth_date=birth_date,
        status=values["status"] or EmployeeStatus.active.value,
        qualification_codes=tuple(values["qualifications"]),
    )


@router.get("/employees/new", dependencies=EDIT)
def new_employee_form(request: Request, session: SessionDep, unit: str = ""):
    values = {key: "" for key in _EMPLOYEE_FIELDS}
    values |= {"unit_id": _int(unit) or "", "status": "active", "qualifications": []}
    return render(request, "org/employee_form.html", _employee_form_context(session, values))


@router.post("/employees/new", dependencies=EDIT)
async def create_employee(request: Request, session: SessionDep, principal: CurrentPrincipal):
    values = _employee_values(await request.form())
    errors: dict[str, str] = {}
    data = _employee_input(session, values, errors)
    if data is not None:
        try:
            employee = service.create_employee(session, data, actor=principal.user)
        except OrgError as err:
            errors = {_FORM_FIELD.get(k, k): v for k, v in err.problems.items()}
    if errors:
        session.rollback()
        return _form_again(
            request, "org/employee_form.html", _employee_form_context(session, values, errors)
        )
    return commit_and_redirect(
        request,
        session,
        _("%(name)s was added.", name=employee.full_name),
        f"/org/employees/{employee.id}",
    )


@router.get("/employees/{employee_id}", dependencies=VIEW)
def employee_detail(request: Request, session: SessionDep, employee: EmployeeDep):
    history = session.exec(
        select(audit.AuditEntry)
        .where(
            audit.AuditEntry.entity_type == "employee",
            audit.AuditEntry.entity_id == str(employee.id),
        )
        .order_by(col(audit.AuditEntry.seq).desc())
        .limit(20)
    ).all()
    return render(
        request,
        "org/employee.html",
        {
            "employee": employee,
            "unit": service.get_unit(session, employee.unit_id),
            "position": service.get_position(session, employee.position_id)
            if employee.position_id
            else None,
            "chain": service.supervisor_chain(session, employee),
            "reports": service.direct_reports(session, employee.id),
            "qualifications": service.qualifications_of(session, employee.id),
            "statuses": service.status_history(session, employee.id),
            "changes": history,
        },
    )


@router.get("/employees/{employee_id}/edit", dependencies=EDIT)
def edit_employee_form(request: Request, session: SessionDep, employee: EmployeeDep):
    position = service.get_position(session, employee.position_id) if employee.position_id else None
    supervisor = (
        service.get_employee(session, employee.supervisor_id) if employee.supervisor_id else None
    )
    values = {
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
        "effective_on": date.today().isoformat(),
        "qualifications": [q.code for q in service.qualifications_of(session, employee.id)],
    }
    return render(
        request,
        "org/employee_form.html",
        _employee_form_context(session, values, employee=employee),
    )


@router.post("/employees/{employee_id}/edit", dependencies=EDIT)
async def update_employee(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee: EmployeeDep
):
    values = _employee_values(await request.form())
    errors: dict[str, str] = {}
    effective_on = _date(values["effective_on"], "effective_on", errors)
    data = _employee_input(session, values, errors)
    if data is not None and not errors:
        try:
            service.update_employee(
                session,
                employee=employee,
                data=data,
                actor=principal.user,
                effective_on=effective_on,
            )
        except OrgError as err:
            errors = {_FORM_FIELD.get(k, k): v for k, v in err.problems.items()}
    if errors:
        session.rollback()
        return _form_again(
            request,
            "org/employee_form.html",
            _employee_form_context(session, values, errors, employee=employee),
        )
    return commit_and_redirect(
        request,
        session,
        _("The record of %(name)s was saved.", name=employee.full_name),
        f"/org/employees/{employee.id}",
    )


# --- qualifications ---------------------------------------------------------------------------


def _qualifications_page(
    request: Request,
    session: Session,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
):
    return render(
        request,
        "org/qualifications.html",
        {
            "qualifications": service.list_qualifications(session),
            "values": values or {"code": "", "name_es": "", "name_en": "", "is_procurement": False},
            "errors": errors or {},
        },
        status_code=status_code,
        block="form" if errors else None,
    )


@router.get("/qualifications", dependencies=VIEW)
def list_qualifications(request: Request, session: SessionDep):
    return _qualifications_page(request, session)


@router.post("/qualifications", dependencies=EDIT)
async def create_qualification(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = await request.form()
    values = {key: str(form.get(key, "")).strip() for key in ("code", "name_es", "name_en")}
    values["is_procurement"] = form.get("is_procurement") == "1"
    try:
        qualification = service.create_qualification(
            session,
            code=values["code"],
            name_es=values["name_es"],
            name_en=values["name_en"],
            is_procurement=values["is_procurement"],
            actor=principal.user,
        )
    except OrgError as err:
        session.rollback()
        return _qualifications_page(
            request, session, values=values, errors=err.problems, status_code=422
        )
    return commit_and_redirect(
        request,
        session,
        _("Qualification %(code)s created.", code=qualification.code),
        "/org/qualifications",
    )
