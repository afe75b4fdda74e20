"""Reports: channels, the installation's keys, holders' keys, reports, their items and files,
identity requests and reporter sessions.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock, crypto
from backend.i18n import N_


def utc_day() -> date:
    """Return the day a row is stamped with when its service gave none: the UTC day of
    `backend.clock.now()` (services that count deadlines pass the organisation's day)."""
    return clock.now().date()


def random_row_id() -> int:
    """Return a random positive 63-bit row id."""
    return crypto.random_below(2**63 - 1) + 1


def random_id_column() -> Column:
    """Return a primary key filled with random ids, never from a sequence.

    For the tables where what reporters and complainants write (their messages, files, key
    wraps, sessions, the notices their filing sends) sits next to what staff do at times the
    audit log records: ids from one running sequence would order a reporter's message between
    two timed staff actions, and so tell roughly when it was written (docs/security.md). Every
    row of such a table, staff or reporter, takes a random id, so ids order nothing. Order that
    people need (a conversation) is sealed inside the items instead.
    """
    return Column(
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
        default=random_row_id,
    )


class ReportStatus(StrEnum):
    """The life of a case, in the only order it may follow (whistleblowing.cases)."""

    received = "received"
    acknowledged = "acknowledged"
    triage = "triage"
    investigating = "investigating"
    closed = "closed"


REPORT_STATUS_LABELS: dict[ReportStatus, str] = {
    ReportStatus.received: N_("Received"),
    ReportStatus.acknowledged: N_("Acknowledged"),
    ReportStatus.triage: N_("In triage"),
    ReportStatus.investigating: N_("Under investigation"),
    ReportStatus.closed: N_("Closed"),
}


class ReportOutcome(StrEnum):
    substantiated = "substantiated"
    partly_substantiated = "partly_substantiated"
    unsubstantiated = "unsubstantiated"
    referred = "referred"
    outside_scope = "outside_scope"
    bad_faith = "bad_faith"


REPORT_OUTCOME_LABELS: dict[ReportOutcome, str] = {
    ReportOutcome.substantiated: N_("Substantiated"),
    ReportOutcome.partly_substantiated: N_("Partly substantiated"),
    ReportOutcome.unsubstantiated: N_("Not substantiated"),
    ReportOutcome.referred: N_("Referred to another authority"),
    ReportOutcome.outside_scope: N_("Outside the scope of the channel"),
    ReportOutcome.bad_faith: N_("Made in bad faith"),
}


class IntakeChannel(StrEnum):
    """How a report reached the institute: the web form, or entered by an investigator."""

    web = "web"
    phone = "phone"
    in_person = "in_person"
    letter = "letter"
    email = "email"


INTAKE_CHANNEL_LABELS: dict[IntakeChannel, str] = {
    IntakeChannel.web: N_("Web form"),
    IntakeChannel.phone: N_("Telephone"),
    IntakeChannel.in_person: N_("In person"),
    IntakeChannel.letter: N_("Letter"),
    IntakeChannel.email: N_("Email"),
}


class ItemKind(StrEnum):
    """What a sealed entry of a case is. The kind is bound into each ciphertext's AAD."""

    submission = "submission"  # the reporter's answers to the form
    identity = "identity"  # name/contact, sealed to the identity key, not the report key
    reporter_message = "reporter_message"  # follow-up from the reporter
    reporter_answer = "reporter_answer"  # the reporter's answer to a question
    reply = "reply"  # investigator -> reporter
    question = "question"  # investigator asks the reporter
    acknowledgement = "acknowledgement"  # investigator -> reporter, stops the 7-day clock
    feedback = "feedback"  # investigator -> reporter, stops the 3-month clock
    note = "note"  # investigators only
    decision = "decision"  # investigators only: the reason for a closure, conflict, handover
    identity_notice = "identity_notice"  # to the reporter: a decision on their identity (Art. 16)
    meeting_request = "meeting_request"  # the reporter asks for a meeting or a call (Art. 9(2))


# Kinds the reporter sees on their case page; notes never are.
REPORTER_VISIBLE_KINDS = frozenset(
    {
        ItemKind.submission,
        ItemKind.identity,
        ItemKind.reporter_message,
        ItemKind.reporter_answer,
        ItemKind.reply,
        ItemKind.question,
        ItemKind.acknowledgement,
        ItemKind.feedback,
        ItemKind.identity_notice,
        ItemKind.meeting_request,
    }
)
REPORTER_KINDS = frozenset(
    {
        ItemKind.submission,
        ItemKind.identity,
        ItemKind.reporter_message,
        ItemKind.reporter_answer,
        ItemKind.meeting_request,
    }
)

ITEM_KIND_LABELS: dict[ItemKind, str] = {
    ItemKind.submission: N_("Report"),
    ItemKind.identity: N_("Identity and contact details"),
    ItemKind.reporter_message: N_("Message from the reporter"),
    ItemKind.reporter_answer: N_("Answer from the reporter"),
    ItemKind.reply: N_("Reply to the reporter"),
    ItemKind.question: N_("Question to the reporter"),
    ItemKind.acknowledgement: N_("Acknowledgement of receipt"),
    ItemKind.feedback: N_("Feedback to the reporter"),
    ItemKind.note: N_("Internal note"),
    ItemKind.decision: N_("Case decision (internal)"),
    ItemKind.identity_notice: N_("Notice on the reporter's identity (Art. 16 of the Directive)"),
    ItemKind.meeting_request: N_("Request for a meeting or a call"),
}

# How a reporter may ask to be heard (Directive 2019/1937, Art. 9(2)): the words shown.
MEETING_MODE_LABELS: dict[str, str] = {
    "in_person": N_("A meeting in person"),
    "phone": N_("A telephone call"),
    "video": N_("A video call"),
}


# The red flags of procurement corruption listed by the Chartered Institute of Public Finance &
# Accountancy (CIPFA, 2011), as quoted in Box 15 of the OECD review. Reporters tick those they saw.
RED_FLAGS: list[tuple[str, str]] = [
    ("supplier_relationship", N_("Unusual relationship with suppliers")),
    ("favoured_treatment", N_("Favoured treatment of a supplier")),
    ("external_interest", N_("Interest or ownership in an outside organisation")),
    ("undeclared_gifts", N_("Interests, gifts or hospitality not declared")),
    ("round_sum_invoices", N_("Round-sum amounts invoiced")),
    ("duplicate_invoices", N_("Duplicate or photocopied invoices")),
    ("unusual_invoices", N_("Unusual invoices (format, numbers, address, phone, tax number)")),
    ("sequential_invoices", N_("Sequential invoice numbers over a long period")),
    ("vague_descriptions", N_("Vague description of the goods or services to be supplied")),
    ("photocopied_documents", N_("Photocopied documents")),
    ("missing_records", N_("Lack of supporting records")),
    ("incomplete_trail", N_("Incomplete management or audit trail")),
    ("data_manipulation", N_("Manipulation of data")),
    ("audit_logs_disabled", N_("IT controls or audit logs disabled")),
    ("logins_outside_hours", N_("IT logins outside working hours")),
    ("failed_logins", N_("High number of failed IT logins")),
    ("budget_overspend", N_("Budget overspends")),
    ("unusual_changes", N_("Unusual increases or decreases")),
    ("physical_losses", N_("Physical losses (goods, medicines, equipment)")),
    ("no_risk_process", N_("No process for identifying risks (for example a risk register)")),
]
RED_FLAG_LABELS = dict(RED_FLAGS)


class KeyKind(StrEnum):
    report = "report"
    identity = "identity"


class HolderKind(StrEnum):
    user = "user"
    recovery = "recovery"


class ReportChannel(SQLModel, table=True):
    """A subject people can report about, and who receives such reports."""

    __tablename__ = "report_channel"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name_es: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    description_es: str = Field(default="", max_length=1000)
    description_en: str = Field(default="", max_length=1000)
    is_active: bool = True
    order: int = 100
    # Overdue cases escalate to the lead; the deputy takes cases over when the handler is
    # absent or conflicted, or when nobody else may receive a report.
    lead_user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    deputy_user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    # Points this channel adds to its reports' triage priority (0-5, whistleblowing.service.triage).
    priority_weight: int = Field(default=0)


class ReportChannelRecipient(SQLModel, table=True):
    """An investigator who receives the channel's new reports."""

    __tablename__ = "report_channel_recipient"

    channel_id: int = Field(foreign_key="report_channel.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    added_on: date = Field(default_factory=utc_day)


class ReportingInstallation(SQLModel, table=True):
    """The installation's keys and salts (one row, id 1).

    The certificate signing key is encrypted under a key derived from the application's secret
    key, so a database copy alone cannot forge certificates. The recovery private key is
    wrapped under the recovery passphrase, which is printed once and never stored.
    """

    __tablename__ = "reporting_installation"

    id: int = Field(default=1, primary_key=True)
    receipt_salt: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    lookup_memory_kib: int
    lookup_iterations: int
    lookup_lanes: int
    signing_public: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signing_private_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    recovery_public: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    recovery_private_wrapped: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    recovery_created_on: date | None = None


class HolderKey(SQLModel, table=True):
    """An investigator's or protection officer's X25519 key pair.

    The private key is wrapped under an Argon2id key from the owner's password (own salt,
    parameters in the blob) and re-wrapped when the password changes.
    """

    __tablename__ = "holder_key"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    wrapped_private: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_on: date = Field(default_factory=utc_day)


class Report(SQLModel, table=True):
    """One report: plain triage metadata plus the public keys everything is sealed to."""

    __tablename__ = "report"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    channel_id: int = Field(foreign_key="report_channel.id", index=True)
    status: str = Field(default=ReportStatus.received, max_length=20, index=True)
    outcome: str | None = Field(default=None, max_length=20)
    # Day precision only: a time of day could help identify who was at a desk.
    submitted_on: date
    ack_due_on: date
    acknowledged_on: date | None = None
    feedback_due_on: date
    feedback_given_on: date | None = None
    closed_on: date | None = None
    # One day per state of the lifecycle (received is submitted_on, closed is closed_on).
    triage_on: date | None = None
    investigation_on: date | None = None
    # The investigator responsible for the case (one of the holders).
    assignee_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="SET NULL"
    )
    received_via: str = Field(default=IntakeChannel.web, max_length=20)
    last_reporter_activity_on: date | None = None
    # The reporter's wraps were deleted after a long inactivity: the receipt opens nothing.
    reporter_access_ended_on: date | None = None
    awaiting_staff: bool = True
    # Whether the receipt given out carried its keyed tag (every report since migration 0020;
    # older receipts are 24 symbols, whistleblowing.service.receipts).
    receipt_tagged: bool = True
    # Accepted while submissions were flooding the channel (after the form's challenge): the
    # statutory clocks start only when an investigator confirms it is genuine (confirmed_on).
    awaiting_confirmation: bool = False
    confirmed_on: date | None = None
    # Triage: the weighted sum of the red flags ticked (which ones stays sealed), and the
    # questionnaire version the report was filed with (whistleblowing.service.triage).
    red_flag_points: int = Field(default=0)
    # (channel_questionnaire.version of the report's channel; None: the channel had none).
    questionnaire_version: int | None = None
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    identity_public_key: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    receipt_lookup: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    receipt_salt: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    receipt_memory_kib: int
    receipt_iterations: int
    receipt_lanes: int
    # The report's private key under the receipt key (the reporter's own wrap).
    reporter_wrap: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    reporter_identity_wrap: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    # SHA-256 of the canonical submission, which includes a random nonce, so it reveals nothing.
    content_sha256: str = Field(max_length=64)
    # SHA-256 of the form's one-time token: a re-sent form cannot file the report twice.
    form_token_sha256: str = Field(max_length=64, unique=True)


class ReportKeyWrap(SQLModel, table=True):
    """A report's (or its identity's) private key sealed to one holder's public key."""

    __tablename__ = "report_key_wrap"
    __table_args__ = (
        UniqueConstraint("report_id", "key_kind", "holder_kind", "user_id"),
        Index("ix_report_key_wrap_user_id_key_kind", "user_id", "key_kind"),
    )

    id: int | None = Field(default=None, sa_column=random_id_column())
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    key_kind: str = Field(max_length=10)
    holder_kind: str = Field(max_length=10)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="CASCADE")
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    granted_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    granted_on: date = Field(default_factory=utc_day)


class ReportItem(SQLModel, table=True):
    """A sealed entry of a case: the submission, a message, a question, an answer, a note."""

    __tablename__ = "report_item"

    id: int | None = Field(default=None, sa_column=random_id_column())
    uid: str = Field(max_length=32, unique=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)
    # Staff author (accountability); None for the reporter.
    author_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    reply_to_uid: str | None = Field(default=None, max_length=32)
    created_on: date = Field(default_factory=utc_day)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ReportAttachment(SQLModel, table=True):
    """An encrypted file of a case. Name, type, size and file key are sealed in ``sealed_meta``."""

    __tablename__ = "report_attachment"

    id: int | None = Field(default=None, sa_column=random_id_column())
    uid: str = Field(max_length=32, unique=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    item_uid: str = Field(max_length=32, index=True)
    sealed_meta: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_on: date = Field(default_factory=utc_day)


class IdentityRequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class IdentityRequest(SQLModel, table=True):
    """An investigator's reasoned request to learn the reporter's identity."""

    __tablename__ = "identity_request"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    requested_by_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    requested_on: date = Field(default_factory=utc_day)
    # Sealed to the identity key: the protection officers (and recovery) can read the reason.
    reason_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=IdentityRequestStatus.pending, max_length=10)
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    decided_on: date | None = None
    decision_sealed: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary, nullable=True)
    )
    # When the reporter was told of the decision (Art. 16); None while an approval's notice
    # is deferred because telling them would jeopardise the investigation.
    reporter_told_on: date | None = None


class ReporterSession(SQLModel, table=True):
    """A reporter signed in with their receipt.

    The cookie holds a random token; the row keeps SHA-256 of it and the receipt key encrypted
    under a key derived from the token, so nothing usable is at rest. The exact expiry (30
    minutes after sign-in) is encrypted with the key, so only the cookie reveals it; in clear
    the row keeps only the day it expires, for the periodic purge (`reporter_sessions` job).
    No time of day is stored, and the id is random.
    """

    __tablename__ = "reporter_session"

    id: int | None = Field(default=None, sa_column=random_id_column())
    token_sha256: str = Field(max_length=64, unique=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    sealed_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The UTC day the session ends: coarse on purpose (a sign-in's day is no secret, the
    # report's last activity day says as much); the job deletes rows of past days.
    expires_on: date = Field(index=True)


class ReceiptThrottle(SQLModel, table=True):
    """The channel's global budgets, one row each (created by the migrations): 1 for logins
    with tagged receipts, 2 for receipts issued before tags, 3 for new reports (over it the
    form asks a challenge; whistleblowing.service.receipts, flood). No client data is kept.

    `full_at` is when the budget will be whole again (seconds since the epoch; any moment in
    the past means whole: 0 once the periodic job or a refund finds it so). Each attempt moves
    it one refill interval later, in one conditional UPDATE (whistleblowing.service).
    """

    __tablename__ = "receipt_throttle"

    id: int = Field(default=1, primary_key=True)
    full_at: float = Field(default=0.0)
