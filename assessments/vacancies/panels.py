"""Dashboard cards: my applications, my panel work, competitions by stage."""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import N_

from . import accounts, applications, scoring, service
from .models import PanelMember, Vacancy, VacancyStatus


@panel
def my_applications(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.apply_to_vacancies):
        return None
    rows = applications.my_applications(session, principal.user)
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
            "rows": rows[:6],
            "verified": accounts.may_apply(session, principal.user),
            "open": service.open_for_applications(session),
        },
        order=12,
    )


@panel
def panel_work(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.score_candidates):
        return None
    vacancies = session.exec(
        select(Vacancy)
        .join(PanelMember, col(PanelMember.vacancy_id) == Vacancy.id)
        .where(
            PanelMember.user_id == principal.user.id,
            col(Vacancy.status).not_in([VacancyStatus.appointed, VacancyStatus.cancelled]),
        )
        .order_by(col(Vacancy.id).desc())
    ).all()
    rows = [(v, scoring.work_for(session, vacancy=v, user=principal.user)) for v in vacancies]
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
