"""HR's side of a competition's outcome: the applications, the merit list, appeals and the
appointment.

Every page and action needs `manage_vacancies`, except the second-person decisions (deciding
appeals and out-of-order appointments), which need `approve_vacancies`. Refused actions return
to the merit list, which says why and keeps what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, id_or_none, require
from backend.i18n import _
from backend.web import render, render_form_errors

from .. import service
from ..models import VacancyStatus
from ..service import Step, VacancyError
from .common import OnCompetition, VacancyDep, notice_context

router = APIRouter()
MANAGE = [require(Permission.manage_vacancies)]
APPROVE = [require(Permission.approve_vacancies)]


def _merit_page(hr) -> str:
    return f"/competitions/{hr.vacancy.id}/merit"


# --- applications -------------------------------------------------------------------------------


@router.get("/competitions/{vacancy_id:int}/applications", dependencies=MANAGE)
def applications_list(request: Request, session: SessionDep, vacancy: VacancyDep):
    return render(
        request,
        "vacancies/applications.html",
        {
            "vacancy": vacancy,
            "applications": service.all_applications(session, vacancy),
            "units": service.units_by_id(session),
        },
    )


def _application_context(session, vacancy, application) -> dict[str, Any]:
    context = notice_context(session, vacancy)
    context.update(
        {
            "application": application,
            "record": service.promotion_evidence(
                session, vacancy=vacancy, application=application, for_panel=False
            ),
            "evidence": service.evidence_of(session, application),
            "attempt": service.attempt_of(session, application),
            "unit": service.hiring_unit_of(session, application),
            "errors": {},
            "values": {},
            "appeals": service.appeals_by(session, application),
            "deciders": service.user_names(session, [application.review_decided_by_id]),
        }
    )
    return context


@router.get("/competitions/{vacancy_id:int}/applications/{application_id:int}", dependencies=MANAGE)
def application_detail(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
    application_id: int,
):
    application = service.application_in(session, vacancy, application_id)
    context = _application_context(session, vacancy, application)
    service.record_read(
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
    application = service.application_in(hr.session, hr.vacancy, application_id)
    reinstate = {"reinstate": True, "confirm": False}.get(decision)
    return hr.act(
        None,
        lambda: service.decide_review(
            hr.session, application=application, reinstate=reinstate, reason=reason, actor=hr.actor
        ),
        message=_("The review was decided and the candidate can see the reasons."),
        page=f"/competitions/{hr.vacancy.id}/applications/{application.id}",
        on_error=lambda err: render_form_errors(
            hr.request,
            "vacancies/application_hr.html",
            _application_context(hr.session, hr.vacancy, application),
            errors=err.form_errors(),
            values={"decision": decision, "reason": reason},
            status_code=err.status_code,
        ),
    )


@router.post(
    "/competitions/{vacancy_id:int}/applications/{application_id:int}/declined",
    dependencies=MANAGE,
)
def declined(hr: OnCompetition, application_id: int, reason: Annotated[str, Form()] = ""):
    application = service.application_in(hr.session, hr.vacancy, application_id)
    return hr.act(
        None,
        lambda: service.record_declined(
            hr.session, application=application, reason=reason, actor=hr.actor
        ),
        message=_("Recorded that the candidate declined."),
        page=_merit_page(hr),
    )


# --- the merit list -----------------------------------------------------------------------------


def merit_context(
    session,
    settings,
    vacancy,
    principal,
) -> dict[str, Any]:
    context = notice_context(session, vacancy)
    appeals = service.appeals_of(session, vacancy)
    appointments = service.appointments_of(session, vacancy)
    deciders = [a.reviewer_id for a in appeals] + [a.decided_by_id for a in appeals]
    deciders += [a.proposed_by_id for a in appointments]
    deciders += [a.approved_by_id for a in appointments]
    context.update(
        {
            "apps": {a.id: a for a in service.all_applications(session, vacancy)},
            "preview": service.compute_merit(session, vacancy)
            if vacancy.status == VacancyStatus.interview
            else [],
            "entries": service.merit_entries(session, vacancy),
            "distribution": service.distribution(session, vacancy),
            "appeals": appeals,
            "appointments": appointments,
            "order": service.remaining_order(session, vacancy),
            "blockers": service.appointment_blockers(session, vacancy),
            "reserve": service.reserve_list(session, vacancy),
            "people": service.user_names(session, deciders),
            "is_member": service.membership(session, vacancy, principal.user) is not None,
        }
    )
    return context


@router.get("/competitions/{vacancy_id:int}/merit", dependencies=MANAGE)
def merit_page(hr: OnCompetition):
    return hr.show("vacancies/merit.html", merit_context, page=_merit_page(hr))


@router.post("/competitions/{vacancy_id:int}/results", dependencies=MANAGE)
def publish_results(hr: OnCompetition):
    return hr.act(
        Step.publish_results,
        lambda: service.publish_results(
            hr.session, hr.settings, vacancy=hr.vacancy, actor=hr.actor
        ),
        message=_("Merit list published; the appeal window is open."),
        page=_merit_page(hr),
    )


@router.post("/competitions/{vacancy_id:int}/merit/republish", dependencies=MANAGE)
def republish(hr: OnCompetition):
    return hr.act(
        None,
        lambda: service.republish_merit_list(hr.session, vacancy=hr.vacancy, actor=hr.actor),
        message=_("The corrected merit list was published."),
        page=_merit_page(hr),
    )


# --- appeals and the appointment ----------------------------------------------------------------


@router.post("/competitions/{vacancy_id:int}/appeals/{appeal_id:int}/review", dependencies=APPROVE)
def review_appeal(hr: OnCompetition, appeal_id: int):
    return hr.act(
        None,
        lambda: service.start_review(
            hr.session, appeal=service.appeal_in(hr.session, hr.vacancy, appeal_id), actor=hr.actor
        ),
        message=_("The appeal is under review."),
        page=_merit_page(hr),
    )


@router.post("/competitions/{vacancy_id:int}/appeals/{appeal_id:int}/decide", dependencies=APPROVE)
def decide_appeal(
    hr: OnCompetition,
    appeal_id: int,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    def decide():
        if decision not in ("upheld", "dismissed"):
            raise VacancyError(_("Choose a decision."), field="decision")
        appeal = service.appeal_in(hr.session, hr.vacancy, appeal_id)
        upheld = decision == "upheld"
        service.decide_appeal(
            hr.session, appeal=appeal, upheld=upheld, reason=reason, actor=hr.actor
        )

    return hr.act(None, decide, message=_("The appeal was decided."), page=_merit_page(hr))


@router.post("/competitions/{vacancy_id:int}/appointments", dependencies=MANAGE)
def appoint(
    hr: OnCompetition,
    application_id: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
):
    chosen = id_or_none(application_id)
    # A candidate who is not in this competition is a 404, as on every page that names one.
    application = None if chosen is None else service.application_in(hr.session, hr.vacancy, chosen)

    def propose():
        if application is None:
            raise VacancyError(_("Choose a candidate."), field="application_id")
        service.propose_appointment(
            hr.session,
            vacancy=hr.vacancy,
            application=application,
            justification=justification,
            actor=hr.actor,
        )

    return hr.act(
        None,
        propose,
        message=_(
            "Appointment recorded (or sent for second-level approval when out of merit order)."
        ),
        page=_merit_page(hr),
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
    def decide():
        appointment = service.appointment_in(hr.session, hr.vacancy, appointment_id)
        if decision not in ("approve", "refuse"):
            raise VacancyError(_("Choose a decision."), field="decision")
        approve = decision == "approve"
        service.decide_appointment(
            hr.session, appointment=appointment, approve=approve, note=note, actor=hr.actor
        )

    return hr.act(None, decide, message=_("The decision was recorded."), page=_merit_page(hr))
