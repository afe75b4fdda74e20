"""The reporter's identity: requests to release it, the protection officer's decision and the
reporter's notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.auth.models import User
from backend.i18n import _
from whistleblowing import attachments
from whistleblowing import notices as reporting_notices
from whistleblowing.models import (
    HolderKey,
    IdentityRequest,
    IdentityRequestStatus,
    ItemKind,
    KeyKind,
    Report,
    ReportItem,
    ReportKeyWrap,
)
from whistleblowing.service.common import (
    CaseAccess,
    ReportingError,
    TamperedCase,
    _aad,
    canonical_json,
    organisation_today,
)
from whistleblowing.service.inbox import _unwrap, _wrap_of
from whistleblowing.service.sealing import _add_wrap, _seal_item, item_position

# --- the reporter's identity ------------------------------------------------------------------


def has_identity(report: Report) -> bool:
    return report.identity_public_key is not None


def request_identity(
    session: Session, *, access: CaseAccess, actor: User, reason: str
) -> IdentityRequest:
    """Ask the protection officers to release the reporter's identity (reasoned, audited)."""
    report = access.report
    if not has_identity(report):
        raise ReportingError(_("The reporter did not give their identity."), status_code=409)
    if access.identity_private_key is not None:
        raise ReportingError(_("You can already read the reporter's identity."), status_code=409)
    reason = reason.strip()
    if len(reason) < 20:
        raise ReportingError(
            _("Explain why the investigation needs the reporter's identity."), field="reason"
        )
    pending = session.exec(
        select(IdentityRequest).where(
            IdentityRequest.report_id == report.id,
            IdentityRequest.requested_by_id == actor.id,
            IdentityRequest.status == IdentityRequestStatus.pending.value,
        )
    ).first()
    if pending is not None:
        raise ReportingError(_("Your request is already waiting for a decision."), status_code=409)
    row = IdentityRequest(
        report_id=report.id,
        requested_by_id=actor.id,
        reason_sealed=b"",
    )
    session.add(row)
    session.flush()
    row.reason_sealed = crypto.seal(
        report.identity_public_key,
        reason.encode(),
        aad=_aad("identity-request", report.reference, row.id),
    )
    session.add(row)
    audit.record(
        session,
        action="report.identity_requested",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"request": row.id},
    )
    reporting_notices.identity_requested(session, report=report, request_id=row.id)
    return row


@dataclass
class IdentityRequestView:
    request: IdentityRequest
    report: Report
    requester: User
    reason: str | None


def identity_requests(
    session: Session, *, officer: User, holder_private: bytes, pending_only: bool = True
) -> list[IdentityRequestView]:
    """Return identity requests on reports whose identity key `officer` holds, reasons opened."""
    statement = (
        select(IdentityRequest, Report, User)
        .join(Report, col(Report.id) == IdentityRequest.report_id)
        .join(User, col(User.id) == IdentityRequest.requested_by_id)
        .order_by(col(IdentityRequest.id).desc())
    )
    if pending_only:
        statement = statement.where(IdentityRequest.status == IdentityRequestStatus.pending.value)
    views = []
    for request, report, requester in session.exec(statement).all():
        wrap = _wrap_of(session, report, user_id=officer.id, key_kind=KeyKind.identity)
        if wrap is None:
            continue
        identity_private = _unwrap(report, wrap, holder_private)
        try:
            reason = crypto.open_sealed(
                identity_private,
                request.reason_sealed,
                aad=_aad("identity-request", report.reference, request.id),
            ).decode()
        except crypto.DecryptionError:
            raise TamperedCase from None
        views.append(IdentityRequestView(request, report, requester, reason))
    return views


def _identity_request_held(
    session: Session, *, officer: User, request_id: int
) -> tuple[IdentityRequest, Report, ReportKeyWrap]:
    """Return a request on a report whose identity key `officer` holds, with the report and
    the officer's wrap; 404 for any other (an officer without the key is not told it exists)."""
    request = session.get(IdentityRequest, request_id)
    report = session.get(Report, request.report_id) if request is not None else None
    wrap = (
        _wrap_of(session, report, user_id=officer.id, key_kind=KeyKind.identity)
        if report is not None
        else None
    )
    if request is None or report is None or wrap is None:
        raise ReportingError(_("This request does not exist."), status_code=404)
    return request, report, wrap


def decide_identity_request(
    session: Session,
    *,
    officer: User,
    holder_private: bytes,
    request_id: int,
    approve: bool,
    note: str,
    defer_notice: str = "",
    today: date | None = None,
) -> IdentityRequest:
    """Approve (re-wrap the identity key for the requester) or refuse; audited, caller commits.

    The reporter is told through their case messages, with the reasons (EU Directive
    2019/1937, Art. 16(2)-(3)) — unless, on an approval, telling them now would jeopardise the
    investigation: `defer_notice` then gives why, and `notify_reporter` tells them later.
    """
    request, report, wrap = _identity_request_held(session, officer=officer, request_id=request_id)
    if request.requested_by_id == officer.id:
        raise ReportingError(_("You cannot decide your own request."), status_code=403)
    if request.status != IdentityRequestStatus.pending.value:
        raise ReportingError(_("This request was already decided."), status_code=409)
    note = note.strip()
    if not note:
        raise ReportingError(_("Give the reason for your decision."), field="note")
    defer_notice = defer_notice.strip()
    if defer_notice and not approve:
        raise ReportingError(
            _("Only the notice of an approval can wait; a refusal is told at once."),
            field="defer_notice",
        )
    identity_private = _unwrap(report, wrap, holder_private)
    if approve:
        requester_key = session.get(HolderKey, request.requested_by_id)
        if requester_key is None:
            raise ReportingError(_("The requester has no key pair."), status_code=409)
        if (
            _wrap_of(session, report, user_id=request.requested_by_id, key_kind=KeyKind.report)
            is None
        ):
            raise ReportingError(
                _("The requester no longer has access to the report."), status_code=409
            )
        _add_wrap(
            session,
            report,
            key_kind=KeyKind.identity,
            private=identity_private,
            user_id=request.requested_by_id,
            public_key=requester_key.public_key,
            granted_by=officer,
        )
    request.status = (
        IdentityRequestStatus.approved.value if approve else IdentityRequestStatus.refused.value
    )
    request.decided_by_id = officer.id
    request.decided_on = today or organisation_today(session)
    request.decision_sealed = crypto.seal(
        report.identity_public_key,
        canonical_json({"note": note, "defer_notice": defer_notice}),
        aad=_aad("identity-decision", report.reference, request.id),
    )
    session.add(request)
    audit.record(
        session,
        action="report.identity_released" if approve else "report.identity_refused",
        actor=officer,
        entity_type="report",
        entity_id=report.reference,
        after={
            "request": request.id,
            "requester_id": request.requested_by_id,
            "reporter_told": not defer_notice,
        },
    )
    if not defer_notice:
        _tell_reporter_about_identity(
            session, request=request, report=report, officer=officer, note=note
        )
    return request


def _tell_reporter_about_identity(
    session: Session, *, request: IdentityRequest, report: Report, officer: User, note: str
) -> ReportItem:
    """Seal the notice of an identity decision into the case, for the reporter to read."""
    uid = attachments.new_uid()
    approved = request.status == IdentityRequestStatus.approved.value
    item = ReportItem(
        uid=uid,
        report_id=report.id,
        kind=ItemKind.identity_notice.value,
        author_id=officer.id,
        created_on=request.decided_on or organisation_today(session),
        sealed=_seal_item(
            report,
            kind=ItemKind.identity_notice,
            uid=uid,
            # Rendered in the reader's language from `decision`; `text` is for other readers.
            payload={
                "decision": "approved" if approved else "refused",
                "decided_on": (request.decided_on or organisation_today(session)).isoformat(),
                "reason": note,
                "text": note,
            },
            position=item_position(session, report),
        ),
    )
    session.add(item)
    request.reporter_told_on = organisation_today(session)
    session.add(request)
    audit.record(
        session,
        action="report.reporter_told_of_identity_decision",
        actor=officer,
        entity_type="report",
        entity_id=report.reference,
        after={"request": request.id, "item": uid},
    )
    return item


def notify_reporter(
    session: Session, *, officer: User, holder_private: bytes, request_id: int
) -> IdentityRequest:
    """Tell the reporter of an approval whose notice was deferred (audited, caller commits)."""
    request, report, wrap = _identity_request_held(session, officer=officer, request_id=request_id)
    if request.status == IdentityRequestStatus.pending.value or request.reporter_told_on:
        raise ReportingError(_("There is no notice waiting to be sent."), status_code=409)
    identity_private = _unwrap(report, wrap, holder_private)
    try:
        plain = crypto.open_sealed(
            identity_private,
            request.decision_sealed,
            aad=_aad("identity-decision", report.reference, request.id),
        )
    except crypto.DecryptionError:
        raise TamperedCase from None
    try:
        note = json.loads(plain)["note"]
    except (ValueError, KeyError, TypeError):
        note = plain.decode()  # decided before notices existed: the sealed note alone
    _tell_reporter_about_identity(
        session, request=request, report=report, officer=officer, note=note
    )
    return request


def identity_notices_waiting(
    session: Session, *, officer: User
) -> list[tuple[IdentityRequest, Report]]:
    """Return decided requests whose reporter was not told yet, on reports `officer` holds."""
    rows = session.exec(
        select(IdentityRequest, Report)
        .join(Report, col(Report.id) == IdentityRequest.report_id)
        .join(
            ReportKeyWrap,
            (col(ReportKeyWrap.report_id) == Report.id)
            & (col(ReportKeyWrap.user_id) == officer.id)
            & (col(ReportKeyWrap.key_kind) == KeyKind.identity.value),
        )
        .where(
            IdentityRequest.status != IdentityRequestStatus.pending.value,
            col(IdentityRequest.reporter_told_on).is_(None),
        )
        .order_by(col(IdentityRequest.id))
    ).all()
    return list(rows)
