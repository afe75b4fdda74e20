"""What a handler may do on an opened case now, as data: the case page shows the forms of the
allowed steps and the POST routes refuse the others with the reason (one answer for both)."""

from __future__ import annotations

from enum import StrEnum

from backend.auth import Actor
from backend.i18n import _
from backend.web import format_date
from whistleblowing.models import ReportStatus
from whistleblowing.service.common import CaseAccess, ReportingError
from whistleblowing.service.identity import has_identity
from whistleblowing.service.lifecycle import _refuse_if_closed, next_statuses


class Step(StrEnum):
    acknowledge = "acknowledge"  # send the acknowledgement of receipt
    change_status = "change_status"  # move the case on (or close it)
    assign = "assign"  # choose the handler, hand over to the deputy
    remind = "remind"  # set a custom reminder
    request_identity = "request_identity"  # ask a protection officer for the reporter's name
    set_priority = "set_priority"  # set the triage priority by hand (or go back to the computed)
    keep = "keep"  # extend the case's retention or put it under a legal hold
    confirm = "confirm"  # confirm a report held during a flood as genuine: its clocks start
    refer = "refer"  # refer the case to a competent authority (its outcome; service.referrals)


def allowed_steps(access: CaseAccess, actor: Actor) -> frozenset[Step]:
    """Return the steps `actor`, who opened the case (`access`), may take on it now."""
    report = access.report
    steps = set()
    if report.awaiting_confirmation:
        # Held during a submission flood: confirmed first, then acknowledged (its clocks).
        steps.add(Step.confirm)
    elif report.status == ReportStatus.received:
        steps.add(Step.acknowledge)
    if next_statuses(report):
        steps.add(Step.change_status)
    if report.status != ReportStatus.closed:
        steps |= {Step.assign, Step.remind, Step.set_priority}
    # Referral: once triaged (the authority gets a case someone looked at), open or closed.
    if report.status in (ReportStatus.triage, ReportStatus.investigating, ReportStatus.closed):
        steps.add(Step.refer)
    # Retention: every holder may keep a case longer, open or closed (docs/reporting.md).
    steps.add(Step.keep)
    if has_identity(report) and access.identity_private_key is None:
        steps.add(Step.request_identity)
    return frozenset(steps)


def refuse_unless(access: CaseAccess, actor: Actor, step: Step) -> None:
    """Raise why `step` is not allowed on the case now (nothing when it is)."""
    if step in allowed_steps(access, actor):
        return
    report = access.report
    if step is Step.request_identity:
        if not has_identity(report):
            raise ReportingError(_("The reporter did not give their identity."), status_code=409)
        raise ReportingError(_("You can already read the reporter's identity."), status_code=409)
    if step is Step.refer:
        raise ReportingError(
            _("Acknowledge the report and start its triage before referring it."),
            status_code=409,
            field="authority",
        )
    _refuse_if_closed(report)
    if step is Step.acknowledge and report.awaiting_confirmation:
        raise ReportingError(
            _("Confirm first that this report is genuine: its time limits start then."),
            status_code=409,
        )
    if step is Step.confirm:
        raise ReportingError(_("This report does not wait for confirmation."), status_code=409)
    if step is Step.acknowledge and report.acknowledged_on is not None:
        raise ReportingError(
            _(
                "The report was already acknowledged on %(day)s.",
                day=format_date(report.acknowledged_on),
            ),
            status_code=409,
        )
    raise ReportingError(_("This step is not available for this case now."), status_code=409)
