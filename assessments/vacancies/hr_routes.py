"""HR's side: drafting, approval, publication, amendments, panel, stages, results, appointment.

Every page and action needs `manage_vacancies`, except the second-person decisions (approving a
vacancy, deciding appeals and out-of-order appointments), which need `approve_vacancies`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend import i18n
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, id_or_none, require
from backend.i18n import _
from backend.org.models import Position, Unit
from backend.web import (
    commit_and_redirect,
    flash,
    keep_form,
    kept_form,
    redirect,
    render,
    render_form_errors,
)

from . import applications, merit, scoring, service, testing
from .http import (
    VacancyDep,
    api_error,
    application_in,
    form_errors,
    user_names,
    vacancy_or_404,
)
from .models import (
    Appeal,
    Appointment,
    BankQuestion,
    InterviewQuestion,
    PanelMember,
    Stage,
    TieBreak,
    Vacancy,
    VacancyStatus,
)
from .public_routes import notice_context
from .service import NoticeInput, VacancyError
from .steps import Step, allowed_steps
from .testing import QuestionInput

router = APIRouter()
api_router = APIRouter(tags=["vacancies"])
MANAGE = [require(Permission.manage_vacancies)]
APPROVE = [require(Permission.approve_vacancies)]
BLUEPRINT_ROWS = 6
ELIGIBILITY_ROWS = 6


# --- the list -----------------------------------------------------------------------------------


def _positions(session: Session) -> list[tuple[Position, Unit]]:
    return list(
        session.exec(
            select(Position, Unit)
            .join(Unit, col(Unit.id) == Position.unit_id)
            .order_by(col(Unit.name), col(Position.title))
        ).all()
    )


@router.get("/competitions", dependencies=MANAGE)
def competitions(request: Request, session: SessionDep):
    return _competitions_page(request, session)


def _competitions_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
):
    """Return the competitions page (and the new vacancy form's errors, when refused)."""
    vacancies = service.list_vacancies(session)
    by_status: dict[str, list] = {}
    for vacancy in vacancies:
        by_status.setdefault(vacancy.status, []).append(vacancy)
    return render(
        request,
        "vacancies/competitions.html",
        {
            "by_status": by_status,
            "order": list(VacancyStatus),
            "positions": _positions(session),
            "units": {u.id: u for u in session.exec(select(Unit))},
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.post("/competitions", dependencies=MANAGE)
def create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    position_id: Annotated[str, Form()] = "",
):
    chosen = id_or_none(position_id)
    position = session.get(Position, chosen) if chosen is not None else None
    try:
        if position is None:
            raise VacancyError(_("Choose a position."), field="position_id")
        vacancy = service.create_vacancy(session, settings, position=position, actor=principal.user)
    except VacancyError as err:
        session.rollback()
        # The form's one field: every refusal is about the position chosen.
        return _competitions_page(
            request,
            session,
            errors={"position_id": str(err)},
            values={"position_id": position_id},
            status_code=422,
        )
    return commit_and_redirect(
        request,
        session,
        _("Draft created from the position's competency profile. Complete the notice."),
        f"/competitions/{vacancy.id}/edit",
    )


# --- the question bank --------------------------------------------------------------------------


def _bank_context(session: Session):
    return {
        "domains": service.domains(session),
        "questions": testing.bank(session),
        "competencies": service.competency_names(session),
        "counts": testing.bank_counts(session),
        "errors": {},
        "values": {},
    }


@router.get("/competitions/bank", dependencies=MANAGE)
def bank(request: Request, session: SessionDep):
    return render(request, "vacancies/bank.html", _bank_context(session))


@router.post("/competitions/bank/domains", dependencies=MANAGE)
def add_domain(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    domain_code: Annotated[str, Form()] = "",
    domain_name_es: Annotated[str, Form()] = "",
    domain_name_en: Annotated[str, Form()] = "",
):
    code, name_es, name_en = domain_code, domain_name_es, domain_name_en
    try:
        testing.create_domain(
            session, code=code, name_es=name_es, name_en=name_en, actor=principal.user
        )
    except VacancyError as err:
        session.rollback()
        return render_form_errors(
            request,
            "vacancies/bank.html",
            _bank_context(session),
            errors={f"domain_{k}": v for k, v in err.errors.items()},
            values={"code": code, "name_es": name_es, "name_en": name_en},
            status_code=err.status_code,
        )
    return commit_and_redirect(request, session, _("Knowledge domain added."), "/competitions/bank")


@router.post("/competitions/bank/questions", dependencies=MANAGE)
async def add_question(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = await request.form()
    data = QuestionInput(
        domain=str(form.get("domain", "")),
        competency=str(form.get("competency", "")),
        difficulty=str(form.get("difficulty", "")),
        stem=str(form.get("stem", "")),
        options=[str(form.get(f"option_{n}", "")) for n in range(1, 7)],
        correct=str(form.get("correct", "")),
    )
    try:
        testing.add_question(session, data=data, actor=principal.user)
    except VacancyError as err:
        session.rollback()
        return render_form_errors(
            request,
            "vacancies/bank.html",
            _bank_context(session),
            errors=err.errors,
            values={**data.__dict__, "options": data.options},
            status_code=err.status_code,
        )
    return commit_and_redirect(
        request, session, _("Question added to the bank."), "/competitions/bank"
    )


@router.post("/competitions/bank/questions/{question_id:int}/retire", dependencies=MANAGE)
def retire_question(
    request: Request, session: SessionDep, principal: CurrentPrincipal, question_id: int
):
    question = session.get(BankQuestion, question_id)
    if question is None:
        raise HTTPException(status_code=404, detail=_("This question does not exist."))
    testing.retire_question(session, question=question, actor=principal.user)
    return commit_and_redirect(
        request, session, _("The question will not be drawn in future tests."), "/competitions/bank"
    )


# --- one competition ----------------------------------------------------------------------------


def competition_context(
    session: Session,
    settings: Settings,
    vacancy,
    principal,
    error: str = "",
    *,
    form: str = "",
    errors: dict | None = None,
    values: dict | None = None,
) -> dict[str, Any]:
    """Return everything the competition page shows at the vacancy's stage (and a refused
    form's errors and what was typed, kept across the redirect: `form`, `errors`, `values`)."""
    context = notice_context(session, vacancy)
    seats = service.panel_of(session, vacancy)
    members = {s.user_id: session.get(User, s.user_id) for s in seats}
    all_apps = service.all_applications(session, vacancy)
    people = user_names(
        session,
        [
            vacancy.created_by_id,
            vacancy.submitted_by_id,
            vacancy.approved_by_id,
            vacancy.published_by_id,
        ],
    )
    stage = vacancy.status if vacancy.status in (Stage.sift, Stage.interview) else None
    progress = {}
    if stage:
        scores = scoring.current_scores(session, vacancy, stage)
        consensus = scoring.stage_scores(session, vacancy, stage)
        for application in service.active_applications(session, vacancy):
            raters = scoring.eligible_raters(session, vacancy, application)
            done = sum(
                1
                for r in raters
                if all((application.id, c, r) in scores for c in scoring.criteria_codes(vacancy))
            )
            progress[application.id] = (done, len(raters), application.id in consensus)
    context.update(
        {
            "principal": principal,
            "error": error,
            "amendments": service.amendments(session, vacancy),
            "open": service.window_open(vacancy),
            "people": people,
            "seats": seats,
            "members": members,
            "panel_problems": service.panel_problems(session, vacancy),
            "panel_locked": service.panel_locked(session, vacancy),
            "panel_choices": [u for u in service.panel_candidates(session) if u.id not in members],
            "declarations": {
                s.user_id: scoring.pending_declarations(session, vacancy, members[s.user_id])
                for s in seats
            },
            "applications": all_apps,
            "counts": _application_counts(all_apps),
            "pending_reviews": applications.pending_reviews(session, vacancy),
            "review_closes": service.review_window_closes(settings, vacancy),
            "shortfalls": service.bank_shortfalls(session, vacancy)
            if vacancy.status in (VacancyStatus.draft, VacancyStatus.pending_approval)
            else [],
            "interview_questions": service.interview_questions(session, vacancy),
            "missing_questions": [
                i18n.localized(context["competencies"][code], "name")
                if code in context["competencies"]
                else code
                for code in service.missing_interview_questions(session, vacancy)
            ],
            "interview_locked": service.interview_locked(vacancy),
            "question_stats": testing.question_stats(session, vacancy)
            if vacancy.status in (VacancyStatus.testing, VacancyStatus.sift)
            else [],
            "neutralised": testing.neutralised(session, vacancy),
            "stage": stage,
            "progress": progress,
            "now": service.now_or(None),
            "can_approve": principal.can(Permission.approve_vacancies)
            and principal.user.id not in (vacancy.created_by_id, vacancy.submitted_by_id),
            "steps": allowed_steps(session, settings, vacancy, principal.user),
            "form": form,
            "errors": errors or {},
            "values": values or {},
        }
    )
    return context


def _application_counts(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for application in rows:
        counts[application.status] = counts.get(application.status, 0) + 1
    return counts


@router.get("/competitions/{vacancy_id:int}", dependencies=MANAGE)
def competition(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
):
    kept = kept_form(request, f"/competitions/{vacancy.id}")
    return render(
        request,
        "vacancies/competition.html",
        competition_context(session, settings, vacancy, principal, **kept),
    )


@dataclass
class CompetitionAction:
    """One HR action on a competition, with what it needs: the routes' dependency.

    The vacancy is loaded before the route runs: one that does not exist is a 404 first.
    """

    request: Request
    session: Session
    settings: Settings
    principal: Principal
    vacancy: Vacancy

    @property
    def actor(self) -> User:
        return self.principal.user

    def run(
        self,
        action: Callable[[Vacancy], Any],
        done: str | Callable[[Any], str],
        *,
        step: Step | None = None,
        target: str | None = None,
        refused: Callable[[Vacancy, VacancyError], Response] | None = None,
        form: str = "",
        values: dict[str, Any] | None = None,
    ) -> Response:
        """Return a redirect after `action(vacancy)` is committed, with `done` (or `done(what
        the action returned)`) flashed.

        A `step` the actor may not take now (`allowed_steps`) is refused before the action
        runs. When a rule refuses it, roll back and return `refused(vacancy, error)`; by
        default a redirect back to the competition page, which says why and shows `form` again
        with `values` as typed (never a page at the POST-only URL, which a reload would post
        again)."""
        vacancy_id = self.vacancy.id
        try:
            if step is not None:
                steps = allowed_steps(self.session, self.settings, self.vacancy, self.actor)
                if step not in steps:
                    raise VacancyError(steps.why_not(step), status_code=409)
            result = action(self.vacancy)
        except VacancyError as err:
            self.session.rollback()
            vacancy = vacancy_or_404(self.session, vacancy_id)
            if refused is not None:
                return refused(vacancy, err)
            return self.back_to(f"/competitions/{vacancy_id}", err, form=form, values=values)
        return commit_and_redirect(
            self.request,
            self.session,
            done(result) if callable(done) else done,
            target or f"/competitions/{vacancy_id}",
        )

    def run_on_merit_list(
        self,
        action: Callable[[Vacancy], Any],
        done: str,
        *,
        step: Step | None = None,
        form: str = "",
        values: dict[str, Any] | None = None,
    ) -> Response:
        """Return `run`'s answer for an action of the merit list page, which shows it again."""
        page = f"/competitions/{self.vacancy.id}/merit"
        return self.run(
            action,
            done,
            step=step,
            target=page,
            refused=lambda vacancy, err: self.back_to(page, err, form=form, values=values),
        )

    def back_to(
        self, page: str, err: VacancyError, *, form: str = "", values: dict[str, Any] | None = None
    ) -> Response:
        """Return a redirect to `page`, which says why the action was refused and shows `form`
        again with its errors and `values` as typed."""
        if form:
            keep_form(self.request, page=page, form=form, errors=err.errors, values=values or {})
            self.session.commit()
        flash(self.request, str(err), "error")
        self.session.commit()
        return redirect(self.request, page)


def _competition_action(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
) -> CompetitionAction:
    return CompetitionAction(request, session, settings, principal, vacancy)


# A route parameter: HR acting on the competition named by the path's `vacancy_id`.
OnCompetition = Annotated[CompetitionAction, Depends(_competition_action)]


def _notice_input(form) -> NoticeInput:
    return NoticeInput(
        title=str(form.get("title", "")),
        summary=str(form.get("summary", "")),
        criteria={
            key[len("assess_") :]: str(form.get("level_" + key[len("assess_") :], ""))
            for key in form
            if key.startswith("assess_")
        },
        knowledge_domains=[str(v) for v in form.getlist("knowledge_domains")],
        weight_test=str(form.get("weight_test", "")),
        weight_sift=str(form.get("weight_sift", "")),
        weight_interview=str(form.get("weight_interview", "")),
        weight_justification=str(form.get("weight_justification", "")),
        pass_mark_test=str(form.get("pass_mark_test", "")),
        pass_mark_sift=str(form.get("pass_mark_sift", "")),
        pass_mark_interview=str(form.get("pass_mark_interview", "")),
        tie_break=str(form.get("tie_break", "")),
        panel_size=str(form.get("panel_size", "")),
        blueprint=[
            (
                str(form.get(f"blueprint_domain_{n}", "")),
                str(form.get(f"blueprint_difficulty_{n}", "")),
                str(form.get(f"blueprint_count_{n}", "")),
            )
            for n in range(BLUEPRINT_ROWS)
        ],
        test_minutes=str(form.get("test_minutes", "")),
        eligibility=[
            (
                str(form.get(f"eligibility_text_{n}", "")),
                str(form.get(f"eligibility_answer_{n}", "yes")),
            )
            for n in range(ELIGIBILITY_ROWS)
        ],
        posting_days=str(form.get("posting_days", "")),
    )


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
    data = _notice_input(await request.form())
    return hr.run(
        lambda v: service.update_draft(
            hr.session, hr.settings, vacancy=v, data=data, actor=hr.actor
        ),
        _("The draft was saved."),
        refused=lambda v, err: _notice_form_refused(hr, v, err, mode="edit", data=data),
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
    data = _notice_input(form)
    data.posting_days = str(hr.vacancy.posting_days)
    reason = str(form.get("reason", ""))
    return hr.run(
        lambda v: service.amend(
            hr.session, hr.settings, vacancy=v, data=data, reason=reason, actor=hr.actor
        ),
        lambda amendment: _(
            "Amendment %(n)s published; the application window was reopened.", n=amendment.number
        ),
        refused=lambda v, err: _notice_form_refused(
            hr, v, err, mode="amend", data=data, reason=reason
        ),
    )


def _notice_form_refused(
    hr: CompetitionAction,
    vacancy: Vacancy,
    err: VacancyError,
    *,
    mode: str,
    data: NoticeInput,
    reason: str = "",
) -> Response:
    """Return the notice form again with why it was refused and what was typed."""
    return render(
        hr.request,
        "vacancies/vacancy_form.html",
        _form_context(
            hr.session,
            hr.settings,
            vacancy,
            mode=mode,
            data=data,
            errors=form_errors(err),
            reason=reason,
        ),
        status_code=err.status_code,
    )


@router.post("/competitions/{vacancy_id:int}/submit", dependencies=MANAGE)
def submit(hr: OnCompetition):
    return hr.run(
        lambda v: service.submit_for_approval(hr.session, hr.settings, vacancy=v, actor=hr.actor),
        _("Sent for approval to a second person."),
        step=Step.submit,
    )


@router.post("/competitions/{vacancy_id:int}/approve", dependencies=APPROVE)
def approve(hr: OnCompetition):
    return hr.run(
        lambda v: service.approve(hr.session, hr.settings, vacancy=v, actor=hr.actor),
        _("Vacancy approved. It can now be published."),
        step=Step.approve,
    )


@router.post("/competitions/{vacancy_id:int}/return", dependencies=APPROVE)
def return_to_draft(hr: OnCompetition, reason: Annotated[str, Form()] = ""):
    return hr.run(
        lambda v: service.return_to_draft(hr.session, vacancy=v, reason=reason, actor=hr.actor),
        _("The vacancy went back to its author as a draft."),
        step=Step.return_to_draft,
        form="return",
        values={"reason": reason},
    )


@router.post("/competitions/{vacancy_id:int}/publish", dependencies=MANAGE)
def publish(hr: OnCompetition):
    return hr.run(
        lambda v: service.publish(hr.session, hr.settings, vacancy=v, actor=hr.actor),
        _("Published. The notice is locked; its SHA-256 is on the public page."),
        step=Step.publish,
    )


@router.post("/competitions/{vacancy_id:int}/cancel", dependencies=MANAGE)
def cancel(hr: OnCompetition, reason: Annotated[str, Form()] = ""):
    return hr.run(
        lambda v: service.cancel(hr.session, vacancy=v, reason=reason, actor=hr.actor),
        _("The competition was cancelled; the reason is published."),
        step=Step.cancel,
        form="cancel",
        values={"reason": reason},
    )


@router.post("/competitions/{vacancy_id:int}/panel", dependencies=MANAGE)
def appoint_member(hr: OnCompetition, user_id: Annotated[str, Form()] = ""):
    def action(vacancy):
        chosen = id_or_none(user_id)
        user = hr.session.get(User, chosen) if chosen is not None else None
        if user is None:
            raise VacancyError(_("Choose a person."), field="user_id")
        service.appoint_panel_member(hr.session, vacancy=vacancy, user=user, actor=hr.actor)

    return hr.run(
        action,
        _("Panel member appointed."),
        step=Step.change_panel,
        form="panel",
        values={"user_id": user_id},
    )


@router.post("/competitions/{vacancy_id:int}/panel/{member_id:int}/remove", dependencies=MANAGE)
def remove_member(hr: OnCompetition, member_id: int):
    def action(vacancy):
        seat = hr.session.get(PanelMember, member_id)
        if seat is None or seat.vacancy_id != vacancy.id:
            raise VacancyError(_("This panel member does not exist."), status_code=404)
        service.remove_panel_member(hr.session, vacancy=vacancy, seat=seat, actor=hr.actor)

    return hr.run(action, _("Removed from the panel."), step=Step.change_panel)


@router.post("/competitions/{vacancy_id:int}/interview-questions", dependencies=MANAGE)
def add_interview_question(
    hr: OnCompetition,
    competency: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
):
    return hr.run(
        lambda v: service.add_interview_question(
            hr.session, vacancy=v, competency_code=competency, text=text, actor=hr.actor
        ),
        _("Interview question added."),
        step=Step.change_interview_questions,
        form="interview_question",
        values={"competency": competency, "text": text},
    )


@router.post(
    "/competitions/{vacancy_id:int}/interview-questions/{question_id:int}/remove",
    dependencies=MANAGE,
)
def remove_interview_question(hr: OnCompetition, question_id: int):
    def action(vacancy):
        question = hr.session.get(InterviewQuestion, question_id)
        if question is None or question.vacancy_id != vacancy.id:
            raise VacancyError(_("This question does not exist."), status_code=404)
        service.remove_interview_question(
            hr.session, vacancy=vacancy, question=question, actor=hr.actor
        )

    return hr.run(action, _("Interview question removed."), step=Step.change_interview_questions)


# --- applications -------------------------------------------------------------------------------


@router.get("/competitions/{vacancy_id:int}/applications", dependencies=MANAGE)
def applications_list(request: Request, session: SessionDep, vacancy: VacancyDep):
    return render(
        request,
        "vacancies/applications.html",
        {
            "vacancy": vacancy,
            "applications": service.all_applications(session, vacancy),
            "units": {u.id: u for u in session.exec(select(Unit))},
        },
    )


def _application_context(session, settings, vacancy, application):
    context = notice_context(session, vacancy)
    attempt = testing.attempt_of(session, application)
    context.update(
        {
            "application": application,
            "record": applications.promotion_evidence(
                session, vacancy=vacancy, application=application, for_panel=False
            ),
            "evidence": applications.evidence_of(session, application),
            "attempt": attempt,
            "unit": session.get(Unit, application.unit_id) if application.unit_id else None,
            "errors": {},
            "values": {},
            "appeals": merit.appeals_by(session, application),
            "deciders": user_names(session, [application.review_decided_by_id]),
        }
    )
    return context


@router.get("/competitions/{vacancy_id:int}/applications/{application_id:int}", dependencies=MANAGE)
def application_detail(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
    application_id: int,
):
    application = application_in(session, vacancy, application_id)
    context = _application_context(session, settings, vacancy, application)
    applications.record_read(
        session,
        application=application,
        actor=principal.user,
        purpose="hr_review",
        promotion_evidence=context["record"] is not None,
    )
    session.commit()
    return render(request, "vacancies/application_hr.html", context)


@router.post(
    "/competitions/{vacancy_id:int}/applications/{application_id:int}/review",
    dependencies=MANAGE,
)
def decide_review(
    hr: OnCompetition,
    application_id: int,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    application = application_in(hr.session, hr.vacancy, application_id)

    def action(vacancy):
        applications.decide_review(
            hr.session,
            application=application,
            reinstate={"reinstate": True, "confirm": False}.get(decision),
            reason=reason,
            actor=hr.actor,
        )

    return hr.run(
        action,
        _("The review was decided and the candidate can see the reasons."),
        target=f"/competitions/{hr.vacancy.id}/applications/{application.id}",
        refused=lambda v, err: render_form_errors(
            hr.request,
            "vacancies/application_hr.html",
            _application_context(hr.session, hr.settings, v, application),
            errors=form_errors(err),
            values={"decision": decision, "reason": reason},
            status_code=err.status_code,
        ),
    )


@router.post(
    "/competitions/{vacancy_id:int}/applications/{application_id:int}/declined",
    dependencies=MANAGE,
)
def declined(hr: OnCompetition, application_id: int, reason: Annotated[str, Form()] = ""):
    def action(vacancy):
        application = application_in(hr.session, vacancy, application_id)
        merit.record_declined(hr.session, application=application, reason=reason, actor=hr.actor)

    return hr.run_on_merit_list(action, _("Recorded that the candidate declined."))


# --- stages -------------------------------------------------------------------------------------


@router.post("/competitions/{vacancy_id:int}/test/open", dependencies=MANAGE)
def open_test(hr: OnCompetition):
    return hr.run(
        lambda v: testing.open_test(hr.session, hr.settings, vacancy=v, actor=hr.actor),
        _("The knowledge test is open for the eligible candidates."),
        step=Step.open_test,
    )


@router.post("/competitions/{vacancy_id:int}/test/close", dependencies=MANAGE)
def close_test(hr: OnCompetition):
    return hr.run(
        lambda v: testing.close_test(hr.session, vacancy=v, actor=hr.actor),
        _("The test is closed and marked; the evidence sift is open."),
        step=Step.close_test,
    )


@router.post("/competitions/{vacancy_id:int}/test/neutralise", dependencies=MANAGE)
def neutralise(
    hr: OnCompetition,
    question_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    def action(vacancy):
        chosen = id_or_none(question_id)
        if chosen is None:
            raise VacancyError(_("Choose a question."), field="question_id")
        testing.neutralise(
            hr.session,
            vacancy=vacancy,
            question_id=chosen,
            reason=reason,
            actor=hr.actor,
        )

    return hr.run(
        action,
        _("The question was neutralised for every candidate."),
        step=Step.neutralise,
        form="neutralise",
        values={"question_id": question_id, "reason": reason},
    )


@router.post("/competitions/{vacancy_id:int}/sift/lock", dependencies=MANAGE)
def lock_sift(hr: OnCompetition):
    return hr.run(
        lambda v: scoring.lock_sift(hr.session, vacancy=v, actor=hr.actor),
        _("Sift scores locked and names revealed to the panel; interviews can begin."),
        step=Step.lock_sift,
    )


# --- merit list, appeals, appointment -----------------------------------------------------------


def merit_context(
    session,
    settings,
    vacancy,
    principal,
    error: str = "",
    *,
    form: str = "",
    errors: dict | None = None,
    values: dict | None = None,
) -> dict[str, Any]:
    context = notice_context(session, vacancy)
    apps = {a.id: a for a in service.all_applications(session, vacancy)}
    appeals = merit.appeals_of(session, vacancy)
    appointments = merit.appointments_of(session, vacancy)
    context.update(
        {
            "apps": apps,
            "preview": merit.compute_merit(session, vacancy)
            if vacancy.status == VacancyStatus.interview
            else [],
            "entries": merit.merit_entries(session, vacancy),
            "distribution": merit.distribution(session, vacancy),
            "appeals": appeals,
            "appointments": appointments,
            "order": merit.remaining_order(session, vacancy),
            "blockers": merit.appointment_blockers(session, vacancy),
            "reserve": merit.reserve_list(session, vacancy),
            "people": user_names(
                session,
                [a.reviewer_id for a in appeals]
                + [a.decided_by_id for a in appeals]
                + [a.proposed_by_id for a in appointments]
                + [a.approved_by_id for a in appointments],
            ),
            "error": error,
            "principal": principal,
            "is_member": service.membership(session, vacancy, principal.user) is not None,
            "steps": allowed_steps(session, settings, vacancy, principal.user),
            "form": form,
            "errors": errors or {},
            "values": values or {},
        }
    )
    return context


@router.get("/competitions/{vacancy_id:int}/merit", dependencies=MANAGE)
def merit_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
):
    kept = kept_form(request, f"/competitions/{vacancy.id}/merit")
    return render(
        request,
        "vacancies/merit.html",
        merit_context(session, settings, vacancy, principal, **kept),
    )


@router.post("/competitions/{vacancy_id:int}/results", dependencies=MANAGE)
def publish_results(hr: OnCompetition):
    return hr.run_on_merit_list(
        lambda v: merit.publish_results(hr.session, hr.settings, vacancy=v, actor=hr.actor),
        _("Merit list published; the appeal window is open."),
        step=Step.publish_results,
    )


@router.post("/competitions/{vacancy_id:int}/merit/republish", dependencies=MANAGE)
def republish(hr: OnCompetition):
    return hr.run_on_merit_list(
        lambda v: merit.republish_merit_list(hr.session, vacancy=v, actor=hr.actor),
        _("The corrected merit list was published."),
    )


def _appeal(session, vacancy, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.vacancy_id != vacancy.id:
        raise VacancyError(_("This appeal does not exist."), status_code=404)
    return appeal


@router.post("/competitions/{vacancy_id:int}/appeals/{appeal_id:int}/review", dependencies=APPROVE)
def review_appeal(hr: OnCompetition, appeal_id: int):
    return hr.run_on_merit_list(
        lambda v: merit.start_review(
            hr.session, appeal=_appeal(hr.session, v, appeal_id), actor=hr.actor
        ),
        _("The appeal is under review."),
    )


@router.post("/competitions/{vacancy_id:int}/appeals/{appeal_id:int}/decide", dependencies=APPROVE)
def decide_appeal(
    hr: OnCompetition,
    appeal_id: int,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    def action(vacancy):
        if decision not in ("upheld", "dismissed"):
            raise VacancyError(_("Choose a decision."), field="decision")
        merit.decide_appeal(
            hr.session,
            appeal=_appeal(hr.session, vacancy, appeal_id),
            upheld=decision == "upheld",
            reason=reason,
            actor=hr.actor,
        )

    return hr.run_on_merit_list(action, _("The appeal was decided."))


@router.post("/competitions/{vacancy_id:int}/appointments", dependencies=MANAGE)
def appoint(
    hr: OnCompetition,
    application_id: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
):
    def action(vacancy):
        chosen = id_or_none(application_id)
        if chosen is None:
            raise VacancyError(_("Choose a candidate."), field="application_id")
        application = application_in(hr.session, vacancy, chosen)
        merit.propose_appointment(
            hr.session,
            vacancy=vacancy,
            application=application,
            justification=justification,
            actor=hr.actor,
        )

    return hr.run_on_merit_list(
        action,
        _("Appointment recorded (or sent for second-level approval when out of merit order)."),
        form="appointment",
        values={"application_id": application_id, "justification": justification},
    )


@router.post(
    "/competitions/{vacancy_id:int}/appointments/{appointment_id:int}/decide",
    dependencies=APPROVE,
)
def decide_appointment(
    hr: OnCompetition,
    appointment_id: int,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    def action(vacancy):
        appointment = hr.session.get(Appointment, appointment_id)
        if appointment is None or appointment.vacancy_id != vacancy.id:
            raise VacancyError(_("This appointment does not exist."), status_code=404)
        if decision not in ("approve", "refuse"):
            raise VacancyError(_("Choose a decision."), field="decision")
        merit.decide_appointment(
            hr.session,
            appointment=appointment,
            approve=decision == "approve",
            note=note,
            actor=hr.actor,
        )

    return hr.run_on_merit_list(action, _("The decision was recorded."))


# --- JSON ---------------------------------------------------------------------------------------


class MeritEntryOut(BaseModel):
    rank: int | None
    application_id: int
    candidate: str
    internal: bool
    test: float | None
    sift: float | None
    interview: float | None
    total: float | None
    out_stage: str


class MeritListOut(BaseModel):
    reference: str
    version: int
    sha256: str
    entries: list[MeritEntryOut]


@api_router.get(
    "/competitions/{vacancy_id:int}/merit-list",
    response_model=MeritListOut,
    dependencies=MANAGE,
)
def merit_list_json(session: SessionDep, vacancy: VacancyDep):
    """The published merit list (newest version), with names, for HR systems."""
    if not vacancy.merit_version:
        return api_error(VacancyError(_("The merit list has not been published."), status_code=404))
    apps = {a.id: a for a in service.all_applications(session, vacancy)}
    return MeritListOut(
        reference=vacancy.reference,
        version=vacancy.merit_version,
        sha256=vacancy.merit_sha256,
        entries=[
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
            for e in merit.merit_entries(session, vacancy)
        ],
    )
