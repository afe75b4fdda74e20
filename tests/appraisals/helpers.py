"""Builders shared by the appraisal tests (through services, never raw SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import Appraisal, AppraisalCycle, PlanPriority
from assessments.appraisals.service import ActionInput, ObjectiveInput, ObjectiveScore
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from tests.competency.helpers import principal_for

YEAR = 2026


@dataclass
class People:
    """Principals around the `org` fixture, plus a director above the head of unit."""

    director: object  # the head's supervisor: the second-level manager of the officers
    head: object  # supervises officers a and b
    a: object
    b: object
    outsider: object
    hr: object
    director_employee: object


def add_director(session: Session, org) -> object:
    """Create a director and make the head of unit report to them; return the director."""
    director = org_service.create_employee(
        session,
        EmployeeInput(
            number="E000",
            first_name="Rosa",
            last_name="Campos",
            email="rosa.campos@example.org",
            unit_id=org.central.id,
            hire_date=date(2010, 1, 4),
        ),
    )
    head = org.head
    org_service.update_employee(
        session,
        employee=head,
        data=EmployeeInput(
            number=head.number,
            first_name=head.first_name,
            last_name=head.last_name,
            email=head.email,
            unit_id=head.unit_id,
            position_id=head.position_id,
            supervisor_id=director.id,
            hire_date=head.hire_date,
            birth_date=head.birth_date,
        ),
        actor=None,
    )
    session.commit()
    return director


def people_for(session: Session, org, make_user) -> People:
    director = add_director(session, org)
    return People(
        director=principal_for(session, make_user(employee=director)),
        head=principal_for(session, make_user(employee=org.head)),
        a=principal_for(session, make_user(employee=org.officer_a)),
        b=principal_for(session, make_user(employee=org.officer_b)),
        outsider=principal_for(session, make_user(employee=org.outsider)),
        hr=principal_for(session, make_user("hr_planner")),
        director_employee=director,
    )


def plan(session: Session, hr, year: int = YEAR) -> PlanPriority:
    """Record one priority of the organisation's plan (and commit)."""
    priority = service.add_priority(
        session,
        year=year,
        title="Shorter procurement lead times",
        target="Median tender lead time under 90 days",
        actor=hr,
    )
    session.commit()
    return priority


def open_cycle(
    session: Session,
    hr,
    *,
    name: str = "2026",
    start=date(2026, 1, 1),
    end=date(2026, 12, 31),
    units: list[int] | None = None,
    trained: bool = True,
) -> AppraisalCycle:
    cycle = service.open_cycle(
        session,
        name=name,
        period_start=start,
        period_end=end,
        plan_year=start.year,
        unit_ids=units or [],
        role_codes_chosen=[],
        include_subunits=True,
        require_trained_managers=trained,
        actor=hr,
    )
    session.commit()
    return cycle


def appraisal_of(session: Session, cycle: AppraisalCycle, employee) -> Appraisal:
    from sqlmodel import select

    return session.exec(
        select(Appraisal).where(
            Appraisal.cycle_id == cycle.id, Appraisal.employee_id == employee.id
        )
    ).one()


def set_objectives(session: Session, appraisal: Appraisal, supervisor, priority, weights=(60, 40)):
    rows = [
        ObjectiveInput(
            title=f"Objective {i + 1}",
            measure=f"Measure {i + 1}",
            link=f"p:{priority.id}",
            weight=w,
        )
        for i, w in enumerate(weights)
    ]
    service.save_objectives(session, appraisal=appraisal, rows=rows, actor=supervisor)
    session.commit()


def agree(session: Session, appraisal: Appraisal, employee) -> None:
    service.agree_objectives(session, appraisal=appraisal, actor=employee)
    session.commit()


def assess(session: Session, appraisal: Appraisal, actor, rating: int = 3, submit: bool = True):
    scores = [
        ObjectiveScore(o.id, rating, "done") for o in service.objectives_of(session, appraisal)
    ]
    service.save_assessment(
        session,
        appraisal=appraisal,
        achievements="Ran the tenders of the year",
        to_improve="Earlier market research",
        scores=scores,
        submit=submit,
        actor=actor,
    )
    session.commit()


def train(session: Session, employee, hr) -> None:
    service.record_manager_training(
        session,
        employee_id=employee.id,
        completed_on=date(2026, 1, 15),
        evidence="Cert 1",
        actor=hr,
    )
    session.commit()


def record_dialogue(
    session: Session,
    appraisal: Appraisal,
    supervisor,
    rating: int = 3,
    actions: list[ActionInput] | None = None,
) -> None:
    service.save_dialogue(
        session,
        appraisal=appraisal,
        held_on=date(2026, 11, 20),
        achievements="Two framework agreements",
        barriers="The e-procurement platform was down for a month",
        support_needed="Access to the legal team",
        next_objectives="Lead the consolidated purchase",
        actions=actions
        if actions is not None
        else [ActionInput("Course on contract law", "legal", "2027-03-31")],
        rating=rating,
        reasons="Met the objectives despite the platform outage",
        actor=supervisor,
    )
    session.commit()


def through_to_sign_off(session, cycle, people, org, priority, *, rating=3, employee="a"):
    """Objectives, both assessments and the dialogue for officer a (or b); return the appraisal."""
    person = getattr(org, "officer_a" if employee == "a" else "officer_b")
    principal = getattr(people, employee)
    appraisal = appraisal_of(session, cycle, person)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, principal)
    assess(session, appraisal, principal, 4)
    assess(session, appraisal, people.head, rating)
    if not service.is_trained(session, employee_id=org.head.id):
        train(session, org.head, people.hr)
    record_dialogue(session, appraisal, people.head, rating)
    return appraisal


def escalate_head_to_hr(session, cycle, people, org, priority) -> Appraisal:
    """The head's appraisal, signed by the director and disagreed with by the head: the
    director reports to nobody, so HR reviews it. Return the appraisal."""
    appraisal = appraisal_of(session, cycle, org.head)
    set_objectives(session, appraisal, people.director, priority)
    agree(session, appraisal, people.head)
    assess(session, appraisal, people.head, 4)
    assess(session, appraisal, people.director, 3)
    train(session, people.director_employee, people.hr)
    record_dialogue(session, appraisal, people.director, 3)
    service.sign(session, appraisal=appraisal, actor=people.director)
    service.sign(session, appraisal=appraisal, actor=people.head, disagree=True, disagreement="No")
    session.commit()
    return appraisal
