"""Appraisal cycles: opening one for a population, progress, reminders, completing it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, bindparam, func, insert, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalReminder,
    Stage,
)
from assessments.appraisals.service.common import (
    MAX_TITLE,
    AppraisalError,
    _audit,
    _raise_if,
    _text,
)
from assessments.appraisals.service.plan import list_priorities
from backend import clock, revisions
from backend.auth import Actor
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import UTCDateTime
from backend.i18n import N_, _
from backend.org import service as org_service
from backend.org.models import Employee, EmployeeStatus, Position, Unit


def list_cycles(session: Session) -> list[AppraisalCycle]:
    """Return cycles, open ones first, newest first."""
    rows = session.exec(select(AppraisalCycle)).all()
    return sorted(rows, key=lambda c: (c.completed_at is not None, -c.opened_at.timestamp()))


def open_cycles(session: Session) -> list[AppraisalCycle]:
    return [c for c in list_cycles(session) if c.completed_at is None]


def get_cycle(session: Session, cycle_id: int) -> AppraisalCycle | None:
    return session.get(AppraisalCycle, cycle_id)


def require_cycle(session: Session, cycle_id: int | None) -> AppraisalCycle:
    """Return the cycle `cycle_id` names; 404 when there is none."""
    cycle = session.get(AppraisalCycle, cycle_id) if cycle_id is not None else None
    if cycle is None:
        raise AppraisalError(_("This appraisal cycle does not exist."), status_code=404)
    return cycle


def all_units(session: Session) -> list[Unit]:
    """Return every unit by name (the units a cycle may cover)."""
    return list(session.exec(select(Unit).order_by(col(Unit.name))))


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
    period_start: date | None,
    period_end: date | None,
    plan_year: int | None,
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
    start, end = period_start, period_end
    if start is None:
        errors["period_start"] = _("Enter the first day of the period as a date.")
    if end is None:
        errors["period_end"] = _("Enter the last day of the period as a date.")
    if start and end and end <= start:
        errors["period_end"] = _("The period must end after it starts.")
    year = plan_year
    if year is None:
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
    now = clock.now()
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
    cycle.completed_at = clock.now()
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
    now = clock.now()
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


# Built once, and read as plain rows with the model's attribute names (`kind`, `pending`,
# `sent_at`...): two dashboard panels and the appraisals page ask on every visit.
_LATEST_REMINDERS = (
    sa_select(*AppraisalReminder.__table__.c)
    .join_from(
        AppraisalReminder.__table__,
        AppraisalCycle.__table__,
        AppraisalCycle.__table__.c.id == AppraisalReminder.__table__.c.cycle_id,
    )
    .where(
        AppraisalReminder.__table__.c.recipient_employee_id == bindparam("employee_id"),
        AppraisalCycle.__table__.c.completed_at.is_(None),
    )
    .order_by(AppraisalReminder.__table__.c.id.desc())
    .limit(bindparam("limit"))
)


def reminders_for(session: Session, *, employee_id: int, limit: int = 5) -> list[Row]:
    """Return the latest reminders a person received in open cycles, newest first (read once
    a transaction: the panels for the person and for their team both show one)."""
    return list(
        revisions.per_transaction(
            session,
            ("appraisal_reminders", employee_id, limit),
            lambda: tuple(
                session.execute(_LATEST_REMINDERS, {"employee_id": employee_id, "limit": limit})
            ),
        )
    )
