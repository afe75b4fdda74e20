"""The investigators' side of the reporting channel, and its administration.

Investigators (signed in with TOTP) see the reports they hold a key to, open them (audited),
write into them, change their status and share them. Protection officers decide identity
requests. Administrators configure channels and recipients but cannot open any report.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from sqlmodel import Session

from backend import audit, dashboard
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep
from backend.deps import SESSION_COOKIE, CurrentPrincipal, SettingsDep, read_form, require
from backend.i18n import N_, _
from backend.web import NavItem, flash, redirect, register_nav, render
from whistleblowing import attachments
from whistleblowing import service as reporting
from whistleblowing.models import (
    ITEM_KIND_LABELS,
    RED_FLAG_LABELS,
    REPORT_OUTCOME_LABELS,
    REPORT_STATUS_LABELS,
    ItemKind,
    ReportChannel,
    ReportStatus,
)
from whistleblowing.public_routes import attachment_response

router = APIRouter(prefix="/cases")

register_nav(NavItem(N_("Reports"), "/cases", Permission.handle_reports, order=60))
register_nav(
    NavItem(
        N_("Identity requests"),
        "/cases/identity-requests",
        Permission.release_reporter_identity,
        order=61,
    )
)
register_nav(
    NavItem(
        N_("Reporting channels"), "/cases/channels", Permission.manage_report_channels, order=85
    )
)

STAFF_KINDS = [
    ItemKind.reply,
    ItemKind.question,
    ItemKind.acknowledgement,
    ItemKind.feedback,
    ItemKind.note,
]


def _fail(err: reporting.ReportingError) -> HTTPException:
    return HTTPException(status_code=err.status_code, detail=str(err))


def _holder_private(request: Request, principal: Principal) -> bytes:
    try:
        return reporting.session_private_key(principal.session, request.cookies.get(SESSION_COOKIE))
    except reporting.ReportingError as err:
        raise _fail(err) from None


def _open(
    request: Request, session: Session, principal: Principal, reference: str, *, audit_read: bool
) -> reporting.CaseAccess:
    try:
        return reporting.open_case(
            session,
            user=principal.user,
            holder_private=_holder_private(request, principal),
            reference=reference,
            audit_read=audit_read,
        )
    except reporting.ReportingError as err:
        raise _fail(err) from None


def _labels() -> dict:
    return {
        "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
        "REPORT_OUTCOME_LABELS": REPORT_OUTCOME_LABELS,
        "ITEM_KIND_LABELS": ITEM_KIND_LABELS,
        "RED_FLAG_LABELS": RED_FLAG_LABELS,
        "ItemKind": ItemKind,
        "ReportStatus": ReportStatus,
    }


# --- inbox ------------------------------------------------------------------------------------


@router.get("", dependencies=[require(Permission.handle_reports)])
def inbox(request: Request, session: SessionDep, principal: CurrentPrincipal, status: str = "open"):
    rows = reporting.inbox(session, user=principal.user, status=status)
    return render(
        request,
        "cases/inbox.html",
        {**_labels(), "rows": rows, "status": status, "statuses": list(ReportStatus)},
        block="results",
    )


# --- channels (administrators) ----------------------------------------------------------------


@router.get("/channels", dependencies=[require(Permission.manage_report_channels)])
def channels(request: Request, session: SessionDep):
    listed = reporting.all_channels(session)
    recipients = {c.id: reporting.channel_recipients(session, c.id) for c in listed}
    keys = reporting.holder_keys(session, [u.id for us in recipients.values() for u in us])
    return render(
        request,
        "cases/channels.html",
        {
            "channels": listed,
            "recipients": recipients,
            "keys": keys,
            "ready": reporting.recovery_ready(session),
        },
    )


def _channel_or_404(session: Session, channel_id: int) -> ReportChannel:
    channel = session.get(ReportChannel, channel_id)
    if channel is None:
        raise HTTPException(status_code=404, detail=_("This channel does not exist."))
    return channel


def _channel_form(request, session, channel, values, errors, status_code=200):
    people = reporting.investigators(session)
    current = (
        {u.id for u in reporting.channel_recipients(session, channel.id)} if channel else set()
    )
    return render(
        request,
        "cases/channel_form.html",
        {
            "channel": channel,
            "values": values,
            "errors": errors,
            "investigators": people,
            "keys": reporting.holder_keys(session, [u.id for u in people]),
            "current": current,
        },
        status_code=status_code,
        block="form",
    )


def _channel_values(channel: ReportChannel | None) -> dict:
    if channel is None:
        return {
            "code": "",
            "name_es": "",
            "name_en": "",
            "description_es": "",
            "description_en": "",
            "is_active": True,
            "order": 100,
        }
    return {
        "code": channel.code,
        "name_es": channel.name_es,
        "name_en": channel.name_en,
        "description_es": channel.description_es,
        "description_en": channel.description_en,
        "is_active": channel.is_active,
        "order": channel.order,
    }


@router.get("/channels/new", dependencies=[require(Permission.manage_report_channels)])
def new_channel(request: Request, session: SessionDep):
    return _channel_form(request, session, None, _channel_values(None), {})


@router.get("/channels/{channel_id}", dependencies=[require(Permission.manage_report_channels)])
def edit_channel(request: Request, session: SessionDep, channel_id: int):
    channel = _channel_or_404(session, channel_id)
    return _channel_form(request, session, channel, _channel_values(channel), {})


async def _save_channel(request, session, principal, channel: ReportChannel | None):
    form = await request.form()
    values = {
        key: str(form.get(key, "") or "")
        for key in ("code", "name_es", "name_en", "description_es", "description_en")
    }
    values["is_active"] = form.get("is_active") == "yes"
    order = str(form.get("order", "100") or "100")
    values["order"] = int(order) if order.lstrip("-").isdigit() else 100
    recipients = [int(v) for v in form.getlist("recipients") if isinstance(v, str) and v.isdigit()]
    try:
        saved = reporting.save_channel(session, actor=principal.user, channel=channel, **values)
        reporting.set_channel_recipients(
            session, actor=principal.user, channel=saved, user_ids=recipients
        )
    except reporting.ReportingError as err:
        session.rollback()
        return _channel_form(
            request, session, channel, values, {err.field or "code": str(err)}, status_code=422
        )
    session.commit()
    flash(request, _("The channel was saved."))
    return redirect(request, "/cases/channels")


@router.post("/channels/new", dependencies=[require(Permission.manage_report_channels)])
async def create_channel(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return await _save_channel(request, session, principal, None)


@router.post("/channels/{channel_id}", dependencies=[require(Permission.manage_report_channels)])
async def update_channel(
    request: Request, session: SessionDep, principal: CurrentPrincipal, channel_id: int
):
    return await _save_channel(request, session, principal, _channel_or_404(session, channel_id))


# --- statistics -------------------------------------------------------------------------------


@router.get("/statistics", dependencies=[require(Permission.view_report_statistics)])
def statistics(request: Request, session: SessionDep):
    rows = reporting.statistics(session, threshold=reporting.STATISTICS_THRESHOLD)
    return render(
        request,
        "cases/statistics.html",
        {**_labels(), "rows": rows, "threshold": reporting.STATISTICS_THRESHOLD},
    )


# --- identity requests (protection officers) --------------------------------------------------


@router.get("/identity-requests", dependencies=[require(Permission.release_reporter_identity)])
def identity_requests(request: Request, session: SessionDep, principal: CurrentPrincipal):
    try:
        views = reporting.identity_requests(
            session,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
        )
    except reporting.ReportingError as err:
        raise _fail(err) from None
    return render(request, "cases/identity_requests.html", {"views": views, "errors": {}})


@router.post(
    "/identity-requests/{request_id}",
    dependencies=[require(Permission.release_reporter_identity)],
)
def decide_identity_request(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    request_id: int,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    try:
        reporting.decide_identity_request(
            session,
            officer=principal.user,
            holder_private=_holder_private(request, principal),
            request_id=request_id,
            approve=decision == "approve",
            note=note,
        )
    except reporting.ReportingError as err:
        session.rollback()
        raise _fail(err) from None
    session.commit()
    flash(request, _("Your decision was recorded."))
    return redirect(request, "/cases/identity-requests")


# --- one case ---------------------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    principal: Principal,
    access: reporting.CaseAccess,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
):
    try:
        entries = reporting.timeline(session, access=access)
    except reporting.ReportingError as err:
        raise _fail(err) from None
    report = access.report
    holders = reporting.holders(session, report)
    return render(
        request,
        "cases/case.html",
        {
            **_labels(),
            "report": report,
            "channel": session.get(ReportChannel, report.channel_id),
            "entries": entries,
            "holders": holders,
            "candidates": reporting.grant_candidates(session, report),
            "staff_kinds": STAFF_KINDS,
            "next_statuses": sorted(reporting.STATUS_FLOW[ReportStatus(report.status)]),
            "can_request_identity": reporting.has_identity(report)
            and access.identity_private_key is None,
            "errors": errors or {},
            "values": values or {"kind": "reply", "text": ""},
            "max_mb": attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
            "max_files": attachments.MAX_ATTACHMENTS_PER_MESSAGE,
            "accepted": ", ".join(attachments.ALLOWED_EXTENSIONS),
        },
        status_code=status_code,
    )


@router.get("/{reference}", dependencies=[require(Permission.handle_reports)])
def case(request: Request, session: SessionDep, principal: CurrentPrincipal, reference: str):
    access = _open(request, session, principal, reference, audit_read=True)
    # The read is audited in the same transaction as nothing else: commit it before showing.
    session.commit()
    return _case_page(request, session, principal, access)


@router.post("/{reference}/items", dependencies=[require(Permission.handle_reports)])
async def add_item(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    reference: str,
):
    form = await read_form(request)
    kind_value = str(form.get("kind", "") or "")
    text = str(form.get("text", "") or "")
    uploads = []
    for entry in form.getlist("files"):
        if hasattr(entry, "filename") and entry.filename:
            uploads.append(reporting.Upload(entry.filename, await entry.read()))
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        kind = ItemKind(kind_value)
        if kind not in STAFF_KINDS:
            raise ValueError
    except ValueError:
        kind = None
    try:
        if kind is None:
            raise reporting.ReportingError(_("Choose what you are writing."), field="kind")
        reporting.add_item(
            session,
            settings,
            access=access,
            kind=kind,
            text=text,
            author=principal.user,
            files=uploads,
        )
        reporting.commit(session, settings)
    except reporting.ReportingError as err:
        reporting.rollback(session, settings)
        access = _open(request, session, principal, reference, audit_read=False)
        return _case_page(
            request,
            session,
            principal,
            access,
            errors={err.field or "text": str(err)},
            values={"kind": kind_value, "text": text},
            status_code=err.status_code,
        )
    flash(request, _("Saved and encrypted."))
    return redirect(request, f"/cases/{access.report.reference}#item-latest")


@router.post("/{reference}/status", dependencies=[require(Permission.handle_reports)])
def change_status(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    reference: str,
    status: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
):
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        reporting.change_status(
            session, access=access, actor=principal.user, status=status, outcome=outcome or None
        )
    except reporting.ReportingError as err:
        session.rollback()
        access = _open(request, session, principal, reference, audit_read=False)
        return _case_page(
            request,
            session,
            principal,
            access,
            errors={err.field or "status": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    flash(request, _("The status was changed."))
    return redirect(request, f"/cases/{access.report.reference}")


@router.post("/{reference}/grants", dependencies=[require(Permission.handle_reports)])
def grant(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    reference: str,
    user_id: Annotated[int, Form()] = 0,
):
    access = _open(request, session, principal, reference, audit_read=False)
    grantee = session.get(User, user_id)
    try:
        if grantee is None:
            raise reporting.ReportingError(_("Choose a person."), field="grant")
        reporting.grant_access(session, access=access, actor=principal.user, grantee=grantee)
    except reporting.ReportingError as err:
        session.rollback()
        access = _open(request, session, principal, reference, audit_read=False)
        return _case_page(
            request,
            session,
            principal,
            access,
            errors={"grant": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    flash(request, _("%(name)s can now read this report.", name=grantee.full_name))
    return redirect(request, f"/cases/{access.report.reference}")


@router.post(
    "/{reference}/grants/{user_id}/revoke", dependencies=[require(Permission.handle_reports)]
)
def revoke(
    request: Request, session: SessionDep, principal: CurrentPrincipal, reference: str, user_id: int
):
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        reporting.revoke_access(
            session, report=access.report, actor=principal.user, user_id=user_id
        )
    except reporting.ReportingError as err:
        session.rollback()
        access = _open(request, session, principal, reference, audit_read=False)
        return _case_page(
            request,
            session,
            principal,
            access,
            errors={"grant": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    flash(request, _("Access was withdrawn."))
    if user_id == principal.user.id:
        return redirect(request, "/cases")
    return redirect(request, f"/cases/{access.report.reference}")


@router.post("/{reference}/identity-requests", dependencies=[require(Permission.handle_reports)])
def request_identity(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    reference: str,
    reason: Annotated[str, Form()] = "",
):
    access = _open(request, session, principal, reference, audit_read=False)
    try:
        reporting.request_identity(session, access=access, actor=principal.user, reason=reason)
    except reporting.ReportingError as err:
        session.rollback()
        access = _open(request, session, principal, reference, audit_read=False)
        return _case_page(
            request,
            session,
            principal,
            access,
            errors={"reason": str(err)},
            values={"kind": "reply", "text": "", "reason": reason},
            status_code=err.status_code,
        )
    session.commit()
    flash(request, _("Your request was sent to the protection officers."))
    return redirect(request, f"/cases/{access.report.reference}")


@router.get("/{reference}/attachments/{uid}", dependencies=[require(Permission.handle_reports)])
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
        view, data = reporting.read_attachment(session, settings, access=access, uid=uid)
    except reporting.ReportingError as err:
        raise _fail(err) from None
    audit.record(
        session,
        action="report.attachment_read",
        actor=principal.user,
        entity_type="report",
        entity_id=access.report.reference,
        after={"attachment": uid},
    )
    session.commit()
    return attachment_response(view, data)


# --- dashboard --------------------------------------------------------------------------------


@dashboard.panel
def reporting_inbox_panel(session: Session, principal: Principal) -> dashboard.Panel | None:
    """The investigator's reports: how many, what is new, and which deadlines are near."""
    if not principal.can(Permission.handle_reports):
        return None
    counts = reporting.inbox_counts(session, user=principal.user)
    return dashboard.Panel(
        N_("Reporting channel"), "cases/panel.html", {"counts": counts, **_labels()}, order=15
    )
