"""Small helpers shared by the training routers: loading records, errors, money."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from backend.db import SessionDep
from backend.deps import CurrentPrincipal, form_int
from backend.i18n import _, fmt
from backend.org.models import Employee
from competency_framework.exports import ImportRejected
from competency_framework.training import service
from competency_framework.training.models import (
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.service import TrainingError


def money(value: int | float | None) -> str:
    """Return an amount in pesos as shown on pages: $12,500."""
    if value is None:
        return "—"
    return "$" + fmt().number(round(value))


def raise_http(err: TrainingError) -> None:
    """Turn an authorization, lookup or conflict failure into the app's error page."""
    raise HTTPException(status_code=err.status_code, detail=str(err))


def api_error(err: TrainingError | ImportRejected) -> JSONResponse:
    """Return a structured JSON error (the same shape as the app's handlers)."""
    status = getattr(err, "status_code", 422)
    code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(status, "invalid")
    body: dict[str, Any] = {"status": status, "code": code, "message": str(err)}
    if isinstance(err, ImportRejected):
        body["problems"] = [p.as_params() for p in err.problems]
    elif err.errors:
        body["fields"] = [{"field": k, "message": v} for k, v in err.errors.items()]
    return JSONResponse({"error": body}, status_code=status)


def activity_or_404(session: Session, code: str) -> TrainingActivity:
    activity = service.get_activity(session, code)
    if activity is None:
        raise HTTPException(status_code=404, detail=_("This activity is not in the catalogue."))
    return activity


def session_or_404(session: Session, session_id: int) -> TrainingSession:
    row = session.get(TrainingSession, session_id)
    if row is None:
        raise HTTPException(status_code=404, detail=_("This session does not exist."))
    return row


def viewable_employee(session: Session, principal, employee_id: int) -> Employee:
    """Return the employee whose plan `principal` may see; 404 otherwise (who exists is private)."""
    employee = session.get(Employee, employee_id)
    if employee is None or not service.can_view_plan(principal, employee):
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    return employee


def _viewable_employee_in_path(
    session: SessionDep, principal: CurrentPrincipal, employee_id: int
) -> Employee:
    return viewable_employee(session, principal, employee_id)


# A route parameter: the employee the path names, if the principal may see their plan (else 404).
ViewableEmployee = Annotated[Employee, Depends(_viewable_employee_in_path)]


def item_or_404(session: Session, principal, item_id: int) -> TrainingPlanItem:
    item = session.get(TrainingPlanItem, item_id)
    employee = session.get(Employee, item.employee_id) if item else None
    if item is None or employee is None or not service.can_view_plan(principal, employee):
        raise HTTPException(status_code=404, detail=_("This plan item does not exist."))
    return item


def enrolment_or_404(session: Session, principal, enrolment_id: int) -> TrainingEnrolment:
    from competency_framework.training import enrolments

    enrolment = session.get(TrainingEnrolment, enrolment_id)
    if enrolment is None or not enrolments.can_act_on(session, principal, enrolment):
        raise HTTPException(status_code=404, detail=_("This enrolment does not exist."))
    return enrolment


def year_of(request: Request, year: int | None) -> int:
    """Return the plan year a page or form asks for (this plan year when none), or refuse one
    outside 2000–2100 by the field's name (`year`, from the query or the form: 422)."""
    if year is None:
        return service.plan_year(request.app.state.settings)
    chosen = form_int(
        year,
        field="year",
        low=2000,
        high=2100,
        message=_("Choose a year between 2000 and 2100."),
        location="query" if request.method in ("GET", "HEAD") else "body",
    )
    assert chosen is not None  # a number, never empty
    return chosen
