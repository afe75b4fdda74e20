"""Flood protection for new reports, without JavaScript, and the reporter's meeting request.

While new reports arrive within the configured rate (`Settings.report_submissions_per_hour`,
a global budget in `receipt_throttle` row 3, whistleblowing.service.receipts), the form is
accepted as it is. Beyond it, the form asks a simple question written as text (the sum of two
small numbers), checked here against a keyed token: HMAC under a key derived from the
installation's secret key over the two numbers, an expiry and the form's one-time token, so an
answer cannot be reused for another report (each form token files one report at most) and no
third party is involved. Reports accepted while the budget is spent are held: their statutory
clocks start only when an investigator confirms they are genuine (`confirm_genuine`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from backend import audit, clock, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from whistleblowing import deadlines
from whistleblowing.models import MEETING_MODE_LABELS, ItemKind, ReportItem
from whistleblowing.service import receipts
from whistleblowing.service.common import CaseAccess, ReportingError
from whistleblowing.service.intake import Submission, SubmissionResult, Vetted, submit_report
from whistleblowing.service.items import add_item

CHALLENGE_MINUTES = 30
_CHALLENGE_PURPOSE = "wb-report-challenge"


@dataclass(frozen=True)
class Challenge:
    """The question shown on the form and the token that lets the server check the answer."""

    first: int
    second: int
    token: str

    @property
    def question(self) -> str:
        return _("How much is %(a)s plus %(b)s?", a=self.first, b=self.second)


class ChallengeRequired(ReportingError):
    """The form must be sent again with the answer to `challenge` (what was typed is kept)."""

    def __init__(self, challenge: Challenge, *, wrong: bool = False) -> None:
        message = (
            _("That answer is not right. Try this question instead; what you wrote is kept.")
            if wrong
            else _(
                "Many reports are arriving right now. To show that a person is sending this "
                "one, answer the question below; what you wrote is kept."
            )
        )
        super().__init__(message, status_code=422, field="challenge")
        self.challenge = challenge


def submission_budget(settings: Settings) -> receipts.Budget:
    per_hour = settings.report_submissions_per_hour
    return receipts.Budget(receipts.SUBMISSION_BUDGET, float(per_hour), 3600.0 / per_hour)


def _mac(settings: Settings, first: int, second: int, expires: int, form_token: str) -> str:
    key = crypto.installation_key(settings.resolved_secret_key(), _CHALLENGE_PURPOSE)
    return crypto.mac_hex(key, f"{first}|{second}|{expires}|{form_token}", length=32)


def new_challenge(settings: Settings, form_token: str) -> Challenge:
    """Return a fresh question for the form whose one-time token is `form_token`."""
    first, second = crypto.random_below(9) + 1, crypto.random_below(9) + 1
    expires = int(clock.now().timestamp()) + CHALLENGE_MINUTES * 60
    mac = _mac(settings, first, second, expires, form_token)
    return Challenge(first, second, f"{first}.{second}.{expires}.{mac}")


def challenge_passed(settings: Settings, *, form_token: str, token: str, answer: str) -> bool:
    """Return whether `answer` answers the question `token` was made for, on this form, in time."""
    try:
        first_s, second_s, expires_s, mac = token.split(".")
        first, second, expires = int(first_s), int(second_s), int(expires_s)
        given = int(answer.strip())
    except ValueError:
        return False
    return (
        crypto.macs_equal(_mac(settings, first, second, expires, form_token), mac)
        and expires > clock.now().timestamp()
        and given == first + second
    )


def submit_screened(
    session: Session,
    settings: Settings,
    *,
    submission: Submission,
    challenge_token: str = "",
    answer: str = "",
    vetted: Vetted | None = None,
) -> SubmissionResult:
    """File a report from the public form, asking the challenge when reports flood in.

    Within the budget the report is filed as usual. Beyond it, ChallengeRequired (nothing
    filed) until the form comes back with a right answer; a report accepted so while the
    budget is still spent is held: its clocks wait for an investigator's confirmation.
    Validate the submission first (check_submission, whose result is `vetted`): a refused
    form costs no budget.
    """
    budget = submission_budget(settings)
    if challenge_token:
        if not challenge_passed(
            settings, form_token=submission.form_token, token=challenge_token, answer=answer
        ):
            raise ChallengeRequired(new_challenge(settings, submission.form_token), wrong=True)
        held = not receipts.charge(session, budget)
    elif receipts.charge(session, budget):
        held = False
    else:
        raise ChallengeRequired(new_challenge(settings, submission.form_token))
    result = submit_report(session, settings, submission=submission, vetted=vetted)
    if held:
        report = result.report
        report.awaiting_confirmation = True
        report.ack_due_on = report.feedback_due_on = deadlines.CLOCK_NOT_STARTED
        session.add(report)
        audit.record_on_day(
            session,
            on=report.submitted_on,
            action="report.held_during_flood",
            actor="reporter",
            entity_type="report",
            entity_id=report.reference,
        )
    return result


def confirm_genuine(session: Session, settings: Settings, *, access: CaseAccess, actor: User):
    """Confirm that a report held during a flood is genuine: its statutory clocks start today
    (the organisation's day). Audited; the caller commits."""
    report = access.report
    if not report.awaiting_confirmation:
        raise ReportingError(_("This report does not wait for confirmation."), status_code=409)
    today = clock.today(settings)
    report.awaiting_confirmation = False
    report.confirmed_on = today
    report.ack_due_on = deadlines.acknowledgement_due(today)
    report.feedback_due_on = deadlines.feedback_due(today)
    session.add(report)
    audit.record(
        session,
        action="report.confirmed_genuine",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"confirmed_on": today, "ack_due_on": report.ack_due_on},
    )


# --- the reporter asks to be heard (Directive 2019/1937, Art. 9(2)) ---------------------------


def request_meeting(
    session: Session, settings: Settings, *, access: CaseAccess, mode: str, text: str
) -> ReportItem:
    """Seal the reporter's request for a meeting or a call into the case, like a message (the
    same key, a kind of its own, counted in the statistics). The caller commits."""
    if mode not in MEETING_MODE_LABELS:
        raise ReportingError(_("Choose how you would like to be heard."), field="meeting_mode")
    if not text.strip():
        raise ReportingError(
            _("Say when you can talk, or how the investigators can reach you."),
            field="meeting_text",
        )
    return add_item(
        session,
        settings,
        access=access,
        kind=ItemKind.meeting_request,
        text=text,
        extra={"meeting_mode": mode},
    )
