"""Gap analysis pages: organisation heatmap, drill-down, trend, what needs attention."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import N_, _, get_locale, localized
from backend.org.models import Unit
from backend.web import format_percent, render
from competency_framework import gaps, service
from competency_framework.exports import Table
from competency_framework.http import export_or_none, query_without, unit_or_404
from competency_framework.service import CompetencyError

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])

METRIC_LABELS = {
    "mean_gap": N_("Mean gap"),
    "coverage": N_("Coverage"),
    "critical": N_("Critical gaps"),
    "bench": N_("Bench strength"),
}
GROUP_LABELS = {
    "organisation": N_("Organisation"),
    "region": N_("Region"),
    "unit_type": N_("Unit type"),
    "unit": N_("Unit"),
    "role": N_("Position"),
}


def _details(principal) -> bool:
    return principal.can(Permission.view_gap_details)


def _heatmap(session, principal, **kwargs) -> service.HeatmapReport:
    try:
        return service.heatmap(session, details=_details(principal), locale=get_locale(), **kwargs)
    except CompetencyError as err:
        raise HTTPException(status_code=422, detail=str(err))


def _metric_text(cell: service.HeatCell, metric: str) -> Any:
    """Return a cell's number as a spreadsheet value (suppressed cells: '<5')."""
    if cell.suppressed:
        return "<5"
    value = cell.value(metric)
    if value is None:
        return ""
    if metric == "coverage":
        return round(value * 100, 1)
    if metric == "mean_gap":
        return round(value, 2)
    return int(value)


def heatmap_table(report: service.HeatmapReport) -> Table:
    """Return the heatmap as a table (the same numbers as the page)."""
    metric = report.metric
    unit = " (%)" if metric == "coverage" else ""
    columns = [
        _(GROUP_LABELS[report.group_by]),
        _("People"),
        *[localized(c, "name") + unit for c in report.competencies],
        _("All competencies") + unit,
        _("Single points of failure"),
    ]
    rows = []
    for row in [report.total, *report.rows]:
        rows.append(
            [
                row.label,
                "<5" if row.total.suppressed else (int(row.people or 0)),
                *[_metric_text(cell, metric) for cell in row.cells],
                _metric_text(row.total, metric),
                "" if row.total.suppressed or row.total.spof is None else int(row.total.spof),
            ]
        )
    return Table(title=_("Competency gaps"), columns=columns, rows=rows)


def unit_people_table(unit: Unit, people: list[service.UnitPerson], competencies) -> Table:
    """Return a unit's people table (gaps per person and competency) as on its page."""
    return Table(
        title=unit.name,
        columns=[
            _("Employee number"),
            _("Name"),
            _("Position"),
            *[localized(c, "name") for c in competencies],
            _("Requirements met"),
            _("Requirements"),
            _("Critical gaps"),
        ],
        rows=[
            [
                p.number,
                p.name,
                p.position,
                *["" if g is None else g for g in p.gaps],
                p.met_n,
                p.required_n,
                p.critical_n,
            ]
            for p in people
        ],
    )


def _filters_context(session, request: Request) -> dict[str, Any]:
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
    group: str = "",
    metric: str = "mean_gap",
    region: str = "",
    unit_type: str = "",
    role: str = "",
    format: str = "",
):
    group = group or ("unit" if region else "region")
    report = _heatmap(
        session,
        principal,
        group_by=group,
        metric=metric,
        region=region,
        unit_type=unit_type,
        role=role,
    )
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
    details = _details(principal)
    report = _heatmap(
        session, principal, group_by="role", metric=metric, role=role, unit_id=unit.id
    )
    people = service.unit_people(session, unit_id=unit.id, role=role) if details else []
    competencies = service.list_competencies(session)
    if format:
        # Each table on the page has its own export links: the unit's heatmap (by position),
        # and for HR the people table.
        tables = {"heatmap": lambda: heatmap_table(report)}
        if details:
            tables["people"] = lambda: unit_people_table(unit, people, competencies)
        if table not in tables:
            raise HTTPException(status_code=404, detail=_("This table does not exist."))
        suffix = "" if table == "heatmap" else f"-{table}"
        return export_or_none(tables[table], format, f"competency-gaps-{unit.code}{suffix}")
    return render(
        request,
        "competency/gaps.html",
        {
            "report": report,
            "level": "unit",
            "unit": unit,
            "people": people,
            "competencies": competencies,
            "details": details,
        }
        | _filters_context(session, request),
        block="results",
    )


def trend_table(frame) -> Table:
    return Table(
        title=_("Trend"),
        columns=[
            _("Month"),
            _("Requirements"),
            _("Requirements met"),
            _("Coverage (%)"),
            _("Mean gap"),
            _("Critical gaps"),
        ],
        rows=[
            [
                r["period_end"].strftime("%Y-%m"),
                int(r["required_n"]),
                "<5" if r["suppressed"] else int(r["met_n"]),
                "<5"
                if r["suppressed"]
                else round(r["coverage"] * 100, 1)
                if r["coverage"] == r["coverage"]
                else "",
                "<5"
                if r["suppressed"]
                else round(r["mean_gap"], 2)
                if r["mean_gap"] == r["mean_gap"]
                else "",
                "<5" if r["suppressed"] else int(r["critical_n"]),
            ]
            for r in frame.to_dict("records")
        ],
    )


def _trend_chart(frame) -> dict[str, Any]:
    """Return the points of an SVG line chart of coverage (0–100 %) by month."""
    width, height, left, top, bottom = 640, 220, 48, 16, 36
    usable_w, usable_h = width - left - 16, height - top - bottom
    records = frame.to_dict("records")
    n = max(1, len(records) - 1)
    points = []
    for i, r in enumerate(records):
        value = r["coverage"]
        if value != value or value is None:  # NaN: suppressed or no requirement
            continue
        x = left + usable_w * i / n
        y = top + usable_h * (1 - value)
        points.append(
            {
                "x": round(x, 1),
                "y": round(y, 1),
                "label": format_percent(value),
                "month": r["period_end"].strftime("%Y-%m"),
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "top": top,
        "bottom": height - bottom,
        "right": width - 16,
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "ticks": [
            {"y": round(top + usable_h * (1 - t / 100), 1), "label": f"{t}%"}
            for t in (0, 25, 50, 75, 100)
        ],
        "months": [
            {"x": round(left + usable_w * i / n, 1), "label": r["period_end"].strftime("%m/%y")}
            for i, r in enumerate(records)
        ],
    }


@router.get("/gaps/trend", dependencies=[require(Permission.view_gap_aggregates)])
def gap_trend(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
    months: int = 12,
    format: str = "",
):
    if unit_id is not None:
        unit_or_404(session, unit_id)
    frame = service.trend_report(
        session,
        region=region,
        unit_type=unit_type,
        role=role,
        unit_id=unit_id,
        months=months,
        details=_details(principal),
    )
    exported = export_or_none(lambda: trend_table(frame), format, "competency-trend")
    if exported is not None:
        return exported
    return render(
        request,
        "competency/trend.html",
        {
            "rows": frame.to_dict("records"),
            "chart": _trend_chart(frame),
            "filters": {"region": region, "unit_type": unit_type, "role": role, "unit_id": unit_id},
            "months": months,
        }
        | _filters_context(session, request),
    )


def attention_tables(report: service.AttentionReport) -> dict[str, Table]:
    return {
        "critical": Table(
            title=_("Largest critical gaps"),
            columns=[
                _("Unit"),
                _("Region"),
                _("Competency"),
                _("Critical gaps"),
                _("Requirements"),
                _("Coverage (%)"),
            ],
            rows=[
                [
                    i.unit,
                    i.region,
                    localized(i.competency, "name"),
                    int(i.critical_n or 0),
                    int(i.required_n or 0),
                    round((i.coverage or 0) * 100, 1),
                ]
                for i in report.critical
            ],
        ),
        "spof": Table(
            title=_("Single points of failure"),
            columns=[
                _("Unit"),
                _("Region"),
                _("Competency"),
                _("People who need it (essential)"),
                _("People who meet it"),
            ],
            rows=[
                [
                    i.unit,
                    i.region,
                    localized(i.competency, "name"),
                    int(i.essential_n or 0),
                    int(i.essential_met_n or 0),
                ]
                for i in report.spof
            ],
        ),
    }


@router.get("/attention", dependencies=[require(Permission.view_gap_aggregates)])
def attention(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    table: str = "critical",
    format: str = "",
):
    report = service.attention_report(
        session,
        details=_details(principal),
        region=region,
        unit_type=unit_type,
        role=role,
        locale=get_locale(),
    )
    if format:
        tables = attention_tables(report)
        if table not in tables:
            raise HTTPException(status_code=404, detail=_("This table does not exist."))
        return export_or_none(lambda: tables[table], format, f"attention-{table}")
    return render(
        request,
        "competency/attention.html",
        {"report": report, "filters": {"region": region, "unit_type": unit_type, "role": role}}
        | _filters_context(session, request),
    )


# --- JSON -----------------------------------------------------------------------------------


class CellOut(BaseModel):
    competency: str
    people: float | None
    required_n: float | None
    met_n: float | None
    coverage: float | None
    mean_gap: float | None
    critical_n: float | None
    bench_n: float | None
    single_points_of_failure: float | None
    suppressed: bool


class RowOut(BaseModel):
    key: str
    label: str
    people: float | None
    total: CellOut
    cells: list[CellOut]


class ProfileUseOut(BaseModel):
    key: str
    title: str
    version: int


class BasisOut(BaseModel):
    ratings_revision: int
    profiles_revision: int
    computed_at: str
    people_without_profile: int
    profiles: list[ProfileUseOut]


class HeatmapOut(BaseModel):
    group_by: str
    filters: dict[str, Any]
    suppression_threshold: int | None
    total: RowOut
    rows: list[RowOut]
    basis: BasisOut


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
        suppression_threshold=None if report.details else gaps.MIN_CELL_PEOPLE,
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
    group: str = "region",
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
):
    """Gap counts and rates per group × competency (small cells suppressed without HR rights)."""
    if unit_id is not None:
        unit_or_404(session, unit_id)
    return heatmap_out(
        _heatmap(
            session,
            principal,
            group_by=group,
            region=region,
            unit_type=unit_type,
            role=role,
            unit_id=unit_id,
        )
    )


class UnitPersonOut(BaseModel):
    employee_id: int
    number: str
    name: str
    position: str
    gaps: dict[str, int | None]
    required_n: int
    met_n: int
    critical_n: int


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


class TrendPointOut(BaseModel):
    month: str
    required_n: int
    met_n: float | None
    coverage: float | None
    mean_gap: float | None
    critical_n: float | None
    suppressed: bool


def _nan_none(value):
    return None if value is None or value != value else float(value)


@api_router.get(
    "/gaps/trend",
    response_model=list[TrendPointOut],
    dependencies=[require(Permission.view_gap_aggregates)],
)
def trend_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
    months: int = 12,
):
    """Coverage, mean gap and critical gaps at each month end, from the rating log."""
    frame = service.trend_report(
        session,
        region=region,
        unit_type=unit_type,
        role=role,
        unit_id=unit_id,
        months=months,
        details=_details(principal),
    )
    return [
        TrendPointOut(
            month=r["period_end"].strftime("%Y-%m"),
            required_n=int(r["required_n"]),
            met_n=_nan_none(r["met_n"]),
            coverage=_nan_none(r["coverage"]),
            mean_gap=_nan_none(r["mean_gap"]),
            critical_n=_nan_none(r["critical_n"]),
            suppressed=bool(r["suppressed"]),
        )
        for r in frame.to_dict("records")
    ]


class AttentionItemOut(BaseModel):
    unit_id: int
    unit: str
    region: str
    competency: str
    required_n: float | None
    met_n: float | None
    critical_n: float | None
    essential_n: float | None
    essential_met_n: float | None
    coverage: float | None


class AttentionOut(BaseModel):
    critical: list[AttentionItemOut]
    single_points_of_failure: list[AttentionItemOut]
    basis: BasisOut


@api_router.get(
    "/attention",
    response_model=AttentionOut,
    dependencies=[require(Permission.view_gap_aggregates)],
)
def attention_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    region: str = "",
    unit_type: str = "",
    role: str = "",
):
    """The largest critical gaps and the single points of failure."""
    report = service.attention_report(
        session,
        details=_details(principal),
        region=region,
        unit_type=unit_type,
        role=role,
        locale=get_locale(),
    )

    def item(i: service.AttentionItem) -> AttentionItemOut:
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

    return AttentionOut(
        critical=[item(i) for i in report.critical],
        single_points_of_failure=[item(i) for i in report.spof],
        basis=_basis_out(report.basis),
    )
