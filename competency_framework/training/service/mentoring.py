"""Mentoring: Practitioners and Experts (any unit) suggested for colleagues with a gap.

A mentor holds the competency at Practitioner (3) or above (validated), is active, is not the
person, and has fewer active mentees than `max_mentees` (MERITO_TRAINING_MAX_MENTEES, 3).
Suggestions put Experts first, then those with fewer mentees, then people in the same region,
then by name. The limit is checked again, under a lock on the mentor's row, when assigning.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Unit
from competency_framework import service as competency_service
from competency_framework.training.models import MentorAssignment, MentorStatus
from competency_framework.training.service.rules import Actor, TrainingError, can_approve, rules

MENTOR_LEVEL = competency_service.PRACTITIONER


@dataclass
class MentorSuggestion:
    employee: Employee
    unit: Unit | None
    level: int
    mentees: int


def active_mentees(session: Session, mentor_id: int) -> int:
    return session.exec(
        select(func.count()).where(
            MentorAssignment.mentor_employee_id == mentor_id,
            MentorAssignment.status == MentorStatus.active,
        )
    ).one()


def suggest_mentors(
    session: Session,
    *,
    employee: Employee,
    competency: competency_service.Competency,
    limit: int = 10,
) -> list[MentorSuggestion]:
    """Return possible mentors for `employee` in `competency`, best first."""
    max_mentees = rules().max_mentees
    load = (
        sa_select(
            MentorAssignment.mentor_employee_id.label("mentor_id"),
            func.count().label("mentees"),
        )
        .where(MentorAssignment.status == MentorStatus.active)
        .group_by(MentorAssignment.mentor_employee_id)
        .subquery()
    )
    # The competency's ratings are read once; people already mentoring this person are skipped.
    already = select(MentorAssignment.mentor_employee_id).where(
        MentorAssignment.mentee_employee_id == employee.id,
        MentorAssignment.status == MentorStatus.active,
        MentorAssignment.competency_id == competency.id,
    )
    home = session.get(Unit, employee.unit_id)
    mentees = func.coalesce(load.c.mentees, 0)
    held = competency_service.holders(competency_id=competency.id, min_level=MENTOR_LEVEL)
    rows = session.exec(
        select(Employee, Unit, held.c.level, mentees)
        .join(held, held.c.employee_id == Employee.id)
        .join(Unit, col(Unit.id) == Employee.unit_id)
        .join(load, load.c.mentor_id == Employee.id, isouter=True)
        .where(
            Employee.status == EmployeeStatus.active,
            Employee.id != employee.id,
            col(Employee.id).not_in(already),
            mentees < max_mentees,
        )
        .order_by(
            held.c.level.desc(),
            mentees,
            (Unit.region != (home.region if home else "")),
            col(Employee.last_name),
            col(Employee.first_name),
        )
        .limit(limit)
    ).all()
    return [MentorSuggestion(e, u, int(level), int(m)) for e, u, level, m in rows]


def assign_mentor(
    session: Session,
    *,
    mentee: Employee,
    mentor: Employee,
    competency: competency_service.Competency,
    actor: Actor,
) -> MentorAssignment:
    """Pair a mentor with a colleague for one competency (the colleague's supervisor or HR)."""
    if not can_approve(actor, mentee):
        raise TrainingError(
            _("Only the employee's own supervisor or HR can arrange mentoring."), status_code=403
        )
    # Lock the mentor's row so two assignments cannot both take the last free place.
    mentor = session.exec(select(Employee).where(Employee.id == mentor.id).with_for_update()).one()
    if mentor.id == mentee.id:
        raise TrainingError(_("Nobody can mentor themselves."), field="mentor")
    if mentor.status != EmployeeStatus.active:
        raise TrainingError(_("The mentor is not active."), field="mentor")
    rating = competency_service.current_levels(session, employee_id=mentor.id).get(competency.id)
    if rating is None or rating.level < MENTOR_LEVEL:
        raise TrainingError(
            _("A mentor must be at least Practitioner (3) in the competency."), field="mentor"
        )
    if active_mentees(session, mentor.id) >= rules().max_mentees:
        raise TrainingError(
            _("%(name)s already mentors as many colleagues as allowed.", name=mentor.full_name),
            field="mentor",
            status_code=409,
        )
    duplicate = session.exec(
        select(MentorAssignment).where(
            and_(
                MentorAssignment.mentor_employee_id == mentor.id,
                MentorAssignment.mentee_employee_id == mentee.id,
                MentorAssignment.competency_id == competency.id,
                MentorAssignment.status == MentorStatus.active,
            )
        )
    ).first()
    if duplicate is not None:
        raise TrainingError(_("This mentoring is already arranged."), status_code=409)
    assignment = MentorAssignment(
        mentor_employee_id=mentor.id,
        mentee_employee_id=mentee.id,
        competency_id=competency.id,
        assigned_by_id=actor.user.id,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        action="training.mentor_assigned",
        actor=actor.user,
        entity_type="employee",
        entity_id=mentee.id,
        after={"mentor": mentor.id, "competency": competency.code},
    )
    return assignment


def may_end_mentoring(session: Session, actor: Actor, assignment: MentorAssignment) -> bool:
    """The mentee's supervisor, HR, the mentor or the mentee may end a mentoring."""
    mentee = session.get(Employee, assignment.mentee_employee_id)
    own = actor.user.employee_id
    return can_approve(actor, mentee) or own in (
        assignment.mentor_employee_id,
        assignment.mentee_employee_id,
    )


def end_mentoring(session: Session, *, assignment: MentorAssignment, actor: Actor) -> None:
    """End a mentoring: the mentee's supervisor, HR, the mentor or the mentee."""
    mentee = session.get(Employee, assignment.mentee_employee_id)
    if not may_end_mentoring(session, actor, assignment):
        raise TrainingError(_("You cannot end this mentoring."), status_code=403)
    if assignment.status != MentorStatus.active:
        raise TrainingError(_("This mentoring has already ended."), status_code=409)
    assignment.status = MentorStatus.ended
    assignment.ended_at = clock.now()
    session.add(assignment)
    audit.record(
        session,
        action="training.mentoring_ended",
        actor=actor.user,
        entity_type="employee",
        entity_id=mentee.id,
        after={"mentor": assignment.mentor_employee_id, "assignment": assignment.id},
    )


@dataclass
class Mentoring:
    assignment: MentorAssignment
    other: Employee
    competency: competency_service.Competency


def mentoring_of(session: Session, *, employee_id: int) -> tuple[list[Mentoring], list[Mentoring]]:
    """Return (my mentors, my mentees) in active mentoring."""
    rows = session.exec(
        select(MentorAssignment).where(
            MentorAssignment.status == MentorStatus.active,
            (MentorAssignment.mentor_employee_id == employee_id)
            | (MentorAssignment.mentee_employee_id == employee_id),
        )
    ).all()
    mentors, mentees = [], []
    for row in rows:
        competency = session.get(competency_service.Competency, row.competency_id)
        if row.mentee_employee_id == employee_id:
            mentor = session.get(Employee, row.mentor_employee_id)
            mentors.append(Mentoring(row, mentor, competency))
        else:
            mentee = session.get(Employee, row.mentee_employee_id)
            mentees.append(Mentoring(row, mentee, competency))
    return mentors, mentees


def mentoring_gaps(
    session: Session, *, employee: Employee, competency_code: str
) -> tuple[competency_service.Competency | None, list]:
    """Return the competency to find a mentor for (the one asked for, else the person's largest
    gap, essential first) and the person's gaps."""
    found = competency_service.get_competency(session, competency_code) if competency_code else None
    profile = competency_service.person_gap_profile(session, employee=employee)
    gaps = [r for r in profile.rows if r.gap > 0]
    if found is None and gaps:
        found = max(gaps, key=lambda r: (r.gap, r.importance == "essential")).competency
    return found, gaps


def mentor_choice(
    session: Session, *, competency_code: str, mentor_id: int | None
) -> tuple[competency_service.Competency | None, Employee | None]:
    """Return the competency and the mentor a form chose (None for what does not exist)."""
    found = competency_service.get_competency(session, competency_code)
    mentor = session.get(Employee, mentor_id) if mentor_id is not None else None
    return found, mentor
