"""An employee's own competencies and self-assessment; a person's profile and rating history.

The person pages answer "not found" to anyone who may not see that person (themselves, their
supervisor, HR: `service.viewable_employee`), so the answer does not reveal who exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session

from backend.actions import run_action, show_form
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _, localized
from backend.org.models import Employee
from backend.pages import export_or_none, query_without
from backend.web import render
from competency_framework import service
from competency_framework.routes.tables import person_table
from competency_framework.schemas import (
    EntryOut,
    PersonProfileOut,
    RequirementRowOut,
    SelfAssessmentForm,
    SelfAssessmentIn,
)

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


def not_linked(request: Request):
    """The page shown to an account that is not linked to an employee record."""
    return render(request, "competency/not_linked.html", {})


def person_context(session: Session, actor: Actor, employee: Employee) -> dict[str, Any]:
    """The person page: their gap profile and what `actor` may do there."""
    profile = service.person_gap_profile(session, employee=employee)
    steps = service.allowed_steps(session, employee=employee, actor=actor)
    return {
        "profile": profile,
        "steps": steps,
        "competency_options": [
            (r.competency.code, localized(r.competency, "name")) for r in profile.rows
        ],
        "source_options": [
            (s.value, _(service.RATING_SOURCE_LABELS[s])) for s in steps.rating_sources()
        ],
        "is_self": steps.is_self,
        "campaigns": service.open_campaigns_for(session, employee_id=employee.id),
        "errors": {},
        "values": {},
    }


def person_page(request: Request, session: Session, actor: Actor, employee: Employee, fmt: str):
    """The person page, or its table as a download."""
    context = person_context(session, actor, employee)
    exported = export_or_none(
        lambda: person_table(context["profile"]), fmt, f"competencies-{employee.number}"
    )
    if exported is not None:
        return exported
    context["export_query"] = query_without(request, "format")
    return render(request, "competency/person.html", context)


@router.get("/me", dependencies=[require(Permission.rate_own_competencies)])
def my_competencies(
    request: Request, session: SessionDep, principal: CurrentPrincipal, format: str = ""
):
    employee = service.own_employee(session, principal)
    if employee is None:
        return not_linked(request)
    return person_page(request, session, principal, employee, format)


@dataclass(frozen=True, slots=True)
class LevelChoice:
    """One level a competency can be rated at, as the self-assessment form shows it."""

    level: int
    value: str  # the level as the form sends it back, to tell which choice is checked
    name: str
    text: str  # the competency's descriptor of this level ("" without one)


def _level_choices(framework: service.FrameworkSnapshot) -> dict[int, list[LevelChoice]]:
    # Resolved here rather than in the template: 13 competencies × 5 levels of lookups were
    # most of the page's rendering time.
    names = [(lv.level, localized(lv, "name")) for lv in framework.scale]
    choices = {}
    for c in framework.competencies:
        descriptors = framework.descriptors.get(c.id) or {}
        choices[c.id] = [
            LevelChoice(
                level,
                str(level),
                name,
                localized(descriptors[level], "text") if descriptors.get(level) else "",
            )
            for level, name in names
        ]
    return choices


def _assessment_context(session: Session, employee: Employee) -> dict[str, Any]:
    # The form starts from the person's own pending answers (not from training results), else
    # from their current validated levels: a campaign asks them all again, and most stay put.
    pending = {
        cid: e
        for cid, e in service.pending_self_entries(session, employee_id=employee.id).items()
        if e.source == service.RatingSource.self
    }
    current = service.current_levels(session, employee_id=employee.id)
    profile = service.person_gap_profile(session, employee=employee)
    framework = service.framework_snapshot(session)
    values = {}
    for c in framework.competencies:
        entry = pending.get(c.id)
        validated = current.get(c.id)
        values[c.code] = {
            "level": entry.level if entry else (validated.level if validated else ""),
            "note": entry.note if entry else "",
            "evidence_url": entry.evidence_url if entry else "",
        }
    return {
        "employee": employee,
        "competencies": framework.competencies,
        "choices": _level_choices(framework),
        "current": current,
        "required": {r.competency.id: r for r in profile.rows},
        "values": values,
        "errors": {},
    }


@router.get("/me/assessment", dependencies=[require(Permission.rate_own_competencies)])
def self_assessment_form(request: Request, session: SessionDep, principal: CurrentPrincipal):
    employee = service.own_employee(session, principal)
    if employee is None:
        return not_linked(request)
    return render(
        request, "competency/self_assessment.html", _assessment_context(session, employee)
    )


def _self_assessed(written: list) -> str:
    if not written:
        return _("Nothing changed since your last self-assessment.")
    return _("Your self-assessment was saved: %(count)s rating(s) sent for validation.") % {
        "count": len(written)
    }


def _submit(session: Session, actor: Actor, employee: Employee, answers: SelfAssessmentIn):
    ratings = {code: service.SelfRating(**a.model_dump()) for code, a in answers.ratings.items()}
    return service.submit_self_assessment(session, employee=employee, ratings=ratings, actor=actor)


@router.post("/me/assessment", dependencies=[require(Permission.rate_own_competencies)])
async def submit_self_assessment(
    request: Request, session: SessionDep, principal: CurrentPrincipal
):
    employee = service.linked_employee(session, principal)
    codes = list(service.framework_snapshot(session).by_code)
    answers = SelfAssessmentForm.from_form(await request.form(), codes)
    return run_action(
        request,
        session,
        lambda: _submit(session, principal, employee, answers),
        message=_self_assessed,
        level=lambda written: "success" if written else "info",
        to="/competencies/me",
        on_error=show_form(
            request,
            "competency/self_assessment.html",
            lambda: _assessment_context(session, employee),
            values=answers.form_values(),
            block="form",
        ),
    )


@router.get("/people/{employee_id}", dependencies=[require(Permission.rate_own_competencies)])
def person_profile(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee_id: int,
    format: str = "",
):
    employee = service.viewable_employee(session, actor=principal, employee_id=employee_id)
    return person_page(request, session, principal, employee, format)


@router.get(
    "/people/{employee_id}/history/{code}",
    dependencies=[require(Permission.rate_own_competencies)],
)
def rating_history(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee_id: int, code: str
):
    employee = service.viewable_employee(session, actor=principal, employee_id=employee_id)
    competency = service.competency_or_404(session, code)
    entries = service.rating_log(session, employee_id=employee.id, competency_id=competency.id)
    return render(
        request,
        "competency/history.html",
        {
            "employee": employee,
            "competency": competency,
            "entries": entries,
            "authors": service.user_names(session, (e.recorded_by_id for e in entries)),
            "scale": {lv.level: lv for lv in service.scale(session)},
            "is_self": principal.user.employee_id == employee.id,
        },
    )


# --- JSON -----------------------------------------------------------------------------------


def profile_out(p: service.PersonGapProfile) -> PersonProfileOut:
    return PersonProfileOut(
        employee_id=p.employee.id,
        number=p.employee.number,
        name=p.employee.full_name,
        unit=p.unit.name if p.unit else None,
        position=p.position.title if p.position else None,
        profile=p.profile.key if p.profile else None,
        profile_version=p.version.version if p.version else None,
        required_n=p.required_n,
        met_n=p.met_n,
        coverage=p.coverage,
        mean_gap=p.mean_gap,
        critical_n=p.critical_n,
        competencies=[
            RequirementRowOut(
                competency=r.competency.code,
                required=r.required,
                importance=r.importance,
                current=r.current,
                source=r.source,
                gap=r.gap,
                critical=r.critical,
                met=r.met,
                awaiting_validation=r.pending.level if r.pending else None,
            )
            for r in p.rows
        ],
    )


def entries_out(session: Session, entries) -> list[EntryOut]:
    codes = {c.id: c.code for c in service.list_competencies(session)}
    return [
        EntryOut(
            id=e.id,
            competency=codes.get(e.competency_id, ""),
            level=e.level,
            source=e.source,
            validated=e.validated,
            review_of_id=e.review_of_id,
            recorded_at=e.recorded_at.isoformat(),
            recorded_by_id=e.recorded_by_id,
            note=e.note,
            evidence_url=e.evidence_url,
        )
        for e in entries
    ]


@api_router.get(
    "/me",
    response_model=PersonProfileOut | None,
    dependencies=[require(Permission.rate_own_competencies)],
)
def my_competencies_json(session: SessionDep, principal: CurrentPrincipal):
    """My requirements, current levels, pending self-ratings and gaps (null: no employee record)."""
    employee = service.own_employee(session, principal)
    if employee is None:
        return None
    return profile_out(service.person_gap_profile(session, employee=employee))


@api_router.post(
    "/me/assessment",
    response_model=list[EntryOut],
    status_code=201,
    dependencies=[require(Permission.rate_own_competencies)],
)
def self_assessment_json(body: SelfAssessmentIn, session: SessionDep, principal: CurrentPrincipal):
    """Record my self-assessment; returns the entries written (awaiting validation)."""
    employee = service.linked_employee(session, principal)
    written = _submit(session, principal, employee, body)
    session.commit()
    return entries_out(session, written)


@api_router.get(
    "/people/{employee_id}",
    response_model=PersonProfileOut,
    dependencies=[require(Permission.rate_own_competencies)],
)
def person_json(session: SessionDep, principal: CurrentPrincipal, employee_id: int):
    """One person's gap profile (themselves, their supervisor, or HR)."""
    employee = service.viewable_employee(session, actor=principal, employee_id=employee_id)
    return profile_out(service.person_gap_profile(session, employee=employee))


@api_router.get(
    "/people/{employee_id}/ratings",
    response_model=list[EntryOut],
    dependencies=[require(Permission.rate_own_competencies)],
)
def person_log_json(
    session: SessionDep, principal: CurrentPrincipal, employee_id: int, competency: str = ""
):
    """One person's rating log, newest first (optionally for one competency)."""
    employee = service.viewable_employee(session, actor=principal, employee_id=employee_id)
    competency_id = service.competency_or_404(session, competency).id if competency else None
    return entries_out(
        session, service.rating_log(session, employee_id=employee.id, competency_id=competency_id)
    )
