"""The panel (members, its size and independence, when it locks) and the structured
interview's questions.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend import clock
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.auth.service import roles_of
from backend.i18n import _
from backend.org import service as org_service
from backend.org.models import Employee

from ..models import (
    ConflictDeclaration,
    InterviewQuestion,
    PanelMember,
    Vacancy,
    VacancyStatus,
)
from .base import MIN_PANEL, VacancyError, audit_vacancy, clean_text

# --- the panel ----------------------------------------------------------------------------------


def panel_of(session: Session, vacancy: Vacancy) -> list[PanelMember]:
    return list(
        session.exec(
            select(PanelMember)
            .where(PanelMember.vacancy_id == vacancy.id)
            .order_by(col(PanelMember.id))
        )
    )


def membership(session: Session, vacancy: Vacancy, user: User) -> PanelMember | None:
    """Return the user's seat on the vacancy's panel, or None."""
    return session.exec(
        select(PanelMember).where(
            PanelMember.vacancy_id == vacancy.id, PanelMember.user_id == user.id
        )
    ).first()


def require_member(session: Session, vacancy: Vacancy, user: User) -> PanelMember:
    """Return the user's panel seat, or raise 403 for anyone not on this panel."""
    seat = membership(session, vacancy, user)
    if seat is None:
        raise VacancyError(_("You are not on the panel of this competition."), status_code=403)
    return seat


def panel_candidates(session: Session) -> list[User]:
    """Return active users holding the panel_member role (who may be appointed to panels)."""
    return list(
        session.exec(
            select(User)
            .join(UserRole, col(UserRole.user_id) == User.id)
            .where(UserRole.role == Role.panel_member.value, col(User.is_active).is_(True))
            .order_by(col(User.full_name))
        )
    )


def panel_locked(session: Session, vacancy: Vacancy) -> bool:
    """True once assessment has begun: from then on the same panel assesses everyone."""
    return vacancy.status in (
        VacancyStatus.testing,
        VacancyStatus.sift,
        VacancyStatus.interview,
        VacancyStatus.results,
        VacancyStatus.appointed,
        VacancyStatus.cancelled,
    )


def appoint_panel_member(
    session: Session, *, vacancy: Vacancy, user: User, actor: User
) -> PanelMember:
    """Put a panel_member role holder on the vacancy's panel."""
    if panel_locked(session, vacancy):
        raise VacancyError(
            _(
                "The panel cannot change once assessment has begun: the same panel assesses "
                "everyone."
            ),
            status_code=409,
        )
    if Role.panel_member not in roles_of(session, user):
        raise VacancyError(
            _("Only people holding the panel member role can sit on a panel."), field="user_id"
        )
    if membership(session, vacancy, user) is not None:
        raise VacancyError(
            _("This person is already on the panel."), field="user_id", status_code=409
        )
    if len(panel_of(session, vacancy)) >= vacancy.panel_size:
        raise VacancyError(
            _("The panel already has the %(n)s members the notice states.", n=vacancy.panel_size),
            field="user_id",
            status_code=409,
        )
    employee = session.get(Employee, user.employee_id) if user.employee_id else None
    inside = False
    if employee is not None:
        inside = employee.unit_id in org_service.subtree_ids(session, vacancy.unit_id)
    seat = PanelMember(
        vacancy_id=vacancy.id,
        user_id=user.id,
        employee_id=employee.id if employee else None,
        unit_id=employee.unit_id if employee else None,
        outside_hiring_unit=not inside,
        appointed_by_id=actor.id,
        appointed_at=clock.now(),
    )
    session.add(seat)
    session.flush()
    audit_vacancy(
        session,
        action="vacancy.panel_member_appointed",
        actor=actor,
        vacancy=vacancy,
        after={"user_id": user.id, "outside_hiring_unit": seat.outside_hiring_unit},
    )
    return seat


def remove_panel_member(
    session: Session, *, vacancy: Vacancy, seat: PanelMember, actor: User
) -> None:
    """Take someone off the panel before assessment begins."""
    if panel_locked(session, vacancy):
        raise VacancyError(
            _(
                "The panel cannot change once assessment has begun: the same panel assesses "
                "everyone."
            ),
            status_code=409,
        )
    for row in session.exec(
        select(ConflictDeclaration).where(
            ConflictDeclaration.vacancy_id == vacancy.id,
            ConflictDeclaration.member_user_id == seat.user_id,
        )
    ):
        session.delete(row)
    session.delete(seat)
    audit_vacancy(
        session,
        action="vacancy.panel_member_removed",
        actor=actor,
        vacancy=vacancy,
        before={"user_id": seat.user_id},
    )


def panel_problems(session: Session, vacancy: Vacancy) -> list[str]:
    """Return what keeps the panel from assessing (translated), or an empty list."""
    seats = panel_of(session, vacancy)
    problems = []
    if len(seats) < max(MIN_PANEL, vacancy.panel_size):
        problems.append(
            _(
                "The panel has %(have)s of the %(need)s members the notice states.",
                have=len(seats),
                need=vacancy.panel_size,
            )
        )
    if not any(s.outside_hiring_unit for s in seats):
        problems.append(_("At least one panel member must come from outside the hiring unit."))
    return problems


# --- interview questions ------------------------------------------------------------------------


def interview_questions(session: Session, vacancy: Vacancy) -> list[InterviewQuestion]:
    return list(
        session.exec(
            select(InterviewQuestion)
            .where(InterviewQuestion.vacancy_id == vacancy.id)
            .order_by(col(InterviewQuestion.order), col(InterviewQuestion.id))
        )
    )


def interview_locked(vacancy: Vacancy) -> bool:
    """True once interviews may begin: every candidate is then asked the same questions."""
    return vacancy.status in (
        VacancyStatus.interview,
        VacancyStatus.results,
        VacancyStatus.appointed,
        VacancyStatus.cancelled,
    )


def add_interview_question(
    session: Session, *, vacancy: Vacancy, competency_code: str, text: str, actor: User
) -> InterviewQuestion:
    """Add a structured-interview question for one of the vacancy's competencies."""
    if interview_locked(vacancy):
        raise VacancyError(
            _("Interviews have begun: every candidate is asked the same questions."),
            status_code=409,
        )
    if competency_code not in {c["competency"] for c in vacancy.criteria}:
        raise VacancyError(
            _("Choose one of the competencies this vacancy assesses."), field="competency"
        )
    text = clean_text(text, field="text", required=True)
    order = len(interview_questions(session, vacancy)) + 1
    question = InterviewQuestion(
        vacancy_id=vacancy.id, competency_code=competency_code, order=order, text=text
    )
    session.add(question)
    session.flush()
    audit_vacancy(
        session,
        action="vacancy.interview_question_added",
        actor=actor,
        vacancy=vacancy,
        after={"question_id": question.id, "competency": competency_code, "text": text},
    )
    return question


def remove_interview_question(
    session: Session, *, vacancy: Vacancy, question: InterviewQuestion, actor: User
) -> None:
    if interview_locked(vacancy):
        raise VacancyError(
            _("Interviews have begun: every candidate is asked the same questions."),
            status_code=409,
        )
    session.delete(question)
    audit_vacancy(
        session,
        action="vacancy.interview_question_removed",
        actor=actor,
        vacancy=vacancy,
        before={"question_id": question.id, "text": question.text},
    )


def missing_interview_questions(session: Session, vacancy: Vacancy) -> list[str]:
    """Return the vacancy's competency codes that have no interview question yet."""
    asked = {q.competency_code for q in interview_questions(session, vacancy)}
    return [c["competency"] for c in vacancy.criteria if c["competency"] not in asked]


def panel_seat(session: Session, vacancy: Vacancy, member_id: int) -> PanelMember:
    """Return the competition's panel seat `member_id`, or refuse (404)."""
    seat = session.get(PanelMember, member_id)
    if seat is None or seat.vacancy_id != vacancy.id:
        raise VacancyError(_("This panel member does not exist."), status_code=404)
    return seat


def interview_question_in(
    session: Session, vacancy: Vacancy, question_id: int
) -> InterviewQuestion:
    """Return the competition's interview question `question_id`, or refuse (404)."""
    question = session.get(InterviewQuestion, question_id)
    if question is None or question.vacancy_id != vacancy.id:
        raise VacancyError(_("This question does not exist."), status_code=404)
    return question


def user_to_seat(session: Session, user_id: int | None) -> User:
    """Return the person chosen for the panel, or refuse by the field."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise VacancyError(_("Choose a person."), field="user_id")
    return user
