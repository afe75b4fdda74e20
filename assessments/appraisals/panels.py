"""Dashboard panels of appraisals: my appraisal, my team's appraisals, cycle progress (HR)."""

from __future__ import annotations

from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import Stage
from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import N_

# The reminders of an employee's own steps; the others are of their team's.
_OWN_STEPS = ("agree_objectives", "self_assessment", "employee_sign_off")


@panel
def my_appraisal(session: Session, principal: Principal) -> Panel | None:
    own = principal.user.employee_id
    if not principal.can(Permission.take_part_in_appraisals) or own is None:
        return None
    current = [
        (appraisal, service.next_step(appraisal, {"employee"}))
        for appraisal in service.appraisals_of(session, employee_id=own)
        if appraisal.cycle_completed_at is None
    ]
    if not current:
        return None
    reminders = [r for r in service.reminders_for(session, employee_id=own) if r.kind in _OWN_STEPS]
    return Panel(
        N_("My appraisal"),
        "appraisals/panel_mine.html",
        {"current": current, "reminder": reminders[0] if reminders else None},
        order=12,
    )


@panel
def team_appraisals(session: Session, principal: Principal) -> Panel | None:
    own = principal.user.employee_id
    if own is None or not principal.can(Permission.take_part_in_appraisals):
        return None
    escalated = service.escalated_to_count(session, employee_id=own)
    if not principal.has_role(Role.supervisor) and not escalated:
        return None
    team = service.team_summary(session, supervisor_id=own)
    if not team.total and not escalated:
        return None
    return Panel(
        N_("My team's appraisals"),
        "appraisals/panel_team.html",
        {
            "total": team.total,
            "by_stage": team.by_stage,
            "stages": list(Stage),
            "to_do": team.to_do,
            "escalated": escalated,
            "needs_training": team.needs_training,
            "reminder": next(
                (
                    r
                    for r in service.reminders_for(session, employee_id=own)
                    if r.kind not in _OWN_STEPS
                ),
                None,
            ),
        },
        order=18,
    )


@panel
def cycle_progress(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.manage_appraisal_cycles):
        return None
    overview = service.open_cycles_overview(session)
    if not overview.cycles:
        return Panel(N_("Appraisal cycles"), "appraisals/panel_hr.html", {"cycles": []}, order=35)
    return Panel(
        N_("Appraisal cycles"),
        "appraisals/panel_hr.html",
        {
            "cycles": overview.cycles,
            "stages": list(Stage),
            "untrained": overview.untrained,
            "hr_reviews": overview.hr_reviews,
        },
        order=35,
    )


@panel
def feedback_to_give(session: Session, principal: Principal) -> Panel | None:
    own = principal.user.employee_id
    if own is None or not principal.can(Permission.take_part_in_appraisals):
        return None
    pending = service.pending_count(session, employee_id=own)
    if not pending:
        return None
    return Panel(
        N_("Feedback to give"), "appraisals/panel_feedback.html", {"pending": pending}, order=13
    )
