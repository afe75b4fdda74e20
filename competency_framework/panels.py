"""Dashboard panels of the competency domain: my competencies, my validations, attention."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.permissions import Permission, Role
from backend.auth.service import Principal
from backend.dashboard import Panel, panel
from backend.i18n import LOCALES, N_, get_locale, set_locale
from backend.org.models import Employee
from backend.warmup import warmer
from competency_framework import service


@panel
def my_competencies(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.rate_own_competencies) or principal.user.employee_id is None:
        return None
    employee = session.get(Employee, principal.user.employee_id)
    if employee is None:
        return None
    profile = service.person_gap_profile(session, employee=employee)
    rated = sum(1 for r in profile.rows if r.current is not None or r.pending is not None)
    return Panel(
        N_("My competencies"),
        "competency/panel_mine.html",
        {
            "profile": profile,
            "pending": sum(1 for r in profile.rows if r.pending is not None),
            "rated": rated,
            "total": len(profile.rows),
            "largest": sorted(
                (r for r in profile.rows if r.gap > 0), key=lambda r: (-r.gap, r.competency.order)
            )[:3],
            "campaigns": service.open_campaigns_for(session, employee_id=employee.id),
        },
        order=15,
    )


@panel
def ratings_to_validate(session: Session, principal: Principal) -> Panel | None:
    if not principal.has_role(Role.supervisor) or principal.user.employee_id is None:
        return None
    items = service.validation_queue(session, actor=_supervisor_view(principal), limit=8)
    reminders = service.validation_reminders_for(session, employee_id=principal.user.employee_id)
    return Panel(
        N_("Ratings awaiting my validation"),
        "competency/panel_validation.html",
        {"queue": items, "reminders": reminders},
        order=16,
    )


class _SupervisorOnly:
    """The principal seen as a supervisor only, so HR's panel lists their own team first."""

    def __init__(self, principal: Principal) -> None:
        self.user = principal.user

    def can(self, permission: Permission) -> bool:
        return False


def _supervisor_view(principal: Principal) -> _SupervisorOnly:
    return _SupervisorOnly(principal)


@panel
def what_needs_attention(session: Session, principal: Principal) -> Panel | None:
    if not principal.can(Permission.view_gap_details):
        return None
    report = service.attention_report(session, details=True, limit=5, locale=get_locale())
    return Panel(
        N_("What needs attention"),
        "competency/panel_attention.html",
        {"critical": report.critical[:5], "spof_count": len(report.spof)},
        order=17,
    )


@warmer("competency.gap_reports")
def warm_gap_reports(session: Session) -> None:
    """At worker start: the organisation's cell counts, the default heatmap and attention list."""
    for locale in LOCALES:
        set_locale(locale)
        service.heatmap(session, details=True, locale=locale)
        service.attention_report(session, details=True, limit=5, locale=locale)
