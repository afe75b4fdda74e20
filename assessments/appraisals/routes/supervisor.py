"""Supervisors' pages: team objectives, proposing objectives, the dialogue, and the reviews of
second-level managers (who are supervisors of supervisors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.routes.common import OnAppraisal
from assessments.appraisals.schemas import (
    DialogueForm,
    ObjectivesForm,
    ProgressForm,
    ReviewForm,
    TeamObjectiveForm,
)
from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, id_or_none, require
from backend.i18n import _
from backend.web import render

router = APIRouter(prefix="/appraisals")

Step = service.Step


# --- team objectives ------------------------------------------------------------------------------


def _team_context(
    session: Session, principal, cycle_id: int | None, unit_id: int | None
) -> dict[str, Any]:
    cycles = service.open_cycles(session)
    cycle = next((c for c in cycles if c.id == cycle_id), cycles[0] if cycles else None)
    units = service.team_units(session, cycle=cycle, actor=principal)
    unit = next((u for u in units if u.id == unit_id), units[0] if units else None)
    chosen = cycle is not None and unit is not None
    shared = service.team_objectives(session, cycle_id=cycle.id, unit_id=unit.id) if chosen else []
    return {
        "cycles": cycles,
        "cycle": cycle,
        "units": units,
        "unit": unit,
        "shared": shared,
        "progress": service.team_progress_of(session, [t.id for t in shared]),
        "links": service.link_choices(session, cycle=cycle, unit_id=unit.id) if chosen else [],
        "link_labels": {t.id: service.link_label(session, t) for t in shared},
        "errors": {},
        "values": {"weight": "20"},
    }


@router.get("/team", dependencies=[require(Permission.take_part_in_appraisals)])
def team_page(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle: int | None = None,
    unit: int | None = None,
):
    return render(request, "appraisals/team.html", _team_context(session, principal, cycle, unit))


@router.post("/team-objectives", dependencies=[require(Permission.take_part_in_appraisals)])
def add_team_objective(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    form: Annotated[TeamObjectiveForm, Form()],
):
    cycle = service.require_cycle(session, id_or_none(form.cycle_id))
    return run_action(
        request,
        session,
        lambda: service.add_team_objective(
            session, cycle=cycle, **form.arguments(), actor=principal
        ),
        message=lambda added: _(
            "The team objective was added to %(n)s sets of objectives still being agreed.",
            n=added[1],
        ),
        to=f"/appraisals/team?cycle={cycle.id}&unit={form.unit_id}",
        on_error=show_form(
            request,
            "appraisals/team.html",
            lambda: _team_context(session, principal, cycle.id, id_or_none(form.unit_id)),
            values=form.values(),
            block="add",
        ),
    )


@router.post(
    "/team-objectives/{team_objective_id}/progress",
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def add_team_progress(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    team_objective_id: int,
    form: Annotated[ProgressForm, Form()],
):
    shared = service.get_team_objective(session, team_objective_id)
    cycle_id, unit_id = shared.cycle_id, shared.unit_id

    def refused(err):
        context = _team_context(session, principal, cycle_id, unit_id)
        context["progress_errors"] = {team_objective_id: err.errors}
        return render(request, "appraisals/team.html", context, status_code=422)

    return run_action(
        request,
        session,
        lambda: service.add_team_progress(
            session,
            team_objective=shared,
            percent=form.arguments()["percent"],
            note=form.note,
            actor=principal,
        ),
        message=_("The progress was recorded."),
        to=f"/appraisals/team?cycle={cycle_id}&unit={unit_id}",
        on_error=refused,
    )


# --- one appraisal --------------------------------------------------------------------------------


@router.post(
    "/{appraisal_id}/objectives", dependencies=[require(Permission.take_part_in_appraisals)]
)
async def save_objectives(act: OnAppraisal):
    form = ObjectivesForm.from_form(await act.request.form())
    act.steps.require(Step.edit_objectives)
    return run_action(
        act.request,
        act.session,
        lambda: service.save_objectives(
            act.session, appraisal=act.appraisal, rows=form.rows, actor=act.principal
        ),
        message=_("The objectives were proposed. The employee is asked to agree to them."),
        to=act.page,
        on_error=act.back("objectives", form.values()),
    )


@router.post("/{appraisal_id}/dialogue", dependencies=[require(Permission.take_part_in_appraisals)])
async def save_dialogue(act: OnAppraisal):
    form = DialogueForm.from_form(await act.request.form())
    act.steps.require(Step.record_dialogue)
    return run_action(
        act.request,
        act.session,
        lambda: service.save_dialogue(
            act.session,
            appraisal=act.appraisal,
            **form.fields,
            actions=form.actions,
            actor=act.principal,
        ),
        message=_("The dialogue record was saved. Sign it when it is final."),
        to=act.page + "#dialogue",
        on_error=act.back("dialogue", form.values()),
    )


@router.post("/{appraisal_id}/review", dependencies=[require(Permission.take_part_in_appraisals)])
def review(act: OnAppraisal, form: Annotated[ReviewForm, Form()]):
    act.steps.require(Step.review)
    return run_action(
        act.request,
        act.session,
        lambda: service.review(
            act.session, appraisal=act.appraisal, **form.model_dump(), actor=act.principal
        ),
        message=_("Your review was recorded: the appraisal is completed."),
        to=act.page,
        on_error=act.back("review", form.model_dump()),
    )
