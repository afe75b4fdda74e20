"""The notice service's tables: in-app notices, e-mail deliveries and preferences."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock, crypto
from backend.db import UTCDateTime


def random_notice_id() -> int:
    """A random id: a notice about a reporter's filing must not sit in a running sequence
    between staff actions the audit log times (docs/security.md)."""
    return 2**20 + crypto.random_below(2**53 - 2**20)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    sending = "sending"  # claimed by a worker until `claimed_until`
    sent = "sent"
    failed = "failed"  # gave up after MAX_ATTEMPTS; an administrator may retry it


class Notice(SQLModel, table=True):
    """One thing one person is told, shown in their notice list."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "key"),
        Index("ix_notice_user_id_read_at", "user_id", "read_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
            default=random_notice_id,
        ),
    )
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    kind: str = Field(max_length=80)
    # The caller's de-duplication key: the same (user, kind, key) is told once.
    key: str = Field(max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    link: str = Field(default="", max_length=500, index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NoticeDelivery(SQLModel, table=True):
    """The e-mail of one notice (or its line in a daily digest): sent by the `notices.deliver`
    job, retried with backoff. `last_error` says what failed, never what the mail said."""

    __tablename__ = "notice_delivery"
    __table_args__ = (Index("ix_notice_delivery_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # The de-duplication key: one delivery per notice, whatever runs twice.
    notice_id: int = Field(
        sa_type=BigInteger().with_variant(Integer, "sqlite"),
        foreign_key="notice.id",
        unique=True,
        ondelete="CASCADE",
    )
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    digest: bool = False
    status: str = Field(default=DeliveryStatus.pending.value, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=200)
    attachment_name: str | None = Field(default=None, max_length=120)
    attachment_type: str | None = Field(default=None, max_length=120)
    attachment: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class NoticePreference(SQLModel, table=True):
    """Whether a person wants a non-mandatory kind by e-mail (no row: yes)."""

    __tablename__ = "notice_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    kind: str = Field(max_length=80)
    by_email: bool = True


class NoticeSetting(SQLModel, table=True):
    """A person's mail settings: a daily digest instead of one mail per notice."""

    __tablename__ = "notice_setting"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    daily_digest: bool = False
