"""The demo shows certificates with validity at once: the demo employee's procurement
certification expires within 30 days, so they and the demo HR planner have its notice and the
renewal waits in the employee's plan; rebuilding the demo adds nothing twice."""

from __future__ import annotations

from sqlmodel import func, select

from backend import demo, plugins
from backend.auth.models import User
from backend.notices.models import Notice
from backend.org import service as org_service
from competency_framework.training.models import TrainingPlanItem


def _kinds(session, email: str) -> list[str]:
    return sorted(
        session.exec(
            select(Notice.kind).join(User, User.id == Notice.user_id).where(User.email == email)
        ).all()
    )


def test_the_demo_employee_has_an_expiring_certificate_its_notice_and_renewal(
    engine, session, settings
):
    demo.generate(engine, employees=120, seed=1)
    accounts = {a.role: a for a in demo.create_demo_accounts(session, settings)}
    session.commit()
    for _run in range(2):  # every `merito up` runs the hooks again
        plugins.call_hooks("demo.after", engine, settings)
    employee, hr = accounts["employee"], accounts["hr_planner"]
    session.expire_all()
    [held] = [
        h
        for h in org_service.held_qualifications(session, employee.employee_id)
        if h.expires_on is not None
    ]
    assert held.qualification.is_procurement
    assert _kinds(session, employee.email).count("training.certificate_expiring") == 1
    assert "training.certificate_expiring_hr" in _kinds(session, hr.email)
    renewals = session.exec(
        select(func.count()).where(
            TrainingPlanItem.employee_id == employee.employee_id,
            TrainingPlanItem.origin == "renewal",
        )
    ).one()
    assert renewals == 1
