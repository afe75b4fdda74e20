"""Small helpers shared by the vacancy routers: loading records, errors, template labels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.responses import JSONResponse
from sqlmodel import Session

from backend.auth.models import User
from backend.db import SessionDep
from backend.i18n import N_, _
from backend.web import templates
from competency_framework.models import RATING_SOURCE_LABELS

from . import service
from .integrity import FLAG_LABELS
from .models import (
    APPEAL_STATUS_LABELS,
    APPLICATION_STATUS_LABELS,
    DIFFICULTY_LABELS,
    OUT_STAGE_LABELS,
    STAGE_LABELS,
    TIE_BREAK_LABELS,
    VACANCY_STATUS_LABELS,
    Application,
    Vacancy,
)
from .scoring import CONFLICT_FLAG_LABELS
from .service import VacancyError

OUT_REASON_LABELS = {
    "absent": N_("Did not take the test"),
    "below_pass_mark": N_("Below the pass mark"),
}

templates().globals.update(
    VACANCY_STATUS_LABELS=VACANCY_STATUS_LABELS,
    APPLICATION_STATUS_LABELS=APPLICATION_STATUS_LABELS,
    APPEAL_STATUS_LABELS=APPEAL_STATUS_LABELS,
    STAGE_LABELS=STAGE_LABELS,
    OUT_STAGE_LABELS=OUT_STAGE_LABELS,
    TIE_BREAK_LABELS=TIE_BREAK_LABELS,
    DIFFICULTY_LABELS=DIFFICULTY_LABELS,
    CONFLICT_FLAG_LABELS=CONFLICT_FLAG_LABELS,
    INTEGRITY_FLAG_LABELS=FLAG_LABELS,
    OUT_REASON_LABELS=OUT_REASON_LABELS,
)
assert RATING_SOURCE_LABELS  # the competency labels are registered by their own router


def raise_http(err: VacancyError) -> None:
    """Turn a lookup or authorization failure into the app's error page (or JSON)."""
    raise HTTPException(status_code=err.status_code, detail=str(err))


def api_error(err: VacancyError) -> JSONResponse:
    """Return a structured JSON error (the same shape as the app's handlers)."""
    status = err.status_code
    code = {403: "forbidden", 404: "not_found", 409: "conflict", 410: "gone"}.get(status, "invalid")
    body: dict[str, Any] = {"status": status, "code": code, "message": str(err)}
    if err.errors:
        body["fields"] = [{"field": k, "message": v} for k, v in err.errors.items()]
    return JSONResponse({"error": body}, status_code=status)


def vacancy_or_404(session: Session, vacancy_id: int) -> Vacancy:
    vacancy = service.get_vacancy(session, vacancy_id)
    if vacancy is None:
        raise HTTPException(status_code=404, detail=_("This vacancy does not exist."))
    return vacancy


def _vacancy_in_path(session: SessionDep, vacancy_id: int) -> Vacancy:
    return vacancy_or_404(session, vacancy_id)


# A route parameter: the vacancy named by the path's `vacancy_id`, loaded (404 if there is none).
VacancyDep = Annotated[Vacancy, Depends(_vacancy_in_path)]


def public_vacancy_or_404(session: Session, vacancy_id: int) -> Vacancy:
    """Return a vacancy whose notice is public (published or later), else 404."""
    vacancy = service.get_vacancy(session, vacancy_id)
    if vacancy is None or vacancy.published_at is None:
        raise HTTPException(status_code=404, detail=_("This vacancy does not exist."))
    return vacancy


def application_in(session: Session, vacancy: Vacancy, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None or application.vacancy_id != vacancy.id:
        raise HTTPException(status_code=404, detail=_("This application does not exist."))
    return application


def user_names(session: Session, ids) -> dict[int, str]:
    """Return {user id: full name} for the given ids."""
    names = {}
    for user_id in {i for i in ids if i}:
        user = session.get(User, user_id)
        if user is not None:
            names[user_id] = user.full_name
    return names


def form_errors(err: VacancyError) -> dict[str, str]:
    """Return the error's field messages, or the message under "form"."""
    return err.errors or {"form": str(err)}
