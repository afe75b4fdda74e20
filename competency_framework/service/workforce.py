"""Workforce planning per unit: posts, people, turnover, retirements, qualifications, gaps.

Retirement rule (an assumption, configurable): the Ley del ISSSTE (2007) grants an old-age
pension at 65 with 25 years of contributions and a "cesantía en edad avanzada" pension from 60
with 25 years. Our records hold birth and hire dates, not contribution history or which regime
a person is in, so a person counts as *eligible to retire* on the earlier of:
  - the day they turn `age` (65), or
  - the day they are at least `early_age` (60) *and* have `early_service_years` (25) of service
    since their hire date.
Set MERITO_RETIREMENT_AGE, MERITO_RETIREMENT_EARLY_AGE, MERITO_RETIREMENT_EARLY_SERVICE_YEARS
and MERITO_RETIREMENT_HORIZON_YEARS to change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend.i18n import N_
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    EmployeeStatusChange,
    JobFamily,
    Position,
    Qualification,
)
from competency_framework import gaps
from competency_framework.service.frames import load_org_frames
from competency_framework.service.reports import organisation_cells


class WorkforceRules(BaseSettings):
    """The configurable assumptions of workforce planning (environment prefix MERITO_)."""

    model_config = SettingsConfigDict(env_prefix="MERITO_", extra="ignore")

    retirement_age: int = Field(default=65, ge=40, le=80)
    retirement_early_age: int = Field(default=60, ge=40, le=80)
    retirement_early_service_years: int = Field(default=25, ge=1, le=50)
    retirement_horizon_years: int = Field(default=5, ge=1, le=20)
    # A unit is short in competencies below this share of requirements met.
    coverage_target: float = Field(default=0.8, ge=0, le=1)


def _add_years(days: pd.Series, years: int) -> pd.Series:
    """Shift dates by whole years (29 February becomes 28 February)."""
    stamps = pd.to_datetime(days)
    return stamps + pd.DateOffset(years=years)


def retirement_dates(people: pd.DataFrame, rules: WorkforceRules) -> pd.Series:
    """Return, per person (birth_date, hire_date), the first day they may retire (NaT: unknown)."""
    birth = pd.to_datetime(people["birth_date"])
    hire = pd.to_datetime(people["hire_date"])
    at_age = _add_years(birth, rules.retirement_age)
    early = np.maximum(
        _add_years(birth, rules.retirement_early_age),
        _add_years(hire, rules.retirement_early_service_years),
    )
    return pd.Series(np.minimum(at_age, early), index=people.index)


@dataclass
class PositionPlan:
    position_id: int
    code: str
    title: str
    role_code: str
    planned: int
    actual: int

    @property
    def open_posts(self) -> int:
        return max(0, self.planned - self.actual)


@dataclass
class UnitPlan:
    unit_id: int
    code: str
    name: str
    region: str
    is_central: bool
    planned: int
    actual: int
    open_posts: int
    leavers_by_year: dict[int, int]
    leavers_12m: int
    retiring: int
    procurement_staff: int
    procurement_qualified: int
    required_n: int
    met_n: int
    critical_n: int
    spof: int
    positions: list[PositionPlan] = field(default_factory=list)
    coverage_target: float = 0.8

    @property
    def turnover(self) -> float | None:
        """Leavers in the last 12 months ÷ (people now + those leavers)."""
        base = self.actual + self.leavers_12m
        return self.leavers_12m / base if base else None

    @property
    def qualified_share(self) -> float | None:
        """Share of procurement staff with a formal procurement qualification (NHS C8)."""
        return (
            self.procurement_qualified / self.procurement_staff if self.procurement_staff else None
        )

    @property
    def coverage(self) -> float | None:
        return self.met_n / self.required_n if self.required_n else None

    @property
    def short_in_numbers(self) -> bool:
        return self.open_posts > 0

    @property
    def short_in_competencies(self) -> bool:
        return self.coverage is not None and self.coverage < self.coverage_target

    @property
    def shortfall(self) -> str:
        """ "both", "numbers", "competencies" or "none"."""
        if self.short_in_numbers and self.short_in_competencies:
            return "both"
        if self.short_in_numbers:
            return "numbers"
        if self.short_in_competencies:
            return "competencies"
        return "none"


SHORTFALL_LABELS = {
    "both": N_("Short in numbers and competencies"),
    "numbers": N_("Short in numbers"),
    "competencies": N_("Short in competencies"),
    "none": N_("No shortfall"),
}


def unit_plans(
    session: Session,
    *,
    today: date,
    rules: WorkforceRules | None = None,
    horizon_years: int | None = None,
    region: str = "",
    unit_type: str = "",
    years_of_history: int = 5,
) -> list[UnitPlan]:
    """Return the plan of every unit that has posts or people, filtered by region and type."""
    rules = rules or WorkforceRules()
    horizon = horizon_years or rules.retirement_horizon_years
    org = load_org_frames(session)
    units = org.units
    if region:
        units = units[units["region"] == region]
    if unit_type in ("central", "decentralised"):
        units = units[units["is_central"] == (unit_type == "central")]
    unit_ids = set(units["unit_id"].astype(int))

    pos = Position.__table__
    positions = pd.DataFrame(
        session.connection()
        .execute(
            sa_select(
                pos.c.id,
                pos.c.code,
                pos.c.title,
                pos.c.role_code,
                pos.c.unit_id,
                pos.c.planned_headcount,
                pos.c.job_family,
            )
        )
        .all(),
        columns=["position_id", "code", "title", "role_code", "unit_id", "planned", "job_family"],
    )
    emp = Employee.__table__
    people = pd.DataFrame(
        session.connection()
        .execute(
            sa_select(
                emp.c.id, emp.c.unit_id, emp.c.position_id, emp.c.birth_date, emp.c.hire_date
            ).where(emp.c.status != EmployeeStatus.left)
        )
        .all(),
        columns=["employee_id", "unit_id", "position_id", "birth_date", "hire_date"],
    )
    link, qual = EmployeeQualification.__table__, Qualification.__table__
    qualified = {
        row[0]
        for row in session.connection().execute(
            sa_select(link.c.employee_id)
            .join(qual, qual.c.id == link.c.qualification_id)
            .where(qual.c.is_procurement.is_(True))
            # Only valid ones count: no expiry, or one after today (the day it stops being valid).
            .where(or_(link.c.expires_on.is_(None), link.c.expires_on > today))
        )
    }
    change = EmployeeStatusChange.__table__
    first_year = today.year - years_of_history + 1
    leavers = pd.DataFrame(
        session.connection()
        .execute(
            sa_select(emp.c.unit_id, change.c.effective_on)
            .join(emp, emp.c.id == change.c.employee_id)
            .where(
                change.c.status == EmployeeStatus.left,
                change.c.effective_on >= date(first_year, 1, 1),
                # A departure dated after today (a resignation taking effect next month) has
                # not happened yet: it is not a leaver of this year or the last 12 months.
                change.c.effective_on <= today,
            )
        )
        .all(),
        columns=["unit_id", "effective_on"],
    )
    cells = organisation_cells(session, org).cells
    by_unit = (
        gaps.rollup(cells, org.units, group_by="unit")
        .groupby("group")[["required_n", "met_n", "critical_n", "spof"]]
        .sum()
    )

    horizon_end = pd.Timestamp(today) + pd.DateOffset(years=horizon)
    if len(people):
        people["retires_on"] = retirement_dates(people, rules)
        people["retiring"] = people["retires_on"].notna() & (people["retires_on"] <= horizon_end)
    else:
        people["retiring"] = pd.Series(dtype=bool)
    family = dict(zip(positions["position_id"], positions["job_family"], strict=True))
    people["procurement"] = people["position_id"].map(family) == JobFamily.procurement
    people["qualified"] = people["employee_id"].isin(qualified)
    actual_by_position = people.groupby("position_id").size()
    if len(leavers):
        leavers["year"] = pd.to_datetime(leavers["effective_on"]).dt.year
        recent_from = today - timedelta(days=365)
        leavers["recent"] = pd.to_datetime(leavers["effective_on"]) > pd.Timestamp(recent_from)
    unit_rows = units.set_index("unit_id")
    plans: list[UnitPlan] = []
    for unit_id in sorted(unit_ids, key=lambda u: str(unit_rows.loc[u, "name"]).lower()):
        unit_positions = positions[positions["unit_id"] == unit_id]
        unit_people = people[people["unit_id"] == unit_id]
        if unit_positions.empty and unit_people.empty:
            continue
        position_plans = [
            PositionPlan(
                position_id=int(p.position_id),
                code=p.code,
                title=p.title,
                role_code=p.role_code,
                planned=int(p.planned),
                actual=int(actual_by_position.get(p.position_id, 0)),
            )
            for p in unit_positions.itertuples()
        ]
        unit_leavers = leavers[leavers["unit_id"] == unit_id] if len(leavers) else leavers
        by_year = {year: 0 for year in range(first_year, today.year + 1)}
        if len(unit_leavers):
            for year, count in unit_leavers.groupby("year").size().items():
                by_year[int(year)] = int(count)
        competency = by_unit.loc[unit_id] if unit_id in by_unit.index else None
        plans.append(
            UnitPlan(
                unit_id=int(unit_id),
                code=str(unit_rows.loc[unit_id, "code"]),
                name=str(unit_rows.loc[unit_id, "name"]),
                region=str(unit_rows.loc[unit_id, "region"]),
                is_central=bool(unit_rows.loc[unit_id, "is_central"]),
                planned=sum(p.planned for p in position_plans),
                actual=len(unit_people),
                open_posts=sum(p.open_posts for p in position_plans),
                leavers_by_year=by_year,
                leavers_12m=int(unit_leavers["recent"].sum()) if len(unit_leavers) else 0,
                retiring=int(unit_people["retiring"].sum()),
                procurement_staff=int(unit_people["procurement"].sum()),
                procurement_qualified=int(
                    (unit_people["procurement"] & unit_people["qualified"]).sum()
                ),
                required_n=int(competency["required_n"]) if competency is not None else 0,
                met_n=int(competency["met_n"]) if competency is not None else 0,
                critical_n=int(competency["critical_n"]) if competency is not None else 0,
                spof=int(competency["spof"]) if competency is not None else 0,
                positions=position_plans,
                coverage_target=rules.coverage_target,
            )
        )
    return plans


def retirement_count(session: Session, *, today: date, rules: WorkforceRules | None = None) -> int:
    """Return how many people in post become eligible to retire within the horizon."""
    rules = rules or WorkforceRules()
    emp = Employee.__table__
    people = pd.DataFrame(
        session.connection()
        .execute(
            sa_select(emp.c.birth_date, emp.c.hire_date).where(
                emp.c.status != EmployeeStatus.left, emp.c.birth_date.is_not(None)
            )
        )
        .all(),
        columns=["birth_date", "hire_date"],
    )
    if people.empty:
        return 0
    horizon_end = pd.Timestamp(today) + pd.DateOffset(years=rules.retirement_horizon_years)
    return int((retirement_dates(people, rules) <= horizon_end).sum())


def headcount(session: Session) -> int:
    emp = Employee.__table__
    return int(
        session.connection()
        .execute(sa_select(func.count()).where(emp.c.status != EmployeeStatus.left))
        .scalar_one()
    )
