"""Triage: a case's priority, computed from its red flags, its channel and its age, and the
level an investigator may set instead (with a reason, sealed to the report; audited).

The weights (docs/reporting.md, "Triage"):

* each red flag ticked on the form counts 1, 2 or 3 points (`RED_FLAG_WEIGHTS`), at most
  `MAX_FLAG_POINTS` together. Which flags were ticked stays sealed in the report; only their
  weighted sum is kept in clear (`Report.red_flag_points`), as triage metadata;
* the channel adds its `priority_weight` (0 to `MAX_CHANNEL_WEIGHT`, set by administrators);
* an open case adds a point for every `AGE_STEP_DAYS` days since it was received, at most
  `MAX_AGE_POINTS`.

The score gives the level: `urgent` from 12, `high` from 8, `medium` from 4, else `low`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case
from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth.models import User
from backend.i18n import _
from whistleblowing.models import (
    RED_FLAGS,
    ItemKind,
    PriorityLevel,
    Report,
    ReportChannel,
    ReportItem,
    ReportPriorityOverride,
    ReportStatus,
)
from whistleblowing.service.common import (
    CaseAccess,
    ReportingError,
    TamperedCase,
    _aad,
    open_sealed_json,
)

# Flags that point most directly at a corrupt decision or at hiding one weigh 3; those that
# are strong signs but have innocent explanations more often weigh 2; the rest 1.
RED_FLAG_WEIGHTS: dict[str, int] = {
    "favoured_treatment": 3,
    "external_interest": 3,
    "duplicate_invoices": 3,
    "data_manipulation": 3,
    "audit_logs_disabled": 3,
    "supplier_relationship": 2,
    "undeclared_gifts": 2,
    "round_sum_invoices": 2,
    "unusual_invoices": 2,
    "missing_records": 2,
    "incomplete_trail": 2,
    "physical_losses": 2,
}
MAX_FLAG_POINTS = 12
MAX_CHANNEL_WEIGHT = 5
AGE_STEP_DAYS = 15
MAX_AGE_POINTS = 4
# The lowest score of each level, highest first.
LEVEL_FROM: list[tuple[int, PriorityLevel]] = [
    (12, PriorityLevel.urgent),
    (8, PriorityLevel.high),
    (4, PriorityLevel.medium),
    (0, PriorityLevel.low),
]
LEVEL_RANK = {level: rank for rank, level in enumerate(PriorityLevel)}
MIN_OVERRIDE_REASON = 10
MAX_OVERRIDE_REASON = 2000


def red_flag_points(flags: Iterable[str]) -> int:
    """Return the points of the red flags ticked (each counted once, unknown ones not at all),
    at most MAX_FLAG_POINTS."""
    known = {code for code, _label in RED_FLAGS}
    points = sum(RED_FLAG_WEIGHTS.get(flag, 1) for flag in set(flags) if flag in known)
    return min(MAX_FLAG_POINTS, points)


def age_points(submitted_on: date, today: date) -> int:
    """Return the points a case earns by waiting: one per AGE_STEP_DAYS, at most MAX_AGE_POINTS."""
    return max(0, min(MAX_AGE_POINTS, (today - submitted_on).days // AGE_STEP_DAYS))


def level_for(score: int) -> PriorityLevel:
    """Return the priority level of a score."""
    return next(level for lowest, level in LEVEL_FROM if score >= lowest)


@dataclass(frozen=True)
class Priority:
    """A case's priority: the computed score and level and, when an investigator set one, the
    level they chose (which is the one that counts)."""

    flag_points: int
    channel_points: int
    age_points: int
    override: ReportPriorityOverride | None = None
    override_by: User | None = None

    @property
    def score(self) -> int:
        return self.flag_points + self.channel_points + self.age_points

    @property
    def computed(self) -> PriorityLevel:
        return level_for(self.score)

    @property
    def level(self) -> PriorityLevel:
        return PriorityLevel(self.override.level) if self.override else self.computed


def compute_priority(
    report: Report,
    channel: ReportChannel,
    *,
    today: date,
    override: ReportPriorityOverride | None = None,
    override_by: User | None = None,
) -> Priority:
    """Return the report's priority on `today` (a closed case no longer ages)."""
    last_day = (
        report.closed_on if report.status == ReportStatus.closed and report.closed_on else today
    )
    return Priority(
        flag_points=min(MAX_FLAG_POINTS, max(0, report.red_flag_points)),
        channel_points=min(MAX_CHANNEL_WEIGHT, max(0, channel.priority_weight)),
        age_points=age_points(report.submitted_on, last_day),
        override=override,
        override_by=override_by,
    )


def priority_order(today: date) -> list:
    """Return the ORDER BY of an inbox sorted by priority (highest first): open cases first,
    then the level (the investigator's if set), then the score, then the oldest.

    The query must join ReportChannel and outer-join ReportPriorityOverride on the report.
    """
    age = sum(
        case((col(Report.submitted_on) <= today - timedelta(days=AGE_STEP_DAYS * step), 1), else_=0)
        for step in range(1, MAX_AGE_POINTS + 1)
    )
    score = col(Report.red_flag_points) + col(ReportChannel.priority_weight) + age
    computed_rank = case(
        *[(score >= lowest, LEVEL_RANK[level]) for lowest, level in LEVEL_FROM[:-1]],
        else_=LEVEL_RANK[PriorityLevel.low],
    )
    chosen_rank = case(
        *[
            (col(ReportPriorityOverride.level) == level.value, rank)
            for level, rank in LEVEL_RANK.items()
        ],
        else_=computed_rank,
    )
    closed_last = case((col(Report.status) == ReportStatus.closed.value, 1), else_=0)
    return [
        closed_last,
        chosen_rank.desc(),
        score.desc(),
        col(Report.submitted_on),
        col(Report.id),
    ]


def priorities_for(
    session: Session, rows: Sequence[tuple[Report, ReportChannel]], *, today: date
) -> dict[int, Priority]:
    """Return the priority of each (report, channel) by report id (overrides loaded at once)."""
    ids = [report.id for report, _channel in rows]
    overrides = (
        {
            o.report_id: o
            for o in session.exec(
                select(ReportPriorityOverride).where(col(ReportPriorityOverride.report_id).in_(ids))
            )
        }
        if ids
        else {}
    )
    people_ids = {o.set_by_id for o in overrides.values() if o.set_by_id is not None}
    people = (
        {u.id: u for u in session.exec(select(User).where(col(User.id).in_(people_ids)))}
        if people_ids
        else {}
    )
    return {
        report.id: compute_priority(
            report,
            channel,
            today=today,
            override=overrides.get(report.id),
            override_by=people.get(overrides[report.id].set_by_id)
            if report.id in overrides
            else None,
        )
        for report, channel in rows
    }


def _override_aad(report: Report) -> bytes:
    return _aad("priority-override", report.reference)


@dataclass(frozen=True)
class CasePriority:
    """A case's priority as its page shows it, with the override's reason opened."""

    priority: Priority
    reason: str = ""


def case_priority(session: Session, *, access: CaseAccess, today: date) -> CasePriority:
    """Return the opened case's priority and the reason of its override (if any)."""
    report = access.report
    channel = session.get(ReportChannel, report.channel_id)
    priority = priorities_for(session, [(report, channel)], today=today)[report.id]
    reason = ""
    if priority.override is not None:
        try:
            reason = crypto.open_sealed(
                access.private_key, priority.override.reason_sealed, aad=_override_aad(report)
            ).decode()
        except crypto.DecryptionError:
            raise TamperedCase from None
    return CasePriority(priority, reason)


def recount_red_flags(session: Session, *, access: CaseAccess) -> bool:
    """Set the opened report's red flag points from its sealed flags, for reports filed before
    the points were kept; return whether they changed (the caller commits)."""
    report = access.report
    item = session.exec(
        select(ReportItem).where(
            ReportItem.report_id == report.id, ReportItem.kind == ItemKind.submission.value
        )
    ).first()
    if item is None:
        return False
    content = open_sealed_json(
        access.private_key, item.sealed, aad=_aad("item", report.reference, item.kind, item.uid)
    )
    points = red_flag_points(content.get("red_flags", []))
    if report.red_flag_points == points:
        return False
    report.red_flag_points = points
    session.add(report)
    return True


def override_priority(
    session: Session,
    *,
    access: CaseAccess,
    actor: User,
    level: str,
    reason: str,
    today: date,
) -> None:
    """Set the case's priority by hand (`level` "" goes back to the computed one), with a
    reason sealed to the report. Audited with the levels before and after; the caller commits."""
    report = access.report
    reason = reason.strip()
    if level and level not in PriorityLevel.__members__:
        raise ReportingError(_("Choose a priority from the list."), field="priority_level")
    if len(reason) < MIN_OVERRIDE_REASON:
        raise ReportingError(
            _("Give a reason of at least %(n)s characters.", n=MIN_OVERRIDE_REASON),
            field="priority_reason",
        )
    if len(reason) > MAX_OVERRIDE_REASON:
        raise ReportingError(
            _("This text is too long (at most %(n)s characters).", n=MAX_OVERRIDE_REASON),
            field="priority_reason",
        )
    channel = session.get(ReportChannel, report.channel_id)
    current = session.get(ReportPriorityOverride, report.id)
    computed = compute_priority(report, channel, today=today).computed
    before = current.level if current else None
    if (level or None) == before:
        raise ReportingError(
            _("The case already has this priority."), field="priority_level", status_code=409
        )
    if not level:
        session.delete(current)
    else:
        row = current or ReportPriorityOverride(report_id=report.id, level=level, reason_sealed=b"")
        row.level = level
        row.reason_sealed = crypto.seal(
            report.public_key, reason.encode(), aad=_override_aad(report)
        )
        row.set_by_id = actor.id
        row.set_on = today
        session.add(row)
    session.flush()
    # The reason is sealed: it may say what the case is about. The log keeps the levels.
    audit.record(
        session,
        action="report.priority_overridden" if level else "report.priority_override_removed",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        before={"priority": before or computed.value, "set_by_hand": before is not None},
        after={"priority": level or computed.value, "set_by_hand": bool(level)},
    )


def set_priority_weight(
    session: Session, *, channel: ReportChannel, actor: User, weight: int | str | None
) -> None:
    """Set the points the channel adds to its reports' priority (`weight` as typed, or a
    number; audited; the caller commits)."""
    if isinstance(weight, str):
        text = weight.strip()
        weight = int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else None
    if weight is None or not 0 <= weight <= MAX_CHANNEL_WEIGHT:
        raise ReportingError(
            _("Choose a whole number from 0 to %(n)s.", n=MAX_CHANNEL_WEIGHT),
            field="priority_weight",
        )
    if weight == channel.priority_weight:
        return
    before = channel.priority_weight
    channel.priority_weight = weight
    session.add(channel)
    audit.record(
        session,
        action="report_channel.priority_weight_set",
        actor=actor,
        entity_type="report_channel",
        entity_id=channel.code,
        before={"priority_weight": before},
        after={"priority_weight": weight},
    )
