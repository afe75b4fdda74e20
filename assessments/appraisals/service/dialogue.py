"""The dialogue, its record, signatures, disagreement and the second-level review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from assessments.appraisals import events
from assessments.appraisals import notices as appraisal_notices
from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalDialogue,
    DevelopmentAction,
    Stage,
)
from assessments.appraisals.service.access import (
    _cycle_of,
    _require_supervisor,
    _touch,
    both_submitted,
    roles_in,
)
from assessments.appraisals.service.common import (
    MAX_TEXT,
    RATING_DROP_ALERT,
    AppraisalError,
    _audit,
    _own_employee_id,
    _parse_date,
    _raise_if,
    _step,
    _text,
    organisation_today,
    parse_rating,
    runs_appraisals,
)
from assessments.appraisals.service.score import score
from assessments.appraisals.service.training import dialogue_gate
from backend import audit, clock
from backend.auth import Actor
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee
from competency_framework import service as competency_service


def dialogue_of(session: Session, appraisal: Appraisal) -> AppraisalDialogue | None:
    return session.get(AppraisalDialogue, appraisal.id)


def actions_of(session: Session, appraisal: Appraisal) -> list[DevelopmentAction]:
    return list(
        session.exec(
            select(DevelopmentAction)
            .where(DevelopmentAction.appraisal_id == appraisal.id)
            .order_by(col(DevelopmentAction.id))
        )
    )


@dataclass
class ActionInput:
    description: str = ""
    competency_code: str = ""
    due_by: str = ""

    def blank(self) -> bool:
        return not any(str(v or "").strip() for v in (self.description, self.due_by))


def save_dialogue(
    session: Session,
    *,
    appraisal: Appraisal,
    held_on: Any,
    achievements: str,
    barriers: str,
    support_needed: str,
    next_objectives: str,
    actions: list[ActionInput],
    rating: Any,
    reasons: str,
    actor: Actor,
    today: date | None = None,
) -> AppraisalDialogue:
    """Record the dialogue, its development actions and the supervisor's rating with reasons.

    Only the direct supervisor, once both assessments are in, and (when the cycle requires it)
    after completing the appraisal-dialogue training. Editable until the supervisor signs.
    """
    _cycle_of(session, appraisal)
    own = _require_supervisor(session, appraisal, actor)
    if appraisal.supervisor_signed_at is not None:
        raise AppraisalError(
            _("The dialogue record was signed and can no longer change."), status_code=409
        )
    if appraisal.stage not in (Stage.dialogue, Stage.sign_off):
        raise AppraisalError(
            _(
                "The dialogue opens once both the self-assessment and your assessment are "
                "submitted."
            ),
            status_code=409,
        )
    if not both_submitted(appraisal):
        raise AppraisalError(
            _(
                "The dialogue opens once both the self-assessment and your assessment are "
                "submitted."
            ),
            status_code=409,
        )
    gate = dialogue_gate(session, appraisal=appraisal, employee_id=own)
    if gate:
        raise AppraisalError(gate, status_code=403)
    errors: dict[str, str] = {}
    day = _parse_date(held_on)
    if day is None:
        errors["held_on"] = _("Enter the day the dialogue took place.")
    elif day > (today or organisation_today(session)):
        errors["held_on"] = _("Record the dialogue once it has taken place.")
    achievements = _text(
        achievements,
        limit=MAX_TEXT,
        field="achievements",
        errors=errors,
        required=True,
        message=_("Record the achievements discussed."),
    )
    barriers = _text(barriers, limit=MAX_TEXT, field="barriers", errors=errors)
    support_needed = _text(support_needed, limit=MAX_TEXT, field="support_needed", errors=errors)
    next_objectives = _text(next_objectives, limit=MAX_TEXT, field="next_objectives", errors=errors)
    final = parse_rating(rating, field="rating", errors=errors)
    reasons = _text(
        reasons,
        limit=MAX_TEXT,
        field="reasons",
        errors=errors,
        required=True,
        message=_("Give the reasons for the rating."),
    )
    known_codes = {c.code for c in competency_service.list_competencies(session)}
    cleaned_actions = []
    for index, action in enumerate(actions):
        if action.blank():
            continue
        description = _text(
            action.description,
            limit=1000,
            field=f"action_{index}",
            errors=errors,
            required=True,
            message=_("Describe the development action."),
        )
        code = (action.competency_code or "").strip() or None
        if code is not None and code not in known_codes:
            errors[f"action_competency_{index}"] = _("Unknown competency.")
        due = None
        if str(action.due_by or "").strip():
            due = _parse_date(action.due_by)
            if due is None:
                errors[f"action_due_{index}"] = _("Enter the date as a date.")
        cleaned_actions.append((description, code, due))
    _raise_if(errors, _("The dialogue record could not be saved."))
    dialogue = dialogue_of(session, appraisal)
    before = audit.snapshot(dialogue) if dialogue is not None else None
    if dialogue is None:
        dialogue = AppraisalDialogue(appraisal_id=appraisal.id, held_on=day)
    dialogue.held_on = day
    dialogue.achievements, dialogue.barriers = achievements, barriers
    dialogue.support_needed, dialogue.next_objectives = support_needed, next_objectives
    dialogue.recorded_by_id = actor.user.id
    dialogue.updated_at = clock.now()
    session.add(dialogue)
    # Actions already announced to the training plans stay; the rest are replaced by the form's.
    for action in actions_of(session, appraisal):
        if action.published_at is None:
            session.delete(action)
    for description, code, due in cleaned_actions:
        session.add(
            DevelopmentAction(
                appraisal_id=appraisal.id,
                employee_id=appraisal.employee_id,
                competency_code=code,
                description=description,
                due_by=due,
            )
        )
    previous_rating = appraisal.supervisor_rating
    appraisal.supervisor_rating = final
    appraisal.supervisor_reasons = reasons
    appraisal.final_rating = final
    appraisal.stage = Stage.sign_off
    _touch(session, appraisal)
    session.flush()
    _step(session, appraisal, "dialogue_recorded", actor)
    _audit(
        session,
        "appraisal.dialogue_recorded",
        appraisal,
        actor,
        before={"dialogue": before, "rating": previous_rating} if before else None,
        after={
            "dialogue": audit.snapshot(dialogue),
            "actions": [a[0] for a in cleaned_actions],
            "rating": final,
            "reasons": reasons,
        },
    )
    return dialogue


def sign(
    session: Session,
    *,
    appraisal: Appraisal,
    actor: Actor,
    disagree: bool = False,
    disagreement: str = "",
) -> Appraisal:
    """Sign the dialogue record: the supervisor first, then the employee.

    The supervisor's signature fixes the record, the rating and the score. The employee signs
    in agreement (the appraisal is completed) or records their disagreement, which sends it to
    the second-level manager (the supervisor's own supervisor; HR when there is none). Once both
    have signed, each agreed development action is announced to the training plans.
    """
    cycle = _cycle_of(session, appraisal)
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    now = clock.now()
    if "employee" in parts:
        if appraisal.employee_signed_at is not None:
            raise AppraisalError(_("You already signed this record."), status_code=409)
        if appraisal.supervisor_signed_at is None:
            raise AppraisalError(
                _("Your supervisor signs the dialogue record first."), status_code=409
            )
        errors: dict[str, str] = {}
        disagreement = _text(
            disagreement,
            limit=MAX_TEXT,
            field="disagreement",
            errors=errors,
            required=disagree,
            message=_("Say what you disagree with."),
        )
        _raise_if(errors, _("Your signature could not be recorded."))
        appraisal.employee_signed_at = now
        if disagree:
            appraisal.disagreement = disagreement
            appraisal.escalated_at = now
            appraiser = (
                session.get(Employee, appraisal.appraiser_id) if appraisal.appraiser_id else None
            )
            appraisal.reviewer_id = appraiser.supervisor_id if appraiser is not None else None
            appraisal.stage = Stage.escalated
            _step(session, appraisal, "employee_disagreed", actor, disagreement)
        else:
            appraisal.disagreement = ""
            appraisal.stage = Stage.completed
            appraisal.completed_at = now
            _step(session, appraisal, "employee_signed", actor)
        _audit(
            session,
            "appraisal.employee_signed",
            appraisal,
            actor,
            after={
                "disagreement": appraisal.disagreement,
                "reviewer_id": appraisal.reviewer_id,
                "stage": appraisal.stage,
            },
        )
        _touch(session, appraisal)
        session.flush()
        _announce_actions(session, appraisal)
        if appraisal.stage == Stage.completed:
            _announce_rating(session, appraisal)
        return appraisal
    if "supervisor" in parts:
        _require_supervisor(session, appraisal, actor)
        if appraisal.supervisor_signed_at is not None:
            raise AppraisalError(_("You already signed this record."), status_code=409)
        if appraisal.stage != Stage.sign_off or appraisal.supervisor_rating is None:
            raise AppraisalError(
                _("Record the dialogue and the rating before signing."), status_code=409
            )
        breakdown = score(session, appraisal=appraisal)
        appraisal.objectives_score = breakdown.objectives_score
        appraisal.competency_score = breakdown.competency_score
        appraisal.weighted_score = breakdown.weighted_score
        appraisal.supervisor_signed_at = now
        _step(session, appraisal, "supervisor_signed", actor)
        _audit(
            session,
            "appraisal.supervisor_signed",
            appraisal,
            actor,
            after={
                "rating": appraisal.supervisor_rating,
                "reasons": appraisal.supervisor_reasons,
                "weighted_score": appraisal.weighted_score,
            },
        )
        _touch(session, appraisal)
        session.flush()
        appraisal_notices.tell_employee(
            session,
            employee_id=appraisal.employee_id,
            kind=appraisal_notices.RATING_TO_ACKNOWLEDGE,
            key=f"appraisal:{appraisal.id}:supervisor_signed",
            params={"cycle": cycle.name, "supervisor": actor.user.full_name},
            link=f"/appraisals/{appraisal.id}",
        )
        return appraisal
    raise AppraisalError(
        _("Only the person appraised and their direct supervisor sign the record."),
        status_code=403,
    )


def review(
    session: Session, *, appraisal: Appraisal, rating: Any, reasons: str, actor: Actor
) -> Appraisal:
    """Decide an escalated appraisal (the second-level manager; HR when there is none).

    The reviewer confirms the supervisor's rating or sets another, with reasons; the appraisal
    is then completed with the reviewer's rating in force.
    """
    _cycle_of(session, appraisal)
    own = _own_employee_id(actor)
    allowed = (appraisal.reviewer_id is not None and appraisal.reviewer_id == own) or (
        appraisal.reviewer_id is None and runs_appraisals(actor)
    )
    if not allowed:
        raise AppraisalError(
            _("Only the second-level manager the appraisal was escalated to can review it."),
            status_code=403,
        )
    if appraisal.stage != Stage.escalated:
        raise AppraisalError(_("This appraisal is not awaiting review."), status_code=409)
    errors: dict[str, str] = {}
    decided = parse_rating(rating, field="rating", errors=errors)
    reasons = _text(
        reasons,
        limit=MAX_TEXT,
        field="reasons",
        errors=errors,
        required=True,
        message=_("Give the reasons for your decision."),
    )
    _raise_if(errors, _("The review could not be recorded."))
    now = clock.now()
    appraisal.review_rating = decided
    appraisal.review_reasons = reasons
    appraisal.reviewed_at = now
    appraisal.reviewed_by_id = actor.user.id
    appraisal.final_rating = decided
    appraisal.stage = Stage.completed
    appraisal.completed_at = now
    _touch(session, appraisal)
    _step(session, appraisal, "reviewed", actor, reasons)
    _audit(
        session,
        "appraisal.reviewed",
        appraisal,
        actor,
        before={"rating": appraisal.supervisor_rating, "disagreement": appraisal.disagreement},
        after={"rating": decided, "reasons": reasons},
    )
    session.flush()
    _announce_rating(session, appraisal)
    return appraisal


def _announce_actions(session: Session, appraisal: Appraisal) -> None:
    now = clock.now()
    for action in actions_of(session, appraisal):
        if action.published_at is not None:
            continue
        publish(
            session,
            DomainEvent(
                events.DEVELOPMENT_ACTION_AGREED,
                payload={
                    "appraisal_id": appraisal.id,
                    "competency_code": action.competency_code,
                    "description": action.description,
                    "action_id": action.id,
                },
                subject_employee_id=appraisal.employee_id,
            ),
        )
        action.published_at = now
        session.add(action)


def previous_rating(session: Session, *, appraisal: Appraisal) -> int | None:
    """Return the final rating of the person's latest completed appraisal of an earlier cycle."""
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    return session.exec(
        select(Appraisal.final_rating)
        .join(AppraisalCycle, col(AppraisalCycle.id) == Appraisal.cycle_id)
        .where(
            Appraisal.employee_id == appraisal.employee_id,
            Appraisal.id != appraisal.id,
            Appraisal.stage == Stage.completed,
            col(Appraisal.final_rating).is_not(None),
            AppraisalCycle.period_end < cycle.period_end,
        )
        .order_by(col(AppraisalCycle.period_end).desc())
    ).first()


@dataclass(frozen=True)
class AdverseRating:
    """A completed appraisal whose final rating is "does not meet" or lower than the one before."""

    appraisal_id: int
    cycle: str
    completed_at: datetime
    rating: int
    previous: int | None

    @property
    def does_not_meet(self) -> bool:
        return self.rating == 1


def adverse_ratings(session: Session, *, employee_id: int, since: datetime) -> list[AdverseRating]:
    """Return the person's appraisals completed at or after `since` whose final rating is 1
    ("does not meet") or dropped from their previous completed appraisal — by any amount, not
    only the drop of RATING_DROP_ALERT the HR watch is told of. Oldest first; read only (for the
    reporting channel's burden-of-proof pack)."""
    rows = session.exec(
        select(Appraisal, AppraisalCycle.name)
        .join(AppraisalCycle, col(AppraisalCycle.id) == Appraisal.cycle_id)
        .where(
            Appraisal.employee_id == employee_id,
            Appraisal.stage == Stage.completed,
            col(Appraisal.final_rating).is_not(None),
            col(Appraisal.completed_at) >= since,
        )
        .order_by(col(Appraisal.completed_at), col(Appraisal.id))
    ).all()
    found = []
    for appraisal, cycle_name in rows:
        before = previous_rating(session, appraisal=appraisal)
        final = appraisal.final_rating
        if final == 1 or (before is not None and final < before):
            found.append(
                AdverseRating(appraisal.id, cycle_name, appraisal.completed_at, final, before)
            )
    return found


def _announce_rating(session: Session, appraisal: Appraisal) -> None:
    """Tell HR's watch about a sharp drop or a "does not meet" rating."""
    final = appraisal.final_rating
    if final is None:
        return
    before = previous_rating(session, appraisal=appraisal)
    if before is not None and before - final >= RATING_DROP_ALERT:
        publish(
            session,
            DomainEvent(
                events.RATING_DROPPED,
                payload={"appraisal_id": appraisal.id, "from": before, "to": final},
                subject_employee_id=appraisal.employee_id,
            ),
        )
    if final == 1:
        publish(
            session,
            DomainEvent(
                events.DOES_NOT_MEET,
                payload={"appraisal_id": appraisal.id, "rating": final},
                subject_employee_id=appraisal.employee_id,
            ),
        )
