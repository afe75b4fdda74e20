"""The panel's side: my competitions, conflict declarations, sealed scoring and consensus.

Membership is per competition: holding `score_candidates` opens these pages, but every one of
them checks that the person sits on that competition's panel (403 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request

from backend.actions import run_action
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.web import kept_form, render
from competency_framework import service as competency_service

from .. import service
from ..models import Application, Stage, Vacancy, VacancyStatus
from ..schemas import declarations_from_form, relations_from_form, scores_from_form
from .common import VacancyDep, act_on_page

router = APIRouter()
SCORE = [require(Permission.score_candidates)]


@router.get("/panel", dependencies=SCORE)
def panel_home(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return render(
        request,
        "vacancies/panel_home.html",
        {"rows": service.competitions_of_member(session, principal.user)},
    )


@router.get("/panel/{vacancy_id:int}", dependencies=SCORE)
def panel_competition(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy: VacancyDep
):
    seat = service.require_member(session, vacancy, principal.user)
    stage = vacancy.status if vacancy.status in (Stage.sift, Stage.interview) else None
    return render(
        request,
        "vacancies/panel_competition.html",
        {
            "vacancy": vacancy,
            "seat": seat,
            "pending": service.pending_declarations(session, vacancy, principal.user),
            "stage": stage,
            "rows": service.candidates_to_score(session, vacancy, principal.user),
            "anonymous": stage == Stage.sift and service.anonymous_in_sift(vacancy),
            "unit": service.hiring_unit(session, vacancy),
        },
    )


def _declaration_context(session, vacancy, principal, errors=None, values=None) -> dict[str, Any]:
    return {
        "vacancy": vacancy,
        "lines": service.declaration_sheet(session, vacancy=vacancy, user=principal.user),
        "errors": errors or {},
        "values": values or {},
    }


@router.get("/panel/{vacancy_id:int}/declarations", dependencies=SCORE)
def declarations(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy: VacancyDep
):
    service.require_member(session, vacancy, principal.user)
    return render(
        request, "vacancies/declarations.html", _declaration_context(session, vacancy, principal)
    )


@router.post("/panel/{vacancy_id:int}/declarations", dependencies=SCORE)
async def declare(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy: VacancyDep
):
    service.require_member(session, vacancy, principal.user)
    form = await request.form()
    decisions, values = declarations_from_form(form)
    relations = relations_from_form(form)
    values.update({f"relation_{k}": v for k, v in relations.items()})
    return run_action(
        request,
        session,
        lambda: service.declare(
            session,
            vacancy=vacancy,
            user=principal.user,
            decisions=decisions,
            relations=relations,
        ),
        message=_("Your declarations were recorded."),
        to=f"/panel/{vacancy.id}",
        on_error=lambda err: render(
            request,
            "vacancies/declarations.html",
            _declaration_context(session, vacancy, principal, err.form_errors(), values),
            status_code=err.status_code,
        ),
        refusals="all",
    )


def _score_context(session, vacancy, application, stage, user, errors=None, values=None):
    sheet = service.score_sheet(
        session, vacancy=vacancy, application=application, stage=stage, viewer=user
    )
    return {
        "vacancy": vacancy,
        "application": application,
        "stage": stage,
        "anonymous": stage == Stage.sift and service.anonymous_in_sift(vacancy),
        "sheet": sheet,
        "scales": service.anchored_scales(session, vacancy),
        "competencies": service.competency_names(session),
        "levels": {level.level: level for level in competency_service.scale(session)},
        "evidence": service.evidence_of(session, application),
        # Appraisal history of internal candidates: only once the sift's anonymity is lifted.
        "record": service.promotion_evidence(
            session, vacancy=vacancy, application=application, for_panel=True
        ),
        "questions": service.interview_questions(session, vacancy),
        "raters": service.user_names(session, sheet.raters),
        "suggested": {code: service.suggested(m) for code, m in sheet.means.items()},
        "errors": errors or {},
        "values": values or {},
        "error": "",
        "open": vacancy.status == stage,
        "reopened": service.upheld_appeal(session, application) is not None
        and vacancy.status == VacancyStatus.results,
        "people": service.user_names(session, [c.recorded_by_id for c in sheet.history]),
    }


@dataclass(frozen=True)
class ScoreSheet:
    """A member's score sheet the path names: the competition, stage and candidate, checked
    (on the panel, declared, not conflicted) before the route runs."""

    user: User
    vacancy: Vacancy
    stage: str
    application: Application

    @property
    def page(self) -> str:
        return f"/panel/{self.vacancy.id}/{self.stage}/{self.application.id}"


def _sheet_in_path(
    session: SessionDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
    stage: str,
    application_id: int,
) -> ScoreSheet:
    user = principal.user
    stage, application = service.scoring_target(
        session, vacancy=vacancy, stage=stage, application_id=application_id, user=user
    )
    return ScoreSheet(user, vacancy, stage, application)


SheetDep = Annotated[ScoreSheet, Depends(_sheet_in_path)]


@router.get("/panel/{vacancy_id:int}/{stage}/{application_id:int}", dependencies=SCORE)
def score_page(request: Request, session: SessionDep, sheet: SheetDep):
    kept = kept_form(request, sheet.page)
    context = _score_context(
        session,
        sheet.vacancy,
        sheet.application,
        sheet.stage,
        sheet.user,
        kept.get("errors"),
        kept.get("values"),
    )
    service.record_read(
        session,
        application=sheet.application,
        actor=sheet.user,
        purpose=f"panel_{sheet.stage}",
        promotion_evidence=context["record"] is not None,
    )
    session.commit()
    return render(request, "vacancies/score.html", context)


@router.post("/panel/{vacancy_id:int}/{stage}/{application_id:int}/scores", dependencies=SCORE)
async def record_scores(request: Request, session: SessionDep, sheet: SheetDep):
    scores = scores_from_form(await request.form(), service.criteria_codes(sheet.vacancy))
    values = {f"score_{c}": v for c, (v, n) in scores.items()}
    values |= {f"note_{c}": n for c, (v, n) in scores.items()}
    return act_on_page(
        request,
        session,
        lambda: service.record_scores(
            session,
            vacancy=sheet.vacancy,
            application=sheet.application,
            stage=sheet.stage,
            scores=scores,
            rater=sheet.user,
        ),
        message=_(
            "Your scores were recorded. Others' scores stay sealed until everyone has scored."
        ),
        page=sheet.page,
        form="scores",
        values=values,
    )


@router.post("/panel/{vacancy_id:int}/{stage}/{application_id:int}/consensus", dependencies=SCORE)
def record_consensus(
    request: Request,
    session: SessionDep,
    sheet: SheetDep,
    competency: Annotated[str, Form()] = "",
    score: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    accept: Annotated[str, Form()] = "",
):
    values = {f"consensus_{competency}": score, f"reason_{competency}": reason}
    return act_on_page(
        request,
        session,
        lambda: service.decide_consensus(
            session,
            vacancy=sheet.vacancy,
            application=sheet.application,
            stage=sheet.stage,
            competency_code=competency,
            score=score,
            reason=reason,
            accept=bool(accept),
            actor=sheet.user,
        ),
        message=_("Consensus recorded."),
        page=sheet.page,
        form="consensus",
        values=values,
    )
