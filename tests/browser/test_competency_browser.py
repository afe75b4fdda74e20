"""Competency journeys in a real browser: self-assessment, validation, heatmap drill-down."""

from __future__ import annotations

import pytest

from competency_framework import service
from tests.browser.conftest import follow_nav, sign_in
from tests.competency.helpers import principal_for, self_assess

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_an_employee_completes_a_self_assessment(live_server, page, session, make_user, org):
    user = make_user("employee", employee=org.officer_a)
    sign_in(page, live_server.url, user.email)
    follow_nav(page, "/competencies/me")
    page.click("a[href='/competencies/me/assessment']")
    for competency in service.list_competencies(session):
        page.check(f"#f-level_{competency.code}_2")
    page.fill("#f-note_legal", "Prepared the legal file of two tenders")
    page.fill("#f-evidence_legal", "https://intranet.example.org/files/42")
    page.click("form[action='/competencies/me/assessment'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/competencies/me")
    assert "sent for validation" in page.locator(".flashes").inner_text()
    pending = service.pending_self_entries(session, employee_id=org.officer_a.id)
    assert len(pending) == 13 and {e.level for e in pending.values()} == {2}


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_supervisor_validates_with_one_change(live_server, page, session, make_user, org):
    employee = make_user("employee", employee=org.officer_a)
    self_assess(session, org.officer_a, principal_for(session, employee), 3)
    supervisor = make_user("employee", employee=org.head)
    sign_in(page, live_server.url, supervisor.email)
    assert "Ratings awaiting my validation" in page.content()
    follow_nav(page, "/competencies/validation")
    page.click(f"a[href='/competencies/validation/{org.officer_a.id}']")
    legal = service.get_competency(session, "legal")
    entry = service.pending_self_entries(session, employee_id=org.officer_a.id)[legal.id]
    page.check(f"#f-change_{entry.id}")
    page.select_option(f"#f-level_{entry.id}", "2")
    page.fill(f"#f-reason_{entry.id}", "Has not yet handled a procurement appeal alone")
    page.click(f"form[action='/competencies/validation/{org.officer_a.id}'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/competencies/validation")
    assert "13 rating(s) validated" in page.locator(".flashes").inner_text()
    current = service.current_levels(session, employee_id=org.officer_a.id)
    assert current[legal.id].level == 2
    assert sorted({r.level for cid, r in current.items() if cid != legal.id}) == [3]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_hr_opens_the_heatmap_drills_down_to_a_person_and_downloads_xlsx(
    live_server, page, session, make_user, org, tmp_path
):
    from openpyxl import load_workbook

    def download_rows(link) -> list[tuple]:
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        return list(load_workbook(path).active.iter_rows(values_only=True))

    # Ratings, so the sheets carry levels and gaps, not only blanks.
    planner = make_user("hr_planner")
    hr = principal_for(session, planner)
    legal = service.get_competency(session, "legal")
    service.record_rating(
        session, employee=org.officer_a, competency=legal, level=1, source="hr", actor=hr
    )
    session.commit()

    sign_in(page, live_server.url, planner.email)
    follow_nav(page, "/competencies/gaps")
    heatmap = page.locator("#heatmap")
    assert "Centro" in heatmap.inner_text()
    # Every cell prints a number (or a dash where nobody holds the requirement).
    cells = heatmap.locator("tbody td.heat")
    assert cells.count() > 0 and all(t.strip() for t in cells.all_inner_texts())
    page.click("#heatmap a:text('Centro')")
    page.wait_for_url("**/competencies/gaps?group=unit&region=Centro")
    page.click(f"#heatmap a:text('{org.central.name}')")
    page.wait_for_url(f"**/competencies/gaps/units/{org.central.id}")

    # The unit's heatmap (by position) downloads from its own link…
    rows = download_rows(page.locator("#results > p.exports a:text('Excel (XLSX)')"))
    assert rows[0][:2] == ("Position", "People")
    assert {r[0] for r in rows[2:]} == {"Head of procurement unit", "Procurement officer"}
    # …and the people table from the people table's.
    people = page.locator("section[aria-labelledby='people-title']")
    rows = download_rows(people.locator("a:text('Excel (XLSX)')"))
    assert rows[0][0] == "Employee number"
    assert {r[0] for r in rows[1:]} == {"E001", "E002", "E003"}

    # Down to the person: their gap chart, and their gap profile as XLSX.
    page.click(f"#people a:text('{org.officer_a.full_name}')")
    page.wait_for_url(f"**/competencies/people/{org.officer_a.id}")
    assert page.locator(".gap-chart").count() == 1
    assert org.officer_a.full_name in page.locator("h1").inner_text()
    rows = download_rows(page.locator("a:text('Excel (XLSX)')").first)
    assert rows[0][:4] == ("Competency", "Required level", "Importance", "Current level")
    by_name = {r[0]: r for r in rows[1:]}
    assert len(by_name) == 13
    assert by_name["Legal"][1:4] == (3, "Essential", 1)
