"""The demo's feedback round: the demo employee's pooled results show, and their own pending
answer on the demo supervisor makes the supervisor's five."""

from __future__ import annotations

from sqlmodel import select

from assessments.appraisals import demo as appraisal_demo
from assessments.appraisals import service
from assessments.appraisals.models import Appraisal, AppraisalCycle
from backend import demo
from backend.auth.models import User
from tests.competency.helpers import principal_for


def test_the_demo_has_a_feedback_round_with_results_and_a_pending_request(
    engine, session, settings
):
    demo.generate(engine, employees=120, seed=1)
    accounts = {a.role: a for a in demo.create_demo_accounts(session, settings)}
    session.commit()
    cycle = session.exec(
        select(AppraisalCycle).where(
            AppraisalCycle.name == appraisal_demo.cycle_name(demo.AS_OF.year)
        )
    ).one()

    def user(role: str) -> User:
        return session.exec(select(User).where(User.email == accounts[role].email)).one()

    employee = principal_for(session, user("employee"))
    supervisor = principal_for(session, user("supervisor"))

    def appraisal_of(principal) -> Appraisal:
        return session.exec(
            select(Appraisal).where(
                Appraisal.cycle_id == cycle.id,
                Appraisal.employee_id == principal.user.employee_id,
            )
        ).one()

    mine = service.feedback_results(session, appraisal=appraisal_of(employee), actor=employee)
    assert mine.shown >= 5 and mine.comments
    theirs = service.feedback_results(session, appraisal=appraisal_of(supervisor), actor=supervisor)
    assert (theirs.answered, theirs.shown) == (4, 0)
    pending = [
        row
        for row in service.invitations_for(session, employee_id=employee.user.employee_id)
        if row.open and row.invitation.relation == "report"
    ]
    assert len(pending) == 1
    service.answer_feedback(
        session,
        row=pending[0],
        ratings={code: "4" for code in pending[0].round.items},
        comment="",
        actor=employee,
    )
    session.commit()
    theirs = service.feedback_results(session, appraisal=appraisal_of(supervisor), actor=supervisor)
    assert theirs.shown == 5
    # Idempotent: every `merito up` runs the demo hook again and changes nothing.
    demo.create_demo_accounts(session, settings)
    session.commit()
    again = service.feedback_results(session, appraisal=appraisal_of(employee), actor=employee)
    assert again.shown == mine.shown
