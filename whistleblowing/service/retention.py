"""Retention: deleting closed cases and their files once their time is up, the extensions and
legal holds that keep a case longer, and the list of what is due for deletion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from backend.web import format_date
from whistleblowing import attachments, deadlines
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    CaseReminder,
    IdentityRequest,
    KeyKind,
    Notification,
    Report,
    ReportAttachment,
    ReportChannel,
    ReportConflict,
    ReporterSession,
    ReportItem,
    ReportKeyWrap,
    ReportLink,
    ReportOutcome,
    ReportPriorityOverride,
    ReportStatus,
    ReportTag,
    RetentionHold,
    RetentionHoldKind,
)
from whistleblowing.service.common import (
    CaseAccess,
    ReportingError,
    _aad,
    canonical_json,
    open_sealed_json,
)

# --- retention --------------------------------------------------------------------------------

# Months a closed case is kept, by outcome (from its closing day). Chosen to outlast the time
# in which the findings can still be challenged or acted on; set MERITO_CASE_RETENTION_MONTHS
# (JSON, e.g. {"substantiated": 120}) to follow the institute's records schedule.
DEFAULT_RETENTION_MONTHS: dict[str, int] = {
    ReportOutcome.substantiated.value: 60,
    ReportOutcome.partly_substantiated.value: 60,
    ReportOutcome.unsubstantiated.value: 24,
    ReportOutcome.referred.value: 36,
    ReportOutcome.outside_scope.value: 12,
    ReportOutcome.bad_faith.value: 36,
}


def retention_months(settings: Settings) -> dict[str, int]:
    """Return the retention period of each outcome, in months (settings override defaults)."""
    merged = dict(DEFAULT_RETENTION_MONTHS)
    for outcome, months in settings.case_retention_months.items():
        if outcome in merged and months >= 1:
            merged[outcome] = int(months)
    return merged


CHUNK = 2000  # ids per statement: well under every backend's limit on bound parameters


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


def delete_cases(session: Session, *, report_ids: Sequence[int], reason: str) -> list[str]:
    """Delete cases with everything sealed in them and every key to them; keep the audit trail
    (one entry per case says what was deleted and why). Return the stored files to remove
    once the transaction has committed."""
    files: list[str] = []
    entries = []
    for chunk in _chunks(report_ids):
        rows = session.exec(
            select(Report.id, Report.reference, Report.status, Report.outcome, Report.closed_on)
            .where(col(Report.id).in_(chunk))
            .order_by(col(Report.id))
        ).all()
        counts: dict[str, dict[int, int]] = {}
        for name, model in (
            ("items", ReportItem),
            ("keys", ReportKeyWrap),
            ("files", ReportAttachment),
        ):
            counts[name] = dict(
                session.exec(
                    select(model.report_id, func.count())
                    .where(col(model.report_id).in_(chunk))
                    .group_by(model.report_id)
                ).all()
            )
        files += session.exec(
            select(ReportAttachment.uid).where(col(ReportAttachment.report_id).in_(chunk))
        ).all()
        # Child tables first, explicitly, so both backends behave the same whatever their
        # cascades; plain DELETEs (no ORM bookkeeping), since nothing here is loaded.
        for model in (
            Notification,
            CaseReminder,
            ReportTag,
            ReportConflict,
            ReporterSession,
            IdentityRequest,
            RetentionHold,
            ReportPriorityOverride,
            ReportAttachment,
            ReportItem,
            ReportKeyWrap,
        ):
            session.execute(
                delete(model)
                .where(col(model.report_id).in_(chunk))
                .execution_options(synchronize_session=False)
            )
        for _report_id, reference, *_rest in rows:
            reporting_notices.forget_report(session, reference)
        session.execute(
            delete(ReportLink)
            .where(
                col(ReportLink.report_id).in_(chunk) | col(ReportLink.linked_report_id).in_(chunk)
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Report)
            .where(col(Report.id).in_(chunk))
            .execution_options(synchronize_session=False)
        )
        for report_id, reference, status, outcome, closed_on in rows:
            entries.append(
                {
                    "action": "report.deleted",
                    "actor": "system",
                    "entity_type": "report",
                    "entity_id": reference,
                    "before": {
                        "status": status,
                        "outcome": outcome,
                        "closed_on": closed_on,
                        **{name: counts[name].get(report_id, 0) for name in counts},
                    },
                    "after": {"reason": reason},
                }
            )
    audit.record_many(session, entries)
    return files


@dataclass
class RetentionRun:
    deleted: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    access_ended: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.deleted)} cases deleted ({len(self.files)} files), reporter access "
            f"ended on {len(self.access_ended)}"
        )


# At most this many cases are deleted, and this many reporters' access ended, per run: a
# backlog (retention switched on over years of cases) is worked off over a few hourly runs in
# short transactions, instead of one long one that would hold SQLite's write lock.
RETENTION_BATCH = 2000
ACCESS_BATCH = 5000


def apply_retention(session: Session, settings: Settings, *, today: date) -> RetentionRun:
    """Delete closed cases past their retention period (files and keys with them) and end the
    reporter's access to closed cases left untouched for `reporter_access_months`, oldest
    first, at most RETENTION_BATCH and ACCESS_BATCH per run. Audited. The caller commits, then
    removes `files` from the store (`remove_files`)."""
    run = RetentionRun()
    expired: list[tuple[date, int, str]] = []
    for outcome, months in retention_months(settings).items():
        # A generous cut in SQL, the exact calendar rule in Python (month ends clamp).
        rough = today - timedelta(days=28 * months)
        for report_id, reference, closed_on in session.exec(
            select(Report.id, Report.reference, Report.closed_on).where(
                Report.status == ReportStatus.closed.value,
                Report.outcome == outcome,
                col(Report.closed_on) <= rough,
            )
        ).all():
            if deadlines.add_months(closed_on, months) <= today:
                expired.append((closed_on, report_id, reference))
    # Cases under a legal hold or kept longer by an extension are never deleted meanwhile.
    held = kept_until(session, [i for _d, i, _r in expired], today=today)
    expired = [(i, r) for _d, i, r in sorted(expired) if i not in held][:RETENTION_BATCH]
    if expired:
        run.files = delete_cases(session, report_ids=[i for i, _r in expired], reason="retention")
        run.deleted = [reference for _i, reference in expired]
    gone = {i for i, _r in expired}
    months = settings.reporter_access_months
    rough = today - timedelta(days=28 * months)
    ended: list[tuple[int, str, date]] = []
    for report_id, reference, closed_on, active_on in session.exec(
        select(
            Report.id, Report.reference, Report.closed_on, Report.last_reporter_activity_on
        ).where(
            Report.status == ReportStatus.closed.value,
            col(Report.reporter_access_ended_on).is_(None),
            col(Report.closed_on) <= rough,
        )
    ).all():
        last = max(d for d in (closed_on, active_on) if d)
        if deadlines.add_months(last, months) <= today and report_id not in gone:
            ended.append((report_id, reference, last))
    ended = sorted(ended, key=lambda e: (e[2], e[0]))[:ACCESS_BATCH]
    for chunk in _chunks([i for i, _r, _l in ended]):
        # The reporter's wraps are the only way the receipt opens the report: delete them.
        session.execute(
            update(Report)
            .where(col(Report.id).in_(chunk))
            .values(reporter_wrap=b"", reporter_identity_wrap=None, reporter_access_ended_on=today)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(ReporterSession)
            .where(col(ReporterSession.report_id).in_(chunk))
            .execution_options(synchronize_session=False)
        )
    audit.record_many(
        session,
        [
            {
                "action": "report.reporter_access_ended",
                "actor": "system",
                "entity_type": "report",
                "entity_id": reference,
                "after": {"last_activity_on": last, "months": months},
            }
            for _i, reference, last in ended
        ],
    )
    run.access_ended = [reference for _i, reference, _l in ended]
    # The bulk statements went around the session's identity map: what it had loaded is stale.
    session.expire_all()
    return run


def remove_files(settings: Settings, uids: Sequence[str]) -> None:
    """Remove deleted cases' encrypted files from the store (after the commit)."""
    for uid in uids:
        attachments.remove(settings.attachments_dir, uid)


# --- extensions and legal holds -----------------------------------------------------------------

MIN_HOLD_REASON = 10
MAX_HOLD_REASON = 2000
MAX_HOLD_YEARS = 10


def deletion_day(report: Report, settings: Settings) -> date | None:
    """Return the day the retention rules delete the case (None while it is open)."""
    if report.status != ReportStatus.closed or report.closed_on is None or not report.outcome:
        return None
    months = retention_months(settings).get(report.outcome)
    return deadlines.add_months(report.closed_on, months) if months else None


def kept_until(session: Session, report_ids: Sequence[int], *, today: date) -> dict[int, date]:
    """Return, for those of the reports an extension or a legal hold keeps on `today` or
    later, the last day it keeps them."""
    kept: dict[int, date] = {}
    for chunk in _chunks(list(report_ids)):
        for report_id, until in session.exec(
            select(RetentionHold.report_id, func.max(RetentionHold.until))
            .where(
                col(RetentionHold.report_id).in_(chunk),
                col(RetentionHold.released_on).is_(None),
                col(RetentionHold.until) >= today,
            )
            .group_by(RetentionHold.report_id)
        ).all():
            kept[report_id] = until
    return kept


@dataclass
class HoldView:
    hold: RetentionHold
    reason: str
    placed_by: User | None
    released_by: User | None
    release_reason: str = ""

    @property
    def active(self) -> bool:
        return self.hold.released_on is None


def _hold_aad(report: Report, hold_id: int) -> bytes:
    return _aad("retention-hold", report.reference, hold_id)


def holds_of(session: Session, *, access: CaseAccess) -> list[HoldView]:
    """Return the case's extensions and legal holds, newest first, reasons opened."""
    rows = session.exec(
        select(RetentionHold)
        .where(RetentionHold.report_id == access.report.id)
        .order_by(col(RetentionHold.placed_on).desc(), col(RetentionHold.id).desc())
    ).all()
    views = []
    for row in rows:
        reasons = open_sealed_json(
            access.private_key, row.reason_sealed, aad=_hold_aad(access.report, row.id)
        )
        views.append(
            HoldView(
                row,
                reasons.get("placed", ""),
                session.get(User, row.placed_by_id) if row.placed_by_id else None,
                session.get(User, row.released_by_id) if row.released_by_id else None,
                reasons.get("released", ""),
            )
        )
    return views


def _seal_reasons(report: Report, hold_id: int, reasons: dict[str, str]) -> bytes:
    return crypto.seal(report.public_key, canonical_json(reasons), aad=_hold_aad(report, hold_id))


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_HOLD_REASON:
        raise ReportingError(
            _("Give a reason of at least %(n)s characters.", n=MIN_HOLD_REASON),
            field="hold_reason",
        )
    if len(reason) > MAX_HOLD_REASON:
        raise ReportingError(
            _("This text is too long (at most %(n)s characters).", n=MAX_HOLD_REASON),
            field="hold_reason",
        )
    return reason


def place_hold(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    kind: str,
    until: date | None,
    reason: str,
    today: date,
) -> RetentionHold:
    """Keep the case until `until`: an extension of its retention, or a legal hold (the
    deletion job skips it while either lasts). The reason is sealed to the report; audited
    with the kind and the day. The caller commits."""
    report = access.report
    if kind not in RetentionHoldKind.__members__:
        raise ReportingError(_("Choose an extension or a legal hold."), field="hold_kind")
    if until is None:
        raise ReportingError(_("Enter the day as YYYY-MM-DD."), field="hold_until")
    if until <= today:
        raise ReportingError(_("Choose a day after today."), field="hold_until")
    if until > deadlines.add_months(today, 12 * MAX_HOLD_YEARS):
        raise ReportingError(
            _("Choose a day within %(n)s years.", n=MAX_HOLD_YEARS), field="hold_until"
        )
    rule_day = deletion_day(report, settings)
    if kind == RetentionHoldKind.extension and rule_day is not None and until < rule_day:
        raise ReportingError(
            _(
                "The rules keep this case until %(day)s already: choose a later day.",
                day=format_date(rule_day),
            ),
            field="hold_until",
        )
    reason = _check_reason(reason)
    hold = RetentionHold(
        report_id=report.id,
        kind=kind,
        until=until,
        reason_sealed=b"",
        placed_by_id=actor.id,
        placed_on=today,
    )
    session.add(hold)
    session.flush()
    hold.reason_sealed = _seal_reasons(report, hold.id, {"placed": reason})
    session.add(hold)
    # The reason is sealed (it may say what the case is about); the log keeps kind and day.
    audit.record(
        session,
        action="report.retention_extended"
        if kind == RetentionHoldKind.extension
        else "report.legal_hold_placed",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"deleted_on": rule_day},
        after={"kept_until": until},
    )
    return hold


def release_hold(
    session: Session, *, access: CaseAccess, actor: User, hold_id: int, reason: str, today: date
) -> None:
    """End an extension or a legal hold before its day (audited; the reason given is sealed
    beside the one it was placed with). The caller commits."""
    hold = session.get(RetentionHold, hold_id)
    if hold is None or hold.report_id != access.report.id:
        raise ReportingError(_("This hold does not exist."), status_code=404)
    if hold.released_on is not None or hold.until < today:
        raise ReportingError(_("This hold has already ended."), status_code=409)
    reason = _check_reason(reason)
    report = access.report
    reasons = open_sealed_json(
        access.private_key, hold.reason_sealed, aad=_hold_aad(report, hold.id)
    )
    hold.reason_sealed = _seal_reasons(report, hold.id, {**reasons, "released": reason})
    hold.released_on = today
    hold.released_by_id = actor.id
    session.add(hold)
    audit.record(
        session,
        action="report.legal_hold_released"
        if hold.kind == RetentionHoldKind.legal_hold
        else "report.retention_extension_ended",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"kept_until": hold.until},
        after={"released_on": today},
    )


@dataclass
class DueCase:
    """A closed case (its plain facts) and the day the retention rules delete it (later if
    kept)."""

    report_id: int
    reference: str
    outcome: str
    closed_on: date
    channel: ReportChannel
    rule_day: date
    kept_until: date | None

    @property
    def deleted_on(self) -> date:
        if self.kept_until is not None and self.kept_until >= self.rule_day:
            return self.kept_until + timedelta(days=1)
        return self.rule_day


def due_for_deletion(
    session: Session,
    settings: Settings,
    *,
    today: date,
    within_days: int,
    held_by: int | None = None,
) -> list[DueCase]:
    """Return the closed cases the retention rules delete within `within_days` of `today`
    (cases already past their day too), earliest first, with what keeps them longer.
    `held_by`: only the reports this user holds a key to. Only the few plain columns shown
    are read: a backlog of thousands of cases lists in a fraction of a second."""
    horizon = today + timedelta(days=within_days)
    channels = {c.id: c for c in session.exec(select(ReportChannel)).all()}
    due: list[DueCase] = []
    for outcome, months in retention_months(settings).items():
        # A generous cut in SQL, the exact calendar rule in Python (month ends clamp).
        rough = horizon - timedelta(days=28 * months)
        statement = select(Report.id, Report.reference, Report.closed_on, Report.channel_id).where(
            Report.status == ReportStatus.closed.value,
            Report.outcome == outcome,
            col(Report.closed_on) <= rough,
        )
        if held_by is not None:
            statement = statement.where(
                select(ReportKeyWrap.id)
                .where(
                    ReportKeyWrap.report_id == Report.id,
                    ReportKeyWrap.key_kind == KeyKind.report.value,
                    ReportKeyWrap.user_id == held_by,
                )
                .exists()
            )
        for report_id, reference, closed_on, channel_id in session.exec(statement).all():
            day = deadlines.add_months(closed_on, months)
            if day <= horizon:
                due.append(
                    DueCase(
                        report_id, reference, outcome, closed_on, channels[channel_id], day, None
                    )
                )
    kept = kept_until(session, [d.report_id for d in due], today=today)
    for case in due:
        case.kept_until = kept.get(case.report_id)
    return sorted(due, key=lambda d: (d.deleted_on, d.reference))
