"""What a person may do in one appraisal now: what its page offers and what its POSTs accept.

One function, `allowed_steps`, answers for both: the appraisal page shows a form or a button
only for an allowed step, and each POST route refuses a step that is not allowed (with the
status and message the service would give) before it calls the service, which checks the
same rules again for callers that are not routes (jobs, tests, other domains).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session

from assessments.appraisals.models import Appraisal, AppraisalCycle, Side, Stage
from assessments.appraisals.service.access import both_submitted, roles_in
from assessments.appraisals.service.common import AppraisalError
from assessments.appraisals.service.score import side_of
from assessments.appraisals.service.training import dialogue_gate
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.i18n import _

__all__ = ["Step", "Steps", "allowed_steps"]


class Step(StrEnum):
    edit_objectives = "edit_objectives"
    agree_objectives = "agree_objectives"
    record_progress = "record_progress"
    assess = "assess"
    record_dialogue = "record_dialogue"
    sign_as_supervisor = "sign_as_supervisor"
    sign_as_employee = "sign_as_employee"
    review = "review"
    send_back = "send_back"


@dataclass(frozen=True)
class Steps:
    """The steps the actor may take now; for the others, why not (message, HTTP status)."""

    allowed: frozenset[Step]
    refused: dict[Step, tuple[str, int]] = field(default_factory=dict)
    # The parts the actor plays (employee, supervisor, reviewer, hr), the side they write.
    parts: frozenset[str] = frozenset()
    side: Side | None = None
    # Why the supervisor may not open the dialogue yet ("" when they may).
    gate: str = ""
    locked: bool = False

    def __contains__(self, step: object) -> bool:
        return step in self.allowed

    def why_not(self, step: Step) -> str:
        """Return why `step` is refused now (translated)."""
        return self.refused.get(step, ("", 0))[0] or _("This step is not possible at this stage.")

    def require(self, *steps: Step) -> None:
        """Raise the refusal of the first of `steps` unless one of them is allowed."""
        if any(step in self.allowed for step in steps):
            return
        message, status = self.refused.get(steps[0], ("", 409))
        raise AppraisalError(message or self.why_not(steps[0]), status_code=status)


def _first(checks: list[tuple[bool, str, int]]) -> tuple[str, int] | None:
    """Return the (message, status) of the first failed check, or None when all pass."""
    for failed, message, status in checks:
        if failed:
            return message, status
    return None


def allowed_steps(session: Session, *, appraisal: Appraisal, actor: Actor) -> Steps:
    """Return what `actor` may do in `appraisal` now (the rules of the service, in its order)."""
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    side = side_of(session, appraisal=appraisal, actor=actor)
    supervisor, employee = "supervisor" in parts, "employee" in parts
    gate = (
        dialogue_gate(session, appraisal=appraisal, employee_id=actor.user.employee_id)
        if supervisor
        else ""
    )
    locked = cycle.completed_at is not None
    agreed = appraisal.objectives_agreed_at is not None
    signed = appraisal.supervisor_signed_at is not None
    own_submitted = (
        appraisal.self_submitted_at if side == Side.self else appraisal.supervisor_submitted_at
    )
    not_yours = _("You can appraise only the people who report directly to you.")
    wait_both = _(
        "The dialogue opens once both the self-assessment and your assessment are submitted."
    )
    rules: dict[Step, list[tuple[bool, str, int]]] = {
        Step.edit_objectives: [
            (not supervisor, not_yours, 403),
            (agreed, _("The objectives were agreed and can no longer change."), 409),
        ],
        Step.agree_objectives: [
            (not employee, _("Only the person appraised can do this."), 403),
            (agreed, _("You already agreed to these objectives."), 409),
            (
                appraisal.objectives_proposed_at is None,
                _("Your supervisor has not proposed your objectives yet."),
                409,
            ),
        ],
        Step.record_progress: [
            (
                not (employee or supervisor),
                _("Only the person appraised or their supervisor can record progress."),
                403,
            ),
            (not agreed, _("Progress is recorded once the objectives are agreed."), 409),
            (signed, _("The dialogue record was signed: the period's progress is closed."), 409),
        ],
        Step.assess: [
            (
                side is None,
                _("Only the person appraised and their direct supervisor write assessments."),
                403,
            ),
            (not agreed, _("Assessments are written once the objectives are agreed."), 409),
            (
                own_submitted is not None,
                _("This assessment was submitted and can no longer change."),
                409,
            ),
        ],
        Step.record_dialogue: [
            (not supervisor, not_yours, 403),
            (signed, _("The dialogue record was signed and can no longer change."), 409),
            (appraisal.stage not in (Stage.dialogue, Stage.sign_off), wait_both, 409),
            (not both_submitted(appraisal), wait_both, 409),
            (bool(gate), gate, 403),
        ],
        Step.sign_as_supervisor: [
            (not supervisor, not_yours, 403),
            (signed, _("You already signed this record."), 409),
            (
                appraisal.stage != Stage.sign_off or appraisal.supervisor_rating is None,
                _("Record the dialogue and the rating before signing."),
                409,
            ),
        ],
        Step.sign_as_employee: [
            (not employee, _("Only the person appraised can do this."), 403),
            (appraisal.employee_signed_at is not None, _("You already signed this record."), 409),
            (not signed, _("Your supervisor signs the dialogue record first."), 409),
        ],
        Step.review: [
            (
                not ("reviewer" in parts or (appraisal.reviewer_id is None and "hr" in parts)),
                _("Only the second-level manager the appraisal was escalated to can review it."),
                403,
            ),
            (appraisal.stage != Stage.escalated, _("This appraisal is not awaiting review."), 409),
        ],
        Step.send_back: [
            (
                not actor.can(Permission.calibrate_appraisals),
                _("Only HR calibrates appraisals."),
                403,
            ),
            (
                appraisal.stage not in (Stage.sign_off, Stage.escalated, Stage.completed)
                or appraisal.final_rating is None,
                _("Only an appraisal with a rating can be sent back."),
                409,
            ),
        ],
    }
    locked_rule = (
        locked,
        _("This appraisal cycle is completed and locked: nothing in it can change."),
        409,
    )
    refused: dict[Step, tuple[str, int]] = {}
    for step, checks in rules.items():
        # HR's calibration checks the permission before the lock; everyone else the lock first.
        ordered = (
            checks[:1] + [locked_rule] + checks[1:]
            if step == Step.send_back
            else [
                locked_rule,
                *checks,
            ]
        )
        why = _first(ordered)
        if why is not None:
            refused[step] = why
    return Steps(
        allowed=frozenset(step for step in Step if step not in refused),
        refused=refused,
        parts=frozenset(parts),
        side=side,
        gate=gate,
        locked=locked,
    )
