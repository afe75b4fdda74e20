"""The heatmap's bulk reads (columns packed by the database, decoded by numpy) against plain rows.

`fetch_current_ratings` and `fetch_employees` read their integer columns as one row of
per-column aggregates (`string_agg(int4send(…))` on PostgreSQL, `group_concat` on SQLite). These
tests fill a few hundred people with ratings through Core inserts and check that every read,
and the organisation's cells built from them, equal what plain rows and the readable
`gap_frame` computation give — on both databases.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from backend import clock
from backend.org.models import Employee, EmployeeStatus, Position
from competency_framework import gaps, service
from competency_framework.models import (
    Competency,
    CompetencyRevision,
    CurrentRating,
    RatingEntry,
)
from competency_framework.service import frames

PEOPLE = 240
KEY = ["unit_id", "role_code", "competency_id"]


@pytest.fixture
def rated(session, org):
    """PEOPLE more employees (a few left, a few without a position), most of them rated."""
    rng = np.random.default_rng(20)
    now = clock.now()
    positions = [org.officer_position.id, org.head_position.id]
    units = [org.central.id, org.delegation.id]
    rows = []
    for i in range(PEOPLE):
        rows.append(
            {
                "number": f"H{i:04d}",
                "first_name": "Nombre",
                "last_name": f"Apellido{i}",
                "email": "",
                "unit_id": units[i % 2],
                "position_id": None if i % 17 == 0 else positions[i % 3 % 2],
                "hire_date": date(2012, 1, 1),
                "status": EmployeeStatus.left if i % 23 == 0 else EmployeeStatus.active,
                "updated_at": now,
            }
        )
    connection = session.connection()
    connection.execute(insert(Employee.__table__), rows)
    ids = connection.execute(
        select(Employee.id).where(Employee.number.like("H%")).order_by(Employee.id)
    ).scalars()
    competencies = connection.execute(select(Competency.id)).scalars().all()
    pairs = [(e, c) for e in ids for c in competencies if rng.random() < 0.75]
    levels = rng.integers(0, 5, size=len(pairs))
    entries = [
        {
            "employee_id": e,
            "competency_id": c,
            "level": int(level),
            "source": "hr",
            "validated": True,
            "recorded_at": now,
        }
        for (e, c), level in zip(pairs, levels, strict=True)
    ]
    connection.execute(insert(RatingEntry.__table__), entries)
    entry_ids = dict(
        ((e, c), i)
        for i, e, c in connection.execute(
            select(RatingEntry.id, RatingEntry.employee_id, RatingEntry.competency_id)
        )
    )
    # Two revisions, so `above_revision` has something to leave out.
    connection.execute(
        insert(CurrentRating.__table__),
        [
            {
                "employee_id": e,
                "competency_id": c,
                "level": int(level),
                "entry_id": entry_ids[(e, c)],
                "source": "hr",
                "rated_at": now,
                "revision": 1 + index % 2,
            }
            for index, ((e, c), level) in enumerate(zip(pairs, levels, strict=True))
        ],
    )
    connection.execute(update(CompetencyRevision).values(ratings=CompetencyRevision.ratings + 2))
    session.commit()
    return pairs


def _plain_ratings(session, *where) -> list[tuple[int, int, int]]:
    statement = select(CurrentRating.employee_id, CurrentRating.competency_id, CurrentRating.level)
    return sorted(tuple(r) for r in session.connection().execute(statement.where(*where)))


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(frame.itertuples(index=False, name=None))


def test_packed_ratings_equal_plain_rows(session, org, rated):
    frame = service.fetch_current_ratings(session)
    assert len(frame) == len(rated) > 1000
    assert list(frame.dtypes) == ["int64"] * 3
    assert _rows(frame) == _plain_ratings(session)

    some = sorted({e for e, _c in rated})[::7]
    assert _rows(service.fetch_current_ratings(session, employee_ids=some)) == _plain_ratings(
        session, CurrentRating.employee_id.in_(some)
    )
    newer = service.fetch_current_ratings(session, above_revision=1)
    assert 0 < len(newer) < len(frame)
    assert _rows(newer) == _plain_ratings(session, CurrentRating.revision > 1)
    # Nothing matches: empty, still three int64 columns.
    empty = service.fetch_current_ratings(session, above_revision=10**6)
    assert len(empty) == 0 and list(empty.columns) == ["employee_id", "competency_id", "level"]
    assert list(empty.dtypes) == ["int64"] * 3


def test_packed_employees_equal_plain_rows(session, org, rated):
    org_frames = service.load_org_frames(session)
    employees = service.fetch_employees(session, org_frames)
    statement = select(Employee.id, Employee.unit_id, Employee.position_id).where(
        Employee.status != EmployeeStatus.left
    )
    plain = sorted((i, u, p or 0) for i, u, p in session.connection().execute(statement))
    assert _rows(employees[["employee_id", "unit_id", "position_id"]]) == plain
    # The role and profile come from the position (none: no profile, -1).
    statement = select(Position.id, Position.role_code)
    roles = {i: role for i, role in session.connection().execute(statement)}
    for row in employees.itertuples():
        assert row.role_code == roles.get(row.position_id, "")
        assert (row.profile_id >= 0) == (row.position_id != 0)


def test_organisation_cells_equal_the_row_by_row_read_and_the_plain_computation(
    session, org, rated, monkeypatch
):
    service.GAP_CACHE.clear()
    fast = service.organisation_cells(session)

    # The same report read row by row (what every database without the aggregates gets)…
    monkeypatch.setattr(frames, "_fetch_packed_ints", lambda *_args, **_kw: None)
    service.GAP_CACHE.clear()
    by_rows = service.organisation_cells(session)
    pd.testing.assert_frame_equal(
        fast.cells.sort_values(KEY).reset_index(drop=True),
        by_rows.cells.sort_values(KEY).reset_index(drop=True),
    )
    assert fast.people_without_profile == by_rows.people_without_profile > 0

    # …and computed the readable way: one row per person × competency, then grouped.
    inputs, _employees = service.gap_inputs(session, service.load_org_frames(session))
    plain = gaps.cell_sums_from_gap_frame(gaps.gap_frame(inputs), inputs.competency_ids)
    # gap_frame has rows only where a profile lists the competency; compare those cells.
    merged = fast.cells.merge(plain, on=KEY, suffixes=("", "_plain"))
    assert len(merged) == len(plain) > 0
    for column in gaps.SUM_COLUMNS:
        assert (merged[column] == merged[f"{column}_plain"]).all(), column
    assert fast.inputs.competency_ids == [c.id for c in service.list_competencies(session)]


def test_the_packed_reader_refuses_what_does_not_decode(session, org, monkeypatch):
    """A value that does not decode as an integer sends the read back to plain rows."""

    class Result:
        def __init__(self, row):
            self.row = row

        def one(self):
            return self.row

    class Connection:
        def __init__(self, row):
            self.row = row

        def execute(self, _statement):
            return Result(self.row)

    table = CurrentRating.__table__
    columns = {"employee_id": table.c.employee_id, "level": table.c.level}
    dialect = session.get_bind().dialect.name
    good, bad = (("1,2,3", "4,5,6"), ("1,2,3", "4,x,6"))
    if dialect == "postgresql":
        good = (np.array([1, 2], ">i4").tobytes(), np.array([3, 4], ">i4").tobytes())
        bad = (b"\x00\x00\x00\x01\x00", np.array([3], ">i4").tobytes())
    for row, expected in ((good, True), (bad, False)):
        monkeypatch.setattr(session, "connection", lambda row=row: Connection(row))
        frame = frames._fetch_packed_ints(session, columns, [])
        assert (frame is not None) == expected
