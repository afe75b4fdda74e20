"""The appraisal pages everyone taking part uses: my appraisals and one appraisal's page, with
the employee's steps (agreeing objectives, progress, the self-assessment, signing).

Registered after the other appraisal routers: `/{appraisal_id}` comes after the fixed addresses.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import Appraisal, Side, Stage
from assessments.appraisals.routes.common import AppraisalDep, OnAppraisal
from assessments.appraisals.routes.feedback import feedback_section
from assessments.appraisals.schemas import AssessmentForm, ProgressForm, SignForm
from backend import clock
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import _
from backend.org.models import person_name
from backend.web import kept_form, render
from competency_framework import service as competency_service

router = APIRouter(prefix="/appraisals")

Step = service.Step
BLANK_OBJECTIVE_ROWS = 3
BLANK_ACTION_ROWS = 2


@router.get("", dependencies=[require(Permission.take_part_in_appraisals)])
def appraisals_home(request: Request, session: SessionDep, principal: CurrentPrincipal):
    own = principal.user.employee_id
    mine = service.appraisals_of(session, employee_id=own) if own is not None else []
    team = service.team_appraisals(session, supervisor_id=own) if own is not None else []
    hr = service.runs_appraisals(principal)
    context = {
        "linked": own is not None,
        "mine": [(a, service.next_step(a, {"employee"})) for a in mine],
        "team": [
            (a, person_name(a.first_name, a.last_name), service.next_step(a, {"supervisor"}))
            for a in team
        ],
        "escalated": service.escalated_to(session, employee_id=own) if own is not None else [],
        "hr_reviews": service.escalated_to_hr(session) if hr else [],
        "is_hr": hr,
        "reminders": service.reminders_for(session, employee_id=own) if own else [],
        "feedback_pending": service.pending_count(session, employee_id=own),
    }
    return render(request, "appraisals/index.html", context)


# --- one appraisal --------------------------------------------------------------------------------


def _objective_rows(objectives) -> list[dict[str, Any]]:
    rows = [
        {
            "id": o.id,
            "team": o.team_objective_id,
            "title": o.title,
            "measure": o.measure,
            "link": f"u:{o.unit_objective_id}" if o.unit_objective_id else f"p:{o.priority_id}",
            "weight": o.weight,
        }
        for o in objectives
    ]
    blank = {"id": "", "team": None, "title": "", "measure": "", "link": "", "weight": ""}
    return rows + [dict(blank) for _i in range(BLANK_OBJECTIVE_ROWS)]


def _action_rows(actions) -> list[dict[str, str]]:
    rows = [
        {
            "description": a.description,
            "competency": a.competency_code or "",
            "due": a.due_by.isoformat() if a.due_by else "",
        }
        for a in actions
        if a.published_at is None
    ]
    blank = {"description": "", "competency": "", "due": ""}
    return rows + [dict(blank) for _i in range(BLANK_ACTION_ROWS)]


def _assessments(session: Session, principal, appraisal: Appraisal, steps) -> dict[str, Any]:
    """The actor's own assessment, and both once both are submitted."""
    both = service.both_submitted(appraisal)
    read = service.read_assessment
    return {
        "own_view": read(session, appraisal=appraisal, side=steps.side, actor=principal)
        if steps.side is not None
        else None,
        "both_submitted": both,
        "assessments": {
            s: read(session, appraisal=appraisal, side=s, actor=principal) for s in Side
        }
        if both
        else {},
    }


def _detail_context(
    session: Session, principal, appraisal: Appraisal, today, **kept: Any
) -> dict[str, Any]:
    """The appraisal page: the record, and what the actor may do (`service.allowed_steps`)."""
    steps = service.allowed_steps(session, appraisal=appraisal, actor=principal)
    cycle = service.get_cycle(session, appraisal.cycle_id)
    objectives = service.objectives_of(session, appraisal)
    actions = service.actions_of(session, appraisal)
    competencies = competency_service.list_competencies(session)
    parts = set(steps.parts)
    show_score = "supervisor" in parts or "hr" in parts or appraisal.supervisor_signed_at
    views = _assessments(session, principal, appraisal, steps)
    return {
        **service.appraisal_people(session, appraisal),
        **views,
        "appraisal": appraisal,
        "cycle": cycle,
        "parts": parts,
        "side": steps.side,
        "steps": steps,
        "next_step": service.next_step(appraisal, parts),
        "locked": steps.locked,
        "objectives": objectives,
        "link_labels": {o.id: service.link_label(session, o) for o in objectives},
        "progress": service.progress_of(session, objectives),
        "total_weight": sum(o.weight for o in objectives),
        "links": service.link_choices(session, cycle=cycle, unit_id=appraisal.unit_id),
        "objective_rows": _objective_rows(objectives),
        "gate": steps.gate,
        "dialogue": service.dialogue_of(session, appraisal),
        "actions": actions,
        "action_rows": _action_rows(actions),
        "score": service.score(session, appraisal=appraisal)
        if show_score and views["both_submitted"]
        else None,
        "history": service.steps_of(session, appraisal),
        **feedback_section(session, principal, appraisal),
        "competencies": competencies,
        "competency_by_code": {c.code: c for c in competencies},
        "today": today,
        "form": kept.get("form", ""),
        "errors": kept.get("errors") or {},
        "values": kept.get("values") or {},
    }


@router.get("/{appraisal_id}", dependencies=[require(Permission.take_part_in_appraisals)])
def appraisal_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    appraisal: AppraisalDep,
):
    kept = kept_form(request, f"/appraisals/{appraisal.id}")
    context = _detail_context(session, principal, appraisal, clock.today(settings), **kept)
    return render(request, "appraisals/appraisal.html", context)


@router.post(
    "/{appraisal_id}/objectives/agree", dependencies=[require(Permission.take_part_in_appraisals)]
)
def agree_objectives(act: OnAppraisal):
    act.steps.require(Step.agree_objectives)
    return run_action(
        act.request,
        act.session,
        lambda: service.agree_objectives(act.session, appraisal=act.appraisal, actor=act.principal),
        message=_("You agreed to your objectives."),
        to=act.page,
    )


@router.post("/{appraisal_id}/progress", dependencies=[require(Permission.take_part_in_appraisals)])
def add_progress(act: OnAppraisal, form: Annotated[ProgressForm, Form()]):
    act.steps.require(Step.record_progress)
    return run_action(
        act.request,
        act.session,
        lambda: service.add_progress(
            act.session, appraisal=act.appraisal, **form.arguments(), actor=act.principal
        ),
        message=_("The progress was recorded."),
        to=act.page + "#objectives",
        on_error=act.back("progress", form.model_dump()),
    )


@router.post(
    "/{appraisal_id}/assessment", dependencies=[require(Permission.take_part_in_appraisals)]
)
async def save_assessment(act: OnAppraisal):
    ids = [o.id for o in service.objectives_of(act.session, act.appraisal)]
    form = AssessmentForm.from_form(await act.request.form(), ids)
    act.steps.require(Step.assess)
    submitted = _(
        "Your assessment was submitted. You will see the other assessment once both are in."
    )
    return run_action(
        act.request,
        act.session,
        lambda: service.save_assessment(
            act.session, appraisal=act.appraisal, **form.arguments(), actor=act.principal
        ),
        message=submitted if form.submit else _("Your draft was saved. Nobody else can see it."),
        level="success" if form.submit else "info",
        to=act.page + "#assessment",
        on_error=act.back("assessment", form.values()),
    )


@router.post("/{appraisal_id}/sign", dependencies=[require(Permission.take_part_in_appraisals)])
def sign(act: OnAppraisal, form: Annotated[SignForm, Form()]):
    employee = "employee" in act.steps.parts
    act.steps.require(Step.sign_as_employee if employee else Step.sign_as_supervisor)
    return run_action(
        act.request,
        act.session,
        lambda: service.sign(
            act.session,
            appraisal=act.appraisal,
            actor=act.principal,
            disagree=form.decision == "disagree",
            disagreement=form.disagreement,
        ),
        message=_signed_message,
        to=act.page,
        on_error=act.back("sign", form.model_dump()),
    )


def _signed_message(appraisal: Appraisal) -> str:
    if appraisal.stage == Stage.escalated:
        return _(
            "Your disagreement was recorded and the appraisal sent to the second-level manager."
        )
    if appraisal.stage == Stage.completed:
        return _("The dialogue record is signed by both: the appraisal is completed.")
    return _("You signed the record. The employee is asked to sign it too.")
