"""The case file (whistleblowing.service.redaction, .export, .referrals): redactions, the
redacted copy a viewer reads, viewers, the authorities a case can be referred to, referrals.

What is redacted (the words, the regions) is sealed to the report's key like the rest of the
case: only holders read it. The redacted copy is sealed to a second key pair of the report,
the redaction key, whose private half is sealed to the report key (any holder opens it) and
wrapped for each viewer, who never holds the report key (docs/security.md, "Redaction").
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.i18n import N_
from whistleblowing.models.reports import random_id_column, utc_day


class RedactionReason(StrEnum):
    """Why something is hidden from the redacted version (shown in words, audited as a code)."""

    third_party = "third-party"
    reporter_identity = "reporter-identity"
    witness = "witness"
    investigation = "investigation"
    legal_privilege = "legal-privilege"
    irrelevant = "irrelevant"


REDACTION_REASON_LABELS: dict[RedactionReason, str] = {
    RedactionReason.third_party: N_("Personal data of a third party"),
    RedactionReason.reporter_identity: N_("Could identify the reporter"),
    RedactionReason.witness: N_("Could identify a witness"),
    RedactionReason.investigation: N_("Would harm an ongoing investigation"),
    RedactionReason.legal_privilege: N_("Legal privilege"),
    RedactionReason.irrelevant: N_("Not relevant to the matter"),
}


class RedactionKind(StrEnum):
    text = "text"  # every occurrence of a phrase, in one item or in the whole case
    attachment = "attachment"  # a whole file withheld
    region = "region"  # rectangles blacked out of an image


REDACTION_KIND_LABELS: dict[RedactionKind, str] = {
    RedactionKind.text: N_("Words"),
    RedactionKind.attachment: N_("Whole file"),
    RedactionKind.region: N_("Areas of an image"),
}


class CaseRedaction(SQLModel, table=True):
    """Something an investigator hid from the redacted version; the original stays as it was.

    `sealed` holds, sealed to the report key, the phrase or the rectangles; the target (an item
    or a file, by uid; neither: the whole case) and the reason are plain, for the audit."""

    __tablename__ = "case_redaction"

    id: int | None = Field(default=None, sa_column=random_id_column())
    uid: str = Field(max_length=32, unique=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=12)
    item_uid: str | None = Field(default=None, max_length=32)
    attachment_uid: str | None = Field(default=None, max_length=32)
    reason: str = Field(max_length=30)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_on: date = Field(default_factory=utc_day)


class CaseRedactionKey(SQLModel, table=True):
    """The report's redaction key pair: the redacted copy is sealed to its public half."""

    __tablename__ = "case_redaction_key"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The private half sealed to the report's public key: every holder can open it.
    private_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CaseRedactedCopy(SQLModel, table=True):
    """The redacted case as viewers read it, sealed to the redaction key; rebuilt by a holder
    whenever redactions or viewers change (or on request)."""

    __tablename__ = "case_redacted_copy"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    prepared_on: date = Field(default_factory=utc_day)
    prepared_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")


class CaseViewer(SQLModel, table=True):
    """A person who may read the redacted copy only: the redaction key wrapped for them."""

    __tablename__ = "case_viewer"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="app_user.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    granted_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    granted_on: date = Field(default_factory=utc_day)


class ReferralAuthority(SQLModel, table=True):
    """A competent authority cases can be referred to, with the X25519 public key exports are
    encrypted to (given as an age-style recipient, `age1…`; docs/reporting.md)."""

    __tablename__ = "referral_authority"
    __table_args__ = (UniqueConstraint("recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    recipient: str = Field(max_length=100)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    is_active: bool = True
    created_on: date = Field(default_factory=utc_day)


class CaseReferral(SQLModel, table=True):
    """A case referred to an authority: the case's outcome, told to the reporter."""

    __tablename__ = "case_referral"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=32, unique=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    authority_id: int = Field(foreign_key="referral_authority.id", index=True)
    referred_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    referred_on: date = Field(default_factory=utc_day)
