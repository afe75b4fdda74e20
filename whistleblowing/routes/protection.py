"""Retaliation complaints: identified employees file and follow theirs; protection officers
handle them (assessment, measures, investigation, determination, remedies, burden-of-proof
pack) and screen the HR watch. Reporters file through their receipt (`/report/case/...`).

Every POST runs through `backend.actions.run_action`: one commit with its message, or, when
a rule refuses it, nothing written and the page again with why. What an officer may do to a
complaint comes from `retaliation.allowed_steps`: the page shows those steps' forms and the
POSTs refuse the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend import dashboard
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep
from backend.deps import SettingsDep, read_form, reporter_session, require
from backend.errors import DomainError
from backend.files import content_disposition
from backend.i18n import N_, _
from backend.web import NavItem, register_nav, render
from whistleblowing import attachments
from whistleblowing import service as reporting
from whistleblowing.models import (
    COMPLAINT_ITEM_LABELS,
    COMPLAINT_OUTCOME_LABELS,
    COMPLAINT_STATUS_LABELS,
    DETRIMENTAL_ACT_LABELS,
    NOTIFICATION_LABELS,
    PROTECTIVE_MEASURE_LABELS,
    REMEDY_LABELS,
    ComplaintItemKind,
    ComplaintOutcome,
    ComplaintStatus,
    DetrimentalAct,
    NotificationKind,
)
from whistleblowing.routes.common import (
    REPORTER_COOKIE_PATH,
    Desk,
    DeskDep,
    attachment_response,
    files_not_kept,
    lang,
    public_context,
    reporter_page,
    uploads,
)
from whistleblowing.schemas import (
    ACT_ROWS,
    AssessmentForm,
    ClosingForm,
    ComplaintForm,
    ComplaintInput,
    DeterminationForm,
    MeasureForm,
    MessageForm,
    RemedyForm,
    WatchForm,
)
from whistleblowing.service import retaliation
from whistleblowing.service.retaliation import ComplaintAccess, Step

router = APIRouter()

register_nav(
    NavItem(N_("Retaliation complaints"), "/retaliation", Permission.handle_retaliation, order=63)
)
register_nav(NavItem(N_("HR watch"), "/retaliation/watch", Permission.handle_retaliation, order=64))
register_nav(
    NavItem(
        N_("Report retaliation"),
        "/retaliation/file",
        Permission.file_retaliation_complaint,
        order=95,
    )
)

FILER = [require(Permission.file_retaliation_complaint)]
OFFICER = [require(Permission.handle_retaliation)]


def labels() -> dict:
    """What every retaliation template reads: labels, enums and the complaint form's limits."""
    return {
        "COMPLAINT_STATUS_LABELS": COMPLAINT_STATUS_LABELS,
        "COMPLAINT_OUTCOME_LABELS": COMPLAINT_OUTCOME_LABELS,
        "COMPLAINT_ITEM_LABELS": COMPLAINT_ITEM_LABELS,
        "DETRIMENTAL_ACT_LABELS": DETRIMENTAL_ACT_LABELS,
        "PROTECTIVE_MEASURE_LABELS": PROTECTIVE_MEASURE_LABELS,
        "REMEDY_LABELS": REMEDY_LABELS,
        "WATCHED_EVENTS": retaliation.WATCHED_EVENTS,
        "NOTIFICATION_LABELS": NOTIFICATION_LABELS,
        "ComplaintStatus": ComplaintStatus,
        "ComplaintItemKind": ComplaintItemKind,
        "ComplaintOutcome": ComplaintOutcome,
        "NotificationKind": NotificationKind,
        "acts": list(DetrimentalAct),
        "act_rows": range(ACT_ROWS),
        "max_files": attachments.MAX_ATTACHMENTS_PER_MESSAGE,
        "max_mb": attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "accepted": ", ".join(attachments.ALLOWED_EXTENSIONS),
    }


async def complaint_form(request: Request) -> ComplaintForm:
    """Return the complaint form the request posted, with its files."""
    form = await read_form(request)
    return ComplaintForm.parse(form, await uploads(form))


async def message_form(request: Request) -> MessageForm:
    """Return the message (or note) the request posted, with its files."""
    form = await read_form(request)
    return MessageForm.parse(form, await uploads(form))


def checked(form: ComplaintForm) -> ComplaintInput:
    """Return the complaint the form holds, refusing days that could not be read."""
    if form.errors:
        raise reporting.ReportingError(next(iter(form.errors.values())), errors=form.errors)
    return form.data


def complaint_errors(form: ComplaintForm, err: DomainError, *, files_dropped: str) -> dict:
    """Return the refused complaint's errors by field; files are never kept (they say so)."""
    return files_not_kept(
        dict(err.form_errors()), form.data.evidence, files_dropped, field="evidence"
    )


# --- identified employees ---------------------------------------------------------------------


@router.get("/retaliation/file", dependencies=FILER)
def file_form(request: Request):
    return render(
        request,
        "retaliation/file.html",
        {**labels(), "values": ComplaintForm.blank(), "errors": {}},
    )


@router.post("/retaliation/file", dependencies=FILER)
async def file_complaint(desk: DeskDep):
    form = await complaint_form(desk.request)

    def refused(err: DomainError) -> Response:
        errors = complaint_errors(
            form, err, files_dropped=_("For safety, files are not kept: attach them again.")
        )
        context = {**labels(), "values": form.values, "errors": errors}
        return render(desk.request, "retaliation/file.html", context, status_code=422)

    return run_action(
        desk.request,
        desk.session,
        lambda: retaliation.file_identified(
            desk.session, desk.settings, user=desk.user, data=checked(form), today=desk.today
        ),
        message=lambda complaint: _(
            "Your complaint %(reference)s was sent to the protection officers.",
            reference=complaint.reference,
        ),
        to="/retaliation/mine",
        refusals="all",
        on_error=refused,
    )


def _my_complaints_page(desk: Desk, *, errors: dict, status_code: int = 200):
    complaints = retaliation.complaints_of_user(desk.session, desk.settings, user=desk.user)
    return render(
        desk.request,
        "retaliation/mine.html",
        {**labels(), "complaints": complaints, "errors": errors},
        status_code=status_code,
    )


@router.get("/retaliation/mine", dependencies=FILER)
def my_complaints(desk: DeskDep):
    return _my_complaints_page(desk, errors={})


@router.post("/retaliation/mine/{reference}/messages", dependencies=FILER)
async def my_message(desk: DeskDep, reference: str):
    form = await message_form(desk.request)

    def add() -> object:
        complaint = retaliation.complaint_of_user(
            desk.session, desk.settings, user=desk.user, reference=reference
        )
        return retaliation.add_complainant_message(
            desk.session, desk.settings, complaint=complaint, text=form.text, files=form.files
        )

    def refused(err: DomainError) -> Response:
        if err.status_code == 404:
            raise err
        errors = {reference.upper(): str(err)}
        return _my_complaints_page(desk, errors=errors, status_code=err.status_code)

    return run_action(
        desk.request,
        desk.session,
        add,
        message=_("Your message was added to the complaint."),
        to="/retaliation/mine",
        refusals="all",
        on_error=refused,
    )


# --- the HR watch -----------------------------------------------------------------------------


def _screen(desk: Desk) -> list:
    """Return the HR watch's alerts after screening new HR entries (committed)."""
    alerts = retaliation.screen(
        desk.session,
        desk.settings,
        officer=desk.user,
        holder_private=desk.holder_private(),
        today=desk.today,
    )
    desk.session.commit()
    return alerts


def _watch_page(desk: Desk, *, errors=None, values=None, status_code=200):
    return render(
        desk.request,
        "retaliation/watch.html",
        {
            **labels(),
            "alerts": _screen(desk),
            "errors": errors or {},
            "values": values or {"employee": "", "since": "", "end_employee": ""},
        },
        status_code=status_code,
    )


@router.get("/retaliation/watch", dependencies=OFFICER)
def watch(desk: DeskDep):
    return _watch_page(desk)


@router.get("/retaliation/watch/summary", dependencies=OFFICER)
def watch_summary(desk: DeskDep):
    """The dashboard's HR watch line: screens new entries, counts open alerts (a fragment)."""
    alerts = _screen(desk)
    return render(
        desk.request,
        "retaliation/watch_summary.html",
        {"open_alerts": sum(1 for a in alerts if a.acknowledged_on is None)},
    )


@router.post("/retaliation/watch/protect", dependencies=OFFICER)
def protect(desk: DeskDep, form: Annotated[WatchForm, Form()]):
    values = {"employee": form.employee, "since": form.since, "end_employee": ""}
    return run_action(
        desk.request,
        desk.session,
        lambda: retaliation.watch_employee(
            desk.session,
            desk.settings,
            number=form.employee,
            since=form.since_day,
            actor=desk.user,
            today=desk.today,
        ),
        message=_("The person is under HR watch."),
        to="/retaliation/watch",
        refusals="all",
        on_error=lambda err: _watch_page(
            desk,
            errors={err.field or "employee": str(err)},
            values=values,
            status_code=err.status_code,
        ),
    )


@router.post("/retaliation/watch/end", dependencies=OFFICER)
def end_watch(desk: DeskDep, form: Annotated[WatchForm, Form()]):
    values = {"employee": "", "since": "", "end_employee": form.employee}
    return run_action(
        desk.request,
        desk.session,
        lambda: retaliation.unwatch_employee(
            desk.session, desk.settings, number=form.employee, actor=desk.user
        ),
        message=_("The HR watch of this person has ended."),
        to="/retaliation/watch",
        refusals="all",
        on_error=lambda err: _watch_page(
            desk, errors={"end_employee": str(err)}, values=values, status_code=err.status_code
        ),
    )


@router.post("/retaliation/watch/alerts/{alert_id}/done", dependencies=OFFICER)
def alert_done(desk: DeskDep, alert_id: str):
    return run_action(
        desk.request,
        desk.session,
        lambda: retaliation.acknowledge_alert(
            desk.session,
            officer=desk.user,
            holder_private=desk.holder_private(),
            alert_id=alert_id,
            today=desk.today,
        ),
        message=_("The alert was marked as dealt with."),
        to="/retaliation/watch",
    )


# --- protection officers: the complaints ------------------------------------------------------


@router.get("/retaliation", dependencies=OFFICER)
def complaints(desk: DeskDep, status: str = "open"):
    rows = retaliation.complaint_inbox(desk.session, officer=desk.user, open_only=status != "all")
    return render(
        desk.request, "retaliation/inbox.html", {**labels(), "complaints": rows, "status": status}
    )


def _open(desk: Desk, reference: str, *, audit_read: bool = False) -> ComplaintAccess:
    return retaliation.open_complaint(
        desk.session,
        officer=desk.user,
        holder_private=desk.holder_private(),
        reference=reference,
        audit_read=audit_read,
    )


def _complaint_page(desk: Desk, access: ComplaintAccess, *, errors=None, values=None, status=200):
    entries = retaliation.complaint_timeline(desk.session, access=access)
    steps = retaliation.allowed_steps(desk.session, access, desk.user, entries=entries)
    return render(
        desk.request,
        "retaliation/complaint.html",
        {
            **labels(),
            "complaint": access.complaint,
            "entries": entries,
            "content": next(
                (e.content for e in entries if e.kind is ComplaintItemKind.complaint), {}
            ),
            "steps": steps,
            "protected": steps.protected,
            "today": desk.today,
            "errors": errors or {},
            "values": values or {},
            "monitoring_months": retaliation.MONITORING_MONTHS,
        },
        status_code=status,
    )


@router.get("/retaliation/{reference}", dependencies=OFFICER)
def complaint(desk: DeskDep, reference: str):
    access = _open(desk, reference, audit_read=True)
    desk.session.commit()
    return _complaint_page(desk, access)


def _take(
    desk: Desk,
    reference: str,
    step: Step,
    action: Callable[[ComplaintAccess], object],
    *,
    field: str,
    done: str,
    values: dict | None = None,
) -> Response:
    """Take `step` on the complaint if it is allowed now (`action(access)`), commit and go
    back to it; when a rule refuses it, nothing is written and the complaint's page says why
    next to `field` (the step's own field when the rule names one)."""
    access = _open(desk, reference)

    def take() -> object:
        # A step not offered has no form on the page: its refusal is shown above the steps.
        retaliation.allowed_steps(desk.session, access, desk.user).require(step, field="workflow")
        return action(access)

    return run_action(
        desk.request,
        desk.session,
        take,
        message=done,
        to=f"/retaliation/{access.complaint.reference}",
        refusals="all",
        on_error=lambda err: _complaint_page(
            desk,
            _open(desk, reference),
            errors={err.field or field: str(err)},
            values=values,
            status=err.status_code,
        ),
    )


def _officer_step(
    desk: Desk, step: Callable[..., object], **details: Any
) -> Callable[[ComplaintAccess], object]:
    """Return the action taking `step` on the opened complaint as the officer, today."""
    return lambda access: step(
        desk.session,
        desk.settings,
        access=access,
        officer=desk.user,
        today=desk.today,
        **details,
    )


@router.post("/retaliation/{reference}/assess", dependencies=OFFICER)
def assess(desk: DeskDep, reference: str, form: Annotated[AssessmentForm, Form()]):
    return _take(
        desk,
        reference,
        Step.assess,
        _officer_step(desk, retaliation.assess, **form.model_dump()),
        field="reason",
        done=_("The assessment was recorded."),
        values={"reason": form.reason},
    )


@router.post("/retaliation/{reference}/measures", dependencies=OFFICER)
def measure(desk: DeskDep, reference: str, form: Annotated[MeasureForm, Form()]):
    def order(access: ComplaintAccess) -> object:
        if form.last_day_unreadable:
            raise reporting.ReportingError(_("Enter the last day as YYYY-MM-DD."), field="ends_on")
        return _officer_step(
            desk,
            retaliation.order_measure,
            kind=form.kind,
            details=form.details,
            starts_on=form.first_day,
            ends_on=form.last_day,
        )(access)

    # A refusal of where the complaint stands (no field) is shown above the steps ("workflow").
    return _take(
        desk,
        reference,
        Step.measure,
        order,
        field="workflow",
        done=_("The interim measure was recorded."),
        values=form.shown(),
    )


@router.post("/retaliation/{reference}/investigate", dependencies=OFFICER)
def investigate(desk: DeskDep, reference: str):
    return _take(
        desk,
        reference,
        Step.investigate,
        lambda access: retaliation.start_investigation(
            desk.session, access=access, officer=desk.user, today=desk.today
        ),
        field="workflow",
        done=_("The investigation is open."),
    )


@router.post("/retaliation/{reference}/determine", dependencies=OFFICER)
def determine(desk: DeskDep, reference: str, form: Annotated[DeterminationForm, Form()]):
    return _take(
        desk,
        reference,
        Step.determine,
        _officer_step(desk, retaliation.determine, **form.model_dump()),
        field="reason",
        done=_("The determination was recorded."),
        values={"reason": form.reason},
    )


@router.post("/retaliation/{reference}/remedies", dependencies=OFFICER)
def remedy(desk: DeskDep, reference: str, form: Annotated[RemedyForm, Form()]):
    return _take(
        desk,
        reference,
        Step.remedy,
        _officer_step(desk, retaliation.order_remedy, kind=form.kind, details=form.details),
        field="remedy",
        done=_("The remedy was recorded."),
        values={"remedy_details": form.details},
    )


@router.post("/retaliation/{reference}/close", dependencies=OFFICER)
def close(desk: DeskDep, reference: str, form: Annotated[ClosingForm, Form()]):
    months = form.months(default=retaliation.MONITORING_MONTHS)
    return _take(
        desk,
        reference,
        Step.close,
        _officer_step(
            desk,
            retaliation.close,
            reason=form.reason,
            withdrawn=form.withdrawn,
            monitoring_months=months,
        ),
        field="workflow",
        done=_("The complaint was closed."),
        values=form.shown(),
    )


@router.post("/retaliation/{reference}/items", dependencies=OFFICER)
async def add_item(desk: DeskDep, reference: str):
    form = await message_form(desk.request)
    return _take(
        desk,
        reference,
        Step.message if form.to_complainant else Step.note,
        _officer_step(
            desk,
            retaliation.add_officer_item,
            to_complainant=form.to_complainant,
            text=form.text,
            files=form.files,
        ),
        field="text",
        done=_("Saved and encrypted."),
        values={"text": form.text},
    )


@router.post("/retaliation/{reference}/protect", dependencies=OFFICER)
def protect_complainant(desk: DeskDep, reference: str, employee: Annotated[str, Form()] = ""):
    return _take(
        desk,
        reference,
        Step.protect,
        _officer_step(desk, retaliation.protect_complainant, employee_number=employee),
        field="employee",
        done=_("The complainant is under HR watch."),
    )


@router.post("/retaliation/{reference}/pack", dependencies=OFFICER)
def pack(desk: DeskDep, reference: str):
    access = _open(desk, reference)
    retaliation.allowed_steps(desk.session, access, desk.user).require(Step.pack)
    signed = retaliation.burden_of_proof_pack(
        desk.session,
        desk.settings,
        access=access,
        officer=desk.user,
        holder_private=desk.holder_private(),
        today=desk.today,
    )
    desk.session.commit()
    return Response(
        json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": content_disposition(
                f"burden-of-proof-{access.complaint.reference}.json"
            ),
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/retaliation/{reference}/attachments/{uid}", dependencies=OFFICER)
def attachment(desk: DeskDep, reference: str, uid: str):
    access = _open(desk, reference)
    return desk.attachment(
        lambda: retaliation.read_complaint_attachment(
            desk.session, desk.settings, access=access, uid=uid
        ),
        action="retaliation.attachment_read",
        entity_type="retaliation_complaint",
        entity_id=access.complaint.reference,
        uid=uid,
    )


# --- reporters: complaints through the receipt -----------------------------------------------

# The reporter's complaints live under their case pages (where the receipt session's cookie is
# sent); nothing here identifies them (see whistleblowing.public_routes).
REPORTER_PAGE = f"{REPORTER_COOKIE_PATH}/retaliation"


def _complaints_context(session, settings, access, *, values=None, errors=None) -> dict:
    complaints = [
        (found, retaliation.complaint_timeline(session, access=found))
        for found in retaliation.complaints_of_reporter(session, access=access)
    ]
    return {
        **public_context(session, settings),
        **labels(),
        "report": access.report,
        "complaints": complaints,
        "values": values or ComplaintForm.blank(),
        "errors": errors or {},
    }


def _mine(session, access, reference: str) -> ComplaintAccess | None:
    """Return the reporter's complaint with this reference, opened with their receipt."""
    found = {
        c.complaint.reference: c for c in retaliation.complaints_of_reporter(session, access=access)
    }
    return found.get(reference.upper())


@router.get(REPORTER_PAGE, dependencies=[reporter_session])
def retaliation_form(request: Request, session: SessionDep, settings: SettingsDep):
    return reporter_page(
        request,
        session,
        settings,
        lambda access: render(
            request, "retaliation/reporter.html", _complaints_context(session, settings, access)
        ),
    )


def _reporter_action(request, session, action: Callable[[], object], refused) -> Response:
    """Run the reporter's POST and go back to their complaints; a refusal is `refused(err)`,
    unless their session ended (`reporter_page` says so)."""

    def answer(err: DomainError) -> Response:
        if isinstance(err, reporting.ReporterSessionExpired):
            raise err
        return refused(err)

    return run_action(
        request,
        session,
        action,
        message=None,  # a reporter has no session to carry a message: the list shows it
        to=f"{REPORTER_PAGE}?{lang()}#complaints",
        refusals="all",
        on_error=answer,
    )


def _filing_refused(request, session, settings, access, form: ComplaintForm):
    def answer(err: DomainError) -> Response:
        errors = complaint_errors(
            form, err, files_dropped=_("For your safety, files are not kept: attach them again.")
        )
        context = _complaints_context(session, settings, access, values=form.values, errors=errors)
        return render(request, "retaliation/reporter.html", context, status_code=err.status_code)

    return answer


@router.post(REPORTER_PAGE, dependencies=[reporter_session])
async def file_retaliation(request: Request, session: SessionDep, settings: SettingsDep):
    form = await complaint_form(request)
    return reporter_page(
        request,
        session,
        settings,
        lambda access: _reporter_action(
            request,
            session,
            lambda: retaliation.file_by_receipt(
                session, settings, access=access, data=checked(form)
            ),
            _filing_refused(request, session, settings, access, form),
        ),
    )


def _message_refused(request, session, settings, access, reference: str, text: str):
    def answer(err: DomainError) -> Response:
        context = _complaints_context(session, settings, access)
        # The message's form is the complaint's own: its fields' errors under its reference.
        field = {"evidence": "files", "": "form"}.get(err.field, err.field)
        context["errors"] = {reference: {field: str(err)}}
        context["typed"] = {reference: text}
        return render(request, "retaliation/reporter.html", context, status_code=err.status_code)

    return answer


def _add_message(request, session, settings, access, reference: str, form: MessageForm):
    found = _mine(session, access, reference)
    if found is None:  # the reporter's problem page (`reporter_page`)
        raise reporting.ReportingError(_("This complaint does not exist."), status_code=404)
    reference = found.complaint.reference
    return _reporter_action(
        request,
        session,
        lambda: retaliation.add_complainant_message(
            session, settings, complaint=found.complaint, text=form.text, files=form.files
        ),
        _message_refused(request, session, settings, access, reference, form.text),
    )


@router.post(REPORTER_PAGE + "/{reference}/messages", dependencies=[reporter_session])
async def retaliation_message(
    request: Request, session: SessionDep, settings: SettingsDep, reference: str
):
    form = await message_form(request)
    return reporter_page(
        request,
        session,
        settings,
        lambda access: _add_message(request, session, settings, access, reference, form),
    )


def _reporter_file(session, settings, access, reference: str, uid: str) -> Response:
    found = _mine(session, access, reference)
    if found is None:  # the reporter's problem page (`reporter_page`)
        raise reporting.ReportingError(_("This file does not exist."), status_code=404)
    view, data = retaliation.read_complaint_attachment(session, settings, access=found, uid=uid)
    return attachment_response(view, data)


@router.get(REPORTER_PAGE + "/{reference}/attachments/{uid}", dependencies=[reporter_session])
def retaliation_attachment(
    request: Request, session: SessionDep, settings: SettingsDep, reference: str, uid: str
):
    return reporter_page(
        request,
        session,
        settings,
        lambda access: _reporter_file(session, settings, access, reference, uid),
    )


# --- dashboard --------------------------------------------------------------------------------


@dashboard.panel
def retaliation_panel(session: Session, principal: Principal) -> dashboard.Panel | None:
    """The protection officer's complaints, notices and HR watch."""
    if not principal.can(Permission.handle_retaliation):
        return None
    return dashboard.Panel(
        N_("Retaliation complaints"),
        "retaliation/panel.html",
        {
            "complaints": retaliation.complaint_inbox(session, officer=principal.user),
            "pending": retaliation.pending_entries(session, officer=principal.user),
            "notices": reporting.notifications_for(
                session, user=principal.user, unread_only=True, limit=5
            ),
            **labels(),
        },
        order=16,
    )
