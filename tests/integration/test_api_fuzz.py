"""Schemathesis against the JSON API's OpenAPI schema: no 5xx, responses match the schema.

Generated requests run as a signed-in administrator who is also an HR planner (the widest
read and write access to the API), with a valid CSRF token, on both database backends.

Each operation's case strategy is driven by Hypothesis directly rather than through
schemathesis's pytest plugin, so the test does not depend on pytest internals that change
between releases. Every operation is exercised; failures are collected and reported together.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import login

CHECKS = (not_a_server_error, response_schema_conformance)
FUZZ_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def _fuzz(operation, headers: dict[str, str]) -> None:
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def run(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()


def test_api_never_fails_and_matches_its_schema(app, client, make_user, org):
    user = make_user("admin", "hr_planner")
    token = login(client, user.email)
    headers = {
        "Cookie": f"merito_session={client.cookies.get('merito_session')}",
        "X-CSRF-Token": token,
        "Accept-Language": "en",
    }
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=headers).include(
        path_regex=r"^/api/v1/"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "the API schema lost its operations"

    failures: list[str] = []
    for operation in operations:
        try:
            _fuzz(operation, headers)
        except Exception as exc:  # collect every failing operation, then report them all
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
    assert not failures, "\n\n".join(failures)
