"""Receiving a report: the online form, reports made by telephone or in person, who is kept
out of a report (named people, declared interests) and the receipt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, SQLModel, col, select

from backend import audit, clock, crypto
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings
from backend.i18n import _
from whistleblowing import attachments, deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    RED_FLAGS,
    ChannelQuestionnaire,
    HolderKey,
    IntakeChannel,
    ItemKind,
    KeyKind,
    Report,
    ReportChannel,
    ReportingInstallation,
    ReportItem,
    ReportKeyWrap,
)
from whistleblowing.service import questionnaires, receipts, triage
from whistleblowing.service.channels import channel_recipients, holder_keys
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
from whistleblowing.service.keys import _lookup_params, certificate_for
from whistleblowing.service.sealing import (
    _attachment_rows,
    _new_wrap,
    _seal_item,
    clean_uploads,
    discard_files,
    insert_new_rows,
    keep_with_transaction,
    store_sealed_files,
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


@dataclass
class Vetted:
    """What checking a submission found, for filing it in the same request without asking
    the database again: its channel, the channel's people the report names or whose declared
    interests it touches, who receives it (with their key pairs), and the channel's
    questionnaire with the answers to what it asked."""

    submission: Submission
    channel: ReportChannel
    named: set[int]
    interested: set[int]
    recipients: list[tuple[User, HolderKey]]
    questionnaire: ChannelQuestionnaire | None = None
    answers: dict[str, str] = field(default_factory=dict)


def validate_submission(session: Session, submission: Submission) -> dict[str, str]:
    """Return field -> translated problem for a submission (empty when it can be filed)."""
    return _vet(session, submission)[0]


def _vet(session: Session, submission: Submission) -> tuple[dict[str, str], Vetted | None]:
    """Return the submission's problems by field, and what filing it needs (None when the
    channel is not one a report can go to)."""
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
    vetted = None
    if channel is not None and "channel" not in errors:
        vetted, problem = _vet_readers(session, channel, submission)
        if problem:
            errors["excluded"] = problem
        questionnaire, answers, problems = _questionnaire_of(session, channel, submission)
        vetted.questionnaire, vetted.answers = questionnaire, answers
        errors |= problems
    if not submission.form_token:
        errors["form"] = _("This form has expired. Reload the page and try again.")
    if submission.received_via not in IntakeChannel.__members__:
        errors["received_via"] = _("Choose how the report was received.")
    elif (submission.received_via == IntakeChannel.web) != (submission.entered_by is None):
        errors["received_via"] = _("Only an investigator can enter a report made another way.")
    return errors, vetted


def _vet_readers(
    session: Session, channel: ReportChannel, submission: Submission
) -> tuple[Vetted, str]:
    """Return who would receive the report, and why nobody could ("" when someone can).

    The channel's recipients (else its deputy, then its lead) less those the reporter
    excluded, those the report names and those whose declared interests it touches; and the
    investigator who entered it, unless so barred. Both checks run on the plain text here, in
    memory, before anything is sealed.
    """
    people = _ChannelPeople.of(session, channel)
    named, interested = _kept_out(session, people.everyone, submission)
    excluded = set(submission.excluded_user_ids)
    barred = excluded | named | interested
    recipients = people.receiving(barred)
    entered = submission.entered_by
    if entered is not None and entered.id not in barred:
        # The investigator who took the call already knows the content.
        entered_key = session.get(HolderKey, entered.id)
        if entered_key is not None and all(u.id != entered.id for u, _k in recipients):
            recipients.append((entered, entered_key))
    vetted = Vetted(submission, channel, named, interested, recipients)
    if not people.receiving(excluded):
        return vetted, _(
            "Nobody would receive your report: keep at least one of the channel's "
            "investigators, or choose another channel."
        )
    if not recipients:
        # Told before the receipt, never filed for the recovery key alone: the reporter
        # changes whom they exclude or name, or chooses another channel. The message does
        # not say whose declared interest the text touched.
        return vetted, _(
            "Nobody could read your report: everyone who receives reports about this is "
            "excluded by you, named in your report, or cannot receive it for another "
            "reason. Nothing has been sent. Exclude fewer people, or choose another channel."
        )
    return vetted, ""


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
) -> Vetted:
    """Refuse a submission that cannot be filed, naming every problem at once by field
    (`problems`: those the form's parsing already found); return what filing it needs
    (`submit_report(vetted=...)` in the same request)."""
    errors, vetted = _vet(session, submission)
    errors |= problems or {}
    if errors:
        raise ReportingError(next(iter(errors.values())), errors=errors)
    return vetted


def _kept_out(
    session: Session, people: list[User], submission: Submission
) -> tuple[set[int], set[int]]:
    """Return the channel's `people` the report names, and those whose declared interests it
    touches (checked on the plain text, in memory, before anything is sealed)."""
    texts = [
        submission.what,
        submission.when,
        submission.where,
        submission.who,
        submission.how_known,
    ]
    return named_in(texts, people), set(interests_touched(session, texts, people))


@dataclass
class _ChannelPeople:
    """Who may receive a channel's reports, loaded once: its active recipients (by name), its
    deputy and lead (in that order), and the key pairs of those who have one."""

    recipients: list[User]
    deputy_and_lead: list[User]
    keys: dict[int, HolderKey]

    @classmethod
    def of(cls, session: Session, channel: ReportChannel) -> _ChannelPeople:
        recipients = channel_recipients(session, channel.id)
        ids = (channel.deputy_user_id, channel.lead_user_id)
        deputy_and_lead = [
            user for user in (session.get(User, i) for i in ids if i is not None) if user
        ]
        keys = holder_keys(session, sorted({u.id for u in recipients + deputy_and_lead}))
        return cls(recipients, deputy_and_lead, keys)

    @property
    def everyone(self) -> list[User]:
        """The recipients, lead and deputy (active ones) as `channels.channel_people`."""
        people = {u.id: u for u in self.recipients}
        for user in reversed(self.deputy_and_lead):
            if user.is_active:
                people.setdefault(user.id, user)
        return sorted(people.values(), key=lambda u: u.full_name)

    def receiving(self, barred: set[int]) -> list[tuple[User, HolderKey]]:
        """Return who receives a new report when `barred` may not: the recipients with a key
        pair; when that leaves nobody, the deputy, then the lead (if they may receive it)."""
        keys = self.keys
        chosen = [(u, keys[u.id]) for u in self.recipients if u.id not in barred and u.id in keys]
        if chosen:
            return chosen
        for user in self.deputy_and_lead:
            if user.id in keys and user.id not in barred and user.is_active:
                return [(user, keys[user.id])]
        return []


def _protection_officer_keys(session: Session) -> list[tuple[User, HolderKey]]:
    users = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == User.id)
        .where(UserRole.role == Role.protection_officer.value, col(User.is_active).is_(True))
    ).all()
    keys = holder_keys(session, [u.id for u in users])
    return [(u, keys[u.id]) for u in users if u.id in keys]


def _sealed_item(
    report: Report,
    kind: ItemKind,
    uid: str,
    payload: dict[str, Any],
    today: date,
    **seal: Any,
) -> ReportItem:
    """Return an item of the new report, its payload sealed (`seal`: `_seal_item`'s options)."""
    return ReportItem(
        uid=uid,
        report_id=report.id,
        kind=kind.value,
        created_on=today,
        sealed=_seal_item(report, kind=kind, uid=uid, payload=payload, **seal),
    )


def _wraps_for(
    report: Report,
    key_kind: KeyKind,
    private: bytes,
    holders: list[tuple[User, HolderKey]],
    recovery_public: bytes,
) -> list[ReportKeyWrap]:
    """Return the new report's `key_kind` key wrapped for each holder, then for the recovery
    key."""
    wraps = [
        _new_wrap(
            report, key_kind=key_kind, private=private, user_id=user.id, public_key=key.public_key
        )
        for user, key in holders
    ]
    wraps.append(
        _new_wrap(
            report, key_kind=key_kind, private=private, user_id=None, public_key=recovery_public
        )
    )
    return wraps


# Whether a form was filed already (by its one-time token's digest): built once.
_FILED_FORM = select(Report.id).where(Report.form_token_sha256 == bindparam("form_hash"))


def submit_report(
    session: Session,
    settings: Settings,
    *,
    submission: Submission,
    today: date | None = None,
    vetted: Vetted | None = None,
) -> SubmissionResult:
    """File a report and return it with its receipt (shown once) and signed certificate.

    `vetted`: what `check_submission` returned for this same submission earlier in the
    request (so it is not checked a second time). Raises ReportingError when the channel is
    not ready (no recovery key) or the form was already filed. Files are cleaned before
    anything is written; the caller commits, and on any failure the encrypted files written
    so far are removed again.
    """
    if vetted is None:
        errors, vetted = _vet(session, submission)
        if errors:
            raise ReportingError(next(iter(errors.values())), field=next(iter(errors)))
    elif vetted.submission is not submission:
        raise ValueError("`vetted` is the check of another submission")
    inst = session.get(ReportingInstallation, 1)
    if inst is None or inst.recovery_public is None:
        raise ReportingError(
            _(
                "The reporting channel is not ready to receive reports yet. Please try again "
                "later; the administrators have been told how to finish the installation."
            ),
            status_code=503,
        )
    form_hash = crypto.token_digest(submission.form_token)
    if session.exec(_FILED_FORM, params={"form_hash": form_hash}).first():
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
    today = submission.received_on or today or clock.today(settings)
    reference = new_reference(session, Report.reference, REFERENCE_PREFIX)
    report_pair = crypto.generate_keypair()
    identity_pair = crypto.generate_keypair() if submission.identity.strip() else None
    written: list[str] = []
    try:
        item_uid = attachments.new_uid()
        stored = store_sealed_files(
            settings,
            scope="attachment",
            reference=reference,
            public_key=report_pair.public,
            item_uid=item_uid,
            files=cleaned,
            written=written,
        )
        answers = _sealed_submission(vetted, [entry.summary for entry in stored], today)
        receipt, report = _new_report(
            settings,
            vetted,
            inst,
            reference=reference,
            today=today,
            report_pair=report_pair,
            identity_pair=identity_pair,
            content_sha256=crypto.sha256_hex(canonical_json(answers)),
            form_hash=form_hash,
        )
        session.add(report)
        session.flush()  # the report's id, for the rows below
        rows: list[SQLModel] = [
            *_attachment_rows(report, item_uid=item_uid, stored=stored),
            _sealed_item(report, ItemKind.submission, item_uid, answers, today),
        ]
        if identity_pair is not None:
            rows.append(
                _sealed_item(
                    report,
                    ItemKind.identity,
                    attachments.new_uid(),
                    {"text": submission.identity.strip()},
                    today,
                    public_key=identity_pair.public,
                    position=1,
                )
            )
        rows += _key_wraps(session, vetted, report, inst, report_pair, identity_pair)
        insert_new_rows(session, rows)
        _tell_recipients(session, vetted, report)
        if vetted.named or vetted.interested:
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
                after={"named": len(vetted.named), "declared_interest": len(vetted.interested)},
            )
        certificate = certificate_for(session, settings, report=report)
    except BaseException:
        discard_files(settings, written)
        raise
    # Undo the encrypted files too if the caller's commit fails.
    keep_with_transaction(session, settings, written)
    return SubmissionResult(report, receipt, certificate, vetted.channel)


def _sealed_submission(vetted: Vetted, files: list[dict[str, Any]], today: date) -> dict:
    """Return what the report's submission item seals: the answers, who was kept out, the
    files' summaries and the questionnaire as asked."""
    submission = vetted.submission
    return {
        "channel": vetted.channel.code,
        "what": submission.what.strip(),
        "when": submission.when.strip(),
        "where": submission.where.strip(),
        "who": submission.who.strip(),
        "how_known": submission.how_known.strip(),
        "red_flags": sorted(set(submission.red_flags)),
        "others_know": submission.others_know,
        # Sealed, not plain: who a reporter distrusts could point to who they are.
        "excluded_user_ids": sorted(set(submission.excluded_user_ids)),
        # Investigators the report names, or whose declared interests it touches, never
        # receive it; kept sealed (who is named is itself confidential) and re-checked on
        # every grant.
        "named_user_ids": sorted(vetted.named),
        "interest_user_ids": sorted(vetted.interested),
        "received_via": submission.received_via,
        "entered_by": submission.entered_by.full_name if submission.entered_by else "",
        "files": files,
        # The questions as they were asked, with their answers (sealed like the rest).
        "questionnaire": questionnaires.sealed_answers(vetted.questionnaire, vetted.answers)
        if vetted.questionnaire is not None
        else None,
        "submitted_on": today.isoformat(),
        # Makes the certificate's hash unguessable even for a short, predictable report.
        "nonce": crypto.new_hex(16),
    }


def _new_report(
    settings: Settings,
    vetted: Vetted,
    inst: ReportingInstallation,
    *,
    reference: str,
    today: date,
    report_pair: crypto.KeyPair,
    identity_pair: crypto.KeyPair | None,
    content_sha256: str,
    form_hash: str,
) -> tuple[str, Report]:
    """Return a new receipt and the report row it opens: the receipt's lookup value, and the
    report's (and identity's) private key wrapped under the key derived from it."""
    submission = vetted.submission
    # The keys come from the random part; the receipt given out carries its keyed tag too.
    receipt, random_part = receipts.new_receipt(settings)
    receipt_params = _kdf(settings, crypto.RECEIPT_KEY_KDF)
    receipt_salt = crypto.new_salt()
    receipt_key = crypto.receipt_key(random_part, receipt_salt, params=receipt_params)
    report = Report(
        reference=reference,
        channel_id=vetted.channel.id,
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
        content_sha256=content_sha256,
        form_token_sha256=form_hash,
        red_flag_points=triage.red_flag_points(submission.red_flags),
    )
    if vetted.questionnaire is not None:
        report.questionnaire_version = vetted.questionnaire.version
    return receipt, report


def _key_wraps(
    session: Session,
    vetted: Vetted,
    report: Report,
    inst: ReportingInstallation,
    report_pair: crypto.KeyPair,
    identity_pair: crypto.KeyPair | None,
) -> list[ReportKeyWrap]:
    """Return the new report's key wrapped for its recipients and the recovery key, and the
    reporter's identity key wrapped for the protection officers and the recovery key."""
    wraps = _wraps_for(
        report, KeyKind.report, report_pair.private, vetted.recipients, inst.recovery_public
    )
    if identity_pair is not None:
        officers = _protection_officer_keys(session)
        wraps += _wraps_for(
            report, KeyKind.identity, identity_pair.private, officers, inst.recovery_public
        )
    return wraps


def _tell_recipients(session: Session, vetted: Vetted, report: Report) -> None:
    """Tell the new report's recipients (a contentless notice), not the investigator who
    entered it."""
    entered_by = vetted.submission.entered_by
    told = [user.id for user, _key in vetted.recipients if entered_by is None or user != entered_by]
    reporting_notices.report_received(session, report=report, to=told)


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
