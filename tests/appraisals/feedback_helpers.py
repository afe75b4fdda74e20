"""Builders of the 360° feedback tests: a cycle with a feedback round on the head of unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlmodel import select

from assessments.appraisals import service
from assessments.appraisals.models import FeedbackInvitation
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from tests.appraisals.helpers import add_director, appraisal_of, open_cycle, plan
from tests.competency.helpers import principal_for

ITEMS = ["integrity", "teamwork"]


@dataclass
class World:
    cycle: object
    round: object
    head_appraisal: object
    head: object  # the appraisee (Lucia, head of unit)
    director: object  # the head's supervisor
    raters: list  # principals of people asked for feedback on the head
    outsider: object
    hr: object


def person(session, org, number, supervisor):
    return org_service.create_employee(
        session,
        EmployeeInput(
            number=number,
            first_name=f"Rater{number}",
            last_name="Prueba",
            email=f"rater{number}@example.org",
            unit_id=org.central.id,
            supervisor_id=supervisor.id if supervisor else None,
            hire_date=date(2016, 1, 4),
        ),
    )


@pytest.fixture(name="world")
def world_fixture(session, org, make_user) -> World:
    director = add_director(session, org)
    # Six more reports of the head (eight in all with officers a and b) and three peers.
    reports = [person(session, org, f"R{n}", org.head) for n in range(6)]
    peers = [person(session, org, f"P{n}", None) for n in range(3)]
    session.commit()
    hr = principal_for(session, make_user("hr_planner"))
    plan(session, hr)
    cycle = open_cycle(session, hr)
    codes = [c.code for c in service.feedback_items(session)][:2]
    ITEMS[:] = codes
    feedback = service.open_feedback_round(session, cycle=cycle, items=codes, actor=hr)
    session.commit()
    head_appraisal = appraisal_of(session, cycle, org.head)
    head = principal_for(session, make_user("employee", employee=org.head))
    for peer in peers:
        service.invite_peer(session, appraisal=head_appraisal, peer_id=str(peer.id), actor=head)
    session.commit()
    people = [org.officer_a, org.officer_b, *reports, *peers]
    raters = [principal_for(session, make_user("employee", employee=e)) for e in people]
    return World(
        cycle=cycle,
        round=feedback,
        head_appraisal=head_appraisal,
        head=head,
        director=principal_for(session, make_user("employee", employee=director)),
        raters=raters,
        outsider=principal_for(session, make_user("employee", employee=org.outsider)),
        hr=hr,
    )


def row_of(session, world, rater):
    invitation = session.exec(
        select(FeedbackInvitation).where(
            FeedbackInvitation.appraisal_id == world.head_appraisal.id,
            FeedbackInvitation.rater_id == rater.user.employee_id,
        )
    ).one()
    return service.get_invitation(session, invitation_id=invitation.id, actor=rater)


def answer(session, world, rater, ratings=(4, 3), comment="Listens to the team"):
    service.answer_feedback(
        session,
        row=row_of(session, world, rater),
        ratings=dict(zip(ITEMS, [str(r) for r in ratings], strict=True)),
        comment=comment,
        actor=rater,
    )
    session.commit()
