"""Browsing the competency framework (pages and JSON)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import require
from backend.i18n import N_, _
from backend.web import NavItem, register_nav, render, templates
from competency_framework import gap_routes, panels, planning_routes, rating_routes, service
from competency_framework.models import RATING_SOURCE_LABELS

router = APIRouter()
api_router = APIRouter()
framework_router = APIRouter(prefix="/framework")
framework_api = APIRouter(prefix="/framework", tags=["framework"])

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
templates().globals["RATING_SOURCE_LABELS"] = RATING_SOURCE_LABELS


@framework_router.get("", dependencies=[require(Permission.view_framework)])
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


@framework_router.get("/{code}", dependencies=[require(Permission.view_framework)])
def competency_detail(request: Request, session: SessionDep, code: str):
    competency = service.get_competency(session, code)
    if competency is None:
        raise HTTPException(status_code=404, detail=_("This competency does not exist."))
    return render(
        request,
        "competency/competency.html",
        {
            "competency": competency,
            "descriptors": service.descriptors(session, competency),
            "scale": {level.level: level for level in service.scale(session)},
        },
    )


class LocalizedText(BaseModel):
    es: str
    en: str


class LevelOut(BaseModel):
    level: int
    code: str
    name: LocalizedText
    description: LocalizedText


class DescriptorOut(BaseModel):
    level: int
    text: LocalizedText


class CompetencyOut(BaseModel):
    code: str
    order: int
    group: str
    name: LocalizedText
    description: LocalizedText
    levels: list[DescriptorOut]


class FrameworkOut(BaseModel):
    version: str | None
    proficient_level: int
    scale: list[LevelOut]
    competencies: list[CompetencyOut]


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


@framework_api.get(
    "", response_model=FrameworkOut, dependencies=[require(Permission.view_framework)]
)
def framework_json(session: SessionDep) -> FrameworkOut:
    """The whole framework: scale, competencies and level descriptors, in both languages."""
    version = service.current_version(session)
    table = service.all_descriptors(session)
    return FrameworkOut(
        version=version.version if version else None,
        proficient_level=version.proficient_level if version else 3,
        scale=[
            LevelOut(
                level=lv.level,
                code=lv.code,
                name=LocalizedText(es=lv.name_es, en=lv.name_en),
                description=LocalizedText(es=lv.description_es, en=lv.description_en),
            )
            for lv in service.scale(session)
        ],
        competencies=[
            _competency_out(c, [table[c.id][lv] for lv in sorted(table.get(c.id, {}))])
            for c in service.list_competencies(session)
        ],
    )


@framework_api.get(
    "/competencies/{code}",
    response_model=CompetencyOut,
    dependencies=[require(Permission.view_framework)],
)
def competency_json(session: SessionDep, code: str) -> CompetencyOut:
    """One competency with its level descriptors."""
    competency = service.get_competency(session, code)
    if competency is None:
        raise HTTPException(status_code=404, detail=_("This competency does not exist."))
    return _competency_out(competency, service.descriptors(session, competency))


# One flat router (and one for the API): the sub-modules' routes already carry their full
# paths, and a flat list keeps every route visible to the route × role matrix test.
for _module_router in (
    framework_router,
    rating_routes.router,
    gap_routes.router,
    planning_routes.router,
):
    router.routes.extend(_module_router.routes)
for _module_api in (
    framework_api,
    rating_routes.api_router,
    gap_routes.api_router,
    planning_routes.api_router,
):
    api_router.routes.extend(_module_api.routes)
