"""Training: the catalogue (activities, target levels, sessions), budgets, individual plans,
enrolments with their evidence, external learners and mentoring."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime
from backend.i18n import N_


class Modality(StrEnum):
    e_learning = "e_learning"
    classroom = "classroom"
    coaching = "coaching"
    mentoring = "mentoring"
    workshop = "workshop"
    secondment = "secondment"
    certification = "certification"
    knowledge_sharing = "knowledge_sharing"


MODALITY_LABELS = {
    Modality.e_learning: N_("E-learning"),
    Modality.classroom: N_("Classroom course"),
    Modality.coaching: N_("Coaching"),
    Modality.mentoring: N_("Mentoring"),
    Modality.workshop: N_("Workshop"),
    Modality.secondment: N_("Secondment"),
    Modality.certification: N_("Certification"),
    Modality.knowledge_sharing: N_("Knowledge sharing"),
}


class Audience(StrEnum):
    procurement_staff = "procurement_staff"
    user_areas = "user_areas"
    suppliers = "suppliers"


AUDIENCE_LABELS = {
    Audience.procurement_staff: N_("Procurement staff"),
    Audience.user_areas: N_("User areas"),
    Audience.suppliers: N_("Suppliers"),
}


class EvidenceRule(StrEnum):
    """What a completion must carry."""

    none = "none"
    certificate = "certificate"
    score = "score"
    certificate_or_score = "certificate_or_score"


EVIDENCE_LABELS = {
    EvidenceRule.none: N_("No evidence needed"),
    EvidenceRule.certificate: N_("Certificate"),
    EvidenceRule.score: N_("Score"),
    EvidenceRule.certificate_or_score: N_("Certificate or score"),
}


class TrainingActivity(SQLModel, table=True):
    """One entry of the catalogue: a course, workshop, certification, secondment…

    `cost` is per participant, in whole Mexican pesos. `capacity` is the default number of seats
    of a new session (0 = no limit, e.g. self-paced e-learning).
    """

    __tablename__ = "training_activity"
    __table_args__ = (
        CheckConstraint("cost >= 0", name="cost_not_negative"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    title_es: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    description_es: str = Field(default="", max_length=2000)
    description_en: str = Field(default="", max_length=2000)
    modality: str = Field(max_length=20, index=True)
    provider: str = Field(default="", max_length=200)
    hours: float = 0
    cost: int = 0
    capacity: int = 0
    audience: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: str = Field(default=EvidenceRule.none, max_length=24)
    pass_score: int | None = None
    # The entry programme for new staff (assigned automatically, never proposed for gaps).
    is_induction: bool = False
    is_active: bool = True
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ActivityTarget(SQLModel, table=True):
    """A competency an activity develops: it takes a participant from `from_level` to `to_level`."""

    __tablename__ = "training_activity_target"
    __table_args__ = (
        UniqueConstraint("activity_id", "competency_id"),
        CheckConstraint(
            "from_level >= 0 AND to_level <= 4 AND from_level < to_level", name="levels_rise"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="training_activity.id", index=True, ondelete="CASCADE")
    competency_id: int = Field(foreign_key="competency.id")
    from_level: int
    to_level: int


class TrainingSession(SQLModel, table=True):
    """A dated run of an activity, at a place (or online), with a number of seats."""

    __tablename__ = "training_session"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="training_activity.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=200)
    capacity: int = 0  # 0 = no limit
    is_cancelled: bool = False
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class TrainingBudget(SQLModel, table=True):
    """A unit's training budget for a calendar year, in whole Mexican pesos."""

    __tablename__ = "training_budget"
    __table_args__ = (
        UniqueConstraint("unit_id", "year"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    year: int
    amount: int
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PlanStatus(StrEnum):
    proposed = "proposed"  # items waiting for the supervisor
    submitted = "submitted"  # the employee agreed and sent it to the supervisor
    approved = "approved"  # nothing waiting: the supervisor approved every item


PLAN_STATUS_LABELS = {
    PlanStatus.proposed: N_("Awaiting approval"),
    PlanStatus.submitted: N_("Sent for approval"),
    PlanStatus.approved: N_("All approved"),
}


class TrainingPlan(SQLModel, table=True):
    """One person's training plan for a calendar year.

    `unit_id` is the unit whose budget the plan spends: the person's unit when it was last
    proposed or approved.
    """

    __tablename__ = "training_plan"
    # Few indexes on purpose: plans are written 100 000 at a time (see bench/training.py). The
    # unique constraint serves lookups by person; budgets read by unit and year.
    __table_args__ = (
        UniqueConstraint("employee_id", "year"),
        Index("ix_training_plan_unit_year", "unit_id", "year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id")
    year: int
    unit_id: int = Field(foreign_key="unit.id")
    status: str = Field(default=PlanStatus.proposed, max_length=16)
    proposed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    over_budget_reason: str = Field(default="", max_length=1000)


class ItemOrigin(StrEnum):
    gap = "gap"
    development_action = "development_action"
    induction = "induction"
    employee = "employee"
    supervisor = "supervisor"
    hr = "hr"
    renewal = "renewal"


ORIGIN_LABELS = {
    ItemOrigin.gap: N_("Competency gap"),
    ItemOrigin.development_action: N_("Appraisal development action"),
    ItemOrigin.induction: N_("Induction"),
    ItemOrigin.employee: N_("Asked by the employee"),
    ItemOrigin.supervisor: N_("Added by the supervisor"),
    ItemOrigin.hr: N_("Added by HR"),
    ItemOrigin.renewal: N_("Certificate renewal"),
}


class ItemStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    completed = "completed"
    removed = "removed"  # taken out by the employee before approval
    declined = "declined"  # refused by the supervisor or HR (before or after approval)
    withdrawn = "withdrawn"  # the employee gave up an approved activity


ITEM_STATUS_LABELS = {
    ItemStatus.proposed: N_("Proposed"),
    ItemStatus.approved: N_("Approved"),
    ItemStatus.completed: N_("Completed"),
    ItemStatus.removed: N_("Removed"),
    ItemStatus.declined: N_("Declined"),
    ItemStatus.withdrawn: N_("Withdrawn"),
}
# Items that spend (or may spend) budget.
LIVE_ITEM_STATUSES = (ItemStatus.proposed, ItemStatus.approved, ItemStatus.completed)


class TrainingPlanItem(SQLModel, table=True):
    """One activity (or, for a development action with no catalogue match, one described action)
    in a plan, with why it is there and where it stands."""

    __tablename__ = "training_plan_item"
    # Items are written a hundred thousand at a time (bench/training.py), so they carry only the
    # indexes and foreign keys that earn their cost: indexed by plan and by person; the only
    # foreign key is the plan. `employee_id` copies the plan's (which has the foreign key);
    # activities and competencies are reference data that is never deleted (an activity is
    # deactivated instead). On PostgreSQL each foreign key is a row lock per inserted item:
    # the three left out cost 6 s of a 100 000-person proposal.
    __table_args__ = (CheckConstraint("cost >= 0", name="cost_not_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="training_plan.id", index=True, ondelete="CASCADE")
    employee_id: int = Field(index=True)
    activity_id: int | None = None
    competency_id: int | None = None
    origin: str = Field(max_length=24)
    status: str = Field(default=ItemStatus.proposed, max_length=16)
    priority: int = 0
    gap: int = 0
    current_level: int | None = None
    target_level: int | None = None
    cost: int = 0
    description: str = Field(default="", max_length=1000)
    appraisal_id: int | None = None
    development_action_id: int | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A renewal: what it renews ("qualification:ID" or "enrolment:ID") and the day that
    # expires; the daily expiry job proposes each (renewal_of, expires_on) once.
    renewal_of: str = Field(default="", max_length=40)
    expires_on: date | None = None


class ExternalLearner(SQLModel, table=True):
    """A supplier's representative who may take open activities (e.g. CompraNet for suppliers).

    They sign in with an account holding only the `supplier` role and see their own enrolments.
    """

    __tablename__ = "training_external_learner"

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=200)
    email: str = Field(max_length=254, unique=True, index=True)
    organisation: str = Field(max_length=200)
    tax_id: str = Field(default="", max_length=13)  # RFC of the supplier, if given
    user_id: int | None = Field(default=None, foreign_key="app_user.id", unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class EnrolmentStatus(StrEnum):
    enrolled = "enrolled"
    waitlisted = "waitlisted"
    cancelled = "cancelled"
    completed = "completed"
    not_passed = "not_passed"


ENROLMENT_STATUS_LABELS = {
    EnrolmentStatus.enrolled: N_("Enrolled"),
    EnrolmentStatus.waitlisted: N_("On the waiting list"),
    EnrolmentStatus.cancelled: N_("Cancelled"),
    EnrolmentStatus.completed: N_("Completed"),
    EnrolmentStatus.not_passed: N_("Not passed"),
}
ACTIVE_ENROLMENT_STATUSES = (EnrolmentStatus.enrolled, EnrolmentStatus.waitlisted)


class TrainingEnrolment(SQLModel, table=True):
    """A seat (or a place on the waiting list) in a session, for an employee or an external
    learner; on completion it carries the evidence (a certificate file, a score)."""

    __tablename__ = "training_enrolment"
    __table_args__ = (
        CheckConstraint("(employee_id IS NULL) <> (learner_id IS NULL)", name="one_learner"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
        Index("ix_training_enrolment_session_status", "session_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="training_session.id")
    activity_id: int = Field(foreign_key="training_activity.id", index=True)
    plan_item_id: int | None = Field(default=None, foreign_key="training_plan_item.id", index=True)
    employee_id: int | None = Field(default=None, foreign_key="employee.id", index=True)
    learner_id: int | None = Field(
        default=None, foreign_key="training_external_learner.id", index=True
    )
    status: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    enrolled_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    promoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    cancel_reason: str = Field(default="", max_length=1000)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    completed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    score: int | None = None
    # The stored certificate: a random file name under data_dir/training_evidence.
    certificate_file: str = Field(default="", max_length=80)
    certificate_name: str = Field(default="", max_length=200)
    certificate_type: str = Field(default="", max_length=50)
    certificate_sha256: str = Field(default="", max_length=64)
    # The day the certificate stops being valid (None: it does not expire).
    certificate_expires_on: date | None = None
    evidence_note: str = Field(default="", max_length=1000)
    # Rating log entries (source "training") written on completion, awaiting confirmation.
    rating_entry_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class MentorStatus(StrEnum):
    active = "active"
    ended = "ended"


class MentorAssignment(SQLModel, table=True):
    """A Practitioner or Expert mentoring a colleague with a gap in one competency."""

    __tablename__ = "training_mentor_assignment"

    id: int | None = Field(default=None, primary_key=True)
    mentor_employee_id: int = Field(foreign_key="employee.id", index=True)
    mentee_employee_id: int = Field(foreign_key="employee.id", index=True)
    competency_id: int = Field(foreign_key="competency.id")
    status: str = Field(default=MentorStatus.active, max_length=10, index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    started_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
