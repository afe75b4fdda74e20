"""Retention rules: each record type is kept for a period, then deleted or anonymised.

Domains declare their rules (`privacy.retention` hook); an administrator may change a period
(`privacy_retention_period`). `plan` is the dry run: for every rule, the records past their
period. `apply` computes the same plan with the same function and hands exactly the listed keys
to each rule's `act`; given the fingerprint of the plan an administrator looked at, it refuses
when the list has changed since, so the real run never acts on what nobody saw.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, delete, select

from backend import audit, clock, crypto, plugins
from backend.i18n import N_, _
from backend.privacy.contracts import DueRecord, RetentionRule
from backend.privacy.models import ARCO_KIND_LABELS, ArcoRequest, ArcoStatus, RetentionPeriod
from backend.privacy.service.common import PrivacyError

RETENTION_MOMENT = "privacy.retention"
MIN_MONTHS = 1
MAX_MONTHS = 1200
# Rows per rule per run: a first run on an old database works through the backlog in batches.
BATCH = 500


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- the core's own rule: answered ARCO requests ----------------------------------------------


def _due_arco(session: Session, cutoff: date) -> list[DueRecord]:
    rows = session.exec(
        select(ArcoRequest)
        .where(ArcoRequest.status == ArcoStatus.answered, ArcoRequest.filed_on < cutoff)
        .order_by(col(ArcoRequest.id))
        .limit(BATCH)
    ).all()
    return [
        DueRecord(
            str(r.id),
            _("ARCO request #%(id)s (%(kind)s)", id=r.id, kind=_(ARCO_KIND_LABELS[r.kind]).lower()),
            r.filed_on,
        )
        for r in rows
    ]


def _delete_arco(session: Session, keys) -> int:
    ids = [int(k) for k in keys]
    if ids:
        session.exec(delete(ArcoRequest).where(col(ArcoRequest.id).in_(ids)))
    return len(ids)


CORE_RULES = (
    RetentionRule(
        record_type="privacy.arco_requests",
        label=N_("Answered ARCO requests"),
        counted_from=N_("the day the request was filed"),
        default_months=60,
        action="delete",
        due=_due_arco,
        act=_delete_arco,
    ),
)


def rules() -> list[RetentionRule]:
    """Every retention rule: the core's, then each domain's, in plugin order."""
    found = list(CORE_RULES)
    for declare in plugins.hooks(RETENTION_MOMENT):
        found.extend(declare())
    return found


def rule_named(record_type: str) -> RetentionRule:
    for rule in rules():
        if rule.record_type == record_type:
            return rule
    raise PrivacyError(_("There is no such record type."), status_code=404)


def periods(session: Session) -> dict[str, int]:
    """Each record type's period in months: the administrator's, else the default."""
    configured = {p.record_type: p.months for p in session.exec(select(RetentionPeriod)).all()}
    return {r.record_type: configured.get(r.record_type, r.default_months) for r in rules()}


def set_period(session: Session, *, record_type: str, months: int | None, actor) -> None:
    """Change a record type's period (None: back to the default); audited."""
    rule = rule_named(record_type)
    if months is not None and not MIN_MONTHS <= months <= MAX_MONTHS:
        raise PrivacyError(
            _(
                "Give a period between %(low)s and %(high)s months.",
                low=MIN_MONTHS,
                high=MAX_MONTHS,
            ),
            field="months",
        )
    row = session.get(RetentionPeriod, record_type)
    before = row.months if row is not None else rule.default_months
    if months is None or months == rule.default_months:
        if row is not None:
            session.delete(row)
    else:
        row = row or RetentionPeriod(record_type=record_type, months=months)
        row.months, row.updated_at = months, clock.now()
        row.updated_by_id = getattr(actor, "id", None)
        session.add(row)
    audit.record(
        session,
        action="privacy.retention_period_set",
        actor=actor,
        entity_type="retention_rule",
        entity_id=record_type,
        before={"months": before},
        after={"months": months if months is not None else rule.default_months},
    )


@dataclass
class PlannedRule:
    rule: RetentionRule
    months: int
    cutoff: date
    records: list[DueRecord] = field(default_factory=list)


@dataclass
class RetentionPlan:
    today: date
    rules: list[PlannedRule]

    @property
    def total(self) -> int:
        return sum(len(p.records) for p in self.rules)

    @property
    def fingerprint(self) -> str:
        """A digest of exactly what the plan lists (rule, key), to check the real run against."""
        listed = "\n".join(
            f"{p.rule.record_type}\t{p.cutoff.isoformat()}\t{r.key}"
            for p in self.rules
            for r in p.records
        )
        return crypto.sha256_hex(listed)


def plan(session: Session, settings) -> RetentionPlan:
    """The dry run: every rule's records past its period, as of the organisation's today."""
    today = clock.today(settings)
    months = periods(session)
    planned = []
    for rule in rules():
        cutoff = months_before(today, months[rule.record_type])
        planned.append(
            PlannedRule(rule, months[rule.record_type], cutoff, list(rule.due(session, cutoff)))
        )
    return RetentionPlan(today, planned)


def apply(session: Session, settings, *, actor, expected: str | None = None) -> RetentionPlan:
    """The real run: compute the dry run and act on exactly what it lists (audited, one entry
    per rule that acted). `expected`: the fingerprint of the dry run someone looked at."""
    current = plan(session, settings)
    if expected is not None and expected != current.fingerprint:
        raise PrivacyError(
            _("The list changed since you looked at it. Check the new list and run it again."),
            status_code=409,
        )
    for planned in current.rules:
        if not planned.records:
            continue
        keys = [r.key for r in planned.records]
        done = planned.rule.act(session, keys)
        audit.record(
            session,
            action="privacy.retention_applied",
            actor=actor,
            entity_type="retention_rule",
            entity_id=planned.rule.record_type,
            after={
                "action": planned.rule.action,
                "months": planned.months,
                "cutoff": planned.cutoff,
                "count": done,
                "keys": keys,
            },
        )
    return current
