"""Pages and JSON: authorization, rendering, errors, exports."""

import html
import io
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from backend.org import service as org_service
from competency_framework import service
from competency_framework.models import RatingEntry
from tests.competency.helpers import agree_all, codes, principal_for, self_assess
from tests.conftest import login


@pytest.fixture
def accounts(session, org, make_user):
    return {
        "head": make_user("employee", employee=org.head),
        "a": make_user("employee", employee=org.officer_a),
        "outsider": make_user("employee", employee=org.outsider),
        "hr": make_user("hr_planner"),
        "auditor": make_user("auditor"),
        "admin": make_user("admin"),
    }


def sign_in(client, user) -> str:
    client.cookies.clear()
    return login(client, user.email)


def test_an_employee_completes_a_self_assessment_through_the_form(client, session, org, accounts):
    csrf = sign_in(client, accounts["a"])
    page = client.get("/competencies/me/assessment")
    assert page.status_code == 200 and "Procurement process" in page.text
    form = {f"level_{code}": "2" for code in codes(session)} | {"csrf_token": csrf}
    form["note_legal"] = "Ran two tenders"
    response = client.post("/competencies/me/assessment", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert len(service.pending_self_entries(session, employee_id=org.officer_a.id)) == 13
    mine = client.get("/competencies/me")
    assert "My competencies" in mine.text and "Awaiting validation" in mine.text


def test_a_bad_level_re_renders_the_form_with_the_error_and_writes_nothing(
    client, session, org, accounts
):
    csrf = sign_in(client, accounts["a"])
    response = client.post(
        "/competencies/me/assessment",
        data={"level_legal": "7", "level_financial": "2", "csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "Choose a level from 0 to 4." in response.text
    assert session.exec(select(RatingEntry)).all() == []


def test_the_supervisor_validates_with_one_change(client, session, org, accounts):
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 2)
    csrf = sign_in(client, accounts["head"])
    assert "Mario Ruiz" in client.get("/competencies/validation").text
    pending = service.pending_self_entries(session, employee_id=org.officer_a.id)
    legal = service.get_competency(session, "legal")
    form = {"csrf_token": csrf}
    for entry in pending.values():
        form[f"decision_{entry.id}"] = "agree"
        form[f"self_{entry.id}"] = str(entry.level)
    changed = pending[legal.id].id
    form[f"decision_{changed}"] = "change"
    form[f"level_{changed}"] = "1"
    missing_reason = client.post(f"/competencies/validation/{org.officer_a.id}", data=form)
    assert missing_reason.status_code == 422
    assert "Give a reason when you set a different level." in missing_reason.text
    form[f"reason_{changed}"] = "Needs supervision on legal review"
    done = client.post(
        f"/competencies/validation/{org.officer_a.id}", data=form, follow_redirects=False
    )
    assert done.status_code == 303
    current = service.current_levels(session, employee_id=org.officer_a.id)
    assert current[legal.id].level == 1 and len(current) == 13


def test_someone_who_is_not_the_supervisor_cannot_validate(client, session, org, accounts):
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 2)
    entry = next(iter(service.pending_self_entries(session, employee_id=org.officer_a.id).values()))
    # The outsider supervises nobody: no validate_ratings permission at all.
    csrf = sign_in(client, accounts["outsider"])
    assert client.get(f"/competencies/validation/{org.officer_a.id}").status_code == 403
    # A supervisor of someone else (officer b now reports to the outsider) is refused by the
    # object-level check, with the "not found" the person's pages give them.
    org.officer_b.supervisor_id = org.outsider.id
    session.add(org.officer_b)
    session.commit()
    csrf = sign_in(client, accounts["outsider"])
    response = client.post(
        f"/api/v1/competencies/validation/{org.officer_a.id}",
        json={"decisions": [{"entry_id": entry.id, "level": 2}]},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 404
    assert session.exec(select(RatingEntry).where(RatingEntry.validated)).all() == []


def test_validation_through_the_api_by_a_stranger_is_forbidden(client, session, org, accounts):
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 2)
    entry = next(iter(service.pending_self_entries(session, employee_id=org.officer_a.id).values()))
    hr_csrf = sign_in(client, accounts["hr"])
    ok = client.post(
        f"/api/v1/competencies/validation/{org.officer_a.id}",
        json={"decisions": [{"entry_id": entry.id, "level": 3, "reason": "Observed"}]},
        headers={"X-CSRF-Token": hr_csrf},
    )
    assert ok.status_code == 201 and ok.json()[0]["source"] == "hr"
    again = client.post(
        f"/api/v1/competencies/validation/{org.officer_a.id}",
        json={"decisions": [{"entry_id": entry.id, "level": 3}]},
        headers={"X-CSRF-Token": hr_csrf},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_people_pages_are_for_self_supervisor_and_hr_only(client, session, org, accounts):
    sign_in(client, accounts["outsider"])
    # Someone else's record is "not found" rather than "forbidden": existence is not revealed.
    assert client.get(f"/competencies/people/{org.officer_a.id}").status_code == 404
    assert client.get(f"/api/v1/competencies/people/{org.officer_a.id}").status_code == 404
    sign_in(client, accounts["head"])
    person = client.get(f"/competencies/people/{org.officer_a.id}").text
    assert "<h1>Mario Ruiz</h1>" in person
    assert ["Legal", "3", "Essential", "—", "3 critical", "—", "Timeline"] in table_rows(person)
    sign_in(client, accounts["hr"])
    page = client.get(f"/competencies/people/{org.officer_a.id}")
    assert page.status_code == 200 and 'class="gap-chart"' in page.text
    history = client.get(f"/competencies/people/{org.officer_a.id}/history/legal")
    assert history.status_code == 200 and "<h1>Legal</h1>" in history.text
    assert client.get(f"/competencies/people/{org.officer_a.id}/history/nope").status_code == 404
    assert client.get("/competencies/people/999999").status_code == 404


@pytest.mark.parametrize(
    ("who", "status"), [("a", 403), ("head", 200), ("hr", 200), ("auditor", 200), ("admin", 403)]
)
def test_heatmap_access_by_role(client, session, org, accounts, who, status):
    sign_in(client, accounts[who])
    assert client.get("/competencies/gaps").status_code == status
    assert client.get("/api/v1/competencies/gaps").status_code == status


def test_supervisors_see_suppressed_cells_and_hr_sees_numbers(client, session, org, accounts):
    sign_in(client, accounts["head"])
    aggregate = client.get("/api/v1/competencies/gaps?group=unit").json()
    row = aggregate["rows"][0]
    assert aggregate["suppression_threshold"] == 5
    assert all(c["suppressed"] and c["coverage"] is None for c in row["cells"])
    assert "&lt;5" in client.get("/competencies/gaps?group=unit").text
    unit_page = client.get(f"/competencies/gaps/units/{org.central.id}")
    assert unit_page.status_code == 200 and "Mario Ruiz" not in unit_page.text
    assert client.get(f"/api/v1/competencies/gaps/units/{org.central.id}/people").status_code == 403
    sign_in(client, accounts["hr"])
    detailed = client.get("/api/v1/competencies/gaps?group=unit").json()
    assert detailed["suppression_threshold"] is None
    assert not any(c["suppressed"] for c in detailed["rows"][0]["cells"])
    drill = client.get(f"/competencies/gaps/units/{org.central.id}")
    assert "Mario Ruiz" in drill.text
    people = client.get(f"/api/v1/competencies/gaps/units/{org.central.id}/people").json()
    assert {p["number"] for p in people} == {"E001", "E002", "E003"}


def test_heatmap_exports_csv_and_xlsx_with_formula_cells_escaped(client, session, org, accounts):
    org_service.update_unit(
        session, unit=org.central, changes={"name": '=HYPERLINK("x")'}, actor="test"
    )
    session.commit()
    sign_in(client, accounts["hr"])
    csv = client.get("/competencies/gaps?group=unit&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK" in csv.text
    xlsx = client.get("/competencies/gaps?group=unit&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    names = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert '\'=HYPERLINK("x")' in names
    assert client.get("/competencies/gaps?format=pdf").status_code == 422


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.text
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_each_table_on_a_unit_page_exports_itself(client, session, org, accounts):
    unit_url = f"/competencies/gaps/units/{org.central.id}"
    sign_in(client, accounts["hr"])
    page = html.unescape(client.get(unit_url).text)
    # The heatmap's links export the heatmap; the people table's, the people table.
    assert 'href="?format=xlsx"' in page and 'href="?table=people&format=xlsx"' in page
    heatmap = sheet_rows(client.get(f"{unit_url}?format=xlsx"))
    assert heatmap[0][:2] == ("Position", "People")
    assert {r[0] for r in heatmap[2:]} == {"Head of procurement unit", "Procurement officer"}
    assert sheet_rows(client.get(f"{unit_url}?table=heatmap&format=xlsx")) == heatmap
    people = sheet_rows(client.get(f"{unit_url}?table=people&format=xlsx"))
    assert people[0][0] == "Employee number"
    assert {r[0] for r in people[1:]} == {"E001", "E002", "E003"}
    csv = client.get(f"{unit_url}?table=people&format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and "E002" in csv.text
    # Links keep the page's filters but never a table the link is not for.
    filtered = html.unescape(client.get(f"{unit_url}?role=procurement_officer&table=people").text)
    assert 'href="?role=procurement_officer&format=csv"' in filtered
    assert 'href="?role=procurement_officer&table=people&format=csv"' in filtered
    assert client.get(f"{unit_url}?table=nonsense&format=csv").status_code == 404

    # A supervisor sees the (suppressed) heatmap and can export it, but there is no people table.
    sign_in(client, accounts["head"])
    assert "table=people" not in client.get(unit_url).text
    assert sheet_rows(client.get(f"{unit_url}?format=xlsx"))[0][0] == "Position"
    assert client.get(f"{unit_url}?table=people&format=xlsx").status_code == 404


def table_rows(page: str) -> list[list[str]]:
    """Return the text of every table row's cells on the page, tags stripped."""
    rows = []
    for row in re.findall(r"<tr\b.*?</tr>", page, flags=re.S):
        cells = re.findall(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def test_trend_and_attention_pages_render_and_export(client, session, org, accounts):
    # Officer A now meets every requirement; the head and officer B are unrated.
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 4)
    agree_all(session, org.officer_a, principal_for(session, accounts["head"]))
    sign_in(client, accounts["hr"])
    months = client.get("/api/v1/competencies/gaps/trend?months=12").json()
    assert len(client.get("/api/v1/competencies/gaps/trend?months=6").json()) == 6
    # 3 people x 13 competencies; this month one person's 13 are met, before it none were.
    earlier, this_month = [m["month"] for m in months[:-1]], months[-1]["month"]
    trend = table_rows(client.get("/competencies/gaps/trend").text)
    assert trend[0] == ["Month", "Requirements", "Met", "Coverage", "Mean gap", "Critical gaps"]
    assert trend[1:] == [[m, "39", "0", "0%", "2.79", "37"] for m in earlier] + [
        [this_month, "39", "13", "33%", "2.00", "25"]
    ]
    csv = client.get("/competencies/gaps/trend?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").splitlines() == [
        "Month,Requirements,Requirements met,Coverage (%),Mean gap,Critical gaps",
        *(f"{m},39,0,0.0,2.79,37" for m in earlier),
        f"{this_month},39,13,33.3,2.0,25",
    ]

    attention = client.get("/competencies/attention").text
    assert "Largest critical gaps" in attention and "Single points of failure" in attention
    rows = table_rows(attention)
    # Critical gaps: the head and officer B are two or more levels short in 12 competencies.
    assert ["Dirección de Administración", "Centro", "Legal", "2", "3", "33%"] in rows
    critical = client.get("/api/v1/competencies/attention").json()["critical"]
    assert len(critical) == 13 and {c["unit_id"] for c in critical} == {org.central.id}
    # Leadership is essential for the head only, who does not meet it: nobody covers it.
    spof = sheet_rows(client.get("/competencies/attention?table=spof&format=xlsx"))
    assert spof[0] == (
        "Unit",
        "Region",
        "Competency",
        "People who need it (essential)",
        "People who meet it",
    )
    assert spof[1] == ("Dirección de Administración", "Centro", "Leadership", 1, 0)
    assert ("Dirección de Administración", "Centro", "Legal", 3, 1) in spof
    assert len(spof) == 13


def test_profile_edit_through_the_form(client, session, org, accounts):
    csrf = sign_in(client, accounts["hr"])
    profile = next(p for p in service.list_profiles(session) if p.role_code == "head_of_unit")
    form = {"csrf_token": csrf, "reason": "Review 2026"}
    for c in service.list_competencies(session):
        form[f"level_{c.code}"] = "3"
        form[f"importance_{c.code}"] = "essential"
    form["level_legal"] = "9"
    bad = client.post(f"/competencies/profiles/{profile.id}", data=form)
    assert bad.status_code == 422 and "Choose a level from 0 to 4." in bad.text
    form["level_legal"] = "4"
    good = client.post(f"/competencies/profiles/{profile.id}", data=form, follow_redirects=False)
    assert good.status_code == 303
    session.refresh(profile)
    assert profile.current_version == 2
    assert "Review 2026" in client.get(f"/competencies/profiles/{profile.id}").text

    def selected_level(page: str, code: str) -> str:
        select = re.search(rf'<select[^>]*name="level_{code}".*?</select>', page, flags=re.S)
        return re.search(r'<option value="(\d)" selected>', select.group()).group(1)

    current = client.get(f"/competencies/profiles/{profile.id}").text
    first = client.get(f"/competencies/profiles/{profile.id}?version=1").text
    # Version 1 is the shipped profile (procurement process at 4), shown read-only.
    assert selected_level(current, "procurement_process") == "3"
    assert selected_level(first, "procurement_process") == "4"
    assert 'name="level_procurement_process" disabled' in first
    assert 'name="level_procurement_process" disabled' not in current
    assert client.get(f"/competencies/profiles/{profile.id}?version=9").status_code == 404


def test_profile_import_and_override_errors_on_the_page(client, session, org, accounts):
    csrf = sign_in(client, accounts["hr"])
    book = Workbook()
    book.active.append(["profile", "competency", "level", "importance"])
    book.active.append(["procurement_officer", "legal", "high", "essential"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        "/competencies/profiles/import",
        data={"csrf_token": csrf},
        files={"file": ("p.xlsx", buffer.getvalue(), "application/octet-stream")},
    )
    assert response.status_code == 422 and "Row 2, column C" in response.text
    override = client.post(
        "/competencies/profiles/overrides", data={"csrf_token": csrf, "position_code": "NOPE"}
    )
    assert override.status_code == 422 and "No position has the code NOPE." in override.text
    code = org.officer_position.code
    first = client.post(
        "/competencies/profiles/overrides",
        data={"csrf_token": csrf, "position_code": code},
        follow_redirects=False,
    )
    assert first.status_code == 303
    again = client.post(
        "/competencies/profiles/overrides", data={"csrf_token": csrf, "position_code": code}
    )
    # The profiles page again, saying why, with the code as typed (not an error page).
    assert again.status_code == 422 and "This position already has its own profile." in again.text
    assert f'value="{code}"' in again.text
    api = client.post(
        "/api/v1/competencies/profiles/overrides",
        json={"position_id": 999999},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 404
    export = sheet_rows(client.get("/competencies/profiles?format=xlsx"))
    assert export[0] == ("profile", "competency", "level", "importance", "title", "version")
    # 8 role profiles and the position's own x 13 competencies; the import changed nothing.
    assert len(export) == 1 + 9 * 13
    assert ("procurement_officer", "legal") in {row[:2] for row in export}
    head_legal = next(r for r in export if r[:2] == ("head_of_unit", "legal"))
    assert head_legal[2:] == (4, "essential", "Head of procurement unit", 1)


def test_profile_pages_need_the_planner_role(client, session, org, accounts):
    sign_in(client, accounts["head"])
    assert client.get("/competencies/profiles").status_code == 403
    assert client.get("/api/v1/competencies/profiles").status_code == 403
    assert client.get("/competencies/workforce").status_code == 403
    assert client.get("/competencies/campaigns").status_code == 403


def test_json_self_assessment_with_bad_input_gets_structured_errors(client, session, org, accounts):
    csrf = sign_in(client, accounts["a"])
    response = client.post(
        "/api/v1/competencies/me/assessment",
        json={"ratings": {"legal": {"level": 8}}},
        headers={"X-CSRF-Token": csrf},
    )
    body = response.json()["error"]
    assert response.status_code == 422 and body["fields"][0]["field"] == "level_legal"
    ok = client.post(
        "/api/v1/competencies/me/assessment",
        json={"ratings": {"legal": {"level": 2, "note": "x"}}},
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 201 and ok.json()[0]["validated"] is False
    me = client.get("/api/v1/competencies/me").json()
    legal = next(c for c in me["competencies"] if c["competency"] == "legal")
    assert legal["awaiting_validation"] == 2 and legal["current"] is None


def test_an_account_without_employee_record_sees_an_explanation(client, accounts):
    sign_in(client, accounts["hr"])
    page = client.get("/competencies/me")
    assert page.status_code == 200 and "not linked to an employee record" in page.text
    assert client.get("/api/v1/competencies/me").json() is None


def test_spanish_pages_are_translated(client, session, org, make_user):
    user = make_user("hr_planner", locale="es")
    client.cookies.clear()
    login(client, user.email)
    page = client.get("/competencies/gaps?lang=es")
    assert "Brechas de competencias" in page.text


def test_dashboard_panels_for_employee_supervisor_and_hr(client, session, org, accounts):
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 2)
    sign_in(client, accounts["a"])
    assert "My competencies" in client.get("/").text
    sign_in(client, accounts["head"])
    home = client.get("/").text
    assert "Ratings awaiting my validation" in home and "Mario Ruiz" in home
    sign_in(client, accounts["hr"])
    assert "What needs attention" in client.get("/").text


def test_campaign_counters_and_reminders(client, session, org, accounts):
    csrf = sign_in(client, accounts["hr"])
    bad = client.post(
        "/competencies/campaigns", data={"csrf_token": csrf, "name": "", "deadline": "2000-01-01"}
    )
    assert bad.status_code == 422
    created = client.post(
        "/competencies/campaigns",
        data={
            "csrf_token": csrf,
            "name": "Ronda 2026",
            "deadline": "2099-12-31",
            "units": [str(org.central.id)],
            "subunits": "1",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    campaign_url = created.headers["location"]
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 2)
    detail = client.get(f"/api/v1{campaign_url}").json()
    assert detail["total"]["people"] == 3
    assert detail["total"]["awaiting_validation"] == 1 and detail["total"]["not_started"] == 2
    reminded = client.post(
        f"{campaign_url}/remind", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert reminded.status_code == 303
    page = client.get(campaign_url).text
    assert "Lucia Mendez" in page and "Validate your team's self-assessments" in page
    csv = client.get(f"{campaign_url}?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").splitlines() == [
        "Unit,People,Not started,Self-assessment in progress,Self-assessment done,"
        "Awaiting validation,Validated",
        "All units,3,2,0,1,1,0",
        "Dirección de Administración,3,2,0,1,1,0",
    ]
    sign_in(client, accounts["a"])
    assert "Ronda 2026" in client.get("/").text


def test_workforce_planning_page_and_json(client, session, org, accounts):
    sign_in(client, accounts["hr"])
    page = client.get("/competencies/workforce")
    assert page.status_code == 200 and org.central.name in page.text
    data = client.get("/api/v1/competencies/workforce").json()
    central = next(u for u in data["units"] if u["unit_id"] == org.central.id)
    assert central["planned"] == 4 and central["actual"] == 3 and central["open_posts"] == 1
    assert data["retirement_rule"] == {"age": 65, "early_age": 60, "early_service_years": 25}
    unit_page = client.get(f"/competencies/workforce/units/{org.central.id}").text
    rows = table_rows(unit_page)
    assert ["P-HEAD", "Jefe de unidad", "1", "1", "0"] in rows
    assert ["P-OFF", "Oficial de compras", "3", "2", "1"] in rows
    figures = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", unit_page)).split())
    assert "Planned posts 4 People in post 3 Open posts 1" in figures
    sheet = {row[0]: row for row in sheet_rows(client.get("/competencies/workforce?format=xlsx"))}
    assert sheet["Unit"][:5] == ("Unit", "Region", "Planned posts", "People in post", "Open posts")
    assert sheet["Dirección de Administración"][1:5] == ("Centro", 4, 3, 1)
    assert sheet["Dirección de Administración"][-1] == "Short in numbers and competencies"
    assert sheet["Delegación Jalisco"][1:5] == ("Occidente", 0, 1, 0)
    assert len(sheet) == 3


def test_a_units_workforce_plan_by_position_is_also_json(client, session, org, accounts):
    sign_in(client, accounts["hr"])
    url = f"/api/v1/competencies/workforce/units/{org.central.id}"
    data = client.get(url).json()
    # The same figures as the unit's page and the organisation's JSON, plus the positions.
    whole = client.get("/api/v1/competencies/workforce").json()
    unit = next(u for u in whole["units"] if u["unit_id"] == org.central.id)
    assert {k: data[k] for k in unit} == unit
    assert data["horizon_years"] == whole["horizon_years"]
    positions = {p["code"]: p for p in data["positions"]}
    assert positions["P-OFF"] == {
        "position_id": org.officer_position.id,
        "code": "P-OFF",
        "title": "Oficial de compras",
        "role_code": "procurement_officer",
        "planned": 3,
        "actual": 2,
        "open_posts": 1,
    }
    assert positions["P-HEAD"]["planned"] == positions["P-HEAD"]["actual"] == 1
    page = client.get(f"/competencies/workforce/units/{org.central.id}").text
    assert "P-OFF" in page and "Oficial de compras" in page
    assert client.get(f"{url}?years=10").json()["horizon_years"] == 10

    missing = client.get("/api/v1/competencies/workforce/units/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # The delegation has a person but no posts: still a plan; a unit with neither is a 404.
    empty = org_service.create_unit(
        session, code="EMPTY", name="Unidad vacía", kind="directorate", region="Centro"
    )
    session.commit()
    units = "/api/v1/competencies/workforce/units"
    delegation = client.get(f"{units}/{org.delegation.id}").json()
    assert (delegation["code"], delegation["planned"], delegation["actual"]) == ("DEL-JAL", 0, 1)
    assert delegation["positions"] == [] and delegation["shortfall"] == "none"
    assert client.get(f"{units}/{empty.id}").status_code == 404

    # Same permission as the page: an employee or an auditor gets 403, nobody signed in 401.
    for who in ("a", "auditor"):
        sign_in(client, accounts[who])
        assert client.get(url).status_code == 403
        assert client.get(f"/competencies/workforce/units/{org.central.id}").status_code == 403
    client.cookies.clear()
    assert client.get(url).status_code == 401


def test_the_openapi_page_documents_the_units_workforce_json(client, make_user):
    login(client, make_user("employee").email)
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/competencies/workforce/units/{unit_id}"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/UnitWorkforceOut")
    fields = spec["components"]["schemas"]["UnitWorkforceOut"]["properties"]
    assert {"positions", "planned", "actual", "open_posts", "shortfall"} <= set(fields)


def test_the_validation_queue_exports_what_each_validator_sees(client, session, org, accounts):
    self_assess(session, org.officer_a, principal_for(session, accounts["a"]), 2)
    outsider = principal_for(session, accounts["outsider"])
    self_assess(session, org.outsider, outsider, {"legal": 1})
    oldest = service.pending_self_entries(session, employee_id=org.officer_a.id)
    oldest = min(e.recorded_at for e in oldest.values())

    sign_in(client, accounts["hr"])
    page = html.unescape(client.get("/competencies/validation").text)
    assert 'href="?format=xlsx"' in page
    rows = sheet_rows(client.get("/competencies/validation?format=xlsx"))
    assert rows[0] == ("Employee number", "Name", "Ratings awaiting validation", "Waiting since")
    by_number = {r[0]: r for r in rows[1:]}
    assert by_number.keys() == {"E002", "E004"}
    assert by_number["E002"][1:3] == ("Mario Ruiz", 13) and by_number["E004"][2] == 1
    # The time as the page shows it: Mexico City's wall clock, to the second.
    local = oldest.astimezone(ZoneInfo("America/Mexico_City")).replace(tzinfo=None)
    assert by_number["E002"][3] == local.replace(microsecond=0)
    csv = client.get("/competencies/validation?format=csv")
    assert csv.status_code == 200 and "Mario Ruiz" in csv.text

    # A supervisor's export holds their own team only.
    sign_in(client, accounts["head"])
    rows = sheet_rows(client.get("/competencies/validation?format=xlsx"))
    assert [r[0] for r in rows[1:]] == ["E002"]
    assert client.get("/competencies/validation?format=pdf").status_code == 422
    sign_in(client, accounts["a"])
    assert client.get("/competencies/validation?format=csv").status_code == 403


def test_the_campaign_list_exports(client, session, org, accounts):
    from competency_framework import service as campaign_service

    hr = accounts["hr"]
    for name in ("Ronda 2025", "Ronda 2026"):
        campaign_service.create_campaign(
            session,
            name=name,
            deadline=date(2099, 1, 31),
            unit_ids=[],
            role_codes=[],
            include_subunits=True,
            actor=hr,
        )
    session.commit()
    first = campaign_service.list_campaigns(session)[-1]
    campaign_service.close_campaign(session, campaign=first, actor=hr)
    session.commit()

    sign_in(client, hr)
    page = html.unescape(client.get("/competencies/campaigns").text)
    assert 'href="?format=csv"' in page
    rows = sheet_rows(client.get("/competencies/campaigns?format=xlsx"))
    assert rows[0] == ("Name", "Deadline", "Opened", "Closed", "Status")
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name.keys() == {"Ronda 2025", "Ronda 2026"}
    assert by_name[first.name][4] == "Closed" and by_name[first.name][3] is not None
    other = next(n for n in by_name if n != first.name)
    assert by_name[other][3:] == (None, "Open")
    assert by_name[other][1].date() == date(2099, 1, 31)
    sign_in(client, accounts["head"])
    assert client.get("/competencies/campaigns?format=csv").status_code == 403


def test_a_profiles_versions_and_requirements_export(client, session, org, accounts):
    profile = next(p for p in service.list_profiles(session) if p.role_code == "head_of_unit")
    hr = accounts["hr"]
    service.save_profile(
        session,
        profile=profile,
        requirements={"legal": (2, "desirable")},
        reason="Revisión 2026",
        actor=hr,
    )
    session.commit()
    url = f"/competencies/profiles/{profile.id}"

    sign_in(client, hr)
    page = html.unescape(client.get(url).text)
    assert 'href="?table=versions&format=xlsx"' in page
    assert 'href="?table=requirements&format=xlsx"' in page
    versions = sheet_rows(client.get(f"{url}?table=versions&format=xlsx"))
    assert versions[0] == ("Version", "When", "Who", "Source", "Reason")
    assert [(r[0], r[2], r[4]) for r in versions[1:]] == [
        (2, hr.full_name, "Revisión 2026"),
        (1, "system", None),
    ]
    # The requirements of the version shown: the current one, or an earlier one asked for.
    current = {r[0]: r for r in sheet_rows(client.get(f"{url}?table=requirements&format=xlsx"))}
    assert current["Competency"][1] == "Required level (version 2)"
    assert current["Legal"][1:] == (2, "Desirable")
    first = sheet_rows(client.get(f"{url}?version=1&table=requirements&format=xlsx"))
    assert first[0][1] == "Required level (version 1)"
    assert {r[0]: r for r in first}["Legal"][1:] == (4, "Essential")
    assert len(first) == 14
    assert client.get(f"{url}?table=nonsense&format=csv").status_code == 404
    assert client.get(f"{url}?version=9&table=versions&format=csv").status_code == 404
    sign_in(client, accounts["head"])
    assert client.get(f"{url}?table=versions&format=csv").status_code == 403


def test_a_refused_rating_import_answers_each_problem_by_row_and_column_in_the_api(
    client, session, org, accounts
):
    csrf = sign_in(client, accounts["hr"])
    book = Workbook()
    book.active.append(["employee_number", "competency", "level"])
    book.active.append([org.officer_a.number, "legal", "9"])
    book.active.append(["NOBODY", "legal", "2"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        "/api/v1/competencies/ratings/import",
        files={"file": ("r.xlsx", buffer.getvalue(), "application/octet-stream")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert {p["row"] for p in error["problems"]} == {2, 3}
    assert all(set(p) == {"row", "column", "message"} for p in error["problems"])
    assert session.exec(select(RatingEntry)).all() == []
