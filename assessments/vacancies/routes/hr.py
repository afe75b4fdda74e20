"""HR's side of one competition: drafting, approval, publication, amendments, the panel, the
interview questions and the stages.

Every page and action needs `manage_vacancies`, except the second-person decisions (approving a
vacancy), which need `approve_vacancies`. Each action is guarded by `allowed_steps`, the same
answer the competition page shows its buttons from; refused, it returns to the page, which says
why and keeps what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from backend import i18n
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, id_or_none, require
from backend.i18n import _
from backend.web import redirect, render

from .. import service
from ..models import Stage, TieBreak, VacancyStatus
from ..schemas import BLUEPRINT_ROWS, ELIGIBILITY_ROWS, NoticeInput
from ..service import Step
from .common import OnCompetition, VacancyDep, notice_context

router = APIRouter()
MANAGE = [require(Permission.manage_vacancies)]
APPROVE = [require(Permission.approve_vacancies)]


# --- the list -----------------------------------------------------------------------------------


def _competitions_context(session: Session) -> dict[str, Any]:
    by_status: dict[str, list] = {}
    for vacancy in service.list_vacancies(session):
        by_status.setdefault(vacancy.status, []).append(vacancy)
    return {
        "by_status": by_status,
        "order": list(VacancyStatus),
        "positions": service.positions_with_units(session),
        "units": service.units_by_id(session),
        "errors": {},
        "values": {},
    }


@router.get("/competitions", dependencies=MANAGE)
def competitions(request: Request, session: SessionDep):
    return render(request, "vacancies/competitions.html", _competitions_context(session))


@router.post("/competitions", dependencies=MANAGE)
def create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    position_id: Annotated[str, Form()] = "",
):
    return run_action(
        request,
        session,
        lambda: service.create_from_position(
            session, settings, position_id=id_or_none(position_id), actor=principal.user
        ),
        message=_("Draft created from the position's competency profile. Complete the notice."),
        to=lambda vacancy: f"/competitions/{vacancy.id}/edit",
        # The form's one field: every refusal is about the position chosen.
        on_error=lambda err: render(
            request,
            "vacancies/competitions.html",
            _competitions_context(session)
            | {"errors": {"position_id": str(err)}, "values": {"position_id": position_id}},
            status_code=422,
        ),
        refusals="all",
    )


# --- one competition ----------------------------------------------------------------------------


def _application_counts(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for application in rows:
        counts[application.status] = counts.get(application.status, 0) + 1
    return counts


def _panel_context(session: Session, vacancy) -> dict[str, Any]:
    seats = service.panel_of(session, vacancy)
    members = {s.user_id: service.user_of(session, s.user_id) for s in seats}
    return {
        "seats": seats,
        "members": members,
        "panel_problems": service.panel_problems(session, vacancy),
        "panel_locked": service.panel_locked(session, vacancy),
        "panel_choices": [u for u in service.panel_candidates(session) if u.id not in members],
        "declarations": {
            s.user_id: service.pending_declarations(session, vacancy, members[s.user_id])
            for s in seats
        },
    }


def _stage_context(session: Session, settings: Settings, vacancy, competencies) -> dict:
    drafting = vacancy.status in (VacancyStatus.draft, VacancyStatus.pending_approval)
    testing = vacancy.status in (VacancyStatus.testing, VacancyStatus.sift)
    all_apps = service.all_applications(session, vacancy)
    return {
        "applications": all_apps,
        "counts": _application_counts(all_apps),
        "pending_reviews": service.pending_reviews(session, vacancy),
        "review_closes": service.review_window_closes(settings, vacancy),
        "shortfalls": service.bank_shortfalls(session, vacancy) if drafting else [],
        "interview_questions": service.interview_questions(session, vacancy),
        "missing_questions": [
            i18n.localized(competencies[code], "name") if code in competencies else code
            for code in service.missing_interview_questions(session, vacancy)
        ],
        "interview_locked": service.interview_locked(vacancy),
        "question_stats": service.question_stats(session, vacancy) if testing else [],
        "neutralised": service.neutralised(session, vacancy),
        "stage": vacancy.status if vacancy.status in (Stage.sift, Stage.interview) else None,
        "progress": service.scoring_progress(session, vacancy),
    }


def competition_context(
    session: Session,
    settings: Settings,
    vacancy,
    principal,
) -> dict[str, Any]:
    """Return everything the competition page shows at the vacancy's stage (`hr.show` adds the
    steps and a refused form kept for the page)."""
    context = notice_context(session, vacancy)
    authors = [vacancy.created_by_id, vacancy.submitted_by_id]
    context.update(_panel_context(session, vacancy))
    context.update(_stage_context(session, settings, vacancy, context["competencies"]))
    context.update(
        {
            "amendments": service.amendments(session, vacancy),
            "open": service.window_open(vacancy),
            "people": service.user_names(
                session, [*authors, vacancy.approved_by_id, vacancy.published_by_id]
            ),
            "now": service.now_or(None),
            "can_approve": principal.can(Permission.approve_vacancies)
            and principal.user.id not in authors,
        }
    )
    return context


@router.get("/competitions/{vacancy_id:int}", dependencies=MANAGE)
def competition(hr: OnCompetition):
    return hr.show("vacancies/competition.html", competition_context)


# --- the notice ---------------------------------------------------------------------------------


def _form_context(
    session: Session,
    settings: Settings,
    vacancy,
    *,
    mode: str,
    data: NoticeInput | None = None,
    errors: dict | None = None,
    reason: str = "",
) -> dict[str, Any]:
    data = data or service.notice_input_of(vacancy)
    blueprint = list(data.blueprint) + [("", "", "")] * BLUEPRINT_ROWS
    eligibility = list(data.eligibility) + [("", "yes")] * ELIGIBILITY_ROWS
    context = notice_context(session, vacancy)
    context.update(
        {
            "mode": mode,
            "data": data,
            "blueprint_rows": blueprint[:BLUEPRINT_ROWS],
            "eligibility_rows": eligibility[:ELIGIBILITY_ROWS],
            "all_competencies": list(service.competency_names(session).values()),
            "all_domains": service.domains(session),
            "tie_breaks": list(TieBreak),
            "errors": errors or {},
            "reason": reason,
            "min_posting": settings.vacancy_min_posting_days,
            "amend_days": settings.vacancy_amendment_min_days,
        }
    )
    return context


def _notice_form_refused(hr, *, mode: str, data: NoticeInput, reason: str = ""):
    """`on_error` for the notice form: the form again, with why and what was typed."""
    return lambda err: render(
        hr.request,
        "vacancies/vacancy_form.html",
        _form_context(
            hr.session,
            hr.settings,
            hr.vacancy,
            mode=mode,
            data=data,
            errors=err.form_errors(),
            reason=reason,
        ),
        status_code=err.status_code,
    )


@router.get("/competitions/{vacancy_id:int}/edit", dependencies=MANAGE)
def edit_form(request: Request, session: SessionDep, settings: SettingsDep, vacancy: VacancyDep):
    if vacancy.status != VacancyStatus.draft:
        return redirect(request, f"/competitions/{vacancy.id}")
    return render(
        request,
        "vacancies/vacancy_form.html",
        _form_context(session, settings, vacancy, mode="edit"),
    )


@router.post("/competitions/{vacancy_id:int}/edit", dependencies=MANAGE)
async def edit(request: Request, hr: OnCompetition):
    data = NoticeInput.from_form(await request.form())
    return hr.act(
        None,
        lambda: service.update_draft(
            hr.session, hr.settings, vacancy=hr.vacancy, data=data, actor=hr.actor
        ),
        message=_("The draft was saved."),
        on_error=_notice_form_refused(hr, mode="edit", data=data),
    )


@router.get("/competitions/{vacancy_id:int}/amend", dependencies=MANAGE)
def amend_form(request: Request, session: SessionDep, settings: SettingsDep, vacancy: VacancyDep):
    return render(
        request,
        "vacancies/vacancy_form.html",
        _form_context(session, settings, vacancy, mode="amend"),
    )


@router.post("/competitions/{vacancy_id:int}/amend", dependencies=MANAGE)
async def amend(request: Request, hr: OnCompetition):
    form = await request.form()
    data = NoticeInput.from_form(form)
    data.posting_days = str(hr.vacancy.posting_days)
    reason = str(form.get("reason", ""))
    return hr.act(
        None,
        lambda: service.amend(
            hr.session, hr.settings, vacancy=hr.vacancy, data=data, reason=reason, actor=hr.actor
        ),
        message=lambda amendment: _(
            "Amendment %(n)s published; the application window was reopened.", n=amendment.number
        ),
        on_error=_notice_form_refused(hr, mode="amend", data=data, reason=reason),
    )


# --- approval, publication, cancellation --------------------------------------------------------


@router.post("/competitions/{vacancy_id:int}/submit", dependencies=MANAGE)
def submit(hr: OnCompetition):
    return hr.act(
        Step.submit,
        lambda: service.submit_for_approval(
            hr.session, hr.settings, vacancy=hr.vacancy, actor=hr.actor
        ),
        message=_("Sent for approval to a second person."),
    )


@router.post("/competitions/{vacancy_id:int}/approve", dependencies=APPROVE)
def approve(hr: OnCompetition):
    return hr.act(
        Step.approve,
        lambda: service.approve(hr.session, hr.settings, vacancy=hr.vacancy, actor=hr.actor),
        message=_("Vacancy approved. It can now be published."),
    )


@router.post("/competitions/{vacancy_id:int}/return", dependencies=APPROVE)
def return_to_draft(hr: OnCompetition, reason: Annotated[str, Form()] = ""):
    return hr.act(
        Step.return_to_draft,
        lambda: service.return_to_draft(
            hr.session, vacancy=hr.vacancy, reason=reason, actor=hr.actor
        ),
        message=_("The vacancy went back to its author as a draft."),
        form="return",
        values={"reason": reason},
    )


@router.post("/competitions/{vacancy_id:int}/publish", dependencies=MANAGE)
def publish(hr: OnCompetition):
    return hr.act(
        Step.publish,
        lambda: service.publish(hr.session, hr.settings, vacancy=hr.vacancy, actor=hr.actor),
        message=_("Published. The notice is locked; its SHA-256 is on the public page."),
    )


@router.post("/competitions/{vacancy_id:int}/cancel", dependencies=MANAGE)
def cancel(hr: OnCompetition, reason: Annotated[str, Form()] = ""):
    return hr.act(
        Step.cancel,
        lambda: service.cancel(hr.session, vacancy=hr.vacancy, reason=reason, actor=hr.actor),
        message=_("The competition was cancelled; the reason is published."),
        form="cancel",
        values={"reason": reason},
    )


# --- the panel and the interview questions ------------------------------------------------------


@router.post("/competitions/{vacancy_id:int}/panel", dependencies=MANAGE)
def appoint_member(hr: OnCompetition, user_id: Annotated[str, Form()] = ""):
    def appoint():
        user = service.user_to_seat(hr.session, id_or_none(user_id))
        service.appoint_panel_member(hr.session, vacancy=hr.vacancy, user=user, actor=hr.actor)

    return hr.act(
        Step.change_panel,
        appoint,
        message=_("Panel member appointed."),
        form="panel",
        values={"user_id": user_id},
    )


@router.post("/competitions/{vacancy_id:int}/panel/{member_id:int}/remove", dependencies=MANAGE)
def remove_member(hr: OnCompetition, member_id: int):
    def remove():
        seat = service.panel_seat(hr.session, hr.vacancy, member_id)
        service.remove_panel_member(hr.session, vacancy=hr.vacancy, seat=seat, actor=hr.actor)

    return hr.act(Step.change_panel, remove, message=_("Removed from the panel."))


@router.post("/competitions/{vacancy_id:int}/interview-questions", dependencies=MANAGE)
def add_interview_question(
    hr: OnCompetition,
    competency: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
):
    return hr.act(
        Step.change_interview_questions,
        lambda: service.add_interview_question(
            hr.session, vacancy=hr.vacancy, competency_code=competency, text=text, actor=hr.actor
        ),
        message=_("Interview question added."),
        form="interview_question",
        values={"competency": competency, "text": text},
    )


@router.post(
    "/competitions/{vacancy_id:int}/interview-questions/{question_id:int}/remove",
    dependencies=MANAGE,
)
def remove_interview_question(hr: OnCompetition, question_id: int):
    def remove():
        question = service.interview_question_in(hr.session, hr.vacancy, question_id)
        service.remove_interview_question(
            hr.session, vacancy=hr.vacancy, question=question, actor=hr.actor
        )

    return hr.act(Step.change_interview_questions, remove, message=_("Interview question removed."))


# --- stages -------------------------------------------------------------------------------------


@router.post("/competitions/{vacancy_id:int}/test/open", dependencies=MANAGE)
def open_test(hr: OnCompetition):
    return hr.act(
        Step.open_test,
        lambda: service.open_test(hr.session, hr.settings, vacancy=hr.vacancy, actor=hr.actor),
        message=_("The knowledge test is open for the eligible candidates."),
    )


@router.post("/competitions/{vacancy_id:int}/test/close", dependencies=MANAGE)
def close_test(hr: OnCompetition):
    return hr.act(
        Step.close_test,
        lambda: service.close_test(hr.session, vacancy=hr.vacancy, actor=hr.actor),
        message=_("The test is closed and marked; the evidence sift is open."),
    )


@router.post("/competitions/{vacancy_id:int}/test/neutralise", dependencies=MANAGE)
def neutralise(
    hr: OnCompetition,
    question_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    return hr.act(
        Step.neutralise,
        lambda: service.neutralise(
            hr.session,
            vacancy=hr.vacancy,
            question_id=id_or_none(question_id),
            reason=reason,
            actor=hr.actor,
        ),
        message=_("The question was neutralised for every candidate."),
        form="neutralise",
        values={"question_id": question_id, "reason": reason},
    )


@router.post("/competitions/{vacancy_id:int}/sift/lock", dependencies=MANAGE)
def lock_sift(hr: OnCompetition):
    return hr.act(
        Step.lock_sift,
        lambda: service.lock_sift(hr.session, vacancy=hr.vacancy, actor=hr.actor),
        message=_("Sift scores locked and names revealed to the panel; interviews can begin."),
    )
