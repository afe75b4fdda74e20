"""The panel's side: my competitions, conflict declarations, sealed scoring and consensus.

Membership is per competition: holding `score_candidates` opens these pages, but every one of
them checks that the person sits on that competition's panel (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.web import flash, keep_form, kept_form, redirect, render
from competency_framework import service as competency_service

from . import applications, scoring, service
from .http import application_in, raise_http, user_names, vacancy_or_404
from .models import PanelMember, Stage, Vacancy, VacancyStatus
from .service import VacancyError

router = APIRouter()
SCORE = [require(Permission.score_candidates)]


def _seat(session: Session, vacancy: Vacancy, principal) -> PanelMember:
    try:
        return service.require_member(session, vacancy, principal.user)
    except VacancyError as err:
        raise_http(err)


def my_competitions(session: Session, user: User) -> list[tuple[Vacancy, dict[str, int]]]:
    """Return the competitions whose panel the user sits on, with what they still have to do."""
    vacancies = session.exec(
        select(Vacancy)
        .join(PanelMember, col(PanelMember.vacancy_id) == Vacancy.id)
        .where(PanelMember.user_id == user.id)
        .order_by(col(Vacancy.id).desc())
    ).all()
    return [(v, scoring.work_for(session, vacancy=v, user=user)) for v in vacancies]


@router.get("/panel", dependencies=SCORE)
def panel_home(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return render(
        request,
        "vacancies/panel_home.html",
        {"rows": my_competitions(session, principal.user)},
    )


@router.get("/panel/{vacancy_id:int}", dependencies=SCORE)
def panel_competition(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy_id: int
):
    vacancy = vacancy_or_404(session, vacancy_id)
    seat = _seat(session, vacancy, principal)
    pending = scoring.pending_declarations(session, vacancy, principal.user)
    stage = vacancy.status if vacancy.status in (Stage.sift, Stage.interview) else None
    rows = []
    if stage and not pending:
        scores = scoring.current_scores(session, vacancy, stage)
        pairs = scoring.conflicted_pairs(session, vacancy)
        codes = scoring.criteria_codes(vacancy)
        candidates = service.active_applications(session, vacancy)
        if stage == Stage.sift and scoring.anonymous_in_sift(vacancy):
            # Codes in code order, so the list order gives nothing away either.
            candidates = sorted(candidates, key=lambda a: a.anonymous_code)
        for application in candidates:
            if (principal.user.id, application.id) in pairs:
                continue
            mine = all((application.id, c, principal.user.id) in scores for c in codes)
            revealed = scoring.all_scored(session, vacancy, application, stage, scores)
            rows.append((application, mine, revealed))
    return render(
        request,
        "vacancies/panel_competition.html",
        {
            "vacancy": vacancy,
            "seat": seat,
            "pending": pending,
            "stage": stage,
            "rows": rows,
            "anonymous": stage == Stage.sift and scoring.anonymous_in_sift(vacancy),
            "unit": service.hiring_unit(session, vacancy),
        },
    )


def _declaration_context(session, vacancy, principal, errors=None, values=None) -> dict[str, Any]:
    return {
        "vacancy": vacancy,
        "lines": scoring.declaration_sheet(session, vacancy=vacancy, user=principal.user),
        "errors": errors or {},
        "values": values or {},
    }


@router.get("/panel/{vacancy_id:int}/declarations", dependencies=SCORE)
def declarations(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy_id: int
):
    vacancy = vacancy_or_404(session, vacancy_id)
    _seat(session, vacancy, principal)
    return render(
        request, "vacancies/declarations.html", _declaration_context(session, vacancy, principal)
    )


@router.post("/panel/{vacancy_id:int}/declarations", dependencies=SCORE)
async def declare(
    request: Request, session: SessionDep, principal: CurrentPrincipal, vacancy_id: int
):
    vacancy = vacancy_or_404(session, vacancy_id)
    _seat(session, vacancy, principal)
    form = await request.form()
    decisions: dict[int, tuple[bool, str]] = {}
    values: dict[str, str] = {}
    for key in form:
        if key.startswith("conflict_") and key[len("conflict_") :].isdigit():
            application_id = int(key[len("conflict_") :])
            choice = str(form.get(key))
            note = str(form.get(f"note_{application_id}", ""))
            values[key], values[f"note_{application_id}"] = choice, note
            if choice in ("yes", "no"):
                decisions[application_id] = (choice == "yes", note)
    try:
        scoring.declare(session, vacancy=vacancy, user=principal.user, decisions=decisions)
    except VacancyError as err:
        session.rollback()
        return render(
            request,
            "vacancies/declarations.html",
            _declaration_context(
                session, vacancy, principal, err.errors or {"form": str(err)}, values
            ),
            status_code=err.status_code,
        )
    session.commit()
    flash(request, _("Your declarations were recorded."))
    session.commit()
    return redirect(request, f"/panel/{vacancy.id}")


def _stage(stage: str) -> str:
    if stage not in (Stage.sift, Stage.interview):
        raise HTTPException(
            status_code=404, detail=_("This page does not exist, or the record was not found.")
        )
    return stage


def _score_context(
    session, vacancy, application, stage, principal, errors=None, values=None, error=""
):
    sheet = scoring.score_sheet(
        session, vacancy=vacancy, application=application, stage=stage, viewer=principal.user
    )
    anonymous = stage == Stage.sift and scoring.anonymous_in_sift(vacancy)
    return {
        "vacancy": vacancy,
        "application": application,
        "stage": stage,
        "anonymous": anonymous,
        "sheet": sheet,
        "scales": scoring.anchored_scales(session, vacancy),
        "competencies": service.competency_names(session),
        "levels": {level.level: level for level in competency_service.scale(session)},
        "evidence": applications.evidence_of(session, application),
        # Appraisal history of internal candidates: only once the sift's anonymity is lifted.
        "record": applications.promotion_evidence(
            session, vacancy=vacancy, application=application, for_panel=True
        ),
        "questions": service.interview_questions(session, vacancy),
        "raters": user_names(session, sheet.raters),
        "suggested": {code: scoring.suggested(m) for code, m in sheet.means.items()},
        "errors": errors or {},
        "values": values or {},
        "error": error,
        "open": vacancy.status == stage,
        "reopened": scoring.upheld_appeal(session, application) is not None
        and vacancy.status == VacancyStatus.results,
        "people": user_names(session, [c.recorded_by_id for c in sheet.history]),
    }


def _load(session, vacancy_id, stage, application_id, principal):
    vacancy = vacancy_or_404(session, vacancy_id)
    _seat(session, vacancy, principal)
    stage = _stage(stage)
    application = application_in(session, vacancy, application_id)
    try:
        scoring.require_declared(session, vacancy, principal.user)
    except VacancyError as err:
        raise_http(err)
    if scoring.is_conflicted(session, vacancy, principal.user, application):
        raise HTTPException(
            status_code=403,
            detail=_(
                "You declared a conflict of interest with this candidate, so you cannot score them."
            ),
        )
    return vacancy, stage, application


def _refused(request, session, vacancy, stage, application, err, form: str, values: dict):
    """Return to the scoring page, which says why and shows the form again as typed.

    A redirect, not the page itself: a page shown at the form's POST-only URL would post it
    again on reload (issue #13).
    """
    session.rollback()
    page = f"/panel/{vacancy.id}/{stage}/{application.id}"
    keep_form(request, page=page, form=form, errors=err.errors, values=values)
    session.commit()
    flash(request, str(err), "error")
    session.commit()
    return redirect(request, page)


@router.get("/panel/{vacancy_id:int}/{stage}/{application_id:int}", dependencies=SCORE)
def score_page(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    vacancy_id: int,
    stage: str,
    application_id: int,
):
    vacancy, stage, application = _load(session, vacancy_id, stage, application_id, principal)
    kept = kept_form(request, f"/panel/{vacancy.id}/{stage}/{application.id}")
    context = _score_context(
        session, vacancy, application, stage, principal, kept.get("errors"), kept.get("values")
    )
    applications.record_read(
        session,
        application=application,
        actor=principal.user,
        purpose=f"panel_{stage}",
        promotion_evidence=context["record"] is not None,
    )
    session.commit()
    return render(request, "vacancies/score.html", context)


@router.post("/panel/{vacancy_id:int}/{stage}/{application_id:int}/scores", dependencies=SCORE)
async def record_scores(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    vacancy_id: int,
    stage: str,
    application_id: int,
):
    vacancy, stage, application = _load(session, vacancy_id, stage, application_id, principal)
    form = await request.form()
    scores = {
        code: (str(form.get(f"score_{code}", "")), str(form.get(f"note_{code}", "")))
        for code in scoring.criteria_codes(vacancy)
    }
    try:
        scoring.record_scores(
            session,
            vacancy=vacancy,
            application=application,
            stage=stage,
            scores=scores,
            rater=principal.user,
        )
    except VacancyError as err:
        values = {f"score_{c}": v for c, (v, _n) in scores.items()} | {
            f"note_{c}": n for c, (_v, n) in scores.items()
        }
        return _refused(request, session, vacancy, stage, application, err, "scores", values)
    session.commit()
    flash(
        request,
        _("Your scores were recorded. Others' scores stay sealed until everyone has scored."),
    )
    session.commit()
    return redirect(request, f"/panel/{vacancy.id}/{stage}/{application.id}")


@router.post("/panel/{vacancy_id:int}/{stage}/{application_id:int}/consensus", dependencies=SCORE)
def record_consensus(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    vacancy_id: int,
    stage: str,
    application_id: int,
    competency: Annotated[str, Form()] = "",
    score: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    accept: Annotated[str, Form()] = "",
):
    vacancy, stage, application = _load(session, vacancy_id, stage, application_id, principal)
    try:
        if accept:
            scoring.accept_suggested(
                session, vacancy=vacancy, application=application, stage=stage, actor=principal.user
            )
        else:
            scoring.record_consensus(
                session,
                vacancy=vacancy,
                application=application,
                stage=stage,
                competency_code=competency,
                score=score,
                reason=reason,
                actor=principal.user,
            )
    except VacancyError as err:
        values = {f"consensus_{competency}": score, f"reason_{competency}": reason}
        return _refused(request, session, vacancy, stage, application, err, "consensus", values)
    session.commit()
    flash(request, _("Consensus recorded."))
    session.commit()
    return redirect(request, f"/panel/{vacancy.id}/{stage}/{application.id}")
