"""The blind dual assessment: each side sees the other only once both are submitted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalAssessment,
    ObjectiveRating,
    Side,
    Stage,
)
from assessments.appraisals.service.access import (
    _cycle_of,
    _require_supervisor,
    _touch,
    both_submitted,
    can_view,
)
from assessments.appraisals.service.common import (
    MAX_NOTE,
    MAX_TEXT,
    AppraisalError,
    _audit,
    _raise_if,
    _step,
    _text,
    parse_rating,
)
from assessments.appraisals.service.objectives import objectives_of
from assessments.appraisals.service.score import _assessment_row, side_of
from backend import clock
from backend.auth import Actor
from backend.i18n import _


@dataclass
class AssessmentView:
    assessment: AppraisalAssessment | None
    ratings: dict[int, ObjectiveRating]  # objective id → rating


def can_read_assessment(
    session: Session, *, appraisal: Appraisal, side: Side, actor: Actor
) -> bool:
    """True if `actor` may read `side`'s assessment: the author always, anyone else entitled
    to the appraisal only once both sides are submitted."""
    if not can_view(session, appraisal=appraisal, actor=actor):
        return False
    return side_of(session, appraisal=appraisal, actor=actor) == side or both_submitted(appraisal)


def read_assessment(
    session: Session, *, appraisal: Appraisal, side: Any, actor: Actor
) -> AssessmentView:
    """Return one side's assessment, enforcing blindness.

    Neither side sees the other's assessment (not even a draft, not even whether it was started)
    until both are submitted: 403 before then.
    """
    if side not in Side.__members__:
        raise AppraisalError(_("This assessment does not exist."), status_code=404)
    side = Side(side)
    if not can_view(session, appraisal=appraisal, actor=actor):
        raise AppraisalError(_("This appraisal does not exist."), status_code=404)
    if not can_read_assessment(session, appraisal=appraisal, side=side, actor=actor):
        raise AppraisalError(
            _(
                "The two assessments are written blind: each can be read only once both the "
                "self-assessment and the supervisor's assessment are submitted."
            ),
            status_code=403,
        )
    row = _assessment_row(session, appraisal, side)
    ratings = {}
    if row is not None:
        ratings = {
            r.objective_id: r
            for r in session.exec(
                select(ObjectiveRating).where(ObjectiveRating.assessment_id == row.id)
            )
        }
    return AssessmentView(row, ratings)


@dataclass
class ObjectiveScore:
    objective_id: int
    rating: Any = ""
    comment: str = ""


def save_assessment(
    session: Session,
    *,
    appraisal: Appraisal,
    achievements: str,
    to_improve: str,
    scores: list[ObjectiveScore],
    submit: bool,
    actor: Actor,
) -> AppraisalAssessment:
    """Save (or submit) the actor's own side: a rating 1–5 per objective and comments.

    A draft may be incomplete; submitting needs every objective rated and the achievements
    described, and fixes that side for good.
    """
    _cycle_of(session, appraisal)
    side = side_of(session, appraisal=appraisal, actor=actor)
    if side is None:
        raise AppraisalError(
            _("Only the person appraised and their direct supervisor write assessments."),
            status_code=403,
        )
    if side == Side.supervisor:
        _require_supervisor(session, appraisal, actor)
    if appraisal.objectives_agreed_at is None:
        raise AppraisalError(
            _("Assessments are written once the objectives are agreed."), status_code=409
        )
    submitted = (
        appraisal.self_submitted_at if side == Side.self else appraisal.supervisor_submitted_at
    )
    if submitted is not None:
        raise AppraisalError(
            _("This assessment was submitted and can no longer change."), status_code=409
        )
    objectives = {o.id: o for o in objectives_of(session, appraisal)}
    errors: dict[str, str] = {}
    achievements = _text(
        achievements,
        limit=MAX_TEXT,
        field="achievements",
        errors=errors,
        required=submit,
        message=_("Describe what was achieved."),
    )
    to_improve = _text(to_improve, limit=MAX_TEXT, field="to_improve", errors=errors)
    given: dict[int, tuple[int | None, str]] = {}
    for score in scores:
        if score.objective_id not in objectives:
            raise AppraisalError(_("Choose one of the objectives."), status_code=422)
        rating = parse_rating(
            score.rating, field=f"rating_{score.objective_id}", errors=errors, required=submit
        )
        comment = _text(
            score.comment, limit=MAX_NOTE, field=f"comment_{score.objective_id}", errors=errors
        )
        given[score.objective_id] = (rating, comment)
    if submit:
        for objective_id in objectives:
            if objective_id not in given:
                errors[f"rating_{objective_id}"] = _("Choose a rating from 1 to 5.")
    _raise_if(errors, _("The assessment could not be saved."))
    row = _assessment_row(session, appraisal, side)
    if row is None:
        row = AppraisalAssessment(appraisal_id=appraisal.id, side=side)
    row.achievements, row.to_improve = achievements, to_improve
    row.written_by_id = actor.user.id
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    existing = {
        r.objective_id: r
        for r in session.exec(
            select(ObjectiveRating).where(ObjectiveRating.assessment_id == row.id)
        )
    }
    for objective_id, (rating, comment) in given.items():
        current = existing.pop(objective_id, None)
        if rating is None:
            if current is not None:
                session.delete(current)
            continue
        if current is None:
            current = ObjectiveRating(
                assessment_id=row.id, objective_id=objective_id, rating=rating
            )
        current.rating, current.comment = rating, comment
        session.add(current)
    for stale in existing.values():
        session.delete(stale)
    if submit:
        now = clock.now()
        row.submitted_at = now
        if side == Side.self:
            appraisal.self_submitted_at = now
            if appraisal.stage == Stage.self_assessment:
                appraisal.stage = Stage.dialogue
        else:
            appraisal.supervisor_submitted_at = now
        _step(
            session, appraisal, f"{'self' if side == Side.self else 'supervisor'}_submitted", actor
        )
        _audit(
            session,
            f"appraisal.{side.value}_assessment_submitted",
            appraisal,
            actor,
            after={
                "ratings": {objectives[k].title: v[0] for k, v in given.items()},
                "achievements": achievements,
                "to_improve": to_improve,
            },
        )
    _touch(session, appraisal)
    session.flush()
    return row
