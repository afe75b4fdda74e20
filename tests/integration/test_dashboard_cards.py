"""The start page's personal cards: "My record" and "My team", read as plain rows."""

import html
import re

from backend.org.models import EmployeeStatus
from tests.conftest import login


def card(page: str, title: str) -> str:
    """The text of the start page's card headed `title`, tags stripped, spaces collapsed."""
    section = re.search(rf"<h2[^>]*>{re.escape(title)}</h2>(.*?)</section>", page, re.S)
    assert section, f"no card {title!r}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section.group(1))).split())


def start_page(client, user) -> str:
    client.cookies.clear()
    login(client, user.email)
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    return response.text


def test_my_record_names_the_unit_position_and_supervisor(client, org, make_user):
    officer = make_user("employee", employee=org.officer_a)
    record = card(start_page(client, officer), "My record")
    assert record == (
        "Employee number E002 Unit Dirección de Administración Position Oficial de compras "
        "Supervisor Lucia Mendez Hire date Mar 1, 2015"
    )


def test_my_record_without_a_position_or_supervisor_shows_dashes(client, org, make_user):
    outsider = make_user("employee", employee=org.outsider)
    record = card(start_page(client, outsider), "My record")
    assert "Unit Delegación Jalisco Position — Supervisor — Hire date" in record


def test_my_team_lists_current_reports_by_last_name(client, session, org, make_user):
    head = make_user("employee", employee=org.head)
    team = card(start_page(client, head), "My team")
    assert team == "People who report to you Name Position Mario Ruiz Oficial de compras " + (
        "Ana Torres Oficial de compras"
    )

    org.officer_b.status = EmployeeStatus.left  # someone who left is nobody's report
    session.add(org.officer_b)
    session.commit()
    assert "Ana Torres" not in card(start_page(client, head), "My team")
    assert "Mario Ruiz" not in card(start_page(client, head), "My record")
