"""The appraisal rules: the plan, cycles, objectives, blind assessments, dialogues, calibration.

Other domains call these functions, never the tables. Everything takes a Session and keyword
arguments, raises AppraisalError with a translated message on bad input or a refused action,
and leaves committing to the caller (routes commit; a failed check writes nothing).

Who may do what is decided here, not in the routes:
- the employee: their own objectives' agreement, self-assessment, signature (or disagreement);
- the supervisor: only for their own direct reports (`backend.org.service.is_supervisor_of`,
  as the reporting lines stand now): objectives, their assessment, the dialogue, the rating;
- the second-level manager: only appraisals escalated to them;
- HR (`manage_appraisal_cycles`, `calibrate_appraisals`): cycles, the plan, calibration.
Anyone else gets "not found" (404), so that ids reveal nothing.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, literal, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    RATINGS,
    TOP_RATINGS,
    Appraisal,
    AppraisalAssessment,
    AppraisalCycle,
    AppraisalDialogue,
    AppraisalReminder,
    AppraisalStep,
    DevelopmentAction,
    ManagerTraining,
    Objective,
    ObjectiveProgress,
    ObjectiveRating,
    PlanPriority,
    Side,
    Stage,
    TeamObjective,
    TrainingSource,
    UnitObjective,
)
from backend import audit
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import UTCDateTime, utcnow
from backend.events import DomainEvent, publish, subscribe
from backend.i18n import N_, _
from backend.org import service as org_service
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import service as competency_service

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


class AppraisalError(ValueError):
    """An appraisal rule was broken. Message translated; `errors` maps form fields to messages."""

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        status_code: int = 422,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.status_code = status_code
        self.errors = errors or ({field: message} if field else {})


class Actor(Protocol):
    """Who acts: the signed-in principal (backend.auth.service.Principal) or an equivalent."""

    user: User

    def can(self, permission: Permission) -> bool: ...


# --- small checks ---------------------------------------------------------------------------------


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


def is_hr(actor: Actor) -> bool:
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


# --- the organisation's plan ----------------------------------------------------------------------


def plan_years(session: Session) -> list[int]:
    """Return the years that have plan priorities, newest first."""
    return sorted(set(session.exec(select(PlanPriority.year)).all()), reverse=True)


def list_priorities(session: Session, *, year: int) -> list[PlanPriority]:
    """Return the organisation's plan priorities for `year`."""
    return list(
        session.exec(
            select(PlanPriority).where(PlanPriority.year == year).order_by(col(PlanPriority.id))
        )
    )


def add_priority(
    session: Session,
    *,
    year: Any,
    title: str,
    target: str,
    description: str = "",
    actor: Actor,
) -> PlanPriority:
    """Record a priority of the organisation's procurement plan and its target (HR; audited)."""
    if not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR records the organisation's plan."), status_code=403)
    errors: dict[str, str] = {}
    try:
        year = int(str(year).strip())
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        errors["year"] = _("Enter a year such as 2027.")
    title, target = _title_and_measure(
        title,
        target,
        errors=errors,
        measure_field="target",
        title_message=_("Name the priority."),
        measure_message=_("Give the priority a measurable target."),
    )
    description = _text(description, limit=MAX_NOTE, field="description", errors=errors)
    if (
        not errors
        and session.exec(
            select(PlanPriority).where(PlanPriority.year == year, PlanPriority.title == title)
        ).first()
    ):
        errors["title"] = _("The plan for this year already has a priority with this name.")
    _raise_if(errors, _("The priority could not be recorded."))
    priority = PlanPriority(
        year=year, title=title, target=target, description=description, created_by_id=actor.user.id
    )
    session.add(priority)
    session.flush()
    _audit(
        session,
        "appraisal.plan_priority_added",
        priority,
        actor,
        after=audit.snapshot(priority, "year", "title", "target", "description"),
    )
    return priority


def list_unit_objectives(
    session: Session, *, year: int, unit_id: int | None = None
) -> list[UnitObjective]:
    """Return the units' objectives for `year` (of one unit when given)."""
    statement = select(UnitObjective).where(UnitObjective.year == year)
    if unit_id is not None:
        statement = statement.where(UnitObjective.unit_id == unit_id)
    return list(session.exec(statement.order_by(col(UnitObjective.unit_id), col(UnitObjective.id))))


def supervises_in_unit(session: Session, *, employee_id: int | None, unit_id: int) -> bool:
    """True if `employee_id` directly supervises someone working in `unit_id`."""
    if employee_id is None:
        return False
    return (
        session.exec(
            select(Employee.id).where(
                Employee.supervisor_id == employee_id,
                Employee.unit_id == unit_id,
                Employee.status != EmployeeStatus.left,
            )
        ).first()
        is not None
    )


def add_unit_objective(
    session: Session,
    *,
    unit_id: Any,
    priority_id: Any,
    title: str,
    target: str,
    actor: Actor,
) -> UnitObjective:
    """Record a unit's objective serving a plan priority (HR, or a supervisor in the unit)."""
    errors: dict[str, str] = {}
    unit = session.get(Unit, int(unit_id)) if str(unit_id).isdigit() else None
    priority = session.get(PlanPriority, int(priority_id)) if str(priority_id).isdigit() else None
    if unit is None:
        errors["unit_id"] = _("Choose a unit.")
    if priority is None:
        errors["priority_id"] = _("Choose the priority of the plan this objective serves.")
    if unit is not None and not (
        actor.can(Permission.manage_appraisal_cycles)
        or supervises_in_unit(session, employee_id=_own_employee_id(actor), unit_id=unit.id)
    ):
        raise AppraisalError(
            _("Only HR or a supervisor in the unit can set the unit's objectives."),
            status_code=403,
        )
    title, target = _title_and_measure(
        title,
        target,
        errors=errors,
        measure_field="target",
        measure_message=_("Give the objective a measurable target."),
    )
    _raise_if(errors, _("The unit objective could not be recorded."))
    objective = UnitObjective(
        unit_id=unit.id,
        year=priority.year,
        priority_id=priority.id,
        title=title,
        target=target,
        created_by_id=actor.user.id,
    )
    session.add(objective)
    session.flush()
    _audit(
        session,
        "appraisal.unit_objective_added",
        objective,
        actor,
        after=audit.snapshot(objective, "unit_id", "year", "priority_id", "title", "target"),
    )
    return objective


# --- cycles ---------------------------------------------------------------------------------------


def list_cycles(session: Session) -> list[AppraisalCycle]:
    """Return cycles, open ones first, newest first."""
    rows = session.exec(select(AppraisalCycle)).all()
    return sorted(rows, key=lambda c: (c.completed_at is not None, -c.opened_at.timestamp()))


def open_cycles(session: Session) -> list[AppraisalCycle]:
    return [c for c in list_cycles(session) if c.completed_at is None]


def get_cycle(session: Session, cycle_id: int) -> AppraisalCycle | None:
    return session.get(AppraisalCycle, cycle_id)


def _check_cycle_open(cycle: AppraisalCycle) -> None:
    if cycle.completed_at is not None:
        raise AppraisalError(
            _("This appraisal cycle is completed and locked: nothing in it can change."),
            status_code=409,
        )


def role_codes(session: Session) -> set[str]:
    return set(session.exec(select(Position.role_code).distinct()).all()) - {""}


def open_cycle(
    session: Session,
    *,
    name: str,
    period_start: Any,
    period_end: Any,
    plan_year: Any,
    unit_ids: list[int],
    role_codes_chosen: list[str],
    include_subunits: bool,
    require_trained_managers: bool = True,
    actor: Actor,
) -> AppraisalCycle:
    """Open a cycle and create an appraisal for everyone in scope; return the cycle.

    No units chosen means the whole organisation; no positions chosen means every role. People
    who have left are not appraised. The appraisals are written with one INSERT … SELECT over
    the employees (100 000 people in well under a second), so per-appraisal audit entries are
    not written: one summary entry records the scope and the number of appraisals, and each
    appraisal's own history starts with its creation time.
    """
    if not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR opens appraisal cycles."), status_code=403)
    errors: dict[str, str] = {}
    name = _text(
        name,
        limit=MAX_TITLE,
        field="name",
        errors=errors,
        required=True,
        message=_("Name the cycle."),
    )
    start, end = _parse_date(period_start), _parse_date(period_end)
    if start is None:
        errors["period_start"] = _("Enter the first day of the period as a date.")
    if end is None:
        errors["period_end"] = _("Enter the last day of the period as a date.")
    if start and end and end <= start:
        errors["period_end"] = _("The period must end after it starts.")
    try:
        year = int(str(plan_year).strip())
    except ValueError:
        year = None
        errors["plan_year"] = _("Enter the year of the plan the objectives serve.")
    if year is not None and not list_priorities(session, year=year):
        errors["plan_year"] = _(
            "The organisation's plan for %(year)s has no priorities yet: record them first, "
            "so that objectives can link to them.",
            year=year,
        )
    known_units = {u.id: u.code for u in session.exec(select(Unit))}
    if any(u not in known_units for u in unit_ids):
        errors["units"] = _("Unknown unit.")
    bad_roles = [r for r in role_codes_chosen if r not in role_codes(session)]
    if bad_roles:
        errors["roles"] = _("Unknown role: %(codes)s.", codes=", ".join(bad_roles))
    _raise_if(errors, _("The cycle could not be opened."))

    scope_units: set[int] | None = None
    if unit_ids:
        scope_units = set()
        for unit_id in unit_ids:
            scope_units |= (
                set(org_service.subtree_ids(session, unit_id)) if include_subunits else {unit_id}
            )
    employee, position = Employee.__table__, Position.__table__
    conditions = [employee.c.status != EmployeeStatus.left]
    if scope_units is not None:
        conditions.append(employee.c.unit_id.in_(sorted(scope_units)))
    if role_codes_chosen:
        conditions.append(position.c.role_code.in_(role_codes_chosen))
    people = employee.outerjoin(position, position.c.id == employee.c.position_id)
    in_scope = session.execute(
        sa_select(func.count()).select_from(people).where(*conditions)
    ).scalar_one()
    if not in_scope:
        raise AppraisalError(
            _("Nobody works in the chosen units and positions."), field="units", status_code=422
        )
    # Nobody is appraised twice for the same time: refuse if someone in scope already has an
    # appraisal in an open cycle whose period overlaps this one.
    appraisal, cycle_table = Appraisal.__table__, AppraisalCycle.__table__
    clash = session.execute(
        sa_select(func.count())
        .select_from(
            people.join(appraisal, appraisal.c.employee_id == employee.c.id).join(
                cycle_table, cycle_table.c.id == appraisal.c.cycle_id
            )
        )
        .where(
            *conditions,
            cycle_table.c.completed_at.is_(None),
            cycle_table.c.period_start <= end,
            cycle_table.c.period_end >= start,
        )
    ).scalar_one()
    if clash:
        raise AppraisalError(
            _(
                "%(n)s people in this scope already have an appraisal in an open cycle for an "
                "overlapping period.",
                n=clash,
            ),
            field="units",
            status_code=409,
        )
    cycle = AppraisalCycle(
        name=name,
        period_start=start,
        period_end=end,
        plan_year=year,
        scope={
            "units": [known_units[u] for u in unit_ids],
            "roles": list(role_codes_chosen),
            "subunits": include_subunits,
        },
        require_trained_managers=require_trained_managers,
        appraisal_count=in_scope,
        opened_by_id=actor.user.id,
    )
    session.add(cycle)
    session.flush()
    now = utcnow()
    source = (
        sa_select(
            literal(cycle.id),
            employee.c.id,
            employee.c.unit_id,
            employee.c.position_id,
            employee.c.supervisor_id,
            literal(Stage.objectives.value),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .select_from(people)
        .where(*conditions)
    )
    session.execute(
        insert(appraisal).from_select(
            [
                "cycle_id",
                "employee_id",
                "unit_id",
                "position_id",
                "appraiser_id",
                "stage",
                "created_at",
                "updated_at",
            ],
            source,
        )
    )
    _audit(
        session,
        "appraisal.cycle_opened",
        cycle,
        actor,
        after={
            "name": name,
            "period": [start, end],
            "plan_year": year,
            "scope": cycle.scope,
            "require_trained_managers": require_trained_managers,
            "appraisals": in_scope,
        },
    )
    return cycle


def set_training_requirement(
    session: Session, *, cycle: AppraisalCycle, required: bool, actor: Actor
) -> None:
    """Turn the trained-managers rule of a cycle on or off (HR; audited)."""
    if not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR changes a cycle's settings."), status_code=403)
    _check_cycle_open(cycle)
    if cycle.require_trained_managers == required:
        return
    before = cycle.require_trained_managers
    cycle.require_trained_managers = required
    session.add(cycle)
    _audit(
        session,
        "appraisal.cycle_settings_changed",
        cycle,
        actor,
        before={"require_trained_managers": before},
        after={"require_trained_managers": required},
    )


def complete_cycle(session: Session, *, cycle: AppraisalCycle, actor: Actor) -> int:
    """Complete and lock a cycle; return how many appraisals were left unfinished (audited)."""
    if not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR completes appraisal cycles."), status_code=403)
    _check_cycle_open(cycle)
    unfinished = session.exec(
        select(func.count()).where(
            Appraisal.cycle_id == cycle.id, Appraisal.stage != Stage.completed
        )
    ).one()
    cycle.completed_at = utcnow()
    cycle.completed_by_id = actor.user.id
    session.add(cycle)
    _audit(
        session,
        "appraisal.cycle_completed",
        cycle,
        actor,
        after={"completed_at": cycle.completed_at, "unfinished": unfinished},
    )
    return unfinished


STAGES = tuple(Stage)


@dataclass
class UnitProgress:
    unit_id: int | None
    unit: str
    counts: dict[str, int]

    @property
    def people(self) -> int:
        return sum(self.counts.values())

    @property
    def completed_share(self) -> float | None:
        return self.counts.get(Stage.completed, 0) / self.people if self.people else None


def cycle_progress(
    session: Session, cycle: AppraisalCycle
) -> tuple[list[UnitProgress], UnitProgress]:
    """Return live counters per unit (appraisals per stage) and for the whole cycle."""
    rows = session.exec(
        select(Appraisal.unit_id, Appraisal.stage, func.count())
        .where(Appraisal.cycle_id == cycle.id)
        .group_by(col(Appraisal.unit_id), col(Appraisal.stage))
    ).all()
    per_unit: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES, 0))
    total = dict.fromkeys(STAGES, 0)
    for unit_id, stage, count in rows:
        per_unit[unit_id][Stage(stage)] += count
        total[Stage(stage)] += count
    names = dict(
        session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(list(per_unit)))).all()
    )
    units = sorted(
        (UnitProgress(uid, names.get(uid, str(uid)), counts) for uid, counts in per_unit.items()),
        key=lambda r: r.unit.lower(),
    )
    return units, UnitProgress(None, _("All units"), total)


def remind(
    session: Session, *, cycle: AppraisalCycle, actor: Actor, unit_id: int | None = None
) -> dict[str, int]:
    """Record reminders for everyone who owes the next step; return people reminded per kind.

    Employees are reminded of their own step; supervisors (as the reporting lines stand now)
    and second-level managers once per kind, with how many appraisals wait for them. Each
    reminder shows on the person's start page and waits to be emailed by the mail job
    (`flows.mail_reminders`), outside this request: a cycle can owe thousands of messages.
    """
    if not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR sends reminders."), status_code=403)
    _check_cycle_open(cycle)
    statement = (
        select(
            Appraisal.employee_id,
            Appraisal.stage,
            Appraisal.objectives_proposed_at,
            Appraisal.supervisor_submitted_at,
            Appraisal.supervisor_signed_at,
            Appraisal.reviewer_id,
            Employee.supervisor_id,
        )
        .join(Employee, col(Employee.id) == Appraisal.employee_id)
        .where(Appraisal.cycle_id == cycle.id, Appraisal.stage != Stage.completed)
    )
    if unit_id is not None:
        statement = statement.where(Appraisal.unit_id == unit_id)
    personal: list[tuple[int, str]] = []
    grouped: dict[tuple[int, str], int] = defaultdict(int)
    for emp, stage, proposed, sup_submitted, sup_signed, reviewer, supervisor in session.exec(
        statement
    ):
        if stage == Stage.objectives:
            if proposed is None:
                if supervisor is not None:
                    grouped[(supervisor, "set_objectives")] += 1
            else:
                personal.append((emp, "agree_objectives"))
        elif stage in (Stage.self_assessment, Stage.dialogue):
            if stage == Stage.self_assessment:
                personal.append((emp, "self_assessment"))
            if supervisor is not None:
                kind = "dialogue" if sup_submitted and stage == Stage.dialogue else None
                grouped[(supervisor, kind or "supervisor_assessment")] += 1
        elif stage == Stage.sign_off:
            if sup_signed is None:
                if supervisor is not None:
                    grouped[(supervisor, "supervisor_sign_off")] += 1
            else:
                personal.append((emp, "employee_sign_off"))
        elif stage == Stage.escalated and reviewer is not None:
            grouped[(reviewer, "review")] += 1
    now = utcnow()
    rows = [
        {
            "cycle_id": cycle.id,
            "recipient_employee_id": emp,
            "kind": kind,
            "pending": 1,
            "sent_at": now,
            "sent_by_id": actor.user.id,
            "mail_status": "pending",
        }
        for emp, kind in personal
    ] + [
        {
            "cycle_id": cycle.id,
            "recipient_employee_id": emp,
            "kind": kind,
            "pending": pending,
            "sent_at": now,
            "sent_by_id": actor.user.id,
            "mail_status": "pending",
        }
        for (emp, kind), pending in grouped.items()
    ]
    if rows:
        session.execute(insert(AppraisalReminder.__table__), rows)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["kind"]] += 1
    _audit(
        session,
        "appraisal.reminded",
        cycle,
        actor,
        after={"unit_id": unit_id, "reminders": dict(counts)},
    )
    return dict(counts)


# What became of a reminder's email (AppraisalReminder.mail_status; see flows.mail_reminders).
REMINDER_MAIL_LABELS = {
    "pending": N_("Waiting to be emailed"),
    "sent": N_("Emailed"),
    "failed": N_("Could not be emailed"),
    "no_account": N_("Not emailed: no active account"),
    "cancelled": N_("Not emailed: the cycle was completed"),
}


@dataclass
class ReminderRow:
    recipient: str
    kind: str
    pending: int
    sent_at: datetime
    sent_by: str
    mail_status: str | None = None
    mailed_at: datetime | None = None


def reminders(session: Session, cycle: AppraisalCycle, *, limit: int = 200) -> list[ReminderRow]:
    """Return who was reminded of what and when, newest first."""
    rows = session.exec(
        select(AppraisalReminder, Employee, User)
        .join(Employee, col(AppraisalReminder.recipient_employee_id) == Employee.id)
        .join(User, col(AppraisalReminder.sent_by_id) == User.id, isouter=True)
        .where(AppraisalReminder.cycle_id == cycle.id)
        .order_by(col(AppraisalReminder.id).desc())
        .limit(limit)
    ).all()
    return [
        ReminderRow(
            e.full_name,
            r.kind,
            r.pending,
            r.sent_at,
            u.full_name if u else "",
            r.mail_status,
            r.mailed_at,
        )
        for r, e, u in rows
    ]


def reminders_for(session: Session, *, employee_id: int, limit: int = 5) -> list[AppraisalReminder]:
    """Return the latest reminders a person received in open cycles."""
    return list(
        session.exec(
            select(AppraisalReminder)
            .join(AppraisalCycle, col(AppraisalCycle.id) == AppraisalReminder.cycle_id)
            .where(
                AppraisalReminder.recipient_employee_id == employee_id,
                col(AppraisalCycle.completed_at).is_(None),
            )
            .order_by(col(AppraisalReminder.id).desc())
            .limit(limit)
        )
    )


# --- who may see and do what ----------------------------------------------------------------------


def roles_in(session: Session, *, appraisal: Appraisal, actor: Actor) -> set[str]:
    """Return the parts `actor` plays in an appraisal: employee, supervisor, reviewer, hr."""
    parts: set[str] = set()
    own = _own_employee_id(actor)
    if own is not None:
        if own == appraisal.employee_id:
            parts.add("employee")
        elif org_service.is_supervisor_of(
            session, supervisor_id=own, employee_id=appraisal.employee_id
        ):
            parts.add("supervisor")
        if appraisal.escalated_at is not None and appraisal.reviewer_id == own:
            parts.add("reviewer")
    if is_hr(actor):
        parts.add("hr")
    return parts


def can_view(session: Session, *, appraisal: Appraisal, actor: Actor) -> bool:
    return bool(roles_in(session, appraisal=appraisal, actor=actor))


def get_appraisal(session: Session, *, appraisal_id: int, actor: Actor) -> Appraisal:
    """Return the appraisal if `actor` may see it; otherwise 404 (ids reveal nothing)."""
    appraisal = session.get(Appraisal, appraisal_id)
    if appraisal is None or not can_view(session, appraisal=appraisal, actor=actor):
        raise AppraisalError(_("This appraisal does not exist."), status_code=404)
    return appraisal


def _require_employee(appraisal: Appraisal, actor: Actor) -> None:
    if _own_employee_id(actor) != appraisal.employee_id:
        raise AppraisalError(_("Only the person appraised can do this."), status_code=403)


def _require_supervisor(session: Session, appraisal: Appraisal, actor: Actor) -> int:
    own = _own_employee_id(actor)
    if own is None or not org_service.is_supervisor_of(
        session, supervisor_id=own, employee_id=appraisal.employee_id
    ):
        raise AppraisalError(
            _("You can appraise only the people who report directly to you."), status_code=403
        )
    # Whoever supervises the person now is their appraiser (calibration groups by it).
    appraisal.appraiser_id = own
    return own


def _cycle_of(session: Session, appraisal: Appraisal) -> AppraisalCycle:
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    _check_cycle_open(cycle)
    return cycle


def _touch(session: Session, appraisal: Appraisal) -> None:
    appraisal.updated_at = utcnow()
    session.add(appraisal)


def both_submitted(appraisal: Appraisal) -> bool:
    """True once both the self-assessment and the supervisor's assessment are submitted."""
    return appraisal.self_submitted_at is not None and appraisal.supervisor_submitted_at is not None


# --- objectives -----------------------------------------------------------------------------------


def objectives_of(session: Session, appraisal: Appraisal) -> list[Objective]:
    return list(
        session.exec(
            select(Objective)
            .where(Objective.appraisal_id == appraisal.id)
            .order_by(col(Objective.position), col(Objective.id))
        )
    )


def team_objectives(
    session: Session, *, cycle_id: int, unit_id: int | None = None
) -> list[TeamObjective]:
    statement = select(TeamObjective).where(TeamObjective.cycle_id == cycle_id)
    if unit_id is not None:
        statement = statement.where(TeamObjective.unit_id == unit_id)
    return list(session.exec(statement.order_by(col(TeamObjective.id))))


@dataclass
class LinkChoice:
    value: str  # "u:<unit objective id>" or "p:<priority id>"
    label: str
    kind: str  # "unit" | "organisation"


def link_choices(session: Session, *, cycle: AppraisalCycle, unit_id: int) -> list[LinkChoice]:
    """Return what an objective of someone in `unit_id` can serve: unit or plan objectives."""
    priorities = {p.id: p for p in list_priorities(session, year=cycle.plan_year)}
    choices = [
        LinkChoice(f"u:{o.id}", f"{o.title} → {priorities[o.priority_id].title}", "unit")
        for o in list_unit_objectives(session, year=cycle.plan_year, unit_id=unit_id)
        if o.priority_id in priorities
    ]
    choices += [LinkChoice(f"p:{p.id}", p.title, "organisation") for p in priorities.values()]
    return choices


def link_label(session: Session, objective: Objective | TeamObjective) -> str:
    """Return the unit or organisation objective an objective serves, as text."""
    if objective.unit_objective_id is not None:
        unit_objective = session.get(UnitObjective, objective.unit_objective_id)
        priority = session.get(PlanPriority, unit_objective.priority_id) if unit_objective else None
        if unit_objective is not None:
            return f"{unit_objective.title} → {priority.title if priority else ''}"
    if objective.priority_id is not None:
        priority = session.get(PlanPriority, objective.priority_id)
        return priority.title if priority else ""
    return ""


def _parse_link(
    session: Session, value: str, *, cycle: AppraisalCycle, unit_id: int
) -> tuple[int | None, int | None] | None:
    """Return (unit_objective_id, priority_id) for a link value valid for this unit, or None."""
    kind, _sep, raw = (value or "").partition(":")
    if not raw.isdigit():
        return None
    if kind == "u":
        found = session.get(UnitObjective, int(raw))
        if found is None or found.unit_id != unit_id or found.year != cycle.plan_year:
            return None
        return found.id, None
    if kind == "p":
        found = session.get(PlanPriority, int(raw))
        if found is None or found.year != cycle.plan_year:
            return None
        return None, found.id
    return None


@dataclass
class ObjectiveInput:
    """One row of the objectives form. Team rows carry `team_objective_id` and only a weight."""

    title: str = ""
    measure: str = ""
    link: str = ""
    weight: Any = ""
    objective_id: int | None = None
    team_objective_id: int | None = None

    def blank(self) -> bool:
        return self.team_objective_id is None and not any(
            str(v or "").strip() for v in (self.title, self.measure, self.weight)
        )


def _parse_weight(value: Any, *, field: str, errors: dict[str, str]) -> int | None:
    try:
        weight = int(str(value).strip())
    except ValueError:
        errors[field] = _("Give a weight from 1 to 100.")
        return None
    if not 1 <= weight <= 100:
        errors[field] = _("Give a weight from 1 to 100.")
        return None
    return weight


def save_objectives(
    session: Session, *, appraisal: Appraisal, rows: list[ObjectiveInput], actor: Actor
) -> list[Objective]:
    """Replace the proposed set of objectives (the supervisor); weights must total 100.

    Every objective is measurable (a measure is required), weighted, and serves a unit objective
    or an organisation priority. The unit's team objectives are always part of the set; only
    their weight is the person's. The whole set is checked before anything is written.
    """
    cycle = _cycle_of(session, appraisal)
    _require_supervisor(session, appraisal, actor)
    if appraisal.objectives_agreed_at is not None:
        raise AppraisalError(
            _("The objectives were agreed and can no longer change."), status_code=409
        )
    errors: dict[str, str] = {}
    team = {t.id: t for t in team_objectives(session, cycle_id=cycle.id, unit_id=appraisal.unit_id)}
    existing = {o.id: o for o in objectives_of(session, appraisal)}
    cleaned: list[dict[str, Any]] = []
    seen_team: set[int] = set()
    for index, row in enumerate(rows):
        if row.blank():
            continue
        if row.team_objective_id is not None:
            shared = team.get(row.team_objective_id)
            if shared is None:
                raise AppraisalError(_("This team objective does not exist."), status_code=404)
            weight = _parse_weight(row.weight, field=f"weight_{index}", errors=errors)
            seen_team.add(shared.id)
            cleaned.append(
                {
                    "team_objective_id": shared.id,
                    "unit_objective_id": shared.unit_objective_id,
                    "priority_id": shared.priority_id,
                    "title": shared.title,
                    "measure": shared.measure,
                    "weight": weight,
                    "objective_id": row.objective_id,
                }
            )
            continue
        title, measure = _title_and_measure(
            row.title,
            row.measure,
            errors=errors,
            title_field=f"title_{index}",
            measure_field=f"measure_{index}",
        )
        link = _parse_link(session, row.link, cycle=cycle, unit_id=appraisal.unit_id)
        if link is None:
            errors[f"link_{index}"] = _(
                "Choose the unit or organisation objective this objective serves."
            )
            link = (None, None)
        weight = _parse_weight(row.weight, field=f"weight_{index}", errors=errors)
        cleaned.append(
            {
                "team_objective_id": None,
                "unit_objective_id": link[0],
                "priority_id": link[1],
                "title": title,
                "measure": measure,
                "weight": weight,
                "objective_id": row.objective_id,
            }
        )
    for missing in set(team) - seen_team:
        cleaned.append(
            {
                "team_objective_id": missing,
                "unit_objective_id": team[missing].unit_objective_id,
                "priority_id": team[missing].priority_id,
                "title": team[missing].title,
                "measure": team[missing].measure,
                "weight": team[missing].weight,
                "objective_id": None,
            }
        )
    if not cleaned:
        errors["objectives"] = _("Set at least one objective.")
    elif len(cleaned) > MAX_OBJECTIVES:
        errors["objectives"] = _("Keep to at most %(n)s objectives.", n=MAX_OBJECTIVES)
    if not errors:
        total = sum(c["weight"] for c in cleaned)
        if total != 100:
            errors["weights"] = _("The weights must total 100; they total %(total)s.", total=total)
    _raise_if(errors, _("The objectives could not be saved."))
    before = [(o.title, o.weight) for o in existing.values()]
    kept_ids = set()
    written = []
    for position, data in enumerate(cleaned):
        objective = existing.get(data["objective_id"]) if data["objective_id"] else None
        if objective is None and data["team_objective_id"] is not None:
            objective = next(
                (o for o in existing.values() if o.team_objective_id == data["team_objective_id"]),
                None,
            )
        if objective is None:
            objective = Objective(
                appraisal_id=appraisal.id, weight=data["weight"], title="", measure=""
            )
        for key in (
            "team_objective_id",
            "unit_objective_id",
            "priority_id",
            "title",
            "measure",
            "weight",
        ):
            setattr(objective, key, data[key])
        objective.position = position
        session.add(objective)
        written.append(objective)
        if objective.id is not None:
            kept_ids.add(objective.id)
    for objective_id, objective in existing.items():
        if objective_id not in kept_ids:
            session.delete(objective)
    appraisal.objectives_proposed_at = utcnow()
    _touch(session, appraisal)
    session.flush()
    _step(session, appraisal, "objectives_proposed", actor)
    _audit(
        session,
        "appraisal.objectives_proposed",
        appraisal,
        actor,
        before={"objectives": before} if before else None,
        after={"objectives": [(o.title, o.weight) for o in written]},
    )
    return written


def agree_objectives(session: Session, *, appraisal: Appraisal, actor: Actor) -> None:
    """Record the employee's agreement to the proposed objectives; the period's work begins."""
    _cycle_of(session, appraisal)
    _require_employee(appraisal, actor)
    if appraisal.objectives_agreed_at is not None:
        raise AppraisalError(_("You already agreed to these objectives."), status_code=409)
    objectives = objectives_of(session, appraisal)
    if appraisal.objectives_proposed_at is None or not objectives:
        raise AppraisalError(
            _("Your supervisor has not proposed your objectives yet."), status_code=409
        )
    if sum(o.weight for o in objectives) != 100:
        # A team objective added since the proposal changed the total: the supervisor re-proposes.
        raise AppraisalError(
            _("The weights of these objectives no longer total 100; ask your supervisor."),
            status_code=409,
        )
    appraisal.objectives_agreed_at = utcnow()
    appraisal.stage = Stage.self_assessment
    _touch(session, appraisal)
    _step(session, appraisal, "objectives_agreed", actor)
    _audit(
        session,
        "appraisal.objectives_agreed",
        appraisal,
        actor,
        after={"objectives": [(o.title, o.weight) for o in objectives]},
    )


def add_team_objective(
    session: Session,
    *,
    cycle: AppraisalCycle,
    unit_id: Any,
    link: str,
    title: str,
    measure: str,
    weight: Any,
    actor: Actor,
) -> tuple[TeamObjective, int]:
    """Add an objective shared by everyone in a unit; return it and how many sets it joined.

    It joins the set of every appraisal of the unit whose objectives are not yet agreed (those
    proposals then need proposing again, as their weights no longer total 100).
    """
    _check_cycle_open(cycle)
    unit = session.get(Unit, int(unit_id)) if str(unit_id).isdigit() else None
    if unit is None:
        raise AppraisalError(_("Choose a unit."), field="unit_id")
    if not (
        actor.can(Permission.manage_appraisal_cycles)
        or supervises_in_unit(session, employee_id=_own_employee_id(actor), unit_id=unit.id)
    ):
        raise AppraisalError(
            _("Only HR or a supervisor in the unit can set the team's objectives."),
            status_code=403,
        )
    errors: dict[str, str] = {}
    title, measure = _title_and_measure(title, measure, errors=errors)
    parsed = _parse_link(session, link, cycle=cycle, unit_id=unit.id)
    if parsed is None:
        errors["link"] = _("Choose the unit or organisation objective this objective serves.")
    weight_value = _parse_weight(weight, field="weight", errors=errors)
    _raise_if(errors, _("The team objective could not be added."))
    shared = TeamObjective(
        cycle_id=cycle.id,
        unit_id=unit.id,
        unit_objective_id=parsed[0],
        priority_id=parsed[1],
        title=title,
        measure=measure,
        weight=weight_value,
        created_by_id=actor.user.id,
    )
    session.add(shared)
    session.flush()
    open_sets = session.exec(
        select(Appraisal.id).where(
            Appraisal.cycle_id == cycle.id,
            Appraisal.unit_id == unit.id,
            col(Appraisal.objectives_agreed_at).is_(None),
        )
    ).all()
    if open_sets:
        session.execute(
            insert(Objective.__table__),
            [
                {
                    "appraisal_id": appraisal_id,
                    "team_objective_id": shared.id,
                    "unit_objective_id": shared.unit_objective_id,
                    "priority_id": shared.priority_id,
                    "title": title,
                    "measure": measure,
                    "weight": weight_value,
                    "position": 0,
                }
                for appraisal_id in open_sets
            ],
        )
        session.execute(
            update(Appraisal)
            .where(col(Appraisal.id).in_(open_sets))
            .values(objectives_proposed_at=None)
        )
    _audit(
        session,
        "appraisal.team_objective_added",
        shared,
        actor,
        after={
            "cycle_id": cycle.id,
            "unit_id": unit.id,
            "title": title,
            "measure": measure,
            "weight": weight_value,
            "appraisals": len(open_sets),
        },
    )
    return shared, len(open_sets)


def _check_percent(value: Any, errors: dict[str, str]) -> int | None:
    try:
        percent = int(str(value).strip())
    except ValueError:
        errors["percent"] = _("Give the progress as a percentage from 0 to 100.")
        return None
    if not 0 <= percent <= 100:
        errors["percent"] = _("Give the progress as a percentage from 0 to 100.")
        return None
    return percent


def add_progress(
    session: Session,
    *,
    appraisal: Appraisal,
    objective_id: Any,
    percent: Any,
    note: str,
    actor: Actor,
) -> ObjectiveProgress:
    """Record progress on one objective during the period (the employee or the supervisor).

    Progress on a team objective is written once for the team: every member sees it.
    """
    _cycle_of(session, appraisal)
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    if not parts & {"employee", "supervisor"}:
        raise AppraisalError(
            _("Only the person appraised or their supervisor can record progress."),
            status_code=403,
        )
    if appraisal.objectives_agreed_at is None:
        raise AppraisalError(
            _("Progress is recorded once the objectives are agreed."), status_code=409
        )
    if appraisal.supervisor_signed_at is not None:
        raise AppraisalError(
            _("The dialogue record was signed: the period's progress is closed."), status_code=409
        )
    objective = session.get(Objective, int(objective_id)) if str(objective_id).isdigit() else None
    if objective is None or objective.appraisal_id != appraisal.id:
        raise AppraisalError(_("Choose one of the objectives."), field="objective_id")
    errors: dict[str, str] = {}
    value = _check_percent(percent, errors)
    note = _text(note, limit=MAX_NOTE, field="note", errors=errors)
    _raise_if(errors, _("The progress could not be recorded."))
    entry = ObjectiveProgress(
        objective_id=None if objective.team_objective_id else objective.id,
        team_objective_id=objective.team_objective_id,
        percent=value,
        note=note,
        recorded_by_id=actor.user.id,
    )
    session.add(entry)
    _touch(session, appraisal)
    session.flush()
    return entry


def add_team_progress(
    session: Session, *, team_objective: TeamObjective, percent: Any, note: str, actor: Actor
) -> ObjectiveProgress:
    """Record progress on a team objective (HR, a supervisor in the unit, or a member)."""
    cycle = session.get(AppraisalCycle, team_objective.cycle_id)
    _check_cycle_open(cycle)
    own = _own_employee_id(actor)
    member = own is not None and (
        session.exec(
            select(Appraisal.id).where(
                Appraisal.cycle_id == cycle.id,
                Appraisal.unit_id == team_objective.unit_id,
                Appraisal.employee_id == own,
            )
        ).first()
        is not None
    )
    if not (
        member
        or actor.can(Permission.manage_appraisal_cycles)
        or supervises_in_unit(session, employee_id=own, unit_id=team_objective.unit_id)
    ):
        raise AppraisalError(_("This team objective does not exist."), status_code=404)
    errors: dict[str, str] = {}
    value = _check_percent(percent, errors)
    note = _text(note, limit=MAX_NOTE, field="note", errors=errors)
    _raise_if(errors, _("The progress could not be recorded."))
    entry = ObjectiveProgress(
        team_objective_id=team_objective.id, percent=value, note=note, recorded_by_id=actor.user.id
    )
    session.add(entry)
    session.flush()
    return entry


def progress_of(
    session: Session, objectives: list[Objective]
) -> dict[int, list[ObjectiveProgress]]:
    """Return {objective id: progress updates, newest first} (team updates shared)."""
    own_ids = [o.id for o in objectives if o.team_objective_id is None]
    team_ids = [o.team_objective_id for o in objectives if o.team_objective_id is not None]
    if not own_ids and not team_ids:
        return {}
    rows = session.exec(
        select(ObjectiveProgress)
        .where(
            or_(
                col(ObjectiveProgress.objective_id).in_(own_ids or [-1]),
                col(ObjectiveProgress.team_objective_id).in_(team_ids or [-1]),
            )
        )
        .order_by(col(ObjectiveProgress.id).desc())
    ).all()
    by_own: dict[int, list] = defaultdict(list)
    by_team: dict[int, list] = defaultdict(list)
    for row in rows:
        if row.objective_id is not None:
            by_own[row.objective_id].append(row)
        else:
            by_team[row.team_objective_id].append(row)
    return {
        o.id: (by_team[o.team_objective_id] if o.team_objective_id else by_own[o.id])
        for o in objectives
    }


def team_progress_of(session: Session, team_ids: list[int]) -> dict[int, list[ObjectiveProgress]]:
    if not team_ids:
        return {}
    found: dict[int, list] = defaultdict(list)
    for row in session.exec(
        select(ObjectiveProgress)
        .where(col(ObjectiveProgress.team_objective_id).in_(team_ids))
        .order_by(col(ObjectiveProgress.id).desc())
    ):
        found[row.team_objective_id].append(row)
    return found


# --- the blind dual assessment --------------------------------------------------------------------


def side_of(session: Session, *, appraisal: Appraisal, actor: Actor) -> Side | None:
    """Return the side `actor` writes (self or supervisor), or None."""
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    if "employee" in parts:
        return Side.self
    if "supervisor" in parts:
        return Side.supervisor
    return None


def _assessment_row(
    session: Session, appraisal: Appraisal, side: Side
) -> AppraisalAssessment | None:
    return session.exec(
        select(AppraisalAssessment).where(
            AppraisalAssessment.appraisal_id == appraisal.id, AppraisalAssessment.side == side
        )
    ).first()


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
    row.updated_at = utcnow()
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
        now = utcnow()
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


# --- trained managers -----------------------------------------------------------------------------


def is_trained(session: Session, *, employee_id: int) -> bool:
    """True if the person has completed the appraisal-dialogue training."""
    return (
        session.exec(
            select(ManagerTraining.id).where(ManagerTraining.employee_id == employee_id)
        ).first()
        is not None
    )


def record_manager_training(
    session: Session,
    *,
    employee_id: Any,
    completed_on: Any,
    evidence: str,
    actor: Actor | None,
    source: TrainingSource = TrainingSource.hr,
    today: date | None = None,
) -> ManagerTraining:
    """Record that a supervisor completed the appraisal-dialogue training (audited).

    HR records it by hand with its evidence; the training catalogue's `training.completed`
    event records it automatically (actor None).
    """
    if actor is not None and not actor.can(Permission.manage_appraisal_cycles):
        raise AppraisalError(_("Only HR records completed training."), status_code=403)
    errors: dict[str, str] = {}
    employee = session.get(Employee, int(employee_id)) if str(employee_id).isdigit() else None
    if employee is None:
        errors["employee_id"] = _("Choose the supervisor who completed the training.")
    day = _parse_date(completed_on)
    if day is None:
        errors["completed_on"] = _("Enter the day the training was completed.")
    elif day > (today or utcnow().date()):
        errors["completed_on"] = _("The training cannot have been completed in the future.")
    evidence = _text(
        evidence,
        limit=500,
        field="evidence",
        errors=errors,
        required=source == TrainingSource.hr,
        message=_("Say what shows the training was completed (certificate, attendance list)."),
    )
    _raise_if(errors, _("The training could not be recorded."))
    record = ManagerTraining(
        employee_id=employee.id,
        completed_on=day,
        evidence=evidence,
        source=source,
        recorded_by_id=actor.user.id if actor is not None else None,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        action="appraisal.manager_training_recorded",
        actor=actor.user if actor is not None else "training catalogue",
        entity_type="employee",
        entity_id=employee.id,
        after={"completed_on": day, "evidence": evidence, "source": source},
    )
    return record


@subscribe("training.completed")
def _on_training_completed(session: Session, event: DomainEvent) -> None:
    """The training catalogue reports a completed activity: record dialogue training."""
    if event.payload.get("activity_code") != DIALOGUE_TRAINING_CODE:
        return
    employee_id = event.payload.get("employee_id") or event.subject_employee_id
    completed_on = event.payload.get("completed_on") or event.occurred_at.date()
    if employee_id is None or session.get(Employee, int(employee_id)) is None:
        log.warning("training.completed for an unknown employee %r ignored", employee_id)
        return
    day = _parse_date(completed_on) or event.occurred_at.date()
    already = session.exec(
        select(ManagerTraining.id).where(
            ManagerTraining.employee_id == int(employee_id),
            ManagerTraining.source == TrainingSource.training,
            ManagerTraining.completed_on == day,
        )
    ).first()
    if already is not None:
        return
    record_manager_training(
        session,
        employee_id=int(employee_id),
        completed_on=day,
        evidence=str(event.payload.get("evidence") or DIALOGUE_TRAINING_CODE),
        actor=None,
        source=TrainingSource.training,
        today=max(day, utcnow().date()),
    )


def training_records(
    session: Session, *, limit: int = 200
) -> list[tuple[ManagerTraining, Employee]]:
    return list(
        session.exec(
            select(ManagerTraining, Employee)
            .join(Employee, col(Employee.id) == ManagerTraining.employee_id)
            .order_by(col(ManagerTraining.id).desc())
            .limit(limit)
        ).all()
    )


@dataclass
class UntrainedSupervisor:
    employee_id: int
    name: str
    number: str
    unit: str
    waiting: int  # appraisals of their reports in open cycles


def untrained_supervisors(
    session: Session, *, limit: int | None = None
) -> list[UntrainedSupervisor]:
    """Return supervisors of people appraised in open cycles who lack dialogue training.

    Listed for HR while any open cycle requires trained managers; most appraisals first.
    """
    reports = Employee.__table__.alias("report")
    supervisor = Employee.__table__.alias("supervisor")
    appraisal, cycle = Appraisal.__table__, AppraisalCycle.__table__
    trained = sa_select(ManagerTraining.employee_id).distinct()
    statement = (
        sa_select(
            supervisor.c.id,
            supervisor.c.first_name,
            supervisor.c.last_name,
            supervisor.c.number,
            Unit.__table__.c.name,
            func.count(),
        )
        .select_from(
            appraisal.join(cycle, cycle.c.id == appraisal.c.cycle_id)
            .join(reports, reports.c.id == appraisal.c.employee_id)
            .join(supervisor, supervisor.c.id == reports.c.supervisor_id)
            .join(Unit.__table__, Unit.__table__.c.id == supervisor.c.unit_id)
        )
        .where(
            cycle.c.completed_at.is_(None),
            cycle.c.require_trained_managers.is_(True),
            appraisal.c.stage != Stage.completed,
            supervisor.c.id.not_in(trained),
        )
        .group_by(
            supervisor.c.id,
            supervisor.c.first_name,
            supervisor.c.last_name,
            supervisor.c.number,
            Unit.__table__.c.name,
        )
        .order_by(func.count().desc(), supervisor.c.last_name)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [
        UntrainedSupervisor(sid, f"{first} {last}", number, unit, waiting)
        for sid, first, last, number, unit, waiting in session.execute(statement)
    ]


def dialogue_gate(session: Session, *, appraisal: Appraisal, employee_id: int | None) -> str:
    """Return why this supervisor may not open the dialogue yet ("" when they may)."""
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    if (
        cycle.require_trained_managers
        and employee_id is not None
        and not is_trained(session, employee_id=employee_id)
    ):
        return _(
            "Before opening appraisal dialogues, complete the appraisal-dialogue training: HR "
            "records it, or it is recorded when you finish the course in the training catalogue."
        )
    if not both_submitted(appraisal):
        return _(
            "The dialogue opens once both the self-assessment and your assessment are submitted."
        )
    return ""


# --- the score ------------------------------------------------------------------------------------


@dataclass
class CompetencyPoint:
    code: str
    name_es: str
    name_en: str
    required: int
    current: int | None
    importance: str
    points: int


@dataclass
class ScoreBreakdown:
    """The documented weighted score (docs/appraisals.md) and its parts."""

    objectives: list[tuple[Objective, int | None]]  # (objective, supervisor's rating)
    objectives_score: float | None
    competencies: list[CompetencyPoint]
    competency_score: float | None
    weighted_score: float | None

    @property
    def suggested_rating(self) -> int | None:
        if self.weighted_score is None:
            return None
        return max(1, min(5, math.floor(self.weighted_score + 0.5)))


def competency_points(required: int, current: int | None) -> int:
    """Return 1–5 points for one competency: 3 at the required level, ±1 per level off."""
    return max(1, min(5, 3 + (current or 0) - required))


def score(session: Session, *, appraisal: Appraisal) -> ScoreBreakdown:
    """Return the weighted score of an appraisal from objectives and competency ratings.

    objectives = Σ weight × supervisor's rating / 100 (1–5);
    competencies = importance-weighted mean of competency_points over the role profile's
    required competencies, from the current validated levels (competency_framework);
    weighted = 0.7 × objectives + 0.3 × competencies (objectives alone without a profile).
    """
    objectives = objectives_of(session, appraisal)
    supervisor_row = _assessment_row(session, appraisal, Side.supervisor)
    ratings = {}
    if supervisor_row is not None:
        ratings = {
            r.objective_id: r.rating
            for r in session.exec(
                select(ObjectiveRating).where(ObjectiveRating.assessment_id == supervisor_row.id)
            )
        }
    rated = [(o, ratings.get(o.id)) for o in objectives]
    objectives_score = None
    if objectives and all(r is not None for _o, r in rated):
        objectives_score = sum(o.weight * r for o, r in rated) / 100
    employee = session.get(Employee, appraisal.employee_id)
    profile = competency_service.person_gap_profile(session, employee=employee)
    points = []
    for row in profile.rows:
        if row.required <= 0:
            continue
        points.append(
            CompetencyPoint(
                code=row.competency.code,
                name_es=row.competency.name_es,
                name_en=row.competency.name_en,
                required=row.required,
                current=row.current,
                importance=row.importance,
                points=competency_points(row.required, row.current),
            )
        )
    competency_score = None
    if points:
        weights = [IMPORTANCE_WEIGHTS.get(p.importance, 1) for p in points]
        competency_score = sum(w * p.points for w, p in zip(weights, points, strict=True)) / sum(
            weights
        )
    weighted = None
    if objectives_score is not None:
        weighted = (
            OBJECTIVES_SHARE * objectives_score + COMPETENCIES_SHARE * competency_score
            if competency_score is not None
            else objectives_score
        )
    return ScoreBreakdown(rated, objectives_score, points, competency_score, weighted)


# --- the dialogue ---------------------------------------------------------------------------------


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
    elif day > (today or utcnow().date()):
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
    dialogue.updated_at = utcnow()
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
    _cycle_of(session, appraisal)
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    now = utcnow()
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
        appraisal.reviewer_id is None and is_hr(actor)
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
    now = utcnow()
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
    now = utcnow()
    for action in actions_of(session, appraisal):
        if action.published_at is not None:
            continue
        publish(
            session,
            DomainEvent(
                "appraisal.development_action_agreed",
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
                "appraisal.rating_dropped",
                payload={"appraisal_id": appraisal.id, "from": before, "to": final},
                subject_employee_id=appraisal.employee_id,
            ),
        )
    if final == 1:
        publish(
            session,
            DomainEvent(
                "appraisal.does_not_meet",
                payload={"appraisal_id": appraisal.id, "rating": final},
                subject_employee_id=appraisal.employee_id,
            ),
        )


# --- calibration ----------------------------------------------------------------------------------


def send_back(session: Session, *, appraisal: Appraisal, reason: str, actor: Actor) -> Appraisal:
    """Send a rated appraisal back to the supervisor from calibration, with a reason (HR).

    The signatures, any disagreement and review are cleared; the supervisor's rating stays as a
    draft for them to reconsider in the dialogue record, which they sign again.
    """
    if not actor.can(Permission.calibrate_appraisals):
        raise AppraisalError(_("Only HR calibrates appraisals."), status_code=403)
    _cycle_of(session, appraisal)
    if appraisal.stage not in (Stage.sign_off, Stage.escalated, Stage.completed):
        raise AppraisalError(
            _("Only an appraisal with a rating can be sent back."), status_code=409
        )
    errors: dict[str, str] = {}
    reason = _text(
        reason,
        limit=MAX_NOTE,
        field="reason",
        errors=errors,
        required=True,
        message=_("Say why the appraisal is sent back."),
    )
    _raise_if(errors, _("The appraisal could not be sent back."))
    before = audit.snapshot(
        appraisal, "stage", "final_rating", "supervisor_rating", "review_rating", "disagreement"
    )
    appraisal.stage = Stage.sign_off
    appraisal.supervisor_signed_at = None
    appraisal.employee_signed_at = None
    appraisal.disagreement = ""
    appraisal.escalated_at = None
    appraisal.reviewer_id = None
    appraisal.review_rating = None
    appraisal.review_reasons = ""
    appraisal.reviewed_at = None
    appraisal.reviewed_by_id = None
    appraisal.completed_at = None
    appraisal.final_rating = appraisal.supervisor_rating
    appraisal.objectives_score = appraisal.competency_score = appraisal.weighted_score = None
    appraisal.sent_back_at = utcnow()
    appraisal.sent_back_reason = reason
    _touch(session, appraisal)
    _step(session, appraisal, "sent_back", actor, reason)
    _audit(
        session,
        "appraisal.sent_back",
        appraisal,
        actor,
        before=before,
        after={"stage": appraisal.stage, "reason": reason},
    )
    session.flush()
    return appraisal


@dataclass
class Distribution:
    """Ratings of one group (a supervisor, a unit, or the organisation)."""

    key: int | None
    label: str
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))
    unit: str = ""
    flag: str = ""  # "lenient" | "severe" | ""

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        return sum(r * c for r, c in self.counts.items()) / self.n if self.n else None

    @property
    def top_share(self) -> float | None:
        return sum(self.counts[r] for r in TOP_RATINGS) / self.n if self.n else None

    @property
    def low_share(self) -> float | None:
        return (self.counts[1] + self.counts[2]) / self.n if self.n else None

    def share(self, rating: int) -> float | None:
        return self.counts[rating] / self.n if self.n else None


@dataclass
class CalibrationReport:
    cycle: AppraisalCycle | None
    organisation: Distribution
    units: list[Distribution]
    supervisors: list[Distribution]

    @property
    def flagged_supervisors(self) -> list[Distribution]:
        return [s for s in self.supervisors if s.flag]

    @property
    def flagged_units(self) -> list[Distribution]:
        return [u for u in self.units if u.flag]


def _flag(group: Distribution, org: Distribution) -> str:
    if group.n < CALIBRATION_MIN_GROUP or not org.n:
        return ""
    if (
        group.mean - org.mean >= CALIBRATION_MEAN_GAP
        or group.top_share - org.top_share >= CALIBRATION_SHARE_GAP
    ):
        return "lenient"
    if (
        org.mean - group.mean >= CALIBRATION_MEAN_GAP
        or group.low_share - org.low_share >= CALIBRATION_SHARE_GAP
    ):
        return "severe"
    return ""


def calibration(session: Session, *, cycle: AppraisalCycle | None) -> CalibrationReport:
    """Return the distribution of ratings per supervisor and per unit, against the organisation.

    Counts every appraisal with a rating in force (signed or not yet: calibration happens before
    the cycle completes). One grouped query; groups that stand out are flagged (see the
    CALIBRATION_* thresholds).
    """
    appraisal = Appraisal.__table__
    conditions = [appraisal.c.final_rating.is_not(None)]
    if cycle is not None:
        conditions.append(appraisal.c.cycle_id == cycle.id)
    rows = session.execute(
        sa_select(
            appraisal.c.appraiser_id, appraisal.c.unit_id, appraisal.c.final_rating, func.count()
        )
        .where(*conditions)
        .group_by(appraisal.c.appraiser_id, appraisal.c.unit_id, appraisal.c.final_rating)
    ).all()
    org = Distribution(None, _("Whole organisation"))
    units: dict[int, Distribution] = {}
    supervisors: dict[int | None, Distribution] = {}
    supervisor_units: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for appraiser_id, unit_id, rating, count in rows:
        org.counts[rating] += count
        units.setdefault(unit_id, Distribution(unit_id, "")).counts[rating] += count
        supervisors.setdefault(appraiser_id, Distribution(appraiser_id, "")).counts[rating] += count
        supervisor_units[appraiser_id][unit_id] += count
    unit_names = dict(session.exec(select(Unit.id, Unit.name)).all())
    for unit_id, group in units.items():
        group.label = unit_names.get(unit_id, str(unit_id))
        group.flag = _flag(group, org)
    names = {}
    ids = [k for k in supervisors if k is not None]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        names.update(
            {
                eid: (f"{first} {last}", unit_id)
                for eid, first, last, unit_id in session.exec(
                    select(
                        Employee.id, Employee.first_name, Employee.last_name, Employee.unit_id
                    ).where(col(Employee.id).in_(chunk))
                ).all()
            }
        )
    for appraiser_id, group in supervisors.items():
        if appraiser_id is None:
            group.label = _("No supervisor")
        else:
            name, home_unit = names.get(appraiser_id, (str(appraiser_id), None))
            group.label = name
            group.unit = unit_names.get(home_unit, "")
        group.flag = _flag(group, org)

    def order(d: Distribution):
        return (not d.flag, -(abs((d.mean or 0) - (org.mean or 0))), d.label.lower())

    return CalibrationReport(
        cycle=cycle,
        organisation=org,
        units=sorted(units.values(), key=order),
        supervisors=sorted(supervisors.values(), key=order),
    )


def appraisals_for_calibration(
    session: Session,
    *,
    cycle: AppraisalCycle,
    appraiser_id: int | None = None,
    unit_id: int | None = None,
    limit: int = 200,
) -> list[tuple[Appraisal, Employee]]:
    """Return the rated appraisals of one supervisor or unit in a cycle (to send one back)."""
    statement = (
        select(Appraisal, Employee)
        .join(Employee, col(Employee.id) == Appraisal.employee_id)
        .where(Appraisal.cycle_id == cycle.id, col(Appraisal.final_rating).is_not(None))
    )
    if appraiser_id is not None:
        statement = statement.where(Appraisal.appraiser_id == appraiser_id)
    if unit_id is not None:
        statement = statement.where(Appraisal.unit_id == unit_id)
    return list(
        session.exec(statement.order_by(col(Employee.last_name), col(Employee.id)).limit(limit))
    )


# --- lists for people -----------------------------------------------------------------------------


def appraisals_of(session: Session, *, employee_id: int) -> list[tuple[Appraisal, AppraisalCycle]]:
    """Return a person's appraisals with their cycles, newest first."""
    return list(
        session.exec(
            select(Appraisal, AppraisalCycle)
            .join(AppraisalCycle, col(AppraisalCycle.id) == Appraisal.cycle_id)
            .where(Appraisal.employee_id == employee_id)
            .order_by(col(AppraisalCycle.period_end).desc(), col(Appraisal.id).desc())
        ).all()
    )


def team_appraisals(
    session: Session, *, supervisor_id: int, open_only: bool = True
) -> list[tuple[Appraisal, Employee, AppraisalCycle]]:
    """Return the appraisals of a supervisor's direct reports (in open cycles by default)."""
    statement = (
        select(Appraisal, Employee, AppraisalCycle)
        .join(Employee, col(Employee.id) == Appraisal.employee_id)
        .join(AppraisalCycle, col(AppraisalCycle.id) == Appraisal.cycle_id)
        .where(Employee.supervisor_id == supervisor_id)
    )
    if open_only:
        statement = statement.where(col(AppraisalCycle.completed_at).is_(None))
    return list(
        session.exec(
            statement.order_by(col(AppraisalCycle.period_end).desc(), col(Employee.last_name))
        ).all()
    )


def escalated_to(session: Session, *, employee_id: int) -> list[tuple[Appraisal, Employee]]:
    """Return appraisals escalated to a second-level manager and awaiting their review."""
    return list(
        session.exec(
            select(Appraisal, Employee)
            .join(Employee, col(Employee.id) == Appraisal.employee_id)
            .where(Appraisal.reviewer_id == employee_id, Appraisal.stage == Stage.escalated)
            .order_by(col(Appraisal.escalated_at))
        ).all()
    )


def escalated_to_hr(session: Session, *, limit: int = 50) -> list[tuple[Appraisal, Employee]]:
    """Return escalated appraisals with no second-level manager (HR reviews them)."""
    return list(
        session.exec(
            select(Appraisal, Employee)
            .join(Employee, col(Employee.id) == Appraisal.employee_id)
            .where(col(Appraisal.reviewer_id).is_(None), Appraisal.stage == Stage.escalated)
            .order_by(col(Appraisal.escalated_at))
            .limit(limit)
        ).all()
    )


def steps_of(session: Session, appraisal: Appraisal) -> list[tuple[AppraisalStep, User | None]]:
    return list(
        session.exec(
            select(AppraisalStep, User)
            .join(User, col(User.id) == AppraisalStep.by_id, isouter=True)
            .where(AppraisalStep.appraisal_id == appraisal.id)
            .order_by(col(AppraisalStep.id))
        ).all()
    )


def next_step(appraisal: Appraisal, parts: set[str]) -> str:
    """Return (an N_ message id) what the person with `parts` should do next, or ""."""
    stage = Stage(appraisal.stage)
    employee, supervisor = "employee" in parts, "supervisor" in parts
    if stage == Stage.objectives:
        if supervisor and appraisal.objectives_proposed_at is None:
            return N_("Propose the objectives, linked to the unit's and the organisation's plan.")
        if employee and appraisal.objectives_proposed_at is not None:
            return N_("Read the proposed objectives and agree to them.")
        if employee:
            return N_("Wait for your supervisor to propose your objectives.")
        return N_("Waiting for the objectives to be proposed and agreed.")
    if stage in (Stage.self_assessment, Stage.dialogue):
        if employee and appraisal.self_submitted_at is None:
            return N_("Record progress during the period, then write your self-assessment.")
        if supervisor and appraisal.supervisor_submitted_at is None:
            return N_("Write your assessment; you will see the self-assessment once both are in.")
        if supervisor:
            return N_("Hold the dialogue and record it with the rating.")
        if employee:
            return N_("Your supervisor will hold the dialogue with you.")
        return N_("Waiting for the assessments and the dialogue.")
    if stage == Stage.sign_off:
        if supervisor and appraisal.supervisor_signed_at is None:
            if appraisal.sent_back_at is not None and appraisal.supervisor_rating is not None:
                return N_("HR sent this appraisal back: reconsider the rating, then sign again.")
            return N_("Check the dialogue record and sign it.")
        if employee and appraisal.supervisor_signed_at is not None:
            return N_("Sign the dialogue record, or record your disagreement.")
        return N_("Waiting for the signatures.")
    if stage == Stage.escalated:
        if "reviewer" in parts or (appraisal.reviewer_id is None and "hr" in parts):
            return N_("Review the disagreement and decide the final rating.")
        return N_("The second-level manager is reviewing the disagreement.")
    return ""


# --- promotion evidence ---------------------------------------------------------------------------


@dataclass
class AppraisalRecord:
    appraisal_id: int
    cycle: str
    period_start: date
    period_end: date
    final_rating: int
    supervisor_rating: int | None
    reviewed: bool
    weighted_score: float | None
    completed_at: datetime | None


@dataclass
class CompetencyRecord:
    code: str
    name_es: str
    name_en: str
    required: int
    current: int | None
    source: str
    rated_at: datetime | None


@dataclass
class PromotionEvidence:
    """What vacancy competitions may weigh: appraisal history and competency ratings."""

    employee_id: int
    appraisals: list[AppraisalRecord]
    competencies: list[CompetencyRecord]

    @property
    def latest_rating(self) -> int | None:
        return self.appraisals[0].final_rating if self.appraisals else None

    @property
    def mean_rating(self) -> float | None:
        """Mean final rating of the last three completed appraisals."""
        recent = [a.final_rating for a in self.appraisals[:3]]
        return sum(recent) / len(recent) if recent else None


def promotion_evidence(session: Session, *, employee_id: int) -> PromotionEvidence:
    """Return a person's completed appraisals (newest first) and their competency ratings.

    For vacancy competitions: the OECD's lesson that promotion should use what performance
    management learns. Only completed appraisals count; competency ratings are the current
    validated levels against the person's role profile.
    """
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise AppraisalError(_("This employee does not exist."), status_code=404)
    records = [
        AppraisalRecord(
            appraisal_id=a.id,
            cycle=c.name,
            period_start=c.period_start,
            period_end=c.period_end,
            final_rating=a.final_rating,
            supervisor_rating=a.supervisor_rating,
            reviewed=a.reviewed_at is not None,
            weighted_score=a.weighted_score,
            completed_at=a.completed_at,
        )
        for a, c in appraisals_of(session, employee_id=employee_id)
        if a.stage == Stage.completed and a.final_rating is not None
    ]
    profile = competency_service.person_gap_profile(session, employee=employee)
    competencies = [
        CompetencyRecord(
            code=row.competency.code,
            name_es=row.competency.name_es,
            name_en=row.competency.name_en,
            required=row.required,
            current=row.current,
            source=row.source,
            rated_at=row.rated_at,
        )
        for row in profile.rows
    ]
    return PromotionEvidence(employee_id, records, competencies)


# --- counters for dashboards ----------------------------------------------------------------------


def stage_counts(
    session: Session, *, cycle_ids: list[int], supervisor_id: int | None = None
) -> dict[str, int]:
    """Return {stage: appraisals} for the cycles (optionally of one supervisor's reports)."""
    if not cycle_ids:
        return {}
    statement = select(Appraisal.stage, func.count()).where(col(Appraisal.cycle_id).in_(cycle_ids))
    if supervisor_id is not None:
        statement = statement.join(Employee, col(Employee.id) == Appraisal.employee_id).where(
            Employee.supervisor_id == supervisor_id
        )
    return dict(session.exec(statement.group_by(col(Appraisal.stage))).all())


def team_to_do(session: Session, *, supervisor_id: int) -> dict[str, int]:
    """Return how many of a supervisor's open appraisals wait for them, per kind of step."""
    counts: dict[str, int] = defaultdict(int)
    for appraisal, _employee, _cycle in team_appraisals(session, supervisor_id=supervisor_id):
        if appraisal.stage == Stage.objectives and appraisal.objectives_proposed_at is None:
            counts["set_objectives"] += 1
        elif (
            appraisal.stage in (Stage.self_assessment, Stage.dialogue)
            and appraisal.supervisor_submitted_at is None
        ):
            counts["supervisor_assessment"] += 1
        elif appraisal.stage == Stage.dialogue and both_submitted(appraisal):
            counts["dialogue"] += 1
        elif appraisal.stage == Stage.sign_off and appraisal.supervisor_signed_at is None:
            counts["supervisor_sign_off"] += 1
    return dict(counts)


def cycle_totals(session: Session, cycles: list[AppraisalCycle]) -> dict[int, dict[str, int]]:
    """Return {cycle id: {stage: count}} for several cycles in one query."""
    if not cycles:
        return {}
    found: dict[int, dict[str, int]] = {c.id: {} for c in cycles}
    for cycle_id, stage, count in session.exec(
        select(Appraisal.cycle_id, Appraisal.stage, func.count())
        .where(col(Appraisal.cycle_id).in_([c.id for c in cycles]))
        .group_by(col(Appraisal.cycle_id), col(Appraisal.stage))
    ):
        found[cycle_id][stage] = count
    return found


def employee_name(session: Session, employee_id: int | None) -> str:
    if employee_id is None:
        return ""
    employee = session.get(Employee, employee_id)
    return employee.full_name if employee else ""


def unit_name(session: Session, unit_id: int | None) -> str:
    unit = session.get(Unit, unit_id) if unit_id else None
    return unit.name if unit else ""
