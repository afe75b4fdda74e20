"""Browsing the competency framework (pages and JSON), and the domain's navigation entries."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import require
from backend.i18n import N_
from backend.web import NavItem, register_nav, render, templates
from competency_framework import panels, service
from competency_framework.schemas import (
    CompetencyOut,
    DescriptorOut,
    FrameworkOut,
    LevelOut,
    LocalizedText,
)

router = APIRouter(prefix="/framework")
api_router = APIRouter(prefix="/framework", tags=["framework"])

register_nav(NavItem(N_("Competencies"), "/framework", Permission.view_framework, order=20))
register_nav(
    NavItem(N_("My competencies"), "/competencies/me", Permission.rate_own_competencies, order=21)
)
register_nav(
    NavItem(N_("Validation"), "/competencies/validation", Permission.validate_ratings, order=22)
)
register_nav(NavItem(N_("Gaps"), "/competencies/gaps", Permission.view_gap_aggregates, order=23))
register_nav(
    NavItem(
        N_("Role profiles"), "/competencies/profiles", Permission.manage_role_profiles, order=24
    )
)
register_nav(
    NavItem(N_("Campaigns"), "/competencies/campaigns", Permission.manage_campaigns, order=25)
)
register_nav(
    NavItem(N_("Workforce"), "/competencies/workforce", Permission.plan_workforce, order=26)
)

assert panels  # registers the dashboard panels
templates().globals["RATING_SOURCE_LABELS"] = service.RATING_SOURCE_LABELS


@router.get("", dependencies=[require(Permission.view_framework)])
def framework_index(request: Request, session: SessionDep):
    return render(
        request,
        "competency/framework.html",
        {
            "competencies": service.list_competencies(session),
            "scale": service.scale(session),
            "version": service.current_version(session),
        },
    )


@router.get("/{code}", dependencies=[require(Permission.view_framework)])
def competency_detail(request: Request, session: SessionDep, code: str):
    competency = service.competency_or_404(session, code)
    return render(
        request,
        "competency/competency.html",
        {
            "competency": competency,
            "descriptors": service.descriptors(session, competency),
            "scale": {level.level: level for level in service.scale(session)},
        },
    )


def _competency_out(competency, descriptors) -> CompetencyOut:
    return CompetencyOut(
        code=competency.code,
        order=competency.order,
        group=competency.group,
        name=LocalizedText(es=competency.name_es, en=competency.name_en),
        description=LocalizedText(es=competency.description_es, en=competency.description_en),
        levels=[
            DescriptorOut(level=d.level, text=LocalizedText(es=d.text_es, en=d.text_en))
            for d in descriptors
        ],
    )


def _level_out(level) -> LevelOut:
    return LevelOut(
        level=level.level,
        code=level.code,
        name=LocalizedText(es=level.name_es, en=level.name_en),
        description=LocalizedText(es=level.description_es, en=level.description_en),
    )


@api_router.get("", response_model=FrameworkOut, dependencies=[require(Permission.view_framework)])
def framework_json(session: SessionDep) -> FrameworkOut:
    """The whole framework: scale, competencies and level descriptors, in both languages."""
    version = service.current_version(session)
    table = service.all_descriptors(session)
    return FrameworkOut(
        version=version.version if version else None,
        proficient_level=version.proficient_level if version else 3,
        scale=[_level_out(lv) for lv in service.scale(session)],
        competencies=[
            _competency_out(c, [table[c.id][lv] for lv in sorted(table.get(c.id, {}))])
            for c in service.list_competencies(session)
        ],
    )


@api_router.get(
    "/competencies/{code}",
    response_model=CompetencyOut,
    dependencies=[require(Permission.view_framework)],
)
def competency_json(session: SessionDep, code: str) -> CompetencyOut:
    """One competency with its level descriptors."""
    competency = service.competency_or_404(session, code)
    return _competency_out(competency, service.descriptors(session, competency))
