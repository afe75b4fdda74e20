"""All vacancy routers as one flat router (and one for the API), plus navigation and panels.

The sub-modules' routes carry their full paths; a flat list keeps every route visible to the
route × role matrix test.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.permissions import Permission
from backend.i18n import N_
from backend.web import NavItem, register_nav

from . import (
    candidate_routes,
    hr_routes,
    integrity_routes,
    panel_routes,
    panels,
    public_routes,
)

router = APIRouter()
api_router = APIRouter()

register_nav(NavItem(N_("Vacancies"), "/vacancies", None, order=40))
register_nav(
    NavItem(N_("My applications"), "/applications", Permission.apply_to_vacancies, order=41)
)
register_nav(NavItem(N_("Competitions"), "/competitions", Permission.manage_vacancies, order=42))
register_nav(NavItem(N_("Panel"), "/panel", Permission.score_candidates, order=43))
register_nav(NavItem(N_("Integrity"), "/integrity", Permission.view_integrity, order=44))

assert panels  # registers the dashboard panels

# The bank's fixed paths come before /competitions/{id} (which only matches numbers anyway).
for _module_router in (
    public_routes.router,
    candidate_routes.router,
    hr_routes.router,
    panel_routes.router,
    integrity_routes.router,
):
    router.routes.extend(_module_router.routes)
for _module_api in (
    public_routes.api_router,
    candidate_routes.api_router,
    hr_routes.api_router,
    integrity_routes.api_router,
):
    api_router.routes.extend(_module_api.routes)
