"""After the results: appeals, corrected lists, the appointment (in merit order, or justified
and approved by a second person), declines, the reserve list and each person's rejections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.events import DomainEvent, publish
from backend.i18n import _

from ..events import APPOINTED
from ..models import (
    Appeal,
    AppealStatus,
    Application,
    ApplicationStatus,
    Appointment,
    AppointmentStatus,
    MeritListEntry,
    Vacancy,
    VacancyStatus,
)
from .base import VacancyError, all_applications, can, now_or, require_reason, set_status
from .merit import RESERVE_VALIDITY, merit_entries, reject_events, write_merit_list
from .panel import membership
from .standing import audit_application

# --- appeals ------------------------------------------------------------------------------------


def appeals_of(session: Session, vacancy: Vacancy) -> list[Appeal]:
    return list(
        session.exec(select(Appeal).where(Appeal.vacancy_id == vacancy.id).order_by(col(Appeal.id)))
    )


def appeals_by(session: Session, application: Application) -> list[Appeal]:
    return list(
        session.exec(
            select(Appeal).where(Appeal.application_id == application.id).order_by(col(Appeal.id))
        )
    )


def appeal_open(vacancy: Vacancy, now: datetime | None = None) -> bool:
    """True while the published results may be appealed."""
    return (
        vacancy.status == VacancyStatus.results
        and vacancy.appeal_closes_at is not None
        and now_or(now) <= vacancy.appeal_closes_at
    )


def submit_appeal(
    session: Session,
    *,
    application: Application,
    user: User,
    grounds: str,
    now: datetime | None = None,
) -> Appeal:
    """A candidate appeals the published results, within the appeal window."""
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    vacancy = session.get(Vacancy, application.vacancy_id)
    moment = now_or(now)
    if (
        vacancy.status != VacancyStatus.results
        or vacancy.appeal_closes_at is None
        or moment > vacancy.appeal_closes_at
    ):
        raise VacancyError(_("The appeal window is closed."), status_code=409)
    if application.status == ApplicationStatus.withdrawn:
        raise VacancyError(_("This application was withdrawn."), status_code=409)
    if any(
        a.status in (AppealStatus.submitted, AppealStatus.under_review)
        for a in appeals_by(session, application)
    ):
        raise VacancyError(_("Your appeal is already being dealt with."), status_code=409)
    grounds = require_reason(grounds, field="grounds")
    appeal = Appeal(
        vacancy_id=vacancy.id,
        application_id=application.id,
        grounds=grounds[:6000],
        submitted_at=moment,
    )
    session.add(appeal)
    session.flush()
    audit_application(
        session,
        action="vacancy.appeal_submitted",
        actor=user,
        application=application,
        after={"appeal_id": appeal.id, "grounds": grounds},
    )
    return appeal


def _check_reviewer(session: Session, appeal: Appeal, actor: User) -> Vacancy:
    vacancy = session.get(Vacancy, appeal.vacancy_id)
    if not can(session, actor, Permission.approve_vacancies):
        raise VacancyError(_("You do not have permission to do this."), status_code=403)
    if membership(session, vacancy, actor) is not None:
        raise VacancyError(
            _("Panel members cannot review appeals against their own scores."), status_code=403
        )
    return vacancy


def start_review(session: Session, *, appeal: Appeal, actor: User) -> Appeal:
    """Take an appeal into review."""
    _check_reviewer(session, appeal, actor)
    if appeal.status != AppealStatus.submitted:
        raise VacancyError(_("This appeal is not waiting for review."), status_code=409)
    appeal.status = AppealStatus.under_review
    appeal.reviewer_id = actor.id
    appeal.review_started_at = clock.now()
    session.add(appeal)
    audit.record(
        session,
        action="vacancy.appeal_review_started",
        actor=actor,
        entity_type="vacancy_appeal",
        entity_id=appeal.id,
        before={"status": AppealStatus.submitted},
        after={"status": appeal.status},
    )
    return appeal


def decide_appeal(
    session: Session, *, appeal: Appeal, upheld: bool, reason: str, actor: User
) -> Appeal:
    """Uphold or dismiss an appeal under review, with the reasons (the candidate sees them)."""
    _check_reviewer(session, appeal, actor)
    if appeal.status != AppealStatus.under_review:
        raise VacancyError(_("Take the appeal into review first."), status_code=409)
    reason = require_reason(reason)
    appeal.status = AppealStatus.upheld if upheld else AppealStatus.dismissed
    appeal.decided_by_id = actor.id
    appeal.decided_at = clock.now()
    appeal.decision_reason = reason
    session.add(appeal)
    audit.record(
        session,
        action="vacancy.appeal_decided",
        actor=actor,
        entity_type="vacancy_appeal",
        entity_id=appeal.id,
        before={"status": AppealStatus.under_review},
        after={"status": appeal.status, "reason": reason},
    )
    return appeal


def _uncorrected(session: Session, vacancy: Vacancy) -> list[Appeal]:
    """Return upheld appeals not yet taken into account by a published merit list."""
    return [
        a
        for a in appeals_of(session, vacancy)
        if a.status == AppealStatus.upheld and a.corrected_in_version is None
    ]


def republish_merit_list(session: Session, *, vacancy: Vacancy, actor: User) -> Vacancy:
    """Publish a new version of the merit list after upheld appeals corrected scores."""
    if vacancy.status != VacancyStatus.results:
        raise VacancyError(
            _("The merit list can be republished only during the appeal stage."), status_code=409
        )
    uncorrected = _uncorrected(session, vacancy)
    if not uncorrected:
        raise VacancyError(
            _("Only an upheld appeal gives a reason to publish the merit list again."),
            status_code=409,
        )
    before = {a.id: a.status for a in all_applications(session, vacancy)}
    write_merit_list(session, vacancy=vacancy, actor=actor, moment=clock.now())
    for appeal in uncorrected:
        appeal.corrected_in_version = vacancy.merit_version
        session.add(appeal)
    session.flush()
    newly_out = [
        a
        for a in all_applications(session, vacancy)
        if a.status == ApplicationStatus.out and before.get(a.id) != ApplicationStatus.out
    ]
    reject_events(session, vacancy, newly_out)
    return vacancy


def appointment_blockers(
    session: Session, vacancy: Vacancy, now: datetime | None = None
) -> list[str]:
    """Return why nobody can be appointed yet (translated), or an empty list."""
    moment = now_or(now)
    if vacancy.status == VacancyStatus.appointed:
        if vacancy.reserve_valid_until is None or moment > vacancy.reserve_valid_until:
            return [_("The reserve list has expired.")]
        return []
    if vacancy.status != VacancyStatus.results:
        return [_("The merit list has not been published.")]
    problems = []
    if vacancy.appeal_closes_at is not None and moment <= vacancy.appeal_closes_at:
        problems.append(_("The appeal window is still open."))
    open_appeals = [
        a
        for a in appeals_of(session, vacancy)
        if a.status in (AppealStatus.submitted, AppealStatus.under_review)
    ]
    if open_appeals:
        problems.append(_("%(n)s appeal(s) are still undecided.", n=len(open_appeals)))
    if _uncorrected(session, vacancy):
        problems.append(_("An appeal was upheld: publish the corrected merit list first."))
    if session.exec(
        select(Appointment.id).where(
            Appointment.vacancy_id == vacancy.id,
            Appointment.status == AppointmentStatus.pending_approval,
        )
    ).first():
        problems.append(_("An appointment is waiting for second-level approval."))
    return problems


def remaining_order(session: Session, vacancy: Vacancy) -> list[tuple[MeritListEntry, Application]]:
    """Return ranked candidates not yet appointed or declined, in merit order."""
    applications = {a.id: a for a in all_applications(session, vacancy)}
    return [
        (entry, applications[entry.application_id])
        for entry in merit_entries(session, vacancy)
        if entry.rank is not None
        and applications[entry.application_id].status == ApplicationStatus.ranked
    ]


def appointments_of(session: Session, vacancy: Vacancy) -> list[Appointment]:
    return list(
        session.exec(
            select(Appointment)
            .where(Appointment.vacancy_id == vacancy.id)
            .order_by(col(Appointment.id))
        )
    )


def _make_effective(
    session: Session, *, vacancy: Vacancy, appointment: Appointment, actor: User, moment: datetime
) -> None:
    application = session.get(Application, appointment.application_id)
    appointment.status = AppointmentStatus.effective
    appointment.effective_at = moment
    application.status = ApplicationStatus.appointed
    session.add(appointment)
    session.add(application)
    if vacancy.status == VacancyStatus.results:
        vacancy.appointed_at = moment
        vacancy.reserve_valid_until = moment + RESERVE_VALIDITY
        set_status(
            session,
            vacancy=vacancy,
            status=VacancyStatus.appointed,
            actor=actor,
            extra={"reserve_valid_until": vacancy.reserve_valid_until},
        )
    audit_application(
        session,
        action="vacancy.candidate_appointed",
        actor=actor,
        application=application,
        after={
            "rank": appointment.merit_rank,
            "from_reserve": appointment.from_reserve,
            "justification": appointment.justification,
        },
    )
    publish(
        session,
        DomainEvent(
            APPOINTED,
            payload={
                "vacancy_id": vacancy.id,
                "stage": "appointment",
                "reason": "justified_out_of_order"
                if appointment.justification
                else "top_of_merit_list",
            },
            subject_employee_id=application.employee_id if application.is_internal else None,
        ),
    )


def propose_appointment(
    session: Session,
    *,
    vacancy: Vacancy,
    application: Application,
    justification: str,
    actor: User,
    now: datetime | None = None,
) -> Appointment:
    """Appoint a candidate from the merit list (or, later, its reserve list).

    The top of the remaining list is appointed at once. Anyone else needs a written
    justification approved by a second person; once approved, it is published.
    """
    moment = now_or(now)
    blockers = appointment_blockers(session, vacancy, moment)
    if blockers:
        raise VacancyError(" ".join(blockers), status_code=409)
    if application.vacancy_id != vacancy.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    order = remaining_order(session, vacancy)
    position = next((i for i, (_e, a) in enumerate(order) if a.id == application.id), None)
    if position is None:
        raise VacancyError(
            _("Only candidates on the merit list, not yet appointed, can be appointed."),
            status_code=409,
        )
    entry = order[position][0]
    justification = (justification or "").strip()[:4000]
    if position > 0 and len(justification) < 20:
        top = order[0][1]
        raise VacancyError(
            _(
                "Only the top of the merit list (rank %(rank)s, %(name)s) can be appointed. "
                "Appointing anyone else needs a written justification, approved at a second "
                "level and published.",
                rank=order[0][0].rank,
                name=top.candidate_name,
            ),
            field="justification",
            status_code=409,
        )
    if position == 0:
        justification = ""
    appointment = Appointment(
        vacancy_id=vacancy.id,
        application_id=application.id,
        merit_rank=entry.rank,
        from_reserve=vacancy.status == VacancyStatus.appointed,
        justification=justification,
        status=AppointmentStatus.pending_approval if position > 0 else AppointmentStatus.effective,
        proposed_by_id=actor.id,
        proposed_at=moment,
    )
    session.add(appointment)
    session.flush()
    if position == 0:
        _make_effective(
            session, vacancy=vacancy, appointment=appointment, actor=actor, moment=moment
        )
    else:
        audit_application(
            session,
            action="vacancy.appointment_proposed",
            actor=actor,
            application=application,
            after={"rank": entry.rank, "justification": justification},
        )
    return appointment


def decide_appointment(
    session: Session, *, appointment: Appointment, approve: bool, note: str, actor: User
) -> Appointment:
    """Second-level decision on an out-of-order appointment (someone else than the proposer)."""
    if appointment.status != AppointmentStatus.pending_approval:
        raise VacancyError(_("This appointment is not waiting for approval."), status_code=409)
    if actor.id == appointment.proposed_by_id:
        raise VacancyError(
            _("A second person must approve: you proposed this appointment."), status_code=403
        )
    if not can(session, actor, Permission.approve_vacancies):
        raise VacancyError(_("You do not have permission to do this."), status_code=403)
    vacancy = session.get(Vacancy, appointment.vacancy_id)
    note = require_reason(note, field="note")
    appointment.approved_by_id = actor.id
    appointment.approved_at = clock.now()
    appointment.approval_note = note
    application = session.get(Application, appointment.application_id)
    if not approve:
        appointment.status = AppointmentStatus.refused
        session.add(appointment)
        audit_application(
            session,
            action="vacancy.appointment_refused",
            actor=actor,
            application=application,
            after={"note": note},
        )
        return appointment
    if application.status != ApplicationStatus.ranked:
        raise VacancyError(_("This candidate can no longer be appointed."), status_code=409)
    _make_effective(
        session, vacancy=vacancy, appointment=appointment, actor=actor, moment=clock.now()
    )
    return appointment


def record_declined(
    session: Session, *, application: Application, reason: str, actor: User
) -> Application:
    """Record that a ranked candidate declined the offer: the next in merit order moves up."""
    if application.status != ApplicationStatus.ranked:
        raise VacancyError(_("Only a candidate on the merit list can decline."), status_code=409)
    reason = require_reason(reason)
    application.status = ApplicationStatus.declined
    application.declined_reason = reason
    session.add(application)
    audit_application(
        session,
        action="vacancy.offer_declined",
        actor=actor,
        application=application,
        before={"status": ApplicationStatus.ranked},
        after={"status": application.status, "reason": reason},
    )
    return application


def reserve_list(
    session: Session, vacancy: Vacancy, now: datetime | None = None
) -> list[tuple[MeritListEntry, Application]]:
    """Return the reserve list (merit order) while valid, else an empty list."""
    if vacancy.status != VacancyStatus.appointed or vacancy.reserve_valid_until is None:
        return []
    if now_or(now) > vacancy.reserve_valid_until:
        return []
    return remaining_order(session, vacancy)


# --- rejections of one person (read only) -------------------------------------------------------


@dataclass(frozen=True)
class CompetitionRejection:
    """One internal candidate's rejection in a competition, and when it was decided."""

    vacancy_id: int
    reference: str
    title: str
    application_id: int
    on: datetime
    stage: str  # eligibility, test, sift, interview or appointment
    reason: str  # e.g. "below_pass_mark", "absent", "eligibility:q1", "passed_over"


def _out_moment(application: Application, vacancy: Vacancy) -> datetime:
    """When a candidate taken out at `out_stage` was taken out: the stage's cut."""
    cut = {
        "test": vacancy.test_closed_at,
        "sift": vacancy.sift_locked_at,
        "interview": vacancy.interview_locked_at,
    }.get(application.out_stage)
    return cut or vacancy.results_published_at or application.updated_at


def rejections_of(
    session: Session, *, employee_id: int, since: datetime
) -> list[CompetitionRejection]:
    """Return the employee's rejections decided at or after `since`, oldest first: screened out
    on eligibility (when screened, or when a review confirmed it), taken out at a stage's pass
    mark or for absence (when that stage was cut), and passed over at appointment for someone
    lower on the merit list. Read only (for the reporting channel's burden-of-proof pack)."""
    rows = session.exec(
        select(Application, Vacancy)
        .join(Vacancy, col(Vacancy.id) == Application.vacancy_id)
        .where(Application.employee_id == employee_id, col(Application.is_internal).is_(True))
        .order_by(col(Application.id))
    ).all()
    found = []
    for application, vacancy in rows:
        if application.status == ApplicationStatus.screened_out:
            on = application.review_decided_at or application.updated_at
            stage = "eligibility"
            reason = "eligibility:" + ",".join(application.screening_failures)
            if application.review_decided_at is not None:
                reason += " (review confirmed)"
        elif application.status == ApplicationStatus.out:
            on, stage = _out_moment(application, vacancy), application.out_stage
            reason = application.out_reason
        elif application.status == ApplicationStatus.ranked:
            rank = session.exec(
                select(MeritListEntry.rank).where(
                    MeritListEntry.vacancy_id == vacancy.id,
                    MeritListEntry.version == vacancy.merit_version,
                    MeritListEntry.application_id == application.id,
                )
            ).first()
            passed_over = session.exec(
                select(Appointment)
                .where(
                    Appointment.vacancy_id == vacancy.id,
                    Appointment.status == AppointmentStatus.effective,
                    col(Appointment.merit_rank) > (rank or 0),
                )
                .order_by(col(Appointment.id))
            ).first()
            if rank is None or passed_over is None:
                continue
            on = passed_over.effective_at or passed_over.proposed_at
            stage = "appointment"
            reason = f"passed_over: ranked {rank}, rank {passed_over.merit_rank} appointed"
        else:
            continue
        if on is not None and on >= since:
            found.append(
                CompetitionRejection(
                    vacancy.id,
                    vacancy.reference,
                    vacancy.title,
                    application.id,
                    on,
                    stage,
                    reason,
                )
            )
    return sorted(found, key=lambda r: (r.on, r.application_id))


def appeal_in(session: Session, vacancy: Vacancy, appeal_id: int) -> Appeal:
    """Return the competition's appeal `appeal_id`, or refuse (404)."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.vacancy_id != vacancy.id:
        raise VacancyError(_("This appeal does not exist."), status_code=404)
    return appeal


def appointment_in(session: Session, vacancy: Vacancy, appointment_id: int) -> Appointment:
    """Return the competition's appointment `appointment_id`, or refuse (404)."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.vacancy_id != vacancy.id:
        raise VacancyError(_("This appointment does not exist."), status_code=404)
    return appointment
