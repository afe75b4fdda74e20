"""Triage, questionnaires and retention of cases (whistleblowing.service.triage,
questionnaires, retention): a channel's versioned questionnaire, an investigator's priority
override and the extensions and legal holds that keep a closed case past its retention period.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.i18n import N_
from whistleblowing.models.reports import utc_day


class PriorityLevel(StrEnum):
    """How urgently a case should be looked at (computed, or set by an investigator)."""

    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


PRIORITY_LABELS: dict[PriorityLevel, str] = {
    PriorityLevel.low: N_("Low"),
    PriorityLevel.medium: N_("Medium"),
    PriorityLevel.high: N_("High"),
    PriorityLevel.urgent: N_("Urgent"),
}


class QuestionKind(StrEnum):
    text = "text"
    choice = "choice"
    date = "date"
    yes_no = "yes_no"


QUESTION_KIND_LABELS: dict[QuestionKind, str] = {
    QuestionKind.text: N_("Text"),
    QuestionKind.choice: N_("Choice from a list"),
    QuestionKind.date: N_("Date"),
    QuestionKind.yes_no: N_("Yes or no"),
}


class ChannelQuestionnaire(SQLModel, table=True):
    """One published version of a channel's questionnaire. Versions are never changed: an
    edit publishes a new one, and a report keeps the version it was filed with.

    `questions` is the ordered list of questions, each a dict: key (stable across versions),
    kind, text ({es, en}), required, options ([{key, label: {es, en}}] for a choice) and
    show_if ({question, answer}: asked only when an earlier question got that answer) or None.
    """

    __tablename__ = "channel_questionnaire"
    __table_args__ = (UniqueConstraint("channel_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="report_channel.id", index=True, ondelete="CASCADE")
    version: int
    questions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    published_on: date = Field(default_factory=utc_day)
    published_by_id: int | None = Field(
        default=None, foreign_key="app_user.id", ondelete="SET NULL"
    )


class ReportPriorityOverride(SQLModel, table=True):
    """An investigator set a case's priority by hand; the reason is sealed to the report."""

    __tablename__ = "report_priority_override"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    level: str = Field(max_length=10)
    reason_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    set_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    set_on: date = Field(default_factory=utc_day)


class RetentionHoldKind(StrEnum):
    extension = "extension"  # keep the closed case until a later day
    legal_hold = "legal_hold"  # keep it whatever the rules say, until the hold ends


RETENTION_HOLD_LABELS: dict[RetentionHoldKind, str] = {
    RetentionHoldKind.extension: N_("Retention extended"),
    RetentionHoldKind.legal_hold: N_("Legal hold"),
}


class RetentionHold(SQLModel, table=True):
    """A reason to keep a case longer than the retention rules: an extension to a day, or a
    legal hold until its end day (or until released). The reason is sealed to the report."""

    __tablename__ = "report_retention_hold"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=12)
    until: date
    reason_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    placed_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    placed_on: date = Field(default_factory=utc_day)
    released_on: date | None = None
    released_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
