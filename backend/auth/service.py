"""Accounts, passwords, sessions and throttling: the rules, with no HTTP in sight."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, delete, exists, literal, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select
from zxcvbn import zxcvbn

from backend import audit, clock, crypto
from backend.auth.models import AuthSession, LoginThrottle, RecoveryCode, User, UserRole
from backend.auth.permissions import ASSIGNABLE_ROLES, Permission, Role, permissions_for
from backend.config import Settings
from backend.db import UTCDateTime
from backend.emails import InvalidEmail, normalise_email
from backend.errors import DomainError
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus

log = logging.getLogger("merito.auth")

MIN_PASSWORD_LENGTH = 12
# Words a password must not be built from, besides zxcvbn's lists of common passwords.
_LOCAL_WORDS = ["merito", "mérito", "issste", "contraseña", "contrasena", "adquisiciones"]


class AuthError(DomainError):
    """A sign-in or account rule was broken; `str(err)` is a translated message."""


# Roles whose holders must prove a second factor (TOTP) at every sign-in: those who hold keys
# that open reports of the reporting channel, and those who decide about people or administer
# accounts (HR planners and administrators).
SECOND_FACTOR_ROLES = frozenset(
    {Role.investigator, Role.protection_officer, Role.hr_planner, Role.admin}
)

# --- extension points -------------------------------------------------------------------------
# Other packages react to sign-in and password changes here (the reporting channel unlocks and
# re-wraps its key pairs, which needs the plain password at exactly these two moments). Hooks
# run inside the caller's transaction; an exception aborts the whole operation.

SignInHook = Callable[..., None]
PasswordChangeHook = Callable[..., None]
_sign_in_hooks: list[SignInHook] = []
_password_change_hooks: list[PasswordChangeHook] = []


def on_sign_in(hook: SignInHook) -> SignInHook:
    """Register `hook(session, settings, *, user, password, session_row, token)`.

    Called after a password sign-in created `session_row`; `token` is the cookie value.
    """
    if hook not in _sign_in_hooks:
        _sign_in_hooks.append(hook)
    return hook


def on_password_change(hook: PasswordChangeHook) -> PasswordChangeHook:
    """Register `hook(session, settings, *, user, current, new)`, called on a password change."""
    if hook not in _password_change_hooks:
        _password_change_hooks.append(hook)
    return hook


def hash_password(settings: Settings, password: str) -> str:
    """Return the Argon2id hash of `password` (`settings.fast_password_hashing`: tests' cost)."""
    return crypto.hash_password(password, fast=settings.fast_password_hashing)


def _password_matches(settings: Settings, password: str, stored: str | None) -> tuple[bool, str]:
    return crypto.verify_password(password, stored, fast=settings.fast_password_hashing)


def password_problems(password: str, *, user_inputs: list[str] | None = None) -> list[str]:
    """Return what is wrong with a new password (translated), or an empty list."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
        return problems
    result = zxcvbn(password[:100], user_inputs=[*(user_inputs or []), *_LOCAL_WORDS])
    if result["score"] < 3:
        problems.append(
            _(
                "This password is too common or too easy to guess. Try a longer phrase of "
                "unrelated words."
            )
        )
    return problems


@dataclass
class Principal:
    """Who is making the request: the user, their roles (with derived ones) and permissions."""

    user: User
    session: AuthSession
    roles: frozenset[Role] = field(default_factory=frozenset)
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def has_role(self, role: Role) -> bool:
        return role in self.roles


# Built once: these run on every request, and SQLAlchemy caches their compiled form.
# The granted roles and, in the same statement, `supervisor` when someone reports to the user.
_ROLES_OF = union_all(
    select(UserRole.role).where(UserRole.user_id == bindparam("user_id")),
    select(literal(Role.supervisor.value)).where(
        exists().where(
            Employee.supervisor_id == bindparam("employee_id"),
            Employee.status != EmployeeStatus.left,
        )
    ),
)
_SESSION_WITH_USER = (
    select(AuthSession, User)
    .join(User, col(User.id) == AuthSession.user_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)


def roles_of(session: Session, user: User) -> frozenset[Role]:
    """Return the user's granted roles plus `supervisor` when someone reports to them."""
    rows = session.execute(_ROLES_OF, {"user_id": user.id, "employee_id": user.employee_id})
    return frozenset(Role(r) for r in rows.scalars() if r in Role.__members__)


# --- accounts ---------------------------------------------------------------------------------


def create_user(
    session: Session,
    settings: Settings,
    *,
    email: str,
    full_name: str,
    password: str,
    roles: list[Role] | None = None,
    employee_id: int | None = None,
    locale: str = "es",
    actor: object = None,
    check_password: bool = True,
    must_change_password: bool = False,
) -> User:
    """Create an account (caller commits); AuthError on a taken email or a weak password.

    `must_change_password`: the password was chosen for the person (by an administrator), who
    can do nothing but change it once signed in (`must_change_password`).
    """
    try:
        email = normalise_email(email)
    except InvalidEmail as err:
        raise AuthError(str(err), status_code=422, field="email") from None
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise AuthError(
            _("An account with this email already exists."), status_code=409, field="email"
        )
    if check_password:
        problems = password_problems(password, user_inputs=[email, full_name])
        if problems:
            raise AuthError(" ".join(problems), status_code=422, field="password")
    user = User(
        email=email,
        full_name=full_name.strip(),
        password_hash=hash_password(settings, password),
        employee_id=employee_id,
        locale=locale,
    )
    user.must_change_password = must_change_password
    session.add(user)
    session.flush()
    for role in roles or []:
        session.add(UserRole(user_id=user.id, role=Role(role).value))
    session.flush()
    audit.record(
        session,
        action="user.created",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        after={
            "email": email,
            "roles": sorted(Role(r).value for r in roles or []),
            "must_change_password": must_change_password,
        },
    )
    return user


def must_change_password(user: User) -> bool:
    """True while the account still has the password someone else chose for it."""
    return user.must_change_password


def set_roles(session: Session, *, user: User, roles: set[Role], actor: User) -> None:
    """Replace the user's assignable roles (audited). `supervisor` is never stored."""
    current = {
        Role(r) for r in session.exec(select(UserRole.role).where(UserRole.user_id == user.id))
    }
    wanted = {r for r in roles if r in ASSIGNABLE_ROLES}
    if user.id == actor.id and Role.admin in current and Role.admin not in wanted:
        raise AuthError(_("You cannot remove your own administrator role."), status_code=422)
    for role in current - wanted:
        session.exec(
            delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == role.value)
        )
    for role in wanted - current:
        session.add(UserRole(user_id=user.id, role=role.value, granted_by_id=actor.id))
    if (wanted - current) & SECOND_FACTOR_ROLES:
        # Open sessions never passed the second factor this role now demands: end them.
        session.exec(delete(AuthSession).where(AuthSession.user_id == user.id))
    if current != wanted:
        audit.record(
            session,
            action="user.roles_changed",
            actor=actor,
            entity_type="user",
            entity_id=user.id,
            before={"roles": sorted(r.value for r in current)},
            after={"roles": sorted(r.value for r in wanted)},
        )


def set_active(session: Session, *, user: User, active: bool, actor: User) -> None:
    """Activate or deactivate an account; deactivation ends its sessions (audited)."""
    if user.id == actor.id and not active:
        raise AuthError(_("You cannot deactivate your own account."), status_code=422)
    if user.is_active == active:
        return
    user.is_active = active
    session.add(user)
    if not active:
        session.exec(delete(AuthSession).where(AuthSession.user_id == user.id))
    audit.record(
        session,
        action="user.activated" if active else "user.deactivated",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        before={"is_active": not active},
        after={"is_active": active},
    )


def reset_second_factor(session: Session, *, user: User, actor: User) -> None:
    """Forget a user's TOTP enrolment (lost phone); they enrol again at next sign-in."""
    if user.totp_secret is None and user.totp_confirmed_at is None:
        return
    user.totp_secret, user.totp_confirmed_at, user.totp_last_step = None, None, None
    user.recovery_codes_at = None
    session.add(user)
    session.exec(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.exec(delete(AuthSession).where(AuthSession.user_id == user.id))
    audit.record(
        session,
        action="user.second_factor_reset",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
    )


def change_password(
    session: Session,
    settings: Settings,
    *,
    user: User,
    current: str,
    new: str,
    keep: AuthSession | None = None,
) -> None:
    """Change the user's own password after checking the current one.

    Every session of the account ends but `keep` (the browser making the change): whoever
    was signed in with the old password elsewhere is signed out.
    """
    if not _password_matches(settings, current, user.password_hash)[0]:
        raise AuthError(_("The current password is not correct."), status_code=422)
    if must_change_password(user) and new == current:
        raise AuthError(
            _("Choose a password different from the one you were given."), status_code=422
        )
    problems = password_problems(new, user_inputs=[user.email, user.full_name])
    if problems:
        raise AuthError(" ".join(problems), status_code=422)
    for hook in _password_change_hooks:
        hook(session, settings, user=user, current=current, new=new)
    user.password_hash = hash_password(settings, new)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    session.add(user)
    others = delete(AuthSession).where(col(AuthSession.user_id) == user.id)
    if keep is not None:
        others = others.where(col(AuthSession.id) != keep.id)
    session.exec(others)
    audit.record(
        session, action="user.password_changed", actor=user, entity_type="user", entity_id=user.id
    )


# --- sign-in ----------------------------------------------------------------------------------
#
# Every attempt is counted *before* the password (or code) is checked, by one conditional
# upsert, so attempts arriving together are counted one after another by the database and
# exactly the limit is ever checked; a success gives its count back. Three kinds of counter:
# an account name tried from unknown browsers, one browser holding the account's device cookie
# (given at an earlier sign-in), and all failures from unknown browsers together (the global
# budget, against password spraying). Someone guessing locks an account name for unknown
# browsers only: its holder still signs in from the browser they used before.

GLOBAL_THROTTLE_KEY = "global"
DEVICE_COOKIE_DAYS = 180


def throttle_key(settings: Settings, kind: str, name: str) -> str:
    """Return the `login_throttle` key of an account name, a device or a person's TOTP.

    A keyed hash (HMAC with a key derived from the installation secret): a copy of the table
    does not tell which addresses were tried to someone hashing a list of them.
    """
    if kind == "account":
        name = name.strip().lower()
    key = crypto.installation_key(settings.resolved_secret_key(), "login-throttle")
    return crypto.mac_hex(key, f"{kind}|{name}")


def count_attempt(
    session: Session, key: str, *, limit: int, window: timedelta, now: datetime
) -> int | None:
    """Count one attempt against `key`; return its number in the window, or None when full.

    One statement on both databases: insert the counter, or, when it exists, start a new
    window if the old one is over, else add one only while fewer than `limit` are counted.
    Concurrent attempts wait for each other on the row (PostgreSQL's row lock, SQLite's write
    lock), so none reads a stale count and no first failure collides with another's insert.
    """
    table = LoginThrottle.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stale = table.c.first_failure_at.is_(None) | (
        table.c.first_failure_at <= literal(now - window, UTCDateTime())
    )
    statement = (
        insert(table)
        .values(account_key=key, failures=1, first_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.account_key],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "first_failure_at": case(
                    (stale, literal(now, UTCDateTime())), else_=table.c.first_failure_at
                ),
            },
            where=stale | (table.c.failures < limit),
        )
        .returning(table.c.failures)
    )
    return session.exec(statement).scalar()


def _give_back(session: Session, key: str, *, counted_at: datetime) -> None:
    """Take back one attempt counted at `counted_at` (it succeeded, or was never checked)."""
    session.exec(
        update(LoginThrottle)
        .where(
            col(LoginThrottle.account_key) == key,
            col(LoginThrottle.failures) > 0,
            col(LoginThrottle.first_failure_at) <= counted_at,
        )
        .values(failures=col(LoginThrottle.failures) - 1)
    )


def forget_attempts(session: Session, key: str) -> None:
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.account_key) == key))


def device_token(settings: Settings, user: User) -> str:
    """Return a device cookie for the browser `user` has just signed in from."""
    nonce = crypto.new_token(16)
    return f"d1.{user.id}.{nonce}.{_device_mac(settings, user.id, nonce)}"


def _device_mac(settings: Settings, user_id: int | None, nonce: str) -> str:
    key = crypto.installation_key(settings.resolved_secret_key(), "device-cookie")
    return crypto.mac_hex(key, f"{user_id}|{nonce}", length=40)


def _device_of(settings: Settings, token: str | None, user: User | None) -> str | None:
    """Return the device named by `token` if it was given to `user`, else None."""
    if not token or user is None:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "d1" or parts[1] != str(user.id):
        return None
    if not crypto.macs_equal(_device_mac(settings, user.id, parts[2]), parts[3]):
        return None
    return parts[2]


def _too_many() -> AuthError:
    return AuthError(_("Too many failed attempts. Try again in a few minutes."), status_code=429)


def authenticate(
    session: Session, settings: Settings, *, email: str, password: str, device: str | None = None
) -> User:
    """Return the user for valid credentials, or raise AuthError (generic, throttled).

    `device` is the browser's device cookie, if any (see the section's comment). The attempt
    is counted, and committed, before the hash is verified; the connection goes back to the
    pool meanwhile. Unknown accounts cost the same hash verification as known ones, and are
    counted the same way, so neither timing nor lockout tells whether an account exists.
    Nothing logged names the account: failures are logged as a count.
    """
    now = clock.now()
    window = timedelta(minutes=settings.login_lockout_minutes)
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    device_id = _device_of(settings, device, user)
    if device_id is not None:
        key = throttle_key(settings, "device", device_id)
    else:
        key = throttle_key(settings, "account", email)
    counted = count_attempt(session, key, limit=settings.login_max_failures, window=window, now=now)
    if counted is None:
        session.commit()
        raise _too_many()
    spent = None
    if device_id is None:
        spent = count_attempt(
            session,
            GLOBAL_THROTTLE_KEY,
            limit=settings.login_global_max_failures,
            window=window,
            now=now,
        )
        if spent is None:
            _give_back(session, key, counted_at=now)
            session.commit()
            raise _too_many()
    # Verifying takes a good part of a second of CPU, much more in a burst of sign-ins: give
    # the connection back to the pool meanwhile, or a burst holds every connection and the
    # other pages wait for one (found by the load test, docs/load-testing.md).
    session.commit()
    # No account: a dummy hash is verified, so unknown accounts cost the same time.
    valid, upgraded = _password_matches(
        settings, password, user.password_hash if user is not None else None
    )
    if not valid or user is None or not user.is_active:
        _log_failure(settings, known_browser=device_id is not None, spent=spent, counted=counted)
        raise AuthError(_("Email or password is not correct."), status_code=401)
    forget_attempts(session, key)
    if device_id is None:
        _give_back(session, GLOBAL_THROTTLE_KEY, counted_at=now)
    # Committed at once: every sign-in from an unknown browser writes the global counter, and
    # the caller's transaction goes on to run the sign-in hooks (key unwrapping takes a while).
    session.commit()
    if upgraded:
        user.password_hash = upgraded
    user.last_login_at = now
    session.add(user)
    return user


def _log_failure(
    settings: Settings, *, known_browser: bool, spent: int | None, counted: int
) -> None:
    """Log a failed sign-in as counts only: nothing that tells whose account, or which browser."""
    if known_browser:
        log.info("sign-in failed from a browser that signed in before")
        return
    minutes = settings.login_lockout_minutes
    log.info(
        "sign-in failed: %s failed sign-ins from unknown browsers in this %s-minute window",
        spent,
        minutes,
    )
    if counted == settings.login_max_failures:
        log.info("an account name reached its limit of failed sign-ins (which is not logged)")
    if spent == settings.login_global_max_failures:
        log.warning(
            "the budget of %s failed sign-ins from unknown browsers is spent: they are refused "
            "until the %s-minute window ends",
            spent,
            minutes,
        )


def new_session_token() -> str:
    """Return a fresh random session token (the cookie value)."""
    return crypto.new_token(32)


def token_hash(token: str) -> str:
    """Return what is stored to find a session: the token's SHA-256, never the token."""
    return crypto.token_digest(token)


def start_session(
    session: Session, settings: Settings, *, user: User, password: str | None = None
) -> tuple[str, AuthSession]:
    """Create a server-side session for `user`; return (cookie token, row).

    Holders of a SECOND_FACTOR_ROLES role get a half-open session (`pending_second_factor`)
    that only the TOTP step can complete. With `password` (a password sign-in), the sign-in
    hooks run.
    """
    token = new_session_token()
    now = clock.now()
    row = AuthSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=crypto.new_token(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        pending_second_factor=needs_second_factor(roles_of(session, user)),
    )
    session.add(row)
    if password is not None:
        for hook in _sign_in_hooks:
            hook(session, settings, user=user, password=password, session_row=row, token=token)
    audit.record(
        session, action="user.signed_in", actor=user, entity_type="user", entity_id=user.id
    )
    return token, row


# --- second factor (TOTP): who needs it; the rest is backend.auth.second_factor ---------------


def needs_second_factor(roles: frozenset[Role] | set[Role]) -> bool:
    """Return whether someone with `roles` must pass a TOTP check at sign-in."""
    return bool(set(roles) & SECOND_FACTOR_ROLES)


@dataclass
class SessionLookup:
    principal: Principal | None
    expired: bool = False


def resolve_session(session: Session, settings: Settings, token: str | None) -> SessionLookup:
    """Return the principal for a cookie token; expired or idle sessions are deleted."""
    if not token:
        return SessionLookup(None)
    found = session.exec(_SESSION_WITH_USER, params={"token_hash": token_hash(token)}).first()
    if found is None:
        return SessionLookup(None, expired=True)
    row, user = found
    now = clock.now()
    idle = timedelta(minutes=settings.session_idle_minutes)
    if row.expires_at <= now or now - row.last_seen_at > idle or not user.is_active:
        session.delete(row)
        session.commit()
        return SessionLookup(None, expired=True)
    # Write the idle clock at most once a minute, not on every request.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        session.add(row)
        session.commit()
    roles = roles_of(session, user)
    return SessionLookup(Principal(user, row, roles, permissions_for(roles)))


def end_session(session: Session, row: AuthSession) -> None:
    """Delete a session (sign-out)."""
    session.exec(delete(AuthSession).where(AuthSession.id == row.id))


def purge_expired_sessions(session: Session, settings: Settings) -> int:
    """Delete sessions past their absolute or idle expiry (and spent sign-in counters).

    Return how many sessions.
    """
    now = clock.now()
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    result = session.exec(
        delete(AuthSession).where(
            (col(AuthSession.expires_at) <= now) | (col(AuthSession.last_seen_at) < idle_cutoff)
        )
    )
    # Sign-in counters whose window is over count nothing any more (unknown account names
    # tried by someone spraying passwords would otherwise pile up).
    window = timedelta(minutes=settings.login_lockout_minutes)
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.first_failure_at) <= now - window))
    return result.rowcount or 0


# --- CSRF tokens for forms shown without a session -------------------------------------------

# Sign-in and the other pages shown without a session: the token is bound to the browser's
# pre-session cookie, which a cross-site page can neither read nor make the browser send
# with its post (SameSite), so it cannot sign a victim's browser into its own account.
SIGN_IN_CSRF_MAX_AGE = 2 * 3600
# The reporting channel sets no cookie before a receipt login, so its tokens are bound to no
# browser; they are refused everywhere else, and last long enough to write a report.
REPORT_CSRF_MAX_AGE = 4 * 3600


def _anonymous_mac(secret: str, kind: str, issued: str, binding: str) -> str:
    return crypto.mac_hex(secret, f"anon-csrf|{kind}|{issued}|{binding}", length=40)


def anonymous_csrf_token(secret: str, *, binding: str = "", now: float | None = None) -> str:
    """Return a signed, time-limited form token for a page shown without a session.

    With `binding` (the pre-session cookie's value) the token is good only with that cookie;
    without, it is a reporting-channel token.
    """
    issued = str(int(now if now is not None else time.time()))
    kind = "b" if binding else "r"
    return f"{kind}.{issued}.{_anonymous_mac(secret, kind, issued, binding)}"


def check_anonymous_csrf_token(
    secret: str, token: str, *, binding: str = "", now: float | None = None
) -> bool:
    """Return True if `anonymous_csrf_token` made `token`, for `binding`, recently enough."""
    try:
        kind, issued, mac = token.split(".")
        issued_at = int(issued)
    except ValueError:
        return False
    if kind != ("b" if binding else "r"):
        return False
    max_age = SIGN_IN_CSRF_MAX_AGE if binding else REPORT_CSRF_MAX_AGE
    current = now if now is not None else time.time()
    if not (0 <= current - issued_at <= max_age):
        return False
    return crypto.macs_equal(_anonymous_mac(secret, kind, issued, binding), mac)
