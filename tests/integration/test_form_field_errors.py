"""Refusals shown by the field they are about (issue #19, the form fuzz's last known gaps).

The fuzz (test_form_fuzz.py) listed these routes in FIELDLESS_REFUSALS: their errors were shown
above the form, on an error page, or not at all (the form was not on the page shown again).
Each now ties its error to the field (`aria-invalid`, `e-NAME`, or the summary's `#f-NAME`),
so a screen reader announces it next to the field; a refusal of where a record stands, which is
about no field, is shown above the steps. Nothing is written by any of them.
"""

from __future__ import annotations

import re

import pytest

from backend.auth.service import anonymous_csrf_token
from backend.deps import is_anonymous_path
from tests.integration.form_fuzz_world import build_world
from tests.integration.test_form_fuzz import Personas, fingerprint, named_fields
from tests.integration.test_form_fuzz import client as client  # noqa: F401 - 500s as answers


@pytest.fixture
def world(session, settings, org, make_user):
    return build_world(session, settings, org, make_user)


def signed_in(client, world, *names: str) -> Personas:
    """Return the personas `names`, signed in before anything is compared (signing in writes)."""
    personas = Personas(client, world)
    for name in names:
        personas.get(name)
    return personas


def _csrf(client, personas, persona, path) -> str:
    """Return the token `persona` posts to `path` with (signed in as them)."""
    signed = personas.use(persona)
    if persona == "public" and is_anonymous_path(path.split("?")[0]):
        # The reporting channel's pages take the token bound to nothing.
        return anonymous_csrf_token(client.app.state.settings.resolved_secret_key())
    return signed.csrf


def _post(client, personas, persona, path, data, *, files=None, htmx=False):
    csrf = _csrf(client, personas, persona, path)
    return client.post(
        path,
        data={**data, "csrf_token": csrf},
        files=files,
        headers={"HX-Request": "true"} if htmx else {},
        follow_redirects=False,
    )


# Imports and file checks: "choose a file" (and a refused file) is about the file field.
FILE_ROUTES = [
    ("hr", "/competencies/ratings/import", "file"),
    ("hr", "/competencies/profiles/import", "file"),
    ("hr", "/training/manage/import", "file"),
    ("hr", "/org/employees/import", "file"),
    ("public", "/report/verify", "certificate"),
]


@pytest.mark.parametrize("htmx", [False, True])
def test_an_import_without_a_file_is_refused_by_the_file_field(client, engine, world, htmx):
    personas = signed_in(client, world, "hr", "public")
    before = fingerprint(engine)
    failures = []
    for persona, path, field in FILE_ROUTES:
        csrf = _csrf(client, personas, persona, path)
        response = client.post(
            path,
            data={"csrf_token": csrf, "action": "check"},
            files={"unused": ("x.txt", b"")},
            headers={"HX-Request": "true"} if htmx else {},
            follow_redirects=False,
        )
        named = named_fields(response.text)
        if response.status_code != 422 or field not in named:
            failures.append(f"{path}: {response.status_code}, names {named}")
    assert failures == []
    assert fingerprint(engine) == before


def test_a_refused_roster_file_is_tied_to_the_file_field(client, world):
    personas = signed_in(client, world, "hr")
    response = _post(
        client,
        personas,
        "hr",
        "/org/employees/import",
        {"action": "check"},
        files={"file": ("roster.csv", b"number;first_name\nE-1;\n", "text/csv")},
    )
    assert response.status_code == 422
    assert "file" in named_fields(response.text)
    assert 'aria-invalid="true" aria-describedby="h-file e-file"' in response.text


def test_a_certificate_that_is_not_valid_is_refused_by_its_field(client, world):
    personas = signed_in(client, world, "investigator", "public")
    response = _post(
        client,
        personas,
        "public",
        "/report/verify",
        {},
        files={"certificate": ("c.json", b'{"not": "signed"}', "application/json")},
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"certificate"}
    # The investigator's copy of an entered report's certificate, handed back as a file.
    response = _post(
        client, personas, "investigator", "/cases/intake/certificate", {"certificate": "{}"}
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"certificate"}


# The reporting channel: reporter messages, tags, identity decisions, retaliation steps.


def test_an_empty_reporter_message_is_refused_by_its_text_field(client, engine, world):
    # A reporter's session is opened anew by each sign-in: once, before the comparison.
    csrf = Personas(client, world).use("reporter").csrf
    before = fingerprint(engine)
    response = client.post("/report/case/messages?lang=en", data={"text": " ", "csrf_token": csrf})
    assert response.status_code == 422
    assert named_fields(response.text) == {"text"}
    assert re.search(r'id="f-text" name="text"[^>]*aria-invalid="true"', response.text)
    complaint = world.complaint
    response = client.post(
        f"/report/case/retaliation/{complaint}/messages?lang=en",
        data={"text": "", "csrf_token": csrf},
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"text"}
    assert re.search(rf'id="m-{complaint}" name="text"[^>]*aria-invalid="true"', response.text)
    assert fingerprint(engine) == before


def test_a_tag_without_its_english_name_is_refused_by_that_field_and_keeps_the_rest(
    client, engine, world
):
    personas = signed_in(client, world, "admin")
    before = fingerprint(engine)
    response = _post(
        client,
        personas,
        "admin",
        "/cases/tags",
        {"code": "fraude_nueva", "name_es": "Fraude nuevo", "name_en": ""},
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"name_en"}
    assert 'value="Fraude nuevo"' in response.text
    assert fingerprint(engine) == before


def test_an_identity_decision_without_a_reason_is_refused_by_the_reason(client, engine, world):
    personas = signed_in(client, world, "officer")
    before = fingerprint(engine)
    response = _post(
        client,
        personas,
        "officer",
        f"/cases/identity-requests/{world.samples['request_id']}",
        {"decision": "approve", "note": "", "defer_notice": "It would warn the suspect."},
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"note"}
    assert "It would warn the suspect." in response.text  # what was typed is kept
    assert fingerprint(engine) == before


def test_retaliation_steps_name_their_fields_and_say_why_a_step_does_not_follow(
    client, engine, world
):
    personas = signed_in(client, world, "officer")
    path = f"/retaliation/{world.complaint}"
    before = fingerprint(engine)
    # A measure before the assessment: not about a field, and its form is not on the page.
    response = _post(client, personas, "officer", f"{path}/measures", {"kind": "", "details": ""})
    assert response.status_code == 409
    assert 'id="e-workflow"' in response.text
    assert "This step does not follow from where the complaint stands." in response.text
    # Closing as withdrawn without a reason: by the close form's reason, not the assessment's.
    response = _post(
        client, personas, "officer", f"{path}/close", {"withdrawn": "yes", "reason": ""}
    )
    assert response.status_code == 422
    assert re.search(r'id="f-close" name="reason"[^>]*aria-invalid="true"', response.text)
    assert not re.search(r'id="f-reason" name="reason"[^>]*aria-invalid', response.text)
    assert fingerprint(engine) == before
    # Once assessed, a measure without its details is refused by the details.
    assessed = _post(
        client,
        personas,
        "officer",
        f"{path}/assess",
        {
            "protected_report": "yes",
            "detriment": "yes",
            "timing": "yes",
            "reason": "Moved to nights a week after the report.",
        },
    )
    assert assessed.status_code == 303, assessed.text[:300]
    before = fingerprint(engine)
    response = _post(
        client,
        personas,
        "officer",
        f"{path}/measures",
        {"kind": "suspend_transfer", "details": "", "starts_on": "2026-01-01", "ends_on": "x"},
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"ends_on"}  # an end that is not a day
    response = _post(
        client,
        personas,
        "officer",
        f"{path}/measures",
        {"kind": "suspend_transfer", "details": "", "starts_on": "2026-01-01"},
    )
    assert response.status_code == 422
    assert named_fields(response.text) == {"details"}
    assert 'value="suspend_transfer" selected' in response.text
    assert fingerprint(engine) == before


# Competitions: the new vacancy's position, and actions refused back to the competition page.


def test_a_new_vacancy_without_a_position_is_refused_by_the_position(client, engine, world):
    personas = signed_in(client, world, "hr")
    before = fingerprint(engine)
    for bad in ("", "\u00b2", str(2**63)):  # "²" passed str.isdigit() and was a server error
        response = _post(client, personas, "hr", "/competitions", {"position_id": bad})
        assert response.status_code == 422, (bad, response.text[:200])
        assert named_fields(response.text) == {"position_id"}
    assert fingerprint(engine) == before


def test_the_competitions_page_takes_no_error_or_status_from_its_address(client, world):
    personas = signed_in(client, world, "hr")
    personas.use("hr")
    response = client.get("/competitions?error=Call+0800-FRAUD&status=503")
    assert response.status_code == 200
    # (The address itself is echoed by the language switch, escaped, as on every page.)
    assert "Call 0800-FRAUD</p>" not in response.text


@pytest.mark.parametrize(
    ("action", "data", "field", "element"),
    [
        ("panel", {"user_id": "\u00b2"}, "user_id", "f-user_id"),
        ("panel", {"user_id": str(2**63)}, "user_id", "f-user_id"),
        ("interview-questions", {"competency": "legal", "text": ""}, "text", "f-iq-text"),
        ("cancel", {"reason": "no"}, "reason", "f-cancel"),
    ],
)
def test_a_refused_competition_action_names_its_field_on_the_page_it_returns_to(
    client, engine, world, action, data, field, element
):
    personas = signed_in(client, world, "hr")
    vacancy = world.samples["vacancy_id"]
    before = fingerprint(engine)
    response = _post(client, personas, "hr", f"/competitions/{vacancy}/{action}", data)
    # Post/redirect/get: back to the competition's page, which says why by the field.
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == f"/competitions/{vacancy}"
    page = client.get(response.headers["location"]).text
    assert field in named_fields(page)
    assert re.search(rf'id="{element}"[^>]*aria-invalid="true"', page)
    assert fingerprint(engine) == before


def test_a_review_decision_without_a_review_waiting_says_so(client, engine, world):
    personas = signed_in(client, world, "hr")
    vacancy, application = world.samples["vacancy_id"], world.samples["application_id"]
    before = fingerprint(engine)
    response = _post(
        client,
        personas,
        "hr",
        f"/competitions/{vacancy}/applications/{application}/review",
        {"decision": "maybe", "reason": "Because."},
    )
    # Where the application stands comes first; the form is not on the page, the error is.
    assert response.status_code == 409
    assert "There is no review waiting for a decision." in response.text
    assert 'role="alert"' in response.text
    assert fingerprint(engine) == before
