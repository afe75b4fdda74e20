"""The case file: redaction, viewers, the signed export, referral to an authority, the
authorities administrators register, and the page that checks an export.

Holders work on `/cases/{reference}/file`; viewers read `/cases/shared/…` (the redacted copy
only); administrators keep `/cases/referral-authorities`; anyone may check an export at
`/verify-export` (nothing uploaded is kept).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from backend.actions import run_action
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import SettingsDep, form_id, public, read_form, require
from backend.files import content_disposition
from backend.i18n import N_, _
from backend.web import NavItem, register_nav, render
from whistleblowing import service as reporting
from whistleblowing import verification
from whistleblowing.models import (
    REDACTION_KIND_LABELS,
    REDACTION_REASON_LABELS,
    RedactionKind,
    RedactionReason,
)
from whistleblowing.routes.common import Desk, DeskDep, attachment_response, case_labels

router = APIRouter()

register_nav(NavItem(N_("Shared with me"), "/cases/shared", Permission.handle_reports, order=63))
register_nav(
    NavItem(
        N_("Authorities for referrals"),
        "/cases/referral-authorities",
        Permission.manage_report_channels,
        order=86,
    )
)


def _labels() -> dict:
    return {
        **case_labels(),
        "REDACTION_REASON_LABELS": REDACTION_REASON_LABELS,
        "REDACTION_KIND_LABELS": REDACTION_KIND_LABELS,
        "reasons": list(RedactionReason),
        "MASK": reporting.MASK,
    }


def _open(desk: Desk, reference: str) -> reporting.CaseAccess:
    return reporting.open_case(
        desk.session,
        user=desk.user,
        holder_private=desk.holder_private(),
        reference=reference,
        audit_read=False,
    )


def _file_page(
    desk: Desk, access: reporting.CaseAccess, *, errors=None, values=None, status_code=200
):
    session = desk.session
    entries = reporting.timeline(session, access=access)
    context = {
        **_labels(),
        "report": access.report,
        "entries": [e for e in entries if e.kind.value != "identity"],
        "files": [(e, f) for e in entries for f in e.attachments],
        "region_types": reporting.REGION_TYPES,
        "redactions": reporting.redactions_of(session, access),
        "preview": reporting.redacted_case(session, access),
        "viewers": reporting.viewers(session, access.report),
        "candidates": reporting.viewer_candidates(session, access),
        "authorities": reporting.authorities(session, active_only=True),
        "referrals": reporting.referrals_of(session, access.report.id),
        "steps": reporting.allowed_steps(access, desk.principal),
        "errors": errors or {},
        "values": values or {},
    }
    return render(desk.request, "cases/case_file.html", context, status_code=status_code)


def _act(desk: Desk, reference: str, action, *, done: str, field: str, values=None, step=None):
    """Open the case, run `action(access)`, commit once and go back to the case file; on a
    refusal nothing is written and the page is shown again with the message by `field`."""
    access = _open(desk, reference)

    def act() -> object:
        if step is not None:
            reporting.refuse_unless(access, desk.principal, step)
        return action(access)

    def refused(err: reporting.ReportingError) -> Response:
        again = _open(desk, reference)
        errors = err.errors or {field: str(err)}
        return _file_page(desk, again, errors=errors, values=values, status_code=err.status_code)

    return run_action(
        desk.request,
        desk.session,
        act,
        message=done,
        to=f"/cases/{access.report.reference}/file",
        on_error=refused,
        refusals="all",
    )


# --- the holder's case file -------------------------------------------------------------------


@router.get("/cases/{reference}/file", dependencies=[require(Permission.handle_reports)])
def case_file(desk: DeskDep, reference: str):
    return _file_page(desk, _open(desk, reference))


def _redact(desk: Desk, access: reporting.CaseAccess, typed: dict[str, str]):
    kind = typed["kind"]
    if kind not in RedactionKind.__members__:
        raise reporting.ReportingError(_("Choose what to hide."), field="kind")
    return reporting.add_redaction(
        desk.session,
        desk.settings,
        access=access,
        actor=desk.user,
        kind=RedactionKind(kind),
        reason=typed["reason"],
        phrase=typed["phrase"],
        item_uid=typed["item"] or None,
        attachment_uid=typed["attachment"] or None,
        regions=typed["regions"],
        today=desk.today,
    )


@router.post("/cases/{reference}/redactions", dependencies=[require(Permission.handle_reports)])
def add_redaction(
    desk: DeskDep,
    reference: str,
    kind: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    phrase: Annotated[str, Form()] = "",
    item: Annotated[str, Form()] = "",
    attachment: Annotated[str, Form()] = "",
    regions: Annotated[str, Form()] = "",
):
    typed = {"kind": kind, "reason": reason, "phrase": phrase, "item": item}
    typed |= {"attachment": attachment, "regions": regions}
    done = _("Hidden from the redacted version; the original is kept.")
    return _act(
        desk,
        reference,
        lambda access: _redact(desk, access, typed),
        done=done,
        field="kind",
        values=typed,
    )


@router.post(
    "/cases/{reference}/redactions/{uid}/remove",
    dependencies=[require(Permission.handle_reports)],
)
def remove_redaction(desk: DeskDep, reference: str, uid: str):
    return _act(
        desk,
        reference,
        lambda access: reporting.remove_redaction(
            desk.session, desk.settings, access=access, actor=desk.user, uid=uid, today=desk.today
        ),
        done=_("The redaction was removed."),
        field="redactions",
    )


@router.post("/cases/{reference}/viewers", dependencies=[require(Permission.handle_reports)])
def grant_viewer(desk: DeskDep, reference: str, user_id: Annotated[str, Form()] = ""):
    chosen = form_id(user_id, field="viewer")
    grantee = desk.session.get(User, chosen) if chosen is not None else None
    return _act(
        desk,
        reference,
        lambda access: reporting.grant_viewer(
            desk.session,
            desk.settings,
            access=access,
            actor=desk.user,
            grantee=grantee,
            today=desk.today,
        ),
        done=_(
            "%(name)s can now read the redacted version.", name=getattr(grantee, "full_name", "")
        ),
        field="viewer",
    )


@router.post(
    "/cases/{reference}/viewers/{user_id}/revoke",
    dependencies=[require(Permission.handle_reports)],
)
def revoke_viewer(desk: DeskDep, reference: str, user_id: int):
    return _act(
        desk,
        reference,
        lambda access: reporting.revoke_viewer(
            desk.session, report=access.report, actor=desk.user, user_id=user_id
        ),
        done=_("Access was withdrawn."),
        field="viewer",
    )


@router.post("/cases/{reference}/redacted-copy", dependencies=[require(Permission.handle_reports)])
def refresh_copy(desk: DeskDep, reference: str):
    return _act(
        desk,
        reference,
        lambda access: reporting.refresh_copy(
            desk.session, desk.settings, access=access, actor=desk.user, today=desk.today
        ),
        done=_("The redacted version was brought up to date."),
        field="viewer",
    )


def _download(handle, name: str, media_type: str) -> StreamingResponse:
    return StreamingResponse(
        reporting.iter_file(handle),
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/cases/{reference}/export.zip", dependencies=[require(Permission.handle_reports)])
def export(desk: DeskDep, reference: str):
    access = _open(desk, reference)
    handle = reporting.export_file(
        desk.session, desk.settings, access=access, actor=desk.user, today=desk.today
    )
    desk.session.commit()  # the export's audit entry, before the file leaves
    return _download(handle, f"case-{access.report.reference}.zip", "application/zip")


@router.post("/cases/{reference}/referrals", dependencies=[require(Permission.handle_reports)])
def refer(desk: DeskDep, reference: str, authority: Annotated[str, Form()] = ""):
    chosen = form_id(authority, field="authority")
    return _act(
        desk,
        reference,
        lambda access: reporting.refer_case(
            desk.session, access=access, actor=desk.user, authority_id=chosen, today=desk.today
        ),
        done=_("The referral was recorded: download the encrypted file and send it."),
        field="authority",
        values={"authority": authority},
        step=reporting.Step.refer,
    )


@router.get(
    "/cases/{reference}/referrals/{uid}/download",
    dependencies=[require(Permission.handle_reports)],
)
def referral_download(desk: DeskDep, reference: str, uid: str):
    access = _open(desk, reference)
    handle, name = reporting.referral_file(
        desk.session, desk.settings, access=access, actor=desk.user, uid=uid, today=desk.today
    )
    desk.session.commit()
    return _download(handle, name, "application/octet-stream")


# --- viewers ----------------------------------------------------------------------------------


@router.get("/cases/shared", dependencies=[require(Permission.handle_reports)])
def shared(desk: DeskDep):
    cases = reporting.viewed_cases(desk.session, user=desk.user)
    return render(desk.request, "cases/shared.html", {**_labels(), "cases": cases})


@router.get("/cases/shared/{reference}", dependencies=[require(Permission.handle_reports)])
def shared_case(desk: DeskDep, reference: str):
    case = reporting.open_viewed_case(
        desk.session, user=desk.user, holder_private=desk.holder_private(), reference=reference
    )
    desk.session.commit()  # the reading is audited
    return render(desk.request, "cases/redacted.html", {**_labels(), "case": case})


@router.get(
    "/cases/shared/{reference}/files/{uid}", dependencies=[require(Permission.handle_reports)]
)
def shared_file(desk: DeskDep, reference: str, uid: str):
    case = reporting.open_viewed_case(
        desk.session, user=desk.user, holder_private=desk.holder_private(), reference=reference
    )
    view, data = reporting.read_viewed_file(desk.settings, case, uid)
    desk.session.commit()
    return attachment_response(view, data)


# --- competent authorities (administrators) ---------------------------------------------------


def _authorities_page(desk: Desk, *, errors=None, values=None, status_code=200):
    context = {
        "authorities": reporting.authorities(desk.session),
        "errors": errors or {},
        "values": values or {},
    }
    return render(desk.request, "cases/referral_authorities.html", context, status_code=status_code)


@router.get(
    "/cases/referral-authorities", dependencies=[require(Permission.manage_report_channels)]
)
def authorities(desk: DeskDep):
    return _authorities_page(desk)


@router.post(
    "/cases/referral-authorities", dependencies=[require(Permission.manage_report_channels)]
)
def register_authority(
    desk: DeskDep, name: Annotated[str, Form()] = "", recipient: Annotated[str, Form()] = ""
):
    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.register_authority(
            desk.session, actor=desk.user, name=name, recipient=recipient, today=desk.today
        ),
        message=_("The authority was registered."),
        to="/cases/referral-authorities",
        on_error=lambda err: _authorities_page(
            desk,
            errors=err.form_errors(),
            values={"name": name, "recipient": recipient},
            status_code=err.status_code,
        ),
    )


@router.post(
    "/cases/referral-authorities/{authority_id}/active",
    dependencies=[require(Permission.manage_report_channels)],
)
def authority_active(desk: DeskDep, authority_id: int, active: Annotated[str, Form()] = ""):
    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.set_authority_active(
            desk.session, actor=desk.user, authority_id=authority_id, active=active == "yes"
        ),
        message=_("The list of authorities was saved."),
        to="/cases/referral-authorities",
    )


# --- checking an export (anyone) --------------------------------------------------------------


def _verify_page(request, session, settings, *, check=None, error="", status_code=200):
    context = {
        "fingerprint": reporting.signing_fingerprint(session, settings),
        "check": check,
        "error": error,
    }
    session.commit()
    return render(request, "cases/verify_export.html", context, status_code=status_code)


@router.get("/verify-export", dependencies=[public])
def verify_export_form(request: Request, session: SessionDep, settings: SettingsDep):
    return _verify_page(request, session, settings)


@router.post("/verify-export", dependencies=[public])
async def verify_export(request: Request, session: SessionDep, settings: SettingsDep):
    """Check an uploaded export against this installation's key; the file is read where the
    upload put it and forgotten: nothing about it is stored, logged or audited."""
    form = await read_form(request)
    upload = form.get("export")
    if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
        error = _("Choose the export (.zip) to check.")
        return _verify_page(request, session, settings, error=error, status_code=422)
    check = verification.check_export(
        upload.file, expected_fingerprint=reporting.signing_fingerprint(session, settings)
    )
    status = 200 if check.valid else 422
    return _verify_page(request, session, settings, check=check, status_code=status)
