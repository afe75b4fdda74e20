"""The protection officers' desk: their inbox, opening a complaint (audited), messages and
notes, and putting a complainant or a reporter under HR watch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from backend.org import service as org_service
from whistleblowing.models import (
    ComplaintItem,
    ComplaintItemKind,
    ComplaintKeyWrap,
    ComplaintStatus,
    Report,
    RetaliationComplaint,
)
from whistleblowing.service.common import ReportingError, TamperedCase, Upload, _aad

from .common import ComplaintAccess, _officer_keys, _report_holders
from .items import _add_complaint_item, _complaint_content
from .watch import protect


def complaint_inbox(
    session: Session, *, officer: User, open_only: bool = True
) -> list[RetaliationComplaint]:
    """Return the complaints the officer holds a key to (plain workflow metadata)."""
    statement = (
        select(RetaliationComplaint)
        .join(ComplaintKeyWrap, col(ComplaintKeyWrap.complaint_id) == RetaliationComplaint.id)
        .where(ComplaintKeyWrap.user_id == officer.id)
        .order_by(col(RetaliationComplaint.received_on).desc(), col(RetaliationComplaint.id).desc())
    )
    if open_only:
        statement = statement.where(RetaliationComplaint.status != ComplaintStatus.closed.value)
    return list(session.exec(statement).all())


def open_complaint(
    session: Session, *, officer: User, holder_private: bytes, reference: str, audit_read: bool
) -> ComplaintAccess:
    """Return a complaint for an officer holding it; every opening is audited.

    One answer, 404, for an unknown reference and for a complaint the officer does not hold:
    an officer left out (because they hold the original report) must not learn it exists.
    """
    complaint = session.exec(
        select(RetaliationComplaint).where(
            RetaliationComplaint.reference == reference.strip().upper()
        )
    ).first()
    wrap = (
        session.exec(
            select(ComplaintKeyWrap).where(
                ComplaintKeyWrap.complaint_id == complaint.id,
                ComplaintKeyWrap.user_id == officer.id,
            )
        ).first()
        if complaint is not None
        else None
    )
    if complaint is None or wrap is None:
        raise ReportingError(_("This complaint does not exist."), status_code=404)
    try:
        private = crypto.unwrap_key(
            holder_private,
            wrap.wrapped,
            aad=_aad("complaint-wrap", complaint.reference, f"user:{officer.id}"),
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    if audit_read:
        audit.record(
            session,
            action="retaliation.complaint_read",
            actor=officer,
            entity_type="retaliation_complaint",
            entity_id=complaint.reference,
        )
    return ComplaintAccess(complaint, private)


def add_officer_item(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    to_complainant: bool,
    text: str,
    files: Sequence[Upload] = (),
    today: date,
) -> ComplaintItem:
    """Write a message to the complainant, or an internal note (sealed, audited)."""
    text = text.strip()
    if not text:
        raise ReportingError(_("Write a message."), field="text")
    if to_complainant and access.complaint.via != "receipt":
        raise ReportingError(
            _(
                "An identified complainant has no key to read messages here: contact them "
                "directly and keep a note."
            ),
            field="text",
        )
    kind = ComplaintItemKind.officer_message if to_complainant else ComplaintItemKind.note
    item = _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=kind,
        payload={"text": text},
        author=officer,
        today=today,
        files=files,
    )
    audit.record(
        session,
        action=f"retaliation.{kind.value}_added",
        actor=officer,
        entity_type="retaliation_complaint",
        entity_id=access.complaint.reference,
        after={"item": item.uid},
    )
    return item


def protect_complainant(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    employee_number: str,
    today: date,
) -> None:
    """Put the complainant under HR watch once the officer knows who they are (a receipt
    complaint gives no identity; they may have given it, or an identity was released)."""
    employee = org_service.employee_by_number(session, employee_number)
    if employee is None:
        raise ReportingError(_("No employee has this number."), field="employee")
    complaint = _complaint_content(session, access)
    made_on = complaint.get("protected_report", {}).get("made_on")
    officers = [
        w.user_id
        for w in session.exec(
            select(ComplaintKeyWrap).where(
                ComplaintKeyWrap.complaint_id == access.complaint.id,
                col(ComplaintKeyWrap.user_id).is_not(None),
            )
        ).all()
    ]
    protect(
        session,
        settings,
        employee_id=employee.id,
        since=date.fromisoformat(made_on) if made_on else access.complaint.received_on,
        actor=officer,
        complaint=access.complaint.reference,
        report=complaint.get("protected_report", {}).get("reference") or None,
        officers=officers,
    )
    _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=ComplaintItemKind.decision,
        payload={
            "text": _(
                "Put under HR watch: %(name)s (%(number)s).",
                name=employee.full_name,
                number=employee.number,
            ),
            "protected_employee_id": employee.id,
        },
        author=officer,
        today=today,
    )


def protect_reporter(
    session: Session,
    settings: Settings,
    *,
    report: Report,
    officer: User,
    employee_number: str,
) -> None:
    """Put a reporter whose identity was released under HR watch (from the identity request
    decision). Officers who hold the report itself are not told of their alerts."""
    employee = org_service.employee_by_number(session, employee_number)
    if employee is None:
        raise ReportingError(_("No employee has this number."), field="employee")
    holders = _report_holders(session, report)
    protect(
        session,
        settings,
        employee_id=employee.id,
        since=report.submitted_on,
        actor=officer,
        report=report.reference,
        officers=[u.id for u, _k in _officer_keys(session, exclude=holders)],
    )
