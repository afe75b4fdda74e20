"""The investigators' side of the reporting channel, and its administration.

Investigators (signed in with TOTP) see the reports they hold a key to, open them (audited),
write into them, move them through their lifecycle, hand them over and share them; they enter
reports made by telephone or in person and follow the statutory deadlines on the SLA board.
Protection officers decide identity requests. Administrators configure channels (recipients,
lead, deputy) and tags but cannot open any report.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend import crypto, dashboard
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep
from backend.deps import (
    CurrentPrincipal,
    FieldError,
    SettingsDep,
    form_id,
    form_ids,
    form_int,
    id_or_none,
    read_form,
    require,
    session_token,
)
from backend.files import content_disposition
from backend.i18n import N_, _
from backend.web import (
    NavItem,
    Page,
    flash,
    format_date,
    keep_form,
    kept_form,
    redirect,
    register_nav,
    render,
)
from whistleblowing import attachments, cases, deadlines, retaliation
from whistleblowing import service as reporting
from whistleblowing.http import Desk, DeskDep, http_error, parse_day, undo, uploads
from whistleblowing.models import (
    INTAKE_CHANNEL_LABELS,
    ITEM_KIND_LABELS,
    NOTIFICATION_LABELS,
    RED_FLAG_LABELS,
    RED_FLAGS,
    REPORT_OUTCOME_LABELS,
    REPORT_STATUS_LABELS,
    CaseTag,
    IntakeChannel,
    ItemKind,
    NotificationKind,
    ReportChannel,
    ReportOutcome,
    ReportStatus,
)

router = APIRouter(prefix="/cases")

register_nav(NavItem(N_("Reports"), "/cases", Permission.handle_reports, order=60))
register_nav(NavItem(N_("Deadlines"), "/cases/deadlines", Permission.handle_reports, order=61))
register_nav(
    NavItem(
        N_("Identity requests"),
        "/cases/identity-requests",
        Permission.release_reporter_identity,
        order=62,
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


def _open(desk: Desk, reference: str, *, audit_read: bool) -> reporting.CaseAccess:
    try:
        return reporting.open_case(
            desk.session,
            user=desk.user,
            holder_private=desk.holder_private(),
            reference=reference,
            audit_read=audit_read,
        )
    except reporting.ReportingError as err:
        raise http_error(err) from None


def _labels() -> dict:
    return {
        "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
        "REPORT_OUTCOME_LABELS": REPORT_OUTCOME_LABELS,
        "ITEM_KIND_LABELS": ITEM_KIND_LABELS,
        "RED_FLAG_LABELS": RED_FLAG_LABELS,
        "INTAKE_CHANNEL_LABELS": INTAKE_CHANNEL_LABELS,
        "NOTIFICATION_LABELS": NOTIFICATION_LABELS,
        "ItemKind": ItemKind,
        "ReportStatus": ReportStatus,
        "NotificationKind": NotificationKind,
    }


def _int_or_none(value: object) -> int | None:
    """Return the id a filter or form value names; None when empty or not an id (the caller
    says the record was not found)."""
    return id_or_none(value)


# --- inbox ------------------------------------------------------------------------------------


@router.get("", dependencies=[require(Permission.handle_reports)])
def inbox(
    desk: DeskDep,
    status: str = "open",
    assigned: str = "",
    tag: str = "",
    due: str = "",
    page: int = 1,
):
    filters = reporting.InboxFilter(
        status=status,
        assigned=assigned if assigned in ("mine", "unassigned") else "",
        tag_id=_int_or_none(tag),
        due=due if due in ("overdue", "soon") else "",
    )
    rows, total = reporting.inbox_page(
        desk.session, user=desk.user, filters=filters, today=desk.today, page=page
    )
    query = urlencode({"status": status, "assigned": assigned, "tag": tag, "due": due})
    return render(
        desk.request,
        "cases/inbox.html",
        {
            **_labels(),
            "rows": rows,
            "page": Page(rows, total, max(1, page), 50),
            "base_query": query,
            "filters": filters,
            "status": status,
            "statuses": list(ReportStatus),
            "tags": cases.all_tags(desk.session),
        },
        block="results",
    )


# --- the SLA board ----------------------------------------------------------------------------


@router.get("/deadlines", dependencies=[require(Permission.handle_reports)])
def deadlines_board(desk: DeskDep):
    board = cases.sla_board(desk.session, user=desk.user, today=desk.today)
    notices = cases.notifications_for(desk.session, user=desk.user, unread_only=True, limit=20)
    return render(
        desk.request,
        "cases/deadlines.html",
        {**_labels(), "board": board, "notices": notices},
    )


# --- reports made by telephone, in person, by letter or email ---------------------------------


def _intake_context(session, settings, values: dict | None = None, errors: dict | None = None):
    channels = reporting.active_channels(session)
    return {
        **_labels(),
        "channels": channels,
        "recipients": reporting.recipients_by_channel(session),
        "RED_FLAGS": RED_FLAGS,
        "intake_channels": [c for c in IntakeChannel if c is not IntakeChannel.web],
        "values": values
        or {
            "channel": "",
            "received_via": IntakeChannel.phone.value,
            "received_on": reporting.local_today(settings).isoformat(),
            "what": "",
            "when": "",
            "where": "",
            "who": "",
            "how_known": "",
            "red_flags": [],
            "others_know": "unsure",
            "identity": "",
            "excluded": [],
            "good_faith": False,
            "form_token": reporting.new_form_token(),
        },
        "errors": errors or {},
        "max_days": cases.MAX_INTAKE_DELAY_DAYS,
    }


@router.get("/intake", dependencies=[require(Permission.handle_reports)])
def intake_form(request: Request, session: SessionDep, settings: SettingsDep):
    return render(request, "cases/intake.html", _intake_context(session, settings))


@router.post("/intake", dependencies=[require(Permission.handle_reports)])
async def intake(desk: DeskDep):
    session, settings = desk.session, desk.settings
    form = await read_form(desk.request)
    text = {
        key: str(form.get(key, "") or "")
        for key in ("what", "when", "where", "who", "how_known", "identity", "form_token")
    }
    values = {
        **text,
        "channel": str(form.get("channel", "") or ""),
        "received_via": str(form.get("received_via", "") or ""),
        "received_on": str(form.get("received_on", "") or ""),
        "red_flags": [v for v in form.getlist("red_flags") if isinstance(v, str)],
        "others_know": str(form.get("others_know", "unsure") or "unsure"),
        "excluded": [],
        "good_faith": form.get("good_faith") == "yes",
    }
    # Ids beyond what the database holds are refused by name, with the rest of the form.
    refused: dict[str, str] = {}
    channel_id = None
    try:
        values["excluded"] = form_ids(form.getlist("excluded"), field="excluded")
        channel_id = form_id(values["channel"], field="channel")
    except FieldError as err:
        refused[err.field] = err.message
    files = await uploads(form)
    submission = reporting.Submission(
        channel_id=channel_id,
        what=text["what"],
        when=text["when"],
        where=text["where"],
        who=text["who"],
        how_known=text["how_known"],
        red_flags=values["red_flags"],
        others_know=values["others_know"],
        identity=text["identity"],
        excluded_user_ids=values["excluded"],
        files=files,
        good_faith=values["good_faith"],
        form_token=text["form_token"],
        received_via=values["received_via"],
        received_on=parse_day(values["received_on"]),
        entered_by=desk.user,
    )
    errors = reporting.validate_submission(session, submission) | refused
    if values["received_on"] and submission.received_on is None:
        errors["received_on"] = _("Enter the day as YYYY-MM-DD.")
    if not errors:
        try:
            result = cases.enter_report(session, settings, actor=desk.user, submission=submission)
            reporting.commit(session, settings)
        except reporting.ReportingError as err:
            desk.undo()
            errors = {err.field or "form": str(err)}
    if errors:
        if files and "files" not in errors:
            errors["files"] = _("For safety, files are not kept: attach them again.")
        return render(
            desk.request,
            "cases/intake.html",
            _intake_context(session, settings, values, errors),
            status_code=422,
        )
    return render(
        desk.request,
        "cases/intake_receipt.html",
        {
            **_labels(),
            "receipt": result.receipt,
            "report": result.report,
            "channel": result.channel,
            "certificate": json.dumps(result.certificate, indent=2, sort_keys=True),
        },
    )


@router.post("/intake/certificate", dependencies=[require(Permission.handle_reports)])
def intake_certificate(certificate: Annotated[str, Form()] = ""):
    """Hand the certificate shown with an entered report's receipt back as a file."""
    check = reporting.verify_certificate(certificate)
    if not check.valid:
        # The receipt page that holds it is shown once, so the refusal is the validation page,
        # naming the field.
        raise FieldError("certificate", _("This is not a valid certificate."))
    return Response(
        certificate,
        media_type="application/json",
        headers={
            "Content-Disposition": content_disposition(f"certificate-{check.reference}.json"),
            "Content-Security-Policy": "sandbox",
        },
    )


# --- absences ---------------------------------------------------------------------------------


def _absence_page(desk: Desk, *, errors=None, values=None, result=None, status_code=200):
    return render(
        desk.request,
        "cases/absence.html",
        {
            "absences": cases.absences_of(desk.session, user=desk.user, today=desk.today),
            "errors": errors or {},
            "values": values
            or {"starts_on": desk.today.isoformat(), "ends_on": "", "hand_over": True},
            "result": result,
        },
        status_code=status_code,
    )


@router.get("/absence", dependencies=[require(Permission.handle_reports)])
def absence(desk: DeskDep):
    return _absence_page(desk)


@router.post("/absence", dependencies=[require(Permission.handle_reports)])
def record_absence(
    desk: DeskDep,
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
    hand_over: Annotated[str, Form()] = "",
):
    values = {"starts_on": starts_on, "ends_on": ends_on, "hand_over": hand_over == "yes"}
    start, end = parse_day(starts_on), parse_day(ends_on)
    try:
        if start is None or end is None:
            raise reporting.ReportingError(_("Enter both days as YYYY-MM-DD."), field="ends_on")
        result = cases.record_absence(
            desk.session,
            user=desk.user,
            holder_private=desk.holder_private() if values["hand_over"] else None,
            starts_on=start,
            ends_on=end,
            hand_over_cases=values["hand_over"],
            today=desk.today,
        )
    except reporting.ReportingError as err:
        desk.undo()
        return _absence_page(
            desk,
            errors={err.field or "starts_on": str(err)},
            values=values,
            status_code=err.status_code,
        )
    desk.session.commit()
    return _absence_page(desk, result=result)


@router.post("/absence/{absence_id}/end", dependencies=[require(Permission.handle_reports)])
def end_absence(desk: DeskDep, absence_id: int):
    try:
        cases.end_absence(desk.session, user=desk.user, absence_id=absence_id, today=desk.today)
    except reporting.ReportingError as err:
        desk.undo()
        raise http_error(err) from None
    flash(desk.request, _("Your absence was ended."))
    desk.session.commit()
    return redirect(desk.request, "/cases/absence")


# --- declared interests -----------------------------------------------------------------------


def _interests_page(desk: Desk, *, errors=None, values=None, saved=False, status_code=200):
    register = cases.interest_register(desk.session, user=desk.user)
    team = cases.led_channel_people(desk.session, user=desk.user)
    return render(
        desk.request,
        "cases/interests.html",
        {
            "errors": errors or {},
            "values": values
            or {
                "terms": "\n".join(register.terms),
                "units": ", ".join(code for code, _name in register.units),
            },
            "register": register,
            "team": cases.interest_registers(desk.session, team) if team else [],
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/interests", dependencies=[require(Permission.handle_reports)])
def interests(desk: DeskDep):
    return _interests_page(desk)


@router.post("/interests", dependencies=[require(Permission.handle_reports)])
def declare_interests(
    desk: DeskDep,
    terms: Annotated[str, Form()] = "",
    units: Annotated[str, Form()] = "",
):
    values = {"terms": terms, "units": units}
    try:
        cases.declare_interests(
            desk.session,
            user=desk.user,
            terms=cases.parse_interest_terms(terms),
            unit_codes=units.replace(";", ",").split(","),
            today=desk.today,
        )
    except reporting.ReportingError as err:
        desk.undo()
        return _interests_page(
            desk,
            errors={err.field or "terms": str(err)},
            values=values,
            status_code=err.status_code,
        )
    desk.session.commit()
    return _interests_page(desk, saved=True)


# --- channels and tags (administrators) -------------------------------------------------------


@router.get("/channels", dependencies=[require(Permission.manage_report_channels)])
def channels(request: Request, session: SessionDep):
    return _channels_page(request, session)


def _channels_page(
    request: Request, session: Session, *, errors=None, values=None, status_code=200
):
    """Return the channels page (and the tag form's errors and what was typed, when refused)."""
    listed = reporting.all_channels(session)
    recipients = {c.id: reporting.channel_recipients(session, c.id) for c in listed}
    keys = reporting.holder_keys(session, [u.id for us in recipients.values() for u in us])
    people = {u.id: u for u in reporting.investigators(session)}
    return render(
        request,
        "cases/channels.html",
        {
            "channels": listed,
            "recipients": recipients,
            "keys": keys,
            "people": people,
            "ready": reporting.recovery_ready(session),
            "tags": cases.all_tags(session),
            "registers": cases.interest_registers(session, list(people.values())),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
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
            "lead": "",
            "deputy": "",
        }
    return {
        "code": channel.code,
        "name_es": channel.name_es,
        "name_en": channel.name_en,
        "description_es": channel.description_es,
        "description_en": channel.description_en,
        "is_active": channel.is_active,
        "order": channel.order,
        "lead": str(channel.lead_user_id or ""),
        "deputy": str(channel.deputy_user_id or ""),
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
    values["order"] = form_int(order, field="order")
    recipients = form_ids(form.getlist("recipients"), field="recipients")
    lead, deputy = str(form.get("lead", "") or ""), str(form.get("deputy", "") or "")
    try:
        saved = reporting.save_channel(session, actor=principal.user, channel=channel, **values)
        reporting.set_channel_recipients(
            session, actor=principal.user, channel=saved, user_ids=recipients
        )
        cases.set_channel_roles(
            session,
            actor=principal.user,
            channel=saved,
            lead_user_id=_int_or_none(lead),
            deputy_user_id=_int_or_none(deputy),
        )
    except reporting.ReportingError as err:
        undo(session, request.app.state.settings, principal)
        return _channel_form(
            request,
            session,
            channel,
            {**values, "lead": lead, "deputy": deputy},
            {err.field or "code": str(err)},
            status_code=422,
        )
    flash(request, _("The channel was saved."))
    session.commit()
    return redirect(request, "/cases/channels")


@router.post("/channels/new", dependencies=[require(Permission.manage_report_channels)])
async def create_channel(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return await _save_channel(request, session, principal, None)


@router.post("/channels/{channel_id}", dependencies=[require(Permission.manage_report_channels)])
async def update_channel(
    request: Request, session: SessionDep, principal: CurrentPrincipal, channel_id: int
):
    return await _save_channel(request, session, principal, _channel_or_404(session, channel_id))


@router.post("/tags", dependencies=[require(Permission.manage_report_channels)])
def save_tag(
    desk: DeskDep,
    tag_id: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    name_es: Annotated[str, Form()] = "",
    name_en: Annotated[str, Form()] = "",
):
    chosen = form_id(tag_id, field="tag_id")
    tag = desk.session.get(CaseTag, chosen) if chosen is not None else None
    if tag_id and tag is None:
        raise HTTPException(status_code=404, detail=_("This tag does not exist."))
    try:
        cases.save_tag(
            desk.session, actor=desk.user, tag=tag, code=code, name_es=name_es, name_en=name_en
        )
    except reporting.ReportingError as err:
        desk.undo()
        return _channels_page(
            desk.request,
            desk.session,
            errors={err.field or "code": str(err)},
            values={"code": code, "name_es": name_es, "name_en": name_en},
            status_code=422,
        )
    flash(desk.request, _("The tag was saved."))
    desk.session.commit()
    return redirect(desk.request, "/cases/channels#tags")


# --- statistics -------------------------------------------------------------------------------


def _evaluation(session: Session, year: str):
    try:
        chosen = cases.statistics_year(year)
    except reporting.ReportingError as err:
        raise http_error(err) from None
    return cases.evaluation(session, year=chosen, threshold=reporting.STATISTICS_THRESHOLD)


def _statistics_download(result: cases.Evaluation, *, extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(f"reporting-{result.year or 'all'}.{extension}")
    }


@router.get("/statistics", dependencies=[require(Permission.view_report_statistics)])
def statistics(request: Request, session: SessionDep, year: str = ""):
    result = _evaluation(session, year)
    return render(
        request,
        "cases/statistics.html",
        {
            **_labels(),
            "result": result,
            "outcomes": list(ReportOutcome),
            "threshold": reporting.STATISTICS_THRESHOLD,
            "year": year,
        },
    )


@router.get("/statistics.csv", dependencies=[require(Permission.view_report_statistics)])
def statistics_csv(session: SessionDep, year: str = ""):
    result = _evaluation(session, year)
    return Response(
        cases.evaluation_csv(result),
        media_type="text/csv; charset=utf-8",
        headers=_statistics_download(result, extension="csv"),
    )


@router.get("/statistics.xlsx", dependencies=[require(Permission.view_report_statistics)])
def statistics_xlsx(session: SessionDep, year: str = ""):
    result = _evaluation(session, year)
    return Response(
        cases.evaluation_xlsx(result),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_statistics_download(result, extension="xlsx"),
    )


# --- identity requests (protection officers) --------------------------------------------------


def _identity_page(desk: Desk, *, errors=None, values=None, status_code=200):
    try:
        views = reporting.identity_requests(
            desk.session, officer=desk.user, holder_private=desk.holder_private()
        )
    except reporting.ReportingError as err:
        raise http_error(err) from None
    return render(
        desk.request,
        "cases/identity_requests.html",
        {
            "views": views,
            "waiting": reporting.identity_notices_waiting(desk.session, officer=desk.user),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/identity-requests", dependencies=[require(Permission.release_reporter_identity)])
def identity_requests(desk: DeskDep):
    return _identity_page(desk)


@router.post(
    "/identity-requests/{request_id}",
    dependencies=[require(Permission.release_reporter_identity)],
)
def decide_identity_request(
    desk: DeskDep,
    request_id: int,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    defer_notice: Annotated[str, Form()] = "",
    employee_number: Annotated[str, Form()] = "",
):
    approve = decision == "approve"
    try:
        decided = reporting.decide_identity_request(
            desk.session,
            officer=desk.user,
            holder_private=desk.holder_private(),
            request_id=request_id,
            approve=approve,
            note=note,
            defer_notice=defer_notice,
            today=desk.today,
        )
        if approve and employee_number.strip():
            retaliation.protect_reporter(
                desk.session,
                desk.settings,
                report=desk.session.get(reporting.Report, decided.report_id),
                officer=desk.user,
                employee_number=employee_number,
            )
    except reporting.ReportingError as err:
        desk.undo()
        if err.status_code in (404, 409) or err.status_code == 403:
            raise http_error(err) from None
        # By the request's form: its field's name ("employee" is the service's for the number).
        field = {"employee": "employee_number"}.get(err.field, err.field or "note")
        return _identity_page(
            desk,
            errors={request_id: {field: str(err)}},
            values={
                request_id: {
                    "note": note,
                    "defer_notice": defer_notice,
                    "employee_number": employee_number,
                }
            },
            status_code=err.status_code,
        )
    flash(desk.request, _("Your decision was recorded."))
    desk.session.commit()
    return redirect(desk.request, "/cases/identity-requests")


@router.post(
    "/identity-requests/{request_id}/notify",
    dependencies=[require(Permission.release_reporter_identity)],
)
def notify_reporter(desk: DeskDep, request_id: int):
    try:
        reporting.notify_reporter(
            desk.session,
            officer=desk.user,
            holder_private=desk.holder_private(),
            request_id=request_id,
        )
    except reporting.ReportingError as err:
        desk.undo()
        raise http_error(err) from None
    flash(desk.request, _("The reporter was told."))
    desk.session.commit()
    return redirect(desk.request, "/cases/identity-requests")


# --- one case ---------------------------------------------------------------------------------


def _case_page(
    desk: Desk,
    access: reporting.CaseAccess,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
):
    session = desk.session
    try:
        entries = reporting.timeline(session, access=access)
        barred = reporting.barred_from_case(session, access)
        reminders = cases.reminders_of(session, access=access, user=desk.user)
    except reporting.ReportingError as err:
        raise http_error(err) from None
    report = access.report
    today = desk.today
    holders = reporting.holders(session, report)
    channel = session.get(ReportChannel, report.channel_id)
    people = [person for _wrap, person in holders if person is not None]
    current = ReportStatus(report.status)
    return render(
        desk.request,
        "cases/case.html",
        {
            **_labels(),
            "report": report,
            "channel": channel,
            "today": today,
            "entries": entries,
            "holders": holders,
            "people": people,
            "assignee": session.get(User, report.assignee_id) if report.assignee_id else None,
            "deputy": session.get(User, channel.deputy_user_id) if channel.deputy_user_id else None,
            "candidates": reporting.grant_candidates(session, report, barred=barred.everyone),
            "staff_kinds": STAFF_KINDS,
            "next_statuses": cases.next_statuses(report),
            "closing_outcomes": sorted(
                cases.OUTCOMES_AFTER.get(current, frozenset()), key=list(ReportOutcome).index
            ),
            "state_days": cases.state_days(report),
            "ack_state": deadlines.deadline_state(report.ack_due_on, report.acknowledged_on, today),
            "feedback_state": deadlines.deadline_state(
                report.feedback_due_on, report.feedback_given_on, today
            ),
            "linked": cases.linked_cases(session, report=report, user=desk.user),
            "tags": cases.all_tags(session),
            "case_tags": {t.id for t in cases.tags_of(session, report)},
            "reminders": reminders,
            "can_request_identity": reporting.has_identity(report)
            and access.identity_private_key is None,
            "errors": errors or {},
            "values": values or {"kind": "reply", "text": ""},
            "max_mb": attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
            "max_files": attachments.MAX_ATTACHMENTS_PER_MESSAGE,
            "accepted": ", ".join(attachments.ALLOWED_EXTENSIONS),
            "ack_text": _(
                "We received your report on %(day)s and will look into it. We will give you "
                "feedback by %(feedback)s at the latest. Come back with your receipt to read "
                "our messages and answer our questions.",
                day=format_date(report.submitted_on, "long"),
                feedback=format_date(deadlines.feedback_due(report.submitted_on, today), "long"),
            ),
        },
        status_code=status_code,
    )


# A refused form on the case page is shown again after a redirect (a reload must not post it
# again), so what was typed waits in the session row meanwhile: sealed under a key only this
# browser's cookie holds, like the session's key (docs/security.md), never in clear.
_KEPT_CONTEXT = b"merito kept case form v1"


def _kept_key(desk: Desk) -> bytes | None:
    token = session_token(desk.request)
    if not token or len(token) < 16:
        return None
    return crypto.derive_subkey(crypto.session_key_from_token(token), context=_KEPT_CONTEXT)


def _keep_case_form(desk: Desk, page: str, errors: dict, values: dict) -> None:
    key = _kept_key(desk)
    if key is None:
        return
    sealed = crypto.encrypt(key, json.dumps(values).encode(), aad=page.encode())
    keep_form(
        desk.request,
        page=page,
        form="case",
        errors=errors,
        values={"sealed": base64.b64encode(sealed).decode()},
    )


def _kept_case_form(desk: Desk, page: str) -> dict:
    kept = kept_form(desk.request, page)
    key = _kept_key(desk)
    if not kept or key is None:
        return {}
    try:
        sealed = base64.b64decode(kept["values"]["sealed"])
        values = json.loads(crypto.decrypt(key, sealed, aad=page.encode()))
    except (crypto.DecryptionError, KeyError, TypeError, ValueError):
        return {}
    return {"errors": kept["errors"], "values": values}


@router.get("/{reference}", dependencies=[require(Permission.handle_reports)])
def case(desk: DeskDep, reference: str):
    access = _open(desk, reference, audit_read=True)
    # The read is audited in the same transaction as nothing else: commit it before showing.
    desk.session.commit()
    return _case_page(desk, access, **_kept_case_form(desk, f"/cases/{access.report.reference}"))


def _act(
    desk: Desk,
    reference: str,
    action,
    *,
    field: str,
    done: str,
    values: dict | None = None,
    anchor: str = "",
    target: str | None = None,
):
    """Open the case, run `action(access)`, commit and redirect (to the case, or `target`); on
    a broken rule, show the case again with the message next to `field` and nothing written."""
    return desk.act(
        lambda: _open(desk, reference, audit_read=False),
        lambda access, **shown: _case_page(desk, access, **shown),
        action,
        field=field,
        done=done,
        values=values,
        target=lambda access: target or f"/cases/{access.report.reference}{anchor}",
    )


@router.post("/{reference}/items", dependencies=[require(Permission.handle_reports)])
async def add_item(desk: DeskDep, reference: str):
    form = await read_form(desk.request)
    kind_value = str(form.get("kind", "") or "")
    text = str(form.get("text", "") or "")
    files = await uploads(form)
    try:
        kind = ItemKind(kind_value)
        if kind not in STAFF_KINDS:
            raise ValueError
    except ValueError:
        kind = None

    def action(access):
        if kind is None:
            raise reporting.ReportingError(_("Choose what you are writing."), field="kind")
        reporting.add_item(
            desk.session,
            desk.settings,
            access=access,
            kind=kind,
            text=text,
            author=desk.user,
            files=files,
        )

    return _act(
        desk,
        reference,
        action,
        field="text",
        done=_("Saved and encrypted."),
        values={"kind": kind_value, "text": text},
        anchor="#item-latest",
    )


@router.post("/{reference}/acknowledge", dependencies=[require(Permission.handle_reports)])
def acknowledge(desk: DeskDep, reference: str, text: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: cases.acknowledge(
            desk.session, desk.settings, access=access, actor=desk.user, text=text
        ),
        field="acknowledge",
        done=_("The acknowledgement was sent to the reporter."),
    )


@router.post("/{reference}/status", dependencies=[require(Permission.handle_reports)])
def change_status(
    desk: DeskDep,
    reference: str,
    status: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    feedback: Annotated[str, Form()] = "",
):
    access = _open(desk, reference, audit_read=False)
    page = f"/cases/{access.report.reference}"
    try:
        cases.change_status(
            desk.session,
            desk.settings,
            access=access,
            actor=desk.user,
            status=status,
            outcome=outcome or None,
            reason=reason,
            feedback=feedback,
        )
        flash(desk.request, _("The status was changed."))
        reporting.commit(desk.session, desk.settings)
    except reporting.ReportingError as err:
        # Back to the case page with the form as typed: shown at this POST-only URL, a reload
        # would post the change again (issue #13).
        desk.undo()
        values = {
            "kind": "reply",
            "text": "",
            "status": status,
            "close_reason": reason,
            "feedback": feedback,
            "outcome": outcome,
        }
        _keep_case_form(desk, page, {err.field or "status": str(err)}, values)
        desk.session.commit()
        return redirect(desk.request, page + "#status-form")
    return redirect(desk.request, page)


@router.post("/{reference}/assign", dependencies=[require(Permission.handle_reports)])
def assign(desk: DeskDep, reference: str, user_id: Annotated[str, Form()] = ""):
    chosen = form_id(user_id, field="user_id")

    def action(access):
        assignee = desk.session.get(User, chosen) if chosen is not None else None
        if assignee is None:
            raise reporting.ReportingError(_("Choose a person."), field="assignee")
        cases.assign(
            desk.session, access=access, actor=desk.user, assignee=assignee, today=desk.today
        )

    return _act(desk, reference, action, field="assignee", done=_("The case has a new handler."))


@router.post("/{reference}/handover", dependencies=[require(Permission.handle_reports)])
def hand_over(desk: DeskDep, reference: str, reason: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: cases.hand_over(
            desk.session, access=access, actor=desk.user, reason=reason, today=desk.today
        ),
        field="handover",
        done=_("The case was handed over."),
        values={"kind": "reply", "text": "", "handover": reason},
    )


@router.post("/{reference}/conflict", dependencies=[require(Permission.handle_reports)])
def declare_conflict(desk: DeskDep, reference: str, reason: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: cases.declare_conflict(
            desk.session, access=access, actor=desk.user, reason=reason, today=desk.today
        ),
        field="conflict",
        done=_("Your conflict of interest was recorded and your access removed."),
        values={"kind": "reply", "text": "", "conflict": reason},
        target="/cases",
    )


@router.post("/{reference}/links", dependencies=[require(Permission.handle_reports)])
def link(desk: DeskDep, reference: str, other: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: cases.link_cases(
            desk.session,
            access=access,
            actor=desk.user,
            other_reference=other,
            today=desk.today,
        ),
        field="link",
        done=_("The cases were linked."),
    )


@router.post("/{reference}/links/{other}/remove", dependencies=[require(Permission.handle_reports)])
def unlink(desk: DeskDep, reference: str, other: str):
    return _act(
        desk,
        reference,
        lambda access: cases.unlink_cases(
            desk.session, access=access, actor=desk.user, other_reference=other
        ),
        field="link",
        done=_("The link was removed."),
    )


@router.post("/{reference}/tags", dependencies=[require(Permission.handle_reports)])
async def set_tags(desk: DeskDep, reference: str):
    form = await desk.request.form()
    tag_ids = form_ids(form.getlist("tags"), field="tags")
    return _act(
        desk,
        reference,
        lambda access: cases.set_tags(
            desk.session, access=access, actor=desk.user, tag_ids=tag_ids
        ),
        field="tags",
        done=_("The tags were saved."),
    )


@router.post("/{reference}/reminders", dependencies=[require(Permission.handle_reports)])
def add_reminder(
    desk: DeskDep,
    reference: str,
    remind_on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    def action(access):
        day = parse_day(remind_on)
        if day is None:
            raise reporting.ReportingError(_("Enter the day as YYYY-MM-DD."), field="remind_on")
        cases.add_reminder(
            desk.session,
            access=access,
            actor=desk.user,
            remind_on=day,
            note=note,
            today=desk.today,
        )

    return _act(
        desk,
        reference,
        action,
        field="remind_on",
        done=_("The reminder was set."),
        values={"kind": "reply", "text": "", "remind_on": remind_on, "note": note},
    )


@router.post(
    "/{reference}/reminders/{reminder_id}/delete",
    dependencies=[require(Permission.handle_reports)],
)
def delete_reminder(desk: DeskDep, reference: str, reminder_id: int):
    return _act(
        desk,
        reference,
        lambda access: cases.delete_reminder(
            desk.session, access=access, user=desk.user, reminder_id=reminder_id
        ),
        field="remind_on",
        done=_("The reminder was deleted."),
    )


@router.post("/{reference}/grants", dependencies=[require(Permission.handle_reports)])
def grant(desk: DeskDep, reference: str, user_id: Annotated[str, Form()] = ""):
    chosen = form_id(user_id, field="user_id")
    grantee = desk.session.get(User, chosen) if chosen is not None else None

    def action(access):
        if grantee is None:
            raise reporting.ReportingError(_("Choose a person."), field="grant")
        reporting.grant_access(desk.session, access=access, actor=desk.user, grantee=grantee)

    return _act(
        desk,
        reference,
        action,
        field="grant",
        done=_("%(name)s can now read this report.", name=grantee.full_name if grantee else ""),
    )


@router.post(
    "/{reference}/grants/{user_id}/revoke", dependencies=[require(Permission.handle_reports)]
)
def revoke(desk: DeskDep, reference: str, user_id: int):
    response = _act(
        desk,
        reference,
        lambda access: reporting.revoke_access(
            desk.session, report=access.report, actor=desk.user, user_id=user_id
        ),
        field="grant",
        done=_("Access was withdrawn."),
    )
    if user_id == desk.user.id and response.status_code == 303:
        return redirect(desk.request, "/cases")
    return response


@router.post("/{reference}/identity-requests", dependencies=[require(Permission.handle_reports)])
def request_identity(desk: DeskDep, reference: str, reason: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: reporting.request_identity(
            desk.session, access=access, actor=desk.user, reason=reason
        ),
        field="reason",
        done=_("Your request was sent to the protection officers."),
        values={"kind": "reply", "text": "", "reason": reason},
    )


@router.get("/{reference}/attachments/{uid}", dependencies=[require(Permission.handle_reports)])
def attachment(desk: DeskDep, reference: str, uid: str):
    access = _open(desk, reference, audit_read=False)
    return desk.attachment(
        lambda: reporting.read_attachment(desk.session, desk.settings, access=access, uid=uid),
        action="report.attachment_read",
        entity_type="report",
        entity_id=access.report.reference,
        uid=uid,
    )


# --- dashboard --------------------------------------------------------------------------------


@dashboard.panel
def reporting_inbox_panel(session: Session, principal: Principal) -> dashboard.Panel | None:
    """The investigator's reports: how many, what is new, which deadlines are near, and their
    unread notices."""
    if not principal.can(Permission.handle_reports):
        return None
    counts = reporting.inbox_counts(session, user=principal.user)
    notices = cases.notifications_for(session, user=principal.user, unread_only=True, limit=5)
    return dashboard.Panel(
        N_("Reporting channel"),
        "cases/panel.html",
        {
            "counts": counts,
            "notices": notices,
            "unread": cases.unread_count(session, user=principal.user),
            **_labels(),
        },
        order=15,
    )
