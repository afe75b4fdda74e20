"""HR's reminders reach people through the notice service (`backend.notices`).

`service.remind` records each reminder with `mail_status = "pending"` (and it shows on the
person's start page at once). The `appraisal_reminder_mail` job (and `merito appraisals
mail-reminders`) hands the pending ones to the notice service — one `appraisal.reminder` notice
per reminder, in the recipient's language, keyed by the reminder so it is told once — and then
runs the notice service's delivery, which sends the mail (batched, retried with backoff when the
server refuses or cannot be reached, failures shown to administrators: docs/notices.md). Outside
any request, in batches committed one by one: a whole cycle can owe thousands of reminders.
Every batch writes one audit entry per cycle: how many were handed over, to whom, and what
could not be.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from assessments.appraisals import notices as appraisal_notices
from assessments.appraisals.models import AppraisalCycle, AppraisalReminder
from assessments.appraisals.service.common import REMINDER_LABELS
from backend import audit, clock, notices
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _, ngettext, use_locale
from backend.org.models import Employee

MAIL_BATCH = 100
# A run stops starting batches after this long: well inside the job's 10-minute lease, so two
# runs never hand over the same reminder.
MAIL_BUDGET_SECONDS = 240
# Reminders of the person's own step; the others count the appraisals waiting for them.
PERSONAL_KINDS = {"agree_objectives", "self_assessment", "employee_sign_off"}


@dataclass
class MailRun:
    """What one run of the reminder mail did."""

    counts: Counter = field(default_factory=Counter)  # sent, no_account, cancelled

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c['sent']} reminders emailed, {c['no_account']} without an account, "
            f"{c['cancelled']} of completed cycles"
        )


def reminder_params(
    *, kind: str, pending: int, cycle: AppraisalCycle, name: str, locale: str
) -> dict:
    """Return the `appraisal.reminder` notice's parameters, written in `locale`."""
    with use_locale(locale):
        waiting = ""
        if kind not in PERSONAL_KINDS:
            waiting = "\n  " + ngettext(
                "%(num)s appraisal is waiting for you.",
                "%(num)s appraisals are waiting for you.",
                pending,
            )
        return {
            "name": name,
            "cycle": cycle.name,
            "start": cycle.period_start,
            "end": cycle.period_end,
            "what": _(REMINDER_LABELS[kind]),
            "waiting": waiting,
        }


def _pending(session: Session, batch: int):
    return session.exec(
        select(AppraisalReminder, AppraisalCycle, Employee, User)
        .join(AppraisalCycle, col(AppraisalCycle.id) == AppraisalReminder.cycle_id)
        .join(Employee, col(Employee.id) == AppraisalReminder.recipient_employee_id)
        .join(User, col(User.employee_id) == Employee.id, isouter=True)
        .where(AppraisalReminder.mail_status == "pending")
        .order_by(col(AppraisalReminder.id))
        .limit(batch)
    ).all()


def mail_reminders(
    session: Session,
    settings: Settings,
    *,
    batch: int = MAIL_BATCH,
    budget_seconds: float = MAIL_BUDGET_SECONDS,
    timer: Callable[[], float] = time.monotonic,
) -> MailRun:
    """Hand the pending reminders to the notice service, oldest first, then send the mail that
    is due; return what was done. Commits per batch.

    A recipient needs an active account: its language is used (people without one cannot act
    in Mérito, and HR sees "no active account" on the cycle page). Reminders of a cycle
    completed meanwhile are not sent. A mail server that is down is the notice service's to
    retry (`notices.deliver`): the reminder is told once, its mail retried with backoff.
    """
    run = MailRun()
    started = timer()
    while timer() - started < budget_seconds:
        rows = _pending(session, batch)
        if not rows:
            break
        per_cycle: dict[int, Counter] = defaultdict(Counter)
        emailed: dict[int, list[int]] = defaultdict(list)
        for reminder, cycle, employee, user in rows:
            if cycle.completed_at is not None:
                status = "cancelled"
            elif user is None or not user.is_active:
                status = "no_account"
            else:
                notices.tell(
                    session,
                    to=[user.id],
                    kind=appraisal_notices.REMINDER,
                    key=f"reminder:{reminder.id}",
                    params=reminder_params(
                        kind=reminder.kind,
                        pending=reminder.pending,
                        cycle=cycle,
                        name=user.full_name,
                        locale=user.locale,
                    ),
                    link="/appraisals",
                )
                reminder.mail_attempts += 1
                status = "sent"
                emailed[cycle.id].append(employee.id)
            reminder.mail_status = status
            reminder.mailed_at = clock.now()
            session.add(reminder)
            per_cycle[cycle.id][status] += 1
        for cycle_id, counts in per_cycle.items():
            audit.record(
                session,
                action="appraisal.reminders_mailed",
                actor="system",
                entity_type="appraisal_cycle",
                entity_id=cycle_id,
                after={
                    **{
                        k: counts[k] for k in ("sent", "failed", "retry", "no_account", "cancelled")
                    },
                    "emailed_employee_ids": emailed[cycle_id],
                },
            )
            run.counts.update(counts)
        session.commit()
    if run.counts["sent"]:
        notices.deliver(session, settings)  # now, not at the next minute's delivery run
    return run
