"""The investigators' desk: the inbox, the SLA board and one case.

Investigators (signed in with TOTP) see the reports they hold a key to, open them (audited),
write into them, move them through their lifecycle, hand them over and share them, and follow
the statutory deadlines on the SLA board and their dashboard panel.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import Session

from backend import clock, crypto, dashboard
from backend.actions import run_action
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.deps import (
    form_id,
    form_ids,
    id_or_none,
    read_form,
    require,
    session_token,
)
from backend.i18n import N_, _
from backend.web import (
    NavItem,
    Page,
    format_date,
    keep_form,
    kept_form,
    redirect,
    register_nav,
    render,
)
from whistleblowing import attachments, deadlines
from whistleblowing import service as reporting
from whistleblowing.models import (
    ItemKind,
    PriorityLevel,
    ReportChannel,
    ReportOutcome,
    ReportStatus,
    RetentionHoldKind,
)
from whistleblowing.routes.common import (
    Desk,
    DeskDep,
    case_labels,
    parse_day,
    uploads,
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


def _typed(**fields: str) -> dict:
    """What the case page's forms show as typed: an empty message form, and `fields`."""
    return {"kind": "reply", "text": "", **fields}


def _open(desk: Desk, reference: str, *, audit_read: bool) -> reporting.CaseAccess:
    return reporting.open_case(
        desk.session,
        user=desk.user,
        holder_private=desk.holder_private(),
        reference=reference,
        audit_read=audit_read,
    )


# --- inbox ------------------------------------------------------------------------------------


def _inbox_queries(**chosen: str) -> dict[str, str]:
    """The inbox's query strings: the filters as chosen, and the same without the order."""
    unsorted = {k: v for k, v in chosen.items() if k != "sort"}
    return {"base_query": urlencode(chosen), "base_query_unsorted": urlencode(unsorted)}


@router.get("", dependencies=[require(Permission.handle_reports)])
def inbox(
    desk: DeskDep,
    status: str = "open",
    assigned: str = "",
    tag: str = "",
    due: str = "",
    sort: str = "",
    page: int = 1,
):
    filters = reporting.InboxFilter(
        status=status,
        assigned=assigned if assigned in ("mine", "unassigned") else "",
        tag_id=id_or_none(tag),
        due=due if due in ("overdue", "soon") else "",
        sort="priority" if sort == "priority" else "",
    )
    rows, total = reporting.inbox_page(
        desk.session, user=desk.user, filters=filters, today=desk.today, page=page
    )
    context = {
        **case_labels(),
        "rows": rows,
        "page": Page(rows, total, max(1, page), 50),
        **_inbox_queries(status=status, assigned=assigned, tag=tag, due=due, sort=sort),
        "filters": filters,
        "status": status,
        "statuses": list(ReportStatus),
        "tags": reporting.all_tags(desk.session),
    }
    return render(desk.request, "cases/inbox.html", context, block="results")


# --- the SLA board ----------------------------------------------------------------------------


@router.get("/deadlines", dependencies=[require(Permission.handle_reports)])
def deadlines_board(desk: DeskDep):
    board = reporting.sla_board(desk.session, user=desk.user, today=desk.today)
    notices = reporting.notifications_for(desk.session, user=desk.user, unread_only=True, limit=20)
    return render(
        desk.request,
        "cases/deadlines.html",
        {**case_labels(), "board": board, "notices": notices},
    )


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
    entries = reporting.timeline(session, access=access)
    barred = reporting.barred_from_case(session, access)
    reminders = reporting.reminders_of(session, access=access, user=desk.user)
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
            **case_labels(),
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
            "next_statuses": reporting.next_statuses(report),
            "closing_outcomes": sorted(
                reporting.OUTCOMES_AFTER.get(current, frozenset()), key=list(ReportOutcome).index
            ),
            "state_days": reporting.state_days(report),
            "ack_state": deadlines.deadline_state(report.ack_due_on, report.acknowledged_on, today),
            "feedback_state": deadlines.deadline_state(
                report.feedback_due_on, report.feedback_given_on, today
            ),
            "linked": reporting.linked_cases(session, report=report, user=desk.user),
            "tags": reporting.all_tags(session),
            "case_tags": {t.id for t in reporting.tags_of(session, report)},
            "reminders": reminders,
            "priority": reporting.case_priority(session, access=access, today=today),
            "holds": reporting.holds_of(session, access=access),
            "deletion_day": reporting.deletion_day(report, desk.settings),
            "priority_levels": list(PriorityLevel),
            "hold_kinds": list(RetentionHoldKind),
            "steps": reporting.allowed_steps(access, desk.principal),
            "errors": errors or {},
            "values": values or _typed(),
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
    # Reports filed before red flags were counted get their points now (the flags are sealed).
    reporting.recount_red_flags(desk.session, access=access)
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
    step: reporting.Step | None = None,
):
    """Open the case, run `action(access)`, commit once and redirect (to the case, or
    `target`); on a broken rule (or a `step` the case does not allow now: `allowed_steps`),
    nothing is written and the case is shown again with the message next to `field`."""
    access = _open(desk, reference, audit_read=False)

    def act() -> object:
        if step is not None:
            reporting.refuse_unless(access, desk.principal, step)
        return action(access)

    def refused(err: reporting.ReportingError) -> Response:
        again = _open(desk, reference, audit_read=False)
        errors = {err.field or field: str(err)}
        return _case_page(desk, again, errors=errors, values=values, status_code=err.status_code)

    return run_action(
        desk.request,
        desk.session,
        act,
        message=done,
        to=target or f"/cases/{access.report.reference}{anchor}",
        on_error=refused,
        refusals="all",
    )


def _staff_kind(value: str) -> ItemKind | None:
    """The kind of item a handler may write, or None when the form named another."""
    try:
        kind = ItemKind(value)
    except ValueError:
        return None
    return kind if kind in STAFF_KINDS else None


@router.post("/{reference}/items", dependencies=[require(Permission.handle_reports)])
async def add_item(desk: DeskDep, reference: str):
    form = await read_form(desk.request)
    kind_value = str(form.get("kind", "") or "")
    kind = _staff_kind(kind_value)
    text = str(form.get("text", "") or "")
    files = await uploads(form)

    def action(access: reporting.CaseAccess) -> None:
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
        values=_typed(kind=kind_value, text=text),
        anchor="#item-latest",
    )


@router.post("/{reference}/acknowledge", dependencies=[require(Permission.handle_reports)])
def acknowledge(desk: DeskDep, reference: str, text: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: reporting.acknowledge(
            desk.session, desk.settings, access=access, actor=desk.user, text=text
        ),
        field="acknowledge",
        done=_("The acknowledgement was sent to the reporter."),
        step=reporting.Step.acknowledge,
    )


@router.post("/{reference}/confirm", dependencies=[require(Permission.handle_reports)])
def confirm_genuine(desk: DeskDep, reference: str):
    """Confirm a report held during a submission flood: its statutory clocks start today."""
    return _act(
        desk,
        reference,
        lambda access: reporting.confirm_genuine(
            desk.session, desk.settings, access=access, actor=desk.user
        ),
        field="confirm",
        done=_("Confirmed as genuine: the time limits run from today."),
        step=reporting.Step.confirm,
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
    typed = _typed(status=status, close_reason=reason, feedback=feedback, outcome=outcome)
    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.change_status(
            desk.session,
            desk.settings,
            access=access,
            actor=desk.user,
            status=status,
            outcome=outcome or None,
            reason=reason,
            feedback=feedback,
        ),
        message=_("The status was changed."),
        to=page,
        on_error=lambda err: _back_to_case(desk, page, err, typed),
        refusals="all",
    )


def _back_to_case(desk: Desk, page: str, err: reporting.ReportingError, values: dict) -> Response:
    """Back to the case page with the status form as typed: shown at the POST-only URL, a
    reload would post the change again (issue #13)."""
    _keep_case_form(desk, page, {err.field or "status": str(err)}, values)
    desk.session.commit()
    return redirect(desk.request, page + "#status-form")


@router.post("/{reference}/assign", dependencies=[require(Permission.handle_reports)])
def assign(desk: DeskDep, reference: str, user_id: Annotated[str, Form()] = ""):
    chosen = form_id(user_id, field="user_id")

    def action(access):
        assignee = desk.session.get(User, chosen) if chosen is not None else None
        if assignee is None:
            raise reporting.ReportingError(_("Choose a person."), field="assignee")
        reporting.assign(
            desk.session, access=access, actor=desk.user, assignee=assignee, today=desk.today
        )

    done = _("The case has a new handler.")
    return _act(desk, reference, action, field="assignee", done=done, step=reporting.Step.assign)


@router.post("/{reference}/handover", dependencies=[require(Permission.handle_reports)])
def hand_over(desk: DeskDep, reference: str, reason: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: reporting.hand_over(
            desk.session, access=access, actor=desk.user, reason=reason, today=desk.today
        ),
        field="handover",
        done=_("The case was handed over."),
        step=reporting.Step.assign,
        values=_typed(handover=reason),
    )


@router.post("/{reference}/conflict", dependencies=[require(Permission.handle_reports)])
def declare_conflict(desk: DeskDep, reference: str, reason: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: reporting.declare_conflict(
            desk.session, access=access, actor=desk.user, reason=reason, today=desk.today
        ),
        field="conflict",
        done=_("Your conflict of interest was recorded and your access removed."),
        values=_typed(conflict=reason),
        target="/cases",
    )


@router.post("/{reference}/links", dependencies=[require(Permission.handle_reports)])
def link(desk: DeskDep, reference: str, other: Annotated[str, Form()] = ""):
    return _act(
        desk,
        reference,
        lambda access: reporting.link_cases(
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
        lambda access: reporting.unlink_cases(
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
        lambda access: reporting.set_tags(
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
        reporting.add_reminder(
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
        step=reporting.Step.remind,
        values=_typed(remind_on=remind_on, note=note),
    )


@router.post(
    "/{reference}/reminders/{reminder_id}/delete",
    dependencies=[require(Permission.handle_reports)],
)
def delete_reminder(desk: DeskDep, reference: str, reminder_id: int):
    return _act(
        desk,
        reference,
        lambda access: reporting.delete_reminder(
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
        step=reporting.Step.request_identity,
        values=_typed(reason=reason),
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
    today = clock.today(session.info["settings"])
    counts = reporting.inbox_counts(session, user=principal.user, today=today)
    notices = reporting.notifications_for(session, user=principal.user, unread_only=True, limit=5)
    return dashboard.Panel(
        N_("Reporting channel"),
        "cases/panel.html",
        {
            "counts": counts,
            "notices": notices,
            "unread": reporting.unread_count(session, user=principal.user),
            **case_labels(),
        },
        order=15,
    )
