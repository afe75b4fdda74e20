"""The organisation's plan: its priorities (HR) and the units' objectives serving them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.schemas import PriorityForm, UnitObjectiveForm
from backend import clock
from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, id_or_none, require
from backend.i18n import _
from backend.web import render

router = APIRouter(prefix="/appraisals")


def _plan_context(session: Session, principal, year: int, this_year: int) -> dict[str, Any]:
    objectives = service.list_unit_objectives(session, year=year)
    years = sorted(set(service.plan_years(session)) | {year, this_year}, reverse=True)
    return {
        "year": year,
        "years": years,
        "priorities": service.list_priorities(session, year=year),
        "unit_objectives": objectives,
        "unit_names": service.unit_names(session, {o.unit_id for o in objectives}),
        "unit_choices": service.unit_choices(session, actor=principal),
        "can_edit_plan": principal.can(Permission.manage_appraisal_cycles),
        "errors": {},
        "values": {},
        "form": "",
    }


@router.get("/plan", dependencies=[require(Permission.take_part_in_appraisals)])
def plan_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    year: int | None = None,
):
    this_year = clock.today(settings).year
    context = _plan_context(session, principal, year or this_year, this_year)
    return render(request, "appraisals/plan.html", context)


def _refused(request, session, settings, principal, *, year: int | None, form: str, values):
    """`on_error`: the plan page's `form` block again with its errors (422)."""
    this_year = clock.today(settings).year

    def context() -> dict[str, Any]:
        shown = _plan_context(session, principal, year or this_year, this_year)
        return {**shown, "form": form}

    return show_form(request, "appraisals/plan.html", context, values=values, block=form)


@router.post("/plan/priorities", dependencies=[require(Permission.manage_appraisal_cycles)])
def add_priority(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: Annotated[PriorityForm, Form()],
):
    return run_action(
        request,
        session,
        lambda: service.add_priority(session, **form.arguments(), actor=principal),
        message=_("The priority was added to the plan."),
        to=lambda priority: f"/appraisals/plan?year={priority.year}",
        on_error=_refused(
            request,
            session,
            settings,
            principal,
            year=id_or_none(form.year),
            form="priority",
            values=form.model_dump(),
        ),
    )


@router.post("/plan/unit-objectives", dependencies=[require(Permission.take_part_in_appraisals)])
def add_unit_objective(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: Annotated[UnitObjectiveForm, Form()],
):
    return run_action(
        request,
        session,
        lambda: service.add_unit_objective(session, **form.arguments(), actor=principal),
        message=_("The unit objective was recorded."),
        to=lambda objective: f"/appraisals/plan?year={objective.year}",
        on_error=_refused(
            request,
            session,
            settings,
            principal,
            year=service.plan_year_shown(session, form.priority_id, form.year),
            form="unit_objective",
            values=form.values(),
        ),
    )
