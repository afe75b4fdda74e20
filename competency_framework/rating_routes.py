"""My competencies, self-assessment, people's gap profiles, validation, rating imports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, id_or_none, require
from backend.i18n import _, get_locale, localized
from backend.org.models import Employee
from backend.web import flash, redirect, render
from competency_framework import campaigns as campaign_service
from competency_framework import service
from competency_framework.exports import ImportRejected, Table, local_time, template_xlsx
from competency_framework.http import (
    api_error,
    employee_or_404,
    export_or_none,
    query_without,
    raise_http,
)
from competency_framework.models import RATING_SOURCE_LABELS, RatingSource
from competency_framework.service import CompetencyError, SelfRating, ValidationDecision

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


# --- shared pieces ----------------------------------------------------------------------------


def _own_employee(session: Session, principal) -> Employee | None:
    if principal.user.employee_id is None:
        return None
    return session.get(Employee, principal.user.employee_id)


def _not_linked(request: Request):
    """The page shown to an account that is not linked to an employee record."""
    return render(request, "competency/not_linked.html", {})


def _viewable(session: Session, principal, employee_id: int) -> Employee:
    """Return the employee if `principal` may see their competencies; 404 otherwise.

    Not-found rather than forbidden, so that the answer does not reveal who exists.
    """
    employee = session.get(Employee, employee_id)
    if employee is None or not service.can_view_person(session, actor=principal, employee=employee):
        raise HTTPException(status_code=404, detail=_("This employee does not exist."))
    return employee


def _profile_table(profile: service.PersonGapProfile) -> Table:
    return Table(
        title=profile.employee.full_name,
        columns=[
            _("Competency"),
            _("Required level"),
            _("Importance"),
            _("Current level"),
            _("Source"),
            _("Gap"),
            _("Critical"),
            _("Awaiting validation"),
        ],
        rows=[
            [
                localized(r.competency, "name"),
                r.required,
                _(r.importance.capitalize()),
                r.current if r.current is not None else "",
                _(RATING_SOURCE_LABELS[r.source]) if r.source else "",
                r.gap,
                _("Yes") if r.critical else _("No"),
                r.pending.level if r.pending else "",
            ]
            for r in profile.rows
        ],
    )


def _person_context(session: Session, principal, employee: Employee) -> dict[str, Any]:
    profile = service.person_gap_profile(session, employee=employee)
    hr = service.is_hr(principal)
    sources = [s for s in RatingSource if s != RatingSource.self and (hr or s == "supervisor")]
    return {
        "profile": profile,
        "competency_options": [
            (r.competency.code, localized(r.competency, "name")) for r in profile.rows
        ],
        "source_options": [(s.value, _(RATING_SOURCE_LABELS[s])) for s in sources],
        "is_self": principal.user.employee_id == employee.id,
        "can_validate": service.can_validate(session, actor=principal, employee=employee),
        "is_hr": service.is_hr(principal),
        "campaigns": campaign_service.open_campaigns_for(session, employee_id=employee.id),
        "errors": {},
        "values": {},
    }


# --- my competencies ------------------------------------------------------------------------------


@router.get("/me", dependencies=[require(Permission.rate_own_competencies)])
def my_competencies(
    request: Request, session: SessionDep, principal: CurrentPrincipal, format: str = ""
):
    employee = _own_employee(session, principal)
    if employee is None:
        return _not_linked(request)
    context = _person_context(session, principal, employee)
    exported = export_or_none(
        lambda: _profile_table(context["profile"]), format, f"competencies-{employee.number}"
    )
    if exported is not None:
        return exported
    context["export_query"] = query_without(request, "format")
    return render(request, "competency/person.html", context)


def _assessment_context(session: Session, employee: Employee) -> dict[str, Any]:
    # The form starts from the person's own pending answers (not from training results), else
    # from their current validated levels: a campaign asks them all again, and most stay put.
    pending = {
        cid: e
        for cid, e in service.pending_self_entries(session, employee_id=employee.id).items()
        if e.source == RatingSource.self
    }
    current = service.current_levels(session, employee_id=employee.id)
    profile = service.person_gap_profile(session, employee=employee)
    values = {}
    for c in service.list_competencies(session):
        entry = pending.get(c.id)
        validated = current.get(c.id)
        values[c.code] = {
            "level": entry.level if entry else (validated.level if validated else ""),
            "note": entry.note if entry else "",
            "evidence_url": entry.evidence_url if entry else "",
        }
    return {
        "employee": employee,
        "competencies": service.list_competencies(session),
        "descriptors": service.all_descriptors(session),
        "scale": service.scale(session),
        "current": current,
        "required": {r.competency.id: r for r in profile.rows},
        "values": values,
        "errors": {},
    }


@router.get("/me/assessment", dependencies=[require(Permission.rate_own_competencies)])
def self_assessment_form(request: Request, session: SessionDep, principal: CurrentPrincipal):
    employee = _own_employee(session, principal)
    if employee is None:
        return _not_linked(request)
    return render(
        request, "competency/self_assessment.html", _assessment_context(session, employee)
    )


@router.post("/me/assessment", dependencies=[require(Permission.rate_own_competencies)])
async def submit_self_assessment(
    request: Request, session: SessionDep, principal: CurrentPrincipal
):
    employee = _own_employee(session, principal)
    if employee is None:
        raise HTTPException(
            status_code=409, detail=_("Your account is not linked to an employee record.")
        )
    form = await request.form()
    codes = [c.code for c in service.list_competencies(session)]
    answers = {
        code: SelfRating(
            level=str(form.get(f"level_{code}", "")),
            note=str(form.get(f"note_{code}", "")),
            evidence_url=str(form.get(f"evidence_{code}", "")),
        )
        for code in codes
    }
    try:
        written = service.submit_self_assessment(
            session, employee=employee, ratings=answers, actor=principal
        )
    except CompetencyError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        context = _assessment_context(session, employee)
        context["values"] = {
            code: {"level": a.level, "note": a.note, "evidence_url": a.evidence_url}
            for code, a in answers.items()
        }
        context["errors"] = err.errors
        return render(
            request, "competency/self_assessment.html", context, status_code=422, block="form"
        )
    session.commit()
    if written:
        flash(
            request,
            _("Your self-assessment was saved: %(count)s rating(s) sent for validation.")
            % {"count": len(written)},
        )
    else:
        flash(request, _("Nothing changed since your last self-assessment."), "info")
    session.commit()
    return redirect(request, "/competencies/me")


# --- people -----------------------------------------------------------------------------------


@router.get("/people/{employee_id}", dependencies=[require(Permission.rate_own_competencies)])
def person_profile(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee_id: int,
    format: str = "",
):
    employee = _viewable(session, principal, employee_id)
    context = _person_context(session, principal, employee)
    exported = export_or_none(
        lambda: _profile_table(context["profile"]), format, f"competencies-{employee.number}"
    )
    if exported is not None:
        return exported
    context["export_query"] = query_without(request, "format")
    return render(request, "competency/person.html", context)


@router.get(
    "/people/{employee_id}/history/{code}",
    dependencies=[require(Permission.rate_own_competencies)],
)
def rating_history(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee_id: int, code: str
):
    employee = _viewable(session, principal, employee_id)
    competency = service.get_competency(session, code)
    if competency is None:
        raise HTTPException(status_code=404, detail=_("This competency does not exist."))
    entries = service.rating_log(session, employee_id=employee.id, competency_id=competency.id)
    authors = _authors(session, entries)
    return render(
        request,
        "competency/history.html",
        {
            "employee": employee,
            "competency": competency,
            "entries": entries,
            "authors": authors,
            "scale": {lv.level: lv for lv in service.scale(session)},
            "is_self": principal.user.employee_id == employee.id,
        },
    )


def _authors(session: Session, entries) -> dict[int, str]:
    from backend.auth.models import User

    ids = {e.recorded_by_id for e in entries if e.recorded_by_id}
    return {
        uid: (session.get(User, uid).full_name if session.get(User, uid) else "") for uid in ids
    }


@router.post("/people/{employee_id}/ratings", dependencies=[require(Permission.validate_ratings)])
def record_rating(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee_id: int,
    competency: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    evidence_url: Annotated[str, Form()] = "",
):
    employee = employee_or_404(session, employee_id)
    found = service.get_competency(session, competency)
    try:
        if found is None:
            raise CompetencyError(_("Choose a competency."), field="competency")
        service.record_rating(
            session,
            employee=employee,
            competency=found,
            level=level,
            source=source,
            actor=principal,
            note=note,
            evidence_url=evidence_url,
        )
    except CompetencyError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        if not service.can_view_person(session, actor=principal, employee=employee):
            raise HTTPException(status_code=404, detail=_("This employee does not exist."))
        context = _person_context(session, principal, employee)
        context["errors"] = err.errors
        context["values"] = {
            "competency": competency,
            "level": level,
            "source": source,
            "note": note,
            "evidence_url": evidence_url,
        }
        context["export_query"] = ""
        return render(request, "competency/person.html", context, status_code=422, block="rate")
    session.commit()
    flash(request, _("The rating was recorded."))
    session.commit()
    return redirect(request, f"/competencies/people/{employee.id}")


# --- validation -----------------------------------------------------------------------------------


def validation_queue_table(items: list[service.ValidationQueueItem], zone: str) -> Table:
    """Return the validation queue as on its page (with employee numbers)."""
    return Table(
        title=_("Self-assessments awaiting validation"),
        columns=[
            _("Employee number"),
            _("Name"),
            _("Ratings awaiting validation"),
            _("Waiting since"),
        ],
        rows=[
            [
                item.employee.number,
                item.employee.full_name,
                item.pending,
                local_time(item.oldest, zone),
            ]
            for item in items
        ],
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
            "is_hr": service.is_hr(principal),
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
    employee = session.get(Employee, employee_id)
    if employee is None or not service.can_validate(session, actor=principal, employee=employee):
        # Not found rather than forbidden: the form exists only for one's own reports (or HR).
        raise HTTPException(status_code=404, detail=_("Nothing to validate here."))
    return render(request, "competency/validate.html", _validation_context(session, employee))


@router.post("/validation/{employee_id}", dependencies=[require(Permission.validate_ratings)])
async def validate(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee_id: int
):
    employee = employee_or_404(session, employee_id)
    form = await request.form()
    decisions = []
    values: dict[str, dict[str, str]] = {}
    for key in form:
        if not key.startswith("decision_"):
            continue
        entry_id = key.removeprefix("decision_")
        if id_or_none(entry_id) is None:
            continue
        choice = str(form.get(key, "agree"))
        self_level = str(form.get(f"self_{entry_id}", ""))
        level = self_level if choice == "agree" else str(form.get(f"level_{entry_id}", ""))
        reason = str(form.get(f"reason_{entry_id}", ""))
        values[entry_id] = {"choice": choice, "level": level, "reason": reason}
        decisions.append(ValidationDecision(int(entry_id), level, reason))
    try:
        written = service.validate_ratings(
            session, employee=employee, decisions=decisions, actor=principal
        )
    except CompetencyError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        context = _validation_context(session, employee)
        context["values"] = values
        # Field names use competency codes; the form keys entries by id.
        by_code = {c.code: e.id for c, e, _cur in context["rows"]}
        context["errors"] = {
            f"{kind}_{by_code.get(code, code)}": message
            for name, message in err.errors.items()
            for kind, _sep, code in [name.partition("_")]
        }
        return render(request, "competency/validate.html", context, status_code=422, block="form")
    session.commit()
    flash(
        request,
        _("%(count)s rating(s) validated for %(name)s.")
        % {"count": len(written), "name": employee.full_name},
    )
    session.commit()
    return redirect(request, "/competencies/validation")


# --- rating imports (HR) --------------------------------------------------------------------------


@router.get("/ratings/import", dependencies=[require(Permission.manage_campaigns)])
def rating_import_form(request: Request, template: int = 0):
    if template:
        return Response(
            template_xlsx(
                [*service.RATING_IMPORT_COLUMNS, *service.RATING_IMPORT_OPTIONAL], "ratings"
            ),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="ratings-template.xlsx"'},
        )
    return render(request, "competency/rating_import.html", {"problems": [], "error": ""})


@router.post("/ratings/import", dependencies=[require(Permission.manage_campaigns)])
async def rating_import(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    content = await file.read() if file is not None else b""
    try:
        if not content:
            raise CompetencyError(_("Choose a file to import."), field="file")
        count = service.import_ratings(session, content=content, actor=principal)
    except ImportRejected as err:
        session.rollback()
        return render(
            request,
            "competency/rating_import.html",
            {"problems": err.problems, "error": str(err)},
            status_code=422,
            block="form",
        )
    except CompetencyError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        return render(
            request,
            "competency/rating_import.html",
            {"problems": [], "error": str(err)},
            status_code=422,
            block="form",
        )
    session.commit()
    flash(request, _("%(count)s rating(s) imported.") % {"count": count})
    session.commit()
    return redirect(request, "/competencies/ratings/import")


# --- JSON API ---------------------------------------------------------------------------------


class RequirementRowOut(BaseModel):
    competency: str
    required: int
    importance: str
    current: int | None
    source: str
    gap: int
    critical: bool
    met: bool
    awaiting_validation: int | None


class PersonProfileOut(BaseModel):
    employee_id: int
    number: str
    name: str
    unit: str | None
    position: str | None
    profile: str | None
    profile_version: int | None
    required_n: int
    met_n: int
    coverage: float | None
    mean_gap: float | None
    critical_n: int
    competencies: list[RequirementRowOut]


def _profile_out(p: service.PersonGapProfile) -> PersonProfileOut:
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


@api_router.get(
    "/me",
    response_model=PersonProfileOut | None,
    dependencies=[require(Permission.rate_own_competencies)],
)
def my_competencies_json(session: SessionDep, principal: CurrentPrincipal):
    """My requirements, current levels, pending self-ratings and gaps (null: no employee record)."""
    employee = _own_employee(session, principal)
    if employee is None:
        return None
    return _profile_out(service.person_gap_profile(session, employee=employee))


class SelfRatingIn(BaseModel):
    level: int | str | None = None
    note: str = ""
    evidence_url: str = ""


class SelfAssessmentIn(BaseModel):
    ratings: dict[str, SelfRatingIn] = Field(default_factory=dict)


class EntryOut(BaseModel):
    id: int
    competency: str
    level: int
    source: str
    validated: bool
    review_of_id: int | None
    recorded_at: str
    recorded_by_id: int | None
    note: str
    evidence_url: str


def _entries_out(session: Session, entries) -> list[EntryOut]:
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


@api_router.post(
    "/me/assessment",
    response_model=list[EntryOut],
    status_code=201,
    dependencies=[require(Permission.rate_own_competencies)],
)
def self_assessment_json(body: SelfAssessmentIn, session: SessionDep, principal: CurrentPrincipal):
    """Record my self-assessment; returns the entries written (awaiting validation)."""
    employee = _own_employee(session, principal)
    if employee is None:
        raise HTTPException(
            status_code=409, detail=_("Your account is not linked to an employee record.")
        )
    try:
        written = service.submit_self_assessment(
            session,
            employee=employee,
            ratings={
                code: SelfRating(r.level, r.note, r.evidence_url)
                for code, r in body.ratings.items()
            },
            actor=principal,
        )
    except CompetencyError as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return _entries_out(session, written)


@api_router.get(
    "/people/{employee_id}",
    response_model=PersonProfileOut,
    dependencies=[require(Permission.rate_own_competencies)],
)
def person_json(session: SessionDep, principal: CurrentPrincipal, employee_id: int):
    """One person's gap profile (themselves, their supervisor, or HR)."""
    employee = _viewable(session, principal, employee_id)
    return _profile_out(service.person_gap_profile(session, employee=employee))


@api_router.get(
    "/people/{employee_id}/ratings",
    response_model=list[EntryOut],
    dependencies=[require(Permission.rate_own_competencies)],
)
def person_log_json(
    session: SessionDep, principal: CurrentPrincipal, employee_id: int, competency: str = ""
):
    """One person's rating log, newest first (optionally for one competency)."""
    employee = _viewable(session, principal, employee_id)
    competency_id = None
    if competency:
        found = service.get_competency(session, competency)
        if found is None:
            raise HTTPException(status_code=404, detail=_("This competency does not exist."))
        competency_id = found.id
    return _entries_out(
        session, service.rating_log(session, employee_id=employee.id, competency_id=competency_id)
    )


class RatingIn(BaseModel):
    competency: str
    level: int | str
    source: str
    note: str = ""
    evidence_url: str = ""


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
    employee = employee_or_404(session, employee_id)
    competency = service.get_competency(session, body.competency)
    if competency is None:
        return api_error(CompetencyError(_("Unknown competency: %(code)s.", code=body.competency)))
    try:
        entry = service.record_rating(
            session,
            employee=employee,
            competency=competency,
            level=body.level,
            source=body.source,
            actor=principal,
            note=body.note,
            evidence_url=body.evidence_url,
        )
    except CompetencyError as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return _entries_out(session, [entry])[0]


class QueueItemOut(BaseModel):
    employee_id: int
    name: str
    pending: int
    oldest: str


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


class DecisionIn(BaseModel):
    entry_id: int
    level: int | str
    reason: str = ""


class ValidationIn(BaseModel):
    decisions: list[DecisionIn]


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
    employee = employee_or_404(session, employee_id)
    try:
        written = service.validate_ratings(
            session,
            employee=employee,
            decisions=[ValidationDecision(d.entry_id, d.level, d.reason) for d in body.decisions],
            actor=principal,
        )
    except CompetencyError as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return _entries_out(session, written)


@api_router.post(
    "/ratings/import", status_code=201, dependencies=[require(Permission.manage_campaigns)]
)
async def rating_import_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
):
    """Import validated ratings from an XLSX sheet, all or nothing."""
    content = await file.read()
    try:
        count = service.import_ratings(session, content=content, actor=principal)
    except (ImportRejected, CompetencyError) as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return {"imported": count}


__all__ = ["router", "api_router", "get_locale"]
