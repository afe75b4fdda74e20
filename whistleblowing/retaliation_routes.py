"""Retaliation complaints: identified employees file and follow theirs; protection officers
handle them (assessment, measures, investigation, determination, remedies, burden-of-proof
pack) and screen the HR watch. Reporters file through their receipt in public_routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend import dashboard
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.deps import form_int, read_form, require
from backend.files import content_disposition
from backend.i18n import N_, _
from backend.web import NavItem, flash, redirect, register_nav, render
from whistleblowing import attachments, cases, retaliation
from whistleblowing import service as reporting
from whistleblowing.http import Desk, DeskDep, http_error, parse_day, uploads
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

router = APIRouter(prefix="/retaliation")

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

ACT_ROWS = 4  # act lines on the form (the form works without JavaScript)


def labels() -> dict:
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


async def complaint_input(form) -> tuple[retaliation.ComplaintInput, dict, dict]:
    """Return the complaint in a submitted form, the values to show again and date errors."""
    acts, rows, errors = [], [], {}
    for index in range(ACT_ROWS):
        kind = str(form.get(f"act_{index}", "") or "")
        day = str(form.get(f"act_{index}_on", "") or "")
        text = str(form.get(f"act_{index}_text", "") or "")
        rows.append({"kind": kind, "on": day, "text": text})
        if kind:
            on = parse_day(day)
            if day and on is None:
                errors["acts"] = _("Enter the days as YYYY-MM-DD.")
            acts.append(retaliation.AllegedAct(kind, on, text.strip()))
    files = await uploads(form)
    values = {
        "acts": rows,
        "narrative": str(form.get("narrative", "") or ""),
        "report_reference": str(form.get("report_reference", "") or ""),
        "reported_on": str(form.get("reported_on", "") or ""),
        "identity": str(form.get("identity", "") or ""),
    }
    reported_on = parse_day(values["reported_on"])
    if values["reported_on"] and reported_on is None:
        errors["reported_on"] = _("Enter the day as YYYY-MM-DD.")
    data = retaliation.ComplaintInput(
        acts=acts,
        narrative=values["narrative"],
        evidence=files,
        report_reference=values["report_reference"],
        reported_on=reported_on,
        identity=values["identity"],
        keep_early_acts=form.get("keep_early_acts") == "yes",
    )
    return data, values, errors


def empty_values() -> dict:
    return {
        "acts": [{"kind": "", "on": "", "text": ""} for _ in range(ACT_ROWS)],
        "narrative": "",
        "report_reference": "",
        "reported_on": "",
        "identity": "",
    }


# --- identified employees ---------------------------------------------------------------------


@router.get("/file", dependencies=[require(Permission.file_retaliation_complaint)])
def file_form(request: Request):
    return render(
        request,
        "retaliation/file.html",
        {**labels(), "values": empty_values(), "errors": {}},
    )


@router.post("/file", dependencies=[require(Permission.file_retaliation_complaint)])
async def file_complaint(desk: DeskDep):
    session, settings = desk.session, desk.settings
    form = await read_form(desk.request)
    data, values, errors = await complaint_input(form)
    if not errors:
        try:
            complaint = retaliation.file_identified(session, settings, user=desk.user, data=data)
            flash(
                desk.request,
                _(
                    "Your complaint %(reference)s was sent to the protection officers.",
                    reference=complaint.reference,
                ),
            )
            reporting.commit(session, settings)
        except reporting.ReportingError as err:
            desk.undo()
            errors = {err.field or "form": str(err)}
    if errors:
        if data.evidence and "evidence" not in errors:
            errors["evidence"] = _("For safety, files are not kept: attach them again.")
        return render(
            desk.request,
            "retaliation/file.html",
            {**labels(), "values": values, "errors": errors},
            status_code=422,
        )
    return redirect(desk.request, "/retaliation/mine")


def _my_complaints_page(desk: Desk, *, errors: dict, status_code: int = 200):
    return render(
        desk.request,
        "retaliation/mine.html",
        {
            **labels(),
            "complaints": retaliation.complaints_of_user(
                desk.session, desk.settings, user=desk.user
            ),
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/mine", dependencies=[require(Permission.file_retaliation_complaint)])
def my_complaints(desk: DeskDep):
    return _my_complaints_page(desk, errors={})


@router.post(
    "/mine/{reference}/messages", dependencies=[require(Permission.file_retaliation_complaint)]
)
async def my_message(desk: DeskDep, reference: str):
    session, settings = desk.session, desk.settings
    form = await read_form(desk.request)
    files = await uploads(form)
    try:
        complaint = retaliation.complaint_of_user(
            session, settings, user=desk.user, reference=reference
        )
        retaliation.add_complainant_message(
            session,
            settings,
            complaint=complaint,
            text=str(form.get("text", "") or ""),
            files=files,
        )
        flash(desk.request, _("Your message was added to the complaint."))
        reporting.commit(session, settings)
    except reporting.ReportingError as err:
        desk.undo()
        if err.status_code == 404:
            raise http_error(err) from None
        return _my_complaints_page(
            desk, errors={reference.upper(): str(err)}, status_code=err.status_code
        )
    return redirect(desk.request, "/retaliation/mine")


# --- protection officers ----------------------------------------------------------------------


@router.get("", dependencies=[require(Permission.handle_retaliation)])
def complaints(desk: DeskDep, status: str = "open"):
    rows = retaliation.complaint_inbox(desk.session, officer=desk.user, open_only=status != "all")
    return render(
        desk.request, "retaliation/inbox.html", {**labels(), "complaints": rows, "status": status}
    )


def _screen(desk: Desk) -> list:
    """Return the HR watch's alerts after screening new HR entries (committed)."""
    try:
        alerts = retaliation.screen(
            desk.session,
            desk.settings,
            officer=desk.user,
            holder_private=desk.holder_private(),
            today=desk.today,
        )
    except reporting.ReportingError as err:
        raise http_error(err) from None
    desk.session.commit()
    return alerts


def _watch_page(desk: Desk, *, errors=None, values=None, status_code=200):
    alerts = _screen(desk)
    return render(
        desk.request,
        "retaliation/watch.html",
        {
            **labels(),
            "alerts": alerts,
            "errors": errors or {},
            "values": values or {"employee": "", "since": "", "end_employee": ""},
        },
        status_code=status_code,
    )


@router.get("/watch", dependencies=[require(Permission.handle_retaliation)])
def watch(desk: DeskDep):
    return _watch_page(desk)


@router.get("/watch/summary", dependencies=[require(Permission.handle_retaliation)])
def watch_summary(desk: DeskDep):
    """The dashboard's HR watch line: screens new entries, counts open alerts (a fragment)."""
    alerts = _screen(desk)
    return render(
        desk.request,
        "retaliation/watch_summary.html",
        {"open_alerts": sum(1 for a in alerts if a.acknowledged_on is None)},
    )


@router.post("/watch/protect", dependencies=[require(Permission.handle_retaliation)])
def protect(
    desk: DeskDep,
    employee: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
):
    values = {"employee": employee, "since": since, "end_employee": ""}
    try:
        found = reporting_employee(desk.session, employee)
        day = parse_day(since)
        if day is None or day > desk.today:
            raise reporting.ReportingError(
                _("Enter the day of the protected report as YYYY-MM-DD."), field="since"
            )
        retaliation.protect(
            desk.session, desk.settings, employee_id=found, since=day, actor=desk.user
        )
    except reporting.ReportingError as err:
        desk.undo()
        return _watch_page(
            desk,
            errors={err.field or "employee": str(err)},
            values=values,
            status_code=err.status_code,
        )
    flash(desk.request, _("The person is under HR watch."))
    desk.session.commit()
    return redirect(desk.request, "/retaliation/watch")


def reporting_employee(session: Session, number: str) -> int:
    from backend.org import service as org_service

    employee = org_service.employee_by_number(session, number)
    if employee is None:
        raise reporting.ReportingError(_("No employee has this number."), field="employee")
    return employee.id


@router.post("/watch/end", dependencies=[require(Permission.handle_retaliation)])
def end_watch(desk: DeskDep, employee: Annotated[str, Form()] = ""):
    try:
        found = reporting_employee(desk.session, employee)
        if not retaliation.end_protection(
            desk.session, desk.settings, employee_id=found, actor=desk.user
        ):
            raise reporting.ReportingError(
                _("This person is not under HR watch."), field="end_employee"
            )
    except reporting.ReportingError as err:
        desk.undo()
        return _watch_page(
            desk,
            errors={"end_employee": str(err)},
            values={"employee": "", "since": "", "end_employee": employee},
            status_code=err.status_code,
        )
    flash(desk.request, _("The HR watch of this person has ended."))
    desk.session.commit()
    return redirect(desk.request, "/retaliation/watch")


@router.post("/watch/alerts/{alert_id}/done", dependencies=[require(Permission.handle_retaliation)])
def alert_done(desk: DeskDep, alert_id: str):
    try:
        retaliation.acknowledge_alert(
            desk.session,
            officer=desk.user,
            holder_private=desk.holder_private(),
            alert_id=alert_id,
            today=desk.today,
        )
    except reporting.ReportingError as err:
        desk.undo()
        raise http_error(err) from None
    flash(desk.request, _("The alert was marked as dealt with."))
    desk.session.commit()
    return redirect(desk.request, "/retaliation/watch")


def _open(desk: Desk, reference: str, *, audit_read: bool) -> retaliation.ComplaintAccess:
    try:
        return retaliation.open_complaint(
            desk.session,
            officer=desk.user,
            holder_private=desk.holder_private(),
            reference=reference,
            audit_read=audit_read,
        )
    except reporting.ReportingError as err:
        raise http_error(err) from None


def _complaint_page(desk: Desk, access, *, errors=None, values=None, status_code=200):
    try:
        entries = retaliation.complaint_timeline(desk.session, access=access)
    except reporting.ReportingError as err:
        raise http_error(err) from None
    complaint = access.complaint
    prima_facie = next(
        (e.content.get("established") for e in entries if e.kind is ComplaintItemKind.assessment),
        None,
    )
    return render(
        desk.request,
        "retaliation/complaint.html",
        {
            **labels(),
            "complaint": complaint,
            "entries": entries,
            "content": next(
                (e.content for e in entries if e.kind is ComplaintItemKind.complaint), {}
            ),
            "prima_facie": prima_facie,
            "protected": retaliation.protected_employee_id(desk.session, access) is not None,
            "today": desk.today,
            "errors": errors or {},
            "values": values or {},
            "monitoring_months": retaliation.MONITORING_MONTHS,
        },
        status_code=status_code,
    )


@router.get("/{reference}", dependencies=[require(Permission.handle_retaliation)])
def complaint(desk: DeskDep, reference: str):
    access = _open(desk, reference, audit_read=True)
    desk.session.commit()
    return _complaint_page(desk, access)


def _act(desk: Desk, reference: str, action, *, field: str, done: str, values=None):
    """Open the complaint, run `action(access)`, commit and redirect; on a broken rule, show
    the complaint again with the message next to `field` and nothing written."""
    return desk.act(
        lambda: _open(desk, reference, audit_read=False),
        lambda access, **shown: _complaint_page(desk, access, **shown),
        action,
        field=field,
        done=done,
        values=values,
        target=lambda access: f"/retaliation/{access.complaint.reference}",
    )


def _officer_step(
    desk: Desk, step: Callable[..., object], **details: Any
) -> Callable[[retaliation.ComplaintAccess], object]:
    """Return the action taking `step` on the opened complaint as the officer, today."""
    return lambda access: step(
        desk.session,
        desk.settings,
        access=access,
        officer=desk.user,
        today=desk.today,
        **details,
    )


@router.post("/{reference}/assess", dependencies=[require(Permission.handle_retaliation)])
def assess(
    desk: DeskDep,
    reference: str,
    protected_report: Annotated[str, Form()] = "",
    detriment: Annotated[str, Form()] = "",
    timing: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    return _act(
        desk,
        reference,
        _officer_step(
            desk,
            retaliation.assess,
            protected_report=protected_report == "yes",
            detriment=detriment == "yes",
            timing=timing == "yes",
            reason=reason,
        ),
        field="reason",
        done=_("The assessment was recorded."),
        values={"reason": reason},
    )


@router.post("/{reference}/measures", dependencies=[require(Permission.handle_retaliation)])
def measure(
    desk: DeskDep,
    reference: str,
    kind: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
):
    end = parse_day(ends_on)

    def action(access):
        retaliation.check_measure_allowed(desk.session, access)
        if ends_on.strip() and end is None:
            raise reporting.ReportingError(_("Enter the last day as YYYY-MM-DD."), field="ends_on")
        retaliation.order_measure(
            desk.session,
            desk.settings,
            access=access,
            officer=desk.user,
            kind=kind,
            details=details,
            starts_on=parse_day(starts_on),
            ends_on=end,
            today=desk.today,
        )

    # A refusal of where the complaint stands (no field) is shown above the steps ("workflow").
    return _act(
        desk,
        reference,
        action,
        field="workflow",
        done=_("The interim measure was recorded."),
        values={
            "form": "measure",
            "kind": kind,
            "details": details,
            "starts_on": starts_on,
            "ends_on": ends_on,
        },
    )


@router.post("/{reference}/investigate", dependencies=[require(Permission.handle_retaliation)])
def investigate(desk: DeskDep, reference: str):
    return _act(
        desk,
        reference,
        lambda access: retaliation.start_investigation(
            desk.session, access=access, officer=desk.user, today=desk.today
        ),
        field="workflow",
        done=_("The investigation is open."),
    )


@router.post("/{reference}/determine", dependencies=[require(Permission.handle_retaliation)])
def determine(
    desk: DeskDep,
    reference: str,
    established: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    return _act(
        desk,
        reference,
        _officer_step(desk, retaliation.determine, established=established == "yes", reason=reason),
        field="reason",
        done=_("The determination was recorded."),
        values={"reason": reason},
    )


@router.post("/{reference}/remedies", dependencies=[require(Permission.handle_retaliation)])
def remedy(
    desk: DeskDep,
    reference: str,
    kind: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
):
    return _act(
        desk,
        reference,
        _officer_step(desk, retaliation.order_remedy, kind=kind, details=details),
        field="remedy",
        done=_("The remedy was recorded."),
        values={"remedy_details": details},
    )


@router.post("/{reference}/close", dependencies=[require(Permission.handle_retaliation)])
def close(
    desk: DeskDep,
    reference: str,
    reason: Annotated[str, Form()] = "",
    withdrawn: Annotated[str, Form()] = "",
    monitoring_months: Annotated[str, Form()] = "",
):
    months = form_int(monitoring_months, field="monitoring_months")
    if months is None:
        months = retaliation.MONITORING_MONTHS
    return _act(
        desk,
        reference,
        _officer_step(
            desk,
            retaliation.close,
            reason=reason,
            withdrawn=withdrawn == "yes",
            monitoring_months=months,
        ),
        field="workflow",
        done=_("The complaint was closed."),
        values={"form": "close", "close_reason": reason, "monitoring_months": monitoring_months},
    )


@router.post("/{reference}/items", dependencies=[require(Permission.handle_retaliation)])
async def add_item(desk: DeskDep, reference: str):
    form = await read_form(desk.request)
    text = str(form.get("text", "") or "")
    to_complainant = form.get("kind") == "officer_message"
    files = await uploads(form)
    return _act(
        desk,
        reference,
        _officer_step(
            desk,
            retaliation.add_officer_item,
            to_complainant=to_complainant,
            text=text,
            files=files,
        ),
        field="text",
        done=_("Saved and encrypted."),
        values={"text": text},
    )


@router.post("/{reference}/protect", dependencies=[require(Permission.handle_retaliation)])
def protect_complainant(desk: DeskDep, reference: str, employee: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        _officer_step(desk, retaliation.protect_complainant, employee_number=employee),
        field="employee",
        done=_("The complainant is under HR watch."),
    )


@router.post("/{reference}/pack", dependencies=[require(Permission.handle_retaliation)])
def pack(desk: DeskDep, reference: str):
    access = _open(desk, reference, audit_read=False)
    try:
        signed = retaliation.burden_of_proof_pack(
            desk.session,
            desk.settings,
            access=access,
            officer=desk.user,
            holder_private=desk.holder_private(),
            today=desk.today,
        )
    except reporting.ReportingError as err:
        desk.undo()
        raise http_error(err) from None
    desk.session.commit()
    filename = f"burden-of-proof-{access.complaint.reference}.json"
    return Response(
        json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": content_disposition(filename),
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/{reference}/attachments/{uid}", dependencies=[require(Permission.handle_retaliation)])
def attachment(desk: DeskDep, reference: str, uid: str):
    access = _open(desk, reference, audit_read=False)
    return desk.attachment(
        lambda: retaliation.read_complaint_attachment(
            desk.session, desk.settings, access=access, uid=uid
        ),
        action="retaliation.attachment_read",
        entity_type="retaliation_complaint",
        entity_id=access.complaint.reference,
        uid=uid,
    )


# --- dashboard --------------------------------------------------------------------------------


@dashboard.panel
def retaliation_panel(session: Session, principal: Principal) -> dashboard.Panel | None:
    """The protection officer's complaints, notices and HR watch."""
    if not principal.can(Permission.handle_retaliation):
        return None
    open_complaints = retaliation.complaint_inbox(session, officer=principal.user)
    return dashboard.Panel(
        N_("Retaliation complaints"),
        "retaliation/panel.html",
        {
            "complaints": open_complaints,
            "pending": retaliation.pending_entries(session, officer=principal.user),
            "notices": cases.notifications_for(
                session, user=principal.user, unread_only=True, limit=5
            ),
            **labels(),
        },
        order=16,
    )
