"""Retaliation complaints and the HR watch (whistleblowing.service.retaliation)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.i18n import N_
from whistleblowing.models.reports import random_id_column, utc_day

# --- retaliation complaints (whistleblowing.retaliation) --------------------------------------


class ComplaintStatus(StrEnum):
    received = "received"
    assessment = "assessment"  # prima facie: protected report + detriment + timing
    interim_measures = "interim_measures"
    investigation = "investigation"
    determination = "determination"
    remedies = "remedies"
    closed = "closed"  # monitoring continues until `monitoring_until`


COMPLAINT_STATUS_LABELS: dict[ComplaintStatus, str] = {
    ComplaintStatus.received: N_("Received"),
    ComplaintStatus.assessment: N_("Prima facie assessment"),
    ComplaintStatus.interim_measures: N_("Interim protective measures"),
    ComplaintStatus.investigation: N_("Investigation"),
    ComplaintStatus.determination: N_("Determination"),
    ComplaintStatus.remedies: N_("Remedies"),
    ComplaintStatus.closed: N_("Closed"),
}


class ComplaintOutcome(StrEnum):
    no_prima_facie_case = "no_prima_facie_case"
    not_established = "not_established"
    established = "established"
    withdrawn = "withdrawn"


COMPLAINT_OUTCOME_LABELS: dict[ComplaintOutcome, str] = {
    ComplaintOutcome.no_prima_facie_case: N_("No prima facie case"),
    ComplaintOutcome.not_established: N_("Retaliation not established"),
    ComplaintOutcome.established: N_("Retaliation established"),
    ComplaintOutcome.withdrawn: N_("Withdrawn by the complainant"),
}


class DetrimentalAct(StrEnum):
    dismissal = "dismissal"
    suspension = "suspension"
    demotion = "demotion"
    withheld_promotion = "withheld_promotion"
    transfer = "transfer"
    change_of_duties = "change_of_duties"
    reduced_pay = "reduced_pay"
    negative_appraisal = "negative_appraisal"
    exclusion_competition = "exclusion_competition"
    exclusion_training = "exclusion_training"
    disciplinary_measure = "disciplinary_measure"
    harassment = "harassment"
    ostracism = "ostracism"
    other = "other"


DETRIMENTAL_ACT_LABELS: dict[DetrimentalAct, str] = {
    DetrimentalAct.dismissal: N_("Dismissal"),
    DetrimentalAct.suspension: N_("Suspension"),
    DetrimentalAct.demotion: N_("Demotion"),
    DetrimentalAct.withheld_promotion: N_("Promotion withheld"),
    DetrimentalAct.transfer: N_("Transfer or change of location"),
    DetrimentalAct.change_of_duties: N_("Change of duties or working hours"),
    DetrimentalAct.reduced_pay: N_("Reduced pay"),
    DetrimentalAct.negative_appraisal: N_("Negative appraisal"),
    DetrimentalAct.exclusion_competition: N_("Excluded from a competition"),
    DetrimentalAct.exclusion_training: N_("Excluded from training"),
    DetrimentalAct.disciplinary_measure: N_("Disciplinary measure or reprimand"),
    DetrimentalAct.harassment: N_("Harassment or intimidation"),
    DetrimentalAct.ostracism: N_("Ostracism"),
    DetrimentalAct.other: N_("Other detriment"),
}


class ProtectiveMeasureKind(StrEnum):
    suspend_transfer = "suspend_transfer"
    suspend_dismissal = "suspend_dismissal"
    suspend_decision = "suspend_decision"
    change_reporting_line = "change_reporting_line"
    other = "other"


PROTECTIVE_MEASURE_LABELS: dict[ProtectiveMeasureKind, str] = {
    ProtectiveMeasureKind.suspend_transfer: N_("Suspend a transfer"),
    ProtectiveMeasureKind.suspend_dismissal: N_("Suspend a dismissal"),
    ProtectiveMeasureKind.suspend_decision: N_("Suspend another decision"),
    ProtectiveMeasureKind.change_reporting_line: N_("Change the reporting line"),
    ProtectiveMeasureKind.other: N_("Other measure"),
}


class RemedyKind(StrEnum):
    reinstatement = "reinstatement"
    annulment = "annulment"
    compensation = "compensation"
    transfer_reversal = "transfer_reversal"
    disciplinary_referral = "disciplinary_referral"


REMEDY_LABELS: dict[RemedyKind, str] = {
    RemedyKind.reinstatement: N_("Reinstatement"),
    RemedyKind.annulment: N_("Annulment of the decision"),
    RemedyKind.compensation: N_("Compensation"),
    RemedyKind.transfer_reversal: N_("Reversal of the transfer"),
    RemedyKind.disciplinary_referral: N_("Disciplinary referral of the retaliator"),
}


class ComplaintItemKind(StrEnum):
    complaint = "complaint"  # what the complainant filed
    identity = "identity"  # who they are (identified complaints, or optional via receipt)
    complainant_message = "complainant_message"
    officer_message = "officer_message"  # to the complainant
    note = "note"  # officers only
    assessment = "assessment"  # prima facie test
    measure = "measure"  # interim protective measure
    determination = "determination"
    remedy = "remedy"
    decision = "decision"  # reason of a step of the workflow


COMPLAINT_ITEM_LABELS: dict[ComplaintItemKind, str] = {
    ComplaintItemKind.complaint: N_("Complaint"),
    ComplaintItemKind.identity: N_("Complainant"),
    ComplaintItemKind.complainant_message: N_("Message from the complainant"),
    ComplaintItemKind.officer_message: N_("Message to the complainant"),
    ComplaintItemKind.note: N_("Internal note"),
    ComplaintItemKind.assessment: N_("Prima facie assessment"),
    ComplaintItemKind.measure: N_("Interim protective measure"),
    ComplaintItemKind.determination: N_("Determination"),
    ComplaintItemKind.remedy: N_("Remedy"),
    ComplaintItemKind.decision: N_("Decision"),
}
COMPLAINANT_VISIBLE_ITEMS = frozenset(
    {
        ComplaintItemKind.complaint,
        ComplaintItemKind.identity,
        ComplaintItemKind.complainant_message,
        ComplaintItemKind.officer_message,
    }
)


class RetaliationComplaint(SQLModel, table=True):
    """A complaint of retaliation: plain workflow metadata; who, what and why are sealed.

    Nothing plain links a complaint to a report or to a person: the receipt holder finds theirs
    through `reporter_tag` (derived from the receipt key), an identified complainant through
    `complainant_tag` (a keyed hash of their account under a server key).
    """

    __tablename__ = "retaliation_complaint"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    status: str = Field(default=ComplaintStatus.received, max_length=20, index=True)
    outcome: str | None = Field(default=None, max_length=30)
    via: str = Field(max_length=12)  # "receipt" or "identified"
    received_on: date
    assessment_on: date | None = None
    measures_on: date | None = None
    investigation_on: date | None = None
    determination_on: date | None = None
    remedies_on: date | None = None
    closed_on: date | None = None
    monitoring_until: date | None = None
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    reporter_tag: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True, index=True)
    )
    # The complaint's private key under the receipt key (the reporter's own wrap).
    reporter_wrap: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    complainant_tag: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True, index=True)
    )


class ComplaintKeyWrap(SQLModel, table=True):
    """A complaint's private key sealed to one protection officer (or the recovery key)."""

    __tablename__ = "complaint_key_wrap"
    __table_args__ = (UniqueConstraint("complaint_id", "holder_kind", "user_id"),)

    id: int | None = Field(default=None, sa_column=random_id_column())
    complaint_id: int = Field(
        foreign_key="retaliation_complaint.id", index=True, ondelete="CASCADE"
    )
    holder_kind: str = Field(max_length=10)
    user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="CASCADE"
    )
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    granted_on: date = Field(default_factory=utc_day)


class ComplaintItem(SQLModel, table=True):
    __tablename__ = "complaint_item"

    id: int | None = Field(default=None, sa_column=random_id_column())
    uid: str = Field(max_length=32, unique=True)
    complaint_id: int = Field(
        foreign_key="retaliation_complaint.id", index=True, ondelete="CASCADE"
    )
    kind: str = Field(max_length=24)
    author_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_on: date = Field(default_factory=utc_day)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ComplaintAttachment(SQLModel, table=True):
    __tablename__ = "complaint_attachment"

    id: int | None = Field(default=None, sa_column=random_id_column())
    uid: str = Field(max_length=32, unique=True)
    complaint_id: int = Field(
        foreign_key="retaliation_complaint.id", index=True, ondelete="CASCADE"
    )
    item_uid: str = Field(max_length=32, index=True)
    sealed_meta: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_on: date = Field(default_factory=utc_day)


# --- HR watch (whistleblowing.retaliation) ----------------------------------------------------


class WatchKey(SQLModel, table=True):
    """The HR watch's secret (one row, id 1), sealed under a key derived from the application's
    secret key, so the watch can match events while nobody is signed in. Protection officers
    and the recovery identity hold copies (`WatchKeyWrap`) that survive a change of that key."""

    __tablename__ = "watch_key"

    id: int = Field(default=1, primary_key=True)
    server_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WatchKeyWrap(SQLModel, table=True):
    __tablename__ = "watch_key_wrap"
    __table_args__ = (UniqueConstraint("holder_kind", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    holder_kind: str = Field(max_length=10)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="CASCADE")
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ProtectedPerson(SQLModel, table=True):
    """A person under HR watch: an HMAC of their employee id under the watch key, and sealed
    details (who may be told, which complaint). Nothing here names anyone."""

    __tablename__ = "protected_person"

    id: int | None = Field(default=None, primary_key=True)
    tag: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WatchEntry(SQLModel, table=True):
    """One watched HR decision, sealed to one protection officer and padded to one size.

    Every watched decision about anyone writes the same rows, whether or not its subject is
    protected: only the officer, opening the entry, learns whether it is an alert.
    """

    __tablename__ = "watch_entry"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="CASCADE"
    )
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WatchBook(SQLModel, table=True):
    """An officer's alerts, one sealed document rewritten at every screening (padded), so the
    moment an alert appears cannot be told apart from a screening that found nothing."""

    __tablename__ = "watch_book"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
