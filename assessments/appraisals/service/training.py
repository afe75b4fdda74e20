"""Trained managers: the appraisal-dialogue training the dialogue may require."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Exists, bindparam, exists, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    ManagerTraining,
    Stage,
    TrainingSource,
)
from assessments.appraisals.service.access import both_submitted
from assessments.appraisals.service.common import (
    DIALOGUE_TRAINING_CODE,
    AppraisalError,
    _parse_date,
    _raise_if,
    _text,
    log,
    named_record,
    organisation_today,
)
from backend import audit
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.i18n import _
from backend.org.models import Employee, Unit


def trained(employee_id: ColumnElement[int]) -> Exists:
    """The condition that `employee_id` (a column or a bound parameter) completed the training."""
    return exists().where(ManagerTraining.__table__.c.employee_id == employee_id)


_IS_TRAINED = sa_select(trained(bindparam("employee_id")))


def is_trained(session: Session, *, employee_id: int) -> bool:
    """True if the person has completed the appraisal-dialogue training."""
    return bool(session.execute(_IS_TRAINED, {"employee_id": employee_id}).scalar_one())


def record_manager_training(
    session: Session,
    *,
    employee_id: int | None,
    completed_on: date | None,
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
    employee = named_record(session, Employee, employee_id)
    if employee is None:
        errors["employee_id"] = _("Choose the supervisor who completed the training.")
    day = _parse_date(completed_on)
    if day is None:
        errors["completed_on"] = _("Enter the day the training was completed.")
    elif day > (today or organisation_today(session)):
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


def record_catalogue_training(
    session: Session, *, employee_id: Any, completed_on: Any, evidence: str, fallback_day: date
) -> ManagerTraining | None:
    """Record dialogue training the training catalogue reports completed (once per day).

    `fallback_day` is the event's day, used when the catalogue gives no date. An unknown
    employee is logged and ignored (None), as is a completion already recorded.
    """
    if employee_id is None or session.get(Employee, int(employee_id)) is None:
        log.warning("training.completed for an unknown employee %r ignored", employee_id)
        return None
    day = _parse_date(completed_on) or fallback_day
    already = session.exec(
        select(ManagerTraining.id).where(
            ManagerTraining.employee_id == int(employee_id),
            ManagerTraining.source == TrainingSource.training,
            ManagerTraining.completed_on == day,
        )
    ).first()
    if already is not None:
        return None
    return record_manager_training(
        session,
        employee_id=int(employee_id),
        completed_on=day,
        evidence=str(evidence or DIALOGUE_TRAINING_CODE),
        actor=None,
        source=TrainingSource.training,
        today=max(day, organisation_today(session)),
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


# Supervisors of people appraised in open cycles that require trained managers, who lack the
# training, with how many appraisals wait for them. Built once: the HR dashboard counts them on
# every visit (`UNTRAINED_COUNT`).
_report = Employee.__table__.alias("report")
_supervisor = Employee.__table__.alias("supervisor")
_unit = Unit.__table__
_UNTRAINED_GROUPS = (
    sa_select(
        _supervisor.c.id,
        _supervisor.c.first_name,
        _supervisor.c.last_name,
        _supervisor.c.number,
        _unit.c.name,
        func.count().label("waiting"),
    )
    .select_from(
        Appraisal.__table__.join(
            AppraisalCycle.__table__,
            AppraisalCycle.__table__.c.id == Appraisal.__table__.c.cycle_id,
        )
        .join(_report, _report.c.id == Appraisal.__table__.c.employee_id)
        .join(_supervisor, _supervisor.c.id == _report.c.supervisor_id)
        .join(_unit, _unit.c.id == _supervisor.c.unit_id)
    )
    .where(
        AppraisalCycle.__table__.c.completed_at.is_(None),
        AppraisalCycle.__table__.c.require_trained_managers.is_(True),
        Appraisal.__table__.c.stage != Stage.completed,
        ~trained(_supervisor.c.id),
    )
    .group_by(
        _supervisor.c.id,
        _supervisor.c.first_name,
        _supervisor.c.last_name,
        _supervisor.c.number,
        _unit.c.name,
    )
)
_UNTRAINED = _UNTRAINED_GROUPS.order_by(func.count().desc(), _supervisor.c.last_name)
UNTRAINED_COUNT = sa_select(func.count()).select_from(_UNTRAINED_GROUPS.subquery())


def untrained_count(session: Session) -> int:
    """How many supervisors `untrained_supervisors` lists, counted by the database."""
    return session.execute(UNTRAINED_COUNT).scalar_one()


def untrained_supervisors(
    session: Session, *, limit: int | None = None
) -> list[UntrainedSupervisor]:
    """Return supervisors of people appraised in open cycles who lack dialogue training.

    Listed for HR while any open cycle requires trained managers; most appraisals first.
    """
    statement = _UNTRAINED if limit is None else _UNTRAINED.limit(limit)
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
