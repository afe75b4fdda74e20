"""What every part of the reporting channel shares: its error, the reporter's session error, a
case opened for someone (`CaseAccess`), uploads, associated data, references and the opening
of sealed content and stored files.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, select

from backend import clock, crypto
from backend.auth.permissions import Role
from backend.config import Settings, get_settings
from backend.errors import DomainError
from backend.i18n import _
from whistleblowing import attachments
from whistleblowing.models import (
    Report,
)

AAD_PREFIX = "merito/wb/v1"
REPORTER_SESSION_MINUTES = 30
# Failed receipt logins, for the whole installation: a bucket of this many, refilled at this
# rate. No client is identified; see docs/security.md for why a global budget.
RECEIPT_BUCKET_CAPACITY = 30.0
RECEIPT_BUCKET_REFILL_PER_SECOND = 0.5
MAX_TEXT = 20_000
REFERENCE_PREFIX = "WB"
# Statistics show no count below this, so a small cell cannot point at a person.
STATISTICS_THRESHOLD = 5
CERTIFICATE_TYPE = "merito-report-certificate"
HOLDER_ROLES = frozenset({Role.investigator, Role.protection_officer})


class ReportingError(DomainError):
    """A rule of the reporting channel was broken; `str(err)` is a translated message."""


class ReporterSessionExpired(ReportingError):
    """The reporter's session is missing or over; they must enter their receipt again."""

    def __init__(self) -> None:
        super().__init__(
            _("Your session has ended. Enter your receipt again to continue."), status_code=401
        )


def _aad(*parts: object) -> bytes:
    """Return associated data naming exactly what a ciphertext belongs to."""
    return "|".join((AAD_PREFIX, *(str(p) for p in parts))).encode("utf-8")


def organisation_today(session: Session) -> date:
    """Return the organisation's day for code that runs inside a request or a job, whose
    settings ride along in `session.info` (`backend.db.get_session`, `backend.jobs`)."""
    return clock.today(session.info.get("settings") or get_settings())


def _kdf(settings: Settings, params: crypto.KdfParams) -> crypto.KdfParams:
    # Tests run with fast hashing; the parameters are stored with every blob, so nothing
    # made under test parameters is ever opened with other ones by mistake.
    return crypto.TEST_KDF if settings.fast_password_hashing else params


# --- submission -------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file as received: its name and bytes, in memory."""

    filename: str
    data: bytes


def canonical_json(value: Any) -> bytes:
    """Return the one byte form of a JSON value that hashes and signatures are made over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class CaseAccess:
    """A report opened by someone entitled to it, with the keys they hold."""

    report: Report
    private_key: bytes = field(repr=False)
    identity_private_key: bytes | None = field(default=None, repr=False)
    by_reporter: bool = False
    # The reporter's receipt key (reporter sessions only): it wraps what they file later.
    receipt_key: bytes | None = field(default=None, repr=False)


# --- reading a case ---------------------------------------------------------------------------


@dataclass
class AttachmentView:
    uid: str
    name: str
    content_type: str
    size: int
    sha256: str


class TamperedCase(ReportingError):
    def __init__(self) -> None:
        super().__init__(
            _(
                "Part of this case could not be decrypted: it was altered or damaged. Nothing "
                "was changed; tell the integrity committee."
            ),
            status_code=409,
        )


def new_reference(session: Session, column: Any, prefix: str) -> str:
    """Return an unused reference `PREFIX-XXXX-XXXX` (eight receipt symbols, 40 random bits)
    for the table whose reference `column` is given."""
    while True:
        symbols = crypto.random_code(crypto.RECEIPT_ALPHABET, 8)
        reference = f"{prefix}-{symbols[:4]}-{symbols[4:]}"
        if session.exec(select(column).where(column == reference)).first() is None:
            return reference


def open_sealed_json(private_key: bytes, sealed: bytes, *, aad: bytes) -> dict[str, Any]:
    """Return what was sealed (JSON) to the key; an altered or damaged blob is TamperedCase."""
    try:
        return json.loads(crypto.open_sealed(private_key, sealed, aad=aad))
    except crypto.DecryptionError:
        raise TamperedCase from None


def load_attachment(
    settings: Settings, *, uid: str, meta: dict[str, Any], aad: bytes
) -> tuple[AttachmentView, bytes]:
    """Return a stored file's description and its bytes, decrypted with the key in its sealed
    description `meta` and checked whole against the SHA-256 recorded there."""
    try:
        data = attachments.load(
            settings.attachments_dir, uid, key=base64.b64decode(meta["key"]), aad=aad
        )
    except FileNotFoundError:
        raise ReportingError(
            _("This file is missing from the store. Tell the integrity committee."),
            status_code=410,
        ) from None
    except crypto.DecryptionError:
        raise TamperedCase from None
    if crypto.sha256_hex(data) != meta["sha256"]:
        raise TamperedCase
    return AttachmentView(uid, meta["name"], meta["type"], meta["size"], meta["sha256"]), data


def sealed_order(content: dict[str, Any], row_id: int) -> tuple[int, int]:
    """Return the sort key of an item or file: its sealed position, after those written
    before positions were sealed (ordered by their then sequential ids)."""
    position = content.get("position")
    return (1, position) if isinstance(position, int) else (0, row_id)
