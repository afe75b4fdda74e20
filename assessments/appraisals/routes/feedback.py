"""360° and upward feedback: the requests a person is asked to answer, the answer form, peers
chosen on an appraisal, HR switching a round on and off, and the pooled results (JSON).

Registered before the employee router: `/appraisals/feedback` is a fixed address.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import FEEDBACK_RELATION_LABELS, Appraisal
from assessments.appraisals.routes.common import AppraisalDep, CycleDep, OnAppraisal
from assessments.appraisals.schemas import (
    FeedbackAnswerForm,
    FeedbackItemOut,
    FeedbackOut,
    FeedbackRoundForm,
    PeerForm,
)
from backend.actions import back_to, run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.web import kept_form, render, templates

router = APIRouter(prefix="/appraisals")
api_router = APIRouter(prefix="/appraisals", tags=["appraisals"])

templates().globals.update(APPRAISAL_FEEDBACK_RELATIONS=FEEDBACK_RELATION_LABELS)
TAKE_PART = [require(Permission.take_part_in_appraisals)]
RUN_CYCLES = [require(Permission.manage_appraisal_cycles)]


def _invitation_in_path(
    session: SessionDep, principal: CurrentPrincipal, invitation_id: int
) -> service.InvitationRow:
    return service.get_invitation(session, invitation_id=invitation_id, actor=principal)


# A route parameter: the signed-in person's own request for feedback (404 for anyone else's).
InvitationDep = Annotated[service.InvitationRow, Depends(_invitation_in_path)]


def feedback_section(session: Session, principal, appraisal: Appraisal) -> dict[str, Any]:
    """The appraisal page's feedback part: the pooled results for the appraisee and their
    supervisor, and the peers form for whoever may choose peers."""
    round_ = service.feedback_round(session, appraisal.cycle_id)
    if round_ is None:
        return {"feedback_round": None}
    readable = service.can_read_results(session, appraisal=appraisal, actor=principal)
    refusal = service.peer_refusal(session, appraisal=appraisal, actor=principal)
    return {
        "feedback_round": round_,
        "feedback": service.feedback_results(session, appraisal=appraisal, actor=principal)
        if readable
        else None,
        "feedback_items": _competencies(session),
        "peer_refusal": refusal,
        "peer_choices": [
            (e.id, e.full_name) for e in service.peer_choices(session, appraisal=appraisal)
        ]
        if not refusal
        else [],
    }


def cycle_feedback(request: Request, session: Session, cycle) -> dict[str, Any]:
    """The cycle page's feedback part (HR): the round and its counts, or the form opening it."""
    round_ = service.feedback_round(session, cycle.id)
    kept = kept_form(request, f"/appraisals/cycles/{cycle.id}")
    return {
        "feedback_round": round_,
        "feedback_counts": service.round_counts(session, round_) if round_ else None,
        "feedback_items": _competencies(session),
        "feedback_max_items": service.FEEDBACK_MAX_ITEMS,
        "errors": kept.get("errors") or {},
        "values": kept.get("values") or {},
    }


def _competencies(session: Session) -> dict[str, Any]:
    return {c.code: c for c in service.feedback_items(session)}


@router.get("/feedback", dependencies=TAKE_PART)
def feedback_requests(request: Request, session: SessionDep, principal: CurrentPrincipal):
    own = principal.user.employee_id
    rows = service.invitations_for(session, employee_id=own)
    return render(request, "appraisals/feedback_list.html", {"rows": rows, "linked": own})


@router.get("/feedback/{invitation_id}", dependencies=TAKE_PART)
def feedback_form(request: Request, session: SessionDep, row: InvitationDep):
    kept = kept_form(request, f"/appraisals/feedback/{row.invitation.id}")
    context = {
        "row": row,
        "refusal": service.answer_refusal(row),
        "items": _competencies(session),
        "errors": kept.get("errors") or {},
        "values": kept.get("values") or {},
    }
    return render(request, "appraisals/feedback_form.html", context)


@router.post("/feedback/{invitation_id}", dependencies=TAKE_PART)
async def answer_feedback(
    request: Request, session: SessionDep, principal: CurrentPrincipal, row: InvitationDep
):
    form = FeedbackAnswerForm.from_form(await request.form(), row.round.items)
    page = f"/appraisals/feedback/{row.invitation.id}"
    refusal = service.answer_refusal(row)
    if refusal is not None:
        raise service.AppraisalError(refusal[0], status_code=refusal[1])
    return run_action(
        request,
        session,
        lambda: service.answer_feedback(session, row=row, **form.arguments(), actor=principal),
        message=_("Thank you: your feedback was recorded without your name."),
        to="/appraisals/feedback",
        on_error=back_to(request, session, page, form="feedback", values=form.values()),
    )


@router.post("/{appraisal_id}/feedback/peers", dependencies=TAKE_PART)
def invite_peer(act: OnAppraisal, form: Annotated[PeerForm, Form()]):
    refusal = service.peer_refusal(act.session, appraisal=act.appraisal, actor=act.principal)
    if refusal is not None:
        raise service.AppraisalError(refusal[0], status_code=refusal[1])
    return run_action(
        act.request,
        act.session,
        lambda: service.invite_peer(
            act.session, appraisal=act.appraisal, peer_id=form.peer_id, actor=act.principal
        ),
        message=_("The colleague was asked for feedback."),
        to=act.page + "#feedback",
        on_error=act.back("peers", form.model_dump()),
    )


@router.post("/cycles/{cycle_id}/feedback", dependencies=RUN_CYCLES)
async def open_feedback_round(
    request: Request, session: SessionDep, principal: CurrentPrincipal, cycle: CycleDep
):
    form = FeedbackRoundForm.from_form(await request.form())
    page = f"/appraisals/cycles/{cycle.id}"
    return run_action(
        request,
        session,
        lambda: service.open_feedback_round(
            session, cycle=cycle, items=form.items, actor=principal
        ),
        message=_("Feedback is on: everyone in the cycle was asked."),
        to=page + "#feedback",
        on_error=back_to(request, session, page, form="feedback", values={"items": form.items}),
    )


@router.post("/cycles/{cycle_id}/feedback/close", dependencies=RUN_CYCLES)
def close_feedback_round(
    request: Request, session: SessionDep, principal: CurrentPrincipal, cycle: CycleDep
):
    return run_action(
        request,
        session,
        lambda: service.close_feedback_round(session, cycle=cycle, actor=principal),
        message=_("The feedback round is closed."),
        to=f"/appraisals/cycles/{cycle.id}#feedback",
    )


@api_router.get("/{appraisal_id}/feedback", response_model=FeedbackOut, dependencies=TAKE_PART)
def feedback_json(
    session: SessionDep, principal: CurrentPrincipal, appraisal: AppraisalDep
) -> FeedbackOut:
    """The pooled feedback on an appraisal, for its appraisee and supervisor only."""
    results = service.feedback_results(session, appraisal=appraisal, actor=principal)
    if results is None:
        raise service.AppraisalError(_("This cycle has no feedback round."), status_code=404)
    return FeedbackOut(
        appraisal_id=appraisal.id,
        invited=results.invited,
        answered=results.answered,
        shown=results.shown,
        min_answers=results.min_answers,
        items=[FeedbackItemOut(**vars(item)) for item in results.items],
        comments=results.comments,
        own=results.own,
    )
