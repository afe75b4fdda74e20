"""The demo's appraisals and competencies work from the first `merito up`: an open cycle with
plan priorities, trained supervisors, and the demo supervisor and employee inside the open
competency campaign, able to act (issue #13)."""

from __future__ import annotations

from sqlmodel import func, select

from assessments.appraisals import demo as appraisal_demo
from assessments.appraisals import service as appraisals
from assessments.appraisals.models import Appraisal, AppraisalCycle, ManagerTraining
from backend import audit, demo
from backend.auth import service as auth_service
from backend.auth.models import User
from competency_framework.models import AssessmentCampaign, CampaignParticipant
from competency_framework.service import ratings as ratings_service


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_demo_opens_a_cycle_the_demo_accounts_can_walk(engine, session, settings):
    demo.generate(engine, employees=120, seed=1)
    accounts = {a.role: a for a in demo.create_demo_accounts(session, settings)}
    session.commit()
    year = demo.AS_OF.year
    cycle = session.exec(
        select(AppraisalCycle).where(AppraisalCycle.name == appraisal_demo.cycle_name(year))
    ).one()
    assert cycle.completed_at is None and cycle.require_trained_managers
    assert len(appraisals.list_priorities(session, year=cycle.plan_year)) == 3
    supervisor, employee = accounts["supervisor"], accounts["employee"]
    appraisal = session.exec(
        select(Appraisal).where(
            Appraisal.cycle_id == cycle.id, Appraisal.employee_id == employee.employee_id
        )
    ).one()
    assert appraisal.appraiser_id == supervisor.employee_id
    assert appraisals.is_trained(session, employee_id=supervisor.employee_id)
    assert appraisals.untrained_supervisors(session, limit=300) == []
    # Both are in the open competency campaign, so both self-assessments count in it.
    for account in (supervisor, employee):
        assert ratings_service._open_campaign_id(session, account.employee_id) is not None
    # Nobody signs in to a demo account to be told to change its password first.
    for user in session.exec(select(User)).all():
        assert not auth_service.must_change_password(user), user.email
    # Idempotent: a second run (every `merito up`) changes nothing.
    before = (
        _count(session, AppraisalCycle),
        _count(session, ManagerTraining),
        _count(session, CampaignParticipant),
        len(appraisals.list_priorities(session, year=year)),
    )
    demo.create_demo_accounts(session, settings)
    session.commit()
    assert before == (
        _count(session, AppraisalCycle),
        _count(session, ManagerTraining),
        _count(session, CampaignParticipant),
        len(appraisals.list_priorities(session, year=year)),
    )
    assert _count(session, AssessmentCampaign) >= 1
    assert audit.verify(session).ok
