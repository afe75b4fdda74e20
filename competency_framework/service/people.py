"""One person's gap profile, a unit's people, attention and trend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import clock, revisions
from backend.org.models import Employee, Position, Unit
from competency_framework import gaps
from competency_framework.models import (
    AssessmentCampaign,
    Competency,
    Importance,
    RatingEntry,
)
from competency_framework.service.frames import gap_inputs, load_org_frames
from competency_framework.service.framework import list_competencies, revision
from competency_framework.service.profile_cache import (
    ProfileInfo,
    VersionInfo,
    profiles_snapshot,
)
from competency_framework.service.profiles import (
    list_profiles,
)
from competency_framework.service.ratings import _chunks, current_levels, pending_self_entries
from competency_framework.service.reports import (
    GAP_CACHE,
    ReportBasis,
    _none,
    _profile_uses,
    _subtree,
    data_key,
    organisation_cells,
)
from competency_framework.service.snapshot import CompetencyInfo, framework_snapshot

# --- people -------------------------------------------------------------------------------------


@dataclass
class PersonGapRow:
    competency: CompetencyInfo
    required: int
    importance: str
    current: int | None
    source: str
    rated_at: datetime | None
    pending: RatingEntry | None
    gap: int
    critical: bool
    met: bool


@dataclass
class PersonGapProfile:
    employee: Employee
    unit: Unit | None
    position: Position | None
    profile: ProfileInfo | None
    version: VersionInfo | None
    rows: list[PersonGapRow]
    required_n: int = 0
    met_n: int = 0
    gap_sum: int = 0
    critical_n: int = 0

    @property
    def coverage(self) -> float | None:
        return self.met_n / self.required_n if self.required_n else None

    @property
    def mean_gap(self) -> float | None:
        return self.gap_sum / self.required_n if self.required_n else None


def person_gap_profile(session: Session, *, employee: Employee) -> PersonGapProfile:
    """Return one person's requirements, current levels, pending self-ratings and gaps.

    Computed once per transaction (a dashboard's panels and a page ask for it several times);
    treat the result as read-only.
    """
    return revisions.per_transaction(
        session, ("person_gap_profile", employee.id), lambda: _gap_profile(session, employee)
    )


# Built once: the person's unit and position (None without one) in one query, not two.
_UNIT_AND_POSITION = (
    select(Unit, Position)
    .outerjoin(Position, col(Position.id) == bindparam("position_id"))
    .where(Unit.id == bindparam("unit_id"))
)


def _gap_profile(session: Session, employee: Employee) -> PersonGapProfile:
    found = session.execute(
        _UNIT_AND_POSITION, {"unit_id": employee.unit_id, "position_id": employee.position_id}
    ).first()
    unit, position = found if found is not None else (None, None)
    in_force = profiles_snapshot(session).for_position(position)
    profile = in_force.profile if in_force else None
    version = in_force.version if in_force else None
    requirements = in_force.requirements if in_force else {}
    current = current_levels(session, employee_id=employee.id)
    pending = pending_self_entries(session, employee_id=employee.id)
    result = PersonGapProfile(
        employee=employee,
        unit=unit,
        position=position,
        profile=profile,
        version=version,
        rows=[],
    )
    for competency in framework_snapshot(session).competencies:
        requirement = requirements.get(competency.id)
        required = requirement.level if requirement else 0
        rating = current.get(competency.id)
        level = rating.level if rating else None
        shortfall = required - (level or 0)
        has_req = required > 0
        row = PersonGapRow(
            competency=competency,
            required=required,
            importance=requirement.importance if requirement else Importance.desirable,
            current=level,
            source=rating.source if rating else "",
            rated_at=rating.rated_at if rating else None,
            pending=pending.get(competency.id),
            gap=max(0, shortfall) if has_req else 0,
            critical=has_req and shortfall >= gaps.CRITICAL_GAP,
            met=has_req and shortfall <= 0,
        )
        result.rows.append(row)
        if has_req:
            result.required_n += 1
            result.met_n += int(row.met)
            result.gap_sum += row.gap
            result.critical_n += int(row.critical)
    return result


@dataclass
class UnitPerson:
    employee_id: int
    name: str
    number: str
    position: str
    gaps: list[int | None]  # per competency; None where the profile has no requirement
    required_n: int
    met_n: int
    gap_sum: int
    critical_n: int
    rated_n: int


def unit_people(
    session: Session, *, unit_id: int, role: str = "", include_subunits: bool = False
) -> list[UnitPerson]:
    """Return each person in a unit with their gap per competency (HR detail view)."""
    org = load_org_frames(session)
    unit_ids = _subtree(org.units, unit_id) if include_subunits else [unit_id]
    inputs, employees = gap_inputs(session, org, unit_ids=unit_ids)
    if role:
        keep = inputs.employees["role_code"] == role
        inputs = gaps.GapInputs(
            inputs.employees[keep], inputs.requirements, inputs.current, inputs.competency_ids
        )
    frame = gaps.gap_frame(inputs)
    people = {
        e.id: e
        for chunk in _chunks(inputs.employees["employee_id"].tolist(), 500)
        for e in session.exec(select(Employee).where(col(Employee.id).in_(chunk)))
    }
    titles = dict(zip(org.positions["position_id"], org.positions["title"], strict=True))
    positions = dict(zip(employees["employee_id"], employees["position_id"], strict=True))
    order = {cid: i for i, cid in enumerate(inputs.competency_ids)}
    result = []
    for employee_id, rows in frame.groupby("employee_id"):
        employee = people.get(int(employee_id))
        if employee is None:
            continue
        cells: list[int | None] = [None] * len(order)
        for record in rows.itertuples():
            if record.has_requirement and record.competency_id in order:
                cells[order[record.competency_id]] = int(record.gap)
        result.append(
            UnitPerson(
                employee_id=employee.id,
                name=employee.full_name,
                number=employee.number,
                position=titles.get(positions.get(employee.id), ""),
                gaps=cells,
                required_n=int(rows["has_requirement"].sum()),
                met_n=int(rows["met"].sum()),
                gap_sum=int(rows["gap"].sum()),
                critical_n=int(rows["critical"].sum()),
                rated_n=int((rows["rated"] & rows["has_requirement"]).sum()),
            )
        )
    result.sort(key=lambda p: (-p.critical_n, -p.gap_sum, p.name))
    return result


# --- attention and trend --------------------------------------------------------------------------


@dataclass
class AttentionItem:
    unit_id: int
    unit: str
    region: str
    competency: Competency
    required_n: float | None
    met_n: float | None
    critical_n: float | None
    essential_n: float | None
    essential_met_n: float | None
    coverage: float | None


@dataclass
class AttentionReport:
    critical: list[AttentionItem]
    spof: list[AttentionItem]
    basis: ReportBasis


def attention_report(
    session: Session,
    *,
    details: bool,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    limit: int = 20,
    locale: str = "es",
) -> AttentionReport:
    """Return the largest critical gaps and the single points of failure, unit × competency."""
    org = load_org_frames(session)
    cached = organisation_cells(session, org)
    key = ("attention", cached.key, details, region, unit_type, role, limit, locale)
    found = GAP_CACHE.get_report(key)
    if found is not None:
        return found
    rolled = gaps.rollup(
        cached.cells,
        org.units,
        group_by="unit",
        regions=[region] if region else None,
        unit_type=unit_type or None,
        roles=[role] if role else None,
    )
    if not details:
        rolled = gaps.suppress(rolled)
    lists = gaps.attention(rolled, limit=limit)
    units = org.units.set_index("unit_id")
    competencies = {c.id: c for c in list_competencies(session)}

    def items(frame: pd.DataFrame) -> list[AttentionItem]:
        out = []
        for r in frame.to_dict("records"):
            uid = int(r["group"])
            out.append(
                AttentionItem(
                    unit_id=uid,
                    unit=str(units.loc[uid, "name"]) if uid in units.index else str(uid),
                    region=str(units.loc[uid, "region"]) if uid in units.index else "",
                    competency=competencies[int(r["competency_id"])],
                    required_n=_none(r["required_n"]),
                    met_n=_none(r["met_n"]),
                    critical_n=_none(r["critical_n"]),
                    essential_n=_none(r["essential_n"]),
                    essential_met_n=_none(r["essential_met_n"]),
                    coverage=_none(r["coverage"]),
                )
            )
        return out

    rev = revision(session)
    report = AttentionReport(
        critical=items(lists["critical"]),
        spof=items(lists["spof"].head(limit * 5)),
        basis=ReportBasis(
            rev.profiles,
            rev.ratings,
            _profile_uses(org, f"title_{locale}"),
            cached.computed_at,
            cached.people_without_profile,
        ),
    )
    GAP_CACHE.put_report(key, report)
    return report


def trend_report(
    session: Session,
    *,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
    months: int = 12,
    details: bool = False,
) -> pd.DataFrame:
    """Return coverage, mean gap and critical gaps at each month end, from the rating log.

    Without `details`, months where fewer than five people hold requirements are suppressed.
    """
    months = max(1, min(int(months), 36))
    org = load_org_frames(session)
    key = ("trend", data_key(session), org.fingerprint, region, unit_type, role, unit_id, months)
    found = GAP_CACHE.get_report(key)
    if found is None:
        units = org.units
        if region:
            units = units[units["region"] == region]
        if unit_type:
            units = units[units["is_central"] == (unit_type == "central")]
        unit_ids = units["unit_id"].astype("int64").tolist()
        if unit_id is not None:
            subtree = set(_subtree(org.units, unit_id))
            unit_ids = [u for u in unit_ids if u in subtree]
        whole = not region and not unit_type and unit_id is None
        inputs, _employees = gap_inputs(session, org, unit_ids=None if whole else unit_ids)
        if role:
            keep = inputs.employees["role_code"] == role
            inputs = gaps.GapInputs(
                inputs.employees[keep].reset_index(drop=True),
                inputs.requirements,
                inputs.current,
                inputs.competency_ids,
            )
        entry = RatingEntry.__table__
        statement = sa_select(
            entry.c.employee_id, entry.c.competency_id, entry.c.level, entry.c.recorded_at
        ).where(entry.c.validated.is_(True))
        if not whole:
            statement = statement.where(
                entry.c.employee_id.in_(
                    sa_select(Employee.__table__.c.id).where(
                        Employee.__table__.c.unit_id.in_(unit_ids)
                    )
                )
            )
        log = pd.DataFrame(
            session.connection().execute(statement).all(),
            columns=["employee_id", "competency_id", "level", "recorded_at"],
        )
        found = gaps.trend(log, inputs, gaps.month_ends(pd.Timestamp(clock.now()), months))
        GAP_CACHE.put_report(key, found)
    result = found.copy()
    if not details and len(result):
        small = (result["required_n"] > 0) & (result["required_n"] < gaps.MIN_CELL_PEOPLE)
        result["suppressed"] = small
        for column in ("coverage", "mean_gap", "critical_n", "met_n", "rated_n"):
            result[column] = result[column].astype("float64")
            result.loc[small, column] = np.nan
    else:
        result["suppressed"] = False
    return result


def regions(session: Session) -> list[str]:
    """Return the regions that units belong to, sorted."""
    return sorted(r for r in session.exec(select(Unit.region).distinct()).all() if r)


def role_choices(session: Session, locale: str) -> list[tuple[str, str]]:
    """Return (role_code, title) of role profiles, for filters."""
    return [
        (p.role_code, (p.title_en if locale == "en" else p.title_es) or p.role_code)
        for p in list_profiles(session)
        if p.position_id is None
    ]


@dataclass
class MyCompetencies:
    """What the "My competencies" page and panel show."""

    profile: PersonGapProfile
    pending: int
    self_rated: int
    campaigns: list[AssessmentCampaign] = field(default_factory=list)
