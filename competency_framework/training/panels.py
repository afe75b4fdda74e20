"""Dashboard panels of training: my plan and next sessions; plans awaiting approval and levels
to confirm; training needs highlights for HR."""

from __future__ import annotations

from sqlmodel import Session

from backend import clock
from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import N_
from backend.org.models import Employee
from backend.warmup import warmer
from competency_framework.training import service
from competency_framework.training.models import EnrolmentStatus, ItemStatus


@panel
def my_training(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.manage_own_training):
        return None
    now = clock.now()
    if principal.user.employee_id is None:
        learner = service.learner_for_user(session, principal.user)
        if learner is None:
            return None
        rows = service.my_enrolments(session, learner_id=learner.id)
        return Panel(
            N_("My training"),
            "training/panel_mine.html",
            {"plan": None, "next": _next(rows, now), "learner": learner},
            order=18,
        )
    employee = session.get(Employee, principal.user.employee_id)
    if employee is None:
        return None
    # The plan's status and its items counted by status: the panel shows no more than that
    # (the whole plan, with its activities, budget and uncovered needs, is /training/me's).
    year = service.plan_year(service.settings_of(session))
    summary = service.plans_for_people(session, [(employee, None)], year)[0]
    counts = {
        ItemStatus.approved: summary.approved,
        ItemStatus.proposed: summary.waiting,
        ItemStatus.completed: summary.completed,
    }
    rows = service.my_enrolments(session, employee_id=employee.id)
    return Panel(
        N_("My training"),
        "training/panel_mine.html",
        {"plan": summary.plan, "year": year, "counts": counts, "next": _next(rows, now)},
        order=18,
    )


def _next(rows, now, limit: int = 3):
    return [
        (e, s, a)
        for e, s, a in rows
        if e.status in (EnrolmentStatus.enrolled, EnrolmentStatus.waitlisted) and s.ends_at >= now
    ][:limit]


@panel
def team_training(session: Session, principal: Principal) -> Panel | None:
    if not principal.has_role(Role.supervisor) or principal.user.employee_id is None:
        return None
    year = service.plan_year(service.settings_of(session))
    waiting = [
        t for t in service.team_plans(session, actor=_Supervisor(principal), year=year) if t.waiting
    ]
    to_confirm = service.levels_to_confirm(
        session, supervisor_employee_id=principal.user.employee_id
    )
    return Panel(
        N_("Team training"),
        "training/panel_team.html",
        {"waiting": waiting[:6], "waiting_n": len(waiting), "to_confirm": to_confirm[:6]},
        order=19,
    )


class _Supervisor:
    """The principal as a supervisor only (their own reports, not HR's reach)."""

    def __init__(self, principal: Principal) -> None:
        self.user = principal.user

    def can(self, permission: Permission) -> bool:
        return False


@panel
def training_needs(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.view_training_needs):
        return None
    report = service.needs_report(
        session, year=service.plan_year(service.settings_of(session)), unit_limit=3
    )
    return Panel(
        N_("Training needs"),
        "training/panel_needs.html",
        {"report": report, "top": report.funded[:3]},
        order=35,
    )


@warmer("training.needs_report")
def warm_needs_report(session: Session) -> None:
    """At worker start: this year's needs analysis, as the page and the dashboard ask for it."""
    year = service.plan_year(service.settings_of(session))
    service.needs_report(session, year=year)
    service.needs_report(session, year=year, unit_limit=3)
