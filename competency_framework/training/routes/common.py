"""What every training router shares: loading what a path names (404 otherwise), the plan year
a page asks for, where to go back to, refusals shown as a message, iCalendar answers, money, and
the navigation entries and template globals (registered once, when the routers are imported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend import calendar, clock
from backend.actions import Level, Message, Target, run_action
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, form_int
from backend.errors import DomainError
from backend.files import content_disposition
from backend.i18n import N_, _, fmt
from backend.org.models import Employee
from backend.web import NavItem, flash, redirect, register_nav, render_form_errors, templates
from competency_framework.training import notices as session_notices
from competency_framework.training import panels, service
from competency_framework.training.models import (
    AUDIENCE_LABELS,
    ENROLMENT_STATUS_LABELS,
    EVIDENCE_LABELS,
    ITEM_STATUS_LABELS,
    MODALITY_LABELS,
    ORIGIN_LABELS,
    PLAN_STATUS_LABELS,
    Audience,
    Modality,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlanItem,
    TrainingSession,
)

T = TypeVar("T")


def money(value: int | float | None) -> str:
    """Return an amount in pesos as shown on pages: $12,500."""
    if value is None:
        return "—"
    return "$" + fmt().number(round(value))


register_nav(NavItem(N_("My training"), "/training/me", Permission.manage_own_training, order=30))
register_nav(
    NavItem(N_("Catalogue"), "/training/catalogue", Permission.view_training_catalogue, order=31)
)
register_nav(NavItem(N_("Team training"), "/training/team", Permission.approve_training, order=32))
register_nav(
    NavItem(N_("Training needs"), "/training/needs", Permission.view_training_needs, order=33)
)
register_nav(
    NavItem(
        N_("Training admin"), "/training/manage", Permission.manage_training_catalogue, order=34
    )
)

assert panels  # registers the dashboard panels
templates().globals.update(
    format_money=money,
    MODALITY_LABELS=MODALITY_LABELS,
    AUDIENCE_LABELS=AUDIENCE_LABELS,
    EVIDENCE_LABELS=EVIDENCE_LABELS,
    ITEM_STATUS_LABELS=ITEM_STATUS_LABELS,
    ORIGIN_LABELS=ORIGIN_LABELS,
    PLAN_STATUS_LABELS=PLAN_STATUS_LABELS,
    ENROLMENT_STATUS_LABELS=ENROLMENT_STATUS_LABELS,
)


# --- what a path names ------------------------------------------------------------------------


def activity_or_404(session: Session, code: str) -> TrainingActivity:
    activity = service.get_activity(session, code)
    if activity is None:
        raise HTTPException(status_code=404, detail=_("This activity is not in the catalogue."))
    return activity


def session_or_404(session: Session, session_id: int) -> TrainingSession:
    row = session.get(TrainingSession, session_id)
    if row is None:
        raise HTTPException(status_code=404, detail=_("This session does not exist."))
    return row


def viewable_employee(session: Session, principal: Actor, employee_id: int) -> Employee:
    """Return the employee whose plan `principal` may see; 404 otherwise (who exists is private)."""
    employee = session.get(Employee, employee_id)
    if employee is None or not service.can_view_plan(principal, employee):
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    return employee


def _viewable_employee_in_path(
    session: SessionDep, principal: CurrentPrincipal, employee_id: int
) -> Employee:
    return viewable_employee(session, principal, employee_id)


# A route parameter: the employee the path names, if the principal may see their plan (else 404).
ViewableEmployee = Annotated[Employee, Depends(_viewable_employee_in_path)]


def item_or_404(session: Session, principal: Actor, item_id: int) -> TrainingPlanItem:
    item = session.get(TrainingPlanItem, item_id)
    employee = session.get(Employee, item.employee_id) if item else None
    if item is None or employee is None or not service.can_view_plan(principal, employee):
        raise HTTPException(status_code=404, detail=_("This plan item does not exist."))
    return item


def enrolment_or_404(session: Session, principal: Actor, enrolment_id: int) -> TrainingEnrolment:
    enrolment = session.get(TrainingEnrolment, enrolment_id)
    if enrolment is None or not service.can_act_on(session, principal, enrolment):
        raise HTTPException(status_code=404, detail=_("This enrolment does not exist."))
    return enrolment


def year_of(request: Request, year: int | None) -> int:
    """Return the plan year a page or form asks for (this plan year when none), or refuse one
    outside 2000–2100 by the field's name (`year`, from the query or the form: 422)."""
    if year is None:
        return service.plan_year(request.app.state.settings)
    chosen = form_int(
        year,
        field="year",
        low=2000,
        high=2100,
        message=_("Choose a year between 2000 and 2100."),
        location="query" if request.method in ("GET", "HEAD") else "body",
    )
    assert chosen is not None  # a number, never empty
    return chosen


# --- where to go back to ----------------------------------------------------------------------


def plan_url(request: Request, principal: Actor, employee: Employee, year: int) -> str:
    """Return the plan page of `employee` for `year`: "my training" for the person."""
    base = (
        "/training/me"
        if service.is_self(principal, employee)
        else f"/training/people/{employee.id}"
    )
    this_year = service.plan_year(request.app.state.settings)
    return base if year == this_year else f"{base}?year={year}"


def after_enrolment(
    request: Request, session: Session, principal: Actor, enrolment: TrainingEnrolment
) -> str:
    """Return the page to go back to after acting on an enrolment: the person's plan, or the
    learner's page for someone without an employee record."""
    if enrolment.employee_id is None:
        return "/training/me"
    employee = session.get(Employee, enrolment.employee_id)
    return plan_url(request, principal, employee, service.plan_year(request.app.state.settings))


def flash_back(request: Request, session: Session, url: str) -> Callable[[DomainError], Response]:
    """`on_error` that goes back to `url` saying why the action was refused (nothing saved)."""

    def answer(err: DomainError) -> Response:
        flash(request, str(err), "error")
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            session.add(principal.session)
        session.commit()
        return redirect(request, url)

    return answer


def refused_in_form(action: Callable[[], T], *, raised: tuple[int, ...]) -> Callable[[], T]:
    """Return `action` with every refusal but the `raised` statuses (say 409: the session is
    closed) turned into a 422, so `run_action` answers it with its `on_error` (the form, or a
    message) instead of the error page."""

    def run() -> T:
        try:
            return action()
        except DomainError as err:
            if err.status_code == 422 or err.status_code in raised:
                raise
            raise service.TrainingError(str(err), field=err.field, errors=err.errors) from None

    return run


# --- iCalendar --------------------------------------------------------------------------------


def ics_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": content_disposition(filename)},
    )


def calendar_answer(
    request: Request,
    settings: Settings,
    sessions: Iterable[tuple[TrainingActivity, TrainingSession]],
    *,
    name: str,
    filename: str,
) -> Response:
    """Answer an iCalendar file named `filename` of these sessions (each with its activity)."""
    host = session_notices.host(settings, request.url.hostname or "merito")
    events = [session_notices.session_event(activity, row, host) for activity, row in sessions]
    body = calendar.calendar(events, zone=service.org_zone(settings), name=name)
    return ics_response(body, filename)


# --- choices ----------------------------------------------------------------------------------


def choice_options() -> dict[str, list[tuple[str, str]]]:
    """Return the modality and audience choices of a form or a filter, labelled."""
    return {
        "modality_options": [(m.value, _(MODALITY_LABELS[m])) for m in Modality],
        "audience_options": [(a.value, _(AUDIENCE_LABELS[a])) for a in Audience],
    }


# --- refused forms ----------------------------------------------------------------------------


def form_again(
    request: Request,
    template: str,
    context: Callable[[], dict[str, Any]],
    *,
    values: dict[str, Any],
    block: str,
    field: str,
) -> Callable[[DomainError], Response]:
    """`on_error` that shows the form again (422) with what was typed; a refusal that names no
    field is shown at `field`."""

    def answer(err: DomainError) -> Response:
        return render_form_errors(
            request,
            template,
            context(),
            errors=err.errors or {field: str(err)},
            values=values,
            block=block,
        )

    return answer


def run_form(
    request: Request,
    session: Session,
    action: Callable[[], Any],
    *,
    message: Message,
    to: Target,
    template: str,
    context: Callable[[], dict[str, Any]],
    values: dict[str, Any],
    block: str,
    field: str,
    level: Level = "success",
) -> Response:
    """`run_action` for a form: a refused form (422) is shown again (`form_again`)."""
    return run_action(
        request,
        session,
        action,
        message=message,
        to=to,
        level=level,
        on_error=form_again(request, template, context, values=values, block=block, field=field),
    )


def run_or_flash_back(
    request: Request,
    session: Session,
    action: Callable[[], Any],
    *,
    raised: tuple[int, ...],
    back: str,
    message: Message,
    to: Target | None = None,
    level: Level = "success",
) -> Response:
    """`run_action` for a button: every refusal but the `raised` statuses goes back to `back`
    saying why (`refused_in_form`, `flash_back`); done, to `to` (else `back`)."""
    return run_action(
        request,
        session,
        refused_in_form(action, raised=raised),
        message=message,
        to=to if to is not None else back,
        level=level,
        on_error=flash_back(request, session, back),
    )


# --- a plan page (mine, or a person's) --------------------------------------------------------


def plan_context(
    request: Request, session: Session, principal: Actor, employee: Employee, year: int
) -> dict[str, Any]:
    """Return the plan page's context: the plan, what may be added, mentoring, enrolments and
    the steps the principal may take (`service.plan_steps`)."""
    view = service.plan_view(session, employee=employee, year=year)
    steps = service.plan_steps(principal, employee)
    mentors, mentees = service.mentoring_of(session, employee_id=employee.id)
    return {
        "view": view,
        "employee": employee,
        "position": service.position_of(session, employee),
        "year": year,
        "steps": steps,
        "is_self": service.is_self(principal, employee),
        "addable": service.addable_activities(session, view),
        "mentors": mentors,
        "mentees": mentees,
        "enrolments": service.my_enrolments(session, employee_id=employee.id),
        "unit_name": service.unit_name(
            session, view.plan.unit_id if view.plan else employee.unit_id
        ),
        "errors": {},
        "values": {},
        "now": clock.now(),
        "validity": service.validity_on(clock.today(service.settings_of(session))),
    }


@dataclass
class PlanPage:
    """A change to `employee`'s plan for `year`, asked for from the plan page."""

    request: Request
    session: Session
    principal: Actor
    employee: Employee
    year: int

    @classmethod
    def of(
        cls, request: Request, session: Session, principal: Actor, employee: Employee, year: Any
    ) -> PlanPage:
        """The plan page of `employee` for the year the form asks for (`year_of`)."""
        return cls(request, session, principal, employee, year_of(request, year))

    @classmethod
    def of_item(
        cls, request: Request, session: Session, principal: Actor, item_id: int
    ) -> tuple[PlanPage, TrainingPlanItem]:
        """The plan page that holds the item the path names (404 if the principal may not see
        it), and the item."""
        item = item_or_404(session, principal, item_id)
        employee, year = service.item_owner(session, item)
        return cls(request, session, principal, employee, year), item

    def run(
        self,
        action: Callable[[], Any],
        *,
        step: str,
        done: str | Callable[[Any], str],
        values: dict[str, Any] | None = None,
    ) -> Response:
        """Run the change and go back to the plan with `done`; when refused, the plan page's
        actions again (422) with the reason (403/404/409: the error page). Refused with 403
        first unless `step` is among the principal's `service.plan_steps` (the page's buttons)."""
        service.require_step(self.principal, self.employee, step)
        return run_form(
            self.request,
            self.session,
            action,
            message=done,
            to=plan_url(self.request, self.principal, self.employee, self.year),
            template="training/plan.html",
            context=lambda: plan_context(
                self.request, self.session, self.principal, self.employee, self.year
            ),
            values=values or {},
            block="actions",
            field="plan",
        )
