"""The organisation's JSON API under /api/v1."""

from __future__ import annotations

from sqlmodel import select

from backend.audit import AuditEntry
from backend.org import service

NEW = {
    "number": "N1",
    "first_name": "Rosa",
    "last_name": "Díaz",
    "email": "rosa@example.org",
    "unit_code": "DA",
    "position_code": "P-OFF",
    "supervisor_number": "E001",
    "hire_date": "2024-01-15",
    "qualifications": ["CERT-PROC"],
}


def test_units_are_listed_and_filtered(client, signed_in, org):
    signed_in("auditor")
    everything = client.get("/api/v1/units").json()
    assert [u["code"] for u in everything] == ["DA", "DEL-JAL"]
    assert [u["code"] for u in client.get("/api/v1/units?central=false").json()] == ["DEL-JAL"]
    assert [u["code"] for u in client.get("/api/v1/units?kind=directorate").json()] == ["DA"]
    assert client.get("/api/v1/units?kind=castle").status_code == 422


def test_a_unit_comes_with_its_positions_and_headcount(client, signed_in, org):
    signed_in("hr_planner")
    unit = client.get(f"/api/v1/units/{org.central.id}").json()
    assert unit["employees"] == 3 and unit["planned_headcount"] == 4
    officer = next(p for p in unit["positions"] if p["code"] == "P-OFF")
    assert (officer["planned_headcount"], officer["occupants"]) == (3, 2)
    missing = client.get("/api/v1/units/99999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_positions_are_filtered_by_unit_and_role(client, signed_in, org):
    signed_in("hr_planner")
    found = client.get(f"/api/v1/positions?unit_id={org.central.id}&role_code=head_of_unit")
    assert [p["code"] for p in found.json()] == ["P-HEAD"]
    assert client.get(f"/api/v1/positions?unit_id={org.delegation.id}").json() == []


def test_employees_are_paginated_and_filtered(client, signed_in, org):
    signed_in("hr_planner")
    page = client.get("/api/v1/employees?per_page=2&page=2").json()
    assert (page["total"], page["pages"], page["page"]) == (4, 2, 2)
    assert [e["number"] for e in page["items"]] == ["E003", "E004"]
    reports = client.get(f"/api/v1/employees?supervisor_id={org.head.id}").json()
    assert [e["number"] for e in reports["items"]] == ["E002", "E003"]
    assert reports["items"][0]["supervisor_number"] == "E001"
    assert client.get("/api/v1/employees?status=retired").status_code == 422
    assert client.get("/api/v1/employees?per_page=100000").status_code == 422


def test_an_employee_is_found_by_id_or_number(client, signed_in, org):
    signed_in("auditor")
    by_id = client.get(f"/api/v1/employees/{org.officer_a.id}").json()
    by_number = client.get("/api/v1/employees/by-number/E002").json()
    assert by_id == by_number
    assert by_id["position_code"] == "P-OFF" and by_id["unit_code"] == "DA"
    assert client.get("/api/v1/employees/by-number/NOPE").status_code == 404
    assert client.get("/api/v1/employees/99999").status_code == 404


def test_qualifications_are_listed_with_holders(client, signed_in, org):
    signed_in("hr_planner")
    assert client.get("/api/v1/qualifications").json() == [
        {
            "id": 1,
            "code": "CERT-PROC",
            "name_es": "Certificación en contrataciones públicas",
            "name_en": "Public procurement certification",
            "is_procurement": True,
            "holders": 0,
        }
    ]


def test_an_employee_is_created_and_audited(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post("/api/v1/employees", json=NEW, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
    body = response.json()
    assert body["supervisor_number"] == "E001" and body["qualifications"] == ["CERT-PROC"]
    assert session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "employee.created", AuditEntry.entity_id == str(body["id"])
        )
    ).one()


def test_a_taken_number_is_a_conflict(client, signed_in, org):
    _user, csrf = signed_in("hr_planner")
    response = client.post(
        "/api/v1/employees", json=NEW | {"number": "E001"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["fields"] == [
        {"field": "number", "message": "Another employee already has this number."}
    ]


def test_invalid_employees_get_422_with_the_fields_to_fix(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    headers = {"X-CSRF-Token": csrf}
    unknown = client.post(
        "/api/v1/employees",
        json=NEW | {"unit_code": "NOPE", "supervisor_number": "X"},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert {f["field"] for f in unknown.json()["error"]["fields"]} == {
        "unit_code",
        "supervisor_number",
    }
    malformed = client.post(
        "/api/v1/employees",
        json={"number": "", "hire_date": "yesterday", "surprise": 1},
        headers=headers,
    )
    assert malformed.status_code == 422
    fields = {f["field"] for f in malformed.json()["error"]["fields"]}
    assert {"number", "hire_date", "surprise", "unit_code"} <= fields
    rules = client.post(
        "/api/v1/employees",
        json=NEW | {"email": "nope", "birth_date": "2030-01-01"},
        headers=headers,
    )
    assert rules.status_code == 422
    assert {f["field"] for f in rules.json()["error"]["fields"]} == {"email", "birth_date"}
    assert service.employee_by_number(session, "N1") is None


def test_patch_changes_only_what_is_sent(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    headers = {"X-CSRF-Token": csrf}
    response = client.patch(
        f"/api/v1/employees/{org.officer_b.id}",
        json={"status": "on_leave", "effective_on": "2026-02-01", "position_code": None},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["position_code"], body["supervisor_number"]) == (
        "on_leave",
        None,
        "E001",
    )
    history = service.status_history(session, org.officer_b.id)
    assert history[0].effective_on.isoformat() == "2026-02-01"
    loop = client.patch(
        f"/api/v1/employees/{org.head.id}", json={"supervisor_number": "E003"}, headers=headers
    )
    assert loop.status_code == 422
    assert loop.json()["error"]["fields"][0]["field"] == "supervisor_number"
    cleared = client.patch(
        f"/api/v1/employees/{org.head.id}", json={"last_name": None}, headers=headers
    )
    assert cleared.status_code == 422
    assert client.patch("/api/v1/employees/99999", json={}, headers=headers).status_code == 404


def test_writing_needs_edit_rights_and_a_session(client, signed_in, org):
    assert client.post("/api/v1/employees", json=NEW).status_code in (401, 403)
    _user, csrf = signed_in("auditor")
    response = client.post("/api/v1/employees", json=NEW, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    _user, csrf = signed_in("employee", employee=org.officer_a)
    assert client.get("/api/v1/employees").status_code == 403


def test_anonymous_api_calls_get_401(client, org):
    assert client.get("/api/v1/units").status_code == 401
    assert client.get("/api/v1/employees/by-number/E001").json()["error"]["code"] == (
        "not_authenticated"
    )


def test_the_openapi_page_documents_the_organisation_models(client, signed_in):
    signed_in("employee")
    spec = client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"EmployeeOut", "EmployeeCreate", "EmployeeUpdate", "EmployeePage", "ErrorOut"} <= set(
        schemas
    )
    post = spec["paths"]["/api/v1/employees"]["post"]
    assert {"201", "409", "422"} <= set(post["responses"])
