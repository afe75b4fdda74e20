"""The competency domain's pages and JSON API, by audience.

- `framework`: the framework itself (everyone), and the domain's navigation entries;
- `employee`: my competencies and self-assessment, a person's profile and history;
- `supervisor`: validating self-assessments, recording ratings (supervisors, HR);
- `gaps`: gap analysis — heatmap, drill-down, trend, what needs attention;
- `profiles`, `campaigns`, `workforce`: HR planners' role profiles, assessment campaigns
  (and rating imports), workforce planning.

`router` and `api_router` gather them flat: every module's routes carry their full paths, and
a flat list keeps every route visible to the route × role matrix test.
"""

from __future__ import annotations

from fastapi import APIRouter

from competency_framework.routes import (
    campaigns,
    employee,
    framework,
    gaps,
    profiles,
    supervisor,
    workforce,
)

MODULES = (framework, employee, supervisor, campaigns, gaps, profiles, workforce)

router = APIRouter()
api_router = APIRouter()
for _module in MODULES:
    router.routes.extend(_module.router.routes)
    api_router.routes.extend(_module.api_router.routes)
