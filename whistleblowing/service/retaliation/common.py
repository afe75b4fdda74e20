"""What every part of the retaliation service shares: its constants, the server's own keys
(derived from the application's secret), the protection officers' key pairs, and the opened
complaint (`ComplaintAccess`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from backend import crypto
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings, get_settings
from whistleblowing.models import (
    HolderKey,
    KeyKind,
    Report,
    ReportingInstallation,
    ReportKeyWrap,
    RetaliationComplaint,
)
from whistleblowing.service.channels import holder_keys

REFERENCE_PREFIX = "RC"
PACK_TYPE = "merito-burden-of-proof-pack"
MONITORING_MONTHS = 24
MAX_ACTS = 12
MIN_REASON = 10
# How the audit log names whoever files a complaint (never their account).
COMPLAINANT = "complainant"
# Sealed sizes are rounded up to these, so a ciphertext's length says nothing of its content.
ENTRY_SIZE = 1024
BOOK_SIZE = 4096


def _settings_of(session: Session) -> Settings:
    """Return the settings travelling with the session (see backend.db.get_session)."""
    return session.info.get("settings") or get_settings()


def _pad(data: bytes, bucket: int) -> bytes:
    """Return JSON `data` padded with spaces to a multiple of `bucket` bytes (JSON ignores
    trailing whitespace, so the padding needs no framing)."""
    size = max(bucket, -(-len(data) // bucket) * bucket)
    return data + b" " * (size - len(data))


def _server_key(settings: Settings, purpose: bytes) -> bytes:
    """Return a key only this installation's server can derive (from the app secret, which is
    not in the database), for one `purpose`."""
    base = crypto.derive_key(
        settings.resolved_secret_key(),
        b"merito/wb/retaliation-salt",
        params=crypto.TEST_KDF,  # the secret is random and long: no stretching needed
        context=b"merito/wb/retaliation",
    )
    return crypto.derive_subkey(base, context=b"merito/wb/" + purpose)


def _officer_keys(
    session: Session, *, exclude: set[int] = frozenset()
) -> list[tuple[User, HolderKey]]:
    """Return the active protection officers with a key pair, less `exclude`."""
    users = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == User.id)
        .where(UserRole.role == Role.protection_officer.value, col(User.is_active).is_(True))
        .order_by(col(User.id))
    ).all()
    keys = holder_keys(session, [u.id for u in users if u.id not in exclude])
    return [(u, keys[u.id]) for u in users if u.id in keys]


def _recovery_public(session: Session) -> bytes | None:
    row = session.get(ReportingInstallation, 1)
    return row.recovery_public if row is not None else None


@dataclass
class ComplaintAccess:
    complaint: RetaliationComplaint
    private_key: bytes = field(repr=False)
    by_complainant: bool = False


def _report_holders(session: Session, report: Report | None) -> set[int]:
    if report is None:
        return set()
    return set(
        session.exec(
            select(ReportKeyWrap.user_id).where(
                ReportKeyWrap.report_id == report.id,
                ReportKeyWrap.key_kind == KeyKind.report.value,
                col(ReportKeyWrap.user_id).is_not(None),
            )
        ).all()
    )
