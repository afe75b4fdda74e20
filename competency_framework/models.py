"""The competency framework (scale, competencies), role profiles, the rating log, campaigns."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime
from backend.i18n import N_


class FrameworkVersion(SQLModel, table=True):
    """Each version of framework.yaml that has been loaded, with the hash of its content."""

    __tablename__ = "framework_version"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=20, unique=True)
    source: str = Field(default="", max_length=500)
    content_sha256: str = Field(max_length=64)
    proficient_level: int = 3
    loaded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ProficiencyLevel(SQLModel, table=True):
    __tablename__ = "proficiency_level"

    level: int = Field(primary_key=True)
    code: str = Field(max_length=30, unique=True)
    name_es: str = Field(max_length=80)
    name_en: str = Field(max_length=80)
    description_es: str = Field(max_length=1000)
    description_en: str = Field(max_length=1000)


class Competency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True, index=True)
    order: int
    group: str = Field(max_length=20)
    name_es: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    description_es: str = Field(max_length=2000)
    description_en: str = Field(max_length=2000)
    framework_version: str = Field(max_length=20)


class LevelDescriptor(SQLModel, table=True):
    """What a person at `level` of one competency can do, in both languages."""

    __tablename__ = "level_descriptor"
    __table_args__ = (UniqueConstraint("competency_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    competency_id: int = Field(foreign_key="competency.id", index=True, ondelete="CASCADE")
    level: int = Field(foreign_key="proficiency_level.level")
    text_es: str = Field(max_length=2000)
    text_en: str = Field(max_length=2000)


# --- role profiles ----------------------------------------------------------------------------


class Importance(StrEnum):
    essential = "essential"
    desirable = "desirable"


IMPORTANCE_LABELS = {
    Importance.essential: N_("Essential"),
    Importance.desirable: N_("Desirable"),
}


class RoleProfile(SQLModel, table=True):
    """The required levels for a role (all positions with that role_code) or for one position.

    `key` is "role:<role_code>" for the defaults of a role and "position:<id>" for an HR
    planner's override of one position. The requirements live in versions; `current_version`
    points at the one in force.
    """

    __tablename__ = "role_profile"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=60, unique=True, index=True)
    role_code: str = Field(default="", max_length=40, index=True)
    position_id: int | None = Field(default=None, foreign_key="position.id", index=True)
    title_es: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=200)
    current_version: int = 1
    is_active: bool = True
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class RoleProfileVersion(SQLModel, table=True):
    """One version of a role profile's requirements; never changed once written."""

    __tablename__ = "role_profile_version"
    __table_args__ = (UniqueConstraint("profile_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="role_profile.id", index=True)
    version: int
    source: str = Field(default="", max_length=60)  # "data 2026.1", "edit", "import", "override"
    reason: str = Field(default="", max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class RoleRequirement(SQLModel, table=True):
    """Required level (0–4; 0 = no requirement) and importance of one competency in a version."""

    __tablename__ = "role_requirement"
    __table_args__ = (
        UniqueConstraint("version_id", "competency_id"),
        CheckConstraint("level >= 0 AND level <= 4", name="level_on_scale"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="role_profile_version.id", index=True)
    competency_id: int = Field(foreign_key="competency.id")
    level: int
    importance: str = Field(default=Importance.essential, max_length=16)


# --- ratings ----------------------------------------------------------------------------------


class RatingSource(StrEnum):
    self = "self"
    supervisor = "supervisor"
    hr = "hr"
    training = "training"
    assessment = "assessment"


RATING_SOURCE_LABELS = {
    RatingSource.self: N_("Self-assessment"),
    RatingSource.supervisor: N_("Supervisor"),
    RatingSource.hr: N_("HR"),
    RatingSource.training: N_("Training"),
    RatingSource.assessment: N_("Assessment"),
}


class RatingEntry(SQLModel, table=True):
    """One entry of an employee's append-only rating log.

    Self-assessments are recorded unvalidated; a supervisor's (or HR's) decision on one is a new,
    validated entry pointing at it through `review_of_id`. The newest validated entry per
    competency is the employee's current level (mirrored in `current_rating`).
    """

    __tablename__ = "rating_entry"
    __table_args__ = (
        CheckConstraint("level >= 0 AND level <= 4", name="level_on_scale"),
        Index("ix_rating_entry_employee_competency", "employee_id", "competency_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id")
    competency_id: int = Field(foreign_key="competency.id")
    level: int
    source: str = Field(max_length=16)
    validated: bool = False
    review_of_id: int | None = Field(default=None, foreign_key="rating_entry.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="assessment_campaign.id")
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    note: str = Field(default="", max_length=2000)
    evidence_url: str = Field(default="", max_length=500)


class CurrentRating(SQLModel, table=True):
    """The newest validated level per employee × competency, kept in step with the log.

    Written in the same transaction as the validated entry, so reading everyone's current
    levels is one scan of a narrow table instead of a "latest per group" query over the log.
    """

    __tablename__ = "current_rating"

    employee_id: int = Field(foreign_key="employee.id", primary_key=True)
    competency_id: int = Field(foreign_key="competency.id", primary_key=True)
    level: int
    entry_id: int = Field(foreign_key="rating_entry.id")
    source: str = Field(max_length=16)
    rated_at: datetime = Field(sa_type=UTCDateTime)
    # The competency_revision.ratings value of the transaction that wrote this row: cached
    # reports read only the rows above the revision they were computed at.
    revision: int = Field(default=0, index=True)


class CompetencyRevision(SQLModel, table=True):
    """Counters bumped in the same transaction as every validated rating and profile change.

    Cached gap reports are keyed on them, so every worker process can tell cheaply whether its
    cached copy is still current.
    """

    __tablename__ = "competency_revision"

    id: int = Field(default=1, primary_key=True)
    ratings: int = 0
    profiles: int = 0
    changed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


# --- assessment campaigns ---------------------------------------------------------------------


class AssessmentCampaign(SQLModel, table=True):
    """A round of self-assessment and validation for chosen units and positions."""

    __tablename__ = "assessment_campaign"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    deadline: date
    opened_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    # What HR chose, kept for display: {"units": [codes], "roles": [role codes], "subunits": bool}
    scope: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CampaignParticipant(SQLModel, table=True):
    """Who a campaign covers (fixed when it opens), with the unit they were in then."""

    __tablename__ = "campaign_participant"

    campaign_id: int = Field(
        foreign_key="assessment_campaign.id", primary_key=True, ondelete="CASCADE"
    )
    employee_id: int = Field(foreign_key="employee.id", primary_key=True, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)


class CampaignReminder(SQLModel, table=True):
    """A reminder given to one person: to finish a self-assessment, or to validate reports'."""

    __tablename__ = "campaign_reminder"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="assessment_campaign.id", index=True, ondelete="CASCADE")
    recipient_employee_id: int = Field(foreign_key="employee.id", index=True)
    kind: str = Field(max_length=20)  # "self_assessment" | "validation"
    pending: int = 0  # competencies (self) or people (validation) outstanding when sent
    sent_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    sent_by_id: int | None = Field(default=None, foreign_key="app_user.id")
