"""Gap analysis (HR, managers): organisation heatmap, drill-down by unit, trend, attention.

Without HR rights (`view_gap_details`) small cells are suppressed and no person is named.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import get_locale
from backend.pages import export_or_none, query_without, unit_or_404
from backend.web import render
from competency_framework import service
from competency_framework.routes.tables import (
    GROUP_LABELS,
    METRIC_LABELS,
    attention_tables,
    export_table,
    heatmap_table,
    trend_chart,
    trend_table,
    unit_people_table,
)
from competency_framework.schemas import (
    AttentionItemOut,
    AttentionOut,
    BasisOut,
    CellOut,
    HeatmapOut,
    ProfileUseOut,
    RowOut,
    TrendPointOut,
    UnitPersonOut,
)

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


def _gap_filters(region: str = "", unit_type: str = "", role: str = "") -> dict[str, Any]:
    return {"region": region, "unit_type": unit_type, "role": role}


# Route parameters: the filters every gap report takes (region, unit type, position).
GapFilters = Annotated[dict[str, Any], Depends(_gap_filters)]


def _known_unit(session: Session, unit_id: int | None) -> None:
    """Answer 404 for a unit filter naming no unit."""
    if unit_id is not None:
        unit_or_404(session, unit_id)


def _heatmap(session: Session, actor: Actor, **kwargs) -> service.HeatmapReport:
    details = service.sees_gap_details(actor)
    return service.heatmap(session, details=details, locale=get_locale(), **kwargs)


def _filters_context(session: Session, request: Request) -> dict[str, Any]:
    return {
        "regions": service.regions(session),
        "roles": service.role_choices(session, get_locale()),
        "metric_labels": METRIC_LABELS,
        "group_labels": GROUP_LABELS,
        # Without `table`: each table's export links name their own.
        "export_query": query_without(request, "format", "table"),
    }


@router.get("/gaps", dependencies=[require(Permission.view_gap_aggregates)])
def gap_heatmap(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    filters: GapFilters,
    group: str = "",
    metric: str = "mean_gap",
    format: str = "",
):
    region = filters["region"]
    group_by = group or ("unit" if region else "region")
    report = _heatmap(session, principal, group_by=group_by, metric=metric, **filters)
    exported = export_or_none(lambda: heatmap_table(report), format, "competency-gaps")
    if exported is not None:
        return exported
    return render(
        request,
        "competency/gaps.html",
        {"report": report, "level": "region" if region else "organisation", "unit": None}
        | _filters_context(session, request),
        block="results",
    )


def _unit_export(report, unit, people, competencies, table: str, fmt: str, details: bool):
    """Each table on the unit's page has its own export links: the unit's heatmap (by
    position), and for HR the people table."""
    tables = {"heatmap": lambda: heatmap_table(report)}
    if details:
        tables["people"] = lambda: unit_people_table(unit, people, competencies)
    suffix = "" if table == "heatmap" else f"-{table}"
    return export_table(tables, table, fmt, f"competency-gaps-{unit.code}{suffix}")


@router.get("/gaps/units/{unit_id}", dependencies=[require(Permission.view_gap_aggregates)])
def unit_gaps(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    unit_id: int,
    metric: str = "mean_gap",
    role: str = "",
    table: str = "heatmap",
    format: str = "",
):
    unit = unit_or_404(session, unit_id)
    details = service.sees_gap_details(principal)
    report = _heatmap(
        session, principal, group_by="role", metric=metric, role=role, unit_id=unit.id
    )
    people = service.unit_people(session, unit_id=unit.id, role=role) if details else []
    competencies = service.list_competencies(session)
    if format:
        return _unit_export(report, unit, people, competencies, table, format, details)
    context = {"report": report, "level": "unit", "unit": unit, "people": people}
    context |= {"competencies": competencies, "details": details}
    return render(
        request,
        "competency/gaps.html",
        context | _filters_context(session, request),
        block="results",
    )


def _trend(session: Session, actor: Actor, filters: dict[str, Any], months: int):
    details = service.sees_gap_details(actor)
    return service.trend_report(session, months=months, details=details, **filters)


@router.get("/gaps/trend", dependencies=[require(Permission.view_gap_aggregates)])
def gap_trend(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    filters: GapFilters,
    unit_id: int | None = None,
    months: int = 12,
    format: str = "",
):
    _known_unit(session, unit_id)
    filters = filters | {"unit_id": unit_id}
    frame = _trend(session, principal, filters, months)
    exported = export_or_none(lambda: trend_table(frame), format, "competency-trend")
    if exported is not None:
        return exported
    context = {"rows": frame.to_dict("records"), "chart": trend_chart(frame)}
    context |= {"filters": filters, "months": months}
    return render(request, "competency/trend.html", context | _filters_context(session, request))


def _attention(session: Session, actor: Actor, **filters) -> service.AttentionReport:
    details = service.sees_gap_details(actor)
    return service.attention_report(session, details=details, locale=get_locale(), **filters)


@router.get("/attention", dependencies=[require(Permission.view_gap_aggregates)])
def attention(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    filters: GapFilters,
    table: str = "critical",
    format: str = "",
):
    report = _attention(session, principal, **filters)
    if format:
        return export_table(attention_tables(report), table, format, f"attention-{table}")
    return render(
        request,
        "competency/attention.html",
        {"report": report, "filters": filters} | _filters_context(session, request),
    )


# --- JSON -----------------------------------------------------------------------------------


def _cell_out(cell: service.HeatCell, codes: dict[int, str]) -> CellOut:
    return CellOut(
        competency=codes.get(cell.competency_id, ""),
        people=cell.people,
        required_n=cell.required_n,
        met_n=cell.met_n,
        coverage=cell.coverage,
        mean_gap=cell.mean_gap,
        critical_n=cell.critical_n,
        bench_n=cell.bench_n,
        single_points_of_failure=cell.spof,
        suppressed=cell.suppressed,
    )


def _basis_out(basis: service.ReportBasis) -> BasisOut:
    return BasisOut(
        ratings_revision=basis.ratings_revision,
        profiles_revision=basis.profiles_revision,
        computed_at=basis.computed_at.isoformat(),
        people_without_profile=basis.people_without_profile,
        profiles=[
            ProfileUseOut(key=p.key, title=p.title, version=p.version) for p in basis.profiles
        ],
    )


def heatmap_out(report: service.HeatmapReport) -> HeatmapOut:
    codes = {c.id: c.code for c in report.competencies}

    def row(r: service.HeatRow) -> RowOut:
        return RowOut(
            key=r.key,
            label=r.label,
            people=r.people,
            total=_cell_out(r.total, codes),
            cells=[_cell_out(c, codes) for c in r.cells],
        )

    return HeatmapOut(
        group_by=report.group_by,
        filters=report.filters,
        suppression_threshold=None if report.details else service.MIN_CELL_PEOPLE,
        total=row(report.total),
        rows=[row(r) for r in report.rows],
        basis=_basis_out(report.basis),
    )


@api_router.get(
    "/gaps", response_model=HeatmapOut, dependencies=[require(Permission.view_gap_aggregates)]
)
def gap_heatmap_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    filters: GapFilters,
    group: str = "region",
    unit_id: int | None = None,
):
    """Gap counts and rates per group × competency (small cells suppressed without HR rights)."""
    _known_unit(session, unit_id)
    report = _heatmap(session, principal, group_by=group, unit_id=unit_id, **filters)
    return heatmap_out(report)


@api_router.get(
    "/gaps/units/{unit_id}/people",
    response_model=list[UnitPersonOut],
    dependencies=[require(Permission.view_gap_details)],
)
def unit_people_json(session: SessionDep, unit_id: int, role: str = ""):
    """Each person of a unit with their gap per competency (HR only)."""
    unit = unit_or_404(session, unit_id)
    codes = [c.code for c in service.list_competencies(session)]
    return [
        UnitPersonOut(
            employee_id=p.employee_id,
            number=p.number,
            name=p.name,
            position=p.position,
            gaps=dict(zip(codes, p.gaps, strict=True)),
            required_n=p.required_n,
            met_n=p.met_n,
            critical_n=p.critical_n,
        )
        for p in service.unit_people(session, unit_id=unit.id, role=role)
    ]


def _nan_none(value):
    return None if value is None or value != value else float(value)


def _trend_point(r: dict) -> TrendPointOut:
    return TrendPointOut(
        month=r["period_end"].strftime("%Y-%m"),
        required_n=int(r["required_n"]),
        met_n=_nan_none(r["met_n"]),
        coverage=_nan_none(r["coverage"]),
        mean_gap=_nan_none(r["mean_gap"]),
        critical_n=_nan_none(r["critical_n"]),
        suppressed=bool(r["suppressed"]),
    )


@api_router.get(
    "/gaps/trend",
    response_model=list[TrendPointOut],
    dependencies=[require(Permission.view_gap_aggregates)],
)
def trend_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    filters: GapFilters,
    unit_id: int | None = None,
    months: int = 12,
):
    """Coverage, mean gap and critical gaps at each month end, from the rating log."""
    frame = _trend(session, principal, filters | {"unit_id": unit_id}, months)
    return [_trend_point(r) for r in frame.to_dict("records")]


def _attention_item(i: service.AttentionItem) -> AttentionItemOut:
    return AttentionItemOut(
        unit_id=i.unit_id,
        unit=i.unit,
        region=i.region,
        competency=i.competency.code,
        required_n=i.required_n,
        met_n=i.met_n,
        critical_n=i.critical_n,
        essential_n=i.essential_n,
        essential_met_n=i.essential_met_n,
        coverage=i.coverage,
    )


@api_router.get(
    "/attention",
    response_model=AttentionOut,
    dependencies=[require(Permission.view_gap_aggregates)],
)
def attention_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    filters: GapFilters,
):
    """The largest critical gaps and the single points of failure."""
    report = _attention(session, principal, **filters)
    return AttentionOut(
        critical=[_attention_item(i) for i in report.critical],
        single_points_of_failure=[_attention_item(i) for i in report.spof],
        basis=_basis_out(report.basis),
    )
