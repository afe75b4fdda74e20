"""The second step of signing in: TOTP codes from an authenticator app, and recovery codes.

Who must pass it is `service.SECOND_FACTOR_ROLES` (the roles that open reports, decide about
people or administer accounts). A TOTP code is accepted once (its time step is claimed
atomically); a recovery code is accepted once (claimed by an UPDATE that only one request can
win). Both kinds of code count against the same per-person budget as wrong codes.

Recovery codes are for the day the phone is lost: ten random codes of 50 bits each, shown once
when created, stored only as keyed digests (a key derived from the installation secret, so a
copy of the database alone cannot test guesses). Creating a new set replaces the old one.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.auth.models import AuthSession, RecoveryCode, User
from backend.auth.service import (
    AuthError,
    count_attempt,
    end_session,
    forget_attempts,
    throttle_key,
)
from backend.config import Settings
from backend.i18n import _

TOTP_ISSUER = "Mérito"
TOTP_PERIOD = 30

# Recovery codes in Crockford's base 32 (digits and letters without i, l, o, u): ten characters
# are 50 bits, shown as "xxxxx-xxxxx"; typing o for 0 or i/l for 1 is forgiven.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 10
RECOVERY_COUNT = 10
_LOOK_ALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


def _totp_key(settings: Settings) -> bytes:
    # A key of its own, derived from the installation secret: a copy of the database alone
    # (a stolen backup) does not give anyone the second factors.
    return crypto.installation_key(settings.resolved_secret_key(), "totp-secret")


def _seal_totp_secret(settings: Settings, user: User, secret: str) -> str:
    return crypto.seal_text(_totp_key(settings), secret, aad=f"totp|{user.id}".encode())


def totp_secret_of(settings: Settings, user: User) -> str | None:
    """Return the user's TOTP secret in the clear, or None when not enrolled."""
    if not user.totp_secret:
        return None
    if not user.totp_secret.startswith("v1:"):
        raise AuthError(_("Two-step verification must be set up again."), status_code=409)
    try:
        return crypto.open_text(
            _totp_key(settings), user.totp_secret, aad=f"totp|{user.id}".encode()
        )
    except crypto.DecryptionError:
        # Another installation's secret key, or a tampered row.
        raise AuthError(
            _("Two-step verification must be set up again. Ask an administrator."),
            status_code=409,
        ) from None


def totp_draft_secret(session: Session, settings: Settings, *, user: User) -> str:
    """Return the secret to enrol (kept, encrypted, until confirmed); the caller commits."""
    if user.totp_confirmed_at is not None:
        raise AuthError(_("Two-step verification is already set up."), status_code=409)
    existing = totp_secret_of(settings, user)
    if existing:
        return existing
    secret = pyotp.random_base32()
    user.totp_secret = _seal_totp_secret(settings, user, secret)
    session.add(user)
    return secret


def totp_uri(settings: Settings, user: User) -> str:
    """Return the otpauth:// URI authenticator apps read (from a QR code or typed)."""
    return pyotp.TOTP(totp_secret_of(settings, user) or "").provisioning_uri(
        name=user.email, issuer_name=TOTP_ISSUER
    )


def _matching_step(secret: str, code: str, *, now: float) -> int | None:
    """Return the time step whose code equals `code` (now, or one step either side)."""
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    current = int(now // TOTP_PERIOD)
    for step in (current - 1, current, current + 1):
        if crypto.macs_equal(totp.at(step * TOTP_PERIOD), code):
            return step
    return None


def verify_second_factor(
    session: Session,
    settings: Settings,
    *,
    user: User,
    session_row: AuthSession,
    code: str,
    now: float | None = None,
) -> str:
    """Complete a half-open session with a TOTP code or a recovery code, or raise AuthError.

    Codes are counted per person before they are checked (as passwords are): at most
    `login_max_failures` in a lockout window, however many arrive at once. The one that fills
    the window, and any after it, end the session, so the password must be entered again. A
    code is accepted once: replaying it (or an older TOTP code) fails, also when both arrive
    together. The first TOTP success confirms enrolment. Returns how the step was passed:
    "enrolled", "totp" or "recovery".
    """
    key = throttle_key(settings, "totp", str(user.id))
    limit = settings.login_max_failures
    counted = count_attempt(
        session,
        key,
        limit=limit,
        window=timedelta(minutes=settings.login_lockout_minutes),
        now=clock.now(),
    )
    if counted is None:
        end_session(session, session_row)
        session.commit()
        raise _too_many_codes()
    session.commit()
    how = _check_code(session, settings, user, code, now=time.time() if now is None else now)
    if how is None:
        if counted >= limit:
            end_session(session, session_row)
            session.commit()
            raise _too_many_codes()
        raise AuthError(_("This code is not correct. Enter the current code."), status_code=422)
    forget_attempts(session, key)
    session_row.pending_second_factor = False
    session.add(session_row)
    audit.record(
        session,
        action={
            "enrolled": "user.second_factor_enrolled",
            "totp": "user.second_factor_passed",
            "recovery": "user.recovery_code_used",
        }[how],
        actor=user,
        entity_type="user",
        entity_id=user.id,
    )
    return how


def _check_code(
    session: Session, settings: Settings, user: User, code: str, *, now: float
) -> str | None:
    """Return how `code` passes ("enrolled", "totp", "recovery"), claiming it; None if not."""
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) == 6 and len(code.strip()) <= 8:
        secret = totp_secret_of(settings, user)
        step = _matching_step(secret, digits, now=now) if secret else None
        if step is None or not _claim_step(session, user, step):
            return None
        enrolling = user.totp_confirmed_at is None
        if enrolling:
            user.totp_confirmed_at = clock.now()
        user.totp_last_step = step
        session.add(user)
        return "enrolled" if enrolling else "totp"
    recovery = normalise_recovery_code(code)
    if (
        recovery
        and user.totp_confirmed_at is not None
        and _claim_recovery_code(session, settings, user, recovery)
    ):
        return "recovery"
    return None


def _too_many_codes() -> AuthError:
    return AuthError(
        _("Too many wrong codes. Wait a few minutes, then sign in again with your password."),
        status_code=429,
    )


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Record `step` as the last code used, unless it (or a later one) already was."""
    result = session.exec(
        update(User)
        .where(
            col(User.id) == user.id,
            col(User.totp_last_step).is_(None) | (col(User.totp_last_step) < step),
        )
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


# --- recovery codes ----------------------------------------------------------------------------


def normalise_recovery_code(text: str) -> str | None:
    """Return a typed recovery code as stored (lower case, no separators), or None if it
    cannot be one."""
    compact = "".join(ch for ch in text.lower() if ch.isalnum()).translate(_LOOK_ALIKES)
    if len(compact) != RECOVERY_LENGTH or any(ch not in RECOVERY_ALPHABET for ch in compact):
        return None
    return compact


def _recovery_digest(settings: Settings, user_id: int, code: str) -> str:
    key = crypto.installation_key(settings.resolved_secret_key(), "recovery-code")
    return crypto.mac_hex(key, f"{user_id}|{code}")


def new_recovery_codes(session: Session, settings: Settings, *, user: User) -> list[str]:
    """Replace the user's recovery codes with a new set; return it (shown once, never kept).
    Only someone enrolled in TOTP has recovery codes. The caller commits."""
    if user.totp_confirmed_at is None:
        raise AuthError(
            _("Set up two-step verification before creating recovery codes."), status_code=409
        )
    session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    codes = [crypto.random_code(RECOVERY_ALPHABET, RECOVERY_LENGTH) for _n in range(RECOVERY_COUNT)]
    for code in codes:
        session.add(
            RecoveryCode(user_id=user.id, code_digest=_recovery_digest(settings, user.id, code))
        )
    user.recovery_codes_at = clock.now()
    session.add(user)
    audit.record(
        session,
        action="user.recovery_codes_created",
        actor=user,
        entity_type="user",
        entity_id=user.id,
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(session: Session, *, user: User) -> int:
    """Return how many of the user's recovery codes are still unused."""
    return session.exec(
        select(func.count())
        .select_from(RecoveryCode)
        .where(col(RecoveryCode.user_id) == user.id, col(RecoveryCode.used_at).is_(None))
    ).one()


def _claim_recovery_code(session: Session, settings: Settings, user: User, code: str) -> bool:
    """Mark the code used, unless it is unknown or already used (one request wins a race)."""
    result = session.exec(
        update(RecoveryCode)
        .where(
            col(RecoveryCode.user_id) == user.id,
            col(RecoveryCode.code_digest) == _recovery_digest(settings, user.id, code),
            col(RecoveryCode.used_at).is_(None),
        )
        .values(used_at=clock.now())
    )
    return result.rowcount == 1
