"""Case tracking (whistleblowing.service): tags, links, conflicts, absences, declared interests,
reminders and notifications.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.i18n import N_
from whistleblowing.models.reports import random_id_column, utc_day

# --- case tracking (whistleblowing.cases) -----------------------------------------------------


class CaseTag(SQLModel, table=True):
    """A label investigators put on cases. The list is kept by administrators, so nobody types
    a person's name into plain metadata."""

    __tablename__ = "case_tag"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name_es: str = Field(max_length=80)
    name_en: str = Field(max_length=80)


class ReportTag(SQLModel, table=True):
    __tablename__ = "report_tag"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="case_tag.id", primary_key=True, ondelete="CASCADE")


class ReportLink(SQLModel, table=True):
    """Two cases about the same matter. Stored once, with the lower id first."""

    __tablename__ = "report_link"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    linked_report_id: int = Field(
        foreign_key="report.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    linked_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    linked_on: date = Field(default_factory=utc_day)


class ReportConflict(SQLModel, table=True):
    """An investigator declared a conflict of interest: they lost access and cannot get it back."""

    __tablename__ = "report_conflict"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    declared_on: date = Field(default_factory=utc_day)


class InvestigatorAbsence(SQLModel, table=True):
    """A period an investigator is away: their cases go to the channel's deputy."""

    __tablename__ = "investigator_absence"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    starts_on: date
    ends_on: date
    created_on: date = Field(default_factory=utc_day)


class DeclaredInterest(SQLModel, table=True):
    """An investigator's standing register of interests: suppliers, people they are related
    to, units (free-text terms, and units of the organisation). Every new report is checked
    against it as it is submitted, like the names of the channel's people: a report that
    touches an interest never reaches them (whistleblowing.service.interests_touched)."""

    __tablename__ = "declared_interest"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    terms: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    unit_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_on: date = Field(default_factory=utc_day)


class CaseReminder(SQLModel, table=True):
    """A reminder an investigator set on a case; its note is sealed to the report's key."""

    __tablename__ = "case_reminder"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    remind_on: date = Field(index=True)
    sealed_note: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_on: date = Field(default_factory=utc_day)
    sent_on: date | None = None


class NotificationKind(StrEnum):
    ack_due_soon = "ack_due_soon"
    ack_overdue = "ack_overdue"
    feedback_due_soon = "feedback_due_soon"
    feedback_overdue = "feedback_overdue"
    escalated_ack = "escalated_ack"
    escalated_feedback = "escalated_feedback"
    reminder = "reminder"
    assigned = "assigned"
    handover = "handover"
    handler_absent = "handler_absent"
    unattended = "unattended"
    complaint_received = "complaint_received"
    monitoring_ends = "monitoring_ends"


NOTIFICATION_LABELS: dict[NotificationKind, str] = {
    NotificationKind.ack_due_soon: N_("Acknowledgement due by %(day)s"),
    NotificationKind.ack_overdue: N_("Acknowledgement overdue since %(day)s"),
    NotificationKind.feedback_due_soon: N_("Feedback due by %(day)s"),
    NotificationKind.feedback_overdue: N_("Feedback overdue since %(day)s"),
    NotificationKind.escalated_ack: N_(
        "Escalated to you as channel lead: acknowledgement overdue since %(day)s"
    ),
    NotificationKind.escalated_feedback: N_(
        "Escalated to you as channel lead: feedback overdue since %(day)s"
    ),
    NotificationKind.reminder: N_("Your reminder for %(day)s"),
    NotificationKind.assigned: N_("The case was assigned to you"),
    NotificationKind.handover: N_("The case was handed over to you"),
    NotificationKind.handler_absent: N_(
        "The investigator handling the case is away: hand it over to someone present"
    ),
    NotificationKind.unattended: N_(
        "No investigator can read this report: restore access with the recovery key"
    ),
    NotificationKind.complaint_received: N_("A retaliation complaint was received"),
    NotificationKind.monitoring_ends: N_("Monitoring after closure ends on %(day)s"),
}


class Notification(SQLModel, table=True):
    """An in-app notice for one person about a case or a complaint (plain metadata only)."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("user_id", "dedupe"),)

    id: int | None = Field(default=None, sa_column=random_id_column())
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=30)
    report_id: int | None = Field(
        default=None, foreign_key="report.id", index=True, ondelete="CASCADE"
    )
    complaint_id: int | None = Field(
        default=None, foreign_key="retaliation_complaint.id", index=True, ondelete="CASCADE"
    )
    due_on: date | None = None
    created_on: date = Field(default_factory=utc_day)
    read_on: date | None = None
    # What makes the notice unique, so a job that runs again never repeats it.
    dedupe: str = Field(max_length=120)
