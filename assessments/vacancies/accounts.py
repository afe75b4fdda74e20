"""Candidate accounts: external candidates register and prove their email; employees need not."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import Session

from backend import audit, mail
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.i18n import _, use_locale

from . import clock
from .models import CandidateAccount
from .service import VacancyError

TOKEN_HOURS = 48
# A new link can be asked for once a minute (the old one stops working).
RESEND_AFTER = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def account_of(session: Session, user: User) -> CandidateAccount | None:
    return session.get(CandidateAccount, user.id)


def may_apply(session: Session, user: User) -> bool:
    """True for employees (their account is their identity) and verified external candidates."""
    if user.employee_id is not None:
        return True
    account = account_of(session, user)
    return account is not None and account.email_verified_at is not None


def _new_token(account: CandidateAccount) -> str:
    token = secrets.token_urlsafe(32)
    account.token_hash = _hash(token)
    account.token_expires_at = clock.now() + timedelta(hours=TOKEN_HOURS)
    return token


def register(
    session: Session,
    settings: Settings,
    *,
    email: str,
    first_name: str,
    last_names: str,
    password: str,
    locale: str = "es",
) -> tuple[User, str]:
    """Create an external candidate's account (unverified); return it and the email token."""
    errors: dict[str, str] = {}
    first_name, last_names = first_name.strip(), last_names.strip()
    if not first_name:
        errors["first_name"] = _("Enter your given name(s).")
    if not last_names:
        errors["last_names"] = _("Enter your surname(s).")
    if len(first_name) > 100 or len(last_names) > 150:
        errors["last_names"] = _("This name is too long.")
    if errors:
        raise VacancyError(
            _("Some details are missing or not valid."), errors=errors, field=next(iter(errors))
        )
    try:
        user = auth_service.create_user(
            session,
            settings,
            email=email,
            full_name=f"{first_name} {last_names}",
            password=password,
            roles=[Role.candidate],
            locale=locale if locale in ("es", "en") else "es",
            actor="self-registration",
        )
    except auth_service.AuthError as err:
        raise VacancyError(
            str(err), field=err.field or "email", status_code=err.status_code
        ) from None
    account = CandidateAccount(user_id=user.id, first_name=first_name, last_names=last_names)
    token = _new_token(account)
    session.add(account)
    session.flush()
    audit.record(
        session,
        action="candidate.registered",
        actor=user,
        entity_type="user",
        entity_id=user.id,
        after={"email": user.email},
    )
    return user, token


def send_verification(settings: Settings, *, user: User, token: str, base_url: str) -> None:
    """Email the verification link, in the candidate's language; MailError if it fails."""
    link = f"{base_url.rstrip('/')}/candidates/verify/{token}"
    with use_locale(user.locale):
        subject = _("Confirm your email address for Mérito")
        body = _(
            "Hello %(name)s,\n\nTo finish creating your candidate account, open this link "
            "within %(hours)s hours:\n\n%(link)s\n\nIf you did not register, ignore this "
            "message; the account stays unusable.\n\nMérito",
            name=user.full_name,
            hours=TOKEN_HOURS,
            link=link,
        )
    mail.send(settings, to=user.email, subject=subject, body=body)


def verify(session: Session, *, token: str) -> User:
    """Mark the email of the token's account as verified; VacancyError for a bad or old link."""
    from sqlmodel import select

    account = (
        session.exec(
            select(CandidateAccount).where(CandidateAccount.token_hash == _hash(token))
        ).first()
        if token
        else None
    )
    if account is None or account.token_expires_at is None:
        raise VacancyError(
            _("This link is not valid. It may have been used already or replaced by a newer one."),
            status_code=404,
        )
    if account.token_expires_at < clock.now():
        raise VacancyError(
            _("This link has expired. Ask for a new one from the sign-in page."), status_code=410
        )
    account.email_verified_at = clock.now()
    account.token_hash = ""
    account.token_expires_at = None
    session.add(account)
    user = session.get(User, account.user_id)
    audit.record(
        session,
        action="candidate.email_verified",
        actor=user,
        entity_type="user",
        entity_id=account.user_id,
    )
    return user


def new_link(session: Session, *, email: str) -> tuple[User, str] | None:
    """Return (user, fresh token) for an unverified candidate, or None (nothing to send).

    The caller answers the same way either way, so the form does not reveal who has an account.
    """
    from sqlmodel import select

    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        return None
    account = account_of(session, user)
    if account is None or account.email_verified_at is not None:
        return None
    issued = (
        account.token_expires_at - timedelta(hours=TOKEN_HOURS)
        if account.token_expires_at
        else None
    )
    if issued is not None and clock.now() - issued < RESEND_AFTER:
        return None
    token = _new_token(account)
    session.add(account)
    return user, token
