"""Workforce planning rules on hand-built organisations, with answers worked out by hand.

Turnover (leavers per year, from the status history), staff eligible to retire within N years,
the share of procurement staff holding a formal procurement qualification (the NHS C8 metric),
and whether a unit is short in numbers, in competencies, or both.
"""

from __future__ import annotations

from datetime import date
from itertools import count

import pandas as pd
import pytest

from backend.org import service as org_service
from backend.org.models import EmployeeStatus
from backend.org.service import EmployeeInput
from competency_framework import service
from competency_framework.service import WorkforceRules
from tests.competency.helpers import principal_for

TODAY = date(2026, 6, 30)
# The defaults, spelt out so an environment variable cannot change the answers.
RULES = WorkforceRules(
    retirement_age=65,
    retirement_early_age=60,
    retirement_early_service_years=25,
    retirement_horizon_years=5,
    coverage_target=0.8,
)


class Builder:
    """Units, posts and people through the organisation service."""

    def __init__(self, session) -> None:
        self.session = session
        self.numbers = count(1)
        org_service.ensure_qualification(
            session,
            code="CERT-CP",
            name_es="Certificación en contrataciones públicas",
            name_en="Public procurement certification",
            is_procurement=True,
        )
        org_service.ensure_qualification(
            session,
            code="LIC-DER",
            name_es="Licenciatura en Derecho",
            name_en="Law degree",
            is_procurement=False,
        )

    def unit(self, code: str, *, central: bool = False):
        return org_service.create_unit(
            self.session,
            code=code,
            name=f"Unidad {code}",
            kind="directorate" if central else "procurement_unit",
            region="Centro",
            state="CDMX",
            is_central=central,
        )

    def post(self, unit, code: str, *, planned: int, role: str = "procurement_officer", **kw):
        return org_service.create_position(
            self.session,
            code=code,
            title=f"Puesto {code}",
            unit=unit,
            role_code=role,
            planned_headcount=planned,
            **kw,
        )

    def person(
        self,
        unit,
        post=None,
        *,
        born: date | None = date(1985, 1, 1),
        hired: date = date(2012, 1, 1),
        qualifications: tuple[str, ...] = (),
    ):
        n = next(self.numbers)
        return org_service.create_employee(
            self.session,
            EmployeeInput(
                number=f"W{n:04d}",
                first_name="Persona",
                last_name=f"Prueba {n}",
                email=f"persona{n}@example.org",
                unit_id=unit.id,
                position_id=post.id if post else None,
                hire_date=hired,
                birth_date=born,
                qualification_codes=qualifications,
            ),
        )

    def status(self, employee, status: str, on: date) -> None:
        """Change the status effective on `on` (written to the status history)."""
        data = EmployeeInput(
            number=employee.number,
            first_name=employee.first_name,
            last_name=employee.last_name,
            email=employee.email,
            unit_id=employee.unit_id,
            position_id=employee.position_id,
            supervisor_id=employee.supervisor_id,
            hire_date=employee.hire_date,
            birth_date=employee.birth_date,
            status=status,
        )
        org_service.update_employee(
            self.session, employee=employee, data=data, actor=None, effective_on=on
        )

    def leaver(self, unit, post, on: date, **kw):
        employee = self.person(unit, post, **kw)
        self.status(employee, EmployeeStatus.left, on)
        return employee


@pytest.fixture
def build(session):
    return Builder(session)


def plan_of(session, unit, **kw) -> service.UnitPlan:
    plans = service.unit_plans(session, today=TODAY, rules=RULES, **kw)
    return next(p for p in plans if p.unit_id == unit.id)


# --- turnover ---------------------------------------------------------------------------------


def test_leavers_per_year_and_turnover_come_from_the_status_history(session, build):
    unit = build.unit("U1", central=True)
    other = build.unit("U2")
    post = build.post(unit, "U1-ANA", planned=6)
    for _ in range(3):
        build.person(unit, post)
    build.leaver(unit, post, date(2026, 3, 1))  # this year, in the last 12 months
    build.leaver(unit, post, date(2025, 9, 15))  # last year, in the last 12 months
    build.leaver(unit, post, date(2025, 5, 1))  # last year, before the last 12 months
    build.leaver(unit, post, date(2022, 1, 1))  # first year of the five shown
    build.leaver(unit, post, date(2021, 12, 31))  # before the five years: not shown
    # Left in 2024 and came back: a departure that year, and in post today.
    returned = build.person(unit, post)
    build.status(returned, EmployeeStatus.left, date(2024, 2, 1))
    build.status(returned, EmployeeStatus.active, date(2024, 6, 1))
    # On leave is not leaving.
    build.status(build.person(unit, post), EmployeeStatus.on_leave, date(2026, 1, 10))
    # Another unit's leaver is not this unit's.
    build.leaver(other, build.post(other, "U2-ANA", planned=1), date(2026, 2, 2))
    session.commit()

    plan = plan_of(session, unit)
    assert plan.leavers_by_year == {2022: 1, 2023: 0, 2024: 1, 2025: 2, 2026: 1}
    assert plan.leavers_12m == 2
    assert plan.actual == 5  # three, the one who came back, the one on leave
    assert plan.turnover == pytest.approx(2 / (5 + 2))
    assert plan_of(session, other).leavers_by_year[2026] == 1


def test_a_departure_dated_after_today_is_not_a_leaver_yet(session, build):
    unit = build.unit("U1")
    post = build.post(unit, "U1-ANA", planned=3)
    build.person(unit, post)
    build.leaver(unit, post, date(2026, 8, 31))  # resignation effective in two months
    build.leaver(unit, post, date(2027, 1, 15))  # and one next year
    session.commit()

    plan = plan_of(session, unit)
    assert plan.leavers_12m == 0
    assert plan.leavers_by_year == {2022: 0, 2023: 0, 2024: 0, 2025: 0, 2026: 0}
    assert plan.turnover == 0


def test_a_unit_that_has_lost_everyone_still_has_a_turnover(session, build):
    unit = build.unit("U1")
    post = build.post(unit, "U1-ANA", planned=2)
    build.leaver(unit, post, date(2026, 1, 5))
    build.leaver(unit, post, date(2026, 4, 5))
    session.commit()

    plan = plan_of(session, unit)
    assert (plan.actual, plan.leavers_12m, plan.open_posts) == (0, 2, 2)
    assert plan.turnover == 1.0


# --- retirement -------------------------------------------------------------------------------


def test_retirement_dates_follow_the_age_and_the_early_age_with_service_rules():
    people = pd.DataFrame(
        {
            "birth_date": [
                date(1961, 5, 10),  # 65 (2026-05-10) before 60 + 25 years of service (2030)
                date(1970, 1, 1),  # 60 with 25 years of service: 2030-01-01
                date(1970, 1, 1),  # 60, but 25 years of service only in 2035 = 65
                date(1968, 2, 29),  # turns 65 on a non-leap year: 28 February 2033
                None,  # unknown
            ],
            "hire_date": [
                date(2005, 1, 1),
                date(1995, 1, 1),
                date(2010, 1, 1),
                date(2020, 1, 1),
                date(2000, 1, 1),
            ],
        }
    )
    dates = service.retirement_dates(people, RULES)
    assert list(dates[:4]) == [
        pd.Timestamp("2026-05-10"),
        pd.Timestamp("2030-01-01"),
        pd.Timestamp("2035-01-01"),
        pd.Timestamp("2033-02-28"),
    ]
    assert pd.isna(dates[4])


def test_staff_eligible_to_retire_within_the_horizon(session, build):
    unit = build.unit("U1")
    post = build.post(unit, "U1-ANA", planned=10)
    build.person(unit, post, born=date(1966, 7, 1), hired=date(2010, 1, 1))  # 65 a day late
    build.person(unit, post, born=date(1966, 6, 30), hired=date(2010, 1, 1))  # 65 on the last day
    build.person(unit, post, born=date(1970, 1, 1), hired=date(1995, 1, 1))  # 60 + 25 in 2030
    build.person(unit, post, born=date(1970, 1, 1), hired=date(2010, 1, 1))  # not before 2035
    build.person(unit, post, born=date(1958, 1, 1), hired=date(1990, 1, 1))  # eligible already
    build.person(unit, post, born=date(1980, 1, 1), hired=date(1999, 1, 1))  # service, not age
    build.person(unit, post, born=None, hired=date(1980, 1, 1))  # no birth date: not counted
    build.leaver(unit, post, date(2025, 1, 1), born=date(1955, 1, 1))  # gone: not counted
    session.commit()

    assert plan_of(session, unit).retiring == 3
    assert service.retirement_count(session, today=TODAY, rules=RULES) == 3
    # Six years out also catches the one who turns 65 a day after five years.
    assert plan_of(session, unit, horizon_years=6).retiring == 4
    assert plan_of(session, unit, horizon_years=1).retiring == 1


# --- the procurement qualification share (C8) ----------------------------------------------------


def test_share_of_procurement_staff_with_a_procurement_qualification(session, build):
    unit = build.unit("U1")
    buyers = build.post(unit, "U1-ANA", planned=4)
    area = build.post(unit, "U1-UA", planned=2, role="user_area_staff", job_family="user_area")
    build.person(unit, buyers, qualifications=("CERT-CP",))
    build.person(unit, buyers, qualifications=("CERT-CP", "LIC-DER"))
    build.person(unit, buyers, qualifications=("LIC-DER",))  # a degree is not a qualification
    build.person(unit, buyers)
    # Outside the procurement job family: not in the share, qualified or not.
    build.person(unit, area, qualifications=("CERT-CP",))
    build.person(unit, None, qualifications=("CERT-CP",))
    build.leaver(unit, buyers, date(2026, 1, 1), qualifications=("CERT-CP",))
    session.commit()

    plan = plan_of(session, unit)
    assert (plan.procurement_staff, plan.procurement_qualified) == (4, 2)
    assert plan.qualified_share == 0.5


def test_the_share_counts_only_qualifications_still_valid(session, build):
    unit = build.unit("U1")
    buyers = build.post(unit, "U1-ANA", planned=4)
    people = [build.person(unit, buyers, qualifications=("CERT-CP",)) for _n in range(4)]
    session.commit()
    qualification = org_service.ensure_qualification(
        session, code="CERT-CP", name_es="", name_en="", is_procurement=True
    )
    # Expired yesterday; stops being valid today (the day it stops counting); tomorrow; never.
    for person, expires_on in zip(
        people, (date(2026, 6, 29), TODAY, date(2026, 7, 1), None), strict=True
    ):
        org_service.set_qualification_expiry(
            session,
            employee_id=person.id,
            qualification_id=qualification.id,
            expires_on=expires_on,
        )
    session.commit()
    plan = plan_of(session, unit)
    assert (plan.procurement_staff, plan.procurement_qualified) == (4, 2)
    assert plan.qualified_share == 0.5


def test_a_unit_without_procurement_staff_has_no_share(session, build):
    unit = build.unit("U1")
    area = build.post(unit, "U1-UA", planned=1, role="user_area_staff", job_family="user_area")
    build.person(unit, area, qualifications=("CERT-CP",))
    session.commit()
    assert plan_of(session, unit).qualified_share is None


# --- short in numbers, in competencies, or both ------------------------------------------------


@pytest.fixture
def hr(session, make_user):
    return principal_for(session, make_user("hr_planner"))


def rate_everything(session, employee, level: int, hr) -> None:
    for competency in service.list_competencies(session):
        service.record_rating(
            session,
            employee=employee,
            competency=competency,
            level=level,
            source="hr",
            actor=hr,
        )


def test_units_short_in_numbers_in_competencies_both_or_neither(session, build, hr):
    units = {}
    for code, planned, level in [
        ("BOTH", 3, 0),  # two of three posts filled, nobody meets the profile
        ("NUMBERS", 3, 4),  # two of three, everyone at the top of the scale
        ("COMPETENCIES", 2, 1),  # full, but below the profile
        ("NONE", 2, 4),  # full and meeting the profile
    ]:
        unit = build.unit(code)
        post = build.post(unit, f"{code}-ANA", planned=planned)
        for _ in range(2):
            rate_everything(session, build.person(unit, post), level, hr)
        units[code] = unit
    session.commit()

    plans = {p.code: p for p in service.unit_plans(session, today=TODAY, rules=RULES)}
    assert {code: plans[code].shortfall for code in units} == {
        "BOTH": "both",
        "NUMBERS": "numbers",
        "COMPETENCIES": "competencies",
        "NONE": "none",
    }
    assert plans["BOTH"].open_posts == plans["NUMBERS"].open_posts == 1
    assert plans["NONE"].coverage == 1.0 and plans["BOTH"].coverage == 0.0
    assert plans["BOTH"].critical_n > 0 and plans["NONE"].critical_n == 0


def test_an_extra_person_in_one_post_does_not_fill_another(session, build):
    unit = build.unit("U1")
    officers = build.post(unit, "U1-ANA", planned=2)
    specialists = build.post(unit, "U1-ESP", planned=2, role="procurement_specialist")
    for _ in range(3):
        build.person(unit, officers)
    build.person(unit, specialists)
    session.commit()

    plan = plan_of(session, unit)
    assert (plan.planned, plan.actual) == (4, 4)
    by_code = {p.code: p for p in plan.positions}
    assert (by_code["U1-ANA"].open_posts, by_code["U1-ESP"].open_posts) == (0, 1)
    assert plan.open_posts == 1 and plan.short_in_numbers


def test_the_competency_target_is_a_threshold_and_people_without_a_profile_have_none(
    session, build, hr
):
    unit = build.unit("U1")
    post = build.post(unit, "U1-ANA", planned=5)
    # Four meet every requirement, one meets none: coverage exactly 80 %.
    for level in (4, 4, 4, 4, 0):
        rate_everything(session, build.person(unit, post), level, hr)
    loose = build.unit("U2")
    build.person(loose, build.post(loose, "U2-X", planned=2, role="", job_family="other"))
    session.commit()

    plan = plan_of(session, unit)
    assert plan.coverage == pytest.approx(0.8)
    assert plan.shortfall == "none"  # at the target is not short
    stricter = WorkforceRules(**(RULES.model_dump() | {"coverage_target": 0.81}))
    strict_plan = next(
        p for p in service.unit_plans(session, today=TODAY, rules=stricter) if p.unit_id == unit.id
    )
    assert strict_plan.shortfall == "competencies"
    # No role profile, no requirements: short in numbers only, never in competencies.
    without_profile = plan_of(session, loose)
    assert without_profile.coverage is None
    assert without_profile.shortfall == "numbers"
