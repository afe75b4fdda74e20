"""Gap analysis: the organisation's frames (people, requirements, ratings) read in bulk."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import LargeBinary, Text, and_, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend import revisions
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import gaps
from competency_framework.models import (
    Competency,
    CurrentRating,
    Importance,
    RoleProfile,
    RoleProfileVersion,
    RoleRequirement,
)

# --- gap analysis: loading frames -------------------------------------------------------------


def _fetch_ints(session: Session, statement: Any, columns: list[str]) -> pd.DataFrame:
    """Run a Core select of integer columns and return it as a frame, without Row objects.

    Rows come from the DB-API cursor in batches and go straight into numpy, which keeps both
    time and peak memory low for millions of rows.
    """
    result = session.connection().execute(statement)
    cursor = getattr(result, "cursor", None)
    width = len(columns)
    parts: list[np.ndarray] = []
    try:
        while True:
            batch = cursor.fetchmany(250_000) if cursor is not None else result.fetchmany(250_000)
            if not batch:
                break
            flat = np.fromiter(
                itertools.chain.from_iterable(batch), dtype=np.int64, count=len(batch) * width
            )
            parts.append(flat.reshape(-1, width))
    finally:
        result.close()
    data = np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)
    return pd.DataFrame({name: data[:, i] for i, name in enumerate(columns)})


def _fetch_packed_ints(
    session: Session, columns: dict[str, Any], where: list[Any]
) -> pd.DataFrame | None:
    """Read NOT NULL integer columns as one row of per-column aggregates, decoded by numpy.

    A plain read hands every row to Python (a tuple and an int per value: most of the time of
    reading a million rows). Here the database packs each column into one value — PostgreSQL
    the 4-byte big-endian integers (`string_agg(int4send(c))`), SQLite the decimal text
    (`group_concat(c)`) — and numpy decodes it in C, so no Python object is made per row. The
    aggregates of one query step through the same rows in the same order, so the columns stay
    aligned row by row (also in a parallel plan on PostgreSQL 16+: a worker's partial states of
    all the aggregates travel in one tuple and are combined together). Returns None on another
    database, or if the values do not decode as integers (the caller then reads rows).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        empty = literal(b"", LargeBinary)
        aggregates = [
            func.string_agg(func.int4send(c), empty, type_=LargeBinary) for c in columns.values()
        ]
    elif dialect == "sqlite":
        aggregates = [func.group_concat(c, type_=Text) for c in columns.values()]
    else:
        return None
    row = session.connection().execute(sa_select(*aggregates).where(*where)).one()
    arrays = []
    for packed in row:
        if packed is None:  # no rows
            arrays.append(np.zeros(0, dtype=np.int64))
        elif dialect == "postgresql":
            if len(packed) % 4:
                return None
            arrays.append(np.frombuffer(packed, dtype=">i4").astype(np.int64))
        else:
            try:
                values = np.fromstring(packed, dtype=np.int64, sep=",")
            except ValueError:
                return None  # something that is not an integer
            if len(values) != packed.count(",") + 1:
                return None
            arrays.append(values)
    if len({len(a) for a in arrays}) > 1:
        return None
    return pd.DataFrame(dict(zip(columns, arrays, strict=True)), copy=False)


def fetch_current_ratings(
    session: Session, *, employee_ids: list[int] | None = None, above_revision: int | None = None
) -> pd.DataFrame:
    """Return employee_id, competency_id, level of everyone's current (validated) ratings.

    With `above_revision`, only those written by transactions after that ratings revision.
    """
    table = CurrentRating.__table__
    columns = {
        "employee_id": table.c.employee_id,
        "competency_id": table.c.competency_id,
        "level": table.c.level,
    }
    where = []
    if employee_ids is not None:
        where.append(table.c.employee_id.in_(employee_ids))
    if above_revision is not None:
        where.append(table.c.revision > above_revision)
    packed = _fetch_packed_ints(session, columns, where)
    if packed is not None:
        return packed
    return _fetch_ints(session, sa_select(*columns.values()).where(*where), list(columns))


def _tuples(result) -> list[tuple]:
    """Return a result's rows as plain tuples (pandas builds frames from them much faster).

    All at once (`fetchall`): iterating a result fetches one row per DB-API call.
    """
    return [tuple(row) for row in result.all()]


@dataclass
class OrgFrames:
    """The organisation as frames: positions, units and profiles (small) for one report."""

    positions: pd.DataFrame  # position_id, unit_id, role_code, title
    units: pd.DataFrame  # unit_id, code, name, region, is_central, kind, parent_id
    profiles: pd.DataFrame  # profile_id, key, role_code, position_id, version, title_es, title_en
    fingerprint: str


class _OrgFramesCache:
    """Per-process copy of the organisation frames, keyed by database and `org` revision.

    Triggers advance the `org` data revision on every change to units, positions and role
    profiles (backend.revisions), so one one-row query tells whether the copy is current.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: tuple[tuple[str, int], OrgFrames] | None = None

    def clear(self) -> None:
        with self.lock:
            self.entry = None


ORG_FRAMES_CACHE = _OrgFramesCache()


def database_identity(session: Session) -> str:
    """Return which database `session` talks to (cache keys must never mix databases)."""
    return session.get_bind().url.render_as_string(hide_password=True)


# A fingerprint is "<database identity>#org<org revision>".
_ORG = "#org"


def database_of(fingerprint: str) -> str:
    """Return the database an `OrgFrames.fingerprint` (or a cache key built on it) belongs to."""
    return fingerprint.rsplit(_ORG, 1)[0]


def load_org_frames(session: Session) -> OrgFrames:
    """Return positions, units and active profiles, with a fingerprint of their version.

    The frames come from a per-process cache when the `org` revision has not moved. Callers
    get shallow copies: adding a column never reaches the cached frames (never modify values
    in place).
    """
    key = (database_identity(session), revisions.value_of(session, "org"))
    with ORG_FRAMES_CACHE.lock:
        entry = ORG_FRAMES_CACHE.entry
    if entry is not None and entry[0] == key:
        frames = entry[1]
    else:
        frames = _read_org_frames(session, fingerprint=f"{key[0]}{_ORG}{key[1]}")
        with ORG_FRAMES_CACHE.lock:
            ORG_FRAMES_CACHE.entry = (key, frames)
    return OrgFrames(
        frames.positions.copy(deep=False),
        frames.units.copy(deep=False),
        frames.profiles.copy(deep=False),
        frames.fingerprint,
    )


def _read_org_frames(session: Session, *, fingerprint: str) -> OrgFrames:
    pos = Position.__table__
    unit = Unit.__table__
    prof = RoleProfile.__table__
    positions = pd.DataFrame(
        _tuples(
            session.connection().execute(
                sa_select(pos.c.id, pos.c.unit_id, pos.c.role_code, pos.c.title)
            )
        ),
        columns=["position_id", "unit_id", "role_code", "title"],
    )
    units = pd.DataFrame(
        _tuples(
            session.connection().execute(
                sa_select(
                    unit.c.id,
                    unit.c.code,
                    unit.c.name,
                    unit.c.region,
                    unit.c.is_central,
                    unit.c.kind,
                    unit.c.parent_id,
                ).order_by(unit.c.name)
            )
        ),
        columns=["unit_id", "code", "name", "region", "is_central", "kind", "parent_id"],
    )
    profiles = pd.DataFrame(
        _tuples(
            session.connection().execute(
                sa_select(
                    prof.c.id,
                    prof.c.key,
                    prof.c.role_code,
                    prof.c.position_id,
                    prof.c.current_version,
                    prof.c.title_es,
                    prof.c.title_en,
                ).where(prof.c.is_active.is_(True))
            )
        ),
        columns=[
            "profile_id",
            "key",
            "role_code",
            "position_id",
            "version",
            "title_es",
            "title_en",
        ],
    )
    units["is_central"] = units["is_central"].astype(bool)
    return OrgFrames(positions, units, profiles, fingerprint)


def fetch_requirements(session: Session) -> pd.DataFrame:
    """Return profile_id, competency_id, required, essential for every active profile."""
    prof, ver, req = RoleProfile.__table__, RoleProfileVersion.__table__, RoleRequirement.__table__
    rows = (
        session.connection()
        .execute(
            sa_select(prof.c.id, req.c.competency_id, req.c.level, req.c.importance)
            .select_from(
                prof.join(
                    ver,
                    and_(ver.c.profile_id == prof.c.id, ver.c.version == prof.c.current_version),
                ).join(req, req.c.version_id == ver.c.id)
            )
            .where(prof.c.is_active.is_(True))
        )
        .all()
    )
    frame = pd.DataFrame(
        [tuple(r) for r in rows], columns=["profile_id", "competency_id", "required", "importance"]
    )
    frame["essential"] = frame["importance"] == Importance.essential
    return frame.drop(columns=["importance"]).astype(
        {"profile_id": "int64", "competency_id": "int64", "required": "int64"}
    )


def fetch_employees(
    session: Session, org: OrgFrames, *, unit_ids: list[int] | None = None
) -> pd.DataFrame:
    """Return employee_id, unit_id, position_id, role_code, profile_id of people in post.

    People who have left are out; people whose position has no profile get profile_id -1.
    """
    emp = Employee.__table__
    columns = {
        "employee_id": emp.c.id,
        "unit_id": emp.c.unit_id,
        "position_id": func.coalesce(emp.c.position_id, 0),
    }
    where = [emp.c.status != EmployeeStatus.left]
    if unit_ids is not None:
        where.append(emp.c.unit_id.in_(unit_ids))
    frame = _fetch_packed_ints(session, columns, where)
    if frame is None:
        frame = _fetch_ints(session, sa_select(*columns.values()).where(*where), list(columns))
    profiles = org.profiles
    overrides = profiles[profiles["position_id"].notna()]
    by_role = profiles[profiles["position_id"].isna()]
    position_roles = pd.Series(
        org.positions["role_code"].to_numpy(), index=org.positions["position_id"].to_numpy()
    )
    role_profile = pd.Series(
        by_role["profile_id"].to_numpy(), index=by_role["role_code"].to_numpy()
    )
    override_profile = pd.Series(
        overrides["profile_id"].to_numpy(),
        index=overrides["position_id"].astype("int64").to_numpy(),
    )
    # Per position first (few), then mapped onto people (many).
    per_position = pd.DataFrame({"position_id": org.positions["position_id"].astype("int64")})
    per_position["role_code"] = position_roles.reindex(per_position["position_id"]).to_numpy()
    from_role = role_profile.reindex(per_position["role_code"]).to_numpy()
    from_override = override_profile.reindex(per_position["position_id"]).to_numpy()
    per_position["profile_id"] = np.where(
        pd.notna(from_override), from_override, np.where(pd.notna(from_role), from_role, -1)
    ).astype("int64")
    frame = frame.merge(per_position, on="position_id", how="left")
    frame["profile_id"] = frame["profile_id"].fillna(-1).astype("int64")
    frame["role_code"] = frame["role_code"].fillna("").astype(object)
    return frame


def gap_inputs(
    session: Session,
    org: OrgFrames,
    *,
    unit_ids: list[int] | None = None,
    employee_ids: list[int] | None = None,
) -> tuple[gaps.GapInputs, pd.DataFrame]:
    """Return the gap analysis inputs and all employees in scope (also those without a profile)."""
    employees = fetch_employees(session, org, unit_ids=unit_ids)
    if employee_ids is not None:
        employees = employees[employees["employee_id"].isin(employee_ids)]
    profiled = employees[employees["profile_id"] >= 0].reset_index(drop=True)
    scoped = (
        None if (unit_ids is None and employee_ids is None) else profiled["employee_id"].tolist()
    )
    current = (
        fetch_current_ratings(session, employee_ids=scoped)
        if scoped != []
        else (pd.DataFrame({"employee_id": [], "competency_id": [], "level": []}, dtype="int64"))
    )
    inputs = gaps.GapInputs(
        employees=profiled[["employee_id", "unit_id", "profile_id", "role_code"]],
        requirements=fetch_requirements(session),
        current=current,
        competency_ids=competency_ids(session),
    )
    return inputs, employees


def competency_ids(session: Session) -> list[int]:
    """Return the competencies' ids in framework order (as `list_competencies`, without ORM)."""
    table = Competency.__table__
    statement = sa_select(table.c.id).order_by(table.c.order)
    return [int(i) for i in session.connection().execute(statement).scalars()]
