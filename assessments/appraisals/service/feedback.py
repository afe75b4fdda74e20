"""360° and upward feedback inside an appraisal cycle (docs/appraisals.md, "Feedback").

HR switches a round on for a cycle and chooses the behaviours (competencies of the framework)
that every answer rates 1–5. Each appraisee is asked for their own feedback; everyone who
reports to them is asked for upward feedback; the appraisee, their supervisor or HR may ask
peers. Answers are anonymous by construction:

- `FeedbackAnswer` rows carry no rater, no time and a random id; the invitation only records
  that it was answered (`answered`, flipped once by a conditional UPDATE: a second answer,
  even a simultaneous one, is refused);
- others' answers are pooled into one view per appraisee and round (no breakdown by
  relation) and released in batches of at least `MIN_ANSWERS` (the gap reports' suppression
  rule): an answer stays unreleased until at least that many unreleased answers wait, then
  they are released together. Every view anyone ever sees is a union of whole batches, so the
  difference of any two views is empty or at least `MIN_ANSWERS` answers;
- the results (count, mean, distribution per item; comments in random order) are shown only
  to the appraisee and their supervisor, and only once a batch is released; the appraisee's
  own feedback is shown apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    RATINGS,
    Appraisal,
    AppraisalCycle,
    FeedbackAnswer,
    FeedbackInvitation,
    FeedbackRelation,
    FeedbackRound,
)
from assessments.appraisals.service.access import roles_in
from assessments.appraisals.service.common import (
    AppraisalError,
    _audit,
    _own_employee_id,
    _raise_if,
    _text,
    parse_rating,
    record_id,
)
from assessments.appraisals.service.cycles import _check_cycle_open
from backend import clock, crypto, notices
from backend.auth import Actor
from backend.auth.models import User
from backend.i18n import N_, _
from backend.org.models import Employee, EmployeeStatus
from competency_framework import service as competency_service

# The gap reports' small-group rule: fewer answers than this are never shown.
MIN_ANSWERS = competency_service.MIN_CELL_PEOPLE
MAX_ITEMS = 6
MAX_PEERS = 12
MAX_COMMENT = 2000

notices.kind(
    "appraisal.feedback_invited",
    subject=N_("You are asked for feedback"),
    body=N_(
        "You are asked to give anonymous feedback in the appraisal cycle %(cycle)s. "
        "It takes a few minutes."
    ),
    label=N_("Requests for 360° feedback"),
)


# --- the round ----------------------------------------------------------------------------------


def feedback_round(session: Session, cycle_id: int) -> FeedbackRound | None:
    """Return the cycle's feedback round, or None when HR has not switched one on."""
    return session.exec(select(FeedbackRound).where(FeedbackRound.cycle_id == cycle_id)).first()


def feedback_items(session: Session) -> list[Any]:
    """Return the competencies a round may rate (the framework's, in its order)."""
    return competency_service.list_competencies(session)


def open_feedback_round(
    session: Session, *, cycle: AppraisalCycle, items: list[str], actor: Actor
) -> FeedbackRound:
    """Switch feedback on for `cycle`: ask every appraisee and everyone reporting to them."""
    _check_cycle_open(cycle)
    if feedback_round(session, cycle.id) is not None:
        raise AppraisalError(_("This cycle already has a feedback round."), status_code=409)
    known = [c.code for c in feedback_items(session)]
    chosen = [code for code in known if code in set(items)]
    if not chosen or len(chosen) > MAX_ITEMS or len(chosen) != len(set(items)):
        raise AppraisalError(
            _("Choose between 1 and %(n)s behaviours to rate.", n=MAX_ITEMS),
            field="items",
            errors={"items": _("Choose between 1 and %(n)s behaviours to rate.", n=MAX_ITEMS)},
        )
    feedback = FeedbackRound(cycle_id=cycle.id, items=chosen, opened_by_id=actor.user.id)
    session.add(feedback)
    session.flush()
    _invite_everyone(session, feedback, cycle, actor)
    invited = _count(session, feedback.id)
    _audit(
        session,
        "appraisal.feedback_opened",
        cycle,
        actor,
        after={"feedback_behaviours": len(chosen), "feedback_requests": invited["invited"]},
    )
    raters = sa_select(User.id).join(
        FeedbackInvitation, col(FeedbackInvitation.rater_id) == col(User.employee_id)
    )
    notices.tell(
        session,
        to=session.execute(raters.where(FeedbackInvitation.round_id == feedback.id)).scalars(),
        kind="appraisal.feedback_invited",
        key=f"feedback_round:{feedback.id}",
        params={"cycle": cycle.name},
        link="/appraisals/feedback",
    )
    return feedback


def _invite_everyone(
    session: Session, feedback: FeedbackRound, cycle: AppraisalCycle, actor: Actor
) -> None:
    """Ask each appraisee for their own feedback and their reports for upward feedback, in two
    INSERT … SELECT statements (a cycle can hold 100 000 appraisals)."""
    columns = ["round_id", "appraisal_id", "rater_id", "relation", "invited_by_id", "answered"]
    constants = (literal(feedback.id), literal(actor.user.id), literal(False))
    own = sa_select(
        constants[0],
        Appraisal.id,
        Appraisal.employee_id,
        literal(FeedbackRelation.self.value),
        constants[1],
        constants[2],
    ).where(Appraisal.cycle_id == cycle.id)
    upward = (
        sa_select(
            constants[0],
            Appraisal.id,
            Employee.id,
            literal(FeedbackRelation.report.value),
            constants[1],
            constants[2],
        )
        .join(Employee, col(Employee.supervisor_id) == col(Appraisal.employee_id))
        .where(Appraisal.cycle_id == cycle.id, Employee.status == EmployeeStatus.active)
    )
    for query in (own, upward):
        session.execute(insert(FeedbackInvitation).from_select(columns, query))


def close_feedback_round(session: Session, *, cycle: AppraisalCycle, actor: Actor) -> FeedbackRound:
    """Close the round: no more answers. Answers not yet released stay unseen for good."""
    _check_cycle_open(cycle)
    feedback = _open_round(session, cycle.id)
    feedback.closed_at = clock.now()
    feedback.closed_by_id = actor.user.id
    session.add(feedback)
    counts = _count(session, feedback.id)
    after = {"feedback_requests": counts["invited"], "feedback_answers": counts["answered"]}
    _audit(session, "appraisal.feedback_closed", cycle, actor, after=after)
    return feedback


def _open_round(session: Session, cycle_id: int) -> FeedbackRound:
    feedback = feedback_round(session, cycle_id)
    if feedback is None:
        raise AppraisalError(_("This cycle has no feedback round."), status_code=409)
    if feedback.closed_at is not None:
        raise AppraisalError(_("The feedback round is closed."), status_code=409)
    return feedback


def _count(session: Session, round_id: int, appraisal_id: int | None = None) -> dict[str, int]:
    """Return how many were asked and answered: in the round, or others on one appraisal."""
    query = sa_select(func.count(), func.count().filter(col(FeedbackInvitation.answered))).where(
        FeedbackInvitation.round_id == round_id
    )
    if appraisal_id is not None:
        query = query.where(
            FeedbackInvitation.appraisal_id == appraisal_id,
            FeedbackInvitation.relation != FeedbackRelation.self,
        )
    invited, answered = session.execute(query).one()
    return {"invited": int(invited), "answered": int(answered or 0)}


def round_counts(session: Session, feedback: FeedbackRound) -> dict[str, int]:
    """Return how many were asked and how many answered in the whole round (for HR)."""
    return _count(session, feedback.id)


# --- peers --------------------------------------------------------------------------------------


def peer_choices(session: Session, *, appraisal: Appraisal) -> list[Employee]:
    """Return the colleagues who may be asked for feedback on `appraisal`: active people of the
    appraisee's unit or with the same supervisor (their team), not yet asked."""
    feedback = feedback_round(session, appraisal.cycle_id)
    asked = (
        sa_select(FeedbackInvitation.rater_id).where(
            FeedbackInvitation.round_id == feedback.id,
            FeedbackInvitation.appraisal_id == appraisal.id,
        )
        if feedback is not None
        else sa_select(literal(-1))
    )
    query = (
        select(Employee)
        .where(
            or_(
                Employee.unit_id == appraisal.unit_id,
                and_(
                    col(Employee.supervisor_id).is_not(None),
                    Employee.supervisor_id
                    == sa_select(Employee.supervisor_id)
                    .where(Employee.id == appraisal.employee_id)
                    .scalar_subquery(),
                ),
            ),
            Employee.status == EmployeeStatus.active,
            Employee.id != appraisal.employee_id,
            col(Employee.id).not_in(asked),
        )
        .order_by(Employee.last_name, Employee.first_name)
    )
    return list(session.exec(query).all())


def peer_refusal(session: Session, *, appraisal: Appraisal, actor: Actor) -> tuple[str, int] | None:
    """Return why `actor` may not ask a peer for feedback on `appraisal` now (None: they may)."""
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    if not parts & {"employee", "supervisor", "hr"}:
        return _("Only the person appraised, their supervisor or HR choose peers."), 403
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    if cycle.completed_at is not None:
        return _("This appraisal cycle is completed and locked: nothing in it can change."), 409
    feedback = feedback_round(session, appraisal.cycle_id)
    if feedback is None:
        return _("This cycle has no feedback round."), 409
    if feedback.closed_at is not None:
        return _("The feedback round is closed."), 409
    peers = sa_select(func.count()).where(
        FeedbackInvitation.round_id == feedback.id,
        FeedbackInvitation.appraisal_id == appraisal.id,
        FeedbackInvitation.relation == FeedbackRelation.peer,
    )
    if session.execute(peers).scalar_one() >= MAX_PEERS:
        return _("At most %(n)s peers can be asked.", n=MAX_PEERS), 409
    return None


def invite_peer(
    session: Session, *, appraisal: Appraisal, peer_id: Any, actor: Actor
) -> FeedbackInvitation:
    """Ask a colleague of the appraisee's unit for feedback on `appraisal`."""
    refusal = peer_refusal(session, appraisal=appraisal, actor=actor)
    if refusal is not None:
        raise AppraisalError(refusal[0], status_code=refusal[1])
    number = record_id(peer_id)
    if number is None or number not in {e.id for e in peer_choices(session, appraisal=appraisal)}:
        message = _("Choose a colleague of the same unit or team who has not been asked yet.")
        raise AppraisalError(message, field="peer_id", errors={"peer_id": message})
    feedback = feedback_round(session, appraisal.cycle_id)
    invitation = FeedbackInvitation(
        round_id=feedback.id,
        appraisal_id=appraisal.id,
        rater_id=number,
        relation=FeedbackRelation.peer,
        invited_by_id=actor.user.id,
    )
    session.add(invitation)
    session.flush()
    _audit(
        session,
        "appraisal.feedback_peer_invited",
        appraisal,
        actor,
        after={"colleague": session.get(Employee, number).full_name},
    )
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    users = sa_select(User.id).where(User.employee_id == number)
    notices.tell(
        session,
        to=session.execute(users).scalars(),
        kind="appraisal.feedback_invited",
        key=f"feedback_invitation:{invitation.id}",
        params={"cycle": cycle.name},
        link=f"/appraisals/feedback/{invitation.id}",
    )
    return invitation


# --- answering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationRow:
    """One request for feedback, as the person asked sees it."""

    invitation: FeedbackInvitation
    appraisee: str
    cycle: AppraisalCycle
    round: FeedbackRound

    @property
    def open(self) -> bool:
        return (
            not self.invitation.answered
            and self.round.closed_at is None
            and self.cycle.completed_at is None
        )


def invitations_for(session: Session, *, employee_id: int | None) -> list[InvitationRow]:
    """Return the feedback `employee_id` is asked for, the ones still to give first."""
    if employee_id is None:
        return []
    query = (
        select(FeedbackInvitation, Employee, AppraisalCycle, FeedbackRound)
        .join(FeedbackRound, col(FeedbackRound.id) == col(FeedbackInvitation.round_id))
        .join(AppraisalCycle, col(AppraisalCycle.id) == col(FeedbackRound.cycle_id))
        .join(Appraisal, col(Appraisal.id) == col(FeedbackInvitation.appraisal_id))
        .join(Employee, col(Employee.id) == col(Appraisal.employee_id))
        .where(FeedbackInvitation.rater_id == employee_id)
        .order_by(col(FeedbackRound.id).desc(), Employee.last_name, Employee.first_name)
    )
    rows = [
        InvitationRow(invitation, employee.full_name, cycle, feedback)
        for invitation, employee, cycle, feedback in session.exec(query).all()
    ]
    return sorted(rows, key=lambda row: not row.open)


# The requests `InvitationRow.open` calls open, counted in the database (the dashboard and the
# appraisals page show the number on every visit).
_invitation, _round, _cycle = (
    FeedbackInvitation.__table__,
    FeedbackRound.__table__,
    AppraisalCycle.__table__,
)
_PENDING_COUNT = (
    sa_select(func.count())
    .select_from(
        _invitation.join(_round, _round.c.id == _invitation.c.round_id).join(
            _cycle, _cycle.c.id == _round.c.cycle_id
        )
    )
    .where(
        _invitation.c.rater_id == bindparam("employee_id"),
        _invitation.c.answered.is_(False),
        _round.c.closed_at.is_(None),
        _cycle.c.completed_at.is_(None),
    )
)


def pending_count(session: Session, *, employee_id: int | None) -> int:
    """Return how many requests for feedback `employee_id` can still answer."""
    if employee_id is None:
        return 0
    return session.execute(_PENDING_COUNT, {"employee_id": employee_id}).scalar_one()


def get_invitation(session: Session, *, invitation_id: int, actor: Actor) -> InvitationRow:
    """Return the actor's own request for feedback; 404 for anyone else's (ids reveal nothing)."""
    own = _own_employee_id(actor)
    invitation = session.get(FeedbackInvitation, invitation_id)
    if invitation is None or own is None or invitation.rater_id != own:
        raise AppraisalError(_("This request for feedback does not exist."), status_code=404)
    feedback = session.get(FeedbackRound, invitation.round_id)
    cycle = session.get(AppraisalCycle, feedback.cycle_id)
    appraisal = session.get(Appraisal, invitation.appraisal_id)
    employee = session.get(Employee, appraisal.employee_id)
    return InvitationRow(invitation, employee.full_name, cycle, feedback)


def answer_refusal(row: InvitationRow) -> tuple[str, int] | None:
    """Return why the request cannot be answered now (None: it can)."""
    if row.invitation.answered:
        return _("You already gave this feedback."), 409
    if row.cycle.completed_at is not None:
        return _("This appraisal cycle is completed and locked: nothing in it can change."), 409
    if row.round.closed_at is not None:
        return _("The feedback round is closed."), 409
    return None


def answer_feedback(
    session: Session,
    *,
    row: InvitationRow,
    ratings: dict[str, Any],
    comment: str,
    actor: Actor,
) -> None:
    """Record an anonymous answer to the actor's request; refuse a second one (409)."""
    if row.invitation.rater_id != _own_employee_id(actor):
        raise AppraisalError(_("This request for feedback does not exist."), status_code=404)
    refusal = answer_refusal(row)
    if refusal is not None:
        raise AppraisalError(refusal[0], status_code=refusal[1])
    errors: dict[str, str] = {}
    scores = {
        code: parse_rating(ratings.get(code), field=f"item_{code}", errors=errors)
        for code in row.round.items
    }
    comment = _text(comment, limit=MAX_COMMENT, field="comment", errors=errors)
    _raise_if(errors, _("Rate every behaviour from 1 to 5."))
    appraisal_id = row.invitation.appraisal_id
    # One answer at a time per appraisal, so that two answers never release the same batch
    # twice (PostgreSQL; SQLite's writers are serialised already).
    session.execute(
        sa_select(Appraisal.id).where(Appraisal.id == appraisal_id).with_for_update()
    ).first()
    taken = session.execute(
        update(FeedbackInvitation)
        .where(
            col(FeedbackInvitation.id) == row.invitation.id,
            col(FeedbackInvitation.answered).is_(False),
        )
        .values(answered=True)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise AppraisalError(_("You already gave this feedback."), status_code=409)
    own = row.invitation.relation == FeedbackRelation.self
    session.add(
        FeedbackAnswer(
            id=crypto.new_hex(16),
            round_id=row.round.id,
            appraisal_id=appraisal_id,
            own=own,
            ratings=scores,
            comment=comment,
        )
    )
    session.flush()
    if not own:
        _release(session, round_id=row.round.id, appraisal_id=appraisal_id)


def _others(round_id: int, appraisal_id: int):
    return (
        col(FeedbackAnswer.round_id) == round_id,
        col(FeedbackAnswer.appraisal_id) == appraisal_id,
        col(FeedbackAnswer.own).is_(False),
    )


def _release(session: Session, *, round_id: int, appraisal_id: int) -> int | None:
    """Release the waiting answers as one batch once at least `MIN_ANSWERS` wait."""
    others = _others(round_id, appraisal_id)
    waiting = session.execute(
        sa_select(func.count()).where(*others, col(FeedbackAnswer.batch).is_(None))
    ).scalar_one()
    if waiting < MIN_ANSWERS:
        return None
    last = session.execute(sa_select(func.max(FeedbackAnswer.batch)).where(*others)).scalar()
    batch = (last or 0) + 1
    session.execute(
        update(FeedbackAnswer)
        .where(*others, col(FeedbackAnswer.batch).is_(None))
        .values(batch=batch)
        .execution_options(synchronize_session=False)
    )
    return batch


# --- the results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResult:
    """One behaviour's pooled ratings: how many, their mean and how many gave each rating."""

    code: str
    count: int
    mean: float | None
    distribution: dict[int, int]


@dataclass(frozen=True)
class FeedbackResults:
    """What the appraisee and their supervisor see: one pooled view, or nothing below the rule."""

    round: FeedbackRound
    invited: int
    answered: int
    shown: int  # answers in the view (0: suppressed)
    items: list[ItemResult] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    own: dict[str, int] | None = None
    own_comment: str = ""
    min_answers: int = MIN_ANSWERS


def can_read_results(session: Session, *, appraisal: Appraisal, actor: Actor) -> bool:
    """Only the appraisee and their supervisor read the feedback results (HR does not)."""
    return bool(roles_in(session, appraisal=appraisal, actor=actor) & {"employee", "supervisor"})


def pooled_items(items: list[str], answers: list[dict[str, int]]) -> list[ItemResult]:
    """Return count, mean and distribution per item over `answers` (pure)."""
    results = []
    for code in items:
        values = [int(a[code]) for a in answers if a.get(code) in RATINGS]
        results.append(
            ItemResult(
                code=code,
                count=len(values),
                mean=round(sum(values) / len(values), 2) if values else None,
                distribution={r: values.count(r) for r in RATINGS},
            )
        )
    return results


def feedback_results(
    session: Session, *, appraisal: Appraisal, actor: Actor
) -> FeedbackResults | None:
    """Return the feedback on `appraisal` for its appraisee or supervisor (None: no round).

    Others' answers count only in released batches; below `MIN_ANSWERS` nothing of them is
    returned, comments included. Comments come in a new random order each time.
    """
    if not can_read_results(session, appraisal=appraisal, actor=actor):
        raise AppraisalError(
            _("Only the person appraised and their supervisor see the feedback."), status_code=403
        )
    feedback = feedback_round(session, appraisal.cycle_id)
    if feedback is None:
        return None
    rows = session.exec(
        select(FeedbackAnswer).where(
            FeedbackAnswer.round_id == feedback.id, FeedbackAnswer.appraisal_id == appraisal.id
        )
    ).all()
    released = [a for a in rows if not a.own and a.batch is not None]
    own = next((a for a in rows if a.own), None)
    counts = _count(session, feedback.id, appraisal.id)
    shown = len(released) if len(released) >= MIN_ANSWERS else 0
    comments = [a.comment for a in released if a.comment] if shown else []
    random.shuffle(comments)
    return FeedbackResults(
        round=feedback,
        invited=counts["invited"],
        answered=counts["answered"],
        shown=shown,
        items=pooled_items(feedback.items, [a.ratings for a in released]) if shown else [],
        comments=comments,
        own=dict(own.ratings) if own is not None else None,
        own_comment=own.comment if own is not None else "",
    )
