"""The person's own training: my training (or a supplier learner's page), changing my plan,
enrolling, cancelling, recording completion with evidence, certificates, my calendar, and
ending a mentoring."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from backend import clock
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, form_id, read_form, require
from backend.i18n import _
from backend.web import render
from competency_framework.training import schemas, service
from competency_framework.training.models import (
    EnrolmentStatus,
    MentorAssignment,
    TrainingActivity,
    TrainingSession,
)
from competency_framework.training.routes.common import (
    PlanPage,
    ViewableEmployee,
    after_enrolment,
    calendar_answer,
    enrolment_or_404,
    form_again,
    plan_context,
    plan_url,
    run_or_flash_back,
    viewable_employee,
    year_of,
)

router = APIRouter(prefix="/training")


@router.get("/me", dependencies=[require(Permission.manage_own_training)])
def my_training(
    request: Request, session: SessionDep, principal: CurrentPrincipal, year: int | None = None
):
    employee = service.own_employee(session, principal)
    if employee is not None:
        context = plan_context(request, session, principal, employee, year_of(request, year))
        return render(request, "training/plan.html", context)
    learner = service.learner_for_user(session, principal.user)
    enrolments = service.my_enrolments(session, learner_id=learner.id) if learner else []
    return render(
        request,
        "training/learner.html",
        {"learner": learner, "enrolments": enrolments, "now": clock.now()},
    )


# --- changing my plan -------------------------------------------------------------------------


def _proposed(proposal: service.PlanProposal) -> str:
    message = _("%(n)s activities proposed from the gaps.", n=len(proposal.items))
    if proposal.over_budget:
        message += " " + _(
            "%(n)s more did not fit in the unit's training budget.", n=proposal.over_budget
        )
    return message


@router.post(
    "/people/{employee_id}/plan/propose", dependencies=[require(Permission.manage_own_training)]
)
def propose(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    year: Annotated[int | None, Form()] = None,
):
    page = PlanPage.of(request, session, principal, employee, year)
    return page.run(
        lambda: service.propose_plan(session, employee=employee, actor=principal, year=page.year),
        step="propose",
        done=_proposed,
    )


@router.post(
    "/people/{employee_id}/plan/items", dependencies=[require(Permission.manage_own_training)]
)
def add_item(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    activity: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
):
    page = PlanPage.of(request, session, principal, employee, year)
    return page.run(
        lambda: service.add_activity_by_code(
            session, employee=employee, code=activity, actor=principal, year=page.year
        ),
        step="add",
        done=_("The activity was added to the plan; it needs approval."),
        values={"activity": activity},
    )


@router.post(
    "/people/{employee_id}/plan/submit", dependencies=[require(Permission.manage_own_training)]
)
def submit(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    year: Annotated[int | None, Form()] = None,
):
    page = PlanPage.of(request, session, principal, employee, year)
    return page.run(
        lambda: service.submit_plan(session, employee=employee, actor=principal, year=page.year),
        step="submit",
        done=_("Your plan was sent to your supervisor for approval."),
    )


@router.post("/items/{item_id}/remove", dependencies=[require(Permission.manage_own_training)])
def remove_item(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    item_id: int,
    reason: Annotated[str, Form()] = "",
):
    page, item = PlanPage.of_item(request, session, principal, item_id)
    return page.run(
        lambda: service.remove_item(session, item=item, actor=principal, reason=reason),
        step="remove",
        done=_("The activity was taken out of your plan."),
    )


# --- enrolment --------------------------------------------------------------------------------


def _enrolled(enrolment) -> str:
    if enrolment.status == EnrolmentStatus.waitlisted:
        return _("The session is full: you are on the waiting list for the next free seat.")
    return _("Enrolled. The session is in your calendar file.")


def _enrolled_level(enrolment) -> str:
    return "warning" if enrolment.status == EnrolmentStatus.waitlisted else "success"


def _enrolling(request: Request, session: Session, principal, employee_id: str, session_id: int):
    """Return whom to enrol (the form's employee, else the principal's record) and their plan's
    page; 409 for an account without an employee record, 404 for no such person or session."""
    target = form_id(employee_id, field="employee_id") or principal.user.employee_id
    if target is None:
        raise HTTPException(
            status_code=409, detail=_("Your account is not linked to an employee record.")
        )
    employee = viewable_employee(session, principal, target)
    if session.get(TrainingSession, session_id) is None:
        raise HTTPException(status_code=404, detail=_("This session does not exist."))
    this_year = service.plan_year(request.app.state.settings)
    return employee, plan_url(request, principal, employee, this_year)


@router.post("/sessions/{session_id}/enrol", dependencies=[require(Permission.manage_own_training)])
def enrol_me(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: int,
    employee_id: Annotated[str, Form()] = "",
):
    employee, back = _enrolling(request, session, principal, employee_id, session_id)
    return run_or_flash_back(
        request,
        session,
        lambda: service.enrol_employee(
            session, training_session_id=session_id, employee=employee, actor=principal
        ),
        raised=(403, 404),
        back=back,
        message=_enrolled,
        level=_enrolled_level,
    )


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
    return run_action(
        request,
        session,
        lambda: service.cancel(session, enrolment=enrolment, actor=principal, reason=reason),
        message=_("The enrolment was cancelled."),
        to=lambda _result: after_enrolment(request, session, principal, enrolment),
    )


# --- completion -------------------------------------------------------------------------------


def _completion_context(session: Session, enrolment) -> dict[str, Any]:
    return {
        "enrolment": enrolment,
        "row": session.get(TrainingSession, enrolment.session_id),
        "activity": session.get(TrainingActivity, enrolment.activity_id),
        "learner": service.learner_name(session, enrolment),
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


def _completed(result: service.Completion) -> str:
    if not result.passed:
        return _("Recorded as not passed (below the pass mark).")
    message = _("Completion recorded.")
    if result.rating_entries:
        message += " " + _("The supervisor will be asked to confirm the new level.")
    return message


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
    form = schemas.CompletionForm.parse(await read_form(request))
    form.file = await form.certificate()
    try:
        response = _record_completion(request, session, settings, principal, enrolment, form)
    except Exception:
        session.rollback()
        service.discard_written_files(session)
        raise
    service.forget_written_files(session)
    return response


def _record_completion(request, session, settings, principal, enrolment, form) -> Response:
    return run_action(
        request,
        session,
        lambda: service.complete(
            session,
            settings,
            enrolment=enrolment,
            actor=principal,
            score=form.score,
            certificate=form.file,
            note=form.note,
            certificate_expires_on=form.expires_on,
        ),
        message=_completed,
        level=lambda result: "success" if result.passed else "warning",
        to=after_enrolment(request, session, principal, enrolment),
        on_error=_completion_refused(request, session, principal, enrolment.id, form),
    )


def _completion_refused(request, session, principal, enrolment_id: int, form):
    """`on_error`: delete the certificate written for the refused completion, show the form."""
    again = form_again(
        request,
        "training/complete.html",
        lambda: _completion_context(session, enrolment_or_404(session, principal, enrolment_id)),
        values={
            "score": form.score,
            "note": form.note,
            "certificate_expires_on": form.expires_on,
        },
        block="form",
        field="certificate",
    )

    def answer(err):
        service.discard_written_files(session)
        return again(err)

    return answer


@router.get(
    "/enrolments/{enrolment_id}/certificate",
    dependencies=[require(Permission.manage_own_training)],
)
def certificate(
    session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal, enrolment_id: int
):
    enrolment = enrolment_or_404(session, principal, enrolment_id)
    path = service.certificate_path(settings, enrolment)
    if path is None:
        raise HTTPException(status_code=404, detail=_("No certificate was uploaded."))
    return FileResponse(
        path,
        media_type=enrolment.certificate_type or "application/octet-stream",
        filename=f"certificate-{enrolment.id}{path.suffix}",
        content_disposition_type="attachment",
    )


@router.get("/me/calendar.ics", dependencies=[require(Permission.manage_own_training)])
def my_calendar_ics(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    rows = service.calendar_rows(session, principal.user)
    sessions = [(activity, row) for _enrolment, row, activity in rows]
    return calendar_answer(
        request, settings, sessions, name=_("My training"), filename="my-training.ics"
    )


# --- mentoring --------------------------------------------------------------------------------


@router.post(
    "/mentoring/{assignment_id}/end", dependencies=[require(Permission.manage_own_training)]
)
def end_mentoring(
    request: Request, session: SessionDep, principal: CurrentPrincipal, assignment_id: int
):
    assignment = session.get(MentorAssignment, assignment_id)
    if assignment is None or not service.may_end_mentoring(session, principal, assignment):
        raise HTTPException(status_code=404, detail=_("This mentoring does not exist."))
    return run_action(
        request,
        session,
        lambda: service.end_mentoring(session, assignment=assignment, actor=principal),
        message=_("The mentoring has ended."),
        to="/training/me",
    )
