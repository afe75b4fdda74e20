"""Which steps HR may take on a competition now: what the pages offer and what POSTs accept.

One function, `allowed_steps`, answers for both: the competition page shows a step's button
only when it is allowed, and says why a step of the stage must wait (the test opens after the
review window closes, say); the routes refuse a step that is not allowed (`require_step`) before
they call the service (which checks the same rules again, for callers that are not routes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.i18n import _

from ..models import Vacancy, VacancyStatus
from .base import VacancyError, can
from .merit import publish_results_blocker
from .panel import interview_locked, panel_locked
from .scoring import lock_sift_blocker
from .testing import close_test_blocker, open_test_blocker


class Step(StrEnum):
    edit = "edit"
    submit = "submit"
    approve = "approve"
    return_to_draft = "return_to_draft"
    publish = "publish"
    amend = "amend"
    change_panel = "change_panel"
    change_interview_questions = "change_interview_questions"
    open_test = "open_test"
    close_test = "close_test"
    neutralise = "neutralise"
    lock_sift = "lock_sift"
    publish_results = "publish_results"
    cancel = "cancel"


@dataclass(frozen=True)
class Steps:
    """The steps the actor may take now, and the steps of this stage that must wait, with why."""

    allowed: frozenset[Step]
    waiting: dict[Step, str] = field(default_factory=dict)

    def __contains__(self, step: object) -> bool:
        return step in self.allowed

    def why_not(self, step: Step) -> str:
        """Return why `step` is refused now (translated)."""
        return self.waiting.get(step) or _("This step is not possible at this stage.")


def allowed_steps(
    session: Session,
    settings: Settings,
    vacancy: Vacancy,
    actor: User,
    now: datetime | None = None,
) -> Steps:
    """Return what `actor` (who manages vacancies) may do to the competition now."""
    status = vacancy.status
    candidates: dict[Step, str] = {}
    if status == VacancyStatus.draft:
        candidates = {Step.edit: "", Step.submit: ""}
    elif status == VacancyStatus.pending_approval:
        if not can(session, actor, Permission.approve_vacancies):
            why = _("Only someone with approval rights can decide.")
        elif actor.id in (vacancy.created_by_id, vacancy.submitted_by_id):
            why = _(
                "Waiting for a second person with approval rights: the author and the "
                "submitter cannot approve."
            )
        else:
            why = ""
        candidates = {Step.approve: why, Step.return_to_draft: why}
    elif status == VacancyStatus.approved:
        candidates = {Step.publish: ""}
    elif status == VacancyStatus.published:
        candidates = {
            Step.amend: "",
            Step.open_test: open_test_blocker(session, settings, vacancy, now),
        }
    elif status == VacancyStatus.testing:
        candidates = {
            Step.close_test: close_test_blocker(session, vacancy, now),
            Step.neutralise: "",
        }
    elif status == VacancyStatus.sift:
        candidates = {
            Step.lock_sift: lock_sift_blocker(session, vacancy),
            Step.neutralise: "",
        }
    elif status == VacancyStatus.interview:
        candidates = {Step.publish_results: publish_results_blocker(session, vacancy)}
    if not panel_locked(session, vacancy) and status not in (
        VacancyStatus.draft,
        VacancyStatus.pending_approval,
    ):
        candidates[Step.change_panel] = ""
    if not interview_locked(vacancy) and status not in (
        VacancyStatus.draft,
        VacancyStatus.pending_approval,
    ):
        candidates[Step.change_interview_questions] = ""
    if status not in (VacancyStatus.appointed, VacancyStatus.cancelled):
        candidates[Step.cancel] = ""
    return Steps(
        allowed=frozenset(step for step, why in candidates.items() if not why),
        waiting={step: why for step, why in candidates.items() if why},
    )


def require_step(
    session: Session, settings: Settings, vacancy: Vacancy, actor: User, step: Step
) -> None:
    """Refuse (409, saying why) a step `actor` may not take now: the POST routes' guard."""
    steps = allowed_steps(session, settings, vacancy, actor)
    if step not in steps:
        raise VacancyError(steps.why_not(step), status_code=409)
