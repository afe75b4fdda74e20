"""Receiving a report: the online form, reports made by telephone or in person, who is kept
out of a report (named people, declared interests) and the receipt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings
from backend.i18n import _
from whistleblowing import attachments, deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    RED_FLAGS,
    HolderKey,
    IntakeChannel,
    ItemKind,
    KeyKind,
    Report,
    ReportChannel,
    ReportItem,
)
from whistleblowing.service import questionnaires, receipts, triage
from whistleblowing.service.channels import channel_people, channel_recipients, holder_keys
from whistleblowing.service.common import (
    MAX_TEXT,
    REFERENCE_PREFIX,
    ReportingError,
    Upload,
    _aad,
    _kdf,
    canonical_json,
    new_reference,
)
from whistleblowing.service.inbox import holder_ids
from whistleblowing.service.interests import interests_touched, named_in
from whistleblowing.service.keys import (
    _lookup_params,
    certificate_for,
    installation,
    recovery_ready,
)
from whistleblowing.service.sealing import (
    _add_wrap,
    _seal_item,
    _store_files,
    clean_uploads,
    discard_files,
    keep_with_transaction,
)


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
    # What was typed for the channel's questionnaire, by question key (questionnaires).
    answers: dict[str, str] = field(default_factory=dict)


@dataclass
class SubmissionResult:
    report: Report
    receipt: str
    certificate: dict[str, Any]
    channel: ReportChannel


OTHERS_KNOW = ("yes", "no", "unsure")


def new_form_token() -> str:
    """Return a one-time token for a report form (stops a re-sent form filing twice)."""
    return crypto.new_token(24)


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
    if channel is not None and "channel" not in errors:
        errors |= _questionnaire_of(session, channel, submission)[2]
    if not submission.form_token:
        errors["form"] = _("This form has expired. Reload the page and try again.")
    if submission.received_via not in IntakeChannel.__members__:
        errors["received_via"] = _("Choose how the report was received.")
    elif (submission.received_via == IntakeChannel.web) != (submission.entered_by is None):
        errors["received_via"] = _("Only an investigator can enter a report made another way.")
    return errors


def _questionnaire_of(session: Session, channel: ReportChannel, submission: Submission):
    """Return (the channel's questionnaire now or None, the answers to what it asked, the
    problems by form field)."""
    questionnaire = questionnaires.current_questionnaire(session, channel.id)
    if questionnaire is None:
        return None, {}, {}
    answers, problems = questionnaires.check_answers(
        questionnaire.questions, submission.answers, channel_id=channel.id
    )
    return questionnaire, answers, problems


def check_submission(
    session: Session, submission: Submission, *, problems: dict[str, str] | None = None
) -> None:
    """Refuse a submission that cannot be filed, naming every problem at once by field
    (`problems`: those the form's parsing already found)."""
    errors = validate_submission(session, submission) | (problems or {})
    if errors:
        raise ReportingError(next(iter(errors.values())), errors=errors)


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


def _protection_officer_keys(session: Session) -> list[tuple[User, HolderKey]]:
    users = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == User.id)
        .where(UserRole.role == Role.protection_officer.value, col(User.is_active).is_(True))
    ).all()
    keys = holder_keys(session, [u.id for u in users])
    return [(u, keys[u.id]) for u in users if u.id in keys]


def _add_sealed_item(
    session: Session,
    report: Report,
    kind: ItemKind,
    uid: str,
    payload: dict[str, Any],
    today: date,
    **seal: Any,
) -> None:
    """Add an item of the new report, its payload sealed (`seal`: `_seal_item`'s options)."""
    session.add(
        ReportItem(
            uid=uid,
            report_id=report.id,
            kind=kind.value,
            created_on=today,
            sealed=_seal_item(report, kind=kind, uid=uid, payload=payload, **seal),
        )
    )


def _wrap_for(
    session: Session,
    report: Report,
    key_kind: KeyKind,
    private: bytes,
    holders: list[tuple[User, HolderKey]],
    recovery_public: bytes,
) -> None:
    """Wrap the new report's `key_kind` key for each holder, then for the recovery key."""
    for user, key in holders:
        _add_wrap(
            session,
            report,
            key_kind=key_kind,
            private=private,
            user_id=user.id,
            public_key=key.public_key,
        )
    _add_wrap(
        session,
        report,
        key_kind=key_kind,
        private=private,
        user_id=None,
        public_key=recovery_public,
    )


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
    form_hash = crypto.token_digest(submission.form_token)
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
    today = submission.received_on or today or clock.today(settings)
    reference = new_reference(session, Report.reference, REFERENCE_PREFIX)
    # The keys come from the random part; the receipt given out carries its keyed tag too.
    receipt, random_part = receipts.new_receipt(settings)
    receipt_params = _kdf(settings, crypto.RECEIPT_KEY_KDF)
    receipt_salt = crypto.new_salt()
    receipt_key = crypto.receipt_key(random_part, receipt_salt, params=receipt_params)
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
            random_part, inst.receipt_salt, params=_lookup_params(inst)
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
        red_flag_points=triage.red_flag_points(submission.red_flags),
    )
    questionnaire, questionnaire_answers, _problems = _questionnaire_of(
        session, channel, submission
    )
    if questionnaire is not None:
        report.questionnaire_version = questionnaire.version
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
            # The questions as they were asked, with their answers (sealed like the rest).
            "questionnaire": questionnaires.sealed_answers(questionnaire, questionnaire_answers)
            if questionnaire is not None
            else None,
            "submitted_on": today.isoformat(),
            # Makes the certificate's hash unguessable even for a short, predictable report.
            "nonce": crypto.new_hex(16),
        }
        report.content_sha256 = crypto.sha256_hex(canonical_json(answers))
        _add_sealed_item(session, report, ItemKind.submission, item_uid, answers, today)
        if identity_pair is not None:
            _add_sealed_item(
                session,
                report,
                ItemKind.identity,
                attachments.new_uid(),
                {"text": submission.identity.strip()},
                today,
                public_key=identity_pair.public,
                position=1,
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
        _wrap_for(
            session, report, KeyKind.report, report_pair.private, recipients, inst.recovery_public
        )
        # The investigators who can read it are told (contentless mail); not one who entered it.
        reporting_notices.report_received(
            session,
            report=report,
            to=[user.id for user, _key in recipients if entered_by is None or user != entered_by],
        )
        if identity_pair is not None:
            officers = _protection_officer_keys(session)
            _wrap_for(
                session,
                report,
                KeyKind.identity,
                identity_pair.private,
                officers,
                inst.recovery_public,
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
    keep_with_transaction(session, settings, written)
    return SubmissionResult(report, receipt, certificate, channel)


# --- oral and other-channel reports -----------------------------------------------------------

MAX_INTAKE_DELAY_DAYS = 30


def enter_report(
    session: Session, settings: Settings, *, actor: User, submission: Submission
) -> SubmissionResult:
    """File a report someone made by telephone, in person, by letter or email, entered by the
    investigator who received it. The deadlines run from the day it was made. Return the
    result with the receipt to give to the reporter (shown once). Audited; caller commits."""
    today = clock.today(settings)
    if submission.received_via == IntakeChannel.web or (
        submission.received_via not in IntakeChannel.__members__
    ):
        raise ReportingError(_("Choose how the report was received."), field="received_via")
    received_on = submission.received_on or today
    if received_on > today:
        raise ReportingError(
            _("The report cannot have been made in the future."), field="received_on"
        )
    if (today - received_on).days > MAX_INTAKE_DELAY_DAYS:
        raise ReportingError(
            _("Enter a report within %(n)s days of receiving it.", n=MAX_INTAKE_DELAY_DAYS),
            field="received_on",
        )
    submission.entered_by = actor
    submission.received_on = received_on
    result = submit_report(session, settings, submission=submission)
    report = result.report
    if actor.id in holder_ids(session, report):
        report.assignee_id = actor.id
        session.add(report)
    audit.record(
        session,
        action="report.entered_for_reporter",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"received_via": report.received_via, "received_on": received_on},
    )
    return result
