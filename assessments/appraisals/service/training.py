"""Trained managers: the appraisal-dialogue training the dialogue may require."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
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
