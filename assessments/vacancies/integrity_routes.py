"""The integrity dashboard (HR planners and auditors): anomaly flags, per competition and member."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import SettingsDep, require
from backend.i18n import _
from backend.web import render

from . import integrity, merit, service
from .http import user_names, vacancy_or_404
from .models import Stage

router = APIRouter()
api_router = APIRouter(tags=["vacancies"])
VIEW = [require(Permission.view_integrity)]


@router.get("/integrity", dependencies=VIEW)
def overview(request: Request, session: SessionDep, settings: SettingsDep):
    rows = integrity.overview(session, settings)
    counts: dict[str, int] = {}
    for row in rows:
        for flag in row.flags:
            counts[flag.code] = counts.get(flag.code, 0) + 1
    return render(
        request,
        "vacancies/integrity.html",
        {
            "rows": rows,
            "counts": counts,
            "members": integrity.panel_members_seen(session),
            "units": {r.vacancy.id: service.hiring_unit(session, r.vacancy) for r in rows},
        },
    )


@router.get("/integrity/competitions/{vacancy_id:int}", dependencies=VIEW)
def competition(request: Request, session: SessionDep, settings: SettingsDep, vacancy_id: int):
    vacancy = vacancy_or_404(session, vacancy_id)
    if vacancy.published_at is None:
        raise HTTPException(status_code=404, detail=_("This vacancy does not exist."))
    seats = service.panel_of(session, vacancy)
    found = integrity.deviations(session, vacancy)
    applications = {a.id: a for a in service.all_applications(session, vacancy)}
    return render(
        request,
        "vacancies/integrity_competition.html",
        {
            "vacancy": vacancy,
            "flags": integrity.competition_flags(session, settings, vacancy),
            "seats": seats,
            "names": user_names(session, [s.user_id for s in seats]),
            "deviations": found,
            "applications": applications,
            "entries": merit.merit_entries(session, vacancy),
            "winner": integrity.winner(session, vacancy),
            "amendments": service.amendments(session, vacancy),
            "unit": service.hiring_unit(session, vacancy),
            "stages": [Stage.sift, Stage.interview],
        },
    )


@router.get("/integrity/members/{user_id:int}", dependencies=VIEW)
def member(request: Request, session: SessionDep, settings: SettingsDep, user_id: int):
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail=_("This person does not exist."))
    return render(
        request,
        "vacancies/integrity_member.html",
        {"profile": integrity.member_profile(session, settings, user)},
    )


class FlagOut(BaseModel):
    code: str
    severity: str
    detail: str
    member_user_id: int | None


class CompetitionFlagsOut(BaseModel):
    vacancy_id: int
    reference: str
    status: str
    flags: list[FlagOut]


@api_router.get("/integrity", response_model=list[CompetitionFlagsOut], dependencies=VIEW)
def overview_json(session: SessionDep, settings: SettingsDep) -> list[CompetitionFlagsOut]:
    """Every published competition with its anomaly flags."""
    return [
        CompetitionFlagsOut(
            vacancy_id=row.vacancy.id,
            reference=row.vacancy.reference,
            status=row.vacancy.status,
            flags=[
                FlagOut(
                    code=f.code,
                    severity=f.severity,
                    detail=f.detail,
                    member_user_id=f.member_user_id,
                )
                for f in row.flags
            ],
        )
        for row in integrity.overview(session, settings)
    ]
