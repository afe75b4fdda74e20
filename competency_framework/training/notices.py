"""What training tells learners about their sessions (`backend.notices`), with the calendar.

A seat in a session (enrolled, or promoted from the waiting list) sends the employee an
invitation: the session as an iCalendar REQUEST (`backend.calendar`, the same UID as the
session in the downloadable calendars); a cancelled seat or session sends the CANCEL, with a
higher SEQUENCE, which removes it from their calendar. The kinds are declared when this module
is imported (the plugin lists it under `subscribers`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from backend import calendar, clock, i18n, notices
from backend.auth.models import User, UserRole
from backend.config import Settings
from backend.i18n import N_, _, localized
from backend.org.models import Employee
from competency_framework.training.models import (
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)

__all__ = [
    "EXPIRED",
    "EXPIRED_HR",
    "EXPIRING",
    "EXPIRING_HR",
    "SEAT",
    "SEAT_CANCELLED",
    "session_event",
    "tell_cancelled",
    "tell_seat",
]

SEAT = "training.session_seat"
SEAT_CANCELLED = "training.session_seat_cancelled"

notices.kind(
    SEAT,
    subject=N_("Your training session: %(activity)s"),
    body=N_(
        "You have a seat in %(activity)s on %(date)s, until %(ends)s, at %(place)s. The "
        "invitation for your calendar is attached."
    ),
    label=N_("Training: session seats"),
)
notices.kind(
    SEAT_CANCELLED,
    subject=N_("Training session cancelled: %(activity)s"),
    body=N_("Your seat in %(activity)s on %(date)s was cancelled; its calendar entry is removed."),
    label=N_("Training: cancelled sessions"),
)


# Certificates and qualifications reaching the day they stop being valid (90, 30 and 0 days
# before; service/renewals.py): the holder and HR are told.
EXPIRING = "training.certificate_expiring"
EXPIRED = "training.certificate_expired"
EXPIRING_HR = "training.certificate_expiring_hr"
EXPIRED_HR = "training.certificate_expired_hr"

notices.kind(
    EXPIRING,
    subject=N_("Your certificate expires on %(date)s"),
    body=N_(
        "Your certificate “%(name)s” expires on %(date)s. Its renewal is proposed in your "
        "training plan."
    ),
    label=N_("Training: certificates about to expire"),
)
notices.kind(
    EXPIRED,
    subject=N_("Your certificate has expired"),
    body=N_(
        "Your certificate “%(name)s” stopped being valid on %(date)s. Its renewal is proposed "
        "in your training plan."
    ),
    label=N_("Training: certificates about to expire"),
)
notices.kind(
    EXPIRING_HR,
    subject=N_("A certificate expires on %(date)s: %(person)s"),
    body=N_("The certificate “%(name)s” of %(person)s expires on %(date)s."),
    label=N_("Training: staff certificates about to expire"),
)
notices.kind(
    EXPIRED_HR,
    subject=N_("A certificate has expired: %(person)s"),
    body=N_("The certificate “%(name)s” of %(person)s stopped being valid on %(date)s."),
    label=N_("Training: staff certificates about to expire"),
)


# Training approvals: the plan sent for approval (the supervisor is told; HR when the person has
# no supervisor with an account), the decision (the employee is told), and plans waiting
# longer than a week (HR, once per plan and sending).
APPROVAL_REQUESTED = "training.approval_requested"
PLAN_APPROVED = "training.plan_approved"
ITEM_DECLINED = "training.item_declined"
APPROVALS_WAITING = "training.approvals_waiting"
WAITING_DAYS = 7

notices.kind(
    APPROVAL_REQUESTED,
    subject=N_("Training plan to approve: %(person)s"),
    body=N_("%(person)s sent their training plan for %(year)s for approval."),
    label=N_("Training: plans sent for approval"),
)
notices.kind(
    PLAN_APPROVED,
    subject=N_("Your training plan for %(year)s was approved"),
    body=N_(
        "%(approver)s approved the activities waiting in your training plan for %(year)s. "
        "You can enrol in their sessions now."
    ),
    label=N_("Training: decisions on your plan"),
)
notices.kind(
    ITEM_DECLINED,
    subject=N_("An activity of your training plan was declined"),
    body=N_("%(approver)s declined %(activity)s in your training plan for %(year)s.%(reason)s"),
    label=N_("Training: decisions on your plan"),
)
notices.kind(
    APPROVALS_WAITING,
    subject=N_("A training plan has waited a week for approval: %(person)s"),
    body=N_(
        "The training plan of %(person)s for %(year)s was sent for approval on %(date)s and "
        "is still waiting."
    ),
    label=N_("Training: plans waiting for approval (HR)"),
)


def _accounts_of(session: Session, employee_id: int | None) -> list[int]:
    if employee_id is None:
        return []
    return list(
        session.exec(
            select(User.id).where(User.employee_id == employee_id, col(User.is_active).is_(True))
        ).all()
    )


def _hr_planners(session: Session) -> list[int]:
    return list(
        session.exec(
            select(User.id).where(
                col(User.is_active).is_(True),
                col(User.id).in_(select(UserRole.user_id).where(UserRole.role == "hr_planner")),
            )
        ).all()
    )


def tell_approval_requested(session: Session, plan: TrainingPlan, employee: Employee) -> int:
    """Tell the supervisor (HR when there is none with an account) a plan waits for them."""
    to = _accounts_of(session, employee.supervisor_id) or _hr_planners(session)
    return notices.tell(
        session,
        to=to,
        kind=APPROVAL_REQUESTED,
        key=f"plan:{plan.id}:submitted:{plan.submitted_at.isoformat()}",
        params={"person": employee.full_name, "year": str(plan.year)},
        link=f"/training/people/{employee.id}?year={plan.year}",
    )


def tell_decision(
    session: Session,
    *,
    plan: TrainingPlan,
    approver: str,
    item: TrainingPlanItem | None = None,
    reason: str = "",
) -> int:
    """Tell the employee their plan was approved (`item` None) or an item declined."""
    to = _accounts_of(session, plan.employee_id)
    if item is None:
        key = f"plan:{plan.id}:approved:{plan.approved_at.isoformat()}"
        params = {"approver": approver, "year": str(plan.year)}
        return notices.tell(
            session, to=to, kind=PLAN_APPROVED, key=key, params=params, link="/training/me"
        )
    activity = session.get(TrainingActivity, item.activity_id) if item.activity_id else None
    told = 0
    for user in session.exec(select(User).where(col(User.id).in_(to))).all():
        with i18n.use_locale(user.locale):
            title = localized(activity, "title") if activity else item.description
            why = " " + _("Reason: %(reason)s", reason=reason) if reason else ""
        told += notices.tell(
            session,
            to=[user.id],
            kind=ITEM_DECLINED,
            key=f"item:{item.id}:declined",
            params={"approver": approver, "activity": title, "year": str(plan.year), "reason": why},
            link="/training/me",
        )
    return told


def tell_approvals_waiting(session: Session, *, today: date, zone: str) -> int:
    """Tell HR about plans sent for approval more than WAITING_DAYS ago and still waiting
    (once per plan and sending). `today` is the organisation's day, in the time zone `zone`:
    a plan waits from the start of the day it was sent there, not in UTC."""
    start = today - timedelta(days=WAITING_DAYS)
    cutoff = datetime.combine(start, time.min, tzinfo=clock.zone(zone))
    hr = _hr_planners(session)
    told = 0
    for plan, employee in session.exec(
        select(TrainingPlan, Employee)
        .join(Employee, col(Employee.id) == TrainingPlan.employee_id)
        .where(
            TrainingPlan.status == "submitted",
            col(TrainingPlan.submitted_at) < cutoff,
        )
        .order_by(col(TrainingPlan.id))
    ).all():
        told += notices.tell(
            session,
            to=hr,
            kind=APPROVALS_WAITING,
            key=f"plan:{plan.id}:waiting:{plan.submitted_at.isoformat()}",
            params={
                "person": employee.full_name,
                "year": str(plan.year),
                "date": plan.submitted_at,
            },
            link=f"/training/people/{employee.id}?year={plan.year}",
        )
    return told


# The day before a session: each learner with a seat is reminded, with the same invitation.
SESSION_TOMORROW = "training.session_tomorrow"

notices.kind(
    SESSION_TOMORROW,
    subject=N_("Tomorrow: %(activity)s"),
    body=N_(
        "Reminder: your training session %(activity)s is tomorrow, %(date)s, until %(ends)s, at "
        "%(place)s. The invitation for your calendar is attached."
    ),
    label=N_("Training: session reminders the day before"),
)


def tell_sessions_tomorrow(session: Session, *, today: date, zone: str) -> int:
    """Remind every employee with a seat in a session that starts tomorrow (the organisation's
    day), with the session's invitation; once per seat."""
    tz = clock.zone(zone)
    start = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    told = 0
    for enrolment in session.exec(
        select(TrainingEnrolment)
        .join(TrainingSession, col(TrainingSession.id) == TrainingEnrolment.session_id)
        .where(
            TrainingEnrolment.status == "enrolled",
            col(TrainingEnrolment.employee_id).is_not(None),
            col(TrainingSession.is_cancelled).is_(False),
            col(TrainingSession.starts_at) >= start,
            col(TrainingSession.starts_at) < start + timedelta(days=1),
        )
        .order_by(col(TrainingEnrolment.id))
    ).all():
        told += _tell(session, enrolment, cancelled=False, day_before=True)
    return told


def host(settings: Settings, fallback: str = "merito") -> str:
    """Return the host that names this installation in calendar UIDs."""
    return urlsplit(settings.public_url).hostname or fallback


def session_event(
    activity: TrainingActivity,
    row: TrainingSession,
    host_name: str,
    *,
    sequence: int = 0,
    cancelled: bool | None = None,
    attendees: tuple[calendar.Person, ...] = (),
    organizer: calendar.Person | None = None,
) -> calendar.CalendarEvent:
    """Return a session as a calendar event, in the current language."""
    description = "\n".join(
        part
        for part in (
            localized(activity, "description"),
            _("Provider: %(provider)s", provider=activity.provider) if activity.provider else "",
        )
        if part
    )
    return calendar.CalendarEvent(
        uid=f"training-session-{row.id}@{host_name}",
        start=row.starts_at,
        end=row.ends_at,
        summary=localized(activity, "title"),
        location=row.place,
        description=description,
        cancelled=row.is_cancelled if cancelled is None else cancelled,
        stamp=row.created_at,
        sequence=sequence,
        attendees=attendees,
        organizer=organizer,
    )


def _tell(
    session: Session, enrolment: TrainingEnrolment, *, cancelled: bool, day_before: bool = False
) -> int:
    if enrolment.employee_id is None:
        return 0  # supplier learners have no account to be told in
    settings: Settings | None = session.info.get("settings")
    user = session.exec(select(User).where(User.employee_id == enrolment.employee_id)).first()
    row = session.get(TrainingSession, enrolment.session_id)
    activity = session.get(TrainingActivity, enrolment.activity_id)
    if settings is None or user is None or row is None or activity is None:
        return 0
    zone = clock.zone(settings.time_zone)
    name, address = parseaddr(settings.smtp_from)
    with i18n.use_locale(user.locale):
        event = session_event(
            activity,
            row,
            host(settings),
            sequence=1 if cancelled else 0,
            cancelled=cancelled,
            attendees=(calendar.Person(user.email, user.full_name),),
            organizer=calendar.Person(address or "no-reply@localhost", name),
        )
        body = calendar.invitation(event, zone=zone)
        return notices.tell(
            session,
            to=[user.id],
            kind=SESSION_TOMORROW if day_before else SEAT_CANCELLED if cancelled else SEAT,
            key=f"enrolment:{enrolment.id}" + (":day_before" if day_before else ""),
            params={
                "activity": localized(activity, "title"),
                "date": row.starts_at,
                "ends": i18n.time_text(row.ends_at.astimezone(zone)),
                "place": row.place or _("online"),
            },
            link="/training/me",
            attachment=notices.Attachment(
                "cancel.ics" if cancelled else "invitation.ics",
                calendar.content_type(body),
                body,
            ),
        )


def tell_seat(session: Session, enrolment: TrainingEnrolment) -> int:
    """Send the employee the invitation to the session they now have a seat in."""
    return _tell(session, enrolment, cancelled=False)


def tell_cancelled(session: Session, enrolment: TrainingEnrolment, *, had_seat: bool) -> int:
    """Send the cancellation of a seat the employee had (a waiting place had no invitation)."""
    return _tell(session, enrolment, cancelled=True) if had_seat else 0
