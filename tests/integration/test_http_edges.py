"""HTTP at the edges: HEAD, 405 with `Allow`, no interactive API docs, and errors from reading a
body (a field too large, a malformed multipart body, unreadable JSON, values of the wrong type)
answered in the person's language, on a page or as the API's JSON problem, writing nothing."""

from __future__ import annotations

import httpx
import pytest

from backend.auth.service import anonymous_csrf_token
from backend.config import get_settings
from competency_framework.training import service as training_service
from tests.browser.conftest import LiveServer
from tests.conftest import login
from tests.integration.test_authorization_matrix import PATH_SAMPLES, api_routes, fill

YEAR = training_service.plan_year(get_settings())
# More than Starlette's 1 MB a form field may hold, less than the 2 MB a body without files may.
LONG_FIELD = "x" * (1024 * 1024 + 10)


@pytest.fixture
def hr(client, make_user):
    """Sign in a user who is HR and an administrator; return the CSRF token."""
    user = make_user("hr_planner", "admin")
    return login(client, user.email)


def allowed(response) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


def page_text(response) -> str:
    """Return the response's text with white space collapsed (messages wrap in templates)."""
    return " ".join(response.text.split())


# --- HEAD -------------------------------------------------------------------------------------


def test_head_is_answered_like_get_on_every_get_route_without_a_body(app, client, org, hr):
    samples = {**PATH_SAMPLES, "user_id": "1"}
    checked = 0
    for route in api_routes(app):
        if "GET" not in route.methods:
            continue
        path = fill(route.path, samples)
        got = client.get(path, follow_redirects=False)
        head = client.head(path, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        assert head.content == b"", path
        checked += 1
    assert checked > 50


def test_head_of_a_page_and_a_static_file_sends_the_same_headers_as_get(client):
    for path in ("/login", "/healthz", "/static/css/merito.css"):
        got = client.get(path)
        head = client.head(path)
        assert got.status_code == head.status_code == 200, path
        assert head.content == b""
        for name in ("content-type", "content-length", "content-security-policy", "cache-control"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_head_is_served_without_a_body_by_a_real_server_and_the_connection_stays_usable(app):
    server = LiveServer(app)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            got = http.get("/login")
            head = http.head("/login")
            after = http.get("/healthz")  # the same kept-alive connection still works
    finally:
        server.stop()
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content)
    assert after.status_code == 200


# --- 405 carries Allow ------------------------------------------------------------------------


def test_a_405_page_lists_every_method_of_the_address_in_allow(client):
    response = client.put("/login?lang=es")
    assert response.status_code == 405
    # GET and POST /login are two routes: both are named, and HEAD with GET.
    assert allowed(response) == {"GET", "HEAD", "POST"}
    assert "Esta acción no está disponible aquí." in response.text


def test_a_405_from_the_api_is_a_json_problem_with_allow(client, hr):
    response = client.delete("/api/v1/employees?lang=es", headers={"X-CSRF-Token": hr})
    assert response.status_code == 405
    assert allowed(response) == {"GET", "HEAD", "POST"}
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.json()["error"]["message"] == "Esta acción no está disponible aquí."


def test_a_405_from_the_static_files_has_allow(client):
    token = anonymous_csrf_token(client.app.state.settings.resolved_secret_key())
    response = client.post("/static/css/merito.css", headers={"X-CSRF-Token": token})
    assert response.status_code == 405
    assert allowed(response) == {"GET", "HEAD"}


def test_every_route_refusing_a_method_names_at_least_its_own_methods(app, client, hr):
    by_path: dict[str, set[str]] = {}
    for route in api_routes(app):
        by_path.setdefault(route.path, set()).update(route.methods)
    checked = 0
    for template, methods in by_path.items():
        refused = next(m for m in ("PATCH", "PUT", "DELETE") if m not in methods)
        response = client.request(
            refused, fill(template, PATH_SAMPLES), headers={"X-CSRF-Token": hr}
        )
        if response.status_code != 405:
            continue  # the filled path belongs to another route (e.g. /units/new)
        expected = methods | ({"HEAD"} if "GET" in methods else set())
        assert expected <= allowed(response), template
        checked += 1
    assert checked > 50


# --- API documentation ------------------------------------------------------------------------


def test_there_are_no_interactive_api_docs_and_no_anonymous_api_map(client):
    for path in ("/api/docs", "/api/redoc", "/docs", "/redoc", "/api/openapi.json"):
        assert client.get(path).status_code == 404, path
    anonymous = client.get("/api/v1/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"


def test_the_api_schema_is_for_signed_in_users_and_describes_only_the_api(client, make_user):
    user = make_user("employee")
    login(client, user.email)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/employees" in paths
    assert all(path.startswith("/api/v1/") for path in paths)
    assert "/api/v1/openapi.json" not in paths


def test_no_page_loads_anything_from_another_host(client):
    for path in ("/login", "/api/docs", "/report"):
        body = client.get(path).text
        assert "https://" not in body and "http://" not in body.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""
        ), path


# --- errors from reading the body -------------------------------------------------------------


def budgets(session) -> dict[int, int]:
    session.expire_all()
    return training_service.budgets(session, year=YEAR)


@pytest.mark.parametrize("token_in", ["form", "header"])
def test_an_oversized_form_field_is_refused_in_spanish_and_nothing_is_saved(
    client, session, org, hr, token_in
):
    data = {"unit": "DA", "amount": "5000", "year": str(YEAR), "note": LONG_FIELD}
    headers = {}
    if token_in == "form":
        data["csrf_token"] = hr
    else:
        headers["X-CSRF-Token"] = hr
    response = client.post("/training/manage/budgets?lang=es", data=data, headers=headers)
    assert response.status_code == 413
    text = page_text(response)
    assert "Un campo del formulario es demasiado largo (a lo sumo 1 MB)." in text
    assert "Field exceeded" not in response.text
    assert budgets(session) == {}


def test_an_oversized_field_of_a_multipart_form_is_refused_in_spanish(client, session, org, hr):
    response = client.post(
        "/training/manage/budgets?lang=es",
        data={"csrf_token": hr, "unit": "DA", "amount": "5000", "note": LONG_FIELD},
        files={"attachment": ("a.txt", b"a", "text/plain")},
    )
    assert response.status_code == 413
    assert "Un campo del formulario es demasiado largo (a lo sumo 1 MB)." in page_text(response)
    assert budgets(session) == {}


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data; boundary=zzz", b"garbage"),
        ("multipart/form-data", b"--zzz\r\n"),
        (
            "multipart/form-data; boundary=zzz",
            b"--zzz\r\nContent-Disposition: form-data\r\n\r\nDA\r\n--zzz--\r\n",
        ),
    ],
    ids=["garbage", "no-boundary", "part-without-name"],
)
def test_a_malformed_multipart_body_is_refused_in_spanish(
    client, session, org, hr, content_type, body
):
    response = client.post(
        "/training/manage/budgets?lang=es",
        content=body,
        headers={"Content-Type": content_type, "X-CSRF-Token": hr},
    )
    assert response.status_code == 400
    assert "No se pudo leer el formulario." in page_text(response)
    assert "multipart" not in response.text.lower().replace("multipart/form-data", "")
    assert budgets(session) == {}


def test_a_malformed_multipart_body_to_the_api_is_a_translated_json_problem(client, hr):
    response = client.post(
        "/api/v1/training/activities?lang=es",
        content=b"garbage",
        headers={"Content-Type": "multipart/form-data; boundary=zzz", "X-CSRF-Token": hr},
    )
    # A JSON route reads the body as bytes: pydantic refuses them, in Spanish now.
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "Faltan datos o algunos no son válidos."
    assert [f["message"] for f in error["fields"]] == ["Envíe un objeto JSON."]
    assert "Input should" not in response.text


def test_an_unreadable_json_body_is_a_translated_json_problem(client, hr):
    response = client.post(
        "/api/v1/training/activities?lang=es",
        content=b'{"code": "\xff"}',
        headers={"Content-Type": "application/json", "X-CSRF-Token": hr},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400,
        "code": "bad_request",
        "message": "No se pudo leer lo que se envió.",
    }


def test_broken_json_names_the_problem_in_the_persons_language(client, hr):
    response = client.post(
        "/api/v1/training/activities?lang=es",
        content=b'{"code": ',
        headers={"Content-Type": "application/json", "X-CSRF-Token": hr},
    )
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert [f["message"] for f in fields] == ["El documento JSON no es válido."]


def test_a_value_of_the_wrong_type_is_explained_in_spanish(client, session, org, hr):
    response = client.post(
        "/training/manage/budgets?lang=es",
        data={"csrf_token": hr, "unit": "DA", "amount": "5000", "year": "dos mil"},
    )
    assert response.status_code == 422
    assert "Escriba un número entero." in page_text(response)
    assert "Input should" not in response.text
    assert budgets(session) == {}


def test_text_sent_where_a_file_belongs_is_explained_in_spanish(client, session, hr):
    # The import's upload parameter refused the text with pydantic's "Expected UploadFile,
    # received: <class 'str'>", in English on a Spanish page.
    response = client.post(
        "/training/manage/import?lang=es",
        data={"csrf_token": hr, "file": "not a file"},
        files={"other": ("a.txt", b"a", "text/plain")},
    )
    assert response.status_code == 422
    assert "Elija un archivo." in page_text(response)
    assert "UploadFile" not in response.text and "&lt;class" not in response.text
