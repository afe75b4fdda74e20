"""Certificates and qualifications with validity: expiry notices and renewal proposals.

A qualification an employee holds (`employee_qualification.expires_on`, set by HR on the
person's page) or a training certificate (`training_enrolment.certificate_expires_on`, set when
the completion is recorded) may stop being valid on a day. The daily `certificate_expiry` job:

- tells the holder and HR 90, 30 and 0 days before that day (0: the day it stops being valid).
  Each threshold is told once per certificate and expiry day (the notice's key names both), so
  running the job twice, or on several workers, tells nobody twice; a first run inside the
  window tells only the nearest threshold, not the ones already passed;
- proposes the renewal into the holder's training plan for the year it expires (this year's
  when it already has): the activity again for a training certificate, a described item for a
  qualification, with "certificate expires on …". Once per (certificate, expiry day): a new
  expiry day (the certificate was renewed) starts again.

Certificates that stopped being valid more than `STALE_DAYS` ago are left alone (a first run
on old data does not flood anyone); for training certificates only the newest of a person's
certificates for an activity counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit, notices
from backend.auth.models import User, UserRole
from backend.auth.permissions import Role
from backend.config import Settings
from backend.org import service as org_service
from backend.org.models import Employee, EmployeeQualification, EmployeeStatus, Qualification
from competency_framework.training.models import (
    EnrolmentStatus,
    ItemOrigin,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlanItem,
)
from competency_framework.training.notices import (
    EXPIRED,
    EXPIRED_HR,
    EXPIRING,
    EXPIRING_HR,
)
from competency_framework.training.service.plans import _refresh_status, ensure_plan
from competency_framework.training.service.rules import plan_year

THRESHOLDS = (90, 30, 0)
STALE_DAYS = 30


@dataclass(frozen=True)
class Expiring:
    """A certificate or qualification near (or past) the day it stops being valid."""

    renewal_of: str  # "qualification:ID" or "enrolment:ID"
    employee: Employee
    expires_on: date
    name_es: str
    name_en: str
    activity_id: int | None = None

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_es


@dataclass
class ExpiryRun:
    """What a run of the job did."""

    told: int = 0
    renewals: int = 0

    def summary(self) -> str:
        return f"{self.told} expiry notices; {self.renewals} renewals proposed"


def validity_on(today: date) -> Callable[[date | None], str]:
    """Return a function giving a certificate's validity in words on `today` ("expires in 30
    days", "expired"; "" when it does not expire), for pages."""
    return lambda expires_on: org_service.validity_text(expires_on, today)


def threshold_for(days_left: int) -> int | None:
    """Return the nearest threshold (90, 30 or 0) a certificate `days_left` from expiry has
    reached, or None when it is further than the first one."""
    reached = [t for t in THRESHOLDS if days_left <= t]
    return min(reached) if reached else None


def expiring(session: Session, *, today: date) -> list[Expiring]:
    """Return every valid-until day inside the notice window, for people who have not left."""
    start, end = today - timedelta(days=STALE_DAYS), today + timedelta(days=max(THRESHOLDS))
    found: list[Expiring] = []
    for employee, link, qualification in session.exec(
        select(Employee, EmployeeQualification, Qualification)
        .join(EmployeeQualification, col(EmployeeQualification.employee_id) == Employee.id)
        .join(Qualification, col(Qualification.id) == EmployeeQualification.qualification_id)
        .where(
            Employee.status != EmployeeStatus.left,
            col(EmployeeQualification.expires_on) >= start,
            col(EmployeeQualification.expires_on) <= end,
        )
    ).all():
        found.append(
            Expiring(
                f"qualification:{qualification.id}",
                employee,
                link.expires_on,
                qualification.name_es,
                qualification.name_en,
            )
        )
    newest = (
        select(
            TrainingEnrolment.employee_id,
            TrainingEnrolment.activity_id,
            func.max(TrainingEnrolment.certificate_expires_on).label("newest"),
        )
        .where(
            TrainingEnrolment.status == EnrolmentStatus.completed,
            col(TrainingEnrolment.employee_id).is_not(None),
            col(TrainingEnrolment.certificate_expires_on).is_not(None),
        )
        .group_by(TrainingEnrolment.employee_id, TrainingEnrolment.activity_id)
        .subquery()
    )
    for employee, enrolment, activity in session.exec(
        select(Employee, TrainingEnrolment, TrainingActivity)
        .join(TrainingEnrolment, col(TrainingEnrolment.employee_id) == Employee.id)
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingEnrolment.activity_id)
        .join(
            newest,
            (newest.c.employee_id == TrainingEnrolment.employee_id)
            & (newest.c.activity_id == TrainingEnrolment.activity_id)
            & (newest.c.newest == TrainingEnrolment.certificate_expires_on),
        )
        .where(
            Employee.status != EmployeeStatus.left,
            TrainingEnrolment.status == EnrolmentStatus.completed,
            col(TrainingEnrolment.certificate_expires_on) >= start,
            col(TrainingEnrolment.certificate_expires_on) <= end,
        )
    ).all():
        found.append(
            Expiring(
                f"enrolment:{enrolment.id}",
                employee,
                enrolment.certificate_expires_on,
                activity.title_es,
                activity.title_en,
                activity_id=activity.id,
            )
        )
    return found


def _accounts(session: Session, *, employee_id: int | None = None) -> list[User]:
    """The holder's active account (employee_id), or every active HR planner's."""
    statement = select(User).where(col(User.is_active).is_(True))
    if employee_id is not None:
        statement = statement.where(User.employee_id == employee_id)
    else:
        statement = statement.where(
            col(User.id).in_(select(UserRole.user_id).where(UserRole.role == Role.hr_planner))
        )
    return list(session.exec(statement.order_by(col(User.id))).all())


def _tell(
    session: Session, accounts: list[User], item: Expiring, *, kind: str, key: str, link: str
) -> int:
    told = 0
    for locale in sorted({a.locale for a in accounts}):
        told += notices.tell(
            session,
            to=[a.id for a in accounts if a.locale == locale],
            kind=kind,
            key=key,
            params={
                "name": item.name(locale),
                "person": item.employee.full_name,
                "date": item.expires_on,
            },
            link=link,
        )
    return told


def propose_renewal(session: Session, item: Expiring, *, year: int) -> TrainingPlanItem | None:
    """Propose the renewal into the holder's plan for `year`; None if it was proposed before."""
    found = session.exec(
        select(TrainingPlanItem.id).where(
            TrainingPlanItem.employee_id == item.employee.id,
            TrainingPlanItem.renewal_of == item.renewal_of,
            TrainingPlanItem.expires_on == item.expires_on,
        )
    ).first()
    if found is not None:
        return None
    plan = ensure_plan(session, employee=item.employee, year=year)
    activity = session.get(TrainingActivity, item.activity_id) if item.activity_id else None
    if activity is not None and (
        not activity.is_active
        or session.exec(
            select(TrainingPlanItem.id).where(
                TrainingPlanItem.plan_id == plan.id,
                TrainingPlanItem.activity_id == activity.id,
                col(TrainingPlanItem.status).in_((ItemStatus.proposed, ItemStatus.approved)),
            )
        ).first()
        is not None
    ):
        activity = None  # no longer offered, or already in the plan: the described renewal
    priority = session.exec(
        select(func.coalesce(func.max(TrainingPlanItem.priority), 0)).where(
            TrainingPlanItem.plan_id == plan.id
        )
    ).one()
    row = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=item.employee.id,
        activity_id=activity.id if activity is not None else None,
        origin=ItemOrigin.renewal,
        status=ItemStatus.proposed,
        priority=priority + 1,
        cost=activity.cost if activity is not None else 0,
        description=item.name_es
        if item.name_es == item.name_en
        else f"{item.name_es} / {item.name_en}",
        renewal_of=item.renewal_of,
        expires_on=item.expires_on,
    )
    session.add(row)
    session.flush()
    _refresh_status(session, plan)  # an item waits for approval again
    audit.record(
        session,
        action="training.renewal_proposed",
        actor="system",
        entity_type="employee",
        entity_id=item.employee.id,
        after={
            "renews": row.description,
            "expires_on": item.expires_on.isoformat(),
            "year": year,
        },
    )
    return row


def run_expiry(session: Session, settings: Settings, *, today: date) -> ExpiryRun:
    """Tell holders and HR about certificates reaching 90, 30 and 0 days before expiry and
    propose their renewals (once each). The caller commits."""
    run = ExpiryRun()
    hr = _accounts(session)
    for item in expiring(session, today=today):
        threshold = threshold_for((item.expires_on - today).days)
        if threshold is None:
            continue
        key = f"{item.renewal_of}:{item.expires_on.isoformat()}:{threshold}"
        holder = _accounts(session, employee_id=item.employee.id)
        run.told += _tell(
            session,
            holder,
            item,
            kind=EXPIRING if threshold else EXPIRED,
            key=key,
            link="/training/me",
        )
        run.told += _tell(
            session,
            hr,
            item,
            kind=EXPIRING_HR if threshold else EXPIRED_HR,
            key=key,
            link=f"/org/employees/{item.employee.id}",
        )
        year = max(plan_year(settings), item.expires_on.year)
        if propose_renewal(session, item, year=year) is not None:
            run.renewals += 1
    return run
