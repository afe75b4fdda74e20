"""All training routes in one flat router (and one for the API), with the navigation entries.

The sub-modules' routes carry their full paths; a flat list keeps every route visible to the
route × role matrix test.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.permissions import Permission
from backend.i18n import N_
from backend.web import NavItem, register_nav, templates
from competency_framework.training import (
    catalogue_routes,
    manage_routes,
    needs_routes,
    panels,
    plan_routes,
)
from competency_framework.training.http import money
from competency_framework.training.models import (
    AUDIENCE_LABELS,
    ENROLMENT_STATUS_LABELS,
    EVIDENCE_LABELS,
    ITEM_STATUS_LABELS,
    MODALITY_LABELS,
    ORIGIN_LABELS,
    PLAN_STATUS_LABELS,
)

router = APIRouter()
api_router = APIRouter()

register_nav(NavItem(N_("My training"), "/training/me", Permission.manage_own_training, order=30))
register_nav(
    NavItem(N_("Catalogue"), "/training/catalogue", Permission.view_training_catalogue, order=31)
)
register_nav(NavItem(N_("Team training"), "/training/team", Permission.approve_training, order=32))
register_nav(
    NavItem(N_("Training needs"), "/training/needs", Permission.view_training_needs, order=33)
)
register_nav(
    NavItem(
        N_("Training admin"), "/training/manage", Permission.manage_training_catalogue, order=34
    )
)

assert panels  # registers the dashboard panels
templates().globals.update(
    format_money=money,
    MODALITY_LABELS=MODALITY_LABELS,
    AUDIENCE_LABELS=AUDIENCE_LABELS,
    EVIDENCE_LABELS=EVIDENCE_LABELS,
    ITEM_STATUS_LABELS=ITEM_STATUS_LABELS,
    ORIGIN_LABELS=ORIGIN_LABELS,
    PLAN_STATUS_LABELS=PLAN_STATUS_LABELS,
    ENROLMENT_STATUS_LABELS=ENROLMENT_STATUS_LABELS,
)

# Order matters where paths overlap: /training/manage/... before /training/{anything}.
for module in (manage_routes, catalogue_routes, plan_routes, needs_routes):
    router.routes.extend(module.router.routes)
    if hasattr(module, "api_router"):
        api_router.routes.extend(module.api_router.routes)
