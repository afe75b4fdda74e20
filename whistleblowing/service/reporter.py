"""The receipt login and the reporter's session."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from backend import clock, crypto
from backend.config import Settings
from backend.i18n import _
from whistleblowing.models import (
    Report,
    ReporterSession,
)
from whistleblowing.service import receipts
from whistleblowing.service.common import (
    RECEIPT_BUCKET_CAPACITY,
    RECEIPT_BUCKET_REFILL_PER_SECOND,
    REPORTER_SESSION_MINUTES,
    CaseAccess,
    ReporterSessionExpired,
    ReportingError,
    _aad,
)
from whistleblowing.service.keys import _lookup_params, installation

# --- receipt login and the reporter's session -------------------------------------------------


# The two login budgets (whistleblowing.service.receipts): receipts with a right tag, and
# receipts issued before tags. Wrong receipts cost one attempt each, right ones are given back.
RECEIPT_ATTEMPT_SECONDS = 1.0 / RECEIPT_BUCKET_REFILL_PER_SECOND
LOGIN_BUDGET = receipts.Budget(
    receipts.LOGIN_BUDGET, RECEIPT_BUCKET_CAPACITY, RECEIPT_ATTEMPT_SECONDS
)
LEGACY_BUDGET = receipts.Budget(
    receipts.LEGACY_BUDGET, RECEIPT_BUCKET_CAPACITY, RECEIPT_ATTEMPT_SECONDS
)
RECEIPT_BURST_SECONDS = LOGIN_BUDGET.burst_seconds


def _clock() -> float:
    return clock.now().timestamp()


def forget_receipt_attempts(session: Session) -> int:
    """Set every whole budget's row back to 0 (the periodic job), so the moment of the last
    failed attempt does not stay in the database; return how many rows changed."""
    return receipts.forget_whole_budgets(session)


def _not_recognised() -> ReportingError:
    return ReportingError(
        _("This receipt was not recognised. Check it and try again."),
        status_code=401,
        field="receipt",
    )


def _budget_for(session: Session, settings: Settings, receipt: str) -> receipts.Budget:
    """Return the budget a typed receipt is charged to, or raise the generic refusal at once
    (no database query, no key derivation) when the server cannot have issued it."""
    try:
        parsed = receipts.parse_receipt(receipt)
    except ValueError:
        raise _not_recognised() from None
    if parsed.tag is not None:
        if not receipts.tag_is_right(settings, parsed):
            raise _not_recognised()
        return LOGIN_BUDGET
    if not receipts.legacy_receipts_open(session):
        raise _not_recognised()
    return LEGACY_BUDGET


def receipt_login(session: Session, settings: Settings, *, receipt: str) -> tuple[str, Report]:
    """Open a reporter session for a receipt; return (cookie token, report).

    Every failure (malformed, forged, unknown, not opening) gets the same message. A receipt
    the server cannot have issued (malformed, or a wrong tag) is refused before anything else;
    the others are charged to their installation-wide budget (committed) before any key
    derivation runs, and given back when the receipt is right; when the budget is spent,
    attempts are refused without deriving anything. The caller commits the session.
    """
    budget = _budget_for(session, settings, receipt)
    if not receipts.charge(session, budget):
        raise ReportingError(
            _("Too many receipts were tried just now. Wait a minute and try again."),
            status_code=429,
        )
    parsed = receipts.parse_receipt(receipt)
    receipts.keep_derivation_memory()
    inst = installation(session, settings)
    report = None
    key = None
    try:
        lookup = crypto.receipt_lookup(
            parsed.random_part, inst.receipt_salt, params=_lookup_params(inst)
        )
        report = session.exec(select(Report).where(Report.receipt_lookup == lookup)).first()
        if report is not None and report.reporter_access_ended_on is not None:
            # The lookup matched, so this is the real receipt: say why it opens nothing.
            receipts.refund(session, budget)
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
            key = crypto.receipt_key(
                parsed.random_part, report.receipt_salt, params=_receipt_params(report)
            )
            _open_reporter_wrap(report, key)
    except ReportingError:
        raise
    except (ValueError, crypto.DecryptionError):
        report = None
    if report is None or key is None:
        raise _not_recognised()
    # Written only now, after the two key derivations: on SQLite the first write takes the
    # writer queue, which other requests would otherwise wait on while the receipt is derived.
    receipts.refund(session, budget)
    token = crypto.new_token(32)
    token_sha = crypto.token_digest(token)
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
    report.last_reporter_activity_on = clock.today(settings)
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
        delete(ReporterSession).where(col(ReporterSession.expires_on) < clock.now().date())
    )
    return result.rowcount or 0


def reporter_access(session: Session, *, token: str | None) -> CaseAccess:
    """Return the reporter's access for a session cookie, or raise ReporterSessionExpired."""
    if not token:
        raise ReporterSessionExpired
    token_sha = crypto.token_digest(token)
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
        token_sha = crypto.token_digest(token)
        session.exec(delete(ReporterSession).where(ReporterSession.token_sha256 == token_sha))
