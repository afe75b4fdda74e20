"""Dashboard panels of appraisals: my appraisal, my team's appraisals, cycle progress (HR)."""

from __future__ import annotations

from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import Stage
from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import N_


@panel
def my_appraisal(session: Session, principal: Principal) -> Panel | None:
    own = principal.user.employee_id
    if not principal.can(Permission.take_part_in_appraisals) or own is None:
        return None
    current = [
        (appraisal, cycle, service.next_step(appraisal, {"employee"}))
        for appraisal, cycle in service.appraisals_of(session, employee_id=own)
        if cycle.completed_at is None
    ]
    if not current:
        return None
    reminders = [
        r
        for r in service.reminders_for(session, employee_id=own)
        if r.kind in ("agree_objectives", "self_assessment", "employee_sign_off")
    ]
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
    escalated = service.escalated_to(session, employee_id=own)
    if not principal.has_role(Role.supervisor) and not escalated:
        return None
    team = service.team_appraisals(session, supervisor_id=own)
    if not team and not escalated:
        return None
    by_stage: dict[str, int] = {}
    for appraisal, _employee, _cycle in team:
        by_stage[appraisal.stage] = by_stage.get(appraisal.stage, 0) + 1
    cycles = {c.id: c for _a, _e, c in team}
    needs_training = any(c.require_trained_managers for c in cycles.values()) and not (
        service.is_trained(session, employee_id=own)
    )
    return Panel(
        N_("My team's appraisals"),
        "appraisals/panel_team.html",
        {
            "total": len(team),
            "by_stage": by_stage,
            "stages": list(Stage),
            "to_do": service.team_to_do(session, supervisor_id=own),
            "escalated": escalated,
            "needs_training": needs_training,
            "reminder": next(
                (
                    r
                    for r in service.reminders_for(session, employee_id=own)
                    if r.kind not in ("agree_objectives", "self_assessment", "employee_sign_off")
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
    cycles = service.open_cycles(session)
    if not cycles:
        return Panel(N_("Appraisal cycles"), "appraisals/panel_hr.html", {"cycles": []}, order=35)
    totals = service.cycle_totals(session, cycles)
    return Panel(
        N_("Appraisal cycles"),
        "appraisals/panel_hr.html",
        {
            "cycles": [(c, totals.get(c.id, {})) for c in cycles],
            "stages": list(Stage),
            "untrained": len(service.untrained_supervisors(session)),
            "hr_reviews": service.escalated_to_hr_count(session),
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
