"""The organisation's pages and its JSON API, one module per subject.

`router` gathers the pages (`units`: units and positions; `roster`: export and import;
`imports`: the import's mapping step and background runs;
`employees`: the list and the record; `qualifications`) and `api_router` the JSON API (`api`),
which is how `backend.app` loads them (`CORE_ROUTER_MODULES`). The roster's routes come before
the employee record's, so `/org/employees/export` is not read as an employee's id.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.org.routes import api, employees, imports, qualifications, roster, units

__all__ = ["api_router", "router"]

# The subjects' routes side by side in one router (not routers nested in a router): the app
# includes it as it includes any domain's, and every route keeps its own dependencies.
router = APIRouter()
for module in (units, roster, imports, employees, qualifications):
    router.routes.extend(module.router.routes)

api_router = api.api_router
