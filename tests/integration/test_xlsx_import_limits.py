"""A hostile workbook uploaded to an importer is refused quickly, says why, and writes nothing.

The limits themselves are tested without a database in tests/unit/test_xlsx_limits.py; here the
files go through the roster import page and the role-profile import, on both databases.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend import spreadsheets
from backend.audit import AuditEntry
from backend.org.models import Employee
from backend.tables import ImportRejected
from competency_framework import service as competency_service
from competency_framework.models import RoleProfileVersion
from tests.competency.helpers import principal_for
from tests.unit.test_xlsx_limits import (
    ROSTER_HEADER,
    ROSTER_ROW,
    SECONDS,
    _row,
    blank_rows,
    workbook,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def three_million_blank_rows(header=ROSTER_HEADER, row=ROSTER_ROW) -> bytes:
    return workbook([_row(1, header), _row(2, row), *blank_rows(3_000_000)])


def written(session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(Employee)).one(),
        session.exec(select(func.count()).select_from(AuditEntry)).one(),
        session.exec(select(func.count()).select_from(RoleProfileVersion)).one(),
    )


@pytest.mark.parametrize("action", ["check", "import"])
def test_the_roster_page_refuses_three_million_blank_rows_quickly_in_spanish(
    client, signed_in, session, org, action
):
    _user, csrf = signed_in("hr_planner", locale="es")
    before = written(session)
    started = time.monotonic()
    response = client.post(
        "/org/employees/import?lang=es",
        data={"csrf_token": csrf, "action": action},
        files={"file": ("personas.xlsx", three_million_blank_rows(), XLSX)},
    )
    assert time.monotonic() - started < SECONDS
    assert response.status_code == 422
    assert "La hoja tiene más de 250,000 filas" in response.text
    assert written(session) == before


def test_the_roster_page_refuses_a_zip_bomb(client, signed_in, session, org):
    _user, csrf = signed_in("hr_planner")
    chunk = " " * (1024 * 1024)
    bomb = workbook(
        [_row(1, ROSTER_HEADER)] + [chunk] * (spreadsheets.MAX_XLSX_UNCOMPRESSED // len(chunk) + 1)
    )
    before = written(session)
    response = client.post(
        "/org/employees/import",
        data={"csrf_token": csrf, "action": "import"},
        files={"file": ("people.xlsx", bomb, XLSX)},
    )
    assert response.status_code == 422
    assert "too large once uncompressed (more than 256 MB)" in response.text
    assert written(session) == before


def test_a_profile_import_of_three_million_blank_rows_is_refused_and_writes_nothing(
    session, org, make_user
):
    hr = principal_for(session, make_user("hr_planner"))
    content = three_million_blank_rows(
        ("profile", "competency", "level", "importance"),
        ("procurement_officer", "legal", "4", "essential"),
    )
    before = written(session)
    started = time.monotonic()
    with pytest.raises(ImportRejected) as refused:
        competency_service.import_profiles(session, content=content, actor=hr.user)
    assert time.monotonic() - started < SECONDS
    assert [p.row for p in refused.value.problems] == [0]
    assert "250,000" in refused.value.problems[0].message
    session.rollback()
    assert written(session) == before
