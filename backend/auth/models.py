"""Accounts, roles, server-side sessions and login throttles."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    locale: str = Field(default="es", max_length=5)
    employee_id: int | None = Field(
        default=None, foreign_key="employee.id", unique=True, ondelete="SET NULL"
    )
    # Encrypted with a key derived from the installation secret (see auth.service).
    totp_secret: str | None = Field(default=None, max_length=255)
    # Set once the person proved their authenticator works; until then the secret is a draft.
    totp_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last accepted TOTP time step, so one code cannot be used twice.
    totp_last_step: int | None = None
    # When the person last created recovery codes (None: never; the pages remind them).
    recovery_codes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    # The password was chosen for the person (an administrator's initial password): until they
    # choose their own, they can do nothing else (backend.routes, FIRST_PASSWORD_PAGE).
    must_change_password: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(max_length=32, primary_key=True)
    granted_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    granted_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Second factor still owed (investigators): the session can reach only the TOTP step.
    pending_second_factor: bool = False
    # Messages shown once on the next page (after a redirect).
    flash: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Key material encrypted under a key that only the browser's cookie holds (see docs).
    sealed_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class RecoveryCode(SQLModel, table=True):
    """One of a person's single-use codes for the second step when the phone is lost.

    Only a keyed digest is kept (see backend.auth.second_factor); `used_at` is set by the one
    request that uses it.
    """

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_digest"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    code_digest: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Sign-in attempts counted per key within a window; no IP address is ever kept.

    A key is an account name from unknown browsers, one browser's device cookie, one person's
    second factor (each a keyed hash, see `auth.service.throttle_key`) or the global budget.
    An attempt is counted before it is checked, and a success gives its count back, so the
    count is the failures, plus the attempts being checked right now.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_key: str = Field(max_length=64)
    failures: int = 0
    # When the window began; attempts made `login_lockout_minutes` after it start a new one.
    first_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
