"""Privacy notices (versioned, bilingual), ARCO requests and configured retention periods."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime
from backend.i18n import N_


class NoticePurpose(StrEnum):
    employees = "employees"
    candidates = "candidates"
    reporters = "reporters"


PURPOSE_LABELS = {
    NoticePurpose.employees: N_("Employees"),
    NoticePurpose.candidates: N_("Candidates"),
    NoticePurpose.reporters: N_("People who use the reporting channel"),
}


class PrivacyNotice(SQLModel, table=True):
    """One published version of the privacy notice of one purpose; never changed once published
    (a correction is a new version, and the old stay readable)."""

    __tablename__ = "privacy_notice"
    __table_args__ = (UniqueConstraint("purpose", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=20, index=True)
    version: int
    title_es: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    body_es: str = Field(max_length=20000)
    body_en: str = Field(max_length=20000)
    published_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    published_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class ArcoKind(StrEnum):
    access = "access"
    rectification = "rectification"
    cancellation = "cancellation"
    opposition = "opposition"


ARCO_KIND_LABELS = {
    ArcoKind.access: N_("Access"),
    ArcoKind.rectification: N_("Rectification"),
    ArcoKind.cancellation: N_("Cancellation"),
    ArcoKind.opposition: N_("Opposition"),
}


class ArcoStatus(StrEnum):
    pending = "pending"
    answered = "answered"


ARCO_STATUS_LABELS = {
    ArcoStatus.pending: N_("Awaiting an answer"),
    ArcoStatus.answered: N_("Answered"),
}


class ArcoDecision(StrEnum):
    granted = "granted"
    partly = "partly"
    refused = "refused"


ARCO_DECISION_LABELS = {
    ArcoDecision.granted: N_("Granted"),
    ArcoDecision.partly: N_("Partly granted"),
    ArcoDecision.refused: N_("Refused"),
}


class ArcoRequest(SQLModel, table=True):
    """A person's request to access, rectify, cancel or oppose the use of their data."""

    __tablename__ = "arco_request"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(max_length=20)
    subject: str = Field(max_length=200)
    details: str = Field(default="", max_length=4000)
    filed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    filed_on: date
    # The 20th working day after the day it was filed (LGPDPPSO art. 51).
    due_on: date
    status: str = Field(default=ArcoStatus.pending, max_length=16, index=True)
    decision: str = Field(default="", max_length=16)
    answer: str = Field(default="", max_length=4000)
    # What the answer changed through the services (a rectified name, a closed account).
    applied: str = Field(default="", max_length=400)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class RetentionPeriod(SQLModel, table=True):
    """An administrator's period for one record type, replacing the documented default."""

    __tablename__ = "privacy_retention_period"

    record_type: str = Field(max_length=60, primary_key=True)
    months: int
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
