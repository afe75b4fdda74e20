"""Triage, questionnaires and retention: an investigator's priority override and a case's
extensions and legal holds (on the case page), the cases due for deletion, and the
administrators' channel questionnaires and triage weights.

Listed before `whistleblowing.routes.investigator` in the plugin: /cases/retention must match
before /cases/{reference}.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException
from fastapi.responses import Response

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.deps import require
from backend.i18n import _
from backend.web import Page, render
from whistleblowing import service as reporting
from whistleblowing.models import QUESTION_KIND_LABELS, QuestionKind, ReportChannel
from whistleblowing.routes.common import Desk, DeskDep, case_labels, parse_day
from whistleblowing.routes.investigator import _act, _typed

router = APIRouter(prefix="/cases")

# The windows the list of cases due for deletion offers, in days, and its page size.
DUE_WINDOWS = (30, 90, 365)
DUE_PER_PAGE = 50


def triage_labels() -> dict:
    """The labels the triage, questionnaire and retention pages show."""
    return {**case_labels(), "QUESTION_KIND_LABELS": QUESTION_KIND_LABELS}


# --- the case page: priority and retention ----------------------------------------------------


@router.post("/{reference}/priority", dependencies=[require(Permission.handle_reports)])
def set_priority(
    desk: DeskDep,
    reference: str,
    priority_level: Annotated[str, Form()] = "",
    priority_reason: Annotated[str, Form()] = "",
):
    return _act(
        desk,
        reference,
        lambda access: reporting.override_priority(
            desk.session,
            access=access,
            actor=desk.user,
            level=priority_level,
            reason=priority_reason,
            today=desk.today,
        ),
        field="priority_level",
        done=_("The priority was changed."),
        values=_typed(priority_level=priority_level, priority_reason=priority_reason),
        anchor="#priority",
        step=reporting.Step.set_priority,
    )


@router.post("/{reference}/holds", dependencies=[require(Permission.handle_reports)])
def place_hold(
    desk: DeskDep,
    reference: str,
    hold_kind: Annotated[str, Form()] = "",
    hold_until: Annotated[str, Form()] = "",
    hold_reason: Annotated[str, Form()] = "",
):
    return _act(
        desk,
        reference,
        lambda access: reporting.place_hold(
            desk.session,
            desk.settings,
            access=access,
            actor=desk.user,
            kind=hold_kind,
            until=parse_day(hold_until),
            reason=hold_reason,
            today=desk.today,
        ),
        field="hold_kind",
        done=_("The case will be kept until the day you chose."),
        values=_typed(hold_kind=hold_kind, hold_until=hold_until, hold_reason=hold_reason),
        anchor="#retention",
        step=reporting.Step.keep,
    )


@router.post(
    "/{reference}/holds/{hold_id}/release", dependencies=[require(Permission.handle_reports)]
)
def release_hold(
    desk: DeskDep, reference: str, hold_id: int, release_reason: Annotated[str, Form()] = ""
):
    return _act(
        desk,
        reference,
        lambda access: reporting.release_hold(
            desk.session,
            access=access,
            actor=desk.user,
            hold_id=hold_id,
            reason=release_reason,
            today=desk.today,
        ),
        field=f"release_{hold_id}",
        done=_("The hold was ended: the retention rules apply again."),
        values=_typed(release_reason=release_reason, release_hold=str(hold_id)),
        anchor="#retention",
        step=reporting.Step.keep,
    )


# --- cases due for deletion -------------------------------------------------------------------


def _due_page(desk: Desk, *, within: int, everyone: bool, page: int) -> Response:
    days = within if within in DUE_WINDOWS else DUE_WINDOWS[1]
    page = max(1, page)
    due = reporting.due_for_deletion(
        desk.session,
        desk.settings,
        today=desk.today,
        within_days=days,
        held_by=None if everyone else desk.user.id,
    )
    context = {
        **triage_labels(),
        "due": due[(page - 1) * DUE_PER_PAGE : page * DUE_PER_PAGE],
        "page": Page([], len(due), page, DUE_PER_PAGE),
        "base_query": urlencode({"within": days}),
        "within": days,
        "windows": DUE_WINDOWS,
        "everyone": everyone,
        "today": desk.today,
        "months": reporting.retention_months(desk.settings),
    }
    return render(desk.request, "cases/retention.html", context, block="results")


@router.get("/retention", dependencies=[require(Permission.handle_reports)])
def due_for_deletion(desk: DeskDep, within: int = DUE_WINDOWS[1], page: int = 1):
    """The closed cases the user holds that the retention rules delete soon."""
    return _due_page(desk, within=within, everyone=False, page=page)


@router.get("/retention/all", dependencies=[require(Permission.manage_report_channels)])
def due_for_deletion_everywhere(desk: DeskDep, within: int = DUE_WINDOWS[1], page: int = 1):
    """Every closed case due for deletion (plain facts only: administrators read no case)."""
    return _due_page(desk, within=within, everyone=True, page=page)


# --- questionnaires and triage weights (administrators) ---------------------------------------


def _channel_or_404(desk: Desk, channel_id: int) -> ReportChannel:
    channel = desk.session.get(ReportChannel, channel_id)
    if channel is None:
        raise HTTPException(status_code=404, detail=_("This channel does not exist."))
    return channel


def _questionnaire_page(
    desk: Desk,
    channel: ReportChannel,
    *,
    editing: str = "",
    values: reporting.QuestionInput | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    current = reporting.current_questionnaire(desk.session, channel.id)
    questions = list(current.questions) if current else []
    if editing and not any(q["key"] == editing for q in questions):
        raise HTTPException(status_code=404, detail=_("This question does not exist."))
    if values is None:
        edited = next((q for q in questions if q["key"] == editing), None)
        values = reporting.QuestionInput.of(edited) if edited else reporting.QuestionInput()
    context = {
        **triage_labels(),
        "channel": channel,
        "current": current,
        "questions": reporting.form_questions(questions, channel.id),
        "versions": reporting.questionnaire_versions(desk.session, channel.id),
        "conditions": reporting.condition_choices(questions, before=editing or None),
        "editing": editing,
        "values": values,
        "errors": errors or {},
        "kinds": list(QuestionKind),
        "max_weight": reporting.MAX_CHANNEL_WEIGHT,
    }
    return render(desk.request, "cases/questionnaire.html", context, status_code=status_code)


QuestionField = Annotated[str, Form()]


async def _question_form(
    kind: QuestionField = "",
    text_es: QuestionField = "",
    text_en: QuestionField = "",
    required: QuestionField = "",
    options: QuestionField = "",
    show_if: QuestionField = "",
) -> reporting.QuestionInput:
    """The question form's fields, shared by adding and editing a question, as typed."""
    return reporting.QuestionInput(kind, text_es, text_en, required == "yes", options, show_if)


QuestionForm = Annotated[reporting.QuestionInput, Depends(_question_form)]
ADMIN = [require(Permission.manage_report_channels)]


@router.get("/channels/{channel_id}/questions", dependencies=ADMIN)
def questionnaire(desk: DeskDep, channel_id: int, edit: str = ""):
    return _questionnaire_page(desk, _channel_or_404(desk, channel_id), editing=edit)


def _publish(desk: Desk, channel: ReportChannel, change, *, typed=None, editing: str = ""):
    return run_action(
        desk.request,
        desk.session,
        change,
        message=_("A new version of the questionnaire was published."),
        to=f"/cases/channels/{channel.id}/questions",
        on_error=lambda err: _questionnaire_page(
            desk,
            channel,
            editing=editing,
            values=typed,
            errors=err.form_errors(),
            status_code=err.status_code,
        ),
        refusals="all",
    )


@router.post("/channels/{channel_id}/questions", dependencies=ADMIN)
def add_question(desk: DeskDep, channel_id: int, typed: QuestionForm):
    channel = _channel_or_404(desk, channel_id)
    return _publish(
        desk,
        channel,
        lambda: reporting.add_question(
            desk.session, channel=channel, actor=desk.user, data=typed, today=desk.today
        ),
        typed=typed,
    )


@router.post("/channels/{channel_id}/questions/{key}", dependencies=ADMIN)
def edit_question(desk: DeskDep, channel_id: int, key: str, typed: QuestionForm):
    channel = _channel_or_404(desk, channel_id)
    return _publish(
        desk,
        channel,
        lambda: reporting.edit_question(
            desk.session, channel=channel, actor=desk.user, key=key, data=typed, today=desk.today
        ),
        typed=typed,
        editing=key,
    )


@router.post("/channels/{channel_id}/questions/{key}/remove", dependencies=ADMIN)
def remove_question(desk: DeskDep, channel_id: int, key: str):
    channel = _channel_or_404(desk, channel_id)
    return _publish(
        desk,
        channel,
        lambda: reporting.remove_question(
            desk.session, channel=channel, actor=desk.user, key=key, today=desk.today
        ),
    )


@router.post("/channels/{channel_id}/priority-weight", dependencies=ADMIN)
def set_priority_weight(desk: DeskDep, channel_id: int, priority_weight: QuestionField = ""):
    channel = _channel_or_404(desk, channel_id)

    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.set_priority_weight(
            desk.session, channel=channel, actor=desk.user, weight=priority_weight
        ),
        message=_("The channel's triage weight was saved."),
        to=f"/cases/channels/{channel.id}/questions",
        on_error=lambda err: _questionnaire_page(
            desk, channel, errors=err.form_errors(), status_code=err.status_code
        ),
        refusals="all",
    )
