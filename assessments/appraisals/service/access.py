"""Who may see an appraisal and what they may do in it (`allowed_steps`)."""

from __future__ import annotations

from sqlmodel import Session

from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
)
from assessments.appraisals.service.common import AppraisalError, _own_employee_id, runs_appraisals
from assessments.appraisals.service.cycles import _check_cycle_open
from backend import clock
from backend.auth import Actor
from backend.i18n import _
from backend.org import service as org_service


def roles_in(session: Session, *, appraisal: Appraisal, actor: Actor) -> set[str]:
    """Return the parts `actor` plays in an appraisal: employee, supervisor, reviewer, hr."""
    parts: set[str] = set()
    own = _own_employee_id(actor)
    if own is not None:
        if own == appraisal.employee_id:
            parts.add("employee")
        elif org_service.is_supervisor_of(
            session, supervisor_id=own, employee_id=appraisal.employee_id
        ):
            parts.add("supervisor")
        if appraisal.escalated_at is not None and appraisal.reviewer_id == own:
            parts.add("reviewer")
    if runs_appraisals(actor):
        parts.add("hr")
    return parts


def can_view(session: Session, *, appraisal: Appraisal, actor: Actor) -> bool:
    return bool(roles_in(session, appraisal=appraisal, actor=actor))


def get_appraisal(session: Session, *, appraisal_id: int, actor: Actor) -> Appraisal:
    """Return the appraisal if `actor` may see it; otherwise 404 (ids reveal nothing)."""
    appraisal = session.get(Appraisal, appraisal_id)
    if appraisal is None or not can_view(session, appraisal=appraisal, actor=actor):
        raise AppraisalError(_("This appraisal does not exist."), status_code=404)
    return appraisal


def _require_employee(appraisal: Appraisal, actor: Actor) -> None:
    if _own_employee_id(actor) != appraisal.employee_id:
        raise AppraisalError(_("Only the person appraised can do this."), status_code=403)


def _require_supervisor(session: Session, appraisal: Appraisal, actor: Actor) -> int:
    own = _own_employee_id(actor)
    if own is None or not org_service.is_supervisor_of(
        session, supervisor_id=own, employee_id=appraisal.employee_id
    ):
        raise AppraisalError(
            _("You can appraise only the people who report directly to you."), status_code=403
        )
    # Whoever supervises the person now is their appraiser (calibration groups by it).
    appraisal.appraiser_id = own
    return own


def _cycle_of(session: Session, appraisal: Appraisal) -> AppraisalCycle:
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    _check_cycle_open(cycle)
    return cycle


def _touch(session: Session, appraisal: Appraisal) -> None:
    appraisal.updated_at = clock.now()
    session.add(appraisal)


def both_submitted(appraisal: Appraisal) -> bool:
    """True once both the self-assessment and the supervisor's assessment are submitted."""
    return appraisal.self_submitted_at is not None and appraisal.supervisor_submitted_at is not None
