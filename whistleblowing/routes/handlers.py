"""A handler's own pages on the reporting channel: their absences (cases handed over), their
declared interests (reports touching them never reach them), and, for protection officers,
the requests to release a reporter's identity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.deps import (
    require,
)
from backend.i18n import _
from backend.web import (
    render,
)
from whistleblowing import service as reporting
from whistleblowing.models import (
    Report,
)
from whistleblowing.routes.common import (
    Desk,
    DeskDep,
    parse_day,
)
from whistleblowing.service import retaliation

router = APIRouter(prefix="/cases")


def _save(
    desk: Desk,
    action: Callable[[], Any],
    page: Callable[..., Response],
    *,
    field: str,
    values: dict,
    shown: Callable[[Any], dict],
) -> Response:
    """Run `action`, commit and show `page` with `shown(result)`; when a rule refuses it,
    nothing is written and `page` shows why (by `field` if the rule names none) and what was
    typed."""
    try:
        result = action()
    except reporting.ReportingError as err:
        desk.session.rollback()
        errors = {err.field or field: str(err)}
        return page(desk, errors=errors, values=values, status_code=err.status_code)
    desk.session.commit()
    return page(desk, **shown(result))


# --- absences ---------------------------------------------------------------------------------


def _absence_page(desk: Desk, *, errors=None, values=None, result=None, status_code=200):
    return render(
        desk.request,
        "cases/absence.html",
        {
            "absences": reporting.absences_of(desk.session, user=desk.user, today=desk.today),
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

    def record() -> reporting.AbsenceResult:
        if start is None or end is None:
            raise reporting.ReportingError(_("Enter both days as YYYY-MM-DD."), field="ends_on")
        return reporting.record_absence(
            desk.session,
            user=desk.user,
            holder_private=desk.holder_private() if values["hand_over"] else None,
            starts_on=start,
            ends_on=end,
            hand_over_cases=values["hand_over"],
            today=desk.today,
        )

    return _save(
        desk,
        record,
        _absence_page,
        field="starts_on",
        values=values,
        shown=lambda result: {"result": result},
    )


@router.post("/absence/{absence_id}/end", dependencies=[require(Permission.handle_reports)])
def end_absence(desk: DeskDep, absence_id: int):
    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.end_absence(
            desk.session, user=desk.user, absence_id=absence_id, today=desk.today
        ),
        message=_("Your absence was ended."),
        to="/cases/absence",
    )


# --- declared interests -----------------------------------------------------------------------


def _interests_page(desk: Desk, *, errors=None, values=None, saved=False, status_code=200):
    register = reporting.interest_register(desk.session, user=desk.user)
    team = reporting.led_channel_people(desk.session, user=desk.user)
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
            "team": reporting.interest_registers(desk.session, team) if team else [],
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
    return _save(
        desk,
        lambda: reporting.declare_interests(
            desk.session,
            user=desk.user,
            terms=reporting.parse_interest_terms(terms),
            unit_codes=units.replace(";", ",").split(","),
            today=desk.today,
        ),
        _interests_page,
        field="terms",
        values=values,
        shown=lambda _register: {"saved": True},
    )


# --- identity requests (protection officers) --------------------------------------------------


def _identity_page(desk: Desk, *, errors=None, values=None, status_code=200):
    views = reporting.identity_requests(
        desk.session, officer=desk.user, holder_private=desk.holder_private()
    )
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


def _decide(
    desk: Desk,
    request_id: int,
    *,
    approve: bool,
    note: str,
    defer_notice: str,
    employee_number: str,
) -> None:
    """Record the officer's decision; with an employee number, an approval also puts the
    reporter under retaliation protection."""
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
            report=desk.session.get(Report, decided.report_id),
            officer=desk.user,
            employee_number=employee_number,
        )


def _refused_decision(
    desk: Desk, request_id: int, err: reporting.ReportingError, typed: dict
) -> Response:
    """The requests page again with the message by the refused request's form; a request that is
    gone, decided already or not the officer's to decide is the error page."""
    if err.status_code in (403, 404, 409):
        raise err
    # By the request's form: its field's name ("employee" is the service's for the number).
    field = {"employee": "employee_number"}.get(err.field, err.field or "note")
    return _identity_page(
        desk,
        errors={request_id: {field: str(err)}},
        values={request_id: typed},
        status_code=err.status_code,
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
    typed = {"note": note, "defer_notice": defer_notice, "employee_number": employee_number}
    return run_action(
        desk.request,
        desk.session,
        lambda: _decide(desk, request_id, approve=decision == "approve", **typed),
        message=_("Your decision was recorded."),
        to="/cases/identity-requests",
        on_error=lambda err: _refused_decision(desk, request_id, err, typed),
        refusals="all",
    )


@router.post(
    "/identity-requests/{request_id}/notify",
    dependencies=[require(Permission.release_reporter_identity)],
)
def notify_reporter(desk: DeskDep, request_id: int):
    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.notify_reporter(
            desk.session,
            officer=desk.user,
            holder_private=desk.holder_private(),
            request_id=request_id,
        ),
        message=_("The reporter was told."),
        to="/cases/identity-requests",
    )
