"""Lists for people and dashboards, and a person's record as promotion evidence."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalStep,
    Stage,
)
from assessments.appraisals.service.access import both_submitted
from assessments.appraisals.service.common import AppraisalError
from assessments.appraisals.service.training import UNTRAINED_COUNT, trained
from backend.auth.models import User
from backend.i18n import N_, _
from backend.org.models import Employee, Position, Unit
from competency_framework import service as competency_service

_appraisal = Appraisal.__table__
_cycle = AppraisalCycle.__table__
_employee = Employee.__table__

_ESCALATED = _appraisal.c.stage == Stage.escalated
# Escalated with no second-level manager above the supervisor: HR reviews these.
_AWAITING_HR = and_(_ESCALATED, _appraisal.c.reviewer_id.is_(None))

# What `next_step`, `_waiting_for_supervisor` and the stage badge read of an appraisal.
_STEP_COLUMNS = (
    _appraisal.c.id,
    _appraisal.c.stage,
    _appraisal.c.objectives_proposed_at,
    _appraisal.c.self_submitted_at,
    _appraisal.c.supervisor_submitted_at,
    _appraisal.c.supervisor_signed_at,
    _appraisal.c.sent_back_at,
    _appraisal.c.supervisor_rating,
    _appraisal.c.reviewer_id,
)
# The cycle's columns that the lists show with each appraisal.
_CYCLE_COLUMNS = (
    _cycle.c.name.label("cycle_name"),
    _cycle.c.period_start,
    _cycle.c.period_end,
    _cycle.c.completed_at.label("cycle_completed_at"),
)

# The lists below are statements built once and read as plain rows (a dashboard panel and the
# appraisals page read them on every visit; ORM entities cost several times the query).
_APPRAISALS_OF = (
    sa_select(*_appraisal.c, *_CYCLE_COLUMNS)
    .join_from(_appraisal, _cycle, _cycle.c.id == _appraisal.c.cycle_id)
    .where(_appraisal.c.employee_id == bindparam("employee_id"))
    .order_by(_cycle.c.period_end.desc(), _appraisal.c.id.desc())
)


def appraisals_of(session: Session, *, employee_id: int) -> list[Row]:
    """Return a person's appraisals, newest first: rows with the appraisal's attributes and
    its cycle's `cycle_name`, `period_start`, `period_end` and `cycle_completed_at`."""
    return list(session.execute(_APPRAISALS_OF, {"employee_id": employee_id}))


# With each row, whether the cycle requires trained managers and whether the supervisor is
# trained (for the team panel's warning; the same for every row).
_TEAM_APPRAISALS = (
    sa_select(
        *_STEP_COLUMNS,
        *_CYCLE_COLUMNS,
        _cycle.c.require_trained_managers,
        _employee.c.first_name,
        _employee.c.last_name,
        trained(bindparam("supervisor_id")).label("supervisor_trained"),
    )
    .select_from(
        _appraisal.join(_employee, _employee.c.id == _appraisal.c.employee_id).join(
            _cycle, _cycle.c.id == _appraisal.c.cycle_id
        )
    )
    .where(_employee.c.supervisor_id == bindparam("supervisor_id"), _cycle.c.completed_at.is_(None))
    .order_by(_cycle.c.period_end.desc(), _employee.c.last_name)
)


def team_appraisals(session: Session, *, supervisor_id: int) -> list[Row]:
    """Return the appraisals of a supervisor's direct reports in open cycles, latest period
    first, then by surname: rows with what `next_step` reads, the cycle's columns as
    `appraisals_of` names them, and the person's `first_name` and `last_name`."""
    return list(session.execute(_TEAM_APPRAISALS, {"supervisor_id": supervisor_id}))


# Built once (the appraisals page reads them on every visit). Entities rather than rows: the
# page shows `Employee.full_name`, and callers compare the appraisals they get.
_ESCALATED_WITH_EMPLOYEE = (
    select(Appraisal, Employee)
    .join(Employee, col(Employee.id) == Appraisal.employee_id)
    .order_by(col(Appraisal.escalated_at))
)
_ESCALATED_TO = _ESCALATED_WITH_EMPLOYEE.where(
    _ESCALATED, Appraisal.reviewer_id == bindparam("employee_id")
)
_ESCALATED_TO_HR = _ESCALATED_WITH_EMPLOYEE.where(_AWAITING_HR).limit(bindparam("limit"))


def escalated_to(session: Session, *, employee_id: int) -> list[tuple[Appraisal, Employee]]:
    """Return appraisals escalated to a second-level manager and awaiting their review."""
    return list(session.exec(_ESCALATED_TO, params={"employee_id": employee_id}).all())


def escalated_to_hr(session: Session, *, limit: int = 50) -> list[tuple[Appraisal, Employee]]:
    """Return escalated appraisals with no second-level manager (HR reviews them)."""
    return list(session.exec(_ESCALATED_TO_HR, params={"limit": limit}).all())


_ESCALATED_TO_COUNT = sa_select(func.count()).where(
    _ESCALATED, _appraisal.c.reviewer_id == bindparam("employee_id")
)


def escalated_to_count(session: Session, *, employee_id: int) -> int:
    """How many appraisals `escalated_to` lists (the dashboard's count, without the rows)."""
    return session.execute(_ESCALATED_TO_COUNT, {"employee_id": employee_id}).scalar_one()


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
            cycle=a.cycle_name,
            period_start=a.period_start,
            period_end=a.period_end,
            final_rating=a.final_rating,
            supervisor_rating=a.supervisor_rating,
            reviewed=a.reviewed_at is not None,
            weighted_score=a.weighted_score,
            completed_at=a.completed_at,
        )
        for a in appraisals_of(session, employee_id=employee_id)
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


def _waiting_for_supervisor(appraisal: Any) -> str | None:
    """Return the kind of step an open appraisal waits on its supervisor for (None: none)."""
    if appraisal.stage == Stage.objectives and appraisal.objectives_proposed_at is None:
        return "set_objectives"
    if (
        appraisal.stage in (Stage.self_assessment, Stage.dialogue)
        and appraisal.supervisor_submitted_at is None
    ):
        return "supervisor_assessment"
    if appraisal.stage == Stage.dialogue and both_submitted(appraisal):
        return "dialogue"
    if appraisal.stage == Stage.sign_off and appraisal.supervisor_signed_at is None:
        return "supervisor_sign_off"
    return None


@dataclass(frozen=True)
class TeamSummary:
    """A supervisor's direct reports' appraisals in open cycles, counted for the dashboard."""

    total: int
    by_stage: dict[str, int]
    # {kind of step: appraisals waiting for the supervisor}, in the order `team_appraisals`
    # lists them (the panel shows the kinds in that order).
    to_do: dict[str, int]
    # Some of these open cycles require trained managers and the supervisor is not trained.
    needs_training: bool


def team_summary(session: Session, *, supervisor_id: int) -> TeamSummary:
    """Return how a supervisor's open team appraisals stand and what waits for them (one query)."""
    rows = team_appraisals(session, supervisor_id=supervisor_id)
    by_stage: dict[str, int] = defaultdict(int)
    to_do: dict[str, int] = defaultdict(int)
    for row in rows:
        by_stage[row.stage] += 1
        if kind := _waiting_for_supervisor(row):
            to_do[kind] += 1
    return TeamSummary(
        total=len(rows),
        by_stage=dict(by_stage),
        to_do=dict(to_do),
        needs_training=any(r.require_trained_managers and not r.supervisor_trained for r in rows),
    )


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


@dataclass(frozen=True)
class OpenCyclesOverview:
    """HR's dashboard: each open cycle with its appraisals per stage, and what needs HR."""

    # (the cycle's id and name, {stage: appraisals}), the newest opened first.
    cycles: list[tuple[Row, dict[str, int]]]
    untrained: int  # supervisors `untrained_supervisors` lists
    hr_reviews: int  # appraisals `escalated_to_hr` lists (without its limit)


# One row per open cycle and stage (one with stage NULL for a cycle without appraisals), each
# carrying the two counts; `correlate(None)`: the appraisal table of the count stands alone.
_OPEN_CYCLES_OVERVIEW = (
    sa_select(
        _cycle.c.id,
        _cycle.c.name,
        _appraisal.c.stage,
        func.count(_appraisal.c.id).label("appraisals"),
        UNTRAINED_COUNT.scalar_subquery().label("untrained"),
        sa_select(func.count())
        .select_from(_appraisal)
        .where(_AWAITING_HR)
        .correlate(None)
        .scalar_subquery()
        .label("hr_reviews"),
    )
    .select_from(_cycle.outerjoin(_appraisal, _appraisal.c.cycle_id == _cycle.c.id))
    .where(_cycle.c.completed_at.is_(None))
    .group_by(_cycle.c.id, _cycle.c.name, _cycle.c.opened_at, _appraisal.c.stage)
    .order_by(_cycle.c.opened_at.desc(), _cycle.c.id)
)


def open_cycles_overview(session: Session) -> OpenCyclesOverview:
    """Return the open cycles (as `open_cycles` orders them) with `cycle_totals`' counters,
    and how many supervisors lack the training and disagreements await HR, in one query."""
    cycles: dict[int, tuple[Row, dict[str, int]]] = {}
    untrained = hr_reviews = 0
    for row in session.execute(_OPEN_CYCLES_OVERVIEW):
        _cycle_row, counts = cycles.setdefault(row.id, (row, {}))
        if row.stage is not None:
            counts[row.stage] = row.appraisals
        untrained, hr_reviews = row.untrained, row.hr_reviews
    return OpenCyclesOverview(list(cycles.values()), untrained, hr_reviews)


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
