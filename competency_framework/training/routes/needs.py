"""Planners' pages: the training needs analysis (and its export) and the effect of training."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import Session

from backend import clock
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import SettingsDep, form_int, require
from backend.i18n import _, localized
from backend.pages import export_or_none, query_without
from backend.tables import Table
from backend.web import render
from competency_framework import service as competency_service
from competency_framework.training import service
from competency_framework.training.models import MODALITY_LABELS
from competency_framework.training.routes.common import year_of

router = APIRouter(prefix="/training")


def budget_of(value: str) -> int | None:
    text = (value or "").replace(",", "").replace("$", "").strip()
    return form_int(
        text,
        field="budget",
        low=0,
        high=10**12,
        message=_("Enter the budget as a whole number of pesos."),
        location="query",
    )


def needs_asked(
    request: Request, session: Session, *, region: str, unit: int | None, budget: str, year: Any
) -> service.NeedsReport:
    """Return the training needs analysis a page or API query asks for (422 for a bad year or
    budget)."""
    return service.needs_report(
        session,
        year=year_of(request, year),
        region=region,
        unit_id=unit,
        budget=budget_of(budget),
    )


def _ranking_table(report: service.NeedsReport) -> Table:
    return Table(
        title=_("Training needs"),
        columns=[
            _("Rank"),
            _("Activity"),
            _("Code"),
            _("Modality"),
            _("People"),
            _("Gaps addressed"),
            _("Critical gaps"),
            _("Critical gaps closed"),
            _("Cost"),
            _("Sessions needed"),
            _("Funded"),
            _("Cumulative cost"),
            _("Share of critical gaps closed"),
            *report.regions,
        ],
        rows=[
            [
                a.rank,
                localized(a.activity, "title"),
                a.activity.code,
                _(MODALITY_LABELS.get(a.activity.modality, a.activity.modality)),
                a.people,
                a.needs,
                a.critical,
                a.closes,
                a.cost,
                a.sessions if a.sessions is not None else "",
                _("Yes") if a.funded else _("No"),
                a.cumulative_cost,
                round(a.cumulative_share, 4),
                *[a.by_region.get(r, 0) for r in report.regions],
            ]
            for a in report.activities
        ],
    )


@router.get("/needs", dependencies=[require(Permission.view_training_needs)])
def needs_page(
    request: Request,
    session: SessionDep,
    region: str = "",
    unit: int | None = None,
    budget: str = "",
    year: int | None = None,
    format: str = "",
):
    report = needs_asked(request, session, region=region, unit=unit, budget=budget, year=year)
    exported = export_or_none(lambda: _ranking_table(report), format, "training-needs")
    if exported is not None:
        return exported
    return render_needs(request, session, report, budget)


def render_needs(request, session, report, budget_text):
    return render(
        request,
        "training/needs.html",
        {
            "report": report,
            "regions": competency_service.regions(session),
            "budget_text": budget_text,
            "export_query": query_without(request, "format"),
            "unit_name": _unit_name(session, report.unit_id),
        },
        block="report",
    )


def _unit_name(session, unit_id: int | None) -> str:
    if unit_id is None:
        return ""
    name = service.unit_name(session, unit_id)
    if not name:
        raise HTTPException(status_code=404, detail=_("This unit does not exist."))
    return name


def _day(value: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(status_code=422, detail=_("Enter dates as YYYY-MM-DD."))


def _period(settings, start: str, end: str) -> tuple[datetime, datetime, date, date]:
    zone = service.org_zone(settings)
    today = clock.today(settings)
    first = _day(start, today - timedelta(days=365))
    last = _day(end, today)
    if last < first:
        raise HTTPException(status_code=422, detail=_("The end of the period is before its start."))
    return (
        datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC),
        datetime.combine(last, time.max, tzinfo=zone).astimezone(UTC),
        first,
        last,
    )


def _effect_table(report: service.EffectReport) -> Table:
    return Table(
        title=_("Effect of training"),
        columns=[
            _("Competency"),
            _("Starting level"),
            _("Trained"),
            _("Mean change, trained"),
            _("Share who rose, trained"),
            _("Not trained"),
            _("Mean change, not trained"),
            _("Share who rose, not trained"),
            _("Difference"),
            _("Suppressed"),
        ],
        rows=[
            [
                localized(s.competency, "name"),
                s.start_level,
                s.trained,
                "" if s.trained_change is None else round(s.trained_change, 3),
                "" if s.trained_rose is None else round(s.trained_rose, 3),
                s.others,
                "" if s.others_change is None else round(s.others_change, 3),
                "" if s.others_rose is None else round(s.others_rose, 3),
                "" if s.difference is None else round(s.difference, 3),
                _("Yes") if s.suppressed else _("No"),
            ]
            for s in report.strata
        ],
    )


@router.get("/effect", dependencies=[require(Permission.view_training_needs)])
def effect_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    start: str = "",
    end: str = "",
    competency: str = "",
    format: str = "",
):
    first, last, first_day, last_day = _period(settings, start, end)
    report = service.training_effect(session, start=first, end=last, competency_code=competency)
    exported = export_or_none(lambda: _effect_table(report), format, "training-effect")
    if exported is not None:
        return exported
    return render(
        request,
        "training/effect.html",
        {
            "report": report,
            "start": first_day.isoformat(),
            "end": last_day.isoformat(),
            "competency": competency,
            "competency_options": [
                (c.code, localized(c, "name"))
                for c in competency_service.list_competencies(session)
            ],
            "min_group": service.MIN_GROUP,
            "export_query": query_without(request, "format"),
        },
    )
