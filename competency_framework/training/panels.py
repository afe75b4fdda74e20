"""Dashboard panels of training: my plan and next sessions; plans awaiting approval and levels
to confirm; training needs highlights for HR."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import N_
from backend.warmup import warmer
from competency_framework.training import service

_NEXT_SESSIONS = 3  # listed on "My training"
_LISTED = 6  # plans and levels listed on "Team training"


@panel
def my_training(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.manage_own_training):
        return None
    employee_id = principal.user.employee_id
    if employee_id is None:
        learner = service.learner_of_user(session, user_id=principal.user.id)
        if learner is None:
            return None
        upcoming = service.upcoming_sessions(session, learner_id=learner.id, limit=_NEXT_SESSIONS)
        return Panel(
            N_("My training"),
            "training/panel_mine.html",
            {"plan": None, "next": upcoming, "learner": learner},
            order=18,
        )
    # The plan's status and its items counted by status: the panel shows no more than that
    # (the whole plan, with its activities, budget and uncovered needs, is /training/me's). The
    # person exists: `User.employee_id` is a foreign key.
    year = service.plan_year(service.settings_of(session))
    upcoming = service.upcoming_sessions(session, employee_id=employee_id, limit=_NEXT_SESSIONS)
    return Panel(
        N_("My training"),
        "training/panel_mine.html",
        {
            "plan": service.plan_summary(session, employee_id=employee_id, year=year),
            "year": year,
            "next": upcoming,
        },
        order=18,
    )


@panel
def team_training(session: Session, principal: Principal) -> Panel | None:
    own = principal.user.employee_id
    if not principal.has_role(Role.supervisor) or own is None:
        return None
    year = service.plan_year(service.settings_of(session))
    waiting = service.waiting_plans(session, supervisor_id=own, year=year)
    to_confirm = service.levels_to_confirm(session, supervisor_employee_id=own, limit=_LISTED)
    return Panel(
        N_("Team training"),
        "training/panel_team.html",
        {"waiting": waiting[:_LISTED], "waiting_n": len(waiting), "to_confirm": to_confirm},
        order=19,
    )


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
