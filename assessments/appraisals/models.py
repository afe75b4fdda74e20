"""Appraisal dialogues: the organisation's plan, cycles, objectives, assessments, dialogues.

The shape follows the OECD's lessons (Box 5 of the review): performance starts from the
organisation's plan (`PlanPriority` → `UnitObjective` → each person's `Objective`), rests on a
dialogue with the closest supervisor (`AppraisalDialogue`), looks forward (barriers, support,
`DevelopmentAction`), values the team (`TeamObjective`), is rated on a fixed scale, and needs
trained managers (`ManagerTraining`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime
from backend.i18n import N_

# --- the fixed rating scale -------------------------------------------------------------------

RATINGS = (1, 2, 3, 4, 5)
RATING_LABELS = {
    1: N_("Does not meet expectations"),
    2: N_("Partly meets expectations"),
    3: N_("Meets expectations"),
    4: N_("Exceeds expectations"),
    5: N_("Far exceeds expectations"),
}
RATING_DESCRIPTORS = {
    1: N_(
        "Most objectives were not achieved and the shortfall was not explained by barriers "
        "outside the person's control; an improvement plan is needed."
    ),
    2: N_(
        "Some objectives were achieved, others only in part; the person needs support to reach "
        "the expected level in the next period."
    ),
    3: N_(
        "The objectives were achieved as agreed, with the quality and within the times the "
        "procurement plan expects."
    ),
    4: N_(
        "The objectives were achieved and several were exceeded; the person's work improved "
        "the team's results."
    ),
    5: N_(
        "Results well beyond the agreed objectives, sustained through the period, that others "
        "in the organisation can learn from."
    ),
}
TOP_RATINGS = (4, 5)


class Stage(StrEnum):
    """Where an appraisal stands; the cycle's counters group by this column."""

    objectives = "objectives"  # no objectives agreed yet
    self_assessment = "self_assessment"  # objectives agreed; self-assessment pending
    dialogue = "dialogue"  # self-assessment in; supervisor's assessment or the dialogue pending
    sign_off = "sign_off"  # dialogue recorded and rated; signatures pending
    escalated = "escalated"  # the employee disagreed; with the second-level manager
    completed = "completed"


STAGE_LABELS = {
    Stage.objectives: N_("No objectives yet"),
    Stage.self_assessment: N_("Self-assessment pending"),
    Stage.dialogue: N_("Dialogue pending"),
    Stage.sign_off: N_("Sign-off pending"),
    Stage.escalated: N_("With the second-level manager"),
    Stage.completed: N_("Completed"),
}
# An appraisal's own badge at Stage.objectives once its objectives are proposed: the stage
# still counts it as "no objectives yet" (none agreed), but the person has a set to agree to.
PROPOSED_LABEL = N_("Objectives awaiting agreement")


class Side(StrEnum):
    """Who wrote an assessment."""

    self = "self"
    supervisor = "supervisor"


SIDE_LABELS = {Side.self: N_("Self-assessment"), Side.supervisor: N_("Supervisor's assessment")}


# --- the organisation's plan ------------------------------------------------------------------


class PlanPriority(SQLModel, table=True):
    """A priority of the organisation-wide procurement plan for one year, with its target."""

    __tablename__ = "plan_priority"
    __table_args__ = (UniqueConstraint("year", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    title: str = Field(max_length=200)
    target: str = Field(max_length=500)
    description: str = Field(default="", max_length=2000)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class UnitObjective(SQLModel, table=True):
    """A unit's objective for a year, serving one priority of the organisation's plan."""

    __tablename__ = "unit_objective"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    year: int = Field(index=True)
    priority_id: int = Field(foreign_key="plan_priority.id", index=True)
    title: str = Field(max_length=200)
    target: str = Field(max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


# --- cycles and appraisals ----------------------------------------------------------------------


class AppraisalCycle(SQLModel, table=True):
    """A period in which everyone in scope is appraised; locked once HR completes it."""

    __tablename__ = "appraisal_cycle"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    period_start: date
    period_end: date
    # The year of the organisation's plan whose priorities objectives link to.
    plan_year: int
    # What HR chose, kept for display: {"units": [codes], "roles": [codes], "subunits": bool}
    scope: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Supervisors must have completed the appraisal-dialogue training before opening dialogues.
    require_trained_managers: bool = True
    appraisal_count: int = 0
    opened_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    opened_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class Appraisal(SQLModel, table=True):
    """One person's appraisal in one cycle: a timestamp per step, ratings, and the stage.

    `appraiser_id` is the supervisor when the cycle opened, replaced by whoever acts as the
    employee's direct supervisor later (the calibration view groups by it). `reviewer_id` is the
    second-level manager an escalation went to (None: HR reviews).
    """

    __tablename__ = "appraisal"
    __table_args__ = (
        UniqueConstraint("cycle_id", "employee_id"),
        CheckConstraint("supervisor_rating BETWEEN 1 AND 5", name="supervisor_rating_on_scale"),
        CheckConstraint("review_rating BETWEEN 1 AND 5", name="review_rating_on_scale"),
        CheckConstraint("final_rating BETWEEN 1 AND 5", name="final_rating_on_scale"),
        Index("ix_appraisal_cycle_id_unit_id_stage", "cycle_id", "unit_id", "stage"),
        Index("ix_appraisal_cycle_id_appraiser_id", "cycle_id", "appraiser_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="appraisal_cycle.id", ondelete="CASCADE")
    employee_id: int = Field(foreign_key="employee.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    position_id: int | None = Field(default=None, foreign_key="position.id")
    appraiser_id: int | None = Field(default=None, foreign_key="employee.id")
    stage: str = Field(default=Stage.objectives, max_length=16)
    objectives_proposed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    objectives_agreed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    self_submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    supervisor_submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The weighted score (1–5) from objectives and competencies, fixed when the supervisor signs.
    objectives_score: float | None = None
    competency_score: float | None = None
    weighted_score: float | None = None
    supervisor_rating: int | None = None
    supervisor_reasons: str = Field(default="", max_length=4000)
    supervisor_signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    employee_signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disagreement: str = Field(default="", max_length=4000)
    reviewer_id: int | None = Field(default=None, foreign_key="employee.id", index=True)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_rating: int | None = None
    review_reasons: str = Field(default="", max_length=4000)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    # The rating in force: the reviewer's after an escalation, else the supervisor's.
    final_rating: int | None = None
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_back_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_back_reason: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class AppraisalStep(SQLModel, table=True):
    """The appraisal's own history: each step taken, by whom and when (shown on its page)."""

    __tablename__ = "appraisal_step"

    id: int | None = Field(default=None, primary_key=True)
    appraisal_id: int = Field(foreign_key="appraisal.id", index=True, ondelete="CASCADE")
    step: str = Field(max_length=40)
    by_id: int | None = Field(default=None, foreign_key="app_user.id")
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    note: str = Field(default="", max_length=2000)


# --- objectives ---------------------------------------------------------------------------------


class TeamObjective(SQLModel, table=True):
    """An objective shared by everyone in a unit during a cycle (one progress log for all)."""

    __tablename__ = "team_objective"
    __table_args__ = (
        CheckConstraint("weight BETWEEN 1 AND 100", name="weight_range"),
        CheckConstraint("(unit_objective_id IS NULL) <> (priority_id IS NULL)", name="one_link"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="appraisal_cycle.id", index=True, ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id", index=True)
    unit_objective_id: int | None = Field(default=None, foreign_key="unit_objective.id")
    priority_id: int | None = Field(default=None, foreign_key="plan_priority.id")
    title: str = Field(max_length=200)
    measure: str = Field(max_length=500)
    # The weight it starts with in each member's set (the supervisor may adjust it per person).
    weight: int = 20
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Objective(SQLModel, table=True):
    """One objective of a person's set: measurable, weighted, linked to the plan.

    Each links either to a unit objective or directly to an organisation priority. A team
    objective appears in every member's set as a row pointing at it (title and measure come from
    the team objective, the weight is the person's).
    """

    __tablename__ = "objective"
    __table_args__ = (
        CheckConstraint("weight BETWEEN 1 AND 100", name="weight_range"),
        CheckConstraint("(unit_objective_id IS NULL) <> (priority_id IS NULL)", name="one_link"),
    )

    id: int | None = Field(default=None, primary_key=True)
    appraisal_id: int = Field(foreign_key="appraisal.id", index=True, ondelete="CASCADE")
    team_objective_id: int | None = Field(
        default=None, foreign_key="team_objective.id", index=True, ondelete="CASCADE"
    )
    unit_objective_id: int | None = Field(default=None, foreign_key="unit_objective.id")
    priority_id: int | None = Field(default=None, foreign_key="plan_priority.id")
    title: str = Field(max_length=200)
    measure: str = Field(max_length=500)
    weight: int
    position: int = 0


class ObjectiveProgress(SQLModel, table=True):
    """A progress update during the period, on a person's objective or a team objective."""

    __tablename__ = "objective_progress"
    __table_args__ = (
        CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"),
        CheckConstraint("(objective_id IS NULL) <> (team_objective_id IS NULL)", name="one_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    objective_id: int | None = Field(
        default=None, foreign_key="objective.id", index=True, ondelete="CASCADE"
    )
    team_objective_id: int | None = Field(
        default=None, foreign_key="team_objective.id", index=True, ondelete="CASCADE"
    )
    percent: int
    note: str = Field(default="", max_length=2000)
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


# --- the two blind assessments ------------------------------------------------------------------


class AppraisalAssessment(SQLModel, table=True):
    """One side's assessment (self or supervisor), unseen by the other until both are in."""

    __tablename__ = "appraisal_assessment"
    __table_args__ = (UniqueConstraint("appraisal_id", "side"),)

    id: int | None = Field(default=None, primary_key=True)
    appraisal_id: int = Field(foreign_key="appraisal.id", index=True, ondelete="CASCADE")
    side: str = Field(max_length=12)
    achievements: str = Field(default="", max_length=4000)
    to_improve: str = Field(default="", max_length=4000)
    written_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ObjectiveRating(SQLModel, table=True):
    """How far one objective was achieved, on the 1–5 scale, in one side's assessment."""

    __tablename__ = "objective_rating"
    __table_args__ = (
        UniqueConstraint("assessment_id", "objective_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_on_scale"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(
        foreign_key="appraisal_assessment.id", index=True, ondelete="CASCADE"
    )
    objective_id: int = Field(foreign_key="objective.id", index=True, ondelete="CASCADE")
    rating: int
    comment: str = Field(default="", max_length=2000)


# --- the dialogue -----------------------------------------------------------------------------


class AppraisalDialogue(SQLModel, table=True):
    """What the employee and the supervisor said and agreed in their dialogue."""

    __tablename__ = "appraisal_dialogue"

    appraisal_id: int = Field(foreign_key="appraisal.id", primary_key=True, ondelete="CASCADE")
    held_on: date
    achievements: str = Field(default="", max_length=4000)
    barriers: str = Field(default="", max_length=4000)
    support_needed: str = Field(default="", max_length=4000)
    next_objectives: str = Field(default="", max_length=4000)
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class DevelopmentAction(SQLModel, table=True):
    """A development action agreed in the dialogue; announced once the record is signed.

    `published_at` is set when `appraisal.development_action_agreed` was published, so a record
    sent back and signed again does not propose the same action twice.
    """

    __tablename__ = "development_action"

    id: int | None = Field(default=None, primary_key=True)
    appraisal_id: int = Field(foreign_key="appraisal.id", index=True, ondelete="CASCADE")
    employee_id: int = Field(foreign_key="employee.id", index=True)
    competency_code: str | None = Field(default=None, max_length=60)
    description: str = Field(max_length=1000)
    due_by: date | None = None
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- trained managers, reminders ----------------------------------------------------------------


class TrainingSource(StrEnum):
    hr = "hr"
    training = "training"  # the training catalogue's "training.completed" event


TRAINING_SOURCE_LABELS = {
    TrainingSource.hr: N_("Recorded by HR"),
    TrainingSource.training: N_("Training catalogue"),
}


class ManagerTraining(SQLModel, table=True):
    """A supervisor's completed appraisal-dialogue training."""

    __tablename__ = "manager_training"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    completed_on: date
    evidence: str = Field(default="", max_length=500)
    source: str = Field(default=TrainingSource.hr, max_length=16)
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class AppraisalReminder(SQLModel, table=True):
    """A reminder given to one person in a cycle (shown on their start page)."""

    __tablename__ = "appraisal_reminder"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="appraisal_cycle.id", index=True, ondelete="CASCADE")
    recipient_employee_id: int = Field(foreign_key="employee.id", index=True)
    kind: str = Field(max_length=24)
    pending: int = 0
    sent_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    sent_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    # The reminder's email (assessments/appraisals/flows.py): "pending" until the mail job
    # sends it ("sent"), gives up ("failed"), finds no active account ("no_account") or the
    # cycle was completed first ("cancelled"). None: recorded before reminders were emailed.
    mail_status: str | None = Field(default=None, max_length=12, index=True)
    mail_attempts: int = 0
    mailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- 360° and upward feedback -------------------------------------------------------------------


class FeedbackRelation(StrEnum):
    """How a rater stands to the person they give feedback on."""

    self = "self"  # the appraisee's own feedback, shown apart from the others'
    report = "report"  # upward: someone who reports to the appraisee
    peer = "peer"  # chosen by the appraisee, their supervisor or HR


FEEDBACK_RELATION_LABELS = {
    FeedbackRelation.self: N_("Your own feedback"),
    FeedbackRelation.report: N_("Upward feedback (you report to this person)"),
    FeedbackRelation.peer: N_("Feedback on a colleague"),
}


class FeedbackRound(SQLModel, table=True):
    """The cycle's feedback round, switched on by HR: the behaviours rated, open until closed."""

    __tablename__ = "feedback_round"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="appraisal_cycle.id", unique=True, ondelete="CASCADE")
    # The competency codes whose behaviours every answer rates 1–5, in framework order.
    items: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    opened_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class FeedbackInvitation(SQLModel, table=True):
    """Who is asked for feedback on whose appraisal; `answered` is all an answer leaves here.

    It carries no time of answering and no link to the answer, so nothing joins a rater to
    what they said (the answer rows carry no rater either).
    """

    __tablename__ = "feedback_invitation"
    __table_args__ = (UniqueConstraint("round_id", "appraisal_id", "rater_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="feedback_round.id", index=True, ondelete="CASCADE")
    appraisal_id: int = Field(foreign_key="appraisal.id", index=True, ondelete="CASCADE")
    rater_id: int = Field(foreign_key="employee.id", index=True)
    relation: str = Field(max_length=8)
    invited_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    answered: bool = False


class FeedbackAnswer(SQLModel, table=True):
    """One answer: ratings per item and a comment, with no rater, no time and a random id.

    Others' answers are released in batches of at least the suppression threshold (`batch`,
    None until released), so two views of the results never differ by fewer answers than that.
    """

    __tablename__ = "feedback_answer"
    __table_args__ = (Index("ix_feedback_answer_appraisal_id_own", "appraisal_id", "own"),)

    id: str = Field(primary_key=True, max_length=32)
    round_id: int = Field(foreign_key="feedback_round.id", index=True, ondelete="CASCADE")
    appraisal_id: int = Field(foreign_key="appraisal.id", ondelete="CASCADE")
    own: bool = False  # the appraisee's own feedback
    batch: int | None = None
    # {competency code: rating 1–5}
    ratings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", max_length=2000)
