"""Reports made by telephone, in person, by letter or email: entered by the investigator who
received them, with a receipt for the reporter (shown once).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from backend import clock
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import (
    FieldError,
    SettingsDep,
    read_form,
    require,
)
from backend.i18n import _
from backend.web import (
    render,
)
from whistleblowing import service as reporting
from whistleblowing.models import (
    RED_FLAGS,
    IntakeChannel,
)
from whistleblowing.routes.common import (
    Desk,
    DeskDep,
    blank_report,
    case_labels,
    certificate_download,
    files_not_kept,
    receipt_context,
    uploads,
)
from whistleblowing.schemas import ReportForm

router = APIRouter(prefix="/cases")

# --- reports made by telephone, in person, by letter or email ---------------------------------


def _intake_context(session, settings, values: dict | None = None, errors: dict | None = None):
    channels = reporting.active_channels(session)
    return {
        **case_labels(),
        "channels": channels,
        "questionnaires": reporting.current_questions(session, [c.id for c in channels]),
        "recipients": reporting.recipients_by_channel(session),
        "RED_FLAGS": RED_FLAGS,
        "intake_channels": [c for c in IntakeChannel if c is not IntakeChannel.web],
        "values": values
        or blank_report(
            received_via=IntakeChannel.phone.value,
            received_on=clock.today(settings).isoformat(),
        ),
        "errors": errors or {},
        "max_days": reporting.MAX_INTAKE_DELAY_DAYS,
    }


@router.get("/intake", dependencies=[require(Permission.handle_reports)])
def intake_form(request: Request, session: SessionDep, settings: SettingsDep):
    return render(request, "cases/intake.html", _intake_context(session, settings))


def _refused_intake(desk: Desk, typed: ReportForm, files: list, err) -> Response:
    """The intake form again, with what was typed and every problem by field."""
    errors = files_not_kept(
        err.form_errors(), files, _("For safety, files are not kept: attach them again.")
    )
    context = _intake_context(desk.session, desk.settings, typed.values(), errors)
    return render(desk.request, "cases/intake.html", context, status_code=422)


def _intake_receipt(desk: Desk, result: reporting.SubmissionResult) -> Response:
    """The receipt to give the reporter (shown once, never stored)."""
    context = {**case_labels(), **receipt_context(result)}
    return render(desk.request, "cases/intake_receipt.html", context)


@router.post("/intake", dependencies=[require(Permission.handle_reports)])
async def intake(desk: DeskDep):
    form = await read_form(desk.request)
    typed = ReportForm.from_form(form, staff=True)
    submission = reporting.Submission(
        **typed.submitted(),
        files=await uploads(form),
        received_via=typed.received_via,
        received_on=typed.received_day,
        entered_by=desk.user,
    )
    try:
        reporting.check_submission(desk.session, submission, problems=typed.problems)
        result = reporting.enter_report(
            desk.session, desk.settings, actor=desk.user, submission=submission
        )
    except reporting.ReportingError as err:
        desk.session.rollback()
        return _refused_intake(desk, typed, submission.files, err)
    desk.session.commit()
    return _intake_receipt(desk, result)


@router.post("/intake/certificate", dependencies=[require(Permission.handle_reports)])
def intake_certificate(certificate: Annotated[str, Form()] = ""):
    """Hand the certificate shown with an entered report's receipt back as a file."""
    check = reporting.verify_certificate(certificate)
    if not check.valid:
        # The receipt page that holds it is shown once, so the refusal is the validation page,
        # naming the field.
        raise FieldError("certificate", _("This is not a valid certificate."))
    return certificate_download(certificate, check.reference)
