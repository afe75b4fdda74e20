"""The appraisals domain's events: the names it publishes, and what it does on others'.

Published (in the transaction of the change, `backend.events.publish`):
- `DEVELOPMENT_ACTION_AGREED`: a development action of a signed dialogue; the training
  catalogue proposes it as a plan item;
- `RATING_DROPPED`: a final rating `RATING_DROP_ALERT` points below the previous cycle's;
- `DOES_NOT_MEET`: a final rating of 1 (both feed the reporting channel's retaliation watch).

Subscribed: `training.completed` (training catalogue) records appraisal-dialogue training.
"""

from __future__ import annotations

from sqlmodel import Session

from assessments.appraisals.service.common import DIALOGUE_TRAINING_CODE
from assessments.appraisals.service.training import record_catalogue_training
from backend.events import DomainEvent, subscribe

__all__ = ["DEVELOPMENT_ACTION_AGREED", "DOES_NOT_MEET", "RATING_DROPPED"]

DEVELOPMENT_ACTION_AGREED = "appraisal.development_action_agreed"
RATING_DROPPED = "appraisal.rating_dropped"
DOES_NOT_MEET = "appraisal.does_not_meet"


@subscribe("training.completed")
def on_training_completed(session: Session, event: DomainEvent) -> None:
    """The training catalogue reports a completed activity: record dialogue training."""
    if event.payload.get("activity_code") != DIALOGUE_TRAINING_CODE:
        return
    record_catalogue_training(
        session,
        employee_id=event.payload.get("employee_id") or event.subject_employee_id,
        completed_on=event.payload.get("completed_on"),
        evidence=str(event.payload.get("evidence") or ""),
        fallback_day=event.occurred_at.date(),
    )
