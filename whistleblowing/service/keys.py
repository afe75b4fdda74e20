"""The installation's keys, the holders' keys, signed certificates and recovery."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend import audit, clock, crypto
from backend.auth import service as auth_service
from backend.auth.models import AuthSession, User
from backend.config import Settings
from backend.i18n import N_, _
from whistleblowing.models import (
    HolderKey,
    Report,
    ReportingInstallation,
    ReportKeyWrap,
)
from whistleblowing.service.common import (
    CERTIFICATE_TYPE,
    HOLDER_ROLES,
    ReportingError,
    _aad,
    _kdf,
    canonical_json,
)

# --- the installation -------------------------------------------------------------------------


def _secret_key(settings: Settings) -> bytes:
    """Return the key protecting the certificate signing key, derived from the app secret."""
    return crypto.derive_key(
        settings.resolved_secret_key(),
        b"merito/wb/signing-key-salt",
        params=crypto.TEST_KDF,
        context=b"merito/wb/signing-key",
    )


def installation(session: Session, settings: Settings) -> ReportingInstallation:
    """Return the installation row, creating its salt and signing key on first use."""
    row = session.get(ReportingInstallation, 1)
    if row is not None:
        return row
    lookup = _kdf(settings, crypto.RECEIPT_LOOKUP_KDF)
    signing = crypto.generate_signing_key()
    row = ReportingInstallation(
        id=1,
        receipt_salt=crypto.new_salt(),
        lookup_memory_kib=lookup.memory_kib,
        lookup_iterations=lookup.iterations,
        lookup_lanes=lookup.lanes,
        signing_public=signing.public,
        signing_private_sealed=crypto.encrypt(
            _secret_key(settings), signing.private, aad=_aad("signing-key")
        ),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another worker created it at the same moment: use theirs.
        row = session.get(ReportingInstallation, 1)
    return row


def _lookup_params(row: ReportingInstallation) -> crypto.KdfParams:
    return crypto.KdfParams(
        memory_kib=row.lookup_memory_kib, iterations=row.lookup_iterations, lanes=row.lookup_lanes
    )


def recovery_ready(session: Session) -> bool:
    """Return whether the recovery identity exists (reports can be accepted)."""
    row = session.get(ReportingInstallation, 1)
    return row is not None and row.recovery_public is not None


def new_recovery_passphrase() -> str:
    """Return a fresh 160-bit passphrase, grouped like a receipt for reading aloud."""
    value = crypto.random_bits(160)
    symbols = [crypto.RECEIPT_ALPHABET[(value >> s) & 0x1F] for s in range(155, -1, -5)]
    return "-".join("".join(symbols[i : i + 4]) for i in range(0, 32, 4))


def init_recovery(session: Session, settings: Settings) -> str:
    """Create the recovery identity; return its passphrase (shown once, never stored)."""
    row = installation(session, settings)
    if row.recovery_public is not None:
        raise ReportingError(
            _("The recovery key already exists. It is created only once."), status_code=409
        )
    passphrase = new_recovery_passphrase()
    pair = crypto.generate_keypair()
    row.recovery_public = pair.public
    row.recovery_private_wrapped = crypto.wrap_private_key(
        pair.private,
        passphrase,
        params=_kdf(settings, crypto.PASSWORD_KDF),
        aad=_aad("recovery"),
    )
    row.recovery_created_on = clock.today(settings)
    session.add(row)
    audit.record(
        session,
        action="reporting.recovery_created",
        actor="cli",
        entity_type="reporting_installation",
        entity_id=1,
        after={"fingerprint": crypto.fingerprint(pair.public)},
    )
    return passphrase


def unlock_recovery(session: Session, *, passphrase: str) -> bytes:
    """Return the recovery private key, or raise for a missing key or a wrong passphrase."""
    row = session.get(ReportingInstallation, 1)
    if row is None or row.recovery_private_wrapped is None:
        raise ReportingError(
            _(
                "There is no recovery key on this installation. Create it with "
                "`merito recovery init`."
            ),
            status_code=409,
        )
    try:
        return crypto.unwrap_private_key(
            row.recovery_private_wrapped, passphrase.strip().upper(), aad=_aad("recovery")
        )
    except crypto.DecryptionError:
        raise ReportingError(_("The recovery passphrase is not correct."), status_code=403)


def signing_fingerprint(session: Session, settings: Settings) -> str:
    """Return the fingerprint of the key that signs certificates of reporting."""
    return crypto.fingerprint(installation(session, settings).signing_public)


# --- holder keys ------------------------------------------------------------------------------


def is_holder(session: Session, user: User) -> bool:
    """Return whether `user` holds a role that needs a key pair (investigator, officer)."""
    return bool(auth_service.roles_of(session, user) & HOLDER_ROLES)


def _wrap_holder_private(settings: Settings, user_id: int, private: bytes, password: str) -> bytes:
    return crypto.wrap_private_key(
        private, password, params=_kdf(settings, crypto.PASSWORD_KDF), aad=_aad("holder", user_id)
    )


def _replace_holder_key(
    session: Session, settings: Settings, *, user: User, password: str, reason: str
) -> bytes:
    """Give `user` a new key pair; the old wraps can no longer be opened and are deleted."""
    pair = crypto.generate_keypair()
    row = session.get(HolderKey, user.id)
    lost = 0
    if row is None:
        row = HolderKey(user_id=user.id, public_key=pair.public, wrapped_private=b"")
    else:
        lost = len(
            session.exec(select(ReportKeyWrap.id).where(ReportKeyWrap.user_id == user.id)).all()
        )
        session.exec(delete(ReportKeyWrap).where(ReportKeyWrap.user_id == user.id))
        row.public_key = pair.public
        row.created_on = clock.today(settings)
    row.wrapped_private = _wrap_holder_private(settings, user.id, pair.private, password)
    session.add(row)
    audit.record(
        session,
        action="reporting.holder_key_created",
        actor=user,
        entity_type="user",
        entity_id=user.id,
        after={
            "reason": reason,
            "access_lost": lost,
            "fingerprint": crypto.fingerprint(pair.public),
        },
    )
    return pair.private


def unlock_holder_key(session: Session, settings: Settings, *, user: User, password: str) -> bytes:
    """Return the user's private key, creating the key pair on their first sign-in.

    If the stored key no longer opens with the password (it was reset by an administrator,
    so never re-wrapped), a new key pair replaces it and the old access is gone: a colleague
    or the recovery identity must grant the reports again.
    """
    row = session.get(HolderKey, user.id)
    if row is None:
        return _replace_holder_key(session, settings, user=user, password=password, reason="first")
    try:
        return crypto.unwrap_private_key(row.wrapped_private, password, aad=_aad("holder", user.id))
    except crypto.DecryptionError:
        return _replace_holder_key(
            session, settings, user=user, password=password, reason="password_reset"
        )


def _session_aad(session_row: AuthSession) -> bytes:
    return _aad("session", session_row.token_hash)


@auth_service.on_sign_in
def _unlock_on_sign_in(
    session: Session,
    settings: Settings,
    *,
    user: User,
    password: str,
    session_row: AuthSession,
    token: str,
) -> None:
    """Put the holder's unlocked private key in the new session, sealed under the cookie."""
    if not is_holder(session, user):
        return
    private = unlock_holder_key(session, settings, user=user, password=password)
    session_row.sealed_key = crypto.encrypt(
        crypto.session_key_from_token(token), private, aad=_session_aad(session_row)
    )


@auth_service.on_password_change
def _rewrap_on_password_change(
    session: Session, settings: Settings, *, user: User, current: str, new: str
) -> None:
    """Re-wrap the holder's private key under the new password."""
    row = session.get(HolderKey, user.id)
    if row is None:
        return
    try:
        private = crypto.unwrap_private_key(
            row.wrapped_private, current, aad=_aad("holder", user.id)
        )
    except crypto.DecryptionError:
        _replace_holder_key(session, settings, user=user, password=new, reason="password_reset")
        return
    row.wrapped_private = _wrap_holder_private(settings, user.id, private, new)
    session.add(row)


def session_private_key(session_row: AuthSession, token: str | None) -> bytes:
    """Return the holder private key held by a signed-in session, or raise 403."""
    if not token or session_row.sealed_key is None:
        raise ReportingError(
            _("Your reporting key is not unlocked in this session. Sign out and sign in again."),
            status_code=403,
        )
    try:
        return crypto.decrypt(
            crypto.session_key_from_token(token),
            session_row.sealed_key,
            aad=_session_aad(session_row),
        )
    except (crypto.DecryptionError, ValueError):
        raise ReportingError(
            _("Your reporting key is not unlocked in this session. Sign out and sign in again."),
            status_code=403,
        )


# --- certificates -----------------------------------------------------------------------------


def sign_document(session: Session, settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """Return `body` with the installation's public key and its Ed25519 signature added.

    The signature covers the canonical JSON of every other field, so the document verifies
    offline (`verify_signed_document`, `merito verify-certificate`).
    """
    inst = installation(session, settings)
    try:
        signing_private = crypto.decrypt(
            _secret_key(settings), inst.signing_private_sealed, aad=_aad("signing-key")
        )
    except crypto.DecryptionError:
        raise ReportingError(
            _("Certificates cannot be signed: the application's secret key has changed."),
            status_code=503,
        )
    body = {**body, "public_key": base64.b64encode(inst.signing_public).decode()}
    signature = crypto.sign(signing_private, canonical_json(body))
    return {**body, "signature": base64.b64encode(signature).decode()}


def certificate_for(session: Session, settings: Settings, *, report: Report) -> dict[str, Any]:
    """Return the signed certificate of reporting for `report`."""
    return sign_document(
        session,
        settings,
        {
            "type": CERTIFICATE_TYPE,
            "version": 1,
            "reference": report.reference,
            "submitted_on": report.submitted_on.isoformat(),
            "content_sha256": report.content_sha256,
        },
    )


@dataclass
class DocumentCheck:
    valid: bool
    problem: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""


def verify_signed_document(
    raw: bytes | str, *, expected_type: str, expected_fingerprint: str = ""
) -> DocumentCheck:
    """Return whether a document made by `sign_document` is intact (offline).

    As for certificates, the signature proves integrity; the fingerprint of the key that
    signed it, compared with the published one, proves where it comes from.
    """
    try:
        data = json.loads(raw)
        body = {k: v for k, v in data.items() if k != "signature"}
        public = base64.b64decode(data["public_key"], validate=True)
        signature = base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError):
        return DocumentCheck(False, N_("not a signed document"))
    if body.get("type") != expected_type:
        return DocumentCheck(False, N_("not a document of the expected type"))
    check = DocumentCheck(False, document=body, fingerprint=crypto.fingerprint(public))
    if not crypto.verify(public, canonical_json(body), signature):
        check.problem = N_("signature does not match")
        return check
    if expected_fingerprint and _compact(expected_fingerprint) != _compact(check.fingerprint):
        check.problem = N_("signed by a different key than expected")
        return check
    check.valid = True
    return check


@dataclass
class CertificateCheck:
    valid: bool
    problem: str = ""
    reference: str = ""
    submitted_on: str = ""
    content_sha256: str = ""
    fingerprint: str = ""


def verify_certificate(raw: bytes | str, *, expected_fingerprint: str = "") -> CertificateCheck:
    """Return whether a certificate's signature holds (offline: no database needed).

    The certificate carries its signer's public key, so the signature alone proves only
    integrity; comparing its fingerprint with the one the installation publishes (on the
    reporting channel's first page) proves the origin. Pass it as `expected_fingerprint`.
    """
    try:
        data = json.loads(raw)
        body = {k: data[k] for k in ("type", "version", "reference", "submitted_on")}
        body["content_sha256"] = data["content_sha256"]
        body["public_key"] = data["public_key"]
        public = base64.b64decode(data["public_key"], validate=True)
        signature = base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        return CertificateCheck(False, N_("not a certificate of reporting"))
    if body["type"] != CERTIFICATE_TYPE or body["version"] != 1:
        return CertificateCheck(False, N_("not a certificate of reporting"))
    check = CertificateCheck(
        False,
        reference=str(body["reference"]),
        submitted_on=str(body["submitted_on"]),
        content_sha256=str(body["content_sha256"]),
        fingerprint=crypto.fingerprint(public),
    )
    if set(data) - {*body, "signature"}:
        check.problem = N_("unexpected fields")
        return check
    if not crypto.verify(public, canonical_json(body), signature):
        check.problem = N_("signature does not match")
        return check
    if expected_fingerprint and _compact(expected_fingerprint) != _compact(check.fingerprint):
        check.problem = N_("signed by a different key than expected")
        return check
    check.valid = True
    return check


def _compact(text: str) -> str:
    return "".join(text.split()).upper()
