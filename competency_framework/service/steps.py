"""What a person may do with someone's competencies, and the lookups the pages start from.

`allowed_steps` answers for both the pages and the POSTs: the person page shows the "assess
myself", "validate" and "record a rating" controls only for the steps it returns, and the
routes refuse a step it does not return before they call the service (which checks the same
rules again, for callers that are not routes). The lookups answer "not found" as the pages
do: someone who may not see a person's competencies is not told that the person exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from backend.auth import Actor
from backend.auth.models import User
from backend.i18n import _
from backend.org.models import Employee, Position, Unit
from competency_framework.models import AssessmentCampaign, Competency, RatingSource, RoleProfile
from competency_framework.service.framework import CompetencyError, get_competency, sees_gap_details
from competency_framework.service.profiles import get_profile
from competency_framework.service.ratings import can_validate, can_view_person


class Step(StrEnum):
    self_assess = "self_assess"  # rate oneself (one's own page)
    validate = "validate"  # agree with or change pending self-ratings (supervisor, HR)
    rate = "rate"  # record a validated rating (supervisor: "supervisor" ratings; HR: any)
    see_details = "see_details"  # per-person gap details, every source of rating (HR)


@dataclass(frozen=True)
class PersonSteps:
    """The steps `actor` may take on one person's competencies."""

    allowed: frozenset[Step]
    is_self: bool

    def __contains__(self, step: object) -> bool:
        return step in self.allowed

    def rating_sources(self) -> list[RatingSource]:
        """The sources `actor` may record (HR any but self; a supervisor only "supervisor")."""
        if Step.rate not in self.allowed:
            return []
        hr = Step.see_details in self.allowed
        return [s for s in RatingSource if s != RatingSource.self and (hr or s == "supervisor")]


def allowed_steps(session: Session, *, employee: Employee, actor: Actor) -> PersonSteps:
    """Return what `actor` may do with `employee`'s competencies now."""
    is_self = actor.user.employee_id is not None and actor.user.employee_id == employee.id
    allowed: set[Step] = set()
    if is_self:
        allowed.add(Step.self_assess)
    if can_validate(session, actor=actor, employee=employee):
        allowed |= {Step.validate, Step.rate}
    if sees_gap_details(actor):
        allowed.add(Step.see_details)
    return PersonSteps(frozenset(allowed), is_self)


def own_employee(session: Session, actor: Actor) -> Employee | None:
    """Return the employee record the actor's account is linked to (None: not linked)."""
    if actor.user.employee_id is None:
        return None
    return session.get(Employee, actor.user.employee_id)


def linked_employee(session: Session, actor: Actor) -> Employee:
    """Return the actor's own employee record, or refuse (409) an account without one."""
    employee = own_employee(session, actor)
    if employee is None:
        raise CompetencyError(
            _("Your account is not linked to an employee record."), status_code=409
        )
    return employee


def viewable_employee(session: Session, *, actor: Actor, employee_id: int) -> Employee:
    """Return the employee if `actor` may see their competencies; "not found" otherwise."""
    employee = session.get(Employee, employee_id)
    if employee is None or not can_view_person(session, actor=actor, employee=employee):
        raise CompetencyError(_("This employee does not exist."), status_code=404)
    return employee


def validatable_employee(session: Session, *, actor: Actor, employee_id: int) -> Employee:
    """Return the employee whose self-ratings `actor` may validate; "not found" otherwise.

    Not found rather than forbidden: the form exists only for one's own reports (or HR).
    """
    employee = session.get(Employee, employee_id)
    if employee is None or not can_validate(session, actor=actor, employee=employee):
        raise CompetencyError(_("Nothing to validate here."), status_code=404)
    return employee


def competency_or_404(session: Session, code: str) -> Competency:
    """Return the competency with this code, or "not found"."""
    competency = get_competency(session, code)
    if competency is None:
        raise CompetencyError(_("This competency does not exist."), status_code=404)
    return competency


def profile_or_404(session: Session, profile_id: int) -> RoleProfile:
    """Return the role profile, or "not found"."""
    profile = get_profile(session, profile_id)
    if profile is None:
        raise CompetencyError(_("This role profile does not exist."), status_code=404)
    return profile


def campaign_or_404(session: Session, campaign_id: int) -> AssessmentCampaign:
    """Return the assessment campaign, or "not found"."""
    campaign = session.get(AssessmentCampaign, campaign_id)
    if campaign is None:
        raise CompetencyError(_("This campaign does not exist."), status_code=404)
    return campaign


def user_names(session: Session, user_ids) -> dict[int, str]:
    """Return {user id: full name} for the accounts that recorded something (pages' "who")."""
    ids = {uid for uid in user_ids if uid}
    if not ids:
        return {}
    return {
        user.id: user.full_name for user in session.exec(select(User).where(col(User.id).in_(ids)))
    }


def positions_by_id(session: Session) -> dict[int, Position]:
    """Return every position by id (the profiles page names each override's position)."""
    return {p.id: p for p in session.exec(select(Position))}


def position_by_code(session: Session, code: str) -> Position | None:
    """Return the position with this code (surrounding spaces ignored), if any."""
    return session.exec(select(Position).where(Position.code == code.strip())).first()


def units_by_name(session: Session) -> list[Unit]:
    """Return every unit, by name (a campaign's scope is chosen from them)."""
    return list(session.exec(select(Unit).order_by(col(Unit.name))).all())


def require_step(session: Session, *, employee: Employee, actor: Actor, step: Step) -> PersonSteps:
    """Return `actor`'s steps on `employee`, or refuse (403) when `step` is not among them."""
    steps = allowed_steps(session, employee=employee, actor=actor)
    if step in steps:
        return steps
    if step == Step.rate and steps.is_self:
        raise CompetencyError(_("You cannot rate yourself this way."), status_code=403)
    if step == Step.validate:
        why = _("Only the employee's own supervisor or HR can validate these ratings.")
    else:
        why = _("Only the employee's own supervisor or HR can rate this employee.")
    raise CompetencyError(why, status_code=403)
