"""Qualifications: the certificates and degrees employees hold."""

from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit
from backend.i18n import _
from backend.org.models import (
    Employee,
    EmployeeQualification,
    EmployeeStatus,
    Qualification,
)
from backend.org.service.rules import raise_problems

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
