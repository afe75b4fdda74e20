"""Schemathesis against the JSON API's OpenAPI schema: no 5xx, responses match the schema.

Generated requests run as a signed-in administrator who is also an HR planner (the widest
read and write access to the API), with a valid CSRF token, on both database backends.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import login


@pytest.fixture
def api_schema(app, client, make_user, org):
    user = make_user("admin", "hr_planner")
    token = login(client, user.email)
    app.state.fuzz_headers = {
        "Cookie": f"merito_session={client.cookies.get('merito_session')}",
        "X-CSRF-Token": token,
        "Accept-Language": "en",
    }
    return schemathesis.openapi.from_asgi("/api/openapi.json", app).include(path_regex=r"^/api/v1/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_never_fails_and_matches_its_schema(case, app):
    response = case.call(headers=app.state.fuzz_headers)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
