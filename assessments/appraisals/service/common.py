"""What every part of the appraisal rules shares: limits, labels, the error, small checks."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlmodel import Session

from assessments.appraisals.models import (
    RATINGS,
    Appraisal,
    AppraisalCycle,
    AppraisalStep,
    PlanPriority,
    TeamObjective,
    UnitObjective,
)
from backend import audit, clock
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.errors import DomainError
from backend.i18n import N_, _

log = logging.getLogger("merito.appraisals")

MAX_TITLE = 200
MAX_MEASURE = 500
MAX_TEXT = 4000
MAX_NOTE = 2000
MAX_OBJECTIVES = 12

# The weighted score (see docs/appraisals.md): objectives count 70 %, competencies 30 %.
OBJECTIVES_SHARE = 0.7
COMPETENCIES_SHARE = 0.3
# Essential competencies of the role profile count twice as much as desirable ones.
IMPORTANCE_WEIGHTS = {"essential": 2, "desirable": 1}

# Calibration: groups smaller than this are shown but never flagged (too few to judge).
CALIBRATION_MIN_GROUP = 5
# A group stands out when its mean rating differs from the organisation's by this much...
CALIBRATION_MEAN_GAP = 0.5
# ...or its share of top (4–5) or of low (1–2) ratings exceeds the organisation's by this much.
CALIBRATION_SHARE_GAP = 0.20

# The training catalogue's activity whose completion counts as appraisal-dialogue training.
DIALOGUE_TRAINING_CODE = "appraisal_dialogue"

# A drop of this many points against the previous cycle is announced to HR's watch.
RATING_DROP_ALERT = 2

REMINDER_LABELS = {
    "set_objectives": N_("Agree objectives with the people who report to you"),
    "agree_objectives": N_("Agree your objectives"),
    "self_assessment": N_("Write your self-assessment"),
    "supervisor_assessment": N_("Write your assessments of the people who report to you"),
    "dialogue": N_("Hold the appraisal dialogues"),
    "supervisor_sign_off": N_("Sign the dialogue records"),
    "employee_sign_off": N_("Sign your dialogue record"),
    "review": N_("Review the appraisals escalated to you"),
}

STEP_LABELS = {
    "opened": N_("Appraisal opened"),
    "objectives_proposed": N_("Objectives proposed by the supervisor"),
    "objectives_agreed": N_("Objectives agreed by the employee"),
    "self_submitted": N_("Self-assessment submitted"),
    "supervisor_submitted": N_("Supervisor's assessment submitted"),
    "dialogue_recorded": N_("Dialogue recorded"),
    "supervisor_signed": N_("Signed by the supervisor"),
    "employee_signed": N_("Signed by the employee"),
    "employee_disagreed": N_("Signed by the employee, with disagreement"),
    "reviewed": N_("Reviewed by the second-level manager"),
    "sent_back": N_("Sent back by HR in calibration"),
}


class AppraisalError(DomainError):
    """An appraisal rule was broken: a translated message, its field, status and problems."""


def organisation_today(session: Session) -> date:
    """Return the organisation's day (the settings ride in `session.info["settings"]`)."""
    return clock.today(session.info["settings"])


def _text(
    value: Any,
    *,
    limit: int,
    field: str,
    errors: dict[str, str],
    required: bool = False,
    message: str = "",
) -> str:
    value = str(value or "").strip()
    if required and not value:
        errors[field] = message or _("This field is required.")
    elif len(value) > limit:
        errors[field] = _("Keep this under %(n)s characters.", n=f"{limit:,}")
    return value


def _title_and_measure(
    title: Any,
    measure: Any,
    *,
    errors: dict[str, str],
    title_field: str = "title",
    measure_field: str = "measure",
    title_message: str = "",
    measure_message: str = "",
) -> tuple[str, str]:
    """Return an objective's (or a priority's) title and measure, both required; note errors."""
    title = _text(
        title,
        limit=MAX_TITLE,
        field=title_field,
        errors=errors,
        required=True,
        message=title_message or _("Name the objective."),
    )
    measure = _text(
        measure,
        limit=MAX_MEASURE,
        field=measure_field,
        errors=errors,
        required=True,
        message=measure_message or _("Say how achievement will be measured."),
    )
    return title, measure


def parse_rating(value: Any, *, field: str, errors: dict[str, str], required: bool = True):
    """Return a rating of the 1–5 scale (None when blank and not required); note errors."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = _("Choose a rating from 1 to 5.")
        return None
    try:
        rating = int(str(value).strip())
    except ValueError:
        errors[field] = _("Choose a rating from 1 to 5.")
        return None
    if rating not in RATINGS:
        errors[field] = _("Choose a rating from 1 to 5.")
        return None
    return rating


# The largest id a record can have (the databases' 32-bit integer keys).
MAX_ID = 2**31 - 1


def record_id(value: Any) -> int | None:
    """Return the record id a form value names, or None when it names none (empty, not a
    number, or beyond any id: never a database error)."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def named_record(session: Session, model: Any, value: Any) -> Any:
    """Return the `model` row a form value names (`record_id`), or None."""
    number = record_id(value)
    return session.get(model, number) if number is not None else None


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _raise_if(errors: dict[str, str], message: str) -> None:
    if errors:
        raise AppraisalError(message, errors=errors, field=next(iter(errors)))


def runs_appraisals(actor: Actor) -> bool:
    """True for HR people who run cycles or calibrate."""
    return actor.can(Permission.manage_appraisal_cycles) or actor.can(
        Permission.calibrate_appraisals
    )


def _own_employee_id(actor: Actor) -> int | None:
    return actor.user.employee_id


def _audit(
    session: Session,
    action: str,
    record: Appraisal | AppraisalCycle | PlanPriority | TeamObjective | UnitObjective,
    actor: Actor,
    *,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    """Append `action` on `record` by `actor` to the audit log (in the caller's transaction)."""
    audit.record(
        session,
        action=action,
        actor=actor.user,
        entity_type=record.__tablename__,
        entity_id=record.id,
        before=before,
        after=after,
    )


def _step(session: Session, appraisal: Appraisal, step: str, actor: Actor | None, note: str = ""):
    session.add(
        AppraisalStep(
            appraisal_id=appraisal.id,
            step=step,
            by_id=actor.user.id if actor is not None else None,
            note=note,
        )
    )
