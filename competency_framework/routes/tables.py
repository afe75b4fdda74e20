"""The competency pages' tables as spreadsheets, and the trend chart's geometry.

Each builder returns the `backend.tables.Table` a page shows (the same columns and numbers), for
its CSV/XLSX export links (`backend.pages.export_or_none`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response
from sqlmodel import Session

from backend.i18n import N_, _, localized
from backend.org.models import Unit
from backend.pages import export_or_none
from backend.tables import Table, local_time
from backend.web import format_percent
from competency_framework import service
from competency_framework.models import IMPORTANCE_LABELS, AssessmentCampaign, RoleProfile
from competency_framework.service import RATING_SOURCE_LABELS


def person_table(profile: service.PersonGapProfile) -> Table:
    return Table(
        title=profile.employee.full_name,
        columns=[
            _("Competency"),
            _("Required level"),
            _("Importance"),
            _("Current level"),
            _("Source"),
            _("Gap"),
            _("Critical"),
            _("Awaiting validation"),
        ],
        rows=[
            [
                localized(r.competency, "name"),
                r.required,
                _(r.importance.capitalize()),
                r.current if r.current is not None else "",
                _(RATING_SOURCE_LABELS[r.source]) if r.source else "",
                r.gap,
                _("Yes") if r.critical else _("No"),
                r.pending.level if r.pending else "",
            ]
            for r in profile.rows
        ],
    )


def validation_queue_table(items: list[service.ValidationQueueItem], zone: str) -> Table:
    """Return the validation queue as on its page (with employee numbers)."""
    return Table(
        title=_("Self-assessments awaiting validation"),
        columns=[
            _("Employee number"),
            _("Name"),
            _("Ratings awaiting validation"),
            _("Waiting since"),
        ],
        rows=[
            [
                item.employee.number,
                item.employee.full_name,
                item.pending,
                local_time(item.oldest, zone),
            ]
            for item in items
        ],
    )


def profile_title(profile: RoleProfile) -> str:
    return localized(profile, "title") or profile.role_code or profile.key


def profiles_table(session: Session) -> Table:
    """Every active profile's current requirements, in the import format (round trip)."""
    codes = {c.id: c.code for c in service.list_competencies(session)}
    positions = {p.id: p.code for p in service.positions_by_id(session).values()}
    rows = []
    for profile in service.list_profiles(session):
        name = (
            f"position:{positions.get(profile.position_id, profile.position_id)}"
            if profile.position_id
            else profile.role_code
        )
        for cid, requirement in sorted(service.requirements_of(session, profile).items()):
            rows.append(
                [name, codes.get(cid, ""), requirement.level, requirement.importance]
                + [profile_title(profile), profile.current_version]
            )
    return Table(
        title=_("Role profiles"),
        columns=[*service.PROFILE_IMPORT_COLUMNS, "title", "version"],
        rows=rows,
    )


def profile_tables(context: dict, zone: str) -> dict[str, Any]:
    """Return builders of a profile page's two tables: its versions, and the shown requirements."""
    title = context["title"]

    def versions() -> Table:
        return Table(
            title=title,
            columns=[_("Version"), _("When"), _("Who"), _("Source"), _("Reason")],
            rows=[
                [
                    v.version,
                    local_time(v.created_at, zone),
                    context["authors"].get(v.created_by_id, _("system")),
                    v.source,
                    v.reason,
                ]
                for v in context["versions"]
            ],
        )

    def requirements() -> Table:
        rows = []
        for c in context["competencies"]:
            requirement = context["requirements"].get(c.id)
            level = requirement.level if requirement else 0
            importance = requirement.importance if requirement else ""
            rows.append(
                [
                    localized(c, "name"),
                    level,
                    _(IMPORTANCE_LABELS[importance]) if importance else "",
                ]
            )
        return Table(
            title=title,
            columns=[
                _("Competency"),
                _("Required level (version %(v)s)", v=context["shown_version"]),
                _("Importance"),
            ],
            rows=rows,
        )

    return {"versions": versions, "requirements": requirements}


def campaigns_table(campaigns: list[AssessmentCampaign], zone: str) -> Table:
    """Return the list of campaigns as on its page (with when each closed)."""
    return Table(
        title=_("Assessment campaigns"),
        columns=[_("Name"), _("Deadline"), _("Opened"), _("Closed"), _("Status")],
        rows=[
            [
                c.name,
                c.deadline,
                local_time(c.opened_at, zone),
                local_time(c.closed_at, zone),
                _("Closed") if c.closed_at else _("Open"),
            ]
            for c in campaigns
        ],
    )


def progress_table(campaign: AssessmentCampaign, rows, total) -> Table:
    return Table(
        title=campaign.name,
        columns=[
            _("Unit"),
            _("People"),
            _("Not started"),
            _("Self-assessment in progress"),
            _("Self-assessment done"),
            _("Awaiting validation"),
            _("Validated"),
        ],
        rows=[
            [
                r.unit,
                r.people,
                r.not_started,
                r.in_progress,
                r.self_done,
                r.awaiting_validation,
                r.validated,
            ]
            for r in [total, *rows]
        ],
    )


def workforce_table(plans: list[service.UnitPlan], years: list[int]) -> Table:
    return Table(
        title=_("Workforce planning"),
        columns=[
            _("Unit"),
            _("Region"),
            _("Planned posts"),
            _("People in post"),
            _("Open posts"),
            *[_("Leavers %(year)s", year=y) for y in years],
            _("Turnover, last 12 months (%)"),
            _("Eligible to retire"),
            _("Procurement staff"),
            _("With a procurement qualification (%)"),
            _("Competency coverage (%)"),
            _("Critical gaps"),
            _("Single points of failure"),
            _("Shortfall"),
        ],
        rows=[
            [
                p.name,
                p.region,
                p.planned,
                p.actual,
                p.open_posts,
                *[p.leavers_by_year.get(y, 0) for y in years],
                round(p.turnover * 100, 1) if p.turnover is not None else "",
                p.retiring,
                p.procurement_staff,
                round(p.qualified_share * 100, 1) if p.qualified_share is not None else "",
                round(p.coverage * 100, 1) if p.coverage is not None else "",
                p.critical_n,
                p.spof,
                _(service.SHORTFALL_LABELS[p.shortfall]),
            ]
            for p in plans
        ],
    )


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


def _trend_figures(r: dict) -> list[Any]:
    """Return a month's met requirements, coverage, mean gap and critical gaps ('<5' each when
    suppressed; '' for a NaN)."""
    if r["suppressed"]:
        return ["<5"] * 4
    coverage, mean_gap = r["coverage"], r["mean_gap"]
    return [
        int(r["met_n"]),
        round(coverage * 100, 1) if coverage == coverage else "",
        round(mean_gap, 2) if mean_gap == mean_gap else "",
        int(r["critical_n"]),
    ]


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
                *_trend_figures(r),
            ]
            for r in frame.to_dict("records")
        ],
    )


def trend_chart(frame) -> dict[str, Any]:
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


def _where_columns() -> list[str]:
    return [_("Unit"), _("Region"), _("Competency")]


def attention_tables(report: service.AttentionReport) -> dict[str, Callable[[], Table]]:
    """Return builders of the attention page's two tables: critical gaps, single points of
    failure (each row a unit, its region and a competency)."""

    def where(i: service.AttentionItem) -> list[Any]:
        return [i.unit, i.region, localized(i.competency, "name")]

    def critical() -> Table:
        return Table(
            title=_("Largest critical gaps"),
            columns=[*_where_columns(), _("Critical gaps"), _("Requirements"), _("Coverage (%)")],
            rows=[
                [
                    *where(i),
                    int(i.critical_n or 0),
                    int(i.required_n or 0),
                    round((i.coverage or 0) * 100, 1),
                ]
                for i in report.critical
            ],
        )

    def spof() -> Table:
        return Table(
            title=_("Single points of failure"),
            columns=[
                *_where_columns(),
                _("People who need it (essential)"),
                _("People who meet it"),
            ],
            rows=[
                [*where(i), int(i.essential_n or 0), int(i.essential_met_n or 0)]
                for i in report.spof
            ],
        )

    return {"critical": critical, "spof": spof}


def export_table(
    tables: dict[str, Callable[[], Table]], table: str, fmt: str, filename: str
) -> Response | None:
    """Answer one of a page's tables (by name: 404 for another) as a CSV/XLSX download."""
    if table not in tables:
        raise HTTPException(status_code=404, detail=_("This table does not exist."))
    return export_or_none(tables[table], fmt, filename)
