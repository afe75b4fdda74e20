"""HR's reminders go out by email (the `appraisal_reminder_mail` job, `jobs.py`, runs this).

`service.remind` records each reminder with `mail_status = "pending"` (and it shows on the
person's start page at once). The `appraisal_reminder_mail` job sends the pending ones through
`backend/mail.py`, in each recipient's language, outside any request: a whole cycle can owe
thousands of messages. One job runs at a time (its lease), in batches committed one by one, so a
crash resends at most one batch. Every batch writes one audit entry per cycle: how many were
emailed, to whom, and what could not be.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from assessments.appraisals.models import AppraisalCycle, AppraisalReminder
from assessments.appraisals.service.common import REMINDER_LABELS
from backend import audit, clock, i18n, mail
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _, ngettext, use_locale
from backend.org.models import Employee

log = logging.getLogger("merito.appraisals")

MAIL_BATCH = 100
# A run stops starting batches after this long: well inside the job's 10-minute lease, so two
# runs never send the same reminder.
MAIL_BUDGET_SECONDS = 240
# A reminder whose mail failed this many times (one try per run) is given up as "failed".
MAX_MAIL_ATTEMPTS = 3
# Reminders of the person's own step; the others count the appraisals waiting for them.
PERSONAL_KINDS = {"agree_objectives", "self_assessment", "employee_sign_off"}


@dataclass
class MailRun:
    """What one run of the reminder mail did."""

    counts: Counter = field(default_factory=Counter)  # sent, failed, no_account, cancelled, retry

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c['sent']} reminders emailed, {c['failed']} failed, {c['retry']} to retry, "
            f"{c['no_account']} without an account, {c['cancelled']} of completed cycles"
        )


def reminder_message(
    *,
    kind: str,
    pending: int,
    cycle: AppraisalCycle,
    name: str,
    locale: str,
    link: str,
) -> tuple[str, str]:
    """Return the (subject, body) of a reminder's email, in `locale`."""
    with use_locale(locale):
        what = _(REMINDER_LABELS[kind])
        subject = _("Mérito: appraisal cycle %(cycle)s — %(what)s", cycle=cycle.name, what=what)
        lines = [
            _("Hello %(name)s,", name=name),
            "",
            _(
                "HR reminds you of a step of the appraisal cycle %(cycle)s (%(start)s to "
                "%(end)s) that is waiting for you:",
                cycle=cycle.name,
                start=i18n.fmt().date(cycle.period_start, "long"),
                end=i18n.fmt().date(cycle.period_end, "long"),
            ),
            "",
            f"  {what}",
        ]
        if kind not in PERSONAL_KINDS:
            lines.append(
                "  "
                + ngettext(
                    "%(num)s appraisal is waiting for you.",
                    "%(num)s appraisals are waiting for you.",
                    pending,
                )
            )
        lines += [
            "",
            _("Sign in to Mérito to do it: %(link)s", link=link)
            if link
            else _("Sign in to Mérito to do it, under Appraisals."),
            "",
            "Mérito",
        ]
    return subject, "\n".join(lines) + "\n"


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
    """Email the pending reminders, oldest first; return what was done. Commits per batch.

    A recipient needs an active account: its address and language are used (people without
    one cannot act in Mérito, and HR sees "no active account" on the cycle page). Reminders of
    a cycle completed meanwhile are not sent. When sending fails (the mail server is down),
    the reminder stays pending for the next run and this run stops; after MAX_MAIL_ATTEMPTS
    tries it is given up as failed.
    """
    run = MailRun()
    link = f"{settings.public_url.rstrip('/')}/appraisals" if settings.public_url else ""
    started = timer()
    while timer() - started < budget_seconds:
        rows = _pending(session, batch)
        if not rows:
            break
        per_cycle: dict[int, Counter] = defaultdict(Counter)
        emailed: dict[int, list[int]] = defaultdict(list)
        stopped = False
        for reminder, cycle, employee, user in rows:
            if cycle.completed_at is not None:
                status = "cancelled"
            elif user is None or not user.is_active:
                status = "no_account"
            else:
                subject, body = reminder_message(
                    kind=reminder.kind,
                    pending=reminder.pending,
                    cycle=cycle,
                    name=user.full_name,
                    locale=user.locale,
                    link=link,
                )
                try:
                    mail.send(settings, to=user.email, subject=subject, body=body)
                except mail.MailError:
                    log.warning("reminder %s could not be emailed", reminder.id, exc_info=True)
                    reminder.mail_attempts += 1
                    session.add(reminder)
                    if reminder.mail_attempts < MAX_MAIL_ATTEMPTS:
                        per_cycle[cycle.id]["retry"] += 1
                        stopped = True
                        break
                    status = "failed"
                else:
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
        if stopped:
            break
    return run
