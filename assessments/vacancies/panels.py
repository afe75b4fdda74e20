"""Dashboard cards: my applications, my panel work, competitions by stage."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import N_

from . import service
from .models import VacancyStatus

# How many of the newest applications "My applications" lists.
SHOWN_APPLICATIONS = 6


@panel
def my_applications(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.apply_to_vacancies):
        return None
    rows = service.recent_applications(session, principal.user, limit=SHOWN_APPLICATIONS)
    if not rows and (
        principal.user.employee_id is not None or not principal.has_role(Role.candidate)
    ):
        # Staff who never applied see the board from the navigation; only candidates are
        # reminded here to confirm their email.
        return None
    return Panel(
        N_("My applications"),
        "vacancies/panel_my_applications.html",
        {
            "rows": rows,
            "verified": service.may_apply(session, principal.user),
            "open": service.open_for_applications(session),
        },
        order=12,
    )


@panel
def panel_work(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.score_candidates):
        return None
    rows = service.competitions_of_member(session, principal.user, open_only=True)
    return Panel(
        N_("Competitions awaiting me"),
        "vacancies/panel_panel.html",
        {"rows": [(v, w) for v, w in rows if w["declarations"] or w["to_score"]], "all": len(rows)},
        order=13,
    )


@panel
def competitions_by_stage(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.manage_vacancies):
        return None
    counts = service.counts_by_status(session)
    return Panel(
        N_("Competitions by stage"),
        "vacancies/panel_hr.html",
        {
            "counts": [(s, counts.get(s, 0)) for s in VacancyStatus if counts.get(s, 0)],
            "awaiting": counts.get(VacancyStatus.pending_approval, 0),
            "can_approve": principal.can(Permission.approve_vacancies),
        },
        order=18,
    )
