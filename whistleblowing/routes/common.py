"""What the reporting channel's route modules share: the signed-in handler's desk and their
private key, the reporter's session cookie and pages, files handed out, and reading forms."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from backend import audit, clock
from backend.auth.models import User
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, session_token
from backend.files import content_disposition
from backend.i18n import get_locale
from backend.web import render
from whistleblowing import attachments
from whistleblowing import service as reporting
from whistleblowing.models import (
    INTAKE_CHANNEL_LABELS,
    ITEM_KIND_LABELS,
    MEETING_MODE_LABELS,
    NOTIFICATION_LABELS,
    PRIORITY_LABELS,
    RED_FLAG_LABELS,
    RED_FLAGS,
    REPORT_OUTCOME_LABELS,
    REPORT_STATUS_LABELS,
    RETENTION_HOLD_LABELS,
    ItemKind,
    NotificationKind,
    ReportStatus,
)

REPORTER_COOKIE = "merito_report"
# The reporter's cookie is sent only to the case pages, nowhere else on the site.
REPORTER_COOKIE_PATH = "/report/case"


def parse_day(value: object) -> date | None:
    """Return the day typed as YYYY-MM-DD, or None when blank or not a day."""
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


async def uploads(form: Any, name: str = "files") -> list[reporting.Upload]:
    """Return the files chosen in the form's `name` input (those without a name are skipped)."""
    return [
        reporting.Upload(entry.filename, await entry.read())
        for entry in form.getlist(name)
        if isinstance(entry, UploadFile) and entry.filename
    ]


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


def certificate_download(certificate: str, reference: str) -> Response:
    """Return a certificate of reporting as a JSON download (nothing is stored)."""
    return Response(
        certificate,
        media_type="application/json",
        headers={
            "Content-Disposition": content_disposition(f"certificate-{reference}.json"),
            "Content-Security-Policy": "sandbox",
        },
    )


def blank_report(**fields: object) -> dict:
    """What a new report form shows (`fields`: the staff's intake form's own), with a new
    one-time form token."""
    return {
        "channel": "",
        **fields,
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
        "questions": {},
        "form_token": reporting.new_form_token(),
    }


def files_not_kept(errors: dict, files: object, message: str, *, field: str = "files") -> dict:
    """Return a refused form's `errors`, saying by `field` that its files (if any) were not
    kept and must be attached again (unless a file was itself the problem)."""
    if files and field not in errors:
        errors[field] = message
    return errors


def receipt_context(result: reporting.SubmissionResult) -> dict:
    """What a receipt page shows of a report just filed (the receipt is shown once)."""
    return {
        "receipt": result.receipt,
        "report": result.report,
        "channel": result.channel,
        "certificate": json.dumps(result.certificate, indent=2, sort_keys=True),
    }


# --- the reporter's pages ---------------------------------------------------------------------


def lang() -> str:
    """The query string that keeps the reporter's language (they have no language cookie)."""
    return f"lang={get_locale()}"


def public_context(session: Session, settings: Settings, *, ready: bool | None = None) -> dict:
    """What every page of the anonymous side shows (`ready`: whether the channel can receive
    reports, when the caller knows it already)."""
    return {
        "lang": lang(),
        "RED_FLAGS": RED_FLAGS,
        "RED_FLAG_LABELS": RED_FLAG_LABELS,
        "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
        "ITEM_KIND_LABELS": ITEM_KIND_LABELS,
        "MEETING_MODE_LABELS": MEETING_MODE_LABELS,
        "ItemKind": ItemKind,
        "ReportStatus": ReportStatus,
        "max_mb": attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_files": attachments.MAX_ATTACHMENTS_PER_MESSAGE,
        "accepted": ", ".join(attachments.ALLOWED_EXTENSIONS),
        "ready": reporting.recovery_ready(session) if ready is None else ready,
    }


def session_over(request: Request, session: Session, settings: Settings) -> Response:
    """The receipt form again, saying the reporter's session ended (and forgetting its cookie)."""
    response = render(
        request,
        "report/follow_up.html",
        {**public_context(session, settings), "error": str(reporting.ReporterSessionExpired())},
        status_code=401,
    )
    response.delete_cookie(REPORTER_COOKIE, path=REPORTER_COOKIE_PATH)
    return response


def problem_page(
    request: Request, session: Session, settings: Settings, err: reporting.ReportingError
) -> Response:
    """The anonymous side's own error page (in the public layout, keeping the language)."""
    return render(
        request,
        "report/problem.html",
        {**public_context(session, settings), "message": str(err)},
        status_code=err.status_code,
    )


def reporter_page(
    request: Request,
    session: Session,
    settings: Settings,
    build: Callable[[reporting.CaseAccess], Response],
) -> Response:
    """Return `build(access)` for the reporter's session; an ended session answers the receipt
    form again and a refused lookup (a broken case, a file that is not theirs) the anonymous
    side's problem page, never the staff error page."""
    try:
        access = reporting.reporter_access(session, token=request.cookies.get(REPORTER_COOKIE))
        return build(access)
    except reporting.ReporterSessionExpired:
        session.rollback()
        return session_over(request, session, settings)
    except reporting.ReportingError as err:
        session.rollback()
        return problem_page(request, session, settings, err)


def case_labels() -> dict:
    """The labels the staff's case pages show (statuses, outcomes, kinds of item…)."""
    return {
        "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
        "REPORT_OUTCOME_LABELS": REPORT_OUTCOME_LABELS,
        "ITEM_KIND_LABELS": ITEM_KIND_LABELS,
        "RED_FLAG_LABELS": RED_FLAG_LABELS,
        "INTAKE_CHANNEL_LABELS": INTAKE_CHANNEL_LABELS,
        "MEETING_MODE_LABELS": MEETING_MODE_LABELS,
        "NOTIFICATION_LABELS": NOTIFICATION_LABELS,
        "PRIORITY_LABELS": PRIORITY_LABELS,
        "RETENTION_HOLD_LABELS": RETENTION_HOLD_LABELS,
        "ItemKind": ItemKind,
        "ReportStatus": ReportStatus,
        "NotificationKind": NotificationKind,
    }


# --- the handlers' desk -----------------------------------------------------------------------


@dataclass
class Desk:
    """A signed-in handler's request (the routes' dependency): who, the database session and
    the settings, with the helpers every handler's route uses."""

    request: Request
    session: Session
    settings: Settings
    principal: Principal

    @property
    def user(self) -> User:
        return self.principal.user

    @property
    def today(self) -> date:
        """Return today in the organisation's time zone (deadlines count local days)."""
        return clock.today(self.settings)

    def holder_private(self) -> bytes:
        """Return the handler's private key, unsealed with their session cookie (else 401)."""
        return reporting.session_private_key(self.principal.session, session_token(self.request))

    def attachment(
        self,
        read: Callable[[], tuple[reporting.AttachmentView, bytes]],
        *,
        action: str,
        entity_type: str,
        entity_id: str,
        uid: str,
    ) -> Response:
        """Return an attachment of an opened record as a download; its reading is audited."""
        view, data = read()
        audit.record(
            self.session,
            action=action,
            actor=self.user,
            entity_type=entity_type,
            entity_id=entity_id,
            after={"attachment": uid},
        )
        self.session.commit()
        return attachment_response(view, data)


def _desk(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> Desk:
    return Desk(request, session, settings, principal)


# A route parameter: the signed-in handler's desk (401 without a session).
DeskDep = Annotated[Desk, Depends(_desk)]
