"""Taking candidates out of a competition at a stage (below a pass mark, absent) and bringing
one back after a correction: used by the test, the sift and the merit list.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from backend import audit

from ..models import (
    Application,
    ApplicationStatus,
)


def audit_application(
    session: Session, *, action: str, actor, application: Application, **kw
) -> None:
    """Audit an act on one application, in the caller's transaction."""
    audit.record(
        session,
        action=action,
        actor=actor,
        entity_type="vacancy_application",
        entity_id=application.id,
        **kw,
    )


def leave_competition(
    session: Session, *, application: Application, stage: str, reason: str, actor: object
) -> None:
    """Take a candidate out at `stage` (below a pass mark, or absent), audited."""
    leave_competition_many(
        session, applications=[application], stage=stage, reason=reason, actor=actor
    )


def leave_competition_many(
    session: Session, *, applications: list[Application], stage: str, reason: str, actor: object
) -> None:
    """Take candidates out at `stage` in one statement, with one audit entry naming them all."""
    if not applications:
        return
    ids = [a.id for a in applications]
    session.execute(
        update(Application)
        .where(col(Application.id).in_(ids))
        .values(status=ApplicationStatus.out, out_stage=stage, out_reason=reason),
        execution_options={"synchronize_session": "evaluate"},
    )
    audit.record(
        session,
        action="vacancy.candidates_out",
        actor=actor,
        entity_type="vacancy",
        entity_id=applications[0].vacancy_id,
        before={"status": ApplicationStatus.active},
        after={
            "status": ApplicationStatus.out,
            "stage": stage,
            "reason": reason,
            "applications": ids,
        },
    )


def rejoin_competition(session: Session, *, application: Application, actor: object) -> None:
    """Bring a candidate back after a correction (a neutralised question) lifted their mark."""
    before = {"status": application.status, "stage": application.out_stage}
    application.status = ApplicationStatus.active
    application.out_stage = ""
    application.out_reason = ""
    session.add(application)
    audit_application(
        session,
        action="vacancy.candidate_back",
        actor=actor,
        application=application,
        before=before,
        after={"status": application.status},
    )
