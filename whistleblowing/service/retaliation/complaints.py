"""Filing a complaint — through the reporter's receipt (no identity needed) or signed in as an
identified employee — and the complainant's own view of it: their complaints and messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from backend.org import service as org_service
from backend.web import format_date
from whistleblowing import attachments
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    ComplaintItem,
    ComplaintItemKind,
    ComplaintKeyWrap,
    ComplaintStatus,
    DetrimentalAct,
    HolderKind,
    Notification,
    NotificationKind,
    Report,
    RetaliationComplaint,
)
from whistleblowing.schemas import ComplaintInput
from whistleblowing.service.common import (
    MAX_TEXT,
    CaseAccess,
    ReporterSessionExpired,
    ReportingError,
    TamperedCase,
    Upload,
    _aad,
    new_reference,
)

from .common import (
    COMPLAINANT,
    MAX_ACTS,
    REFERENCE_PREFIX,
    ComplaintAccess,
    _officer_keys,
    _recovery_public,
    _report_holders,
    _server_key,
)
from .items import _add_complaint_item
from .watch import protect


def reporter_tag(receipt_key: bytes) -> bytes:
    """Return the tag a receipt holder finds their complaints by (nobody else can compute)."""
    return crypto.derive_subkey(receipt_key, context=b"merito/wb/complaint-tag")


def complainant_tag(settings: Settings, user_id: int) -> bytes:
    """Return the tag an identified complainant's complaints carry (a server-keyed HMAC)."""
    return crypto.keyed_hash(_server_key(settings, b"complainant-tag"), f"user:{user_id}".encode())


def validate_complaint(data: ComplaintInput, *, today: date) -> dict[str, str]:
    """Return field -> translated problem (empty when the complaint can be filed)."""
    errors: dict[str, str] = {}
    acts = [a for a in data.acts if a.kind]
    if not acts:
        errors["acts"] = _("Choose at least one thing that was done to you.")
    elif len(acts) > MAX_ACTS:
        errors["acts"] = _("Describe at most %(n)s acts; add more in a message.", n=MAX_ACTS)
    for act in acts:
        if act.kind not in DetrimentalAct.__members__:
            errors["acts"] = _("Choose the acts from the list.")
        elif act.on is not None and act.on > today:
            errors["acts"] = _("The date of an act cannot be in the future.")
        elif len(act.description) > 2000:
            errors["acts"] = _("This text is too long (at most %(n)s characters).", n=2000)
    if not data.narrative.strip():
        errors["narrative"] = _("Describe what happened and why you think it is retaliation.")
    elif len(data.narrative) > MAX_TEXT:
        errors["narrative"] = _("This text is too long (at most %(n)s characters).", n=MAX_TEXT)
    if data.reported_on is not None and data.reported_on > today:
        errors["reported_on"] = _("The report cannot have been made in the future.")
    if len(data.evidence) > attachments.MAX_ATTACHMENTS_PER_MESSAGE:
        errors["evidence"] = _(
            "Attach at most %(n)s files at a time.", n=attachments.MAX_ATTACHMENTS_PER_MESSAGE
        )
    return errors


def _question_early_acts(data: ComplaintInput, *, made_on: date | None) -> None:
    """Refuse, once, acts dated before the protected report unless the complainant kept them.

    Retaliation answers a report, so an act before it is usually something else (the prima
    facie assessment looks for timing that links the two). It may still belong to the story
    (harassment that began earlier and grew worse), so the complainant decides, knowingly.
    """
    if made_on is None or data.keep_early_acts:
        return
    early = sorted(a.on for a in data.acts if a.kind and a.on is not None and a.on < made_on)
    if early:
        raise ReportingError(
            _(
                "An act is dated %(day)s, before your report of %(reported)s. Retaliation "
                "comes after a report, so an earlier act is usually not retaliation for it. "
                "Check the day, or keep it if it belongs to what happened to you.",
                day=format_date(early[0], "long"),
                reported=format_date(made_on, "long"),
            ),
            field="early_acts",
        )


def _file(
    session: Session,
    settings: Settings,
    *,
    data: ComplaintInput,
    via: str,
    report: Report | None,
    reported_on: date | None,
    identity: dict[str, Any] | None,
    today: date,
) -> tuple[RetaliationComplaint, bytes, list[int]]:
    errors = validate_complaint(data, today=today)
    if errors:
        raise ReportingError(next(iter(errors.values())), field=next(iter(errors)))
    _question_early_acts(data, made_on=report.submitted_on if report else reported_on)
    # Never the investigators of the original report: they may be the ones retaliating, or
    # learn from the complaint who reported.
    officers = _officer_keys(session, exclude=_report_holders(session, report))
    if not officers:
        raise ReportingError(
            _(
                "No protection officer can receive a complaint yet. Please try again later; "
                "the administrators have been told."
            ),
            status_code=503,
        )
    recovery = _recovery_public(session)
    pair = crypto.generate_keypair()
    complaint = RetaliationComplaint(
        reference=new_reference(session, RetaliationComplaint.reference, REFERENCE_PREFIX),
        status=ComplaintStatus.received.value,
        via=via,
        received_on=today,
        public_key=pair.public,
    )
    session.add(complaint)
    session.flush()
    for user, key in officers:
        session.add(
            ComplaintKeyWrap(
                complaint_id=complaint.id,
                holder_kind=HolderKind.user.value,
                user_id=user.id,
                wrapped=crypto.wrap_key_for(
                    key.public_key,
                    pair.private,
                    aad=_aad("complaint-wrap", complaint.reference, f"user:{user.id}"),
                ),
                granted_on=today,
            )
        )
    if recovery is not None:
        session.add(
            ComplaintKeyWrap(
                complaint_id=complaint.id,
                holder_kind=HolderKind.recovery.value,
                user_id=None,
                wrapped=crypto.wrap_key_for(
                    recovery,
                    pair.private,
                    aad=_aad("complaint-wrap", complaint.reference, "recovery"),
                ),
                granted_on=today,
            )
        )
    acts = [
        {"kind": a.kind, "on": a.on.isoformat() if a.on else None, "description": a.description}
        for a in data.acts
        if a.kind
    ]
    _add_complaint_item(
        session,
        settings,
        complaint=complaint,
        kind=ComplaintItemKind.complaint,
        payload={
            "acts": acts,
            "narrative": data.narrative.strip(),
            "protected_report": {
                "reference": report.reference if report else "",
                "made_on": (report.submitted_on if report else reported_on).isoformat()
                if (report or reported_on)
                else None,
            },
            "via": via,
        },
        author=None,
        today=today,
        files=data.evidence,
    )
    if identity:
        _add_complaint_item(
            session,
            settings,
            complaint=complaint,
            kind=ComplaintItemKind.identity,
            payload=identity,
            author=None,
            today=today,
        )
    told = [
        {
            "user_id": user.id,
            "kind": NotificationKind.complaint_received.value,
            "complaint_id": complaint.id,
            "created_on": today,
            "dedupe": f"complaint_received:{complaint.id}",
        }
        for user, _key in officers
    ]
    for row in told:
        session.add(Notification(**row))
    session.flush()
    reporting_notices.record_many(session, told)
    # The actor is not named: the audit log is plain text, and who complains is confidential.
    # Day precision, like every reporter action: appended once the day is over, so neither a
    # time nor the entry's place next to the complainant's own sign-in gives them away.
    audit.record_on_day(
        session,
        on=today,
        action="retaliation.complaint_filed",
        actor=COMPLAINANT,
        entity_type="retaliation_complaint",
        entity_id=complaint.reference,
        after={"via": via, "acts": len(acts), "officers": [u.id for u, _k in officers]},
    )
    return complaint, pair.private, [u.id for u, _k in officers]


def file_by_receipt(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    data: ComplaintInput,
    today: date | None = None,
) -> RetaliationComplaint:
    """File a complaint through the reporter's receipt session; the reporter can follow it
    with the same receipt. No identity is needed. The caller commits."""
    if not access.by_reporter or access.receipt_key is None:
        raise ReporterSessionExpired
    today = today or clock.today(settings)
    report = access.report
    complaint, private, _officers = _file(
        session,
        settings,
        data=data,
        via="receipt",
        report=report,
        reported_on=None,
        identity={"text": data.identity.strip()} if data.identity.strip() else None,
        today=today,
    )
    complaint.reporter_tag = reporter_tag(access.receipt_key)
    complaint.reporter_wrap = crypto.encrypt(
        access.receipt_key, private, aad=_aad("complaint-reporter-wrap", complaint.reference)
    )
    session.add(complaint)
    return complaint


def file_identified(
    session: Session,
    settings: Settings,
    *,
    user: User,
    data: ComplaintInput,
    today: date | None = None,
) -> RetaliationComplaint:
    """File a complaint as a signed-in employee. Their identity is sealed in the complaint and
    they are put under HR watch at once. The caller commits."""
    today = today or clock.today(settings)
    report = None
    if data.report_reference.strip():
        report = session.exec(
            select(Report).where(Report.reference == data.report_reference.strip().upper())
        ).first()
        if report is None:
            raise ReportingError(
                _("No report has this reference. Check it, or give the day you reported."),
                field="report_reference",
            )
    elif data.reported_on is None:
        raise ReportingError(
            _("Give the reference of your report, or the day you reported."),
            field="report_reference",
        )
    employee = org_service.get_employee(session, user.employee_id) if user.employee_id else None
    complaint, _private, officers = _file(
        session,
        settings,
        data=data,
        via="identified",
        report=report,
        reported_on=data.reported_on,
        identity={
            "user_id": user.id,
            "name": user.full_name,
            "email": user.email,
            "employee_id": employee.id if employee else None,
            "number": employee.number if employee else "",
        },
        today=today,
    )
    complaint.complainant_tag = complainant_tag(settings, user.id)
    session.add(complaint)
    if employee is not None:
        protect(
            session,
            settings,
            employee_id=employee.id,
            since=report.submitted_on if report else data.reported_on,
            actor=COMPLAINANT,
            complaint=complaint.reference,
            report=report.reference if report else None,
            officers=officers,
            today=today,
        )
    return complaint


def complaints_of_user(
    session: Session, settings: Settings, *, user: User
) -> list[RetaliationComplaint]:
    """Return the complaints an identified employee filed (status and dates only)."""
    return list(
        session.exec(
            select(RetaliationComplaint)
            .where(RetaliationComplaint.complainant_tag == complainant_tag(settings, user.id))
            .order_by(col(RetaliationComplaint.id).desc())
        ).all()
    )


def complaints_of_reporter(session: Session, *, access: CaseAccess) -> list[ComplaintAccess]:
    """Return the complaints filed with this receipt, opened with it."""
    if not access.by_reporter or access.receipt_key is None:
        raise ReporterSessionExpired
    found = []
    for complaint in session.exec(
        select(RetaliationComplaint)
        .where(RetaliationComplaint.reporter_tag == reporter_tag(access.receipt_key))
        .order_by(col(RetaliationComplaint.id).desc())
    ).all():
        try:
            private = crypto.decrypt(
                access.receipt_key,
                complaint.reporter_wrap,
                aad=_aad("complaint-reporter-wrap", complaint.reference),
            )
        except crypto.DecryptionError:
            raise TamperedCase from None
        found.append(ComplaintAccess(complaint, private, by_complainant=True))
    return found


def complaint_of_user(
    session: Session, settings: Settings, *, user: User, reference: str
) -> RetaliationComplaint:
    """Return one of the employee's own complaints, or 404."""
    complaint = session.exec(
        select(RetaliationComplaint).where(
            RetaliationComplaint.reference == reference.strip().upper(),
            RetaliationComplaint.complainant_tag == complainant_tag(settings, user.id),
        )
    ).first()
    if complaint is None:
        raise ReportingError(_("This complaint does not exist."), status_code=404)
    return complaint


def add_complainant_message(
    session: Session,
    settings: Settings,
    *,
    complaint: RetaliationComplaint,
    text: str,
    files: Sequence[Upload] = (),
    today: date | None = None,
) -> ComplaintItem:
    """Add information from the complainant (no key needed: it is sealed to the complaint)."""
    today = today or clock.today(settings)
    text = text.strip()
    if not text:
        raise ReportingError(_("Write a message."), field="text")
    if len(text) > MAX_TEXT:
        raise ReportingError(
            _("This text is too long (at most %(n)s characters).", n=MAX_TEXT),
            field="text",
        )
    if complaint.status == ComplaintStatus.closed:
        raise ReportingError(_("This complaint is closed."), status_code=409)
    return _add_complaint_item(
        session,
        settings,
        complaint=complaint,
        kind=ComplaintItemKind.complainant_message,
        payload={"text": text},
        author=None,
        today=today,
        files=files,
    )
