"""The reporting channel's rules: keys, reports, receipts, cases, access, recovery.

Plain functions with keyword-only arguments; no HTTP. The storage model (docs/security.md):

* every report has its own X25519 key pair; everything written into the case is sealed to the
  report's public key with associated data naming the report, the kind of item and its row;
* the report's private key is wrapped once per holder: each investigator given the case, the
  installation's recovery identity, and the reporter (under a key derived from the receipt);
* a reporter's name or contact details are sealed under a separate identity key pair, wrapped
  for protection officers, the recovery identity and the reporter, and released to an
  investigator only when a protection officer approves a reasoned request;
* holders' private keys are wrapped under an Argon2id key from their password; a signed-in
  holder's unlocked key sits in the session row encrypted under a key only the cookie yields.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth import service as auth_service
from backend.auth.models import AuthSession, User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings
from backend.db import today_utc
from backend.i18n import N_, _
from backend.org import service as org_service
from whistleblowing import attachments, deadlines
from whistleblowing.deadlines import ACK_DAYS, FEEDBACK_MONTHS, add_months  # noqa: F401
from whistleblowing.models import (
    RED_FLAGS,
    REPORTER_KINDS,
    REPORTER_VISIBLE_KINDS,
    CaseTag,
    DeclaredInterest,
    HolderKey,
    HolderKind,
    IdentityRequest,
    IdentityRequestStatus,
    IntakeChannel,
    ItemKind,
    KeyKind,
    ReceiptThrottle,
    Report,
    ReportAttachment,
    ReportChannel,
    ReportChannelRecipient,
    ReportConflict,
    ReporterSession,
    ReportingInstallation,
    ReportItem,
    ReportKeyWrap,
    ReportStatus,
    ReportTag,
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


class ReportingError(Exception):
    """A rule of the reporting channel was broken; `str(err)` is a translated message."""

    def __init__(self, message: str, *, status_code: int = 422, field: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field


class ReporterSessionExpired(ReportingError):
    """The reporter's session is missing or over; they must enter their receipt again."""

    def __init__(self) -> None:
        super().__init__(
            _("Your session has ended. Enter your receipt again to continue."), status_code=401
        )


def _aad(*parts: object) -> bytes:
    """Return associated data naming exactly what a ciphertext belongs to."""
    return "|".join((AAD_PREFIX, *(str(p) for p in parts))).encode("utf-8")


def _kdf(settings: Settings, params: crypto.KdfParams) -> crypto.KdfParams:
    # Tests run with fast hashing; the parameters are stored with every blob, so nothing
    # made under test parameters is ever opened with other ones by mistake.
    return crypto.TEST_KDF if settings.fast_password_hashing else params


def local_today(settings: Settings) -> date:
    """Return today in the organisation's time zone: every case date is a local day."""
    return deadlines.local_today(settings.time_zone)


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
    value = secrets.randbits(160)
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
    row.recovery_created_on = today_utc()
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
        row.created_on = today_utc()
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


# --- channels ---------------------------------------------------------------------------------


def active_channels(session: Session) -> list[ReportChannel]:
    """Return the channels people can report to, in display order."""
    return list(
        session.exec(
            select(ReportChannel)
            .where(col(ReportChannel.is_active).is_(True))
            .order_by(col(ReportChannel.order), col(ReportChannel.id))
        ).all()
    )


def all_channels(session: Session) -> list[ReportChannel]:
    return list(
        session.exec(
            select(ReportChannel).order_by(col(ReportChannel.order), col(ReportChannel.id))
        )
    )


def channel_recipients(session: Session, channel_id: int) -> list[User]:
    """Return the active users who receive the channel's new reports."""
    return list(
        session.exec(
            select(User)
            .join(ReportChannelRecipient, col(ReportChannelRecipient.user_id) == User.id)
            .where(ReportChannelRecipient.channel_id == channel_id, col(User.is_active).is_(True))
            .order_by(col(User.full_name))
        ).all()
    )


def channel_people(session: Session, channel: ReportChannel) -> list[User]:
    """Return everyone who may receive the channel's reports: recipients, lead and deputy."""
    people = {u.id: u for u in channel_recipients(session, channel.id)}
    for user_id in (channel.lead_user_id, channel.deputy_user_id):
        if user_id is not None and user_id not in people:
            user = session.get(User, user_id)
            if user is not None and user.is_active:
                people[user.id] = user
    return sorted(people.values(), key=lambda u: u.full_name)


def recipients_by_channel(session: Session) -> dict[int, list[User]]:
    """Return who may receive each active channel's reports (reporters may exclude them)."""
    return {c.id: channel_people(session, c) for c in active_channels(session)}


def investigators(session: Session) -> list[User]:
    """Return active users with the investigator role."""
    return list(
        session.exec(
            select(User)
            .join(UserRole, col(UserRole.user_id) == User.id)
            .where(UserRole.role == Role.investigator.value, col(User.is_active).is_(True))
            .order_by(col(User.full_name))
        ).all()
    )


def save_channel(
    session: Session,
    *,
    actor: User,
    channel: ReportChannel | None,
    code: str,
    name_es: str,
    name_en: str,
    description_es: str,
    description_en: str,
    is_active: bool,
    order: int,
) -> ReportChannel:
    """Create or update a channel (audited); ReportingError on a missing name or taken code."""
    code = code.strip().lower().replace(" ", "_")
    if not code or not name_es.strip() or not name_en.strip():
        raise ReportingError(_("Enter a code and the name in both languages."), field="code")
    clash = session.exec(select(ReportChannel).where(ReportChannel.code == code)).first()
    if clash is not None and (channel is None or clash.id != channel.id):
        raise ReportingError(_("Another channel already uses this code."), field="code")
    before = audit.snapshot(channel) if channel is not None else None
    channel = channel or ReportChannel(code=code, name_es="", name_en="")
    channel.code, channel.name_es, channel.name_en = code, name_es.strip(), name_en.strip()
    channel.description_es, channel.description_en = description_es.strip(), description_en.strip()
    channel.is_active, channel.order = is_active, order
    session.add(channel)
    session.flush()
    audit.record(
        session,
        action="reporting.channel_saved",
        actor=actor,
        entity_type="report_channel",
        entity_id=channel.id,
        before=before,
        after=audit.snapshot(channel),
    )
    return channel


def set_channel_recipients(
    session: Session, *, actor: User, channel: ReportChannel, user_ids: Sequence[int]
) -> None:
    """Replace who receives the channel's new reports (investigators only; audited)."""
    allowed = {u.id for u in investigators(session)}
    wanted = {uid for uid in user_ids if uid in allowed}
    current = set(
        session.exec(
            select(ReportChannelRecipient.user_id).where(
                ReportChannelRecipient.channel_id == channel.id
            )
        ).all()
    )
    for uid in current - wanted:
        session.exec(
            delete(ReportChannelRecipient).where(
                ReportChannelRecipient.channel_id == channel.id,
                ReportChannelRecipient.user_id == uid,
            )
        )
    for uid in wanted - current:
        session.add(ReportChannelRecipient(channel_id=channel.id, user_id=uid))
    if wanted != current:
        audit.record(
            session,
            action="reporting.channel_recipients_changed",
            actor=actor,
            entity_type="report_channel",
            entity_id=channel.id,
            before={"recipients": sorted(current)},
            after={"recipients": sorted(wanted)},
        )


def holder_keys(session: Session, user_ids: Sequence[int]) -> dict[int, HolderKey]:
    """Return the holder keys of the given users that have one."""
    if not user_ids:
        return {}
    rows = session.exec(select(HolderKey).where(col(HolderKey.user_id).in_(list(user_ids))))
    return {row.user_id: row for row in rows}


# --- submission -------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file as received: its name and bytes, in memory."""

    filename: str
    data: bytes


@dataclass
class Submission:
    """What a reporter filled in on the form."""

    channel_id: int | None
    what: str
    when: str = ""
    where: str = ""
    who: str = ""
    how_known: str = ""
    red_flags: list[str] = field(default_factory=list)
    others_know: str = "unsure"
    identity: str = ""
    excluded_user_ids: list[int] = field(default_factory=list)
    files: list[Upload] = field(default_factory=list)
    good_faith: bool = False
    form_token: str = ""
    # A report made by telephone, in person, by letter or email, entered by an investigator.
    received_via: str = IntakeChannel.web
    received_on: date | None = None  # the day the reporter made it (defaults to today)
    entered_by: User | None = None


@dataclass
class SubmissionResult:
    report: Report
    receipt: str
    certificate: dict[str, Any]
    channel: ReportChannel


OTHERS_KNOW = ("yes", "no", "unsure")


def new_form_token() -> str:
    """Return a one-time token for a report form (stops a re-sent form filing twice)."""
    return secrets.token_urlsafe(24)


def validate_submission(session: Session, submission: Submission) -> dict[str, str]:
    """Return field -> translated problem for a submission (empty when it can be filed)."""
    errors: dict[str, str] = {}
    channel = session.get(ReportChannel, submission.channel_id) if submission.channel_id else None
    if channel is None or not channel.is_active:
        errors["channel"] = _("Choose what your report is about.")
    if not submission.what.strip():
        errors["what"] = _("Describe what happened.")
    for name in ("what", "when", "where", "who", "how_known", "identity"):
        if len(getattr(submission, name)) > MAX_TEXT:
            errors[name] = _("This text is too long (at most %(n)s characters).", n=MAX_TEXT)
    known_flags = {code for code, _label in RED_FLAGS}
    if any(flag not in known_flags for flag in submission.red_flags):
        errors["red_flags"] = _("Choose warning signs from the list.")
    if submission.others_know not in OTHERS_KNOW:
        errors["others_know"] = _("Choose one answer.")
    if not submission.good_faith:
        errors["good_faith"] = _(
            "Confirm that you report in good faith, believing what you report is true."
        )
    if len(submission.files) > attachments.MAX_ATTACHMENTS_PER_MESSAGE:
        errors["files"] = _(
            "Attach at most %(n)s files at a time.", n=attachments.MAX_ATTACHMENTS_PER_MESSAGE
        )
    if channel is not None and "channel" not in errors:
        recipients = _report_recipients(session, channel.id, submission.excluded_user_ids)
        if not recipients:
            errors["excluded"] = _(
                "Nobody would receive your report: keep at least one of the channel's "
                "investigators, or choose another channel."
            )
        elif not _someone_reads(session, channel, submission):
            # Told before the receipt, never filed for the recovery key alone: the reporter
            # changes whom they exclude or name, or chooses another channel. The message does
            # not say whose declared interest the text touched.
            errors["excluded"] = _(
                "Nobody could read your report: everyone who receives reports about this is "
                "excluded by you, named in your report, or cannot receive it for another "
                "reason. Nothing has been sent. Exclude fewer people, or choose another channel."
            )
    if not submission.form_token:
        errors["form"] = _("This form has expired. Reload the page and try again.")
    if submission.received_via not in IntakeChannel.__members__:
        errors["received_via"] = _("Choose how the report was received.")
    elif (submission.received_via == IntakeChannel.web) != (submission.entered_by is None):
        errors["received_via"] = _("Only an investigator can enter a report made another way.")
    return errors


def _kept_out(
    session: Session, channel: ReportChannel, submission: Submission
) -> tuple[set[int], set[int]]:
    """Return the channel's people the report names, and those whose declared interests it
    touches (checked on the plain text, in memory, before anything is sealed)."""
    texts = [
        submission.what,
        submission.when,
        submission.where,
        submission.who,
        submission.how_known,
    ]
    people = channel_people(session, channel)
    return named_in(texts, people), set(interests_touched(session, texts, people))


def _someone_reads(session: Session, channel: ReportChannel, submission: Submission) -> bool:
    """Return whether someone but the recovery key could read the report if it were filed."""
    named, interested = _kept_out(session, channel, submission)
    barred = set(submission.excluded_user_ids) | named | interested
    entered = submission.entered_by
    if entered is not None and entered.id not in barred and session.get(HolderKey, entered.id):
        return True
    return bool(
        _report_recipients(session, channel.id, submission.excluded_user_ids, named | interested)
    )


def _report_recipients(
    session: Session, channel_id: int, excluded: Iterable[int], named: Iterable[int] = ()
) -> list[tuple[User, HolderKey]]:
    """Return who receives a new report of the channel, with their key pairs.

    The channel's recipients, less those the reporter excluded and those the report names;
    when that leaves nobody, the channel's deputy, then its lead (if they may receive it).
    """
    barred = set(excluded) | set(named)
    users = [u for u in channel_recipients(session, channel_id) if u.id not in barred]
    keys = holder_keys(session, [u.id for u in users])
    chosen = [(u, keys[u.id]) for u in users if u.id in keys]
    if chosen:
        return chosen
    channel = session.get(ReportChannel, channel_id)
    for user_id in (channel.deputy_user_id, channel.lead_user_id):
        user = session.get(User, user_id) if user_id is not None else None
        key = session.get(HolderKey, user_id) if user_id is not None else None
        if user is not None and key is not None and user.id not in barred and user.is_active:
            return [(user, key)]
    return []


# Words that are part of names but say nothing about who is meant ("María de la Cruz").
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "da", "do"})


def _words(text: str) -> list[str]:
    """Return the words of `text`, lower-case and without accents (for matching names)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.findall(r"\w+", plain)


def _significant_words(text: str) -> list[str]:
    """Return the words of `text` that can tell a name apart: no particles, no initials (so
    "María de la Cruz" and "Juan P. Pérez" read as "maría cruz" and "juan pérez")."""
    return [w for w in _words(text) if w not in _NAME_PARTICLES and len(w) > 1]


def _mentions(words: Sequence[str], forms: Iterable[tuple[str, ...]]) -> bool:
    """Return whether any of the word sequences `forms` occurs in `words`."""
    for form in forms:
        size = len(form)
        if size and any(tuple(words[i : i + size]) == form for i in range(len(words) - size + 1)):
            return True
    return False


def _name_forms(full_name: str) -> set[tuple[str, ...]]:
    """Return the ways a person's name may be written: in full either way round, or the given
    name next to one of the surnames (empty for a name of fewer than two words)."""
    parts = _significant_words(full_name)
    if len(parts) < 2:
        return set()
    forms = {tuple(parts), tuple(reversed(parts))}
    for surname in parts[1:]:
        forms |= {(parts[0], surname), (surname, parts[0])}
    return forms


def names_person(text: str, *, full_name: str, email: str = "") -> bool:
    """Return whether `text` names the person: their full name (either order), their given
    name next to one of their surnames, or their email address.

    Deliberately generous: a person wrongly matched only loses access to one report, while a
    person named and missed would read a report about themselves.
    """
    if email and email.casefold() in text.casefold():
        return True
    return _mentions(_significant_words(text), _name_forms(full_name))


def named_in(texts: Sequence[str], people: Iterable[User]) -> set[int]:
    """Return the ids of the people that any of `texts` names."""
    joined = "\n".join(texts)
    return {u.id for u in people if names_person(joined, full_name=u.full_name, email=u.email)}


def interest_forms(term: str) -> set[tuple[str, ...]]:
    """Return how a declared interest may appear in a report: its words in order or in reverse
    ("Pérez Juan"), ignoring accents, capitals, particles and initials."""
    words = _significant_words(term)
    return {tuple(words), tuple(reversed(words))} if words else set()


def _interest_labels(session: Session, register: DeclaredInterest) -> list[str]:
    """Return what an investigator declared: their terms and the names of their units."""
    labels = list(register.terms)
    for unit_id in register.unit_ids:
        unit = org_service.get_unit(session, unit_id)
        if unit is not None:
            labels.append(unit.name)
    return labels


def interests_touched(
    session: Session, texts: Sequence[str], people: Iterable[User]
) -> dict[int, list[str]]:
    """Return, for each of `people` whose declared interests (terms, or their units' names)
    `texts` mention, the interests mentioned.

    Runs on the report's plain text while it is in memory at submission (and on the decrypted
    text when someone is given the case later); nothing of the match is stored in clear.
    Generous like `names_person`: a wrong match costs one investigator one report.
    """
    people = {u.id: u for u in people}
    if not people:
        return {}
    words = _significant_words("\n".join(texts))
    touched: dict[int, list[str]] = {}
    for register in session.exec(
        select(DeclaredInterest).where(col(DeclaredInterest.user_id).in_(list(people)))
    ).all():
        found = [
            label
            for label in _interest_labels(session, register)
            if _mentions(words, interest_forms(label))
        ]
        if found:
            touched[register.user_id] = found
    return touched


def _protection_officer_keys(session: Session) -> list[tuple[User, HolderKey]]:
    users = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == User.id)
        .where(UserRole.role == Role.protection_officer.value, col(User.is_active).is_(True))
    ).all()
    keys = holder_keys(session, [u.id for u in users])
    return [(u, keys[u.id]) for u in users if u.id in keys]


def _new_reference(session: Session) -> str:
    while True:
        symbols = "".join(secrets.choice(crypto.RECEIPT_ALPHABET) for _ in range(8))
        reference = f"{REFERENCE_PREFIX}-{symbols[:4]}-{symbols[4:]}"
        if session.exec(select(Report.id).where(Report.reference == reference)).first() is None:
            return reference


def canonical_json(value: Any) -> bytes:
    """Return the one byte form of a JSON value that hashes and signatures are made over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _seal_item(
    report: Report,
    *,
    kind: ItemKind,
    uid: str,
    payload: dict[str, Any],
    public_key: bytes | None = None,
    position: int | None = None,
) -> bytes:
    """Seal an item's payload; `position` (its place in the case) is sealed with it."""
    if position is not None:
        payload = {**payload, "position": position}
    return crypto.seal(
        public_key or report.public_key,
        canonical_json(payload),
        aad=_aad("item", report.reference, kind.value, uid),
    )


def item_position(session: Session, report: Report) -> int:
    """Return the place of the next item in the case's conversation (sealed into it).

    Item ids are random (models.random_id_column): a plain order would tell when a reporter
    wrote between two timed staff actions. Two items written at the same moment may share a
    place; the timeline then orders them by their random uid.
    """
    return session.exec(
        select(func.count()).select_from(ReportItem).where(ReportItem.report_id == report.id)
    ).one()


def _wrap_for(
    report: Report, *, key_kind: KeyKind, private: bytes, holder_public: bytes, holder: str
) -> bytes:
    return crypto.wrap_key_for(
        holder_public, private, aad=_aad("wrap", report.reference, key_kind.value, holder)
    )


def _add_wrap(
    session: Session,
    report: Report,
    *,
    key_kind: KeyKind,
    private: bytes,
    user_id: int | None,
    public_key: bytes,
    granted_by: User | None = None,
) -> ReportKeyWrap:
    holder = f"user:{user_id}" if user_id is not None else HolderKind.recovery.value
    wrap = ReportKeyWrap(
        report_id=report.id,
        key_kind=key_kind.value,
        holder_kind=HolderKind.user.value if user_id is not None else HolderKind.recovery.value,
        user_id=user_id,
        wrapped=_wrap_for(
            report, key_kind=key_kind, private=private, holder_public=public_key, holder=holder
        ),
        granted_by_id=granted_by.id if granted_by else None,
    )
    session.add(wrap)
    return wrap


@dataclass
class StoredFile:
    uid: str
    sealed_meta: bytes
    summary: dict[str, Any]


def store_sealed_files(
    settings: Settings,
    *,
    scope: str,
    reference: str,
    public_key: bytes,
    item_uid: str,
    files: Sequence[attachments.CleanFile],
    written: list[str],
) -> list[StoredFile]:
    """Encrypt files into the store, each under its own key, and seal their descriptions
    (name, type, size, SHA-256, file key) to `public_key`. `scope` names what they belong to
    ("attachment" for reports) and is bound into the associated data. Stored uids are added
    to `written` so a failed transaction can remove them."""
    stored = []
    for position, clean in enumerate(files):
        uid = attachments.new_uid()
        file_key = crypto.new_session_key()
        attachments.store(
            settings.attachments_dir,
            uid,
            key=file_key,
            data=clean.data,
            aad=_aad(scope, reference, uid),
        )
        written.append(uid)
        meta = {
            "name": clean.filename,
            "type": clean.file_type.content_type,
            "size": len(clean.data),
            "sha256": clean.sha256,
            "key": base64.b64encode(file_key).decode(),
            # Rows have random ids: the order the files were given in is sealed here.
            "position": position,
        }
        stored.append(
            StoredFile(
                uid,
                crypto.seal(
                    public_key,
                    canonical_json(meta),
                    aad=_aad(f"{scope}-meta", reference, item_uid, uid),
                ),
                {"name": clean.filename, "size": len(clean.data), "sha256": clean.sha256},
            )
        )
    return stored


def _store_files(
    session: Session,
    settings: Settings,
    report: Report,
    *,
    item_uid: str,
    files: Sequence[attachments.CleanFile],
    written: list[str],
) -> list[dict[str, Any]]:
    """Encrypt files into the store and add their rows; return their sealed-side summaries."""
    stored = store_sealed_files(
        settings,
        scope="attachment",
        reference=report.reference,
        public_key=report.public_key,
        item_uid=item_uid,
        files=files,
        written=written,
    )
    for entry in stored:
        session.add(
            ReportAttachment(
                uid=entry.uid, report_id=report.id, item_uid=item_uid, sealed_meta=entry.sealed_meta
            )
        )
    return [entry.summary for entry in stored]


def clean_uploads(uploads: Sequence[Upload]) -> tuple[list[attachments.CleanFile], list[str]]:
    """Return the cleaned files and the translated problems of the refused ones."""
    cleaned, problems = [], []
    for upload in uploads:
        try:
            cleaned.append(attachments.clean(upload.filename, upload.data))
        except attachments.AttachmentRefused as refused:
            problems.append(str(refused))
    return cleaned, problems


def submit_report(
    session: Session, settings: Settings, *, submission: Submission, today: date | None = None
) -> SubmissionResult:
    """File a report and return it with its receipt (shown once) and signed certificate.

    Raises ReportingError when the channel is not ready (no recovery key) or the form was
    already filed. Files are cleaned before anything is written; the caller commits, and on
    any failure the encrypted files written so far are removed again.
    """
    errors = validate_submission(session, submission)
    if errors:
        raise ReportingError(next(iter(errors.values())), field=next(iter(errors)))
    if not recovery_ready(session):
        raise ReportingError(
            _(
                "The reporting channel is not ready to receive reports yet. Please try again "
                "later; the administrators have been told how to finish the installation."
            ),
            status_code=503,
        )
    form_hash = hashlib.sha256(submission.form_token.encode()).hexdigest()
    if session.exec(select(Report.id).where(Report.form_token_sha256 == form_hash)).first():
        raise ReportingError(
            _(
                "This report was already sent. Its receipt was shown once, when it was sent. "
                "If you did not keep it, send a new report."
            ),
            status_code=409,
        )
    cleaned, problems = clean_uploads(submission.files)
    if problems:
        raise ReportingError(" ".join(problems), field="files")
    channel = session.get(ReportChannel, submission.channel_id)
    inst = installation(session, settings)
    today = submission.received_on or today or local_today(settings)
    reference = _new_reference(session)
    receipt = crypto.new_receipt()
    receipt_params = _kdf(settings, crypto.RECEIPT_KEY_KDF)
    receipt_salt = crypto.new_salt()
    receipt_key = crypto.receipt_key(receipt, receipt_salt, params=receipt_params)
    report_pair = crypto.generate_keypair()
    identity_pair = crypto.generate_keypair() if submission.identity.strip() else None
    report = Report(
        reference=reference,
        channel_id=channel.id,
        submitted_on=today,
        ack_due_on=deadlines.acknowledgement_due(today),
        feedback_due_on=deadlines.feedback_due(today),
        received_via=submission.received_via,
        last_reporter_activity_on=today,
        public_key=report_pair.public,
        identity_public_key=identity_pair.public if identity_pair else None,
        receipt_lookup=crypto.receipt_lookup(
            receipt, inst.receipt_salt, params=_lookup_params(inst)
        ),
        receipt_salt=receipt_salt,
        receipt_memory_kib=receipt_params.memory_kib,
        receipt_iterations=receipt_params.iterations,
        receipt_lanes=receipt_params.lanes,
        reporter_wrap=crypto.encrypt(
            receipt_key, report_pair.private, aad=_aad("reporter-wrap", reference, "report")
        ),
        reporter_identity_wrap=(
            crypto.encrypt(
                receipt_key, identity_pair.private, aad=_aad("reporter-wrap", reference, "identity")
            )
            if identity_pair
            else None
        ),
        content_sha256="",
        form_token_sha256=form_hash,
    )
    session.add(report)
    session.flush()
    written: list[str] = []
    try:
        item_uid = attachments.new_uid()
        files = _store_files(
            session, settings, report, item_uid=item_uid, files=cleaned, written=written
        )
        # Investigators the report names, or whose declared interests it touches, never
        # receive it; kept sealed (who is named is itself confidential) and re-checked on
        # every grant. Both checks run on the plain text here, in memory, before sealing.
        named, interested = _kept_out(session, channel, submission)
        answers = {
            "channel": channel.code,
            "what": submission.what.strip(),
            "when": submission.when.strip(),
            "where": submission.where.strip(),
            "who": submission.who.strip(),
            "how_known": submission.how_known.strip(),
            "red_flags": sorted(set(submission.red_flags)),
            "others_know": submission.others_know,
            # Sealed, not plain: who a reporter distrusts could point to who they are.
            "excluded_user_ids": sorted(set(submission.excluded_user_ids)),
            "named_user_ids": sorted(named),
            "interest_user_ids": sorted(interested),
            "received_via": submission.received_via,
            "entered_by": submission.entered_by.full_name if submission.entered_by else "",
            "files": files,
            "submitted_on": today.isoformat(),
            # Makes the certificate's hash unguessable even for a short, predictable report.
            "nonce": secrets.token_hex(16),
        }
        report.content_sha256 = hashlib.sha256(canonical_json(answers)).hexdigest()
        session.add(
            ReportItem(
                uid=item_uid,
                report_id=report.id,
                kind=ItemKind.submission.value,
                created_on=today,
                sealed=_seal_item(report, kind=ItemKind.submission, uid=item_uid, payload=answers),
            )
        )
        if identity_pair is not None:
            uid = attachments.new_uid()
            session.add(
                ReportItem(
                    uid=uid,
                    report_id=report.id,
                    kind=ItemKind.identity.value,
                    created_on=today,
                    sealed=_seal_item(
                        report,
                        kind=ItemKind.identity,
                        uid=uid,
                        payload={"text": submission.identity.strip()},
                        public_key=identity_pair.public,
                        position=1,
                    ),
                )
            )
        recipients = _report_recipients(
            session, channel.id, submission.excluded_user_ids, named | interested
        )
        entered_by = submission.entered_by
        if (
            entered_by is not None
            and entered_by.id not in named | interested
            and entered_by.id not in set(submission.excluded_user_ids)
        ):
            # The investigator who took the call already knows the content.
            entered_key = session.get(HolderKey, entered_by.id)
            if entered_key is not None and all(u.id != entered_by.id for u, _k in recipients):
                recipients.append((entered_by, entered_key))
        for user, key in recipients:
            _add_wrap(
                session,
                report,
                key_kind=KeyKind.report,
                private=report_pair.private,
                user_id=user.id,
                public_key=key.public_key,
            )
        _add_wrap(
            session,
            report,
            key_kind=KeyKind.report,
            private=report_pair.private,
            user_id=None,
            public_key=inst.recovery_public,
        )
        if identity_pair is not None:
            for user, key in _protection_officer_keys(session):
                _add_wrap(
                    session,
                    report,
                    key_kind=KeyKind.identity,
                    private=identity_pair.private,
                    user_id=user.id,
                    public_key=key.public_key,
                )
            _add_wrap(
                session,
                report,
                key_kind=KeyKind.identity,
                private=identity_pair.private,
                user_id=None,
                public_key=inst.recovery_public,
            )
        session.add(report)
        session.flush()
        if named or interested:
            # Audited like every reporter action, at day precision (audit.record_on_day): how
            # many were kept out and why, never who (the log is plain text, and who a report
            # names or touches says what it is about).
            audit.record_on_day(
                session,
                on=today,
                action="report.recipients_withheld",
                actor="reporter",
                entity_type="report",
                entity_id=report.reference,
                after={"named": len(named), "declared_interest": len(interested)},
            )
        certificate = certificate_for(session, settings, report=report)
    except BaseException:
        discard_files(settings, written)
        raise
    # Undo the encrypted files too if the caller's commit fails.
    session.info.setdefault("wb_written_files", []).extend(written)
    return SubmissionResult(report, receipt, certificate, channel)


def discard_files(settings: Settings, uids: Sequence[str]) -> None:
    """Remove stored files whose database rows were not committed."""
    for uid in uids:
        attachments.remove(settings.attachments_dir, uid)


def commit(session: Session, settings: Settings) -> None:
    """Commit; if that fails, remove the files this transaction wrote, then re-raise."""
    written = session.info.pop("wb_written_files", [])
    try:
        session.commit()
    except BaseException:
        session.rollback()
        discard_files(settings, written)
        raise


def rollback(session: Session, settings: Settings) -> None:
    """Roll back and remove the files this transaction wrote."""
    session.rollback()
    discard_files(settings, session.info.pop("wb_written_files", []))


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


# --- receipt login and the reporter's session -------------------------------------------------


# The budget as a "generic cell rate": one attempt costs RECEIPT_ATTEMPT_SECONDS of budget time,
# and the budget holds RECEIPT_BUCKET_CAPACITY attempts, so an attempt is allowed while the
# moment the budget is whole again lies at most RECEIPT_BURST_SECONDS ahead.
RECEIPT_ATTEMPT_SECONDS = 1.0 / RECEIPT_BUCKET_REFILL_PER_SECOND
RECEIPT_BURST_SECONDS = (RECEIPT_BUCKET_CAPACITY - 1) * RECEIPT_ATTEMPT_SECONDS


def _clock() -> float:
    return time.time()


def _charge_receipt_budget(session: Session) -> bool:
    """Take one attempt from the installation-wide budget and commit; return False (nothing
    taken) when it is spent.

    One conditional UPDATE: on PostgreSQL concurrent attempts queue on the row's lock and each
    re-checks the condition against the row as the previous one left it; on SQLite writers are
    serialised. So however many attempts arrive at once, exactly the budget passes. It commits
    at once, before any key derivation, so nothing holds the row (or SQLite's writer lock)
    while Argon2id runs.
    """
    now = _clock()
    later = case((col(ReceiptThrottle.full_at) > now, col(ReceiptThrottle.full_at)), else_=now)
    charge = (
        update(ReceiptThrottle)
        .where(col(ReceiptThrottle.id) == 1)
        .where(col(ReceiptThrottle.full_at) <= now + RECEIPT_BURST_SECONDS)
        .values(full_at=later + RECEIPT_ATTEMPT_SECONDS)
    )
    taken = session.execute(charge).rowcount == 1
    if not taken and session.get(ReceiptThrottle, 1) is None:
        # The migration creates the row; a database emptied by hand gets it back.
        session.add(ReceiptThrottle(id=1, full_at=0.0))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        taken = session.execute(charge).rowcount == 1
    session.commit()
    return taken


def _refund_receipt_budget(session: Session) -> None:
    """Give back the attempt a right receipt took (the budget counts failures). Once the
    budget is whole again the row goes back to 0, so a reporter's sign-in leaves no time."""
    now = _clock()
    earlier = col(ReceiptThrottle.full_at) - RECEIPT_ATTEMPT_SECONDS
    session.execute(
        update(ReceiptThrottle)
        .where(col(ReceiptThrottle.id) == 1)
        .values(full_at=case((earlier <= now, 0.0), else_=earlier))
    )


def forget_receipt_attempts(session: Session) -> int:
    """Set a whole budget's row back to 0 (the periodic job), so the moment of the last
    failed attempt does not stay in the database; return how many rows changed (0 or 1)."""
    result = session.execute(
        update(ReceiptThrottle)
        .where(col(ReceiptThrottle.full_at) > 0, col(ReceiptThrottle.full_at) <= _clock())
        .values(full_at=0.0)
    )
    return result.rowcount or 0


def receipt_login(session: Session, settings: Settings, *, receipt: str) -> tuple[str, Report]:
    """Open a reporter session for a receipt; return (cookie token, report).

    Every failure (malformed, unknown, not opening) gets the same message. Every attempt is
    charged to one installation-wide budget (committed) before any key derivation runs, and
    given back when the receipt is right; when the budget is spent, attempts are refused
    without deriving anything. The caller commits the session.
    """
    if not _charge_receipt_budget(session):
        raise ReportingError(
            _("Too many receipts were tried just now. Wait a minute and try again."),
            status_code=429,
        )
    inst = installation(session, settings)
    report = None
    key = None
    try:
        lookup = crypto.receipt_lookup(receipt, inst.receipt_salt, params=_lookup_params(inst))
        report = session.exec(select(Report).where(Report.receipt_lookup == lookup)).first()
        if report is not None and report.reporter_access_ended_on is not None:
            # The lookup matched, so this is the real receipt: say why it opens nothing.
            _refund_receipt_budget(session)
            session.commit()
            raise ReportingError(
                _(
                    "Access to this report with its receipt ended on %(day)s, after a long "
                    "time without activity on a closed case.",
                    day=report.reporter_access_ended_on.isoformat(),
                ),
                status_code=410,
                field="receipt",
            )
        if report is not None:
            key = crypto.receipt_key(receipt, report.receipt_salt, params=_receipt_params(report))
            _open_reporter_wrap(report, key)
    except (ValueError, crypto.DecryptionError):
        report = None
    if report is None or key is None:
        raise ReportingError(
            _("This receipt was not recognised. Check it and try again."),
            status_code=401,
            field="receipt",
        )
    # Written only now, after the two key derivations: on SQLite the first write takes the
    # writer queue, which other requests would otherwise wait on while the receipt is derived.
    _refund_receipt_budget(session)
    token = secrets.token_urlsafe(32)
    token_sha = hashlib.sha256(token.encode()).hexdigest()
    ends = int(_clock()) + REPORTER_SESSION_MINUTES * 60
    session.add(
        ReporterSession(
            token_sha256=token_sha,
            report_id=report.id,
            # The exact end travels with the key, sealed: only the cookie can tell it.
            sealed_key=crypto.encrypt(
                crypto.session_key_from_token(token),
                key + ends.to_bytes(8, "big"),
                aad=_aad("reporter-session", token_sha),
            ),
            expires_on=datetime.fromtimestamp(ends, UTC).date(),
        )
    )
    # Day precision, like every report date: the inactivity clock of retention.
    report.last_reporter_activity_on = local_today(settings)
    session.add(report)
    return token, report


def _receipt_params(report: Report) -> crypto.KdfParams:
    return crypto.KdfParams(
        memory_kib=report.receipt_memory_kib,
        iterations=report.receipt_iterations,
        lanes=report.receipt_lanes,
    )


def _open_reporter_wrap(report: Report, receipt_key: bytes) -> bytes:
    return crypto.decrypt(
        receipt_key, report.reporter_wrap, aad=_aad("reporter-wrap", report.reference, "report")
    )


def purge_reporter_sessions(session: Session) -> int:
    """Delete the reporter sessions of past days (each is refused from its exact end on, which
    only its cookie can read); return how many."""
    result = session.exec(
        delete(ReporterSession).where(col(ReporterSession.expires_on) < today_utc())
    )
    return result.rowcount or 0


@dataclass
class CaseAccess:
    """A report opened by someone entitled to it, with the keys they hold."""

    report: Report
    private_key: bytes = field(repr=False)
    identity_private_key: bytes | None = field(default=None, repr=False)
    by_reporter: bool = False
    # The reporter's receipt key (reporter sessions only): it wraps what they file later.
    receipt_key: bytes | None = field(default=None, repr=False)


def reporter_access(session: Session, *, token: str | None) -> CaseAccess:
    """Return the reporter's access for a session cookie, or raise ReporterSessionExpired."""
    if not token:
        raise ReporterSessionExpired
    token_sha = hashlib.sha256(token.encode()).hexdigest()
    row = session.exec(
        select(ReporterSession).where(ReporterSession.token_sha256 == token_sha)
    ).first()
    if row is None:
        raise ReporterSessionExpired
    try:
        sealed = crypto.decrypt(
            crypto.session_key_from_token(token),
            row.sealed_key,
            aad=_aad("reporter-session", token_sha),
        )
    except (crypto.DecryptionError, ValueError):
        raise ReporterSessionExpired from None
    key, ends = sealed[:-8], int.from_bytes(sealed[-8:], "big")
    if len(sealed) != 40 or ends <= _clock():
        session.delete(row)
        session.commit()
        raise ReporterSessionExpired
    report = session.get(Report, row.report_id)
    try:
        private = _open_reporter_wrap(report, key)
        identity = (
            crypto.decrypt(
                key,
                report.reporter_identity_wrap,
                aad=_aad("reporter-wrap", report.reference, "identity"),
            )
            if report.reporter_identity_wrap
            else None
        )
    except (crypto.DecryptionError, ValueError):
        raise ReporterSessionExpired from None
    return CaseAccess(report, private, identity, by_reporter=True, receipt_key=key)


def end_reporter_session(session: Session, *, token: str | None) -> None:
    """Delete the reporter's session row (sign-out)."""
    if token:
        token_sha = hashlib.sha256(token.encode()).hexdigest()
        session.exec(delete(ReporterSession).where(ReporterSession.token_sha256 == token_sha))


# --- reading a case ---------------------------------------------------------------------------


@dataclass
class AttachmentView:
    uid: str
    name: str
    content_type: str
    size: int
    sha256: str


@dataclass
class TimelineEntry:
    uid: str
    kind: ItemKind
    created_on: date
    by_reporter: bool
    author: User | None
    content: dict[str, Any] | None  # None: sealed to a key this reader does not hold
    reply_to_uid: str | None
    attachments: list[AttachmentView]


class TamperedCase(ReportingError):
    def __init__(self) -> None:
        super().__init__(
            _(
                "Part of this case could not be decrypted: it was altered or damaged. Nothing "
                "was changed; tell the integrity committee."
            ),
            status_code=409,
        )


def _open_item(access: CaseAccess, item: ReportItem) -> dict[str, Any] | None:
    kind = ItemKind(item.kind)
    if kind is ItemKind.identity:
        if access.identity_private_key is None:
            return None
        key = access.identity_private_key
    else:
        key = access.private_key
    try:
        plain = crypto.open_sealed(
            key, item.sealed, aad=_aad("item", access.report.reference, kind.value, item.uid)
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    return json.loads(plain)


def _open_attachment_meta(access: CaseAccess, row: ReportAttachment) -> dict[str, Any]:
    try:
        plain = crypto.open_sealed(
            access.private_key,
            row.sealed_meta,
            aad=_aad("attachment-meta", access.report.reference, row.item_uid, row.uid),
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    return json.loads(plain)


def timeline(session: Session, *, access: CaseAccess) -> list[TimelineEntry]:
    """Return the case's items decrypted, oldest first (notes left out for the reporter)."""
    items = session.exec(
        select(ReportItem)
        .where(ReportItem.report_id == access.report.id)
        .order_by(col(ReportItem.id))
    ).all()
    files = session.exec(
        select(ReportAttachment)
        .where(ReportAttachment.report_id == access.report.id)
        .order_by(col(ReportAttachment.id))
    ).all()
    by_item: dict[str, list[AttachmentView]] = {}
    file_order: dict[str, tuple[int, int]] = {}
    authors = {
        u.id: u
        for u in session.exec(
            select(User).where(col(User.id).in_({i.author_id for i in items if i.author_id}))
        )
    }
    visible_items = [
        i for i in items if not access.by_reporter or ItemKind(i.kind) in REPORTER_VISIBLE_KINDS
    ]
    visible_uids = {i.uid for i in visible_items}
    for row in files:
        if row.item_uid not in visible_uids:
            continue
        meta = _open_attachment_meta(access, row)
        file_order[row.uid] = sealed_order(meta, row.id)
        by_item.setdefault(row.item_uid, []).append(
            AttachmentView(row.uid, meta["name"], meta["type"], meta["size"], meta["sha256"])
        )
    ordered = []
    for item in visible_items:
        kind = ItemKind(item.kind)
        content = _open_item(access, item)
        if kind is ItemKind.submission:
            place = (1, 0)
        elif kind is ItemKind.identity:
            place = (1, 1)  # filed with the submission (sealed to a key not every reader has)
        else:
            place = sealed_order(content or {}, item.id)
        entry = TimelineEntry(
            uid=item.uid,
            kind=kind,
            created_on=item.created_on,
            by_reporter=kind in REPORTER_KINDS,
            author=None if access.by_reporter else authors.get(item.author_id),
            content=content,
            reply_to_uid=item.reply_to_uid,
            attachments=sorted(by_item.get(item.uid, []), key=lambda a: file_order[a.uid]),
        )
        ordered.append(((item.created_on, *place, item.uid), entry))
    return [entry for _key, entry in sorted(ordered, key=lambda pair: pair[0])]


def sealed_order(content: dict[str, Any], row_id: int) -> tuple[int, int]:
    """Return the sort key of an item or file: its sealed position, after those written
    before positions were sealed (ordered by their then sequential ids)."""
    position = content.get("position")
    return (1, position) if isinstance(position, int) else (0, row_id)


def read_attachment(
    session: Session, settings: Settings, *, access: CaseAccess, uid: str
) -> tuple[AttachmentView, bytes]:
    """Return an attachment's description and its decrypted bytes (authenticated whole)."""
    row = session.exec(
        select(ReportAttachment).where(
            ReportAttachment.uid == uid, ReportAttachment.report_id == access.report.id
        )
    ).first()
    if row is None:
        raise ReportingError(_("This file does not exist."), status_code=404)
    if access.by_reporter:
        item = session.exec(select(ReportItem).where(ReportItem.uid == row.item_uid)).first()
        if item is None or ItemKind(item.kind) not in REPORTER_VISIBLE_KINDS:
            raise ReportingError(_("This file does not exist."), status_code=404)
    meta = _open_attachment_meta(access, row)
    try:
        data = attachments.load(
            settings.attachments_dir,
            uid,
            key=base64.b64decode(meta["key"]),
            aad=_aad("attachment", access.report.reference, uid),
        )
    except FileNotFoundError:
        raise ReportingError(
            _("This file is missing from the store. Tell the integrity committee."),
            status_code=410,
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise TamperedCase
    return AttachmentView(uid, meta["name"], meta["type"], meta["size"], meta["sha256"]), data


# --- writing into a case ----------------------------------------------------------------------


def add_item(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    kind: ItemKind,
    text: str,
    author: User | None = None,
    reply_to_uid: str | None = None,
    files: Sequence[Upload] = (),
    today: date | None = None,
) -> ReportItem:
    """Seal a message, question, answer or note (with files) into the case; caller commits.

    Reporters may add messages and answers; staff replies, questions, acknowledgements,
    feedback and notes. Raises ReportingError on empty text or a refused file.
    """
    report = access.report
    today = today or local_today(settings)
    if access.by_reporter != (kind in REPORTER_KINDS) or kind in (
        ItemKind.submission,
        ItemKind.identity,
    ):
        raise ReportingError(_("This kind of message cannot be added here."), status_code=403)
    text = text.strip()
    if not text:
        raise ReportingError(_("Write a message."), field="text")
    if len(text) > MAX_TEXT:
        raise ReportingError(
            _("This text is too long (at most %(n)s characters).", n=MAX_TEXT), field="text"
        )
    if len(files) > attachments.MAX_ATTACHMENTS_PER_MESSAGE:
        raise ReportingError(
            _("Attach at most %(n)s files at a time.", n=attachments.MAX_ATTACHMENTS_PER_MESSAGE),
            field="files",
        )
    if report.status == ReportStatus.closed and access.by_reporter:
        raise ReportingError(
            _("This report is closed. If something new happened, send a new report."),
            status_code=409,
        )
    if report.status == ReportStatus.closed and kind in (
        ItemKind.acknowledgement,
        ItemKind.feedback,
        ItemKind.question,
    ):
        raise ReportingError(
            _("This case is closed: acknowledgements, feedback and questions are over."),
            status_code=409,
        )
    if reply_to_uid is not None:
        question = session.exec(
            select(ReportItem).where(
                ReportItem.uid == reply_to_uid,
                ReportItem.report_id == report.id,
                ReportItem.kind == ItemKind.question.value,
            )
        ).first()
        if question is None:
            raise ReportingError(_("This question does not exist."), status_code=404)
    cleaned, problems = clean_uploads(files)
    if problems:
        raise ReportingError(" ".join(problems), field="files")
    uid = attachments.new_uid()
    written: list[str] = []
    try:
        summaries = _store_files(
            session, settings, report, item_uid=uid, files=cleaned, written=written
        )
        item = ReportItem(
            uid=uid,
            report_id=report.id,
            kind=kind.value,
            author_id=author.id if author else None,
            reply_to_uid=reply_to_uid,
            created_on=today,
            sealed=_seal_item(
                report,
                kind=kind,
                uid=uid,
                payload={"text": text, "files": summaries},
                position=item_position(session, report),
            ),
        )
        session.add(item)
        before = {"status": report.status}
        if access.by_reporter:
            report.last_reporter_activity_on = today
            report.awaiting_staff = True
        else:
            report.awaiting_staff = False
            if kind is ItemKind.acknowledgement and report.acknowledged_on is None:
                report.acknowledged_on = today
                report.feedback_due_on = deadlines.feedback_due(report.submitted_on, today)
                if report.status == ReportStatus.received:
                    report.status = ReportStatus.acknowledged
            if kind is ItemKind.feedback:
                report.feedback_given_on = report.feedback_given_on or today
        session.add(report)
        session.flush()
        if author is not None:
            audit.record(
                session,
                action=f"report.{kind.value}_added",
                actor=author,
                entity_type="report",
                entity_id=report.reference,
                before=before if before["status"] != report.status else None,
                after={"item": uid, "files": len(summaries), "status": report.status},
            )
    except BaseException:
        discard_files(settings, written)
        raise
    session.info.setdefault("wb_written_files", []).extend(written)
    return item


# --- the investigators' side ------------------------------------------------------------------


@dataclass
class InboxRow:
    report: Report
    channel: ReportChannel
    ack_overdue: bool
    feedback_overdue: bool
    assignee: User | None = None
    tags: list[CaseTag] = field(default_factory=list)


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows: status ("open", "all" or one status), whose cases ("mine",
    "unassigned" or anyone's), one tag, and deadlines ("overdue" or "soon")."""

    status: str = "open"
    assigned: str = ""
    tag_id: int | None = None
    due: str = ""


OPEN_STATUSES = [s.value for s in ReportStatus if s is not ReportStatus.closed]


def is_open():
    """Return the clause: the report is not closed (as an IN list, which an index can serve)."""
    return col(Report.status).in_(OPEN_STATUSES)


def _held_by(user_id: int):
    """Return the clause: reports `user_id` holds the report key of.

    A correlated EXISTS rather than IN (subquery): the database starts from the reports the
    rest of the query narrows down (open ones, a page) and checks the wrap by its unique index,
    instead of walking every wrap a long-serving investigator holds.
    """
    return (
        select(ReportKeyWrap.id)
        .where(
            ReportKeyWrap.report_id == Report.id,
            ReportKeyWrap.key_kind == KeyKind.report.value,
            ReportKeyWrap.user_id == user_id,
        )
        .exists()
    )


def _open_deadline_clauses(today: date, soon: date):
    """Return (ack overdue, feedback overdue, ack due by `soon`, feedback due by `soon`)."""
    is_open_ = is_open()
    no_ack = col(Report.acknowledged_on).is_(None)
    no_feedback = col(Report.feedback_given_on).is_(None)
    return (
        is_open_ & no_ack & (col(Report.ack_due_on) < today),
        is_open_ & no_feedback & (col(Report.feedback_due_on) < today),
        is_open_ & no_ack & (col(Report.ack_due_on) <= soon),
        is_open_ & no_feedback & (col(Report.feedback_due_on) <= soon),
    )


def inbox_page(
    session: Session,
    *,
    user: User,
    filters: InboxFilter = InboxFilter(),
    today: date | None = None,
    page: int = 1,
    per_page: int | None = 50,
) -> tuple[list[InboxRow], int]:
    """Return one page of the reports `user` holds a key to (plain metadata only) and the
    number of matching reports. `per_page=None` returns them all."""
    today = today or today_utc()
    soon = today + timedelta(days=deadlines.DUE_SOON_DAYS)
    ack_late, feedback_late, ack_soon, feedback_soon = _open_deadline_clauses(today, soon)
    conditions = [_held_by(user.id)]
    if filters.status == "open":
        conditions.append(is_open())
    elif filters.status in ReportStatus.__members__:
        conditions.append(Report.status == filters.status)
    if filters.assigned == "mine":
        conditions.append(Report.assignee_id == user.id)
    elif filters.assigned == "unassigned":
        conditions.append(col(Report.assignee_id).is_(None))
    if filters.tag_id is not None:
        conditions.append(
            col(Report.id).in_(
                select(ReportTag.report_id).where(ReportTag.tag_id == filters.tag_id)
            )
        )
    if filters.due == "overdue":
        conditions.append(ack_late | feedback_late)
    elif filters.due == "soon":
        conditions.append(ack_soon | feedback_soon)
    total = session.exec(select(func.count()).select_from(Report).where(*conditions)).one()
    statement = (
        select(Report, ReportChannel)
        .join(ReportChannel, col(ReportChannel.id) == Report.channel_id)
        .where(*conditions)
        .order_by(col(Report.submitted_on).desc(), col(Report.id).desc())
    )
    if per_page is not None:
        statement = statement.offset((max(1, page) - 1) * per_page).limit(per_page)
    found = session.exec(statement).all()
    ids = [report.id for report, _channel in found]
    tags: dict[int, list[CaseTag]] = {}
    if ids:
        for report_id, tag in session.exec(
            select(ReportTag.report_id, CaseTag)
            .join(CaseTag, col(CaseTag.id) == ReportTag.tag_id)
            .where(col(ReportTag.report_id).in_(ids))
            .order_by(col(CaseTag.code))
        ).all():
            tags.setdefault(report_id, []).append(tag)
    assignee_ids = {r.assignee_id for r, _c in found if r.assignee_id is not None}
    assignees = (
        {u.id: u for u in session.exec(select(User).where(col(User.id).in_(assignee_ids)))}
        if assignee_ids
        else {}
    )
    rows = []
    for report, channel in found:
        still_open = report.status != ReportStatus.closed
        rows.append(
            InboxRow(
                report,
                channel,
                ack_overdue=still_open
                and report.acknowledged_on is None
                and report.ack_due_on < today,
                feedback_overdue=still_open
                and report.feedback_given_on is None
                and report.feedback_due_on < today,
                assignee=assignees.get(report.assignee_id),
                tags=tags.get(report.id, []),
            )
        )
    return rows, total


def inbox(
    session: Session, *, user: User, status: str = "open", today: date | None = None
) -> list[InboxRow]:
    """Return every report `user` holds a key to, with plain metadata only."""
    rows, _total = inbox_page(
        session, user=user, filters=InboxFilter(status=status), today=today, per_page=None
    )
    return rows


def report_by_reference(session: Session, reference: str) -> Report:
    report = session.exec(select(Report).where(Report.reference == reference.upper())).first()
    if report is None:
        raise ReportingError(_("This report does not exist."), status_code=404)
    return report


def _wrap_of(
    session: Session, report: Report, *, user_id: int | None, key_kind: KeyKind
) -> ReportKeyWrap | None:
    statement = select(ReportKeyWrap).where(
        ReportKeyWrap.report_id == report.id, ReportKeyWrap.key_kind == key_kind.value
    )
    if user_id is None:
        statement = statement.where(ReportKeyWrap.holder_kind == HolderKind.recovery.value)
    else:
        statement = statement.where(ReportKeyWrap.user_id == user_id)
    return session.exec(statement).first()


def _unwrap(report: Report, wrap: ReportKeyWrap, private: bytes) -> bytes:
    holder = f"user:{wrap.user_id}" if wrap.user_id is not None else HolderKind.recovery.value
    try:
        return crypto.unwrap_key(
            private, wrap.wrapped, aad=_aad("wrap", report.reference, wrap.key_kind, holder)
        )
    except crypto.DecryptionError:
        raise TamperedCase from None


def open_case(
    session: Session, *, user: User, holder_private: bytes, reference: str, audit_read: bool = True
) -> CaseAccess:
    """Return the case for a holder, decrypting its keys; every opening is audited.

    One answer, 404, for an unknown reference and for a case the user does not hold (never
    given, excluded by the reporter, handed over, withdrawn): a reference must not be probed.
    """
    report = session.exec(select(Report).where(Report.reference == reference.upper())).first()
    wrap = (
        _wrap_of(session, report, user_id=user.id, key_kind=KeyKind.report)
        if report is not None
        else None
    )
    if report is None or wrap is None:
        raise ReportingError(_("You hold no report with this reference."), status_code=404)
    private = _unwrap(report, wrap, holder_private)
    identity_wrap = _wrap_of(session, report, user_id=user.id, key_kind=KeyKind.identity)
    identity = _unwrap(report, identity_wrap, holder_private) if identity_wrap else None
    if audit_read:
        audit.record(
            session,
            action="report.read",
            actor=user,
            entity_type="report",
            entity_id=report.reference,
        )
    return CaseAccess(report, private, identity)


def holders(session: Session, report: Report) -> list[tuple[ReportKeyWrap, User | None]]:
    """Return who holds the report's key (users and the recovery identity)."""
    rows = session.exec(
        select(ReportKeyWrap, User)
        .join(User, col(User.id) == ReportKeyWrap.user_id, isouter=True)
        .where(ReportKeyWrap.report_id == report.id, ReportKeyWrap.key_kind == KeyKind.report.value)
        .order_by(col(ReportKeyWrap.granted_on), col(User.full_name), col(ReportKeyWrap.id))
    ).all()
    return list(rows)


def grant_candidates(
    session: Session, report: Report, *, barred: set[int] = frozenset()
) -> list[User]:
    """Return investigators who could be given the report (have a key pair, no access yet,
    not `barred`: see `barred_from_case`)."""
    current = {w.user_id for w, _u in holders(session, report) if w.user_id is not None}
    people = [u for u in investigators(session) if u.id not in current | set(barred)]
    keys = holder_keys(session, [u.id for u in people])
    return [u for u in people if u.id in keys]


@dataclass(frozen=True)
class Barred:
    """Who may never hold a report, and why (read from the sealed submission and conflicts)."""

    excluded: frozenset[int]  # the reporter asked that they not receive it
    named: frozenset[int]  # the report names them
    conflicted: frozenset[int]  # they declared a conflict of interest in this case
    interested: frozenset[int] = frozenset()  # the report touches their declared interests

    @property
    def everyone(self) -> set[int]:
        return set(self.excluded | self.named | self.conflicted | self.interested)


def barred_from_case(
    session: Session, access: CaseAccess, *, people: Iterable[User] | None = None
) -> Barred:
    """Return the people who may not hold this report; needs the report key (sealed lists).

    Names and declared interests are those matched at submission (sealed in the report, for
    the channel's own people then) and, matched again now against the decrypted text, those of
    `people` (by default every active investigator): a report that names an investigator of
    another channel, or touches an interest declared after it came in, still keeps them out.
    Both checks use the submission's rules (`names_person`, `interests_touched`).
    """
    item = session.exec(
        select(ReportItem).where(
            ReportItem.report_id == access.report.id,
            ReportItem.kind == ItemKind.submission.value,
        )
    ).first()
    content = (_open_item(access, item) if item is not None else None) or {}
    conflicted = session.exec(
        select(ReportConflict.user_id).where(ReportConflict.report_id == access.report.id)
    ).all()
    texts = [str(content.get(k, "")) for k in ("what", "when", "where", "who", "how_known")]
    named = set(content.get("named_user_ids", []))
    interested = set(content.get("interest_user_ids", []))
    if any(texts):
        people = list(investigators(session) if people is None else people)
        named |= named_in(texts, people)
        interested |= set(interests_touched(session, texts, people))
    return Barred(
        frozenset(content.get("excluded_user_ids", [])),
        frozenset(named),
        frozenset(conflicted),
        frozenset(interested),
    )


def refuse_if_barred(barred: Barred, user: User) -> None:
    """Raise ReportingError (409) if `user` may not hold the report. The message is for the
    colleague who tried; the barred person is never told anything."""
    if user.id in barred.excluded:
        raise ReportingError(
            _("The reporter asked that this person not receive the report."), status_code=409
        )
    if user.id in barred.named:
        raise ReportingError(
            _("The report names this person: they cannot receive it."), status_code=409
        )
    if user.id in barred.conflicted:
        raise ReportingError(
            _("This person declared a conflict of interest in this case."), status_code=409
        )
    if user.id in barred.interested:
        raise ReportingError(
            _("The report touches an interest this person declared: they cannot receive it."),
            status_code=409,
        )


def grant_access(session: Session, *, access: CaseAccess, actor: User, grantee: User) -> None:
    """Re-wrap the report key for another investigator (audited); the caller commits.

    Refused for people the reporter excluded, people the report names, people who declared a
    conflict in the case or an interest the report touches (names and interests matched again
    on the decrypted text: `barred_from_case`), people without the investigator role or a key
    pair, and people who already have access.
    """
    report = access.report
    if Role.investigator not in auth_service.roles_of(session, grantee) or not grantee.is_active:
        raise ReportingError(_("Only active investigators can be given a report."))
    refuse_if_barred(barred_from_case(session, access, people=[grantee]), grantee)
    key = session.get(HolderKey, grantee.id)
    if key is None:
        raise ReportingError(
            _(
                "%(name)s must sign in once before reports can be shared with them.",
                name=grantee.full_name,
            )
        )
    if _wrap_of(session, report, user_id=grantee.id, key_kind=KeyKind.report) is not None:
        raise ReportingError(
            _("%(name)s already has access.", name=grantee.full_name), status_code=409
        )
    _add_wrap(
        session,
        report,
        key_kind=KeyKind.report,
        private=access.private_key,
        user_id=grantee.id,
        public_key=key.public_key,
        granted_by=actor,
    )
    audit.record(
        session,
        action="report.access_granted",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"user_id": grantee.id, "email": grantee.email},
    )


def revoke_access(session: Session, *, report: Report, actor: User, user_id: int) -> None:
    """Delete a holder's wraps of the report (audited). The last person cannot be removed."""
    wrap = _wrap_of(session, report, user_id=user_id, key_kind=KeyKind.report)
    if wrap is None:
        raise ReportingError(_("This person has no access to the report."), status_code=404)
    people = [w for w, _u in holders(session, report) if w.user_id is not None]
    if len(people) <= 1:
        raise ReportingError(
            _("The last investigator of a report cannot be removed: give it to someone first."),
            status_code=409,
        )
    session.exec(
        delete(ReportKeyWrap).where(
            ReportKeyWrap.report_id == report.id, ReportKeyWrap.user_id == user_id
        )
    )
    if report.assignee_id == user_id:
        report.assignee_id = None
        session.add(report)
    subject = session.get(User, user_id)
    audit.record(
        session,
        action="report.access_revoked",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"user_id": user_id, "email": subject.email if subject else ""},
    )


# --- the reporter's identity ------------------------------------------------------------------


def has_identity(report: Report) -> bool:
    return report.identity_public_key is not None


def request_identity(
    session: Session, *, access: CaseAccess, actor: User, reason: str
) -> IdentityRequest:
    """Ask the protection officers to release the reporter's identity (reasoned, audited)."""
    report = access.report
    if not has_identity(report):
        raise ReportingError(_("The reporter did not give their identity."), status_code=409)
    if access.identity_private_key is not None:
        raise ReportingError(_("You can already read the reporter's identity."), status_code=409)
    reason = reason.strip()
    if len(reason) < 20:
        raise ReportingError(
            _("Explain why the investigation needs the reporter's identity."), field="reason"
        )
    pending = session.exec(
        select(IdentityRequest).where(
            IdentityRequest.report_id == report.id,
            IdentityRequest.requested_by_id == actor.id,
            IdentityRequest.status == IdentityRequestStatus.pending.value,
        )
    ).first()
    if pending is not None:
        raise ReportingError(_("Your request is already waiting for a decision."), status_code=409)
    row = IdentityRequest(
        report_id=report.id,
        requested_by_id=actor.id,
        reason_sealed=b"",
    )
    session.add(row)
    session.flush()
    row.reason_sealed = crypto.seal(
        report.identity_public_key,
        reason.encode(),
        aad=_aad("identity-request", report.reference, row.id),
    )
    session.add(row)
    audit.record(
        session,
        action="report.identity_requested",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"request": row.id},
    )
    return row


@dataclass
class IdentityRequestView:
    request: IdentityRequest
    report: Report
    requester: User
    reason: str | None


def identity_requests(
    session: Session, *, officer: User, holder_private: bytes, pending_only: bool = True
) -> list[IdentityRequestView]:
    """Return identity requests on reports whose identity key `officer` holds, reasons opened."""
    statement = (
        select(IdentityRequest, Report, User)
        .join(Report, col(Report.id) == IdentityRequest.report_id)
        .join(User, col(User.id) == IdentityRequest.requested_by_id)
        .order_by(col(IdentityRequest.id).desc())
    )
    if pending_only:
        statement = statement.where(IdentityRequest.status == IdentityRequestStatus.pending.value)
    views = []
    for request, report, requester in session.exec(statement).all():
        wrap = _wrap_of(session, report, user_id=officer.id, key_kind=KeyKind.identity)
        if wrap is None:
            continue
        identity_private = _unwrap(report, wrap, holder_private)
        try:
            reason = crypto.open_sealed(
                identity_private,
                request.reason_sealed,
                aad=_aad("identity-request", report.reference, request.id),
            ).decode()
        except crypto.DecryptionError:
            raise TamperedCase from None
        views.append(IdentityRequestView(request, report, requester, reason))
    return views


def _identity_request_held(
    session: Session, *, officer: User, request_id: int
) -> tuple[IdentityRequest, Report, ReportKeyWrap]:
    """Return a request on a report whose identity key `officer` holds, with the report and
    the officer's wrap; 404 for any other (an officer without the key is not told it exists)."""
    request = session.get(IdentityRequest, request_id)
    report = session.get(Report, request.report_id) if request is not None else None
    wrap = (
        _wrap_of(session, report, user_id=officer.id, key_kind=KeyKind.identity)
        if report is not None
        else None
    )
    if request is None or report is None or wrap is None:
        raise ReportingError(_("This request does not exist."), status_code=404)
    return request, report, wrap


def decide_identity_request(
    session: Session,
    *,
    officer: User,
    holder_private: bytes,
    request_id: int,
    approve: bool,
    note: str,
    defer_notice: str = "",
    today: date | None = None,
) -> IdentityRequest:
    """Approve (re-wrap the identity key for the requester) or refuse; audited, caller commits.

    The reporter is told through their case messages, with the reasons (EU Directive
    2019/1937, Art. 16(2)-(3)) — unless, on an approval, telling them now would jeopardise the
    investigation: `defer_notice` then gives why, and `notify_reporter` tells them later.
    """
    request, report, wrap = _identity_request_held(session, officer=officer, request_id=request_id)
    if request.requested_by_id == officer.id:
        raise ReportingError(_("You cannot decide your own request."), status_code=403)
    if request.status != IdentityRequestStatus.pending.value:
        raise ReportingError(_("This request was already decided."), status_code=409)
    note = note.strip()
    if not note:
        raise ReportingError(_("Give the reason for your decision."), field="note")
    defer_notice = defer_notice.strip()
    if defer_notice and not approve:
        raise ReportingError(
            _("Only the notice of an approval can wait; a refusal is told at once."),
            field="defer_notice",
        )
    identity_private = _unwrap(report, wrap, holder_private)
    if approve:
        requester_key = session.get(HolderKey, request.requested_by_id)
        if requester_key is None:
            raise ReportingError(_("The requester has no key pair."), status_code=409)
        if (
            _wrap_of(session, report, user_id=request.requested_by_id, key_kind=KeyKind.report)
            is None
        ):
            raise ReportingError(
                _("The requester no longer has access to the report."), status_code=409
            )
        _add_wrap(
            session,
            report,
            key_kind=KeyKind.identity,
            private=identity_private,
            user_id=request.requested_by_id,
            public_key=requester_key.public_key,
            granted_by=officer,
        )
    request.status = (
        IdentityRequestStatus.approved.value if approve else IdentityRequestStatus.refused.value
    )
    request.decided_by_id = officer.id
    request.decided_on = today or today_utc()
    request.decision_sealed = crypto.seal(
        report.identity_public_key,
        canonical_json({"note": note, "defer_notice": defer_notice}),
        aad=_aad("identity-decision", report.reference, request.id),
    )
    session.add(request)
    audit.record(
        session,
        action="report.identity_released" if approve else "report.identity_refused",
        actor=officer,
        entity_type="report",
        entity_id=report.reference,
        after={
            "request": request.id,
            "requester_id": request.requested_by_id,
            "reporter_told": not defer_notice,
        },
    )
    if not defer_notice:
        _tell_reporter_about_identity(
            session, request=request, report=report, officer=officer, note=note
        )
    return request


def _tell_reporter_about_identity(
    session: Session, *, request: IdentityRequest, report: Report, officer: User, note: str
) -> ReportItem:
    """Seal the notice of an identity decision into the case, for the reporter to read."""
    uid = attachments.new_uid()
    approved = request.status == IdentityRequestStatus.approved.value
    item = ReportItem(
        uid=uid,
        report_id=report.id,
        kind=ItemKind.identity_notice.value,
        author_id=officer.id,
        created_on=request.decided_on or today_utc(),
        sealed=_seal_item(
            report,
            kind=ItemKind.identity_notice,
            uid=uid,
            # Rendered in the reader's language from `decision`; `text` is for other readers.
            payload={
                "decision": "approved" if approved else "refused",
                "decided_on": (request.decided_on or today_utc()).isoformat(),
                "reason": note,
                "text": note,
            },
            position=item_position(session, report),
        ),
    )
    session.add(item)
    request.reporter_told_on = today_utc()
    session.add(request)
    audit.record(
        session,
        action="report.reporter_told_of_identity_decision",
        actor=officer,
        entity_type="report",
        entity_id=report.reference,
        after={"request": request.id, "item": uid},
    )
    return item


def notify_reporter(
    session: Session, *, officer: User, holder_private: bytes, request_id: int
) -> IdentityRequest:
    """Tell the reporter of an approval whose notice was deferred (audited, caller commits)."""
    request, report, wrap = _identity_request_held(session, officer=officer, request_id=request_id)
    if request.status == IdentityRequestStatus.pending.value or request.reporter_told_on:
        raise ReportingError(_("There is no notice waiting to be sent."), status_code=409)
    identity_private = _unwrap(report, wrap, holder_private)
    try:
        plain = crypto.open_sealed(
            identity_private,
            request.decision_sealed,
            aad=_aad("identity-decision", report.reference, request.id),
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    try:
        note = json.loads(plain)["note"]
    except (ValueError, KeyError, TypeError):
        note = plain.decode()  # decided before notices existed: the sealed note alone
    _tell_reporter_about_identity(
        session, request=request, report=report, officer=officer, note=note
    )
    return request


def identity_notices_waiting(
    session: Session, *, officer: User
) -> list[tuple[IdentityRequest, Report]]:
    """Return decided requests whose reporter was not told yet, on reports `officer` holds."""
    rows = session.exec(
        select(IdentityRequest, Report)
        .join(Report, col(Report.id) == IdentityRequest.report_id)
        .join(
            ReportKeyWrap,
            (col(ReportKeyWrap.report_id) == Report.id)
            & (col(ReportKeyWrap.user_id) == officer.id)
            & (col(ReportKeyWrap.key_kind) == KeyKind.identity.value),
        )
        .where(
            IdentityRequest.status != IdentityRequestStatus.pending.value,
            col(IdentityRequest.reporter_told_on).is_(None),
        )
        .order_by(col(IdentityRequest.id))
    ).all()
    return list(rows)


# --- recovery ---------------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    reports: int = 0
    identities: int = 0
    already: int = 0
    # Reports the person may not hold (excluded, named, conflicted, interest touched): not
    # restored to them, and not said which or why.
    withheld: int = 0


def restore_access(
    session: Session,
    *,
    passphrase: str,
    to_user: User,
    references: Sequence[str] = (),
    include_identities: bool = False,
) -> RestoreSummary:
    """Re-wrap reports' keys from the recovery identity to `to_user` (audited per report).

    For when every holder lost their password. `to_user` must be an active investigator (or,
    for identities, a protection officer) who has signed in once, so they have a key pair.
    Reports `to_user` may not hold (`barred_from_case`) are skipped and only counted.
    """
    recovery_private = unlock_recovery(session, passphrase=passphrase)
    roles = auth_service.roles_of(session, to_user)
    if not to_user.is_active or not roles & HOLDER_ROLES:
        raise ReportingError(
            _("Access can only be restored to an investigator or protection officer.")
        )
    key = session.get(HolderKey, to_user.id)
    if key is None:
        raise ReportingError(
            _(
                "%(name)s must sign in once before access can be restored to them.",
                name=to_user.full_name,
            )
        )
    statement = select(Report).order_by(col(Report.id))
    if references:
        statement = statement.where(col(Report.reference).in_([r.upper() for r in references]))
    summary = RestoreSummary()
    kinds = [KeyKind.report] if Role.investigator in roles else []
    if include_identities and Role.protection_officer in roles:
        kinds.append(KeyKind.identity)
    if not kinds:
        raise ReportingError(_("Identities can only be restored to a protection officer."))
    for report in session.exec(statement).all():
        report_wrap = _wrap_of(session, report, user_id=None, key_kind=KeyKind.report)
        if report_wrap is not None:
            # The same rules as a grant, on the decrypted submission.
            access = CaseAccess(report, _unwrap(report, report_wrap, recovery_private))
            if to_user.id in barred_from_case(session, access, people=[to_user]).everyone:
                summary.withheld += 1
                continue
        for kind in kinds:
            recovery_wrap = _wrap_of(session, report, user_id=None, key_kind=kind)
            if recovery_wrap is None:
                continue
            if _wrap_of(session, report, user_id=to_user.id, key_kind=kind) is not None:
                summary.already += 1
                continue
            private = _unwrap(report, recovery_wrap, recovery_private)
            _add_wrap(
                session,
                report,
                key_kind=kind,
                private=private,
                user_id=to_user.id,
                public_key=key.public_key,
            )
            if kind is KeyKind.report:
                summary.reports += 1
            else:
                summary.identities += 1
            audit.record(
                session,
                action="report.access_restored",
                actor="recovery",
                entity_type="report",
                entity_id=report.reference,
                after={"user_id": to_user.id, "email": to_user.email, "key": kind.value},
            )
    return summary


# --- dashboard --------------------------------------------------------------------------------


@dataclass
class InboxCounts:
    open: int
    new: int
    awaiting_reply: int
    ack_overdue: int
    feedback_due_soon: int
    feedback_overdue: int
    due: list[Report]


def inbox_counts(session: Session, *, user: User, today: date | None = None) -> InboxCounts:
    """Return counts of the user's open reports and the deadlines due within two weeks.

    Counted by the database in one query, and the nearest deadlines in a second one: it
    stays fast with tens of thousands of cases.
    """
    today = today or today_utc()
    soon = today + timedelta(days=deadlines.DUE_SOON_DAYS)
    ack_late, feedback_late, ack_soon, feedback_soon = _open_deadline_clauses(today, soon)
    held_open = (is_open(), _held_by(user.id))
    counts = session.exec(
        select(
            func.count(),
            func.count().filter(Report.status == ReportStatus.received.value),
            func.count().filter(col(Report.awaiting_staff).is_(True)),
            func.count().filter(ack_late),
            func.count().filter(feedback_soon & (col(Report.feedback_due_on) >= today)),
            func.count().filter(feedback_late),
        ).where(*held_open)
    ).one()
    next_due = case(
        (col(Report.acknowledged_on).is_(None), col(Report.ack_due_on)),
        else_=col(Report.feedback_due_on),
    )
    due = session.exec(
        select(Report)
        .where(*held_open, ack_soon | feedback_soon)
        .order_by(next_due, col(Report.id))
        .limit(8)
    ).all()
    return InboxCounts(*(int(n or 0) for n in counts), due=list(due))


def statistics(session: Session, *, threshold: int = 5) -> list[dict[str, Any]]:
    """Return report counts by channel and status; counts below `threshold` are suppressed."""
    rows = session.exec(
        select(ReportChannel, Report.status, func.count())
        .join(Report, col(Report.channel_id) == ReportChannel.id)
        .group_by(col(ReportChannel.id), col(Report.status))
    ).all()
    return [
        {"channel": channel, "status": status, "count": count if count >= threshold else None}
        for channel, status, count in rows
    ]
