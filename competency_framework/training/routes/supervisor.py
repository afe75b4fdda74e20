"""Supervisors (and HR) on their people's training: a person's plan, approving and declining,
marking a development action done, the team page, and finding and assigning a mentor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, form_id, require
from backend.i18n import _, localized
from backend.web import redirect, render
from competency_framework.training import service
from competency_framework.training.routes.common import (
    PlanPage,
    ViewableEmployee,
    plan_context,
    run_or_flash_back,
    year_of,
)

router = APIRouter(prefix="/training")


@router.get("/people/{employee_id}", dependencies=[require(Permission.approve_training)])
def person_plan(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    year: int | None = None,
):
    if service.is_self(principal, employee):
        return redirect(request, "/training/me")
    context = plan_context(request, session, principal, employee, year_of(request, year))
    return render(request, "training/plan.html", context)


@router.post(
    "/people/{employee_id}/plan/approve", dependencies=[require(Permission.approve_training)]
)
def approve(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    reason: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
):
    page = PlanPage.of(request, session, principal, employee, year)
    return page.run(
        lambda: service.approve_plan(
            session, employee=employee, actor=principal, year=page.year, reason=reason
        ),
        step="approve",
        done=lambda approved: _(
            "%(n)s activities approved for %(name)s.", n=len(approved), name=employee.full_name
        ),
        values={"reason": reason},
    )


@router.post("/items/{item_id}/decline", dependencies=[require(Permission.approve_training)])
def decline_item(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    item_id: int,
    reason: Annotated[str, Form()] = "",
):
    page, item = PlanPage.of_item(request, session, principal, item_id)
    return page.run(
        lambda: service.decline_item(session, item=item, actor=principal, reason=reason),
        step="decline",
        done=_("The activity was declined."),
        values={"reason": reason},
    )


@router.post("/items/{item_id}/done", dependencies=[require(Permission.approve_training)])
def action_done(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    item_id: int,
    note: Annotated[str, Form()] = "",
):
    page, item = PlanPage.of_item(request, session, principal, item_id)
    return page.run(
        lambda: service.complete_described_action(session, item=item, actor=principal, note=note),
        step="mark_done",
        done=_("The development action was marked as done."),
    )


@router.get("/team", dependencies=[require(Permission.approve_training)])
def team(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    q: str = "",
    year: int | None = None,
):
    year = year_of(request, year)
    hr = service.is_training_hr(principal)
    own = principal.user.employee_id
    context = {
        "rows": service.team_plans(session, actor=principal, year=year),
        "found": service.search_plans(session, query=q, year=year) if hr and q.strip() else [],
        "q": q,
        "is_hr": hr,
        "year": year,
        "to_confirm": service.levels_to_confirm(session, supervisor_employee_id=own) if own else [],
    }
    return render(request, "training/team.html", context)


# --- mentoring --------------------------------------------------------------------------------


@router.get("/people/{employee_id}/mentors", dependencies=[require(Permission.approve_training)])
def mentor_suggestions(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: ViewableEmployee,
    competency: str = "",
):
    if "find_mentor" not in service.plan_steps(principal, employee):
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    found, gaps = service.mentoring_gaps(session, employee=employee, competency_code=competency)
    suggestions = (
        service.suggest_mentors(session, employee=employee, competency=found) if found else []
    )
    context = {
        "employee": employee,
        "competency": found,
        "gaps": gaps,
        "suggestions": suggestions,
        "max_mentees": service.rules().max_mentees,
        "errors": {},
    }
    return render(request, "training/mentors.html", context)


def _mentoring(mentor, employee, competency) -> str:
    return _(
        "%(mentor)s will mentor %(name)s in %(competency)s.",
        mentor=mentor.full_name,
        name=employee.full_name,
        competency=localized(competency, "name"),
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
    chosen = form_id(mentor_id, field="mentor_id", required=True)
    found, mentor = service.mentor_choice(session, competency_code=competency, mentor_id=chosen)
    if found is None or mentor is None:
        raise HTTPException(status_code=404, detail=_("Choose a mentor and a competency."))
    back = f"/training/people/{employee.id}/mentors?competency={found.code}"
    return run_or_flash_back(
        request,
        session,
        lambda: service.assign_mentor(
            session, mentee=employee, mentor=mentor, competency=found, actor=principal
        ),
        raised=(403,),
        back=back,
        message=_mentoring(mentor, employee, found),
        to=f"/training/people/{employee.id}",
    )
