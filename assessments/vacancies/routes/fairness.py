"""Fairness in competitions: reasonable adjustments (the candidate asks, HR decides) and the
optional equal-opportunity questionnaire, with HR's statistics page.

Nothing here is reachable with the panel's permission (`score_candidates`): candidates reach
only their own application (404 otherwise) and HR needs `manage_vacancies`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import _
from backend.web import kept_form, render, templates

from .. import service
from ..models import (
    ADJUSTMENT_DECISION_LABELS,
    ADJUSTMENT_KIND_LABELS,
    AdjustmentKind,
    Application,
    Vacancy,
)
from ..schemas import AdjustmentInput, DecisionInput
from .candidate import OwnApplication
from .common import OnCompetition, act_on_page

router = APIRouter()
APPLY = [require(Permission.apply_to_vacancies)]
MANAGE = [require(Permission.manage_vacancies)]

templates().globals.update(
    ADJUSTMENT_KIND_LABELS=ADJUSTMENT_KIND_LABELS,
    ADJUSTMENT_DECISION_LABELS=ADJUSTMENT_DECISION_LABELS,
    MONITORING_QUESTIONS=service.QUESTIONS,
    MONITORING_STAGE_NAMES=service.STAGE_NAMES,
)


# --- the candidate ------------------------------------------------------------------------------


def _adjustment_context(request: Request, session: Session, application: Application) -> dict:
    vacancy = service.get_vacancy(session, application.vacancy_id)
    request_row = service.adjustment_of(session, application)
    kept = kept_form(request, f"/applications/{application.id}/adjustments")
    values = kept.get("values") or {}
    if not values and request_row is not None:
        values = {
            "kinds": list(request_row.kinds),
            "extra_minutes": str(request_row.extra_minutes or ""),
            "extra_percent": str(request_row.extra_percent or ""),
            "details": request_row.details,
        }
    return {
        "vacancy": vacancy,
        "application": application,
        "adjustment": request_row,
        "may_request": service.may_request(session, vacancy, application),
        "kinds": list(AdjustmentKind),
        "errors": kept.get("errors") or {},
        "values": values,
    }


@router.get("/applications/{application_id:int}/adjustments", dependencies=APPLY)
def adjustments_page(request: Request, session: SessionDep, application: OwnApplication):
    context = _adjustment_context(request, session, application)
    return render(request, "vacancies/adjustments_request.html", context)


@router.post("/applications/{application_id:int}/adjustments", dependencies=APPLY)
async def request_adjustment(
    request: Request, session: SessionDep, principal: CurrentPrincipal, application: OwnApplication
):
    data = AdjustmentInput.from_form(await request.form())
    return act_on_page(
        request,
        session,
        lambda: service.request_adjustment(
            session, application=application, user=principal.user, data=data
        ),
        message=_("Your request for adjustments was sent to HR."),
        page=f"/applications/{application.id}/adjustments",
        form="adjustments",
        values=data.__dict__,
    )


@router.get("/applications/{application_id:int}/monitoring", dependencies=APPLY)
def monitoring_page(
    request: Request, session: SessionDep, settings: SettingsDep, application: OwnApplication
):
    kept = kept_form(request, f"/applications/{application.id}/monitoring")
    context = {
        "vacancy": service.get_vacancy(session, application.vacancy_id),
        "application": application,
        "answered": service.answered(session, settings, application),
        "open": service.questionnaire_open(service.get_vacancy(session, application.vacancy_id)),
        "errors": kept.get("errors") or {},
        "values": kept.get("values") or {},
        "retention_days": service.RETENTION_DAYS,
    }
    return render(request, "vacancies/monitoring_form.html", context)


@router.post("/applications/{application_id:int}/monitoring", dependencies=APPLY)
async def answer_monitoring(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
):
    form = await request.form()
    answers = {key: str(form.get(key, "")) for key in service.QUESTIONS}
    return act_on_page(
        request,
        session,
        lambda: service.answer_questionnaire(
            session, settings, application=application, user=principal.user, answers=answers
        ),
        message=_("Thank you. Your answers are kept apart from your application."),
        page=f"/applications/{application.id}/monitoring",
        to=f"/applications/{application.id}",
        form="monitoring",
        values=answers,
    )


# --- HR -----------------------------------------------------------------------------------------


def adjustments_context(
    session: Session, settings: Settings, vacancy: Vacancy, principal: Any
) -> dict[str, Any]:
    return {"vacancy": vacancy, "lines": service.adjustments_of(session, vacancy)}


@router.get("/competitions/{vacancy_id:int}/adjustments", dependencies=MANAGE)
def adjustments_hr(hr: OnCompetition):
    return hr.show(
        "vacancies/adjustments_hr.html",
        adjustments_context,
        page=f"/competitions/{hr.vacancy.id}/adjustments",
    )


@router.post(
    "/competitions/{vacancy_id:int}/adjustments/{request_id:int}/decide", dependencies=MANAGE
)
async def decide_adjustment(hr: OnCompetition, request_id: int):
    data = DecisionInput.from_form(await hr.request.form())
    return hr.act(
        None,
        lambda: service.decide_adjustment(
            hr.session, vacancy=hr.vacancy, request_id=request_id, data=data, actor=hr.actor
        ),
        message=_("The decision was recorded and the candidate can see it."),
        page=f"/competitions/{hr.vacancy.id}/adjustments",
        form=f"decide-{request_id}",
        values=data.__dict__,
    )


def statistics_context(
    session: Session, settings: Settings, vacancy: Vacancy, principal: Any
) -> dict[str, Any]:
    return {
        "vacancy": vacancy,
        "adjustments": service.adjustment_statistics(session, vacancy),
        "tables": service.monitoring_statistics(session, settings, vacancy),
        "responses": service.response_count(session, vacancy),
        "min_cell": service.MIN_CELL,
        "retention_days": service.RETENTION_DAYS,
    }


@router.get("/competitions/{vacancy_id:int}/statistics", dependencies=MANAGE)
def statistics(hr: OnCompetition):
    return hr.show(
        "vacancies/statistics.html",
        statistics_context,
        page=f"/competitions/{hr.vacancy.id}/statistics",
    )
