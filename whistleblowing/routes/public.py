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
from sqlmodel import Session
from starlette.datastructures import UploadFile

from backend import crypto
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import SESSION_COOKIE, SettingsDep, public, read_form, reporter_session
from backend.i18n import _
from backend.web import redirect, render
from whistleblowing import service as reporting
from whistleblowing import verification
from whistleblowing.models import ItemKind, ReportChannel
from whistleblowing.routes.common import (
    REPORTER_COOKIE,
    REPORTER_COOKIE_PATH,
    attachment_response,
    blank_report,
    certificate_download,
    files_not_kept,
    lang,
    problem_page,
    public_context,
    receipt_context,
    reporter_page,
    uploads,
)
from whistleblowing.schemas import ReportForm

router = APIRouter(prefix="/report")

# A certificate is a few hundred bytes and a burden-of-proof pack a few kilobytes.
MAX_SIGNED_FILE_BYTES = 1024 * 1024


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
    context = public_context(session, settings)
    context["staff_cookie_sent"] = _staff_cookie_sent(request)
    context["channels"] = reporting.active_channels(session)
    context["fingerprint"] = reporting.signing_fingerprint(session, settings)
    context["authorities"] = reporting.active_external_authorities(session)
    session.commit()
    return render(request, "report/landing.html", context)


def _form_context(session, settings, values: dict | None = None, errors: dict | None = None):
    context = public_context(session, settings)
    channels = reporting.active_channels(session)
    recipients = reporting.recipients_by_channel(session)
    people = {u.id: u for users in recipients.values() for u in users}
    context.update(
        {
            "channels": channels,
            "questionnaires": reporting.current_questions(session, [c.id for c in channels]),
            "recipients": recipients,
            "people": sorted(people.values(), key=lambda u: u.full_name),
            "values": values or blank_report(),
            "errors": errors or {},
        }
    )
    return context


@router.get("/new", dependencies=[public])
def report_form(request: Request, session: SessionDep, settings: SettingsDep, channel: str = ""):
    # ?channel= chooses the subject first: the form then asks that channel's questions only.
    chosen = next((c for c in reporting.active_channels(session) if str(c.id) == channel), None)
    context = _form_context(
        session, settings, blank_report(channel=str(chosen.id) if chosen else "")
    )
    context["staff_cookie_sent"] = _staff_cookie_sent(request)
    return render(request, "report/form.html", context)


def _refused_report(
    request: Request,
    session: Session,
    settings: Settings,
    typed: ReportForm,
    submission: reporting.Submission,
    err: reporting.ReportingError,
) -> Response:
    """The form again with what was typed and every problem; a report that cannot be accepted
    at all (no recovery key yet, the form already used) is the problem page instead."""
    if err.status_code in (409, 503):
        return problem_page(request, session, settings, err)
    errors = files_not_kept(
        err.form_errors(),
        submission.files,
        _("For your safety, files are not kept: attach them again."),
    )
    context = _form_context(session, settings, typed.values(), errors)
    if isinstance(err, reporting.ChallengeRequired):
        context["challenge"] = err.challenge
    return render(request, "report/form.html", context, status_code=422)


@router.post("/new", dependencies=[public])
async def submit(request: Request, session: SessionDep, settings: SettingsDep):
    # Parsed in memory (never spooled to disk): the files are plaintext until encrypted.
    form = await read_form(request)
    typed = ReportForm.from_form(form)
    submission = reporting.Submission(**typed.submitted(), files=await uploads(form))
    try:
        vetted = reporting.check_submission(session, submission)
        # Beyond the configured rate of new reports, the form asks its question first.
        result = reporting.submit_screened(
            session,
            settings,
            submission=submission,
            challenge_token=str(form.get("challenge_token", "") or ""),
            answer=str(form.get("challenge_answer", "") or ""),
            vetted=vetted,
        )
    except reporting.ReportingError as err:
        session.rollback()
        return _refused_report(request, session, settings, typed, submission, err)
    session.commit()
    context = {**public_context(session, settings, ready=True), **receipt_context(result)}
    return render(request, "report/receipt.html", context)


@router.post("/certificate", dependencies=[public])
def download_certificate(certificate: Annotated[str, Form()] = ""):
    """Hand the certificate shown on the receipt page back as a file (nothing is stored)."""
    check = reporting.verify_certificate(certificate)
    if not check.valid:
        return Response(_("This is not a valid certificate."), status_code=422)
    return certificate_download(certificate, check.reference)


def _verify_page(request, session, settings, *, check=None, error="", status_code=200):
    context = {
        **public_context(session, settings),
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
    context = {**public_context(session, settings), "error": ""}
    return render(request, "report/follow_up.html", context)


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
        session.rollback()
        context = {**public_context(session, settings), "error": str(err)}
        return render(request, "report/follow_up.html", context, status_code=err.status_code)
    session.commit()
    # A receipt issued before tags: the case page shows the group to add to it.
    tag = reporting.tag_to_add(settings, receipt)
    response = redirect(
        request, f"{REPORTER_COOKIE_PATH}?{lang()}" + (f"&tag={tag}" if tag else "")
    )
    response.set_cookie(
        REPORTER_COOKIE,
        token,
        httponly=True,
        secure=settings.https,
        samesite="strict",
        path=REPORTER_COOKIE_PATH,
    )
    return response


def _case_context(session, settings, access: reporting.CaseAccess) -> dict:
    entries = reporting.timeline(session, access=access)
    answered = {e.reply_to_uid for e in entries if e.kind is ItemKind.reporter_answer}
    channel = session.get(ReportChannel, access.report.channel_id)
    return {
        **public_context(session, settings),
        "report": access.report,
        "channel": channel,
        "entries": entries,
        "open_questions": [
            e for e in entries if e.kind is ItemKind.question and e.uid not in answered
        ],
        "errors": {},
        "message": "",
        "reply_to": None,
        "meeting_mode": "",
        "meeting_text": "",
        # Art. 9(1)(f): a referral to a competent authority is told to the reporter.
        "referrals": reporting.referrals_of(session, access.report.id),
    }


@router.get("/case", dependencies=[reporter_session])
def case(request: Request, session: SessionDep, settings: SettingsDep):
    tag = request.query_params.get("tag", "")
    tag_ok = len(tag) == reporting.TAG_LENGTH and all(c in crypto.RECEIPT_ALPHABET for c in tag)

    def show(access: reporting.CaseAccess) -> Response:
        context = _case_context(session, settings, access)
        context["tag_to_add"] = tag if tag_ok else ""
        return render(request, "report/case.html", context)

    return reporter_page(request, session, settings, show)


def _send_message(request, session, settings, access, *, text: str, reply_to, files) -> Response:
    """Seal the reporter's message (or answer) into the case; on a broken rule show the case
    again with what they typed."""
    try:
        reporting.add_item(
            session,
            settings,
            access=access,
            kind=ItemKind.reporter_answer if reply_to else ItemKind.reporter_message,
            text=text,
            reply_to_uid=reply_to,
            files=files,
        )
    except reporting.TamperedCase:
        raise
    except reporting.ReportingError as err:
        session.rollback()
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        context = _case_context(session, settings, access)
        context.update(errors={err.field or "text": str(err)}, message=text, reply_to=reply_to)
        return render(request, "report/case.html", context, status_code=err.status_code)
    session.commit()
    return redirect(request, f"{REPORTER_COOKIE_PATH}?{lang()}#latest")


@router.post("/case/messages", dependencies=[reporter_session])
async def send_message(request: Request, session: SessionDep, settings: SettingsDep):
    form = await read_form(request)
    text = str(form.get("text", "") or "")
    reply_to = str(form.get("reply_to", "") or "") or None
    files = await uploads(form)

    def send(access: reporting.CaseAccess) -> Response:
        return _send_message(
            request, session, settings, access, text=text, reply_to=reply_to, files=files
        )

    return reporter_page(request, session, settings, send)


@router.post("/case/meeting", dependencies=[reporter_session])
def request_meeting(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    meeting_mode: Annotated[str, Form()] = "",
    meeting_text: Annotated[str, Form()] = "",
):
    """The reporter asks for a meeting or a call (Art. 9(2)); sealed like a message."""

    def ask(access: reporting.CaseAccess) -> Response:
        try:
            reporting.request_meeting(
                session, settings, access=access, mode=meeting_mode, text=meeting_text
            )
        except reporting.TamperedCase:
            raise
        except reporting.ReportingError as err:
            session.rollback()
            access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
            context = _case_context(session, settings, access)
            field = "meeting_text" if err.field == "text" else err.field or "meeting_text"
            context.update(errors={field: str(err)}, meeting_mode=meeting_mode)
            context["meeting_text"] = meeting_text
            return render(request, "report/case.html", context, status_code=err.status_code)
        session.commit()
        return redirect(request, f"{REPORTER_COOKIE_PATH}?{lang()}#latest")

    return reporter_page(request, session, settings, ask)


@router.get("/case/attachments/{uid}", dependencies=[reporter_session])
def reporter_attachment(request: Request, session: SessionDep, settings: SettingsDep, uid: str):
    def download(access: reporting.CaseAccess) -> Response:
        view, data = reporting.read_attachment(session, settings, access=access, uid=uid)
        return attachment_response(view, data)

    return reporter_page(request, session, settings, download)


@router.get("/case/certificate", dependencies=[reporter_session])
def reporter_certificate(request: Request, session: SessionDep, settings: SettingsDep):
    def download(access: reporting.CaseAccess) -> Response:
        certificate = reporting.certificate_for(session, settings, report=access.report)
        session.commit()
        text = json.dumps(certificate, indent=2, sort_keys=True)
        return certificate_download(text, access.report.reference)

    return reporter_page(request, session, settings, download)


@router.post("/case/logout", dependencies=[public])
def reporter_logout(request: Request, session: SessionDep, settings: SettingsDep):
    reporting.end_reporter_session(session, token=request.cookies.get(REPORTER_COOKIE))
    session.commit()
    response = redirect(request, f"/report?{lang()}")
    response.delete_cookie(REPORTER_COOKIE, path=REPORTER_COOKIE_PATH)
    return response
