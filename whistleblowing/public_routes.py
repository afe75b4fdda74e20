"""The anonymous side of the reporting channel: report, receipt, follow-up.

Nothing here identifies the visitor: no account, no cookie before a receipt login (CSRF uses the
signed per-form token, language goes in the URL), no IP address or user agent read or stored,
nothing loaded from another host, and every page works without JavaScript. Staff sessions are
never looked up on these paths (backend.deps.ANONYMOUS_PATH_PREFIXES).
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from backend.db import SessionDep
from backend.deps import (
    SESSION_COOKIE,
    SettingsDep,
    id_or_none,
    public,
    read_form,
    reporter_session,
)
from backend.files import content_disposition
from backend.i18n import _, get_locale
from backend.web import redirect, render
from whistleblowing import attachments
from whistleblowing import service as reporting
from whistleblowing.models import (
    ITEM_KIND_LABELS,
    RED_FLAG_LABELS,
    RED_FLAGS,
    REPORT_STATUS_LABELS,
    ItemKind,
    ReportChannel,
    ReportStatus,
)

router = APIRouter(prefix="/report")

REPORTER_COOKIE = "merito_report"
# The reporter's cookie is sent only to the case pages, nowhere else on the site.
REPORTER_COOKIE_PATH = "/report/case"


def _lang() -> str:
    return f"lang={get_locale()}"


def _common(session, settings) -> dict:
    return {
        "lang": _lang(),
        "RED_FLAGS": RED_FLAGS,
        "RED_FLAG_LABELS": RED_FLAG_LABELS,
        "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
        "ITEM_KIND_LABELS": ITEM_KIND_LABELS,
        "ItemKind": ItemKind,
        "ReportStatus": ReportStatus,
        "max_mb": attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_files": attachments.MAX_ATTACHMENTS_PER_MESSAGE,
        "accepted": ", ".join(attachments.ALLOWED_EXTENSIONS),
        "ready": reporting.recovery_ready(session),
    }


def _staff_cookie_sent(request: Request) -> bool:
    """Return whether the browser sent a staff session cookie along.

    Only the cookie's name is looked at: its value is never read or resolved, so these pages
    still never learn whose session it is (backend.deps.ANONYMOUS_PATH_PREFIXES). Its presence
    is enough to warn the visitor that the site could have known them.
    """
    names = (SESSION_COOKIE, f"__Host-{SESSION_COOKIE}")
    return any(name in request.cookies for name in names)


@router.get("", dependencies=[public])
def landing(request: Request, session: SessionDep, settings: SettingsDep):
    context = _common(session, settings)
    context["staff_cookie_sent"] = _staff_cookie_sent(request)
    context["channels"] = reporting.active_channels(session)
    context["fingerprint"] = reporting.signing_fingerprint(session, settings)
    session.commit()
    return render(request, "report/landing.html", context)


def _form_context(session, settings, values: dict | None = None, errors: dict | None = None):
    context = _common(session, settings)
    channels = reporting.active_channels(session)
    recipients = reporting.recipients_by_channel(session)
    people = {u.id: u for users in recipients.values() for u in users}
    context.update(
        {
            "channels": channels,
            "recipients": recipients,
            "people": sorted(people.values(), key=lambda u: u.full_name),
            "values": values
            or {
                "channel": "",
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
        }
    )
    return context


@router.get("/new", dependencies=[public])
def report_form(request: Request, session: SessionDep, settings: SettingsDep):
    context = _form_context(session, settings)
    context["staff_cookie_sent"] = _staff_cookie_sent(request)
    return render(request, "report/form.html", context)


async def _uploads(form, name: str = "files") -> list[reporting.Upload]:
    uploads = []
    for entry in form.getlist(name):
        if isinstance(entry, UploadFile) and entry.filename:
            uploads.append(reporting.Upload(entry.filename, await entry.read()))
    return uploads


def _int_list(values) -> list[int]:
    # Values that name no record (not a number, beyond any id) are dropped, as unknown ones are.
    return [i for i in map(id_or_none, values) if i is not None]


@router.post("/new", dependencies=[public])
async def submit(request: Request, session: SessionDep, settings: SettingsDep):
    # Parsed in memory (never spooled to disk): the files are plaintext until encrypted.
    form = await read_form(request)
    text = {
        key: str(form.get(key, "") or "")
        for key in ("what", "when", "where", "who", "how_known", "identity", "form_token")
    }
    values = {
        **text,
        "channel": str(form.get("channel", "") or ""),
        "red_flags": [v for v in form.getlist("red_flags") if isinstance(v, str)],
        "others_know": str(form.get("others_know", "unsure") or "unsure"),
        "excluded": _int_list(form.getlist("excluded")),
        "good_faith": form.get("good_faith") == "yes",
    }
    submission = reporting.Submission(
        channel_id=id_or_none(values["channel"]),
        what=text["what"],
        when=text["when"],
        where=text["where"],
        who=text["who"],
        how_known=text["how_known"],
        red_flags=values["red_flags"],
        others_know=values["others_know"],
        identity=text["identity"],
        excluded_user_ids=values["excluded"],
        files=await _uploads(form),
        good_faith=values["good_faith"],
        form_token=text["form_token"],
    )
    errors = reporting.validate_submission(session, submission)
    if not errors:
        try:
            result = reporting.submit_report(session, settings, submission=submission)
            reporting.commit(session, settings)
        except reporting.ReportingError as err:
            reporting.rollback(session, settings)
            if err.status_code in (409, 503):
                return render(
                    request,
                    "report/problem.html",
                    {**_common(session, settings), "message": str(err)},
                    status_code=err.status_code,
                )
            errors = {err.field or "form": str(err)}
    if errors:
        if submission.files and "files" not in errors:
            errors["files"] = _("For your safety, files are not kept: attach them again.")
        return render(
            request,
            "report/form.html",
            _form_context(session, settings, values, errors),
            status_code=422,
        )
    return render(
        request,
        "report/receipt.html",
        {
            **_common(session, settings),
            "receipt": result.receipt,
            "report": result.report,
            "channel": result.channel,
            "certificate": json.dumps(result.certificate, indent=2, sort_keys=True),
        },
    )


def _certificate_download(certificate: str, reference: str) -> Response:
    return Response(
        certificate,
        media_type="application/json",
        headers={
            "Content-Disposition": content_disposition(f"certificate-{reference}.json"),
            "Content-Security-Policy": "sandbox",
        },
    )


@router.post("/certificate", dependencies=[public])
def download_certificate(certificate: Annotated[str, Form()] = ""):
    """Hand the certificate shown on the receipt page back as a file (nothing is stored)."""
    check = reporting.verify_certificate(certificate)
    if not check.valid:
        return Response(_("This is not a valid certificate."), status_code=422)
    return _certificate_download(certificate, check.reference)


# A certificate is a few hundred bytes and a burden-of-proof pack a few kilobytes.
MAX_SIGNED_FILE_BYTES = 1024 * 1024


def _verify_page(request, session, settings, *, check=None, error="", status_code=200):
    context = {
        **_common(session, settings),
        "fingerprint": reporting.signing_fingerprint(session, settings),
        "check": check,
        "error": error,
    }
    session.commit()
    return render(request, "report/verify.html", context, status_code=status_code)


@router.get("/verify", dependencies=[public])
def verify_form(request: Request, session: SessionDep, settings: SettingsDep):
    return _verify_page(request, session, settings)


@router.post("/verify", dependencies=[public])
async def verify_signed_file(request: Request, session: SessionDep, settings: SettingsDep):
    """Check an uploaded certificate or pack against this installation's key. The file is read
    in memory, never stored, logged or audited: checking says nothing to anyone."""
    from whistleblowing import verification

    form = await read_form(request)
    upload = form.get("certificate")
    raw = await upload.read() if isinstance(upload, UploadFile) else b""
    if not raw or len(raw) > MAX_SIGNED_FILE_BYTES:
        error = _("Choose the certificate file (.json) to check.")
        return _verify_page(request, session, settings, error=error, status_code=422)
    check = verification.check_signed_file(
        raw, expected_fingerprint=reporting.signing_fingerprint(session, settings)
    )
    return _verify_page(
        request, session, settings, check=check, status_code=200 if check.valid else 422
    )


@router.get("/follow-up", dependencies=[public])
def follow_up_form(request: Request, session: SessionDep, settings: SettingsDep):
    return render(request, "report/follow_up.html", {**_common(session, settings), "error": ""})


@router.post("/follow-up", dependencies=[public])
def follow_up(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    receipt: Annotated[str, Form()] = "",
):
    try:
        token, _report = reporting.receipt_login(session, settings, receipt=receipt)
    except reporting.ReportingError as err:
        return render(
            request,
            "report/follow_up.html",
            {**_common(session, settings), "error": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    response = redirect(request, f"{REPORTER_COOKIE_PATH}?{_lang()}")
    response.set_cookie(
        REPORTER_COOKIE,
        token,
        httponly=True,
        secure=settings.https,
        samesite="strict",
        path=REPORTER_COOKIE_PATH,
    )
    return response


def _session_over(request: Request, session, settings) -> Response:
    response = render(
        request,
        "report/follow_up.html",
        {**_common(session, settings), "error": str(reporting.ReporterSessionExpired())},
        status_code=401,
    )
    response.delete_cookie(REPORTER_COOKIE, path=REPORTER_COOKIE_PATH)
    return response


def _case_context(session, settings, access: reporting.CaseAccess) -> dict:
    entries = reporting.timeline(session, access=access)
    answered = {e.reply_to_uid for e in entries if e.kind is ItemKind.reporter_answer}
    channel = session.get(ReportChannel, access.report.channel_id)
    return {
        **_common(session, settings),
        "report": access.report,
        "channel": channel,
        "entries": entries,
        "open_questions": [
            e for e in entries if e.kind is ItemKind.question and e.uid not in answered
        ],
        "errors": {},
        "message": "",
        "reply_to": None,
    }


@router.get("/case", dependencies=[reporter_session])
def case(request: Request, session: SessionDep, settings: SettingsDep):
    try:
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        context = _case_context(session, settings, access)
    except reporting.ReporterSessionExpired:
        return _session_over(request, session, settings)
    except reporting.ReportingError as err:
        return render(
            request,
            "report/problem.html",
            {**_common(session, settings), "message": str(err)},
            status_code=err.status_code,
        )
    return render(request, "report/case.html", context)


@router.post("/case/messages", dependencies=[reporter_session])
async def send_message(request: Request, session: SessionDep, settings: SettingsDep):
    form = await read_form(request)
    try:
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
    except reporting.ReporterSessionExpired:
        return _session_over(request, session, settings)
    text = str(form.get("text", "") or "")
    reply_to = str(form.get("reply_to", "") or "") or None
    try:
        reporting.add_item(
            session,
            settings,
            access=access,
            kind=ItemKind.reporter_answer if reply_to else ItemKind.reporter_message,
            text=text,
            reply_to_uid=reply_to,
            files=await _uploads(form),
        )
        reporting.commit(session, settings)
    except reporting.ReportingError as err:
        reporting.rollback(session, settings)
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        context = _case_context(session, settings, access)
        context["errors"] = {err.field or "text": str(err)}
        context["message"] = text
        context["reply_to"] = reply_to
        return render(request, "report/case.html", context, status_code=err.status_code)
    return redirect(request, f"{REPORTER_COOKIE_PATH}?{_lang()}#latest")


@router.get("/case/attachments/{uid}", dependencies=[reporter_session])
def reporter_attachment(request: Request, session: SessionDep, settings: SettingsDep, uid: str):
    try:
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        view, data = reporting.read_attachment(session, settings, access=access, uid=uid)
    except reporting.ReporterSessionExpired:
        return _session_over(request, session, settings)
    except reporting.ReportingError as err:
        return render(
            request,
            "report/problem.html",
            {**_common(session, settings), "message": str(err)},
            status_code=err.status_code,
        )
    return attachment_response(view, data)


def attachment_response(view: reporting.AttachmentView, data: bytes) -> Response:
    """Return a decrypted file as a download that the browser will not render inline."""
    return Response(
        data,
        media_type=view.content_type,
        headers={
            "Content-Disposition": content_disposition(view.name),
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/case/certificate", dependencies=[reporter_session])
def reporter_certificate(request: Request, session: SessionDep, settings: SettingsDep):
    try:
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        certificate = reporting.certificate_for(session, settings, report=access.report)
    except reporting.ReporterSessionExpired:
        return _session_over(request, session, settings)
    except reporting.ReportingError as err:
        return render(
            request,
            "report/problem.html",
            {**_common(session, settings), "message": str(err)},
            status_code=err.status_code,
        )
    session.commit()
    return _certificate_download(
        json.dumps(certificate, indent=2, sort_keys=True), access.report.reference
    )


@router.post("/case/logout", dependencies=[public])
def reporter_logout(request: Request, session: SessionDep, settings: SettingsDep):
    reporting.end_reporter_session(session, token=request.cookies.get(REPORTER_COOKIE))
    session.commit()
    response = redirect(request, f"/report?{_lang()}")
    response.delete_cookie(REPORTER_COOKIE, path=REPORTER_COOKIE_PATH)
    return response


# --- retaliation complaints through the receipt -----------------------------------------------


def _complaints_context(session, settings, access, *, values=None, errors=None) -> dict:
    from whistleblowing import retaliation
    from whistleblowing.retaliation_routes import empty_values, labels

    complaints = [
        (found, retaliation.complaint_timeline(session, access=found))
        for found in retaliation.complaints_of_reporter(session, access=access)
    ]
    return {
        **_common(session, settings),
        **labels(),
        "report": access.report,
        "complaints": complaints,
        "values": values or empty_values(),
        "errors": errors or {},
    }


def _reporter_page(request, session, settings, build) -> Response:
    """Run `build(access)` for the reporter's session, answering an ended session or a broken
    case as the other reporter pages do."""
    try:
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        return build(access)
    except reporting.ReporterSessionExpired:
        reporting.rollback(session, settings)
        return _session_over(request, session, settings)
    except reporting.TamperedCase as err:
        return render(
            request,
            "report/problem.html",
            {**_common(session, settings), "message": str(err)},
            status_code=err.status_code,
        )


@router.get("/case/retaliation", dependencies=[reporter_session])
def retaliation_form(request: Request, session: SessionDep, settings: SettingsDep):
    return _reporter_page(
        request,
        session,
        settings,
        lambda access: render(
            request,
            "retaliation/reporter.html",
            _complaints_context(session, settings, access),
        ),
    )


@router.post("/case/retaliation", dependencies=[reporter_session])
async def file_retaliation(request: Request, session: SessionDep, settings: SettingsDep):
    from whistleblowing import retaliation
    from whistleblowing.retaliation_routes import complaint_input

    form = await read_form(request)
    data, values, errors = await complaint_input(form)

    def build(access):
        problems, status_code = dict(errors), 422
        if not problems:
            try:
                retaliation.file_by_receipt(session, settings, access=access, data=data)
                reporting.commit(session, settings)
            except reporting.ReporterSessionExpired:
                raise
            except reporting.ReportingError as err:
                reporting.rollback(session, settings)
                problems, status_code = {err.field or "form": str(err)}, err.status_code
        if problems:
            if data.evidence and "evidence" not in problems:
                problems["evidence"] = _("For your safety, files are not kept: attach them again.")
            return render(
                request,
                "retaliation/reporter.html",
                _complaints_context(session, settings, access, values=values, errors=problems),
                status_code=status_code,
            )
        return redirect(request, f"{REPORTER_COOKIE_PATH}/retaliation?{_lang()}#complaints")

    return _reporter_page(request, session, settings, build)


@router.post("/case/retaliation/{reference}/messages", dependencies=[reporter_session])
async def retaliation_message(
    request: Request, session: SessionDep, settings: SettingsDep, reference: str
):
    from whistleblowing import retaliation

    form = await read_form(request)
    text = str(form.get("text", "") or "")
    files = await _uploads(form)

    def build(access):
        mine = {
            c.complaint.reference: c
            for c in retaliation.complaints_of_reporter(session, access=access)
        }
        found = mine.get(reference.upper())
        if found is None:
            return render(
                request,
                "report/problem.html",
                {**_common(session, settings), "message": _("This complaint does not exist.")},
                status_code=404,
            )
        try:
            retaliation.add_complainant_message(
                session, settings, complaint=found.complaint, text=text, files=files
            )
            reporting.commit(session, settings)
        except reporting.ReportingError as err:
            reporting.rollback(session, settings)
            context = _complaints_context(session, settings, access)
            # The message's form is the complaint's own: its fields' errors under its reference.
            field = {"evidence": "files", None: "form", "": "form"}.get(err.field, err.field)
            context["errors"] = {found.complaint.reference: {field: str(err)}}
            context["typed"] = {found.complaint.reference: text}
            return render(
                request, "retaliation/reporter.html", context, status_code=err.status_code
            )
        return redirect(request, f"{REPORTER_COOKIE_PATH}/retaliation?{_lang()}#complaints")

    return _reporter_page(request, session, settings, build)


@router.get("/case/retaliation/{reference}/attachments/{uid}", dependencies=[reporter_session])
def retaliation_attachment(
    request: Request, session: SessionDep, settings: SettingsDep, reference: str, uid: str
):
    from whistleblowing import retaliation

    def build(access):
        mine = {
            c.complaint.reference: c
            for c in retaliation.complaints_of_reporter(session, access=access)
        }
        found = mine.get(reference.upper())
        try:
            if found is None:
                raise reporting.ReportingError(_("This file does not exist."), status_code=404)
            view, data = retaliation.read_complaint_attachment(
                session, settings, access=found, uid=uid
            )
        except reporting.ReportingError as err:
            return render(
                request,
                "report/problem.html",
                {**_common(session, settings), "message": str(err)},
                status_code=err.status_code,
            )
        return attachment_response(view, data)

    return _reporter_page(request, session, settings, build)
