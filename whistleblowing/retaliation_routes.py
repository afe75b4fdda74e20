"""Retaliation complaints: identified employees file and follow theirs; protection officers
handle them (assessment, measures, investigation, determination, remedies, burden-of-proof
pack) and screen the HR watch. Reporters file through their receipt in public_routes."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend import audit, dashboard
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep
from backend.deps import SESSION_COOKIE, CurrentPrincipal, SettingsDep, read_form, require
from backend.i18n import N_, _
from backend.web import NavItem, flash, redirect, register_nav, render
from whistleblowing import attachments, cases, retaliation
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
from whistleblowing.public_routes import attachment_response

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


def _undo(session: Session, settings, principal: Principal) -> None:
    """Roll back (removing files written) and reload the signed-in person's rows: the error
    page still needs them after the request's session has closed."""
    reporting.rollback(session, settings)
    session.refresh(principal.session)
    session.refresh(principal.user)


def _fail(err: reporting.ReportingError) -> HTTPException:
    return HTTPException(status_code=err.status_code, detail=str(err))


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


async def complaint_input(form) -> tuple[retaliation.ComplaintInput, dict, dict]:
    """Return the complaint in a submitted form, the values to show again and date errors."""
    acts, rows, errors = [], [], {}
    for index in range(ACT_ROWS):
        kind = str(form.get(f"act_{index}", "") or "")
        day = str(form.get(f"act_{index}_on", "") or "")
        text = str(form.get(f"act_{index}_text", "") or "")
        rows.append({"kind": kind, "on": day, "text": text})
        if kind:
            on = _date(day)
            if day and on is None:
                errors["acts"] = _("Enter the days as YYYY-MM-DD.")
            acts.append(retaliation.AllegedAct(kind, on, text.strip()))
    files = [
        reporting.Upload(entry.filename, await entry.read())
        for entry in form.getlist("files")
        if hasattr(entry, "filename") and entry.filename
    ]
    values = {
        "acts": rows,
        "narrative": str(form.get("narrative", "") or ""),
        "report_reference": str(form.get("report_reference", "") or ""),
        "reported_on": str(form.get("reported_on", "") or ""),
        "identity": str(form.get("identity", "") or ""),
    }
    reported_on = _date(values["reported_on"])
    if values["reported_on"] and reported_on is None:
        errors["reported_on"] = _("Enter the day as YYYY-MM-DD.")
    data = retaliation.ComplaintInput(
        acts=acts,
        narrative=values["narrative"],
        evidence=files,
        report_reference=values["report_reference"],
        reported_on=reported_on,
        identity=values["identity"],
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
async def file_complaint(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    form = await read_form(request)
    data, values, errors = await complaint_input(form)
    if not errors:
        try:
            complaint = retaliation.file_identified(
                session, settings, user=principal.user, data=data
            )
            flash(
                request,
                _(
                    "Your complaint %(reference)s was sent to the protection officers.",
                    reference=complaint.reference,
                ),
            )
            reporting.commit(session, settings)
        except reporting.ReportingError as err:
            _undo(session, settings, principal)
            errors = {err.field or "form": str(err)}
    if errors:
        if data.evidence and "evidence" not in errors:
            errors["evidence"] = _("For safety, files are not kept: attach them again.")
        return render(
            request,
            "retaliation/file.html",
            {**labels(), "values": values, "errors": errors},
            status_code=422,
        )
    return redirect(request, "/retaliation/mine")


@router.get("/mine", dependencies=[require(Permission.file_retaliation_complaint)])
def my_complaints(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    return render(
        request,
        "retaliation/mine.html",
        {
            **labels(),
            "complaints": retaliation.complaints_of_user(session, settings, user=principal.user),
            "errors": {},
        },
    )


@router.post(
    "/mine/{reference}/messages", dependencies=[require(Permission.file_retaliation_complaint)]
)
async def my_message(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
):
    form = await read_form(request)
    files = [
        reporting.Upload(entry.filename, await entry.read())
        for entry in form.getlist("files")
        if hasattr(entry, "filename") and entry.filename
    ]
    try:
        complaint = retaliation.complaint_of_user(
            session, settings, user=principal.user, reference=reference
        )
        retaliation.add_complainant_message(
            session,
            settings,
            complaint=complaint,
            text=str(form.get("text", "") or ""),
            files=files,
        )
        flash(request, _("Your message was added to the complaint."))
        reporting.commit(session, settings)
    except reporting.ReportingError as err:
        _undo(session, settings, principal)
        if err.status_code == 404:
            raise _fail(err) from None
        return render(
            request,
            "retaliation/mine.html",
            {
                **labels(),
                "complaints": retaliation.complaints_of_user(
                    session, settings, user=principal.user
                ),
                "errors": {reference.upper(): str(err)},
            },
            status_code=err.status_code,
        )
    return redirect(request, "/retaliation/mine")


# --- protection officers ----------------------------------------------------------------------


def _holder_private(request: Request, principal: Principal) -> bytes:
    try:
        return reporting.session_private_key(principal.session, request.cookies.get(SESSION_COOKIE))
    except reporting.ReportingError as err:
        raise _fail(err) from None


def _today(settings) -> date:
    return reporting.local_today(settings)


@router.get("", dependencies=[require(Permission.handle_retaliation)])
def complaints(
    request: Request, session: SessionDep, principal: CurrentPrincipal, status: str = "open"
):
    rows = retaliation.complaint_inbox(session, officer=principal.user, open_only=status != "all")
    return render(
        request, "retaliation/inbox.html", {**labels(), "complaints": rows, "status": status}
    )


def _watch_page(
    request, session, settings, principal, *, errors=None, values=None, status_code=200
):
    try:
        alerts = retaliation.screen(
            session,
            settings,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
            today=_today(settings),
        )
    except reporting.ReportingError as err:
        raise _fail(err) from None
    session.commit()
    return render(
        request,
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
def watch(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    return _watch_page(request, session, settings, principal)


@router.get("/watch/summary", dependencies=[require(Permission.handle_retaliation)])
def watch_summary(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    """The dashboard's HR watch line: screens new entries, counts open alerts (a fragment)."""
    try:
        alerts = retaliation.screen(
            session,
            settings,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
            today=_today(settings),
        )
    except reporting.ReportingError as err:
        raise _fail(err) from None
    session.commit()
    return render(
        request,
        "retaliation/watch_summary.html",
        {"open_alerts": sum(1 for a in alerts if a.acknowledged_on is None)},
    )


@router.post("/watch/protect", dependencies=[require(Permission.handle_retaliation)])
def protect(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    employee: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
):
    values = {"employee": employee, "since": since, "end_employee": ""}
    try:
        found = reporting_employee(session, employee)
        day = _date(since)
        if day is None or day > _today(settings):
            raise reporting.ReportingError(
                _("Enter the day of the protected report as YYYY-MM-DD."), field="since"
            )
        retaliation.protect(session, settings, employee_id=found, since=day, actor=principal.user)
    except reporting.ReportingError as err:
        _undo(session, settings, principal)
        return _watch_page(
            request,
            session,
            settings,
            principal,
            errors={err.field or "employee": str(err)},
            values=values,
            status_code=err.status_code,
        )
    flash(request, _("The person is under HR watch."))
    session.commit()
    return redirect(request, "/retaliation/watch")


def reporting_employee(session: Session, number: str) -> int:
    from backend.org import service as org_service

    employee = org_service.employee_by_number(session, number)
    if employee is None:
        raise reporting.ReportingError(_("No employee has this number."), field="employee")
    return employee.id


@router.post("/watch/end", dependencies=[require(Permission.handle_retaliation)])
def end_watch(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    employee: Annotated[str, Form()] = "",
):
    try:
        found = reporting_employee(session, employee)
        if not retaliation.end_protection(
            session, settings, employee_id=found, actor=principal.user
        ):
            raise reporting.ReportingError(
                _("This person is not under HR watch."), field="end_employee"
            )
    except reporting.ReportingError as err:
        _undo(session, settings, principal)
        return _watch_page(
            request,
            session,
            settings,
            principal,
            errors={"end_employee": str(err)},
            values={"employee": "", "since": "", "end_employee": employee},
            status_code=err.status_code,
        )
    flash(request, _("The HR watch of this person has ended."))
    session.commit()
    return redirect(request, "/retaliation/watch")


@router.post("/watch/alerts/{alert_id}/done", dependencies=[require(Permission.handle_retaliation)])
def alert_done(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    alert_id: str,
):
    try:
        retaliation.acknowledge_alert(
            session,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
            alert_id=alert_id,
            today=_today(settings),
        )
    except reporting.ReportingError as err:
        _undo(session, settings, principal)
        raise _fail(err) from None
    flash(request, _("The alert was marked as dealt with."))
    session.commit()
    return redirect(request, "/retaliation/watch")


def _open(
    request, session, principal, reference, *, audit_read: bool
) -> retaliation.ComplaintAccess:
    try:
        return retaliation.open_complaint(
            session,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
            reference=reference,
            audit_read=audit_read,
        )
    except reporting.ReportingError as err:
        raise _fail(err) from None


def _complaint_page(
    request, session, settings, principal, access, *, errors=None, values=None, status_code=200
):
    try:
        entries = retaliation.complaint_timeline(session, access=access)
    except reporting.ReportingError as err:
        raise _fail(err) from None
    complaint = access.complaint
    prima_facie = next(
        (e.content.get("established") for e in entries if e.kind is ComplaintItemKind.assessment),
        None,
    )
    return render(
        request,
        "retaliation/complaint.html",
        {
            **labels(),
            "complaint": complaint,
            "entries": entries,
            "content": next(
                (e.content for e in entries if e.kind is ComplaintItemKind.complaint), {}
            ),
            "prima_facie": prima_facie,
            "protected": retaliation.protected_employee_id(session, access) is not None,
            "today": _today(settings),
            "errors": errors or {},
            "values": values or {},
            "monitoring_months": retaliation.MONITORING_MONTHS,
        },
        status_code=status_code,
    )


@router.get("/{reference}", dependencies=[require(Permission.handle_retaliation)])
def complaint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
):
    access = _open(request, session, principal, reference, audit_read=True)
    session.commit()
    return _complaint_page(request, session, settings, principal, access)


def _act(request, session, settings, principal, reference, action, *, field, done, values=None):
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        action(access)
        flash(request, done)  # saved with the change, in the same commit
        reporting.commit(session, settings)
    except reporting.ReportingError as err:
        _undo(session, settings, principal)
        access = _open(request, session, principal, reference, audit_read=False)
        return _complaint_page(
            request,
            session,
            settings,
            principal,
            access,
            errors={err.field or field: str(err)},
            values=values,
            status_code=err.status_code,
        )
    return redirect(request, f"/retaliation/{access.complaint.reference}")


@router.post("/{reference}/assess", dependencies=[require(Permission.handle_retaliation)])
def assess(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    protected_report: Annotated[str, Form()] = "",
    detriment: Annotated[str, Form()] = "",
    timing: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.assess(
            session,
            settings,
            access=access,
            officer=principal.user,
            protected_report=protected_report == "yes",
            detriment=detriment == "yes",
            timing=timing == "yes",
            reason=reason,
            today=_today(settings),
        ),
        field="reason",
        done=_("The assessment was recorded."),
        values={"reason": reason},
    )


@router.post("/{reference}/measures", dependencies=[require(Permission.handle_retaliation)])
def measure(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    kind: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
):
    def action(access):
        start = _date(starts_on)
        if start is None:
            raise reporting.ReportingError(_("Enter the first day as YYYY-MM-DD."), field="measure")
        retaliation.order_measure(
            session,
            settings,
            access=access,
            officer=principal.user,
            kind=kind,
            details=details,
            starts_on=start,
            ends_on=_date(ends_on),
            today=_today(settings),
        )

    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        action,
        field="measure",
        done=_("The interim measure was recorded."),
        values={"details": details},
    )


@router.post("/{reference}/investigate", dependencies=[require(Permission.handle_retaliation)])
def investigate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
):
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.start_investigation(
            session, access=access, officer=principal.user, today=_today(settings)
        ),
        field="workflow",
        done=_("The investigation is open."),
    )


@router.post("/{reference}/determine", dependencies=[require(Permission.handle_retaliation)])
def determine(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    established: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.determine(
            session,
            settings,
            access=access,
            officer=principal.user,
            established=established == "yes",
            reason=reason,
            today=_today(settings),
        ),
        field="reason",
        done=_("The determination was recorded."),
        values={"reason": reason},
    )


@router.post("/{reference}/remedies", dependencies=[require(Permission.handle_retaliation)])
def remedy(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    kind: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
):
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.order_remedy(
            session,
            settings,
            access=access,
            officer=principal.user,
            kind=kind,
            details=details,
            today=_today(settings),
        ),
        field="remedy",
        done=_("The remedy was recorded."),
        values={"remedy_details": details},
    )


@router.post("/{reference}/close", dependencies=[require(Permission.handle_retaliation)])
def close(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    reason: Annotated[str, Form()] = "",
    withdrawn: Annotated[str, Form()] = "",
    monitoring_months: Annotated[str, Form()] = "",
):
    months = (
        int(monitoring_months) if monitoring_months.isdigit() else retaliation.MONITORING_MONTHS
    )
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.close(
            session,
            settings,
            access=access,
            officer=principal.user,
            reason=reason,
            withdrawn=withdrawn == "yes",
            monitoring_months=months,
            today=_today(settings),
        ),
        field="close",
        done=_("The complaint was closed."),
        values={"close_reason": reason},
    )


@router.post("/{reference}/items", dependencies=[require(Permission.handle_retaliation)])
async def add_item(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
):
    form = await read_form(request)
    text = str(form.get("text", "") or "")
    to_complainant = form.get("kind") == "officer_message"
    files = [
        reporting.Upload(entry.filename, await entry.read())
        for entry in form.getlist("files")
        if hasattr(entry, "filename") and entry.filename
    ]
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.add_officer_item(
            session,
            settings,
            access=access,
            officer=principal.user,
            to_complainant=to_complainant,
            text=text,
            files=files,
            today=_today(settings),
        ),
        field="text",
        done=_("Saved and encrypted."),
        values={"text": text},
    )


@router.post("/{reference}/protect", dependencies=[require(Permission.handle_retaliation)])
def protect_complainant(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    employee: Annotated[str, Form()] = "",
):
    return _act(
        request,
        session,
        settings,
        principal,
        reference,
        lambda access: retaliation.protect_complainant(
            session,
            settings,
            access=access,
            officer=principal.user,
            employee_number=employee,
            today=_today(settings),
        ),
        field="employee",
        done=_("The complainant is under HR watch."),
    )


@router.post("/{reference}/pack", dependencies=[require(Permission.handle_retaliation)])
def pack(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
):
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        signed = retaliation.burden_of_proof_pack(
            session,
            settings,
            access=access,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
            today=_today(settings),
        )
    except reporting.ReportingError as err:
        _undo(session, settings, principal)
        raise _fail(err) from None
    session.commit()
    filename = f"burden-of-proof-{access.complaint.reference}.json"
    return Response(
        json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/{reference}/attachments/{uid}", dependencies=[require(Permission.handle_retaliation)])
def attachment(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
    uid: str,
):
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        view, data = retaliation.read_complaint_attachment(
            session, settings, access=access, uid=uid
        )
    except reporting.ReportingError as err:
        raise _fail(err) from None
    audit.record(
        session,
        action="retaliation.attachment_read",
        actor=principal.user,
        entity_type="retaliation_complaint",
        entity_id=access.complaint.reference,
        after={"attachment": uid},
    )
    session.commit()
    return attachment_response(view, data)


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
