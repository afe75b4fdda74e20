"""Retention: deleting closed cases and their files once their time is up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from backend import audit
from backend.config import Settings
from whistleblowing import attachments, deadlines
from whistleblowing.models import (
    CaseReminder,
    IdentityRequest,
    Notification,
    Report,
    ReportAttachment,
    ReportConflict,
    ReporterSession,
    ReportItem,
    ReportKeyWrap,
    ReportLink,
    ReportOutcome,
    ReportStatus,
    ReportTag,
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
            ReportAttachment,
            ReportItem,
            ReportKeyWrap,
        ):
            session.execute(
                delete(model)
                .where(col(model.report_id).in_(chunk))
                .execution_options(synchronize_session=False)
            )
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
    expired = [(i, r) for _d, i, r in sorted(expired)[:RETENTION_BATCH]]
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
