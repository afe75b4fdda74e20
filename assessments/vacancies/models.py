"""Merit-based vacancy competitions: the notice, applications, test, panel scores, outcomes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime
from backend.i18n import N_


class VacancyStatus(StrEnum):
    draft = "draft"
    pending_approval = "pending_approval"
    approved = "approved"
    published = "published"  # the notice is public; applications while the window is open
    testing = "testing"
    sift = "sift"
    interview = "interview"
    results = "results"  # merit list published, appeal window
    appointed = "appointed"
    cancelled = "cancelled"


VACANCY_STATUS_LABELS = {
    VacancyStatus.draft: N_("Draft"),
    VacancyStatus.pending_approval: N_("Awaiting approval"),
    VacancyStatus.approved: N_("Approved, not yet published"),
    VacancyStatus.published: N_("Published"),
    VacancyStatus.testing: N_("Knowledge test"),
    VacancyStatus.sift: N_("Evidence sift"),
    VacancyStatus.interview: N_("Interviews"),
    VacancyStatus.results: N_("Merit list published"),
    VacancyStatus.appointed: N_("Appointed"),
    VacancyStatus.cancelled: N_("Cancelled"),
}


class Stage(StrEnum):
    """The assessed stages, each with a weight and a pass mark."""

    test = "test"
    sift = "sift"
    interview = "interview"


STAGE_LABELS = {
    Stage.test: N_("Knowledge test"),
    Stage.sift: N_("Evidence sift"),
    Stage.interview: N_("Structured interview"),
}

# Where a candidate left the competition (also the `stage` of rejection events).
OUT_STAGE_LABELS = {
    "eligibility": N_("Eligibility"),
    "test": N_("Knowledge test"),
    "sift": N_("Evidence sift"),
    "interview": N_("Structured interview"),
}


class TieBreak(StrEnum):
    test_score = "test_score"
    interview_score = "interview_score"
    sift_score = "sift_score"
    earliest_application = "earliest_application"


TIE_BREAK_LABELS = {
    TieBreak.test_score: N_("Higher knowledge test score"),
    TieBreak.interview_score: N_("Higher interview score"),
    TieBreak.sift_score: N_("Higher evidence sift score"),
    TieBreak.earliest_application: N_("Earlier application"),
}


class KnowledgeDomain(SQLModel, table=True):
    """An area of technical knowledge the test draws questions from (e.g. procurement law)."""

    __tablename__ = "knowledge_domain"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name_es: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


DIFFICULTY_LABELS = {1: N_("Easy"), 2: N_("Medium"), 3: N_("Hard")}


class BankQuestion(SQLModel, table=True):
    """A multiple-choice question of the bank, by knowledge domain and competency."""

    __tablename__ = "bank_question"
    __table_args__ = (
        CheckConstraint("difficulty >= 1 AND difficulty <= 3", name="difficulty_range"),
        Index("ix_bank_question_pool", "domain_id", "difficulty", "is_active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int = Field(foreign_key="knowledge_domain.id")
    competency_id: int | None = Field(default=None, foreign_key="competency.id")
    difficulty: int = 2
    stem: str = Field(max_length=2000)
    options: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    correct_option: int
    is_active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Vacancy(SQLModel, table=True):
    """A competition for a position. Notice fields are locked once published (see `notice`)."""

    __tablename__ = "vacancy"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=30, unique=True, index=True)
    position_id: int = Field(foreign_key="position.id", index=True)
    # The hiring unit: the position's unit when the vacancy was created.
    unit_id: int = Field(foreign_key="unit.id", index=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="", max_length=4000)
    profile_key: str = Field(default="", max_length=60)
    profile_version: int = 0
    # [{"competency": code, "required_level": n, "importance": "essential"}]
    criteria: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    knowledge_domains: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weight_test: int = 1
    weight_sift: int = 1
    weight_interview: int = 1
    weight_justification: str = Field(default="", max_length=2000)
    pass_mark_test: int = 60  # percent
    pass_mark_sift: int = 50
    pass_mark_interview: int = 50
    tie_break: str = Field(default=TieBreak.test_score, max_length=30)
    panel_size: int = 3
    # [{"domain": code, "difficulty": 1-3 or null, "count": n}]
    blueprint: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    test_minutes: int = 45
    # [{"key": "q1", "text": "...", "pass_answer": "yes" | "no"}]
    eligibility: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    posting_days: int = 10
    status: str = Field(default=VacancyStatus.draft, max_length=20, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    submitted_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    returned_reason: str = Field(default="", max_length=2000)
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the notice in force was last put on the board (publication or last amendment).
    notice_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notice: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notice_sha256: str = Field(default="", max_length=64)
    test_opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    test_closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sift_locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    interview_locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    results_published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    appeal_closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merit_version: int = 0
    merit_sha256: str = Field(default="", max_length=64)
    appointed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reserve_valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str = Field(default="", max_length=2000)


class VacancyAmendment(SQLModel, table=True):
    """A formal, published change to a locked notice; it reopens the application window."""

    __tablename__ = "vacancy_amendment"
    __table_args__ = (UniqueConstraint("vacancy_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    number: int
    reason: str = Field(max_length=2000)
    # {field: {"before": ..., "after": ...}}
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    previous_sha256: str = Field(max_length=64)
    notice_sha256: str = Field(max_length=64)
    closes_at_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closes_at_after: datetime = Field(sa_type=UTCDateTime)
    published_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    published_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class InterviewQuestion(SQLModel, table=True):
    """A question of the structured interview: the same for every candidate."""

    __tablename__ = "interview_question"

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    competency_code: str = Field(max_length=60)
    order: int = 0
    text: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PanelMember(SQLModel, table=True):
    """A person on a competition's panel (the same panel assesses every candidate)."""

    __tablename__ = "panel_member"
    __table_args__ = (UniqueConstraint("vacancy_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    employee_id: int | None = Field(default=None, foreign_key="employee.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    outside_hiring_unit: bool = False
    appointed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    appointed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class CandidateAccount(SQLModel, table=True):
    """An external candidate's account details: names for conflict checks, email verification."""

    __tablename__ = "candidate_account"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    first_name: str = Field(max_length=100)
    last_names: str = Field(max_length=150)
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SHA-256 of the one-time verification token (the token itself is only in the email).
    token_hash: str = Field(default="", max_length=64, index=True)
    token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ApplicationStatus(StrEnum):
    active = "active"  # still in the competition
    screened_out = "screened_out"  # failed an eligibility question (may ask for a review)
    out = "out"  # below a pass mark or absent from the test (see out_stage)
    ranked = "ranked"  # on the published merit list
    appointed = "appointed"
    declined = "declined"  # was offered the post and declined
    withdrawn = "withdrawn"


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.active: N_("In the competition"),
    ApplicationStatus.screened_out: N_("Screened out"),
    ApplicationStatus.out: N_("Did not pass"),
    ApplicationStatus.ranked: N_("On the merit list"),
    ApplicationStatus.appointed: N_("Appointed"),
    ApplicationStatus.declined: N_("Declined the offer"),
    ApplicationStatus.withdrawn: N_("Withdrawn"),
}


class Application(SQLModel, table=True):
    __tablename__ = "vacancy_application"
    __table_args__ = (
        UniqueConstraint("vacancy_id", "user_id"),
        UniqueConstraint("vacancy_id", "anonymous_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    # Internal candidates: their employee record and, at the time of applying, unit and boss.
    employee_id: int | None = Field(default=None, foreign_key="employee.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    supervisor_employee_id: int | None = Field(default=None, foreign_key="employee.id")
    is_internal: bool = False
    candidate_name: str = Field(max_length=250)
    candidate_surnames: str = Field(default="", max_length=150)
    # What the panel sees in the sift instead of a name.
    anonymous_code: str = Field(max_length=12)
    submitted_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # {"q1": "yes", ...}
    eligibility_answers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Keys of the eligibility questions answered against the requirement.
    screening_failures: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ApplicationStatus.active, max_length=20, index=True)
    out_stage: str = Field(default="", max_length=20)
    out_reason: str = Field(default="", max_length=2000)
    review_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_grounds: str = Field(default="", max_length=4000)
    review_decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    review_reinstated: bool | None = None
    review_reason: str = Field(default="", max_length=2000)
    declined_reason: str = Field(default="", max_length=2000)


class ApplicationEvidence(SQLModel, table=True):
    """The candidate's written evidence for one required competency."""

    __tablename__ = "application_evidence"

    application_id: int = Field(
        foreign_key="vacancy_application.id", primary_key=True, ondelete="CASCADE"
    )
    competency_code: str = Field(max_length=60, primary_key=True)
    text: str = Field(max_length=6000)


class ConflictDeclaration(SQLModel, table=True):
    """A panel member's declaration about one applicant, with what HR data suggested."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("application_id", "member_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(foreign_key="vacancy_application.id", index=True)
    member_user_id: int = Field(foreign_key="app_user.id", index=True)
    conflicted: bool
    note: str = Field(default="", max_length=2000)
    # Likely conflicts Mérito found: "supervisor", "same_unit", "shared_surname".
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # A relation that is not a conflict (the member still scores): "", "former_colleague",
    # "acquaintance", "other". Integrity checks such pairs for favouritism.
    relation: str = Field(default="", max_length=20)
    declared_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class TestAttempt(SQLModel, table=True):
    """One candidate's knowledge test: the drawn questions (and the seed), times and mark."""

    __tablename__ = "test_attempt"
    __test__ = False  # not a pytest test class

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(foreign_key="vacancy_application.id", unique=True)
    seed: str = Field(max_length=64)
    question_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    deadline_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    correct: int = 0
    counted: int = 0
    score: float | None = None


class TestAnswer(SQLModel, table=True):
    __tablename__ = "test_answer"
    __test__ = False  # not a pytest test class

    attempt_id: int = Field(foreign_key="test_attempt.id", primary_key=True, ondelete="CASCADE")
    question_id: int = Field(foreign_key="bank_question.id", primary_key=True)
    chosen: int
    answered_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class NeutralisedQuestion(SQLModel, table=True):
    """A faulty question removed from everyone's mark in one competition, and why."""

    __tablename__ = "neutralised_question"

    vacancy_id: int = Field(foreign_key="vacancy.id", primary_key=True)
    question_id: int = Field(foreign_key="bank_question.id", primary_key=True)
    reason: str = Field(max_length=2000)
    neutralised_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    neutralised_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PanelScore(SQLModel, table=True):
    """One panel member's independent score (0–4) of one competency; append-only.

    The newest row per (application, stage, competency, rater) is the score in force; earlier
    rows show every edit.
    """

    __tablename__ = "panel_score"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 4", name="score_on_scale"),
        Index("ix_panel_score_key", "application_id", "stage", "competency_code", "rater_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(foreign_key="vacancy_application.id")
    stage: str = Field(max_length=12)
    competency_code: str = Field(max_length=60)
    rater_id: int = Field(foreign_key="app_user.id", index=True)
    score: int
    note: str = Field(default="", max_length=2000)
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ConsensusScore(SQLModel, table=True):
    """The panel's agreed score of one competency; append-only, every change with a reason."""

    __tablename__ = "consensus_score"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 4", name="score_on_scale"),
        Index("ix_consensus_score_key", "application_id", "stage", "competency_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(foreign_key="vacancy_application.id")
    stage: str = Field(max_length=12)
    competency_code: str = Field(max_length=60)
    score: int
    independent_mean: float
    reason: str = Field(default="", max_length=2000)
    # Recorded after the stage was locked (names revealed), through an upheld appeal.
    after_lock: bool = False
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class MeritListEntry(SQLModel, table=True):
    """One candidate's line of a published merit list version."""

    __tablename__ = "merit_list_entry"
    __table_args__ = (
        UniqueConstraint("vacancy_id", "version", "application_id"),
        Index("ix_merit_list_entry_list", "vacancy_id", "version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id")
    version: int
    application_id: int = Field(foreign_key="vacancy_application.id")
    rank: int | None = None  # None: did not pass every stage
    test_score: float | None = None
    sift_score: float | None = None
    interview_score: float | None = None
    total: float | None = None
    out_stage: str = Field(default="", max_length=20)
    published_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class AppealStatus(StrEnum):
    submitted = "submitted"
    under_review = "under_review"
    upheld = "upheld"
    dismissed = "dismissed"


APPEAL_STATUS_LABELS = {
    AppealStatus.submitted: N_("Submitted"),
    AppealStatus.under_review: N_("Under review"),
    AppealStatus.upheld: N_("Upheld"),
    AppealStatus.dismissed: N_("Dismissed"),
}


class Appeal(SQLModel, table=True):
    __tablename__ = "vacancy_appeal"

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(foreign_key="vacancy_application.id", index=True)
    grounds: str = Field(max_length=6000)
    status: str = Field(default=AppealStatus.submitted, max_length=16)
    submitted_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    reviewer_id: int | None = Field(default=None, foreign_key="app_user.id")
    review_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str = Field(default="", max_length=4000)
    # The merit list version that took an upheld appeal's corrections into account.
    corrected_in_version: int | None = None


class AppointmentStatus(StrEnum):
    pending_approval = "pending_approval"
    effective = "effective"
    refused = "refused"


class Appointment(SQLModel, table=True):
    """An appointment from the merit list (or its reserve list)."""

    __tablename__ = "vacancy_appointment"

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(foreign_key="vacancy_application.id", index=True)
    merit_rank: int
    from_reserve: bool = False
    # Required (and published) when the person is not the top of the remaining list.
    justification: str = Field(default="", max_length=4000)
    status: str = Field(default=AppointmentStatus.effective, max_length=20)
    proposed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    proposed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approval_note: str = Field(default="", max_length=2000)
    effective_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- fairness: reasonable adjustments and equal-opportunity monitoring ----------------------------
# Neither is read by the panel's or the sift's modules (tests/vacancies/test_fairness_boundary.py).


class AdjustmentKind(StrEnum):
    extra_time = "extra_time"
    large_print = "large_print"
    screen_reader = "screen_reader"
    breaks = "breaks"
    another_sitting = "another_sitting"


ADJUSTMENT_KIND_LABELS = {
    AdjustmentKind.extra_time: N_("Extra time in the knowledge test"),
    AdjustmentKind.large_print: N_("Larger print"),
    AdjustmentKind.screen_reader: N_("Screen-reader-friendly format"),
    AdjustmentKind.breaks: N_("Breaks during the test"),
    AdjustmentKind.another_sitting: N_("Another sitting (a different time)"),
}


class AdjustmentDecision(StrEnum):
    pending = "pending"
    granted = "granted"
    partly = "partly"
    refused = "refused"


ADJUSTMENT_DECISION_LABELS = {
    AdjustmentDecision.pending: N_("Awaiting HR's decision"),
    AdjustmentDecision.granted: N_("Granted in full"),
    AdjustmentDecision.partly: N_("Granted in part"),
    AdjustmentDecision.refused: N_("Refused"),
}


class AdjustmentRequest(SQLModel, table=True):
    """A candidate's request for reasonable adjustments in one competition, and HR's decision.

    Only the candidate, HR and the knowledge test read it: never the panel or the sift.
    """

    __tablename__ = "adjustment_request"
    __table_args__ = (
        CheckConstraint("extra_minutes >= 0 AND extra_minutes <= 600", name="extra_minutes_range"),
        CheckConstraint(
            "granted_minutes >= 0 AND granted_minutes <= 600", name="granted_minutes_range"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    application_id: int = Field(
        foreign_key="vacancy_application.id", unique=True, ondelete="CASCADE"
    )
    # AdjustmentKind values asked for.
    kinds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Extra test time asked for: minutes, or a percentage of the test's time (one of them).
    extra_minutes: int = 0
    extra_percent: int = 0
    details: str = Field(default="", max_length=2000)
    requested_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    decision: str = Field(default=AdjustmentDecision.pending, max_length=10)
    granted_kinds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    granted_minutes: int = 0
    decision_reason: str = Field(default="", max_length=2000)
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MonitoringResponse(SQLModel, table=True):
    """One applicant's optional equal-opportunity answers, kept apart from selection.

    No column names the application or the person: `token` is a keyed MAC of the application's
    id (a key only the monitoring service derives), so no selection query can join the two, and
    no timestamp or sequence orders the rows. Deleted with the competition's retention
    (`service.monitoring`).
    """

    __tablename__ = "monitoring_response"

    token: str = Field(max_length=64, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id", index=True)
    sex: str = Field(default="", max_length=20)
    age_band: str = Field(default="", max_length=20)
    disability: str = Field(default="", max_length=20)
    indigenous_language: str = Field(default="", max_length=20)


# --- calendar slots: interviews and test sittings ---------------------------------------------


class SlotKind(StrEnum):
    test = "test"  # a knowledge-test sitting
    interview = "interview"


SLOT_KIND_LABELS = {
    SlotKind.test: N_("Knowledge test sitting"),
    SlotKind.interview: N_("Interview"),
}


class Slot(SQLModel, table=True):
    """A time and place (a room, or a video link) where some candidates sit the test or are
    interviewed. `booked` counts the live bookings; it is changed only by conditional updates
    that keep it within `capacity` (service/slots.py), so concurrent bookings never overfill."""

    __tablename__ = "vacancy_slot"
    __table_args__ = (
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        Index("ix_vacancy_slot_list", "vacancy_id", "kind", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vacancy_id: int = Field(foreign_key="vacancy.id")
    kind: str = Field(max_length=20)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=300)
    video_link: str = Field(default="", max_length=500)
    capacity: int
    booked: int = 0
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class SlotBooking(SQLModel, table=True):
    """A candidate's place in a slot: one per application and kind. The row outlives moves and
    cancellations so the calendar event keeps its UID and its SEQUENCE only ever grows."""

    __tablename__ = "vacancy_slot_booking"
    __table_args__ = (UniqueConstraint("application_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="vacancy_application.id", index=True)
    slot_id: int = Field(foreign_key="vacancy_slot.id", index=True)
    kind: str = Field(max_length=20)
    sequence: int = 0
    booked_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    booked_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
