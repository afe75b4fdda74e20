"""Numbers and record ids read from forms (issue #19): a value that is not a whole number, or one
beyond what the database's column holds, is refused by name before it reaches the database.

Found by the form fuzz (test_form_fuzz.py): an id like 2**31 reached PostgreSQL's integer
column (2**63 SQLite's) and came back as a generic 422 naming no field, and a digit `int()`
cannot read ("²", which `str.isdigit` accepts) was a server error. Every route here now parses
its numbers with `backend.deps.form_id` / `form_int`, which names the field it refuses.
"""

from __future__ import annotations

from backend.auth.permissions import Role
from tests.conftest import login
from tests.integration.form_fuzz_world import build_world, persona_for
from tests.integration.test_authorization_matrix import api_routes, declaration
from tests.integration.test_form_fuzz import Personas, fingerprint, named_fields
from tests.integration.test_form_fuzz import client as client  # noqa: F401 - 500s as answers

# Beyond PostgreSQL's integer (2**31), beyond SQLite's (2**63), and digits int() cannot read.
OUT_OF_RANGE = [str(2**31), str(2**63), "9" * 30, "\u00b2", "\u0661\u0662"]


def _cases(world, org) -> list[tuple[str, str, dict[str, str], str]]:
    """(persona, path, form, the field the refusal must name) for each route that reads ids."""
    cycle = {
        "name": "Ciclo",
        "period_start": "2030-01-01",
        "period_end": "2030-12-31",
        "plan_year": "2026",
        "subunits": "1",
    }
    employee = {
        "number": org.officer_a.number,
        "first_name": "Ana",
        "last_name": "Ruiz",
        "hire_date": "2020-01-01",
        "status": "active",
        "effective_on": "2026-01-01",
    }
    session_id, ref = world.samples["session_id"], world.samples["reference"]
    cases = []
    for bad in OUT_OF_RANGE:
        cases += [
            ("hr", "/appraisals/cycles", {**cycle, "units": bad}, "units"),
            ("hr", "/appraisals/cycles", {**cycle, "plan_year": bad}, "plan_year"),
            ("investigator", "/cases/intake", {"what": "x", "excluded": bad}, "excluded"),
            ("investigator", "/cases/intake", {"what": "x", "channel": bad}, "channel"),
            ("investigator", f"/cases/{ref}/assign", {"user_id": bad}, "user_id"),
            # Notice ids are random 53-bit numbers (backend/notices/models.py): past 2**53.
            (
                "employee",
                "/notifications/read",
                {"notification_id": str(2**53 + 1) if bad == str(2**31) else bad},
                "notification_id",
            ),
            (
                "hr",
                f"/org/employees/{org.officer_a.id}/edit",
                {**employee, "unit_id": bad},
                "unit_id",
            ),
            ("hr", "/org/employees/new", {**employee, "number": "E-9", "unit_id": bad}, "unit_id"),
            (
                "hr",
                f"/training/manage/sessions/{session_id}/enrol",
                {"learner_id": bad},
                "learner_id",
            ),
            (
                "employee",
                f"/training/sessions/{session_id}/enrol",
                {"employee_id": bad},
                "employee_id",
            ),
            (
                "hr",
                f"/training/people/{org.officer_a.id}/mentors",
                {"mentor_id": bad, "competency": "legal"},
                "mentor_id",
            ),
        ]
    return cases


def test_ids_and_numbers_beyond_the_column_are_refused_by_name_and_nothing_is_written(
    client, engine, session, settings, org, make_user
):
    world = build_world(session, settings, org, make_user)
    personas = Personas(client, world)
    failures = []
    for persona, path, form, name in _cases(world, org):
        signed = personas.use(persona)
        before = fingerprint(engine)
        for htmx in (False, True):
            response = client.post(
                path,
                data={**form, "csrf_token": signed.csrf},
                headers={"HX-Request": "true"} if htmx else {},
                follow_redirects=False,
            )
            said = f"{persona} POST {path} {form} (htmx={htmx}): {response.status_code}"
            if response.status_code != 422:
                failures.append(f"{said}, not 422")
            elif name not in named_fields(response.text):
                failures.append(f"{said} names {named_fields(response.text)}, not {name!r}")
        if fingerprint(engine) != before:
            failures.append(f"{persona} POST {path} {form} wrote")
    assert failures == [], "\n".join(failures)


def test_a_refused_id_is_explained_in_the_persons_language(client, org, make_user):
    hr = make_user(Role.hr_planner)
    csrf = login(client, hr.email)
    response = client.post(
        f"/training/people/{org.officer_a.id}/mentors?lang=es",
        data={"mentor_id": str(2**63), "competency": "legal", "csrf_token": csrf},
        headers={"Accept-Language": "es"},
    )
    assert response.status_code == 422
    assert "<li><code>mentor_id</code>:" in response.text
    assert "Elija una de las opciones ofrecidas." in response.text


YEAR_ROUTES = [
    "/training/manage/budgets",
    "/training/manage/plans/propose",
    "/training/people/{employee_id}/plan/approve",
    "/training/people/{employee_id}/plan/items",
    "/training/people/{employee_id}/plan/propose",
    "/training/people/{employee_id}/plan/submit",
]


def test_a_plan_year_out_of_range_is_refused_by_the_fields_name(
    client, engine, session, settings, org, make_user
):
    # training/http.py `year_of` refused it with an HTTPException naming no field.
    world = build_world(session, settings, org, make_user)
    personas = Personas(client, world)
    declared = {route.path: declaration(route) for route in api_routes(client.app)}
    failures = []
    for path in YEAR_ROUTES:
        signed = personas.use(persona_for(path, declared[path]))
        concrete = path.format(employee_id=org.officer_a.id)
        before = fingerprint(engine)
        for year in ("1999", "2101", str(2**63)):
            response = client.post(
                concrete,
                data={"year": year, "unit": "DA", "amount": "1000", "csrf_token": signed.csrf},
                follow_redirects=False,
            )
            named = named_fields(response.text)
            if response.status_code != 422 or named != {"year"}:
                failures.append(f"POST {concrete} year={year}: {response.status_code}, {named}")
        if fingerprint(engine) != before:
            failures.append(f"POST {concrete} wrote")
    personas.use("hr")
    for page in ("/training/manage/budgets", "/training/manage", "/training/needs"):
        response = client.get(f"{page}?year=1999")
        if response.status_code != 422 or named_fields(response.text) != {"year"}:
            failures.append(f"GET {page}?year=1999: {response.status_code}")
    assert failures == [], "\n".join(failures)
