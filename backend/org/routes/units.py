"""The organisation's units and positions: browse them, and (edit_org) create and change them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal
from backend.i18n import N_, _
from backend.org import service
from backend.org.models import EmployeeStatus, JobFamily, Position, Unit, UnitKind
from backend.org.routes.lookups import (
    EDIT,
    PER_PAGE,
    VIEW,
    PositionDep,
    UnitDep,
    employee_page,
    family_options,
    form_id,
    kind_options,
    role_options,
    save_form,
    unit_options,
)
from backend.org.schemas import PositionForm, UnitForm
from backend.org.service import EmployeeFilters
from backend.web import NavItem, paginate, register_nav, render

router = APIRouter(prefix="/org")

register_nav(NavItem(N_("Organisation"), "/org/units", Permission.view_org, order=30))


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
            "kinds": kind_options(),
            "regions": service.regions(session),
        },
        block="results",
    )


def _unit_form_context(
    session: Session, values: Any = None, unit: Unit | None = None
) -> dict[str, Any]:
    options = unit_options(session)
    if unit is not None:
        # A unit cannot move inside itself or its own sub-units.
        below = set(service.subtree_ids(session, unit.id))
        options = [(uid, label) for uid, label in options if uid not in below]
    return {
        "values": values,
        "errors": {},
        "unit": unit,
        "kinds": kind_options(),
        "parents": options,
    }


@router.get("/units/new", dependencies=EDIT)
def new_unit_form(request: Request, session: SessionDep, parent: str = ""):
    values = UnitForm(parent_id=str(form_id(parent) or ""), scope="auto").model_dump()
    return render(request, "org/unit_form.html", _unit_form_context(session, values))


@router.post("/units/new", dependencies=EDIT)
async def create_unit(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = UnitForm.parse(await request.form())
    return save_form(
        request,
        session,
        lambda: service.add_unit(session, form, actor=principal.user),
        values=form.model_dump(),
        template="org/unit_form.html",
        context=lambda: _unit_form_context(session),
        message=lambda unit: _("Unit %(code)s created.", code=unit.code),
        to=lambda unit: f"/org/units/{unit.id}",
    )


@router.get("/units/{unit_id}", dependencies=VIEW)
def unit_detail(request: Request, session: SessionDep, unit: UnitDep, page: int = 1):
    positions = session.exec(service.positions_statement(unit_ids=[unit.id])).all()
    occupied = service.occupants_count(session, [p.id for p, _u in positions])
    filters = EmployeeFilters(unit_id=unit.id, include_sub_units=False)
    return render(
        request,
        "org/unit.html",
        {
            "unit": unit,
            "ancestors": service.unit_ancestors(session, unit),
            "sub_units": service.list_units(session, parent_id=unit.id),
            "figures": service.unit_figures(session),
            "positions": positions,
            "occupied": occupied,
            "planned_total": sum(p.planned_headcount for p, _u in positions),
            "occupied_total": sum(occupied.values()),
            "people": employee_page(session, filters, page),
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
    form = UnitForm.parse(await request.form()).model_copy(update={"code": unit.code})
    return save_form(
        request,
        session,
        lambda: service.save_unit(session, unit, form, actor=principal.user),
        values=form.model_dump(),
        template="org/unit_form.html",
        context=lambda: _unit_form_context(session, unit=unit),
        message=_("Unit %(code)s saved.", code=unit.code),
        to=f"/org/units/{unit.id}",
    )


# --- positions --------------------------------------------------------------------------------


def _positions_context(session: Session, statement, *, filters: dict, page: int) -> dict:
    result = paginate(session, statement, page=page, per_page=PER_PAGE)
    return {
        "page": result,
        "occupied": service.occupants_count(session, [p.id for p, _u in result.items]),
        "filters": filters,
        "base_query": urlencode(filters),
        "units": unit_options(session),
        "families": family_options(),
        "roles": role_options(),
        "role_titles": {o.code: o.title for o in service.role_profile_options()},
    }


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
    unit_id = form_id(unit)
    statement = service.positions_statement(
        unit_ids=service.subtree_ids(session, unit_id) if unit_id else None,
        job_family=job_family if job_family in JobFamily.__members__ else "",
        role_code=role_code,
        q=q,
    )
    filters = {"unit": unit, "job_family": job_family, "role_code": role_code, "q": q}
    context = _positions_context(session, statement, filters=filters, page=page)
    return render(request, "org/positions.html", context, block="results")


def _position_form_context(
    session: Session, values: Any = None, position: Position | None = None
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": {},
        "position": position,
        "units": unit_options(session),
        "families": family_options(),
        "roles": role_options(),
    }


@router.get("/positions/new", dependencies=EDIT)
def new_position_form(request: Request, session: SessionDep, unit: str = ""):
    values = PositionForm(
        job_family=JobFamily.procurement.value,
        unit_id=str(form_id(unit) or ""),
        planned_headcount="1",
    ).model_dump()
    return render(request, "org/position_form.html", _position_form_context(session, values))


@router.post("/positions/new", dependencies=EDIT)
async def create_position(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = PositionForm.parse(await request.form())
    return save_form(
        request,
        session,
        lambda: service.add_position(session, form, actor=principal.user),
        values=form.model_dump(),
        template="org/position_form.html",
        context=lambda: _position_form_context(session),
        message=lambda position: _("Position %(code)s created.", code=position.code),
        to=lambda position: f"/org/positions/{position.id}",
    )


@router.get("/positions/{position_id}", dependencies=VIEW)
def position_detail(request: Request, session: SessionDep, position: PositionDep):
    occupants = service.position_occupants(session, position.id)
    roles = {o.code: o for o in service.role_profile_options()}
    return render(
        request,
        "org/position.html",
        {
            "position": position,
            "unit": service.get_unit(session, position.unit_id),
            "occupants": occupants,
            "active_count": sum(1 for e in occupants if e.status != EmployeeStatus.left),
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
    context = _position_form_context(session, values, position=position)
    return render(request, "org/position_form.html", context)


@router.post("/positions/{position_id}/edit", dependencies=EDIT)
async def update_position(
    request: Request, session: SessionDep, principal: CurrentPrincipal, position: PositionDep
):
    form = PositionForm.parse(await request.form()).model_copy(update={"code": position.code})
    return save_form(
        request,
        session,
        lambda: service.save_position(session, position, form, actor=principal.user),
        values=form.model_dump(),
        template="org/position_form.html",
        context=lambda: _position_form_context(session, position=position),
        message=_("Position %(code)s saved.", code=position.code),
        to=f"/org/positions/{position.id}",
    )
