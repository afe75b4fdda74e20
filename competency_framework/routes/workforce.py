"""HR planners: workforce planning — posts against people, turnover, retirements,
qualifications and competency gaps per unit (pages and JSON)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import Session

from backend import clock
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import require
from backend.i18n import _
from backend.org import schemas as org_api
from backend.pages import export_or_none, query_without, unit_or_404
from backend.tables import Table
from backend.web import render
from competency_framework import service
from competency_framework.routes.tables import workforce_table
from competency_framework.schemas import (
    PositionPlanOut,
    UnitPlanOut,
    UnitWorkforceOut,
    WorkforceOut,
)

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


def _plans(request: Request, session: Session, region: str, unit_type: str, years: int):
    """Return (unit plans, the years of history shown, the rules, the retirement horizon)."""
    rules = service.WorkforceRules()
    horizon = max(1, min(years or rules.retirement_horizon_years, 20))
    today = clock.today(request.app.state.settings)
    plans = service.unit_plans(
        session, today=today, rules=rules, horizon_years=horizon, region=region, unit_type=unit_type
    )
    history = list(range(today.year - 4, today.year + 1))
    return plans, history, rules, horizon


def _totals(plans: list[service.UnitPlan]) -> dict[str, int]:
    fields = (
        "planned",
        "actual",
        "open_posts",
        "retiring",
        "procurement_staff",
        "procurement_qualified",
    )
    return {name: sum(getattr(p, name) for p in plans) for name in fields}


@router.get("/workforce", dependencies=[require(Permission.plan_workforce)])
def workforce_page(
    request: Request,
    session: SessionDep,
    region: str = "",
    unit_type: str = "",
    years: int = 0,
    shortfall: str = "",
    format: str = "",
):
    plans, history, rules, horizon = _plans(request, session, region, unit_type, years)
    if shortfall in service.SHORTFALL_LABELS:
        plans = [p for p in plans if p.shortfall == shortfall]
    exported = export_or_none(lambda: workforce_table(plans, history), format, "workforce")
    if exported is not None:
        return exported
    context: dict[str, Any] = {
        "plans": plans,
        "history": history,
        "rules": rules,
        "horizon": horizon,
        "totals": _totals(plans),
        "regions": service.regions(session),
        "filters": {"region": region, "unit_type": unit_type, "shortfall": shortfall},
        "shortfall_labels": service.SHORTFALL_LABELS,
        "export_query": query_without(request, "format"),
    }
    return render(request, "competency/workforce.html", context, block="results")


def _unit_plan(request: Request, session: Session, unit_id: int, years: int):
    """Return (unit, its plan, history years, rules, horizon), or 404."""
    unit = unit_or_404(session, unit_id)
    plans, history, rules, horizon = _plans(request, session, unit.region, "", years)
    plan = next((p for p in plans if p.unit_id == unit.id), None)
    if plan is None:
        raise HTTPException(status_code=404, detail=_("This unit has no posts or people."))
    return unit, plan, history, rules, horizon


def _positions_table(unit, plan: service.UnitPlan) -> Table:
    return Table(
        title=unit.name,
        columns=[
            _("Position code"),
            _("Position"),
            _("Planned posts"),
            _("People in post"),
            _("Open posts"),
        ],
        rows=[[p.code, p.title, p.planned, p.actual, p.open_posts] for p in plan.positions],
    )


@router.get("/workforce/units/{unit_id}", dependencies=[require(Permission.plan_workforce)])
def workforce_unit(
    request: Request, session: SessionDep, unit_id: int, years: int = 0, format: str = ""
):
    unit, plan, history, rules, horizon = _unit_plan(request, session, unit_id, years)
    exported = export_or_none(
        lambda: _positions_table(unit, plan), format, f"workforce-{unit.code}"
    )
    if exported is not None:
        return exported
    return render(
        request,
        "competency/workforce_unit.html",
        {
            "unit": unit,
            "plan": plan,
            "history": history,
            "rules": rules,
            "horizon": horizon,
            "shortfall_labels": service.SHORTFALL_LABELS,
            "export_query": query_without(request, "format"),
        },
    )


# --- JSON -----------------------------------------------------------------------------------


def _retirement_rule(rules: service.WorkforceRules) -> dict[str, int]:
    return {
        "age": rules.retirement_age,
        "early_age": rules.retirement_early_age,
        "early_service_years": rules.retirement_early_service_years,
    }


def _unit_plan_fields(p: service.UnitPlan) -> dict:
    return {
        "unit_id": p.unit_id,
        "code": p.code,
        "name": p.name,
        "region": p.region,
        "central": p.is_central,
        "planned": p.planned,
        "actual": p.actual,
        "open_posts": p.open_posts,
        "leavers_by_year": p.leavers_by_year,
        "turnover_12m": p.turnover,
        "eligible_to_retire": p.retiring,
        "procurement_staff": p.procurement_staff,
        "procurement_qualified_share": p.qualified_share,
        "competency_coverage": p.coverage,
        "critical_gaps": p.critical_n,
        "single_points_of_failure": p.spof,
        "shortfall": p.shortfall,
    }


@api_router.get(
    "/workforce", response_model=WorkforceOut, dependencies=[require(Permission.plan_workforce)]
)
def workforce_json(
    request: Request, session: SessionDep, region: str = "", unit_type: str = "", years: int = 0
):
    """Per unit: posts vs people, turnover, retirements, qualifications and competency gaps."""
    plans, _history, rules, horizon = _plans(request, session, region, unit_type, years)
    return WorkforceOut(
        retirement_rule=_retirement_rule(rules),
        horizon_years=horizon,
        units=[UnitPlanOut(**_unit_plan_fields(p)) for p in plans],
    )


@api_router.get(
    "/workforce/units/{unit_id}",
    response_model=UnitWorkforceOut,
    dependencies=[require(Permission.plan_workforce)],
    # The errors every API answer shares (backend/org/schemas.py defines their shape).
    responses=org_api.ERRORS | org_api.NOT_FOUND,
)
def workforce_unit_json(request: Request, session: SessionDep, unit_id: int, years: int = 0):
    """One unit: planned against actual headcount by position, and the unit's figures.

    `years` is the retirement horizon (default MERITO_RETIREMENT_HORIZON_YEARS). 404 for an
    unknown unit or one with neither posts nor people.
    """
    _unit, plan, _history, rules, horizon = _unit_plan(request, session, unit_id, years)
    return UnitWorkforceOut(
        **_unit_plan_fields(plan),
        retirement_rule=_retirement_rule(rules),
        horizon_years=horizon,
        positions=[
            PositionPlanOut(
                position_id=p.position_id,
                code=p.code,
                title=p.title,
                role_code=p.role_code,
                planned=p.planned,
                actual=p.actual,
                open_posts=p.open_posts,
            )
            for p in plan.positions
        ],
    )
