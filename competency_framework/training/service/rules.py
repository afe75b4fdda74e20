"""Who may do what in training, the configurable rules, the error and the plan year."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session

from backend import clock
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.errors import DomainError
from backend.i18n import _
from backend.org.models import Employee
from competency_framework.training.models import (
    Audience,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
CATALOGUE_FILE = DATA_DIR / "training_catalogue.yaml"
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,39}$")
MAX_TEXT = 2000
MAX_COST = 10_000_000
MAX_HOURS = 2000
MAX_CAPACITY = 10_000
# Role codes whose holders are user-area staff (the audience "user areas"); everyone else with a
# role profile is procurement staff.
USER_AREA_ROLES = frozenset({"user_area_staff"})

# --- the events training publishes (backend.events; listed in competency_framework.training.events)
# A supervisor or HR refused training the person asked for or had approved: watched by the
# reporting channel's HR watch. {"employee_id", "plan_item_id", "activity_code", "reason"…}
REQUEST_REFUSED = "training.request_refused"
# The employee took an approved activity out without a reason: their own choice, not watched.
WITHDRAWN_WITHOUT_REASON = "training.withdrawn_without_reason"
# Someone else cancelled a person's enrolment (watched). {"employee_id", "enrolment_id", …}
ENROLMENT_CANCELLED = "training.enrolment_cancelled"
# An activity was completed and passed. {"activity_code", "employee_id", "enrolment_id",
# "completed_on", "evidence"}: appraisals records its dialogue training from it.
TRAINING_COMPLETED = "training.completed"
PUBLISHED = (REQUEST_REFUSED, WITHDRAWN_WITHOUT_REASON, ENROLMENT_CANCELLED, TRAINING_COMPLETED)


class TrainingRules(BaseSettings):
    """Configurable rules of the training domain (environment prefix MERITO_TRAINING_)."""

    model_config = SettingsConfigDict(env_prefix="MERITO_TRAINING_", extra="ignore")

    # Activities proposed per person and year from their gaps.
    max_proposed_items: int = Field(default=3, ge=1, le=13)
    # New staff (hired this many days ago or less) get the induction programme.
    induction_window_days: int = Field(default=90, ge=1, le=730)
    # How many colleagues one mentor may take at a time.
    max_mentees: int = Field(default=3, ge=1, le=20)
    certificate_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)


def rules() -> TrainingRules:
    """Return the training rules read from the environment."""
    return TrainingRules()


class TrainingError(DomainError):
    """A training rule was broken. Message translated; `errors` maps form fields to messages."""


# --- who may do what --------------------------------------------------------------------------


def is_training_hr(actor: Actor | None) -> bool:
    """True for HR planners: they maintain the catalogue and act on anyone's plan."""
    return actor is not None and actor.can(Permission.manage_training_catalogue)


def is_self(actor: Actor | None, employee: Employee) -> bool:
    return actor is not None and actor.user.employee_id == employee.id


def is_supervisor_of(actor: Actor | None, employee: Employee) -> bool:
    return (
        actor is not None
        and actor.user.employee_id is not None
        and employee.supervisor_id == actor.user.employee_id
    )


def can_view_plan(actor: Actor, employee: Employee) -> bool:
    """The person, their supervisor and HR see a plan."""
    return is_self(actor, employee) or is_supervisor_of(actor, employee) or is_training_hr(actor)


def can_approve(actor: Actor, employee: Employee) -> bool:
    """The person's own supervisor or HR approve a plan; nobody approves their own."""
    if is_self(actor, employee):
        return False
    return is_supervisor_of(actor, employee) or is_training_hr(actor)


# What a person may do on a plan page (the template's buttons and the routes' guards).
PLAN_STEPS_SELF = frozenset({"propose", "add", "submit", "remove", "end_mentoring"})
PLAN_STEPS_APPROVER = frozenset(
    {"propose", "add", "approve", "decline", "mark_done", "find_mentor", "end_mentoring", "enrol"}
)


def plan_steps(actor: Actor | None, employee: Employee) -> frozenset[str]:
    """Return what `actor` may do on `employee`'s plan: the person their own steps (propose,
    add, send for approval, take out, end a mentoring), their supervisor or HR the approver's
    (approve, decline, mark a development action done, find a mentor, enrol them); nobody
    approves their own plan. Empty for anyone who may not see the plan."""
    if actor is None or not can_view_plan(actor, employee):
        return frozenset()
    if is_self(actor, employee):
        return PLAN_STEPS_SELF
    return PLAN_STEPS_APPROVER if can_approve(actor, employee) else frozenset()


def _step_refusal(step: str) -> str:
    return {
        "propose": _("You cannot propose a plan for this person."),
        "add": _("You cannot change this person's plan."),
        "submit": _("Only the employee can send their own plan."),
        "remove": _("Only the employee can remove items from their plan."),
        "approve": _("Only the employee's own supervisor or HR can approve this plan."),
        "decline": _("Only the employee's own supervisor or HR can decline training."),
        "mark_done": _("Only the employee's own supervisor or HR can record this."),
    }.get(step, _("You cannot change this person's plan."))


def require_step(actor: Actor | None, employee: Employee | None, step: str) -> None:
    """Refuse (403) unless `step` is among what `actor` may do on `employee`'s plan."""
    if employee is None or step not in plan_steps(actor, employee):
        raise TrainingError(_step_refusal(step), status_code=403)


def audience_of(role_code: str | None) -> Audience:
    """Return the catalogue audience an employee belongs to, from their role profile's code."""
    return (
        Audience.user_areas if (role_code or "") in USER_AREA_ROLES else Audience.procurement_staff
    )


# --- time -------------------------------------------------------------------------------------


def org_zone(settings: Settings) -> ZoneInfo:
    """Return the organisation's time zone (`MERITO_TIME_ZONE`)."""
    return clock.zone(settings.time_zone)


def plan_year(settings: Settings) -> int:
    """Return the current budget year (the calendar year in the organisation's time zone)."""
    return clock.today(settings).year


def settings_of(session: Session) -> Settings:
    """Return the settings a request or job put on its database session."""
    return session.info["settings"]


def parse_local_datetime(value: str, *, zone: ZoneInfo, field: str) -> datetime:
    """Return a form's local date-time ("2026-12-01T09:00" or "2026-12-01 09:00") in UTC."""
    text = (value or "").strip().replace(" ", "T")
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise TrainingError(_("Enter a date and time, e.g. 2026-12-01 09:00."), field=field)
    if naive.tzinfo is not None:
        return naive.astimezone(ZoneInfo("UTC"))
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
