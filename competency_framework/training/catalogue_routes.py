"""The training catalogue: browsing, activity pages, iCalendar, and HR's maintenance (activities,
sessions, rosters, XLSX import and export)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.db import SessionDep, utcnow
from backend.deps import CurrentPrincipal, FieldError, SettingsDep, form_id, require
from backend.files import content_disposition
from backend.i18n import _, localized
from backend.org.models import Employee
from backend.web import flash, redirect, render
from competency_framework import service as competency_service
from competency_framework.exports import ImportRejected, template_xlsx
from competency_framework.http import export_or_none, query_without
from competency_framework.training import enrolments, ical, service
from competency_framework.training.http import (
    activity_or_404,
    api_error,
    raise_http,
    session_or_404,
)
from competency_framework.training.models import (
    AUDIENCE_LABELS,
    EVIDENCE_LABELS,
    MODALITY_LABELS,
    Audience,
    EvidenceRule,
    ExternalLearner,
    Modality,
    TrainingActivity,
    TrainingSession,
)
from competency_framework.training.service import ActivityInput, TargetInput, TrainingError

router = APIRouter(prefix="/training")
api_router = APIRouter(prefix="/training", tags=["training"])


# --- browsing ---------------------------------------------------------------------------------


def _catalogue_context(
    session: Session, *, modality: str, competency: str, audience: str, q: str, hr: bool
) -> dict[str, Any]:
    activities = service.list_activities(
        session,
        active_only=not hr,
        modality=modality,
        competency_code=competency,
        audience=audience,
        query=q,
    )
    targets = service.all_targets(session)
    competencies = {c.id: c for c in competency_service.list_competencies(session)}
    return {
        "activities": activities,
        "targets": targets,
        "competencies": competencies,
        "filters": {"modality": modality, "competency": competency, "audience": audience, "q": q},
        "modality_options": [(m.value, _(MODALITY_LABELS[m])) for m in Modality],
        "audience_options": [(a.value, _(AUDIENCE_LABELS[a])) for a in Audience],
        "competency_options": [
            (c.code, localized(c, "name")) for c in competency_service.list_competencies(session)
        ],
        "is_hr": hr,
    }


@router.get("/catalogue", dependencies=[require(Permission.view_training_catalogue)])
def catalogue(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    modality: str = "",
    competency: str = "",
    audience: str = "",
    q: str = "",
    format: str = "",
):
    hr = service.is_training_hr(principal)
    exported = export_or_none(
        lambda: service.catalogue_table(session), format, "training-catalogue"
    )
    if exported is not None:
        return exported
    context = _catalogue_context(
        session, modality=modality, competency=competency, audience=audience, q=q, hr=hr
    )
    context["export_query"] = query_without(request, "format")
    return render(request, "training/catalogue.html", context, block="results")


def _activity_context(
    session: Session, principal, activity: TrainingActivity, settings
) -> dict[str, Any]:
    sessions = service.list_sessions(session, activity)
    taken = service.seats_taken(session, [s.id for s in sessions])
    competencies = {c.id: c for c in competency_service.list_competencies(session)}
    mine = None
    my_enrolment = None
    own = principal.user.employee_id
    if own is not None:
        employee = session.get(Employee, own)
        item = enrolments.approved_item(session, employee=employee, activity=activity)
        mine = item
        if item is not None:
            my_enrolment = enrolments.active_enrolment(session, plan_item_id=item.id)
    return {
        "activity": activity,
        "targets": service.activity_targets(session, activity),
        "competencies": competencies,
        "sessions": sessions,
        "taken": taken,
        "approved_item": mine,
        "my_enrolment": my_enrolment,
        "is_hr": service.is_training_hr(principal),
        "values": {},
        "errors": {},
        "now": utcnow(),
    }


@router.get("/catalogue/{code}", dependencies=[require(Permission.view_training_catalogue)])
def activity_page(request: Request, session: SessionDep, principal: CurrentPrincipal, code: str):
    activity = activity_or_404(session, code)
    if not activity.is_active and not service.is_training_hr(principal):
        raise HTTPException(status_code=404, detail=_("This activity is not in the catalogue."))
    return render(
        request,
        "training/activity.html",
        _activity_context(session, principal, activity, request.app.state.settings),
    )


# --- iCalendar --------------------------------------------------------------------------------


def _event(activity: TrainingActivity, row: TrainingSession, host: str) -> ical.CalendarEvent:
    title = localized(activity, "title")
    description = "\n".join(
        part
        for part in (
            localized(activity, "description"),
            _("Provider: %(provider)s", provider=activity.provider) if activity.provider else "",
        )
        if part
    )
    return ical.CalendarEvent(
        uid=f"training-session-{row.id}@{host}",
        start=row.starts_at,
        end=row.ends_at,
        summary=title,
        location=row.place,
        description=description,
        cancelled=row.is_cancelled,
        stamp=row.created_at,
    )


def ics_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": content_disposition(filename)},
    )


@router.get(
    "/sessions/{session_id}.ics", dependencies=[require(Permission.view_training_catalogue)]
)
def session_calendar(request: Request, session: SessionDep, settings: SettingsDep, session_id: int):
    row = session_or_404(session, session_id)
    activity = session.get(TrainingActivity, row.activity_id)
    host = request.url.hostname or "merito"
    body = ical.calendar(
        [_event(activity, row, host)],
        zone=service.org_zone(settings),
        name=localized(activity, "title"),
    )
    return ics_response(body, f"session-{row.id}.ics")


@router.get(
    "/catalogue/{code}/calendar.ics", dependencies=[require(Permission.view_training_catalogue)]
)
def activity_calendar(request: Request, session: SessionDep, settings: SettingsDep, code: str):
    activity = activity_or_404(session, code)
    host = request.url.hostname or "merito"
    rows = service.list_sessions(session, activity, upcoming_only=True)
    body = ical.calendar(
        [_event(activity, r, host) for r in rows],
        zone=service.org_zone(settings),
        name=localized(activity, "title"),
    )
    return ics_response(body, f"{activity.code}.ics")


# --- HR: activities ---------------------------------------------------------------------------


def _activity_form_context(
    session: Session, activity: TrainingActivity | None, values: dict | None = None
) -> dict[str, Any]:
    competencies = competency_service.list_competencies(session)
    if values is None:
        values = {"audience": [Audience.procurement_staff.value], "is_active": True}
        if activity is not None:
            values = {
                name: getattr(activity, name)
                for name in (
                    "code",
                    "title_es",
                    "title_en",
                    "description_es",
                    "description_en",
                    "modality",
                    "provider",
                    "hours",
                    "cost",
                    "capacity",
                    "audience",
                    "evidence",
                    "pass_score",
                    "is_induction",
                    "is_active",
                )
            }
            codes = {c.id: c.code for c in competencies}
            for target in service.activity_targets(session, activity):
                values[f"from_{codes[target.competency_id]}"] = target.from_level
                values[f"to_{codes[target.competency_id]}"] = target.to_level
    return {
        "activity": activity,
        "values": values,
        "errors": {},
        "competencies": competencies,
        "modality_options": [(m.value, _(MODALITY_LABELS[m])) for m in Modality],
        "audience_options": [(a.value, _(AUDIENCE_LABELS[a])) for a in Audience],
        "evidence_options": [(e.value, _(EVIDENCE_LABELS[e])) for e in EvidenceRule],
    }


async def _activity_input(request: Request, session: Session) -> tuple[ActivityInput, dict]:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in form if k != "csrf_token"}
    values["audience"] = [str(a) for a in form.getlist("audience")]
    values["is_induction"] = form.get("is_induction") == "on"
    values["is_active"] = form.get("is_active") == "on"
    targets = []
    for competency in competency_service.list_competencies(session):
        low = str(form.get(f"from_{competency.code}", "")).strip()
        high = str(form.get(f"to_{competency.code}", "")).strip()
        if low or high:
            targets.append(TargetInput(competency.code, low, high))
    data = ActivityInput(
        code=values.get("code", ""),
        title_es=values.get("title_es", ""),
        title_en=values.get("title_en", ""),
        modality=values.get("modality", ""),
        description_es=values.get("description_es", ""),
        description_en=values.get("description_en", ""),
        provider=values.get("provider", ""),
        hours=values.get("hours", ""),
        cost=values.get("cost", ""),
        capacity=values.get("capacity", ""),
        audience=values["audience"],
        evidence=values.get("evidence", "none"),
        pass_score=values.get("pass_score", ""),
        is_induction=values["is_induction"],
        is_active=values["is_active"],
        targets=targets,
    )
    return data, values


@router.get("/manage/activities/new", dependencies=[require(Permission.manage_training_catalogue)])
def new_activity_form(request: Request, session: SessionDep):
    return render(request, "training/activity_form.html", _activity_form_context(session, None))


@router.post("/manage/activities/new", dependencies=[require(Permission.manage_training_catalogue)])
async def create_activity(request: Request, session: SessionDep, principal: CurrentPrincipal):
    data, values = await _activity_input(request, session)
    try:
        activity = service.save_activity(session, data=data, actor=principal)
    except TrainingError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        context = _activity_form_context(session, None, values)
        context["errors"] = err.errors
        return render(
            request, "training/activity_form.html", context, status_code=422, block="form"
        )
    session.commit()
    flash(request, _("The activity was added to the catalogue."))
    session.commit()
    return redirect(request, f"/training/catalogue/{activity.code}")


@router.get(
    "/manage/activities/{code}/edit", dependencies=[require(Permission.manage_training_catalogue)]
)
def edit_activity_form(request: Request, session: SessionDep, code: str):
    activity = activity_or_404(session, code)
    return render(request, "training/activity_form.html", _activity_form_context(session, activity))


@router.post(
    "/manage/activities/{code}/edit", dependencies=[require(Permission.manage_training_catalogue)]
)
async def update_activity(
    request: Request, session: SessionDep, principal: CurrentPrincipal, code: str
):
    activity = activity_or_404(session, code)
    data, values = await _activity_input(request, session)
    try:
        saved = service.save_activity(session, data=data, actor=principal, activity=activity)
    except TrainingError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        context = _activity_form_context(session, activity_or_404(session, code), values)
        context["errors"] = err.errors
        return render(
            request, "training/activity_form.html", context, status_code=422, block="form"
        )
    session.commit()
    flash(request, _("The activity was saved."))
    session.commit()
    return redirect(request, f"/training/catalogue/{saved.code}")


# --- HR: sessions -----------------------------------------------------------------------------


@router.post(
    "/manage/activities/{code}/sessions",
    dependencies=[require(Permission.manage_training_catalogue)],
)
def schedule_session(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    code: str,
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    capacity: Annotated[str, Form()] = "",
):
    activity = activity_or_404(session, code)
    zone = service.org_zone(settings)
    values = {"starts_at": starts_at, "ends_at": ends_at, "place": place, "capacity": capacity}
    errors: dict[str, str] = {}
    start = end = None
    for name, text in (("starts_at", starts_at), ("ends_at", ends_at)):
        try:
            parsed = service.parse_local_datetime(text, zone=zone, field=name)
        except TrainingError as err:
            errors[name] = str(err)
            continue
        if name == "starts_at":
            start = parsed
        else:
            end = parsed
    if not errors:
        try:
            service.add_session(
                session,
                activity=activity,
                starts_at=start,
                ends_at=end,
                place=place,
                capacity=capacity if capacity.strip() else activity.capacity,
                actor=principal,
            )
        except TrainingError as err:
            if err.status_code != 422:
                raise_http(err)
            errors = err.errors
    if errors:
        session.rollback()
        context = _activity_context(session, principal, activity_or_404(session, code), settings)
        context["values"], context["errors"] = values, errors
        return render(request, "training/activity.html", context, status_code=422, block="schedule")
    session.commit()
    flash(request, _("The session was scheduled."))
    session.commit()
    return redirect(request, f"/training/catalogue/{activity.code}")


def _roster_context(session: Session, row: TrainingSession) -> dict[str, Any]:
    activity = session.get(TrainingActivity, row.activity_id)
    people = enrolments.roster(session, row)
    taken = service.seats_taken(session, [row.id])[row.id]
    return {
        "row": row,
        "activity": activity,
        "roster": [(e, enrolments.learner_name(session, e)) for e in people],
        "taken": taken,
        "learners": service.list_learners(session)
        if Audience.suppliers.value in (activity.audience or [])
        else [],
        "values": {},
        "errors": {},
        "now": utcnow(),
    }


@router.get(
    "/manage/sessions/{session_id}", dependencies=[require(Permission.manage_training_catalogue)]
)
def session_roster(request: Request, session: SessionDep, session_id: int):
    row = session_or_404(session, session_id)
    return render(request, "training/session.html", _roster_context(session, row))


@router.post(
    "/manage/sessions/{session_id}/enrol",
    dependencies=[require(Permission.manage_training_catalogue)],
)
def enrol_someone(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: int,
    employee_number: Annotated[str, Form()] = "",
    learner_id: Annotated[str, Form()] = "",
):
    row = session_or_404(session, session_id)
    values = {"employee_number": employee_number, "learner_id": learner_id}
    try:
        if employee_number.strip():
            employee = service.employees_by_number(session, employee_number)
            if employee is None:
                raise TrainingError(
                    _("No employee has the number %(number)s.", number=employee_number),
                    field="employee_number",
                )
            enrolment = enrolments.enrol_employee(
                session, training_session_id=row.id, employee=employee, actor=principal
            )
        elif learner_id.strip():
            try:
                chosen = form_id(learner_id, field="learner_id")
            except FieldError as err:
                raise TrainingError(err.message, field=err.field) from None
            learner = session.get(ExternalLearner, chosen)
            if learner is None:
                raise TrainingError(_("Choose a supplier learner."), field="learner_id")
            enrolment = enrolments.enrol_learner(
                session, training_session_id=row.id, learner=learner, actor=principal
            )
        else:
            raise TrainingError(
                _("Enter an employee number or choose a supplier learner."),
                field="employee_number",
            )
    except TrainingError as err:
        session.rollback()
        if err.status_code in (403, 404):
            raise_http(err)
        context = _roster_context(session, session_or_404(session, session_id))
        context["values"] = values
        context["errors"] = err.errors or {"employee_number": str(err)}
        return render(request, "training/session.html", context, status_code=422, block="enrol")
    session.commit()
    if enrolment.status == "waitlisted":
        flash(request, _("The session is full: the person is on the waiting list."), "warning")
        session.commit()
    else:
        flash(request, _("Enrolled."))
        session.commit()
    return redirect(request, f"/training/manage/sessions/{row.id}")


@router.post(
    "/manage/sessions/{session_id}/cancel",
    dependencies=[require(Permission.manage_training_catalogue)],
)
def cancel_session(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: int,
    reason: Annotated[str, Form()] = "",
):
    row = session_or_404(session, session_id)
    try:
        count = enrolments.cancel_session(
            session, training_session=row, actor=principal, reason=reason
        )
    except TrainingError as err:
        session.rollback()
        raise_http(err)
    session.commit()
    flash(request, _("The session was cancelled; %(n)s enrolment(s) cancelled.", n=count))
    session.commit()
    activity = session.get(TrainingActivity, row.activity_id)
    return redirect(request, f"/training/catalogue/{activity.code}")


# --- HR: import -------------------------------------------------------------------------------


@router.get("/manage/import", dependencies=[require(Permission.manage_training_catalogue)])
def import_form(request: Request, template: int = 0):
    if template:
        return Response(
            template_xlsx([*service.IMPORT_COLUMNS, *service.IMPORT_OPTIONAL], "catalogue"),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="catalogue-template.xlsx"'},
        )
    return render(request, "training/import.html", {"problems": [], "error": ""})


@router.post("/manage/import", dependencies=[require(Permission.manage_training_catalogue)])
async def import_catalogue(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    content = await file.read() if file is not None else b""
    try:
        if not content:
            raise TrainingError(_("Choose a file to import."), field="file")
        created, updated = service.import_catalogue(session, content=content, actor=principal)
    except ImportRejected as err:
        session.rollback()
        return render(
            request,
            "training/import.html",
            {"problems": err.problems, "error": str(err)},
            status_code=422,
            block="form",
        )
    except TrainingError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        return render(
            request,
            "training/import.html",
            {"problems": [], "error": str(err)},
            status_code=422,
            block="form",
        )
    session.commit()
    flash(
        request,
        _(
            "Catalogue imported: %(created)s new, %(updated)s updated.",
            created=created,
            updated=updated,
        ),
    )
    session.commit()
    return redirect(request, "/training/catalogue")


# --- JSON API ---------------------------------------------------------------------------------


class TargetOut(BaseModel):
    competency: str
    from_level: int
    to_level: int


class SessionOut(BaseModel):
    id: int
    starts_at: str
    ends_at: str
    place: str
    capacity: int
    enrolled: int
    waiting: int
    cancelled: bool


class ActivityOut(BaseModel):
    code: str
    title: dict[str, str]
    modality: str
    provider: str
    hours: float
    cost: int
    capacity: int
    audience: list[str]
    evidence: str
    pass_score: int | None
    induction: bool
    active: bool
    targets: list[TargetOut]
    sessions: list[SessionOut] | None = None


def _activity_out(session: Session, activity: TrainingActivity, *, with_sessions: bool):
    codes = {c.id: c.code for c in competency_service.list_competencies(session)}
    sessions = None
    if with_sessions:
        rows = service.list_sessions(session, activity)
        taken = service.seats_taken(session, [r.id for r in rows])
        sessions = [
            SessionOut(
                id=r.id,
                starts_at=r.starts_at.isoformat(),
                ends_at=r.ends_at.isoformat(),
                place=r.place,
                capacity=r.capacity,
                enrolled=taken[r.id][0],
                waiting=taken[r.id][1],
                cancelled=r.is_cancelled,
            )
            for r in rows
        ]
    return ActivityOut(
        code=activity.code,
        title={"es": activity.title_es, "en": activity.title_en},
        modality=activity.modality,
        provider=activity.provider,
        hours=activity.hours,
        cost=activity.cost,
        capacity=activity.capacity,
        audience=list(activity.audience or []),
        evidence=activity.evidence,
        pass_score=activity.pass_score,
        induction=activity.is_induction,
        active=activity.is_active,
        targets=[
            TargetOut(
                competency=codes[t.competency_id], from_level=t.from_level, to_level=t.to_level
            )
            for t in service.activity_targets(session, activity)
        ],
        sessions=sessions,
    )


@api_router.get(
    "/activities",
    response_model=list[ActivityOut],
    dependencies=[require(Permission.view_training_catalogue)],
)
def activities_json(session: SessionDep, modality: str = "", competency: str = ""):
    """The active catalogue (filters: modality, competency code)."""
    return [
        _activity_out(session, a, with_sessions=False)
        for a in service.list_activities(session, modality=modality, competency_code=competency)
    ]


@api_router.get(
    "/activities/{code}",
    response_model=ActivityOut,
    dependencies=[require(Permission.view_training_catalogue)],
)
def activity_json(session: SessionDep, code: str):
    """One activity with its target levels and sessions (seats taken, waiting list)."""
    return _activity_out(session, activity_or_404(session, code), with_sessions=True)


@api_router.post(
    "/activities",
    status_code=201,
    response_model=ActivityOut,
    dependencies=[require(Permission.manage_training_catalogue)],
)
def create_activity_json(session: SessionDep, principal: CurrentPrincipal, body: dict[str, Any]):
    """Add an activity: code, title {es, en}, modality, provider, hours, cost, capacity,
    audience [...], evidence, pass_score, targets {competency: [from, to]}."""
    title = body.get("title") or {}
    data = ActivityInput(
        code=str(body.get("code", "")),
        title_es=str(title.get("es", "")),
        title_en=str(title.get("en", "")),
        modality=str(body.get("modality", "")),
        provider=str(body.get("provider", "")),
        hours=body.get("hours", 0),
        cost=body.get("cost", 0),
        capacity=body.get("capacity", 0),
        audience=list(body.get("audience") or []),
        evidence=str(body.get("evidence", "none")),
        pass_score=body.get("pass_score"),
        targets=[
            TargetInput(code, *(list(levels) + ["", ""])[:2])
            for code, levels in (body.get("targets") or {}).items()
        ],
    )
    try:
        activity = service.save_activity(session, data=data, actor=principal)
    except TrainingError as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return _activity_out(session, activity, with_sessions=True)
