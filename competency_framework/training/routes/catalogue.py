"""The training catalogue for everyone who may browse it: the list (and its export), an
activity's page with its sessions, and sessions in iCalendar files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import Session

from backend import clock
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import _, localized
from backend.pages import export_or_none, query_without
from backend.web import render
from competency_framework import service as competency_service
from competency_framework.training import service
from competency_framework.training.models import TrainingActivity
from competency_framework.training.routes.common import (
    activity_or_404,
    calendar_answer,
    choice_options,
    session_or_404,
)

router = APIRouter(prefix="/training")


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
    competencies = competency_service.list_competencies(session)
    return {
        "activities": activities,
        "targets": service.all_targets(session),
        "competencies": {c.id: c for c in competencies},
        "filters": {"modality": modality, "competency": competency, "audience": audience, "q": q},
        **choice_options(),
        "competency_options": [(c.code, localized(c, "name")) for c in competencies],
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


def activity_context(session: Session, principal: Actor, activity: TrainingActivity) -> dict:
    """Return an activity page's context: sessions and seats, and the principal's approved plan
    item and enrolment for it (the page offers to enrol when there is an item)."""
    sessions = service.list_sessions(session, activity)
    own = service.own_employee(session, principal)
    item = service.approved_item(session, employee=own, activity=activity) if own else None
    return {
        "activity": activity,
        "targets": service.activity_targets(session, activity),
        "competencies": {c.id: c for c in competency_service.list_competencies(session)},
        "sessions": sessions,
        "taken": service.seats_taken(session, [s.id for s in sessions]),
        "approved_item": item,
        "my_enrolment": service.active_enrolment(session, plan_item_id=item.id) if item else None,
        "is_hr": service.is_training_hr(principal),
        "values": {},
        "errors": {},
        "now": clock.now(),
    }


@router.get("/catalogue/{code}", dependencies=[require(Permission.view_training_catalogue)])
def activity_page(request: Request, session: SessionDep, principal: CurrentPrincipal, code: str):
    activity = activity_or_404(session, code)
    if not activity.is_active and not service.is_training_hr(principal):
        raise HTTPException(status_code=404, detail=_("This activity is not in the catalogue."))
    context = activity_context(session, principal, activity)
    return render(request, "training/activity.html", context)


# --- iCalendar --------------------------------------------------------------------------------


@router.get(
    "/sessions/{session_id}.ics", dependencies=[require(Permission.view_training_catalogue)]
)
def session_calendar(request: Request, session: SessionDep, settings: SettingsDep, session_id: int):
    row = session_or_404(session, session_id)
    activity = session.get(TrainingActivity, row.activity_id)
    name = localized(activity, "title")
    return calendar_answer(
        request, settings, [(activity, row)], name=name, filename=f"session-{row.id}.ics"
    )


@router.get(
    "/catalogue/{code}/calendar.ics", dependencies=[require(Permission.view_training_catalogue)]
)
def activity_calendar(request: Request, session: SessionDep, settings: SettingsDep, code: str):
    activity = activity_or_404(session, code)
    rows = service.list_sessions(session, activity, upcoming_only=True)
    return calendar_answer(
        request,
        settings,
        [(activity, r) for r in rows],
        name=localized(activity, "title"),
        filename=f"{activity.code}.ics",
    )
