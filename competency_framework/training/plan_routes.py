"""Plans: my training, a person's plan (supervisor, HR), team plans, enrolment, cancellation,
completion with evidence, certificates, mentoring, my calendar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep, utcnow
from backend.deps import CurrentPrincipal, SettingsDep, form_id, read_form, require
from backend.i18n import _, localized
from backend.org.models import Employee, EmployeeStatus, Position
from backend.web import commit_and_redirect, flash, redirect, render
from competency_framework import service as competency_service
from competency_framework.training import enrolments, ical, mentoring, plans, service
from competency_framework.training.catalogue_routes import _event, ics_response
from competency_framework.training.http import (
    ViewableEmployee,
    enrolment_or_404,
    item_or_404,
    raise_http,
    viewable_employee,
    year_of,
)
from competency_framework.training.models import (
    EnrolmentStatus,
    MentorAssignment,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.service import TrainingError

router = APIRouter(prefix="/training")
api_router = APIRouter(prefix="/training", tags=["training"])


# --- a plan page (mine, or a person's) --------------------------------------------------------


def _plan_context(
    session: Session, principal, employee: Employee, year: int, settings
) -> dict[str, Any]:
    view = plans.plan_view(session, employee=employee, year=year)
    position = session.get(Position, employee.position_id) if employee.position_id else None
    mentors, mentees = mentoring.mentoring_of(session, employee_id=employee.id)
    own = service.is_self(principal, employee)
    addable = [
        a
        for a in service.list_activities(session)
        if not a.is_induction
        and service.audience_of(position.role_code if position else "").value in (a.audience or [])
        and a.id not in {line.item.activity_id for line in view.lines if line.live}
    ]
    return {
        "view": view,
        "employee": employee,
        "position": position,
        "year": year,
        "is_self": own,
        "can_approve": service.can_approve(principal, employee),
        "is_hr": service.is_training_hr(principal),
        "addable": addable,
        "mentors": mentors,
        "mentees": mentees,
        "enrolments": enrolments.my_enrolments(session, employee_id=employee.id),
        "unit_name": plans.unit_name(session, view.plan.unit_id if view.plan else employee.unit_id),
        "errors": {},
        "values": {},
        "now": utcnow(),
    }


def _own_employee(session: Session, principal) -> Employee | None:
    if principal.user.employee_id is None:
        return None
    return session.get(Employee, principal.user.employee_id)


@router.get("/me", dependencies=[require(Permission.manage_own_training)])
def my_training(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    year: int | None = None,
):
    employee = _own_employee(session, principal)
    if employee is None:
        learner = service.learner_for_user(session, principal.user)
        return render(
            request,
            "training/learner.html",
            {
                "learner": learner,
                "enrolments": enrolments.my_enrolments(session, learner_id=learner.id)
                if learner
                else [],
                "now": utcnow(),
            },
        )
    context = _plan_context(session, principal, employee, year_of(request, year), settings)
    return render(request, "training/plan.html", context)


@router.get("/people/{employee_id}", dependencies=[require(Permission.approve_training)])
def person_plan(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    year: int | None = None,
):
    if service.is_self(principal, employee):
        return redirect(request, "/training/me")
    context = _plan_context(session, principal, employee, year_of(request, year), settings)
    return render(request, "training/plan.html", context)


def _back(principal, employee: Employee, year: int) -> str:
    base = (
        "/training/me"
        if service.is_self(principal, employee)
        else f"/training/people/{employee.id}"
    )
    return base if year == service.plan_year() else f"{base}?year={year}"


@dataclass
class PlanAction:
    """A change to someone's training plan, with what it needs: the routes' dependency."""

    request: Request
    session: Session
    principal: Principal

    def run(
        self,
        employee: Employee,
        year: int,
        action: Callable[[], Any],
        done: str | Callable[[Any], str],
        values: dict | None = None,
    ) -> Response:
        """Return to the plan once `action()` is committed, with `done` (or `done(what the
        action returned)`) flashed; when refused, the plan's actions again (422) or 403/404/409."""
        try:
            result = action()
        except TrainingError as err:
            return self.refused(employee, year, err, values)
        message = done(result) if callable(done) else done
        back = _back(self.principal, employee, year)
        return commit_and_redirect(self.request, self.session, message, back)

    def refused(
        self, employee: Employee, year: int, err: TrainingError, values: dict | None = None
    ) -> Response:
        """Re-render the plan page's form block with the error (422), or raise 403/404/409."""
        self.session.rollback()
        if err.status_code != 422:
            raise_http(err)
        settings = self.request.app.state.settings
        context = _plan_context(self.session, self.principal, employee, year, settings)
        context["errors"] = err.errors or {"plan": str(err)}
        context["values"] = values or {}
        return render(self.request, "training/plan.html", context, status_code=422, block="actions")


def _plan_action(request: Request, session: SessionDep, principal: CurrentPrincipal) -> PlanAction:
    return PlanAction(request, session, principal)


# A route parameter: a change to a training plan (the route loads whose and which year).
OnPlan = Annotated[PlanAction, Depends(_plan_action)]


def _proposed(proposal: plans.PlanProposal) -> str:
    message = _("%(n)s activities proposed from the gaps.", n=len(proposal.items))
    if proposal.over_budget:
        message += " " + _(
            "%(n)s more did not fit in the unit's training budget.", n=proposal.over_budget
        )
    return message


@router.post(
    "/people/{employee_id}/plan/propose", dependencies=[require(Permission.manage_own_training)]
)
def propose(act: OnPlan, employee: ViewableEmployee, year: Annotated[int | None, Form()] = None):
    year = year_of(act.request, year)
    return act.run(
        employee,
        year,
        lambda: plans.propose_plan(act.session, employee=employee, actor=act.principal, year=year),
        _proposed,
    )


@router.post(
    "/people/{employee_id}/plan/items", dependencies=[require(Permission.manage_own_training)]
)
def add_item(
    act: OnPlan,
    employee: ViewableEmployee,
    activity: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
):
    year = year_of(act.request, year)

    def action():
        found = service.get_activity(act.session, activity)
        if found is None:
            raise TrainingError(_("Choose an activity from the catalogue."), field="activity")
        plans.add_item(
            act.session, employee=employee, activity=found, actor=act.principal, year=year
        )

    return act.run(
        employee,
        year,
        action,
        _("The activity was added to the plan; it needs approval."),
        {"activity": activity},
    )


@router.post(
    "/people/{employee_id}/plan/submit", dependencies=[require(Permission.manage_own_training)]
)
def submit(act: OnPlan, employee: ViewableEmployee, year: Annotated[int | None, Form()] = None):
    year = year_of(act.request, year)
    return act.run(
        employee,
        year,
        lambda: plans.submit_plan(act.session, employee=employee, actor=act.principal, year=year),
        _("Your plan was sent to your supervisor for approval."),
    )


@router.post(
    "/people/{employee_id}/plan/approve", dependencies=[require(Permission.approve_training)]
)
def approve(
    act: OnPlan,
    employee: ViewableEmployee,
    reason: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
):
    year = year_of(act.request, year)
    return act.run(
        employee,
        year,
        lambda: plans.approve_plan(
            act.session, employee=employee, actor=act.principal, year=year, reason=reason
        ),
        lambda approved: _(
            "%(n)s activities approved for %(name)s.", n=len(approved), name=employee.full_name
        ),
        {"reason": reason},
    )


@router.post("/items/{item_id}/remove", dependencies=[require(Permission.manage_own_training)])
def remove_item(act: OnPlan, item_id: int, reason: Annotated[str, Form()] = ""):
    item, employee, year = _plan_item(act, item_id)
    return act.run(
        employee,
        year,
        lambda: plans.remove_item(act.session, item=item, actor=act.principal, reason=reason),
        _("The activity was taken out of your plan."),
    )


@router.post("/items/{item_id}/decline", dependencies=[require(Permission.approve_training)])
def decline_item(act: OnPlan, item_id: int, reason: Annotated[str, Form()] = ""):
    item, employee, year = _plan_item(act, item_id)
    return act.run(
        employee,
        year,
        lambda: plans.decline_item(act.session, item=item, actor=act.principal, reason=reason),
        _("The activity was declined."),
        {"reason": reason},
    )


@router.post("/items/{item_id}/done", dependencies=[require(Permission.approve_training)])
def action_done(act: OnPlan, item_id: int, note: Annotated[str, Form()] = ""):
    item, employee, year = _plan_item(act, item_id)
    return act.run(
        employee,
        year,
        lambda: plans.complete_described_action(
            act.session, item=item, actor=act.principal, note=note
        ),
        _("The development action was marked as done."),
    )


def _plan_item(act: PlanAction, item_id: int) -> tuple[TrainingPlanItem, Employee, int]:
    """Return the plan item the principal may see (else 404), its employee and its plan's year."""
    item = item_or_404(act.session, act.principal, item_id)
    employee = act.session.get(Employee, item.employee_id)
    return item, employee, act.session.get(TrainingPlan, item.plan_id).year


# --- enrolment --------------------------------------------------------------------------------


@router.post("/sessions/{session_id}/enrol", dependencies=[require(Permission.manage_own_training)])
def enrol_me(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: int,
    employee_id: Annotated[str, Form()] = "",
):
    own = principal.user.employee_id
    target = form_id(employee_id, field="employee_id") or own
    if target is None:
        raise HTTPException(
            status_code=409, detail=_("Your account is not linked to an employee record.")
        )
    employee = viewable_employee(session, principal, target)
    row = session.get(TrainingSession, session_id)
    if row is None:
        raise HTTPException(status_code=404, detail=_("This session does not exist."))
    back = _back(principal, employee, service.plan_year())
    try:
        enrolment = enrolments.enrol_employee(
            session, training_session_id=session_id, employee=employee, actor=principal
        )
    except TrainingError as err:
        return _refused_back(request, session, err, back, raised=(403, 404))
    if enrolment.status == EnrolmentStatus.waitlisted:
        return commit_and_redirect(
            request,
            session,
            _("The session is full: you are on the waiting list for the next free seat."),
            back,
            level="warning",
        )
    return commit_and_redirect(
        request, session, _("Enrolled. The session is in your calendar file."), back
    )


def _refused_back(
    request: Request, session: Session, err: TrainingError, url: str, *, raised: tuple[int, ...]
) -> Response:
    """Undo a refused action and return to `url` saying why, or raise the `raised` statuses."""
    session.rollback()
    if err.status_code in raised:
        raise_http(err)
    flash(request, str(err), "error")
    session.commit()
    return redirect(request, url)


def _after_enrolment(session: Session, principal, enrolment: TrainingEnrolment) -> str:
    """Return the page to go back to after acting on an enrolment: the person's plan, or the
    learner's page for someone without an employee record."""
    if enrolment.employee_id is None:
        return "/training/me"
    employee = session.get(Employee, enrolment.employee_id)
    return _back(principal, employee, service.plan_year())


@router.post(
    "/enrolments/{enrolment_id}/cancel", dependencies=[require(Permission.manage_own_training)]
)
def cancel_enrolment(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    enrolment_id: int,
    reason: Annotated[str, Form()] = "",
):
    enrolment = enrolment_or_404(session, principal, enrolment_id)
    try:
        enrolments.cancel(session, enrolment=enrolment, actor=principal, reason=reason)
    except TrainingError as err:
        session.rollback()
        raise_http(err)
    return commit_and_redirect(
        request,
        session,
        _("The enrolment was cancelled."),
        _after_enrolment(session, principal, enrolment),
    )


def _completion_context(session: Session, enrolment) -> dict[str, Any]:
    return {
        "enrolment": enrolment,
        "row": session.get(TrainingSession, enrolment.session_id),
        "activity": session.get(TrainingActivity, enrolment.activity_id),
        "learner": enrolments.learner_name(session, enrolment),
        "errors": {},
        "values": {},
    }


@router.get(
    "/enrolments/{enrolment_id}/complete", dependencies=[require(Permission.manage_own_training)]
)
def completion_form(
    request: Request, session: SessionDep, principal: CurrentPrincipal, enrolment_id: int
):
    enrolment = enrolment_or_404(session, principal, enrolment_id)
    return render(request, "training/complete.html", _completion_context(session, enrolment))


@router.post(
    "/enrolments/{enrolment_id}/complete", dependencies=[require(Permission.manage_own_training)]
)
async def complete(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    enrolment_id: int,
):
    enrolment = enrolment_or_404(session, principal, enrolment_id)
    form = await read_form(request)
    upload = form.get("certificate")
    certificate = None
    if upload is not None and not isinstance(upload, str):
        data = await upload.read()
        if data:
            certificate = enrolments.Certificate(
                upload.filename or "", upload.content_type or "", data
            )
    score = str(form.get("score", ""))
    note = str(form.get("note", ""))
    try:
        result = enrolments.complete(
            session,
            settings,
            enrolment=enrolment,
            actor=principal,
            score=score,
            certificate=certificate,
            note=note,
        )
        session.commit()
    except TrainingError as err:
        session.rollback()
        enrolments.discard_written_files(session)
        if err.status_code != 422:
            raise_http(err)
        context = _completion_context(session, enrolment_or_404(session, principal, enrolment_id))
        context["errors"] = err.errors
        context["values"] = {"score": score, "note": note}
        return render(request, "training/complete.html", context, status_code=422, block="form")
    except Exception:
        session.rollback()
        enrolments.discard_written_files(session)
        raise
    enrolments.forget_written_files(session)
    if result.passed:
        flash(
            request,
            _("Completion recorded.")
            + (
                " " + _("The supervisor will be asked to confirm the new level.")
                if result.rating_entries
                else ""
            ),
        )
        session.commit()
    else:
        flash(request, _("Recorded as not passed (below the pass mark)."), "warning")
        session.commit()
    return redirect(request, _after_enrolment(session, principal, enrolment))


@router.get(
    "/enrolments/{enrolment_id}/certificate",
    dependencies=[require(Permission.manage_own_training)],
)
def certificate(
    session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal, enrolment_id: int
):
    enrolment = enrolment_or_404(session, principal, enrolment_id)
    path = enrolments.certificate_path(settings, enrolment)
    if path is None:
        raise HTTPException(status_code=404, detail=_("No certificate was uploaded."))
    extension = path.suffix
    return FileResponse(
        path,
        media_type=enrolment.certificate_type or "application/octet-stream",
        filename=f"certificate-{enrolment.id}{extension}",
        content_disposition_type="attachment",
    )


@router.get("/me/calendar.ics", dependencies=[require(Permission.manage_own_training)])
def my_calendar_ics(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    own = principal.user.employee_id
    if own is not None:
        rows = enrolments.my_enrolments(session, employee_id=own)
    else:
        learner = service.learner_for_user(session, principal.user)
        rows = enrolments.my_enrolments(session, learner_id=learner.id) if learner else []
    host = request.url.hostname or "merito"
    events = [
        _event(activity, row, host)
        for enrolment, row, activity in rows
        if enrolment.status in (EnrolmentStatus.enrolled, EnrolmentStatus.completed)
    ]
    body = ical.calendar(events, zone=service.org_zone(settings), name=_("My training"))
    return ics_response(body, "my-training.ics")


# --- supervisors ------------------------------------------------------------------------------


@router.get("/team", dependencies=[require(Permission.approve_training)])
def team(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    q: str = "",
    year: int | None = None,
):
    year = year_of(request, year)
    rows = plans.team_plans(session, actor=principal, year=year)
    found = []
    hr = service.is_training_hr(principal)
    if hr and q.strip():
        needle = f"%{q.strip()}%"
        people = session.exec(
            select(Employee, Position)
            .join(Position, col(Employee.position_id) == Position.id, isouter=True)
            .where(
                Employee.status != EmployeeStatus.left,
                col(Employee.number).ilike(needle)
                | col(Employee.last_name).ilike(needle)
                | col(Employee.first_name).ilike(needle),
            )
            .order_by(col(Employee.last_name))
            .limit(50)
        ).all()
        found = plans.plans_for_people(session, list(people), year)
    to_confirm = (
        enrolments.levels_to_confirm(session, supervisor_employee_id=principal.user.employee_id)
        if principal.user.employee_id
        else []
    )
    return render(
        request,
        "training/team.html",
        {
            "rows": rows,
            "found": found,
            "q": q,
            "is_hr": hr,
            "year": year,
            "to_confirm": to_confirm,
        },
    )


# --- mentoring --------------------------------------------------------------------------------


@router.get("/people/{employee_id}/mentors", dependencies=[require(Permission.approve_training)])
def mentor_suggestions(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    competency: str = "",
):
    if not service.can_approve(principal, employee):
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    found = competency_service.get_competency(session, competency) if competency else None
    profile = competency_service.person_gap_profile(session, employee=employee)
    gaps = [r for r in profile.rows if r.gap > 0]
    if found is None and gaps:
        found = max(gaps, key=lambda r: (r.gap, r.importance == "essential")).competency
    suggestions = (
        mentoring.suggest_mentors(session, employee=employee, competency=found) if found else []
    )
    return render(
        request,
        "training/mentors.html",
        {
            "employee": employee,
            "competency": found,
            "gaps": gaps,
            "suggestions": suggestions,
            "max_mentees": service.rules().max_mentees,
            "errors": {},
        },
    )


@router.post("/people/{employee_id}/mentors", dependencies=[require(Permission.approve_training)])
def assign_mentor(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    mentor_id: Annotated[str, Form()],
    competency: Annotated[str, Form()] = "",
):
    found = competency_service.get_competency(session, competency)
    mentor = session.get(Employee, form_id(mentor_id, field="mentor_id", required=True))
    if found is None or mentor is None:
        raise HTTPException(status_code=404, detail=_("Choose a mentor and a competency."))
    try:
        mentoring.assign_mentor(
            session, mentee=employee, mentor=mentor, competency=found, actor=principal
        )
    except TrainingError as err:
        return _refused_back(
            request,
            session,
            err,
            f"/training/people/{employee.id}/mentors?competency={found.code}",
            raised=(403,),
        )
    return commit_and_redirect(
        request,
        session,
        _(
            "%(mentor)s will mentor %(name)s in %(competency)s.",
            mentor=mentor.full_name,
            name=employee.full_name,
            competency=localized(found, "name"),
        ),
        f"/training/people/{employee.id}",
    )


@router.post(
    "/mentoring/{assignment_id}/end", dependencies=[require(Permission.manage_own_training)]
)
def end_mentoring(
    request: Request, session: SessionDep, principal: CurrentPrincipal, assignment_id: int
):
    assignment = session.get(MentorAssignment, assignment_id)
    if assignment is None:
        raise HTTPException(status_code=404, detail=_("This mentoring does not exist."))
    try:
        mentoring.end_mentoring(session, assignment=assignment, actor=principal)
    except TrainingError as err:
        session.rollback()
        if err.status_code == 403:
            raise HTTPException(status_code=404, detail=_("This mentoring does not exist."))
        raise_http(err)
    return commit_and_redirect(request, session, _("The mentoring has ended."), "/training/me")


# --- JSON API ---------------------------------------------------------------------------------


class PlanItemOut(BaseModel):
    id: int
    activity: str | None
    competency: str | None
    origin: str
    status: str
    priority: int
    gap: int
    current_level: int | None
    target_level: int | None
    cost: int
    description: str
    enrolment_status: str | None


class PlanOut(BaseModel):
    employee_id: int
    year: int
    status: str | None
    items: list[PlanItemOut]
    pending_cost: int
    approved_cost: int
    unit_budget: int | None
    unit_committed: int
    over_budget: bool


def _plan_out(view: plans.PlanView) -> PlanOut:
    return PlanOut(
        employee_id=view.employee.id,
        year=view.year,
        status=view.plan.status if view.plan else None,
        items=[
            PlanItemOut(
                id=line.item.id,
                activity=line.activity.code if line.activity else None,
                competency=line.competency.code if line.competency else None,
                origin=line.item.origin,
                status=line.item.status,
                priority=line.item.priority,
                gap=line.item.gap,
                current_level=line.item.current_level,
                target_level=line.item.target_level,
                cost=line.item.cost,
                description=line.item.description,
                enrolment_status=line.enrolment.status if line.enrolment else None,
            )
            for line in view.lines
        ],
        pending_cost=view.pending_cost,
        approved_cost=view.approved_cost,
        unit_budget=view.budget.amount,
        unit_committed=view.budget.committed,
        over_budget=view.over_budget,
    )


@api_router.get(
    "/people/{employee_id}/plan",
    response_model=PlanOut,
    dependencies=[require(Permission.manage_own_training)],
)
def plan_json(
    request: Request,
    session: SessionDep,
    employee: ViewableEmployee,
    year: int | None = None,
):
    """A person's plan for the year (the person, their supervisor or HR)."""
    return _plan_out(plans.plan_view(session, employee=employee, year=year_of(request, year)))
