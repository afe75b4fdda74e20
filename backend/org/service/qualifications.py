"""Qualifications: the certificates and degrees employees hold."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from backend import audit
from backend.i18n import _, ngettext
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    Qualification,
)
from backend.org.service.rules import OrgError, raise_problems

# --- qualifications ---------------------------------------------------------------------------


def ensure_qualification(
    session: Session, *, code: str, name_es: str, name_en: str, is_procurement: bool
) -> Qualification:
    """Return the qualification with `code`, creating it if needed."""
    found = session.exec(select(Qualification).where(Qualification.code == code)).first()
    if found is not None:
        return found
    qualification = Qualification(
        code=code, name_es=name_es, name_en=name_en, is_procurement=is_procurement
    )
    session.add(qualification)
    session.flush()
    return qualification


QUALIFICATION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def create_qualification(
    session: Session,
    *,
    code: str,
    name_es: str,
    name_en: str,
    is_procurement: bool,
    actor: object = None,
) -> Qualification:
    """Create a qualification (audited; the caller commits)."""
    code = code.strip()
    problems: dict[str, str] = {}
    status: dict[str, int] = {}
    if not code:
        problems["code"] = _("Enter a code.")
    elif len(code) > 40:
        problems["code"] = _("Use at most %(n)s characters.", n=40)
    elif not QUALIFICATION_CODE.match(code):
        # "|" separates codes in import files, so it (and spaces) cannot be part of one.
        problems["code"] = _("Use letters, digits, dots, dashes and underscores only.")
    elif session.exec(select(Qualification).where(Qualification.code == code)).first():
        problems["code"] = _("Another qualification already has this code.")
        status["code"] = 409
    for name_field, value in (("name_es", name_es), ("name_en", name_en)):
        if not value.strip():
            problems[name_field] = _("Enter the name in both languages.")
        elif len(value.strip()) > 200:
            problems[name_field] = _("Use at most %(n)s characters.", n=200)
    raise_problems(problems, status)
    qualification = Qualification(
        code=code,
        name_es=name_es.strip(),
        name_en=name_en.strip(),
        is_procurement=is_procurement,
    )
    session.add(qualification)
    session.flush()
    audit.record(
        session,
        action="qualification.created",
        actor=actor,
        entity_type="qualification",
        entity_id=qualification.id,
        after=audit.snapshot(qualification),
    )
    return qualification


def list_qualifications(session: Session) -> list[tuple[Qualification, int]]:
    """Return (qualification, people holding it who have not left), by code."""
    holders = dict(
        session.exec(
            select(EmployeeQualification.qualification_id, func.count())
            .join(Employee, col(EmployeeQualification.employee_id) == Employee.id)
            .where(Employee.status != EmployeeStatus.left)
            .group_by(EmployeeQualification.qualification_id)
        ).all()
    )
    return [
        (q, holders.get(q.id, 0))
        for q in session.exec(select(Qualification).order_by(col(Qualification.code)))
    ]


# --- validity -----------------------------------------------------------------------------------


def is_valid(expires_on: date | None, today: date) -> bool:
    """Return whether a qualification or certificate expiring on `expires_on` is valid today
    (`expires_on` is the day it stops being valid; None never expires)."""
    return expires_on is None or expires_on > today


def valid_on(today: date):  # noqa: ANN201 - a SQL condition
    """Return the SQL condition "this employee_qualification row is valid on `today`"."""
    return or_(
        col(EmployeeQualification.expires_on).is_(None),
        col(EmployeeQualification.expires_on) > today,
    )


def validity_text(expires_on: date | None, today: date) -> str:
    """Return the validity in words: "expires in 30 days", "expires tomorrow", "expired" ("" for
    no expiry)."""
    if expires_on is None:
        return ""
    days = (expires_on - today).days
    if days <= 0:
        return _("expired")
    if days == 1:
        return _("expires tomorrow")
    return ngettext("expires in %(num)s day", "expires in %(num)s days", days, num=days)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass(frozen=True)
class HeldQualification:
    """A qualification an employee holds and the day it stops being valid (None: never)."""

    qualification: Qualification
    expires_on: date | None

    @property
    def code(self) -> str:
        return self.qualification.code

    def validity(self, today: date) -> str:
        """Return the validity in words (`validity_text`)."""
        return validity_text(self.expires_on, today)


def held_qualifications(session: Session, employee_id: int) -> list[HeldQualification]:
    """Return the employee's qualifications with their expiry days, by code."""
    rows = session.exec(
        select(Qualification, EmployeeQualification.expires_on)
        .join(
            EmployeeQualification,
            col(EmployeeQualification.qualification_id) == Qualification.id,
        )
        .where(EmployeeQualification.employee_id == employee_id)
        .order_by(col(Qualification.code))
    ).all()
    return [HeldQualification(q, expires_on) for q, expires_on in rows]


def expiry_from_text(text: str) -> date | None:
    """Return the expiry day a form gives ("" clears it); OrgError on the `expires_on` field
    when it is not a date."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise OrgError(_("Enter a date (YYYY-MM-DD)."), field="expires_on") from None
    if not 1900 <= day.year <= 2200:
        raise OrgError(_("Enter a date (YYYY-MM-DD)."), field="expires_on")
    return day


@dataclass(frozen=True)
class ExpiringQualification:
    """Someone's qualification that expires soon or has expired (HR's list)."""

    employee: Employee
    qualification: Qualification
    expires_on: date

    def validity(self, today: date) -> str:
        return validity_text(self.expires_on, today)


def expiring_qualifications(
    session: Session, *, today: date, within_days: int = 90, limit: int = 200
) -> list[ExpiringQualification]:
    """Return the qualifications of people who have not left that stop being valid within
    `within_days` or already have, soonest first (at most `limit`)."""
    rows = session.exec(
        select(Employee, Qualification, EmployeeQualification.expires_on)
        .join(EmployeeQualification, col(EmployeeQualification.employee_id) == Employee.id)
        .join(Qualification, col(Qualification.id) == EmployeeQualification.qualification_id)
        .where(
            Employee.status != EmployeeStatus.left,
            col(EmployeeQualification.expires_on) <= today + timedelta(days=within_days),
        )
        .order_by(col(EmployeeQualification.expires_on), col(Employee.id))
        .limit(limit)
    ).all()
    return [ExpiringQualification(e, q, day) for e, q, day in rows]


def set_qualification_expiry(
    session: Session,
    *,
    employee_id: int,
    qualification_id: int,
    expires_on: date | None,
    actor: object = None,
) -> EmployeeQualification:
    """Set (or clear, with None) the day an employee's qualification stops being valid
    (audited; the caller commits)."""
    link = session.get(EmployeeQualification, (employee_id, qualification_id))
    if link is None:
        raise OrgError(_("This person does not hold this qualification."), status_code=404)
    before = link.expires_on
    if before == expires_on:
        return link
    code = session.get(Qualification, qualification_id).code
    link.expires_on = expires_on
    session.add(link)
    session.flush()
    audit.record(
        session,
        action="qualification.expiry_set",
        actor=actor,
        entity_type="employee",
        entity_id=employee_id,
        before={"qualification": code, "expires_on": _iso(before)},
        after={"qualification": code, "expires_on": _iso(expires_on)},
    )
    return link
