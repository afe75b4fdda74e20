"""The competitions' JSON under /api/v1: the public board and notices, HR's merit list, and the
integrity flags. Errors are the app's JSON problem (`backend.errors`)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import SettingsDep, public, require
from backend.i18n import _

from .. import service
from ..schemas import (
    CompetitionFlagsOut,
    FlagOut,
    MeritEntryOut,
    MeritListOut,
    NoticeOut,
    VacancySummaryOut,
)
from .common import PublicVacancyDep, VacancyDep

router = APIRouter()  # no pages here
api_router = APIRouter(tags=["vacancies"])


@api_router.get("/vacancies", response_model=list[VacancySummaryOut], dependencies=[public])
def vacancies_json(session: SessionDep) -> list[VacancySummaryOut]:
    """The public vacancy board."""
    return [
        VacancySummaryOut(
            id=v.id,
            reference=v.reference,
            title=v.title,
            status=v.status,
            open=service.window_open(v),
            closes_at=v.closes_at.isoformat() if v.closes_at else None,
            notice_sha256=v.notice_sha256,
        )
        for v in service.public_vacancies(session)
    ]


@api_router.get("/vacancies/{vacancy_id:int}", response_model=NoticeOut, dependencies=[public])
def notice_json(session: SessionDep, vacancy: PublicVacancyDep) -> NoticeOut:
    """One published notice, its SHA-256 and its amendments."""
    return NoticeOut(
        reference=vacancy.reference,
        status=vacancy.status,
        notice_sha256=vacancy.notice_sha256,
        notice=vacancy.notice or {},
        amendments=[
            {
                "number": a.number,
                "reason": a.reason,
                "published_at": a.published_at.isoformat(),
                "previous_sha256": a.previous_sha256,
                "notice_sha256": a.notice_sha256,
                "changed": sorted(a.changes),
            }
            for a in service.amendments(session, vacancy)
        ],
    )


def _merit_entries(session, vacancy) -> list[MeritEntryOut]:
    apps = {a.id: a for a in service.all_applications(session, vacancy)}
    return [
        MeritEntryOut(
            rank=e.rank,
            application_id=e.application_id,
            candidate=apps[e.application_id].candidate_name,
            internal=apps[e.application_id].is_internal,
            test=e.test_score,
            sift=e.sift_score,
            interview=e.interview_score,
            total=e.total,
            out_stage=e.out_stage,
        )
        for e in service.merit_entries(session, vacancy)
    ]


@api_router.get(
    "/competitions/{vacancy_id:int}/merit-list",
    response_model=MeritListOut,
    dependencies=[require(Permission.manage_vacancies)],
)
def merit_list_json(session: SessionDep, vacancy: VacancyDep):
    """The published merit list (newest version), with names, for HR systems."""
    if not vacancy.merit_version:
        raise service.VacancyError(_("The merit list has not been published."), status_code=404)
    return MeritListOut(
        reference=vacancy.reference,
        version=vacancy.merit_version,
        sha256=vacancy.merit_sha256,
        entries=_merit_entries(session, vacancy),
    )


@api_router.get(
    "/integrity",
    response_model=list[CompetitionFlagsOut],
    dependencies=[require(Permission.view_integrity)],
)
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
        for row in service.overview(session, settings)
    ]
