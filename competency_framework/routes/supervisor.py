"""Supervisors and HR: validating self-assessments and recording ratings (pages and JSON).

A supervisor acts on their own reports, HR on anyone, nobody on themselves
(`service.allowed_steps`); everyone else is told the person is not there (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from backend.actions import run_action, show_form
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.org.models import Employee
from backend.pages import export_or_none, query_without
from backend.web import render
from competency_framework import service
from competency_framework.routes.employee import entries_out, person_context
from competency_framework.routes.tables import validation_queue_table
from competency_framework.schemas import (
    EntryOut,
    QueueItemOut,
    RatingForm,
    RatingIn,
    ValidationForm,
    ValidationIn,
)

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


def _record(session: Session, actor: Actor, employee_id: int, rating: RatingForm | RatingIn):
    """Record a validated rating of `employee_id` if `actor` may (the page and the API)."""
    employee = service.viewable_employee(session, actor=actor, employee_id=employee_id)
    service.require_step(session, employee=employee, actor=actor, step=service.Step.rate)
    competency = service.get_competency(session, rating.competency)
    if competency is None:
        why = (
            _("Unknown competency: %(code)s.", code=rating.competency)
            if rating.competency
            else _("Choose a competency.")
        )
        raise service.CompetencyError(why, field="competency")
    return service.record_rating(
        session,
        employee=employee,
        competency=competency,
        level=rating.level,
        source=rating.source,
        actor=actor,
        note=rating.note,
        evidence_url=rating.evidence_url,
    )


def _person_form(session: Session, actor: Actor, employee_id: int) -> dict[str, Any]:
    employee = service.viewable_employee(session, actor=actor, employee_id=employee_id)
    return person_context(session, actor, employee) | {"export_query": ""}


@router.post("/people/{employee_id}/ratings", dependencies=[require(Permission.validate_ratings)])
def record_rating(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee_id: int,
    rating: Annotated[RatingForm, Form()],
):
    return run_action(
        request,
        session,
        lambda: _record(session, principal, employee_id, rating),
        message=_("The rating was recorded."),
        to=f"/competencies/people/{employee_id}",
        on_error=show_form(
            request,
            "competency/person.html",
            lambda: _person_form(session, principal, employee_id),
            values=rating.model_dump(),
            block="rate",
        ),
    )


@router.get("/validation", dependencies=[require(Permission.validate_ratings)])
def validation_queue(
    request: Request, session: SessionDep, principal: CurrentPrincipal, format: str = ""
):
    items = service.validation_queue(session, actor=principal)
    zone = request.app.state.settings.time_zone
    exported = export_or_none(
        lambda: validation_queue_table(items, zone), format, "validation-queue"
    )
    if exported is not None:
        return exported
    return render(
        request,
        "competency/validation_queue.html",
        {
            "items": items,
            "is_hr": service.sees_gap_details(principal),
            "export_query": query_without(request, "format"),
        },
    )


def _validation_context(session: Session, employee: Employee) -> dict[str, Any]:
    pending = service.pending_self_entries(session, employee_id=employee.id)
    competencies = {c.id: c for c in service.list_competencies(session)}
    current = service.current_levels(session, employee_id=employee.id)
    profile = service.person_gap_profile(session, employee=employee)
    rows = [
        (competencies[cid], entry, current.get(cid))
        for cid, entry in sorted(pending.items(), key=lambda kv: competencies[kv[0]].order)
    ]
    return {
        "employee": employee,
        "rows": rows,
        "required": {r.competency.id: r for r in profile.rows},
        "descriptors": service.all_descriptors(session),
        "scale": service.scale(session),
        "values": {},
        "errors": {},
    }


@router.get("/validation/{employee_id}", dependencies=[require(Permission.validate_ratings)])
def validation_form(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee_id: int
):
    employee = service.validatable_employee(session, actor=principal, employee_id=employee_id)
    return render(request, "competency/validate.html", _validation_context(session, employee))


def _validate(session: Session, actor: Actor, employee: Employee, decisions) -> list:
    service.require_step(session, employee=employee, actor=actor, step=service.Step.validate)
    return service.validate_ratings(
        session,
        employee=employee,
        decisions=[service.ValidationDecision(d.entry_id, d.level, d.reason) for d in decisions],
        actor=actor,
    )


def _validation_refused(request: Request, session: Session, employee: Employee, form):
    """`on_error` of the validation form: the service names fields by competency code, the
    form by entry id."""
    answer = show_form(
        request,
        "competency/validate.html",
        lambda: _validation_context(session, employee),
        values=form.values,
        block="form",
    )

    def on_error(err: service.CompetencyError):
        rows = _validation_context(session, employee)["rows"]
        by_code = {c.code: e.id for c, e, _cur in rows}
        err.errors = {
            f"{kind}_{by_code.get(code, code)}": message
            for name, message in err.errors.items()
            for kind, _sep, code in [name.partition("_")]
        }
        return answer(err)

    return on_error


@router.post("/validation/{employee_id}", dependencies=[require(Permission.validate_ratings)])
async def validate(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee_id: int
):
    employee = service.viewable_employee(session, actor=principal, employee_id=employee_id)
    form = ValidationForm.from_form(await request.form())
    return run_action(
        request,
        session,
        lambda: _validate(session, principal, employee, form.decisions),
        message=lambda written: (
            _("%(count)s rating(s) validated for %(name)s.")
            % {"count": len(written), "name": employee.full_name}
        ),
        to="/competencies/validation",
        on_error=_validation_refused(request, session, employee, form),
    )


# --- JSON -----------------------------------------------------------------------------------


@api_router.post(
    "/people/{employee_id}/ratings",
    response_model=EntryOut,
    status_code=201,
    dependencies=[require(Permission.validate_ratings)],
)
def record_rating_json(
    body: RatingIn, session: SessionDep, principal: CurrentPrincipal, employee_id: int
):
    """Record a validated rating (supervisor for own reports; HR any source)."""
    entry = _record(session, principal, employee_id, body)
    session.commit()
    return entries_out(session, [entry])[0]


@api_router.get(
    "/validation",
    response_model=list[QueueItemOut],
    dependencies=[require(Permission.validate_ratings)],
)
def validation_queue_json(session: SessionDep, principal: CurrentPrincipal):
    """People whose self-assessments await my validation."""
    return [
        QueueItemOut(
            employee_id=i.employee.id,
            name=i.employee.full_name,
            pending=i.pending,
            oldest=i.oldest.isoformat(),
        )
        for i in service.validation_queue(session, actor=principal)
    ]


@api_router.post(
    "/validation/{employee_id}",
    response_model=list[EntryOut],
    status_code=201,
    dependencies=[require(Permission.validate_ratings)],
)
def validate_json(
    body: ValidationIn, session: SessionDep, principal: CurrentPrincipal, employee_id: int
):
    """Validate pending self-ratings: agree (same level) or set another level with a reason."""
    employee = service.viewable_employee(session, actor=principal, employee_id=employee_id)
    written = _validate(session, principal, employee, body.decisions)
    session.commit()
    return entries_out(session, written)
