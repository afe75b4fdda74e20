"""The integrity dashboard (HR planners and auditors): anomaly flags, per competition and member."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import SettingsDep, require
from backend.i18n import _
from backend.web import render

from .. import service
from ..models import Stage
from .common import PublicVacancyDep

router = APIRouter()
VIEW = [require(Permission.view_integrity)]


@router.get("/integrity", dependencies=VIEW)
def overview(request: Request, session: SessionDep, settings: SettingsDep):
    rows = service.overview(session, settings)
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
            "members": service.panel_members_seen(session),
            "units": {r.vacancy.id: service.hiring_unit(session, r.vacancy) for r in rows},
        },
    )


def _competition_context(session, settings, vacancy) -> dict:
    seats = service.panel_of(session, vacancy)
    return {
        "vacancy": vacancy,
        "flags": service.competition_flags(session, settings, vacancy),
        "seats": seats,
        "names": service.user_names(session, [s.user_id for s in seats]),
        "deviations": service.deviations(session, vacancy),
        "applications": {a.id: a for a in service.all_applications(session, vacancy)},
        "entries": service.merit_entries(session, vacancy),
        "winner": service.winner(session, vacancy),
        "amendments": service.amendments(session, vacancy),
        "unit": service.hiring_unit(session, vacancy),
        "stages": [Stage.sift, Stage.interview],
    }


@router.get("/integrity/competitions/{vacancy_id:int}", dependencies=VIEW)
def competition(
    request: Request, session: SessionDep, settings: SettingsDep, vacancy: PublicVacancyDep
):
    return render(
        request,
        "vacancies/integrity_competition.html",
        _competition_context(session, settings, vacancy),
    )


@router.get("/integrity/members/{user_id:int}", dependencies=VIEW)
def member(request: Request, session: SessionDep, settings: SettingsDep, user_id: int):
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail=_("This person does not exist."))
    return render(
        request,
        "vacancies/integrity_member.html",
        {"profile": service.member_profile(session, settings, user)},
    )
