"""Every registered route × every role: the response matches the route's declared permission.

Each route declares `require(Permission.x)` or `public`; this test reads the declarations back
from the application and checks them against ROLE_PERMISSIONS by making real requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute

from backend.auth.permissions import ROLE_PERMISSIONS, Role
from backend.auth.service import anonymous_csrf_token
from backend.deps import is_anonymous_path
from tests.conftest import login

# Sample values for path parameters; anything else gets "1" (a missing record → 404 is fine
# for a permitted role, and a refused role must be refused before the record is looked up).
PATH_SAMPLES = {"code": "legal"}
# Routes whose GET has side effects on the session (none yet) would be listed here.
SKIP_GET: set[str] = set()


@dataclass
class RouteInfo:
    path: str
    methods: set[str]
    dependant: object


def api_routes(app) -> list[RouteInfo]:
    """Return every API route with its effective path (FastAPI before and after 0.16x)."""
    found: list[RouteInfo] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append(RouteInfo(route.path, set(route.methods), route.dependant))
        elif hasattr(route, "effective_route_contexts"):
            originals = {
                id(r.endpoint): r for r in route.original_router.routes if isinstance(r, APIRoute)
            }
            for context in route.effective_route_contexts():
                original = originals[id(context.endpoint)]
                found.append(RouteInfo(context.path, set(original.methods), context.dependant))
    return found


def declaration(route: RouteInfo):
    """Return the route's declared Permission, "public", or None when it declares nothing."""
    found = []
    for dependency in route.dependant.dependencies:
        call = dependency.call
        if getattr(call, "reporter", False):
            found.append("reporter")
        elif getattr(call, "public", False):
            found.append("public")
        elif hasattr(call, "permission"):
            found.append(call.permission)
    assert len(found) <= 1, f"{route.path} declares more than one permission: {found}"
    return found[0] if found else None


def fill(path: str, samples: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples.get(m.group(1), "1"), path)


def test_every_route_declares_its_permission(app):
    undeclared = [
        f"{sorted(r.methods)} {r.path}" for r in api_routes(app) if declaration(r) is None
    ]
    assert undeclared == [], f"routes without a declared permission: {undeclared}"


@pytest.fixture
def principals(client, make_user, org):
    """Sign in one user per role (the supervisor by reporting line); return role → cookies."""
    cookies: dict[str, dict] = {}
    tokens: dict[str, str] = {}
    for role in Role:
        client.cookies.clear()
        user = make_user(employee=org.head) if role is Role.supervisor else make_user(role)
        tokens[role.value] = login(client, user.email)
        cookies[role.value] = dict(client.cookies)
    client.cookies.clear()
    return cookies, tokens


def test_route_role_matrix(app, client, principals, org):
    cookies, tokens = principals
    samples = {**PATH_SAMPLES, "user_id": "1"}
    secret = app.state.settings.resolved_secret_key()
    # The reporting channel's forms carry a token bound to no browser; every other page shown
    # without a session, one bound to the browser's pre-session cookie.
    report_token = anonymous_csrf_token(secret)
    presession = "p" * 43
    anon_cookie = {"merito_presession": presession}
    sign_in_token = anonymous_csrf_token(secret, binding=presession)
    failures: list[str] = []
    checked = 0
    for route in api_routes(app):
        declared = declaration(route)
        path = fill(route.path, samples)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            if method == "GET" and route.path in SKIP_GET:
                continue
            # Anonymous
            client.cookies.clear()
            anon_token = report_token if is_anonymous_path(path) else sign_in_token
            if method == "GET":
                response = client.get(path, follow_redirects=False)
            else:
                client.cookies.update(anon_cookie)
                response = client.request(
                    method, path, headers={"X-CSRF-Token": anon_token}, follow_redirects=False
                )
            checked += 1
            if declared != "public" and response.status_code != 401:
                failures.append(f"anonymous {method} {path}: {response.status_code} != 401")
            if declared == "reporter":
                # Only a reporter's receipt session opens these, whatever staff role one has.
                for role in Role:
                    client.cookies.clear()
                    client.cookies.update(cookies[role.value])
                    response = client.request(
                        method, path, headers={"X-CSRF-Token": anon_token}, follow_redirects=False
                    )
                    checked += 1
                    if response.status_code != 401:
                        failures.append(f"{role} {method} {path}: {response.status_code} != 401")
                continue
            # Each role
            for role in Role:
                allowed = declared == "public" or declared in ROLE_PERMISSIONS[role]
                if method != "GET" and allowed:
                    continue  # mutations by permitted roles are proven by functional tests
                client.cookies.clear()
                client.cookies.update(cookies[role.value])
                if method == "GET":
                    response = client.get(path, follow_redirects=False)
                else:
                    response = client.request(
                        method,
                        path,
                        headers={"X-CSRF-Token": tokens[role.value]},
                        follow_redirects=False,
                    )
                checked += 1
                status = response.status_code
                if not allowed and status != 403:
                    failures.append(f"{role} {method} {path}: {status} != 403")
                if allowed and method == "GET":
                    has_params = "{" in route.path
                    ok = status in (200, 303, 307) or (has_params and status == 404)
                    if not ok:
                        failures.append(f"{role} GET {path}: {status} (allowed)")
    client.cookies.clear()
    assert checked > 0
    assert failures == [], "\n".join(failures)
