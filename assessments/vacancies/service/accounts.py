"""Candidate accounts: external candidates register and prove their email; employees need not."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend import audit, clock, crypto, mail, revisions
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.emails import InvalidEmail, normalise_email
from backend.i18n import _, use_locale
from backend.org import service as org_service

from ..models import CandidateAccount
from .base import VacancyError

TOKEN_HOURS = 48
# A new link can be asked for once a minute (the old one stops working).
RESEND_AFTER = timedelta(minutes=1)


def _hash(token: str) -> str:
    return crypto.token_digest(token)


def account_of(session: Session, user: User) -> CandidateAccount | None:
    return session.get(CandidateAccount, user.id)


_ACCOUNT = CandidateAccount.__table__
# Built once: the hold check runs on every signed-in candidate's request.
_UNCONFIRMED = sa_select(_ACCOUNT.c.user_id).where(
    _ACCOUNT.c.user_id == bindparam("user_id"), _ACCOUNT.c.email_verified_at.is_(None)
)


def may_apply(session: Session, user: User) -> bool:
    """True unless the account is a self-registered candidate whose address is unconfirmed.

    Only self-registration proves an address by mail. Every other account was made by the
    organisation (employees, staff such as HR planners, accounts an administrator created), so
    its address is known and nobody is asked to confirm it (issue #13: an HR planner's "My
    applications" asked to confirm an address no mail would ever confirm).
    """
    return not awaiting_confirmation(session, user)


def _new_token(account: CandidateAccount) -> str:
    token = crypto.new_token(32)
    account.token_hash = _hash(token)
    account.token_expires_at = clock.now() + timedelta(hours=TOKEN_HOURS)
    return token


def awaiting_confirmation(session: Session, user: User) -> bool:
    """True for a self-registered candidate who has not confirmed their address yet.

    Such an account can do nothing but confirm it (public_routes registers this with
    backend.deps.on_account_hold). Asked on every signed-in request: employees' accounts,
    which never register themselves, cost no query.
    """
    if user.employee_id is not None:
        return False
    return revisions.per_transaction(
        session,
        ("vacancies.awaiting_confirmation", user.id),
        lambda: session.execute(_UNCONFIRMED, {"user_id": user.id}).first() is not None,
    )


@dataclass(frozen=True)
class Registration:
    """What registering did: a new, unconfirmed account and its email token, or nothing.

    Nothing is created for an address that is taken (it has an account, or belongs to an
    employee); the caller then tells the address's owner by mail, in `locale`, and answers the
    person registering exactly as for a new account, so the form reveals no one's account.
    """

    email: str
    user: User | None = None
    token: str = ""
    locale: str = "es"


def register(
    session: Session,
    settings: Settings,
    *,
    email: str,
    first_name: str,
    last_names: str,
    password: str,
    password_again: str | None = None,
    locale: str = "es",
) -> Registration:
    """Create an external candidate's account (unverified) unless the address is taken.

    VacancyError (422, every problem named by field) for details that are missing or not
    valid, a weak password, a `password_again` that differs (when given), or an address at the
    organisation's staff mail domain.
    """
    if password_again is not None and password != password_again:
        raise VacancyError(
            _("The two passwords are not the same."), field="password_again", status_code=422
        )
    locale = locale if locale in ("es", "en") else "es"
    errors: dict[str, str] = {}
    first_name, last_names = first_name.strip(), last_names.strip()
    if not first_name:
        errors["first_name"] = _("Enter your given name(s).")
    if not last_names:
        errors["last_names"] = _("Enter your surname(s).")
    if len(first_name) > 100 or len(last_names) > 150:
        errors["last_names"] = _("This name is too long.")
    try:
        address = normalise_email(email)
    except InvalidEmail as err:
        errors["email"], address = str(err), ""
    if address and settings.is_staff_address(address):
        errors["email"] = _(
            "This is a staff address of the organisation: staff apply with their usual account. "
            "To register as an external candidate, use a personal address."
        )
    full_name = f"{first_name} {last_names}"
    problems = auth_service.password_problems(password, user_inputs=[address, full_name])
    if problems:
        errors["password"] = " ".join(problems)
    if errors:
        raise VacancyError(
            _("Some details are missing or not valid."),
            errors=errors,
            field=next(iter(errors)),
            status_code=422,
        )
    owner = session.exec(select(User).where(User.email == address)).first()
    if owner is not None or org_service.is_employee_address(session, address):
        # The same work as creating an account (the password hash dominates), and no trace
        # the person registering could see.
        auth_service.hash_password(settings, password)
        return Registration(address, locale=owner.locale if owner is not None else locale)
    try:
        user = auth_service.create_user(
            session,
            settings,
            email=address,
            full_name=full_name,
            password=password,
            roles=[Role.candidate],
            locale=locale,
            actor="self-registration",
            check_password=False,
        )
    except IntegrityError:
        # Another request registered the same address a moment ago: taken after all.
        session.rollback()
        return Registration(address, locale=locale)
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
    return Registration(address, user=user, token=token, locale=locale)


def send_verification(settings: Settings, *, user: User, token: str) -> None:
    """Email the verification link, in the candidate's language; MailError if it fails.

    The link is built on MERITO_PUBLIC_URL (backend.mail.link), never on the request.
    """
    link = mail.link(settings, f"/candidates/verify/{token}")
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


def send_taken_notice(settings: Settings, *, email: str, locale: str) -> None:
    """Tell the owner of a taken address that someone tried to register it (MailError)."""
    link = mail.link(settings, "/login")
    with use_locale(locale):
        subject = _("Someone tried to register your email address in Mérito")
        body = _(
            "Hello,\n\nSomeone, perhaps you, asked to create a candidate account in Mérito with "
            "this email address. The address already has an account or belongs to the "
            "organisation's staff, so no account was created.\n\nIf it was you, sign in with "
            "your usual account:\n\n%(link)s\n\nIf you do not remember your password or have "
            "no account yet, ask the administrator. If it was not you, ignore this message: "
            "nothing has changed.\n\nMérito",
            link=link,
        )
    mail.send(settings, to=email, subject=subject, body=body)


def verify(session: Session, *, token: str) -> User:
    """Mark the email of the token's account as verified; VacancyError for a bad or old link."""
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


def send_registration_mail(settings: Settings, registration: Registration) -> bool:
    """Send what registering owes (after the commit): the confirmation link to a new account,
    or the notice to the owner of a taken address. False when the mail could not be sent."""
    try:
        if registration.user is not None:
            send_verification(settings, user=registration.user, token=registration.token)
        else:
            send_taken_notice(settings, email=registration.email, locale=registration.locale)
    except mail.MailError:
        return False
    return True


def send_new_link(settings: Settings, found: tuple[User, str] | None) -> None:
    """Send the link `new_link` made (after the commit); a failure is not told: the answer is
    the same either way, so it reveals nobody's account."""
    if found is not None:
        user, token = found
        with contextlib.suppress(mail.MailError):
            send_verification(settings, user=user, token=token)
