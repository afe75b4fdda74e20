"""Referral to a competent authority: the authorities administrators register, referring a
case (its outcome, told to the reporter: Directive 2019/1937, Art. 9(1)(f)), and the export
encrypted to the authority's key, which only its private key opens (`decrypt_referral`,
`merito decrypt-referral`).

Keys are written as age writes X25519 keys (https://age-encryption.org/v1): the public key
is a recipient, Bech32 with the prefix `age` ("age1…"); the private key `AGE-SECRET-KEY-1…`
(Bech32, upper case). An authority can make its pair with `merito referral-keygen` or with
age's own `age-keygen`. The file is Mérito's own, not age's (docs/reporting.md):

    merito-referral/v1\\n
    {"recipient": …, "reference": …, "referral": …, "wrapped_key": base64}\\n
    the export, encrypted in chunks under a random file key (crypto.encrypt_stream)

The file key is sealed to the recipient (X25519, HKDF, AES-GCM: crypto.wrap_key_for); both
the seal and every chunk bind the header's first three fields, so a header changed to name
another case or key fails to open.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Sequence
from datetime import date
from typing import IO, BinaryIO

from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from whistleblowing import attachments
from whistleblowing.models import (
    CaseReferral,
    ReferralAuthority,
    ReportOutcome,
    ReportStatus,
)
from whistleblowing.service.common import CaseAccess, ReportingError, canonical_json
from whistleblowing.service.export import spool_dir, write_export

MAGIC = b"merito-referral/v1\n"
MAX_HEADER = 4096
REFERRAL_STATUSES = frozenset(
    {ReportStatus.triage, ReportStatus.investigating, ReportStatus.closed}
)

# --- Bech32 (BIP 173), as age uses it ---------------------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
RECIPIENT_PREFIX = "age"
SECRET_PREFIX = "age-secret-key-"  # noqa: S105 - a format prefix, not a secret


def _polymod(values: Sequence[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            check ^= generator if (top >> i) & 1 else 0
    return check


def _expand(prefix: str) -> list[int]:
    return [ord(c) >> 5 for c in prefix] + [0] + [ord(c) & 31 for c in prefix]


def _regroup(data: Sequence[int], source: int, target: int, *, pad: bool) -> list[int] | None:
    accumulator, bits, out = 0, 0, []
    for value in data:
        accumulator = (accumulator << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((accumulator >> bits) & ((1 << target) - 1))
    if pad and bits:
        out.append((accumulator << (target - bits)) & ((1 << target) - 1))
    elif not pad and (bits >= source or (accumulator << (target - bits)) & ((1 << target) - 1)):
        return None
    return out


def bech32_encode(prefix: str, data: bytes) -> str:
    """Return `data` as Bech32 with `prefix` (lower case)."""
    words = _regroup(data, 8, 5, pad=True) or []
    checksum = _polymod(_expand(prefix) + words + [0] * 6) ^ 1
    words += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return prefix + "1" + "".join(_CHARSET[w] for w in words)


def bech32_decode(text: str, prefix: str) -> bytes | None:
    """Return the bytes of a Bech32 string with `prefix`, or None if it is not one."""
    text = text.strip()
    if text.lower() != text and text.upper() != text:
        return None
    text = text.lower()
    head, sep, body = text.rpartition("1")
    if not sep or head != prefix or len(body) < 6 or any(c not in _CHARSET for c in body):
        return None
    words = [_CHARSET.index(c) for c in body]
    if _polymod(_expand(head) + words) != 1:
        return None
    data = _regroup(words[:-6], 5, 8, pad=False)
    return bytes(data) if data is not None else None


def parse_recipient(text: str) -> bytes:
    """Return the X25519 public key of an `age1…` recipient; ReportingError when it is not."""
    key = bech32_decode(text or "", RECIPIENT_PREFIX)
    if key is None or len(key) != crypto.KEY_SIZE or not (text or "").strip().startswith("age1"):
        raise ReportingError(
            _("This is not a public key: paste the authority's recipient, which starts with age1."),
            field="recipient",
        )
    return key


def parse_secret_key(text: str) -> bytes:
    """Return the private key in an age key file (its `AGE-SECRET-KEY-1…` line)."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line.upper().startswith("AGE-SECRET-KEY-1"):
            key = bech32_decode(line, SECRET_PREFIX)
            if key is not None and len(key) == crypto.KEY_SIZE:
                return key
    raise ReportingError(_("The key file holds no private key (AGE-SECRET-KEY-1…)."))


def new_authority_key() -> tuple[str, str]:
    """Return a new key pair as (recipient, secret key line)."""
    pair = crypto.generate_keypair()
    return (
        bech32_encode(RECIPIENT_PREFIX, pair.public),
        bech32_encode(SECRET_PREFIX, pair.private).upper(),
    )


# --- authorities ------------------------------------------------------------------------------


def authorities(session: Session, *, active_only: bool = False) -> list[ReferralAuthority]:
    """Return the registered authorities, by name."""
    statement = select(ReferralAuthority).order_by(col(ReferralAuthority.name))
    if active_only:
        statement = statement.where(col(ReferralAuthority.is_active).is_(True))
    return list(session.exec(statement).all())


def register_authority(
    session: Session, *, actor: User, name: str, recipient: str, today: date
) -> ReferralAuthority:
    """Register an authority with its public key (validated); audited, the caller commits."""
    name = " ".join((name or "").split())
    errors = {}
    if not 3 <= len(name) <= 200:
        errors["name"] = _("Write the authority's name (3 to 200 characters).")
    try:
        public = parse_recipient(recipient)
    except ReportingError as err:
        errors["recipient"] = str(err)
        public = b""
    recipient = (recipient or "").strip().lower()
    if (
        not errors
        and session.exec(
            select(ReferralAuthority).where(ReferralAuthority.recipient == recipient)
        ).first()
    ):
        errors["recipient"] = _("An authority with this key is already registered.")
    if errors:
        field, message = next(iter(errors.items()))
        raise ReportingError(message, field=field, errors=errors)
    authority = ReferralAuthority(
        name=name, recipient=recipient, public_key=public, created_on=today
    )
    session.add(authority)
    session.flush()
    audit.record(
        session,
        action="reporting.authority_registered",
        actor=actor,
        entity_type="referral_authority",
        entity_id=str(authority.id),
        after={"name": name, "recipient": recipient},
    )
    return authority


def set_authority_active(
    session: Session, *, actor: User, authority_id: int, active: bool
) -> ReferralAuthority:
    """Withdraw an authority from the list (or bring it back); audited."""
    authority = session.get(ReferralAuthority, authority_id)
    if authority is None:
        raise ReportingError(_("This authority does not exist."), status_code=404)
    before = {"is_active": authority.is_active}
    authority.is_active = active
    session.add(authority)
    audit.record(
        session,
        action="reporting.authority_changed",
        actor=actor,
        entity_type="referral_authority",
        entity_id=str(authority.id),
        before=before,
        after={"is_active": active},
    )
    return authority


# --- referring a case -------------------------------------------------------------------------


def refer_case(
    session: Session, *, access: CaseAccess, actor: User, authority_id: int | None, today: date
) -> CaseReferral:
    """Record that the case goes to an authority: the referral becomes the case's outcome
    and the reporter reads it on their follow-up page. Audited; the caller commits."""
    report = access.report
    authority = session.get(ReferralAuthority, authority_id) if authority_id else None
    if authority is None or not authority.is_active:
        raise ReportingError(_("Choose an authority."), field="authority")
    if ReportStatus(report.status) not in REFERRAL_STATUSES:
        raise ReportingError(
            _("Acknowledge the report and start its triage before referring it."),
            status_code=409,
            field="authority",
        )
    if session.exec(
        select(CaseReferral).where(
            CaseReferral.report_id == report.id, CaseReferral.authority_id == authority.id
        )
    ).first():
        raise ReportingError(
            _("This case was already referred to %(name)s.", name=authority.name),
            status_code=409,
            field="authority",
        )
    referral = CaseReferral(
        uid=attachments.new_uid(),
        report_id=report.id,
        authority_id=authority.id,
        referred_by_id=actor.id,
        referred_on=today,
    )
    session.add(referral)
    before = {"outcome": report.outcome}
    report.outcome = ReportOutcome.referred.value
    session.add(report)
    session.flush()
    audit.record(
        session,
        action="report.referred",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before=before,
        after={"outcome": report.outcome, "authority": authority.name},
    )
    return referral


def referral_of(
    session: Session, access: CaseAccess, uid: str
) -> tuple[CaseReferral, ReferralAuthority]:
    found = session.exec(
        select(CaseReferral, ReferralAuthority)
        .join(ReferralAuthority, col(ReferralAuthority.id) == CaseReferral.authority_id)
        .where(CaseReferral.uid == uid, CaseReferral.report_id == access.report.id)
    ).first()
    if found is None:
        raise ReportingError(_("This referral does not exist."), status_code=404)
    return found


def _aad(header: dict) -> bytes:
    return MAGIC + canonical_json({k: header[k] for k in ("recipient", "reference", "referral")})


def encrypt_export(
    export: BinaryIO,
    out: IO[bytes],
    *,
    recipient: str,
    public_key: bytes,
    reference: str,
    referral_uid: str,
) -> None:
    """Write `export` encrypted to the authority's key into `out` (the format above)."""
    header = {"recipient": recipient, "reference": reference, "referral": referral_uid}
    file_key = crypto.new_session_key()
    header["wrapped_key"] = base64.b64encode(
        crypto.wrap_key_for(public_key, file_key, aad=_aad(header))
    ).decode()
    out.write(MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n")
    crypto.encrypt_stream(file_key, export, out, aad=_aad(header))


def referral_file(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    uid: str,
    today: date,
) -> tuple[IO[bytes], str]:
    """Return an unnamed temporary file holding the case's export encrypted to the referral's
    authority (positioned at its start) and a file name for it; audited."""
    referral, authority = referral_of(session, access, uid)
    out = tempfile.TemporaryFile(dir=spool_dir(settings))  # noqa: SIM115 - closed by the reader
    try:
        with tempfile.TemporaryFile(dir=spool_dir(settings)) as export:
            write_export(session, settings, access=access, actor=actor, today=today, out=export)
            export.seek(0)
            encrypt_export(
                export,
                out,
                recipient=authority.recipient,
                public_key=authority.public_key,
                reference=access.report.reference,
                referral_uid=referral.uid,
            )
        audit.record(
            session,
            action="report.referral_encrypted",
            actor=actor,
            entity_type="report",
            entity_id=access.report.reference,
            after={"authority": authority.name},
        )
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, f"referral-{access.report.reference}.merito-referral"


class ReferralNotOpened(Exception):
    """The file is not a referral, or the key is not the one it was encrypted to."""


def decrypt_referral(source: BinaryIO, out: IO[bytes], *, secret_key: bytes) -> dict:
    """Decrypt a referral file into `out` with the authority's private key; return its header.
    Raises ReferralNotOpened for another key, a damaged file or something else entirely:
    `out` must then be thrown away (it may hold part of the export)."""
    if source.read(len(MAGIC)) != MAGIC:
        raise ReferralNotOpened("not a referral file")
    line = source.readline(MAX_HEADER)
    try:
        header = json.loads(line)
        wrapped = base64.b64decode(header["wrapped_key"], validate=True)
        aad = _aad(header)
    except (ValueError, KeyError, TypeError):
        raise ReferralNotOpened("not a referral file") from None
    try:
        file_key = crypto.unwrap_key(secret_key, wrapped, aad=aad)
        crypto.decrypt_stream(file_key, source, out, aad=aad)
    except (crypto.DecryptionError, ValueError):
        raise ReferralNotOpened("this key does not open the file, or it is damaged") from None
    return header
