"""Lists for people and dashboards, and a person's record as promotion evidence."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalStep,
    Stage,
)
from assessments.appraisals.service.access import both_submitted
from assessments.appraisals.service.common import AppraisalError
from backend.auth.models import User
from backend.i18n import N_, _
from backend.org.models import Employee, Position, Unit
from competency_framework import service as competency_service


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


def escalated_to_hr_count(session: Session) -> int:
    """How many escalated appraisals HR reviews (the dashboard's count, without the rows)."""
    return session.exec(
        select(func.count())
        .select_from(Appraisal)
        .where(col(Appraisal.reviewer_id).is_(None), Appraisal.stage == Stage.escalated)
    ).one()


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


def appraisal_people(session: Session, appraisal: Appraisal) -> dict[str, Any]:
    """Return who and where an appraisal is about: the employee, their unit and position,
    and the names of the appraiser and the reviewer ("" when none)."""
    position = session.get(Position, appraisal.position_id) if appraisal.position_id else None
    return {
        "employee": session.get(Employee, appraisal.employee_id),
        "unit": session.get(Unit, appraisal.unit_id),
        "position": position,
        "appraiser": employee_name(session, appraisal.appraiser_id),
        "reviewer": employee_name(session, appraisal.reviewer_id),
    }
